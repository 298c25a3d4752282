//! Unnamed pipes: a child process on both ends, all data before end of file, `BrokenPipe`
//! instead of `SIGPIPE`, and the tokio ends.
#![cfg(unix)]

mod util;

use localipc::unnamed_pipe::{self, Recver, Sender};
use std::io::{ErrorKind, IoSlice, Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::time::Duration;
use util::{bounded, LIMIT};

const CHILD_ENV: &str = "LOCALIPC_UNNAMED_PIPE_CHILD";
const DATA_LEN: usize = 1 << 20;

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Re-runs this test binary as a child that runs only `test`, with `CHILD_ENV=role`.
fn child_cmd(test: &str, role: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, role);
    cmd
}

/// Waits for `child` for up to 20 s (killing it after that) and checks that it exited
/// normally, not by a signal.
fn wait_ok(child: &mut std::process::Child) {
    use std::os::unix::process::ExitStatusExt;
    let status = util::wait_child(child, Duration::from_secs(20));
    assert_eq!(status.signal(), None, "child killed by a signal");
    assert!(status.success(), "child failed: {status}");
}

/// The child's stdin and stdout are our pipes: it reads 1 MiB from stdin until end of file
/// and reports the length and a checksum on stdout.
#[test]
fn pipes_to_and_from_a_child_process() {
    if std::env::var(CHILD_ENV).as_deref() == Ok("echo") {
        let mut data = Vec::new();
        std::io::stdin().lock().read_to_end(&mut data).unwrap();
        let sum: u64 = data.iter().map(|&b| u64::from(b)).sum();
        println!("\nRESULT len={} sum={sum}", data.len());
        return;
    }
    bounded(LIMIT, || {
        let (to_child, child_stdin) = unnamed_pipe::pipe().unwrap();
        let (child_stdout, mut from_child) = unnamed_pipe::pipe().unwrap();
        let mut child = child_cmd("pipes_to_and_from_a_child_process", "echo")
            .stdin(Stdio::from(child_stdin))
            .stdout(Stdio::from(child_stdout))
            .spawn()
            .unwrap();
        let data = pattern(DATA_LEN);
        let writer = std::thread::spawn(move || {
            let mut to_child = to_child;
            to_child.write_all(&data).unwrap();
            // `to_child` drops here: the child's stdin reaches end of file after the data.
        });
        let mut out = String::new();
        from_child.read_to_string(&mut out).unwrap();
        writer.join().unwrap();
        wait_ok(&mut child);
        let want_sum: u64 = pattern(DATA_LEN).iter().map(|&b| u64::from(b)).sum();
        let want = format!("RESULT len={DATA_LEN} sum={want_sum}");
        assert!(out.lines().any(|l| l == want), "child said: {out}");
    });
}

#[test]
fn data_written_before_the_sender_drops_is_all_read() {
    bounded(LIMIT, || {
        let (tx, rx) = unnamed_pipe::pipe().unwrap();
        let writer = std::thread::spawn(move || {
            for chunk in pattern(DATA_LEN).chunks(1000) {
                (&tx).write_all(chunk).unwrap();
            }
            (&tx)
                .write_vectored(&[IoSlice::new(b"tail")])
                .map(|n| assert_eq!(n, 4))
                .unwrap();
        });
        let mut got = Vec::new();
        (&rx).read_to_end(&mut got).unwrap();
        writer.join().unwrap();
        let mut want = pattern(DATA_LEN);
        want.extend_from_slice(b"tail");
        assert!(got == want, "got {} bytes, want {}", got.len(), want.len());
    });
}

#[test]
fn fd_conversions_round_trip() {
    let (tx, rx) = unnamed_pipe::pipe().unwrap();
    let tx = Sender::from(OwnedFd::from(tx));
    let mut rx = Recver::from(OwnedFd::from(rx));
    (&tx).write_all(b"ok").unwrap();
    drop(tx);
    let mut s = String::new();
    rx.read_to_string(&mut s).unwrap();
    assert_eq!(s, "ok");
}

/// Both ends are close-on-exec.
#[test]
fn ends_are_close_on_exec() {
    use std::os::fd::AsRawFd;
    let (tx, rx) = unnamed_pipe::pipe().unwrap();
    for fd in [tx.as_raw_fd(), rx.as_raw_fd()] {
        // SAFETY: F_GETFD on an open descriptor.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        assert!(flags & libc::FD_CLOEXEC != 0);
    }
}

