//! Unnamed pipes: a child process on both ends, all data before end of file, `BrokenPipe`
//! (never `SIGPIPE` on Unix), no leaked handles, and the tokio ends. Unix and Windows.

mod util;

use localipc::handle::OwnedHandle;
use localipc::unnamed_pipe::{self, Recver, Sender};
use std::io::{ErrorKind, IoSlice, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;
#[cfg(any(target_os = "linux", windows))]
use util::handles::open_handles;
use util::{bounded, LIMIT};

const CHILD_ENV: &str = "LOCALIPC_UNNAMED_PIPE_CHILD";
const DATA_LEN: usize = 1 << 20;

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect()
}

/// Re-runs this test binary as a child that runs only `test`, with `CHILD_ENV=role`.
fn child_cmd(test: &str, role: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, role);
    cmd
}

/// Runs `body` in a child process of its own (this test binary re-run for `test` alone):
/// in the child (`CHILD_ENV=role`) runs it, in the parent waits for the child to pass.
fn in_child(test: &str, role: &str, body: fn()) {
    if std::env::var(CHILD_ENV).as_deref() == Ok(role) {
        return body();
    }
    wait_ok(&mut child_cmd(test, role).spawn().unwrap());
}

/// Waits for `child` for up to 20 s (killing it after that) and checks that it exited
/// normally (on Unix: not by a signal).
fn wait_ok(child: &mut std::process::Child) {
    let status = util::wait_child(child, Duration::from_secs(20));
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), None, "child killed by a signal");
    }
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

/// Through `OwnedFd` (Unix) or `OwnedHandle` (Windows) and back; on Windows through the raw
/// handle too.
#[test]
fn handle_conversions_round_trip() {
    let (tx, rx) = unnamed_pipe::pipe().unwrap();
    let tx = Sender::from(OwnedHandle::from(tx));
    let rx = Recver::from(OwnedHandle::from(rx));
    #[cfg(windows)]
    let (tx, rx) = {
        use std::os::windows::io::{FromRawHandle, IntoRawHandle};
        // SAFETY: the raw handles were just released by their owners.
        unsafe {
            (
                Sender::from_raw_handle(tx.into_raw_handle()),
                Recver::from_raw_handle(rx.into_raw_handle()),
            )
        }
    };
    #[cfg(unix)]
    let (tx, rx) = {
        use std::os::fd::{FromRawFd, IntoRawFd};
        // SAFETY: the raw descriptors were just released by their owners.
        unsafe {
            (
                Sender::from_raw_fd(tx.into_raw_fd()),
                Recver::from_raw_fd(rx.into_raw_fd()),
            )
        }
    };
    let mut rx = rx;
    (&tx).write_all(b"ok").unwrap();
    drop(tx);
    let mut s = String::new();
    rx.read_to_string(&mut s).unwrap();
    assert_eq!(s, "ok");
}

/// Neither end is inheritable: `GetHandleInformation` shows no `HANDLE_FLAG_INHERIT`.
#[cfg(windows)]
#[test]
fn ends_are_not_inheritable() {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Foundation::{GetHandleInformation, HANDLE_FLAG_INHERIT};
    let (tx, rx) = unnamed_pipe::pipe().unwrap();
    for h in [tx.as_raw_handle(), rx.as_raw_handle()] {
        let mut flags = 0u32;
        // SAFETY: `h` is open while `tx`/`rx` live; `flags` is valid for writes.
        let ok = unsafe { GetHandleInformation(h, &mut flags) };
        assert_ne!(ok, 0, "GetHandleInformation failed");
        assert_eq!(flags & HANDLE_FLAG_INHERIT, 0, "handle is inheritable");
    }
}

/// Both ends are close-on-exec.
#[cfg(unix)]
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

