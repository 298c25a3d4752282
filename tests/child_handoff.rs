//! `ChildHandoff` (issue 16, item 3): a listener or stream handed to a child process is the
//! only descriptor it inherits besides stdio, and the child takes it back by name. Linux:
//! the child lists `/proc/self/fd`.
#![cfg(any(target_os = "linux", target_os = "android"))]

mod util;

use localipc::local_socket::{ChildHandoff, LocalSocketListener, LocalSocketStream};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::Duration;
use util::{any_name, bounded, peer_role, Peer, TestDir, LIMIT};

/// The descriptors open in this process (`/proc/self/fd`), without the one reading it.
fn open_fds() -> Vec<i32> {
    let own = format!("/proc/{}/fd", std::process::id());
    let mut fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter(|e| std::fs::read_link(e.path()).is_ok_and(|t| t.to_str() != Some(&own)))
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    fds.sort_unstable();
    fds
}

/// An inheritable pipe in the parent (`pipe` without `O_CLOEXEC`): what a careless C
/// library leaves behind. It must not reach the child.
fn inheritable_pipe() -> (OwnedFd, OwnedFd) {
    let mut p = [0; 2];
    // SAFETY: `p` has room for two descriptors.
    assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
    // SAFETY: fresh descriptors owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) }
}

fn child_role() -> bool {
    let Some((role, _)) = peer_role() else {
        return false;
    };
    match role.as_str() {
        "listener" => {
            println!("FDS {:?}", open_fds()); // first, before anything opens more
            let listener = LocalSocketListener::from_parent("LOCALIPC_TEST_LISTENER").unwrap();
            let gone = std::env::var_os("LOCALIPC_TEST_LISTENER").is_none();
            println!("ENVGONE {gone}");
            let conn = listener.accept().unwrap();
            writeln!(&conn, "hello from the child").unwrap();
        }
        "stream" => {
            println!("FDS {:?}", open_fds());
            let conn = LocalSocketStream::from_parent("LOCALIPC_TEST_STREAM").unwrap();
            writeln!(&conn, "written by the child").unwrap();
        }
        "stale" => {
            let err = LocalSocketListener::from_parent("LOCALIPC_TEST_LISTENER").unwrap_err();
            let missing = LocalSocketStream::from_parent("LOCALIPC_TEST_NONE").unwrap_err();
            println!("ERR {:?} {:?}", err.kind(), missing.kind());
        }
        _ => {}
    }
    true
}

/// The child sees exactly 0, 1, 2 and the listener at 3 (not the parent's inheritable
/// pipe), the variable is removed once taken, and the listener serves from the child.
#[test]
fn child_inherits_exactly_the_listener() {
    if child_role() {
        return;
    }
    bounded(LIMIT, || {
        let dir = TestDir::new("handoff");
        let name = any_name(&dir, "handoff");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let _leak = inheritable_pipe();
        let mut handoff = ChildHandoff::new();
        handoff
            .listener(&listener, "LOCALIPC_TEST_LISTENER")
            .unwrap();
        let mut child = Peer::spawn_with(
            "child_inherits_exactly_the_listener",
            "listener",
            "",
            |cmd| handoff.apply(cmd).unwrap(),
        );
        assert_eq!(child.expect("FDS "), "[0, 1, 2, 3]");
        assert_eq!(child.expect("ENVGONE "), "true");
        let conn = LocalSocketStream::connect(name.as_str()).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut line = String::new();
        BufReader::new(&conn).read_line(&mut line).unwrap();
        assert_eq!(line, "hello from the child\n");
        assert!(child.wait().success());
    });
}

/// An accepted connection handed to a child at a chosen number: the child writes into it,
/// and the client sees the end once both processes have closed it.
#[test]
fn child_takes_over_an_accepted_stream() {
    if child_role() {
        return;
    }
    bounded(LIMIT, || {
        let dir = TestDir::new("handoff-s");
        let name = any_name(&dir, "handoff-s");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let client = LocalSocketStream::connect(name.as_str()).unwrap();
        let accepted = listener.accept().unwrap();
        let mut handoff = ChildHandoff::new();
        handoff.next_fd(7).unwrap();
        handoff.stream(&accepted, "LOCALIPC_TEST_STREAM").unwrap();
        drop(accepted); // the handoff holds its own duplicate
        let mut child =
            Peer::spawn_with("child_takes_over_an_accepted_stream", "stream", "", |cmd| {
                handoff.apply(cmd).unwrap()
            });
        assert_eq!(child.expect("FDS "), "[0, 1, 2, 7]");
        assert!(child.wait().success());
        drop(child);
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut all = String::new();
        (&client).read_to_string(&mut all).unwrap(); // end of file: nobody else holds it
        assert_eq!(all, "written by the child\n");
    });
}

/// A variable that names a descriptor which is another file (left over from further up)
/// is refused (`InvalidData`), and a missing one is `NotFound`.
#[test]
fn stale_or_missing_variable_is_refused() {
    if child_role() {
        return;
    }
    let mut child = Peer::spawn_with("stale_or_missing_variable_is_refused", "stale", "", |cmd| {
        cmd.env("LOCALIPC_TEST_LISTENER", "0:1:2");
    });
    assert_eq!(child.expect("ERR "), "InvalidData NotFound");
    assert!(child.wait().success());
}

/// Bad numbers are refused before anything is spawned.
#[test]
fn numbers_below_three_are_refused() {
    let mut h = ChildHandoff::new();
    assert_eq!(
        h.next_fd(2).unwrap_err().kind(),
        std::io::ErrorKind::InvalidInput
    );
}

/// The portable entry point, `ChildHandoff::spawn` (as on Windows): the child it starts
/// takes the stream over, and `HandoffChild::wait` reports its exit.
#[test]
fn spawn_starts_the_child_with_the_stream() {
    if child_role() {
        return;
    }
    bounded(LIMIT, || {
        let dir = TestDir::new("handoff-sp");
        let name = any_name(&dir, "handoff-sp");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let client = LocalSocketStream::connect(name.as_str()).unwrap();
        let accepted = listener.accept().unwrap();
        let mut handoff = ChildHandoff::new();
        handoff.stream(&accepted, "LOCALIPC_TEST_STREAM").unwrap();
        drop(accepted);
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "spawn_starts_the_child_with_the_stream",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LOCALIPC_TEST_ROLE", "stream")
        .stdout(std::process::Stdio::null());
        let mut child = handoff.spawn(&mut cmd).unwrap().into_inner();
        assert!(util::wait_child(&mut child, LIMIT).success());
        drop(cmd); // the Command holds the duplicate until dropped
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut all = String::new();
        (&client).read_to_string(&mut all).unwrap();
        assert_eq!(all, "written by the child\n");
    });
}