/// In a child with `SIGPIPE` at its default (killing) action: writes to a pipe without a
/// reader fail with `BrokenPipe`, leave no `SIGPIPE` pending, and restore the signal mask,
/// whether or not the caller had `SIGPIPE` blocked.
#[test]
fn write_without_reader_is_broken_pipe_not_sigpipe() {
    if std::env::var(CHILD_ENV).as_deref() == Ok("sigpipe") {
        return sigpipe_child();
    }
    let mut child = child_cmd("write_without_reader_is_broken_pipe_not_sigpipe", "sigpipe")
        .spawn()
        .unwrap();
    wait_ok(&mut child);
}

fn sigpipe_child() {
    // SAFETY: restoring the default action of SIGPIPE; no handler is installed.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let check = |expect_blocked: bool| {
        // SAFETY: sigset_t is plain old data; the calls only write into it.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigpending(&mut set);
            assert_eq!(
                libc::sigismember(&set, libc::SIGPIPE),
                0,
                "SIGPIPE left pending"
            );
            libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut set);
            assert_eq!(libc::sigismember(&set, libc::SIGPIPE) == 1, expect_blocked);
        }
    };
    let (tx, rx) = unnamed_pipe::pipe().unwrap();
    drop(rx);
    assert_eq!((&tx).write(b"x").unwrap_err().kind(), ErrorKind::BrokenPipe);
    let err = (&tx).write_vectored(&[IoSlice::new(b"x")]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    check(false);

    // The caller blocks SIGPIPE itself: still BrokenPipe, still blocked after, and the
    // SIGPIPE the write raised is not left pending.
    // SAFETY: sigset_t is plain old data; blocking SIGPIPE in this thread only.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    assert_eq!((&tx).write(b"x").unwrap_err().kind(), ErrorKind::BrokenPipe);
    check(true);

    #[cfg(feature = "tokio")]
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            use tokio::io::AsyncWriteExt;
            let (mut tx, rx) = unnamed_pipe::tokio::pipe().unwrap();
            drop(rx);
            let err = tx.write_all(b"x").await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BrokenPipe);
        });
        check(true);
    }
}

#[cfg(feature = "tokio")]
mod tokio_pipe {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn async_ends_carry_all_data_then_eof() {
        let (mut tx, mut rx) = unnamed_pipe::tokio::pipe().unwrap();
        let writer = tokio::spawn(async move {
            for chunk in pattern(DATA_LEN).chunks(4096) {
                tx.write_all(chunk).await.unwrap();
            }
        });
        let mut got = Vec::new();
        tokio::time::timeout(LIMIT, rx.read_to_end(&mut got))
            .await
            .expect("read hung")
            .unwrap();
        writer.await.unwrap();
        assert!(got == pattern(DATA_LEN), "got {} bytes", got.len());
    }

    /// A sync end converts to async and back; the async read end takes data from a sync
    /// writer on another thread.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sync_and_async_ends_convert() {
        let (tx, rx) = unnamed_pipe::pipe().unwrap();
        let mut rx = unnamed_pipe::tokio::Recver::try_from(rx).unwrap();
        let writer = std::thread::spawn(move || (&tx).write_all(b"from a sync writer"));
        let mut got = String::new();
        tokio::time::timeout(LIMIT, rx.read_to_string(&mut got))
            .await
            .expect("read hung")
            .unwrap();
        writer.join().unwrap().unwrap();
        assert_eq!(got, "from a sync writer");

        let (tx, rx) = unnamed_pipe::tokio::pipe().unwrap();
        let tx = Sender::try_from(tx).unwrap();
        let rx = Recver::try_from(rx).unwrap();
        (&tx).write_all(b"sync again").unwrap();
        drop(tx);
        let mut got = String::new();
        (&rx).read_to_string(&mut got).unwrap();
        assert_eq!(got, "sync again");
    }

    #[test]
    fn outside_a_runtime_is_an_error_not_a_panic() {
        let err = unnamed_pipe::tokio::pipe().unwrap_err();
        assert!(err.to_string().contains("tokio runtime"), "{err}");
    }
}