/// Writes to a pipe whose read end is gone fail with `BrokenPipe`, also a write that was
/// blocked (full pipe) when the reader went away.
#[test]
fn write_without_reader_is_broken_pipe() {
    bounded(LIMIT, || {
        let (tx, rx) = unnamed_pipe::pipe().unwrap();
        drop(rx);
        let err = (&tx).write(b"x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
        let err = (&tx).write_vectored(&[IoSlice::new(b"x")]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");

        let (tx, rx) = unnamed_pipe::pipe().unwrap();
        let writer = std::thread::spawn(move || {
            let chunk = vec![7u8; 64 * 1024];
            loop {
                if let Err(e) = (&tx).write(&chunk) {
                    return e;
                }
            }
        });
        std::thread::sleep(Duration::from_millis(200)); // let the writer fill the pipe
        drop(rx);
        let err = writer.join().unwrap();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
    });
}

/// An empty write is not end of file for a reader waiting on the pipe (on Windows it would
/// be, were it passed to `WriteFile`).
#[test]
fn empty_write_is_not_end_of_file() {
    bounded(LIMIT, || {
        let (tx, rx) = unnamed_pipe::pipe().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            (&rx).read_to_end(&mut got).map(|_| got)
        });
        std::thread::sleep(Duration::from_millis(100)); // the reader is waiting by now
        assert_eq!((&tx).write(b"").unwrap(), 0);
        assert_eq!((&tx).write_vectored(&[IoSlice::new(b"")]).unwrap(), 0);
        std::thread::sleep(Duration::from_millis(100));
        (&tx).write_all(b"data").unwrap();
        drop(tx);
        assert_eq!(reader.join().unwrap().unwrap(), b"data");
    });
}

/// In a child with `SIGPIPE` at its default (killing) action: writes to a pipe without a
/// reader fail with `BrokenPipe`, leave no `SIGPIPE` pending, and restore the signal mask,
/// whether or not the caller had `SIGPIPE` blocked.
#[cfg(unix)]
#[test]
fn write_without_reader_is_broken_pipe_not_sigpipe() {
    in_child(
        "write_without_reader_is_broken_pipe_not_sigpipe",
        "sigpipe",
        sigpipe_child,
    );
}

#[cfg(unix)]
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

/// Making, using and dropping 500 pipes (and 200 tokio pipes) leaves the open descriptor or
/// handle count unchanged. Runs in a child process of its own, where the count is not
/// disturbed by other tests.
#[cfg(any(target_os = "linux", windows))]
#[test]
fn dropped_pipes_leak_no_handles() {
    in_child("dropped_pipes_leak_no_handles", "leak", leak_child);
}

