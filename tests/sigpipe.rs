//! Writing to a vanished peer gives `BrokenPipe` even when `SIGPIPE` has its default
//! (process-killing) action. Runs in a child process so the signal setting touches nothing
//! else.
#![cfg(unix)]

mod util;

use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
use std::io::{ErrorKind, Write};
use std::process::Command;
use std::time::Duration;

const CHILD_ENV: &str = "LOCALIPC_SIGPIPE_CHILD";

#[test]
fn write_to_closed_peer_is_broken_pipe_not_sigpipe() {
    if let Ok(name) = std::env::var(CHILD_ENV) {
        return child(&name);
    }
    let dir = util::TestDir::new("sigpipe");
    let name = util::any_name(&dir, "sigpipe");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "write_to_closed_peer_is_broken_pipe_not_sigpipe",
            "--nocapture",
        ])
        .env(CHILD_ENV, &name)
        .spawn()
        .unwrap();
    let status = util::wait_child(&mut child, Duration::from_secs(20));
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        None,
        "child was killed by signal {:?}",
        status.signal()
    );
    assert!(status.success(), "child failed: {status}");
}

fn child(name: &str) {
    // SAFETY: restoring the default action of SIGPIPE; no handler is installed.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let listener = LocalSocketListener::bind(name).unwrap();
    let mut client = LocalSocketStream::connect(name).unwrap();
    drop(listener.accept().unwrap());
    let write_err = (0..1000)
        .find_map(|_| client.write_all(&[7; 65536]).err())
        .unwrap();
    assert_eq!(write_err.kind(), ErrorKind::BrokenPipe);
    let vec_err = client
        .write_vectored(&[std::io::IoSlice::new(b"x")])
        .unwrap_err();
    assert_eq!(vec_err.kind(), ErrorKind::BrokenPipe);
}
