//! `ChildHandoff` on Windows (issue 16, item 3): a connected stream handed to a child started
//! with `ChildHandoff::spawn` (`CreateProcessW` with `PROC_THREAD_ATTRIBUTE_HANDLE_LIST`) is
//! the only handle of the parent it inherits besides the standard ones; the child takes it
//! back by name, checked, and talks over it. A child started with std's `Command` is the
//! control: it inherits the parent's other inheritable handles, which shows that the check
//! can see a leak.
#![cfg(windows)]

mod util;

use localipc::local_socket::{ChildHandoff, HandoffChild, LocalSocketListener, LocalSocketStream};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::os::windows::io::{AsRawHandle, IntoRawHandle, OwnedHandle};
use std::process::Command;
use std::time::{Duration, Instant};
use util::{any_name, bounded, peer_role, unique, Peer, TestDir, LIMIT};
use windows_sys::Win32::Foundation::{
    GetHandleInformation, SetHandleInformation, HANDLE, HANDLE_FLAG_INHERIT,
};
use windows_sys::Win32::Storage::FileSystem::{
    GetFileInformationByHandle, BY_HANDLE_FILE_INFORMATION,
};

/// How many inheritable handles the parent holds that must not reach the child.
const LEAKS: usize = 8;

/// Arguments that need quoting (MSVC rules), none starting with `-` (libtest would take it
/// for an option; the others are test-name filters that match nothing).
const ARGS: &[&str] = &[
    "plain",
    "two words",
    "",
    "q\"uote",
    "trail\\",
    "trail space\\",
    "back\\\\\"slash",
    "tab\there",
    "ünïcödé",
    "a\\b\\\\c",
];

/// `GetFileInformationByHandle`: (volume, index) of the file behind `h`, `None` if `h` is no
/// open file handle of this process.
fn file_id(h: HANDLE) -> Option<(u32, u32, u32)> {
    // SAFETY: all-zero is a valid value of the plain C struct.
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: any handle value may be asked about (fails for a non-handle); `info` is
    // writable.
    if unsafe { GetFileInformationByHandle(h, &mut info) } == 0 {
        return None;
    }
    Some((
        info.dwVolumeSerialNumber,
        info.nFileIndexHigh,
        info.nFileIndexLow,
    ))
}

/// In the child: how many of the handle values in `LOCALIPC_TEST_LEAKS` are open here and
/// are the file `LOCALIPC_TEST_LEAKPATH` (the parent's inheritable handles, inherited).
fn count_leaks() -> usize {
    let path = std::env::var_os("LOCALIPC_TEST_LEAKPATH").unwrap();
    let own = std::fs::File::open(path).unwrap();
    let want = file_id(own.as_raw_handle()).unwrap();
    std::env::var("LOCALIPC_TEST_LEAKS")
        .unwrap()
        .split(',')
        .filter_map(|v| v.parse::<usize>().ok())
        .filter(|&v| v != own.as_raw_handle() as usize && file_id(v as HANDLE) == Some(want))
        .count()
}