#[cfg(any(target_os = "linux", windows))]
fn leak_child() {
    let round = || {
        let (tx, rx) = unnamed_pipe::pipe().unwrap();
        (&tx).write_all(b"x").unwrap();
        drop(tx);
        let mut buf = Vec::new();
        (&rx).read_to_end(&mut buf).unwrap();
        assert_eq!(buf, b"x");
    };
    round(); // warm up: per-thread state (Windows: the thread's I/O event)
    let before = open_handles();
    for _ in 0..500 {
        round();
    }
    let after = open_handles();
    assert!(
        after <= before,
        "sync pipes: {before} -> {after} open handles"
    );

    #[cfg(feature = "tokio")]
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let round = || async {
                let (mut tx, mut rx) = unnamed_pipe::tokio::pipe().unwrap();
                tx.write_all(b"x").await.unwrap();
                drop(tx);
                let mut buf = Vec::new();
                rx.read_to_end(&mut buf).await.unwrap();
                assert_eq!(buf, b"x");
            };
            round().await;
            // Windows: a dropped end's handle closes once its cancelled read comes back
            // through the reactor; give it a moment.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let before = open_handles();
            for _ in 0..200 {
                round().await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            let after = open_handles();
            assert!(
                after <= before,
                "tokio pipes: {before} -> {after} open handles"
            );
        });
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

    /// 1 MiB through an echo task between two async pipes on a multi-thread runtime,
    /// checked by length and checksum; end of file travels through the echo once the first
    /// writer drops.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn async_ends_echo_a_mebibyte_then_eof() {
        let (mut to_echo, mut echo_in) = unnamed_pipe::tokio::pipe().unwrap();
        let (mut echo_out, mut from_echo) = unnamed_pipe::tokio::pipe().unwrap();
        let echo = tokio::spawn(async move {
            let n = tokio::io::copy(&mut echo_in, &mut echo_out).await?;
            Ok::<_, std::io::Error>(n) // `echo_out` drops: end of file for `from_echo`
        });
        let writer = tokio::spawn(async move {
            for chunk in pattern(DATA_LEN).chunks(64 * 1024 + 3) {
                to_echo.write_all(chunk).await?;
            }
            Ok::<_, std::io::Error>(())
        });
        let mut got = Vec::new();
        tokio::time::timeout(LIMIT, from_echo.read_to_end(&mut got))
            .await
            .expect("read hung")
            .unwrap();
        writer.await.unwrap().unwrap();
        assert_eq!(echo.await.unwrap().unwrap(), DATA_LEN as u64);
        let sum = |d: &[u8]| d.iter().map(|&b| u64::from(b)).sum::<u64>();
        assert_eq!(got.len(), DATA_LEN);
        assert_eq!(sum(&got), sum(&pattern(DATA_LEN)));
        assert!(got == pattern(DATA_LEN), "data differs");
    }

    /// Writes fail with `BrokenPipe` once the read end is dropped. (On Windows tokio closes
    /// the read end once its cancelled read has come back, so a write or two may still be
    /// taken before that.)
    #[tokio::test]
    async fn async_write_without_reader_is_broken_pipe() {
        let (mut tx, rx) = unnamed_pipe::tokio::pipe().unwrap();
        drop(rx);
        let chunk = vec![1u8; 4096];
        let err = tokio::time::timeout(LIMIT, async {
            loop {
                if let Err(e) = tx.write_all(&chunk).await {
                    return e;
                }
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("writes never failed");
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
    }

    /// An empty write is not end of file for the async reader.
    #[tokio::test]
    async fn async_empty_write_is_not_end_of_file() {
        let (mut tx, mut rx) = unnamed_pipe::tokio::pipe().unwrap();
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            rx.read_to_end(&mut got).await.map(|_| got)
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(tx.write(b"").await.unwrap(), 0);
        tokio::time::sleep(Duration::from_millis(50)).await;
        tx.write_all(b"data").await.unwrap();
        drop(tx);
        let got = tokio::time::timeout(LIMIT, reader)
            .await
            .expect("read hung");
        assert_eq!(got.unwrap().unwrap(), b"data");
    }

    /// Windows: sync and async ends do not convert, and the API says so at compile time
    /// (the `TryFrom` impls are `cfg(unix)`) rather than with an error at run time. This
    /// test does not compile if any of the four conversions comes back.
    #[cfg(windows)]
    #[test]
    fn sync_and_async_ends_do_not_convert_on_windows() {
        /// Compiles only if `$ty` does not implement `$tr` (two blanket impls of a helper
        /// trait; naming its item is ambiguous exactly when both apply).
        macro_rules! assert_not_impl {
            ($ty:ty: $tr:path) => {{
                trait AmbiguousIfImpl<A> {
                    fn some_item() {}
                }
                impl<T: ?Sized> AmbiguousIfImpl<()> for T {}
                #[allow(dead_code)]
                struct Invalid;
                impl<T: ?Sized + $tr> AmbiguousIfImpl<Invalid> for T {}
                let _ = <$ty as AmbiguousIfImpl<_>>::some_item;
            }};
        }
        use unnamed_pipe::tokio as a;
        assert_not_impl!(a::Sender: TryFrom<Sender>);
        assert_not_impl!(a::Recver: TryFrom<Recver>);
        assert_not_impl!(Sender: TryFrom<a::Sender>);
        assert_not_impl!(Recver: TryFrom<a::Recver>);
    }

    /// A sync end converts to async and back; the async read end takes data from a sync
    /// writer on another thread.
    #[cfg(unix)]
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
