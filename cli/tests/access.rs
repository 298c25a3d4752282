//! `localipc listen --allow`, `localipc connect --expect-server` and `-v` printing the peer's
//! identity (issue 14). The other side runs as `nobody` where the test runs as root (CI).
#![cfg(any(target_os = "linux", target_os = "android"))]

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NOBODY: u32 = 65534;
const DEADLINE: Duration = Duration::from_secs(20);

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn unique_name(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("@localipc-cli-acc-{tag}-{}-{n}", std::process::id())
}

/// `localipc args…` (as `uid` if given), stdin piped.
fn start(args: &[&str], uid: Option<u32>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_localipc"));
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid);
    }
    cmd.spawn().expect("starting localipc")
}

/// Sends `input`, closes stdin, waits (bounded: killed and a panic at the deadline).
fn finish(mut child: Child, input: &[u8]) -> (bool, String, String) {
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
    }
    let deadline = Instant::now() + DEADLINE;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("localipc did not exit within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let (mut out, mut err) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.success(), out, err)
}

fn run(args: &[&str], uid: Option<u32>, input: &[u8]) -> (bool, String, String) {
    finish(start(args, uid), input)
}

#[test]
fn listen_allow_me_refuses_nobody_and_logs_it() {
    if !is_root() {
        eprintln!("note: not root, so no second user to try: skipped");
        return;
    }
    let name = unique_name("allow");
    let listener = start(
        &["-v", "listen", &name, "--echo", "--once", "--allow", "me"],
        None,
    );
    let (_, out, _) = run(&["connect", &name, "--timeout", "5"], Some(NOBODY), b"x");
    assert_eq!(out, "", "nobody was served");
    let (ok, out, err) = run(&["-v", "connect", &name, "--timeout", "5"], None, b"hi");
    assert!(ok, "{err}");
    assert_eq!(out, "hi");
    assert!(
        err.contains("connected (server pid ") && err.contains("uid 0"),
        "{err}"
    );
    let (ok, _, err) = finish(listener, b"");
    assert!(ok, "{err}");
    assert!(
        err.contains("refused a connection from pid ") && err.contains("uid 65534"),
        "{err}"
    );
    assert!(
        err.contains("client 1 connected (pid ") && err.contains("uid 0"),
        "{err}"
    );
}

#[test]
fn connect_expect_server_refuses_another_users_server() {
    if !is_root() {
        eprintln!("note: not root, so no second user to try: skipped");
        return;
    }
    let name = unique_name("expect");
    let squatter = start(&["listen", &name, "--echo"], Some(NOBODY));
    let (ok, out, err) = run(
        &["connect", &name, "--timeout", "5", "--expect-server", "me"],
        None,
        b"secret",
    );
    assert!(!ok);
    assert_eq!(out, "");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("localipc: ") && err.contains("user 65534"),
        "{err}"
    );
    let (ok, out, err) = run(
        &["connect", &name, "--expect-server", "nobody"],
        None,
        b"fine",
    );
    assert!(ok, "{err}");
    assert_eq!(out, "fine");
    let mut squatter = squatter;
    squatter.kill().unwrap();
    squatter.wait().unwrap();
}

#[test]
fn bad_who_values_are_one_line_errors() {
    let name = unique_name("bad");
    for args in [
        &["listen", &name, "--allow", "group:no-such-group-localipc"][..],
        &["listen", &name, "--allow", "everyone", "--allow", "me"][..],
        &["connect", &name, "--expect-server", "no-such-user-localipc"][..],
    ] {
        let (ok, _, err) = run(args, None, b"");
        assert!(!ok, "{args:?}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("localipc: --"), "{err}");
    }
}