/// In the parent: `LEAKS` handles of the test binary's file made inheritable
/// (`SetHandleInformation`), and the variables that tell a child where to look for them.
fn inheritable_handles() -> (Vec<std::fs::File>, Vec<(&'static str, String)>) {
    let path = std::env::current_exe().unwrap();
    let files: Vec<_> = (0..LEAKS)
        .map(|_| std::fs::File::open(&path).unwrap())
        .collect();
    for f in &files {
        // SAFETY: an open handle of this process; only its inherit flag changes.
        let ok = unsafe { SetHandleInformation(f.as_raw_handle(), HANDLE_FLAG_INHERIT, 1) };
        assert_ne!(ok, 0);
    }
    let values: Vec<String> = files
        .iter()
        .map(|f| (f.as_raw_handle() as usize).to_string())
        .collect();
    let vars = vec![
        ("LOCALIPC_TEST_LEAKS", values.join(",")),
        (
            "LOCALIPC_TEST_LEAKPATH",
            path.to_string_lossy().into_owned(),
        ),
    ];
    (files, vars)
}

fn child_role() -> bool {
    let Some((role, _)) = peer_role() else {
        return false;
    };
    match role.as_str() {
        "taker" => {
            let leaked = count_leaks();
            let conn = LocalSocketStream::from_parent("LOCALIPC_TEST_STREAM").unwrap();
            let gone = std::env::var_os("LOCALIPC_TEST_STREAM").is_none();
            let mut flags = 0;
            // SAFETY: the stream's handle is open; `flags` is writable.
            let ok = unsafe { GetHandleInformation(conn.as_raw_handle(), &mut flags) };
            assert_ne!(ok, 0);
            let args: Vec<String> = std::env::args().skip(5).collect();
            writeln!(&conn, "LEAKED {leaked}").unwrap();
            writeln!(&conn, "ENVGONE {gone}").unwrap();
            writeln!(&conn, "INHERIT {}", flags & HANDLE_FLAG_INHERIT != 0).unwrap();
            writeln!(&conn, "ARGS {args:?}").unwrap();
            let mut line = String::new();
            BufReader::new(&conn).read_line(&mut line).unwrap();
            writeln!(&conn, "ECHO {}", line.trim_end()).unwrap();
        }
        "control" => println!("LEAKED {}", count_leaks()),
        _ => {}
    }
    true
}

/// Kills and reaps the child if the test fails before it has exited.
struct Reap(HandoffChild);

impl Reap {
    /// Waits up to 20 s for the child to exit (polling `try_wait`).
    fn wait(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "child did not exit within 20 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The child gets the accepted stream and none of the parent's `LEAKS` inheritable handles
/// (a std `Command` child gets all of them); it takes the stream (variable removed, handle
/// no longer inheritable), sees its arguments as given, and talks over the stream both
/// ways; the client sees the end once the child has exited.
#[test]
fn child_gets_the_stream_and_no_other_handle() {
    if child_role() {
        return;
    }
    bounded(LIMIT * 2, || {
        let dir = TestDir::new("handoff-w");
        let name = any_name(&dir, "handoff-w");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let client = LocalSocketStream::connect(name.as_str()).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let accepted = listener.accept().unwrap();
        let (_files, vars) = inheritable_handles();

        // The control: std's Command lets every inheritable handle through.
        let mut control = Peer::spawn_with(
            "child_gets_the_stream_and_no_other_handle",
            "control",
            "",
            |cmd| {
                cmd.envs(vars.iter().map(|(k, v)| (k, v)));
            },
        );
        assert_eq!(control.expect("LEAKED "), LEAKS.to_string());
        assert!(control.wait().success());
        drop(control);

        let mut handoff = ChildHandoff::new();
        handoff.stream(&accepted, "LOCALIPC_TEST_STREAM").unwrap();
        drop(accepted); // the handoff holds its own duplicate
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "child_gets_the_stream_and_no_other_handle",
            "--nocapture",
            "--test-threads=1",
        ])
        .args(ARGS)
        .env("LOCALIPC_TEST_ROLE", "taker")
        .envs(vars.iter().map(|(k, v)| (k, v)));
        let mut child = Reap(handoff.spawn(&mut cmd).unwrap());

        let mut reader = BufReader::new(&client);
        let mut next = || {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            line.trim_end().to_owned()
        };
        assert_eq!(
            next(),
            "LEAKED 0",
            "the child inherited the parent's handles"
        );
        assert_eq!(next(), "ENVGONE true");
        assert_eq!(next(), "INHERIT false");
        assert_eq!(next(), format!("ARGS {ARGS:?}"));
        writeln!(&client, "ping").unwrap();
        assert_eq!(next(), "ECHO ping");
        assert!(child.wait().success());
        let mut rest = String::new();
        (&client).read_to_string(&mut rest).unwrap(); // end of file: nobody else holds it
        assert_eq!(rest, "");
    });
}

/// In-process: a variable that is missing (`NotFound`), malformed, names no handle, a handle
/// that is no pipe, or another pipe than the one it describes (`InvalidData`) is refused
/// and removed; one that describes its pipe end rightly is taken.
#[test]
fn stale_or_missing_variable_is_refused() {
    let var = unique("LOCALIPC_TEST_STALE");
    let kind = |value: Option<String>| {
        if let Some(v) = value {
            std::env::set_var(&var, v);
        }
        let err = LocalSocketStream::from_parent(&var).unwrap_err();
        assert!(std::env::var_os(&var).is_none(), "variable not removed");
        err.kind()
    };
    assert_eq!(kind(None), ErrorKind::NotFound);
    assert_eq!(kind(Some("garbage".into())), ErrorKind::InvalidData);
    assert_eq!(kind(Some("123456788:s:1:2".into())), ErrorKind::InvalidData);
    let file = std::fs::File::open(std::env::current_exe().unwrap()).unwrap();
    let v = file.as_raw_handle() as usize;
    assert_eq!(kind(Some(format!("{v}:s:1:2"))), ErrorKind::InvalidData);
    // A real local socket end, but the pids say another connection.
    let dir = TestDir::new("handoff-stale");
    let name = any_name(&dir, "handoff-stale");
    let listener = LocalSocketListener::bind(name.as_str()).unwrap();
    let client = LocalSocketStream::connect(name.as_str()).unwrap();
    let h = OwnedHandle::from(client);
    let v = h.as_raw_handle() as usize;
    assert_eq!(
        kind(Some(format!("{v}:c:1:{}", std::process::id()))),
        ErrorKind::InvalidData
    );
    // The right description (both ends opened by this process) is taken, and works.
    let server = listener.accept().unwrap();
    let pid = std::process::id();
    std::env::set_var(
        &var,
        format!("{}:c:{pid}:{pid}", h.into_raw_handle() as usize),
    );
    let client = LocalSocketStream::from_parent(&var).unwrap();
    assert!(std::env::var_os(&var).is_none());
    writeln!(&client, "taken").unwrap();
    let mut line = String::new();
    BufReader::new(&server).read_line(&mut line).unwrap();
    assert_eq!(line, "taken\n");
}
