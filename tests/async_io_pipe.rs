//! Async unnamed pipes without tokio (feature `async-io`; issue 15 part 3).
#![cfg(feature = "async-io")]

mod util;

use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
#[cfg(unix)]
use localipc::unnamed_pipe as sync;
use localipc::unnamed_pipe::async_io::pipe;
use std::io;
use std::time::Duration;
use util::{bounded, LIMIT};

/// Reads raced 10,000 times and more against a future that wins whenever the read would
/// wait, the writer on another thread: every byte arrives once and in order; no tokio
/// runtime anywhere.
#[test]
fn cancelled_pipe_reads_lose_nothing() {
    bounded(LIMIT, || {
        const N: u32 = 10_000;
        future::block_on(async {
            assert!(tokio::runtime::Handle::try_current().is_err());
            let (tx, rx) = pipe()?;
            let writer = std::thread::spawn(move || {
                future::block_on(async {
                    let mut tx = tx;
                    for i in 0..N {
                        tx.write_all(&i.to_le_bytes()).await?;
                    }
                    io::Result::Ok(())
                }) // `tx` drops: end of file
            });
            let mut got = Vec::new();
            let mut buf = [0u8; 13];
            loop {
                let read = async { Some((&rx).read(&mut buf).await) };
                let lose = async {
                    future::yield_now().await;
                    None
                };
                match future::or(read, lose).await {
                    Some(Ok(0)) => break,
                    Some(Ok(n)) => got.extend_from_slice(&buf[..n]),
                    Some(Err(e)) => return Err(e),
                    None => {}
                }
            }
            writer.join().unwrap()?;
            let want: Vec<u8> = (0..N).flat_map(u32::to_le_bytes).collect();
            assert!(got == want, "bytes lost, reordered or duplicated");
            io::Result::Ok(())
        })
        .unwrap();
    });
}

/// With the read end gone, a write fails with `BrokenPipe` (the process gets no `SIGPIPE`,
/// which would kill it); the ends convert to sync and back.
#[cfg(unix)]
#[test]
fn broken_pipe_and_conversions() {
    bounded(LIMIT, || {
        future::block_on(async {
            let (tx, rx) = pipe()?;
            let mut tx: sync::Sender = tx.try_into()?;
            io::Write::write_all(&mut tx, b"sync")?;
            let tx = localipc::unnamed_pipe::async_io::Sender::try_from(tx)?;
            let mut buf = [0; 4];
            (&rx).read_exact(&mut buf).await?;
            assert_eq!(&buf, b"sync");
            let rx: sync::Recver = rx.try_into()?;
            drop(rx);
            let err = (&tx).write_all(b"x").await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
            io::Result::Ok(())
        })
        .unwrap();
    });
}

#[cfg(unix)]
const CHILD_ENV: &str = "LOCALIPC_AIO_SIGPIPE_CHILD";

/// With `SIGPIPE` at its default (process-killing) action, writes to a gone reader through
/// the async-io pipe and local socket stream give `BrokenPipe`. Runs in a child process so
/// the signal setting touches nothing else.
#[cfg(unix)]
#[test]
fn no_sigpipe_with_default_action() {
    if let Ok(name) = std::env::var(CHILD_ENV) {
        return sigpipe_child(&name);
    }
    let dir = util::TestDir::new("aio-sigpipe");
    let name = util::any_name(&dir, "aio-sigpipe");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "no_sigpipe_with_default_action", "--nocapture"])
        .env(CHILD_ENV, &name)
        .spawn()
        .unwrap();
    let status = util::wait_child(&mut child, std::time::Duration::from_secs(20));
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), None, "child killed by a signal");
    assert!(status.success(), "child failed: {status}");
}

#[cfg(unix)]
fn sigpipe_child(name: &str) {
    use localipc::local_socket::async_io::{LocalSocketListener, LocalSocketStream};
    // SAFETY: restoring the default action of SIGPIPE; no handler is installed.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    future::block_on(async {
        let (tx, rx) = pipe()?;
        drop(rx);
        let err = (&tx).write_all(b"x").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");

        let listener = LocalSocketListener::bind(name)?;
        let mut client = LocalSocketStream::connect(name).await?;
        drop(listener.accept().await?);
        let mut err = None;
        for _ in 0..1000 {
            if let Err(e) = client.write_all(&[7; 65536]).await {
                err = Some(e);
                break;
            }
        }
        assert_eq!(err.unwrap().kind(), io::ErrorKind::BrokenPipe);
        io::Result::Ok(())
    })
    .unwrap();
}

/// A `Recver` dropped while its read waits (on Windows, a `ReadFile` in flight on a pool
/// thread) closes the pipe: the first write after it fails with `BrokenPipe` (on Windows,
/// at the flush). Were the read left in flight, it would take that first write's bytes and
/// only then let go of the pipe, so the first write would succeed.
#[test]
fn dropped_reader_with_read_in_flight_breaks_the_pipe() {
    bounded(LIMIT, || {
        let ex = async_executor::Executor::new();
        future::block_on(ex.run(async {
            let (tx, rx) = pipe()?;
            let reader = ex.spawn(async move {
                let mut buf = [0; 8];
                (&rx).read(&mut buf).await
            });
            async_io::Timer::after(Duration::from_millis(100)).await; // the read waits
            drop(reader.cancel().await); // drops `rx` with its read waiting
                                         // The cancellation runs on a pool thread: a generous pause (not a measurement).
            async_io::Timer::after(Duration::from_millis(500)).await;
            let first = async {
                (&tx).write_all(b"x").await?;
                (&tx).flush().await
            };
            let err = first
                .await
                .expect_err("the first write after the drop succeeded");
            assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
            io::Result::Ok(())
        }))
        .unwrap();
    });
}
