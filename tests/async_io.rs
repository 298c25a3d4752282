//! Async local sockets without tokio (feature `async-io`, issue 15 part 3): on smol's
//! executor (`async-executor`) and on `futures_lite::future::block_on`, with no tokio
//! runtime anywhere in the process; cancellation of reads and accepts; the conversions.
#![cfg(feature = "async-io")]

mod util;

use async_executor::Executor;
use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use localipc::local_socket::async_io::{LocalSocketListener, LocalSocketStream};
use localipc::local_socket::{self as sync, ConnectOptions};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};
use util::{any_name, bounded, TestDir, LIMIT};

/// No tokio runtime in this task, nor (on Linux) any tokio worker thread in the process.
fn assert_no_tokio() {
    assert!(
        tokio::runtime::Handle::try_current().is_err(),
        "a tokio runtime is current"
    );
    #[cfg(target_os = "linux")]
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let comm = std::fs::read_to_string(task.unwrap().path().join("comm")).unwrap_or_default();
        assert!(!comm.starts_with("tokio"), "a tokio thread runs: {comm}");
    }
}

/// An echo round trip of many messages on smol's executor: the server task echoes until end
/// of file; neither side has a tokio runtime.
#[test]
fn smol_executor_echo_without_tokio() {
    bounded(LIMIT, || {
        let dir = TestDir::new("aio-smol");
        let name = any_name(&dir, "aio-smol");
        let ex = Arc::new(Executor::new());
        future::block_on(ex.run(async {
            assert_no_tokio();
            let listener = LocalSocketListener::bind(name.as_str())?;
            let server = ex.spawn(async move {
                assert_no_tokio();
                let conn = listener.accept().await?;
                let (mut r, mut w) = (&conn, &conn);
                futures_lite::io::copy(&mut r, &mut w).await?;
                w.close().await?;
                io::Result::Ok(())
            });
            let mut conn = LocalSocketStream::connect(name.as_str()).await?;
            let mut back = vec![0; 4096];
            for i in 0..500u32 {
                let msg: Vec<u8> = (0..4096u32).map(|j| (i ^ j).to_le_bytes()[0]).collect();
                conn.write_all(&msg).await?;
                conn.read_exact(&mut back).await?;
                assert_eq!(back, msg, "round trip {i}");
            }
            conn.close().await?; // half-close: the echo ends, then ours reads end of file
            let mut rest = Vec::new();
            conn.read_to_end(&mut rest).await?;
            assert!(rest.is_empty());
            server.await?;
            assert_no_tokio();
            io::Result::Ok(())
        }))
        .unwrap();
    });
}

/// Accept, connect and a half-closed request/reply on `futures_lite::future::block_on`
/// alone (async-io's reactor runs on its own thread).
#[test]
fn futures_lite_block_on_request_reply() {
    bounded(LIMIT, || {
        let dir = TestDir::new("aio-lite");
        let name = any_name(&dir, "aio-lite");
        future::block_on(async {
            assert_no_tokio();
            let listener = LocalSocketListener::bind(name.as_str())?;
            assert_eq!(listener.local_name().to_string(), name);
            let server = async {
                let mut conn = listener.accept().await?;
                let mut req = Vec::new();
                conn.read_to_end(&mut req).await?;
                conn.write_all(&req).await?;
                io::Result::Ok(())
            };
            let client = async {
                let mut conn = LocalSocketStream::connect(name.as_str()).await?;
                conn.write_all(b"request").await?;
                conn.close().await?;
                let mut reply = Vec::new();
                conn.read_to_end(&mut reply).await?;
                io::Result::Ok(reply)
            };
            let (s, c) = future::zip(server, client).await;
            s?;
            assert_eq!(c?, b"request");
            io::Result::Ok(())
        })
        .unwrap();
    });
}

/// A future that is pending on its first poll only: racing an operation against it drops
/// the operation's future half the time, right after it first found nothing to do.
async fn yield_once() -> Option<usize> {
    future::yield_now().await;
    None
}

/// Reads raced 10,000 times against a future that wins whenever the read would wait: every
/// byte the writer sent arrives once and in order.
#[test]
fn cancelled_reads_lose_nothing() {
    bounded(LIMIT, || {
        let dir = TestDir::new("aio-cancel-read");
        let name = any_name(&dir, "aio-cancel-read");
        const N: u32 = 10_000;
        future::block_on(async {
            let listener = LocalSocketListener::bind(name.as_str())?;
            let client = LocalSocketStream::connect(name.as_str()).await?;
            let server = listener.accept().await?;
            let writer = std::thread::spawn(move || {
                future::block_on(async {
                    let mut client = client;
                    for i in 0..N {
                        client.write_all(&i.to_le_bytes()).await?;
                        if i % 7 == 0 {
                            std::thread::yield_now();
                        }
                    }
                    client.close().await
                })
            });
            let mut got = Vec::new();
            let mut cancelled = 0u32;
            let mut buf = [0u8; 13]; // not a multiple of 4: messages split across reads
            loop {
                let read = async { Some((&server).read(&mut buf).await) };
                match future::or(read, async { yield_once().await.map(Ok) }).await {
                    Some(Ok(0)) => break,
                    Some(Ok(n)) => got.extend_from_slice(&buf[..n]),
                    Some(Err(e)) => return Err(e),
                    None => cancelled += 1,
                }
            }
            writer.join().unwrap()?;
            let want: Vec<u8> = (0..N).flat_map(u32::to_le_bytes).collect();
            assert_eq!(got.len(), want.len(), "{cancelled} reads cancelled");
            assert!(got == want, "bytes reordered or duplicated");
            io::Result::Ok(())
        })
        .unwrap();
    });
}

/// Accepts raced against a future that wins whenever the accept would wait, while clients
/// connect: every client is accepted exactly once (a dropped `accept` loses none).
#[test]
fn cancelled_accepts_lose_no_client() {
    bounded(LIMIT, || {
        let dir = TestDir::new("aio-cancel-accept");
        let name = any_name(&dir, "aio-cancel-accept");
        const N: u32 = 300;
        future::block_on(async {
            let listener = LocalSocketListener::bind(name.as_str())?;
            let connector = std::thread::spawn({
                let name = name.clone();
                move || {
                    let mut conns = Vec::new();
                    for i in 0..N {
                        let mut c = sync::LocalSocketStream::connect(name.as_str())?;
                        io::Write::write_all(&mut c, &i.to_le_bytes())?;
                        conns.push(c); // kept open until all are accepted
                    }
                    io::Result::Ok(conns)
                }
            });
            let mut seen = Vec::new();
            while seen.len() < N as usize {
                let accept = async { Some(listener.accept().await) };
                let Some(conn) =
                    future::or(accept, async { yield_once().await.map(|_| unreachable!()) }).await
                else {
                    continue;
                };
                let mut conn = conn?;
                let mut id = [0; 4];
                conn.read_exact(&mut id).await?;
                seen.push(u32::from_le_bytes(id));
            }
            let conns = connector.join().unwrap()?;
            assert_eq!(conns.len(), N as usize);
            seen.sort_unstable();
            assert_eq!(seen, (0..N).collect::<Vec<_>>());
            io::Result::Ok(())
        })
        .unwrap();
    });
}

/// Many tasks awaiting `accept` on one listener at once, on smol's executor: each client goes
/// to exactly one of them and none is left waiting.
#[test]
fn many_tasks_accept_at_once() {
    bounded(LIMIT, || {
        let dir = TestDir::new("aio-many-accept");
        let name = any_name(&dir, "aio-many-accept");
        let ex = Executor::new();
        future::block_on(ex.run(async {
            let listener = Arc::new(LocalSocketListener::bind(name.as_str())?);
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let l = Arc::clone(&listener);
                    ex.spawn(async move {
                        let mut c = l.accept().await?;
                        let mut b = [0];
                        c.read_exact(&mut b).await?;
                        io::Result::Ok(b[0])
                    })
                })
                .collect();
            async_io::Timer::after(Duration::from_millis(50)).await; // all are waiting
            let mut clients = Vec::new();
            for i in 0..8u8 {
                let mut c = LocalSocketStream::connect(name.as_str()).await?;
                c.write_all(&[i]).await?;
                clients.push(c);
            }
            let mut got = Vec::new();
            for t in tasks {
                got.push(t.await?);
            }
            got.sort_unstable();
            assert_eq!(got, (0..8).collect::<Vec<_>>());
            io::Result::Ok(())
        }))
        .unwrap();
    });
}

/// `connect` with no server fails at once, naming the name; `connect_with` a timeout waits
/// for a server that binds late, and gives `TimedOut` when none comes.
#[test]
fn connect_errors_and_timeout() {
    bounded(LIMIT, || {
        let dir = TestDir::new("aio-connect");
        let name = any_name(&dir, "aio-connect");
        future::block_on(async {
            let err = LocalSocketStream::connect(name.as_str()).await.unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
                ),
                "{err}"
            );
            assert!(err.to_string().contains(&name), "{err}");

            let start = Instant::now();
            let err = LocalSocketStream::connect_with(
                name.as_str(),
                ConnectOptions::new().timeout(Duration::from_millis(200)),
            )
            .await
            .unwrap_err();
            util::assert_err(err, io::ErrorKind::TimedOut, &name);
            assert!(start.elapsed() < Duration::from_secs(10));

            let late = {
                let name = name.clone();
                async move {
                    async_io::Timer::after(Duration::from_millis(100)).await;
                    let l = LocalSocketListener::bind(name.as_str())?;
                    l.accept().await
                }
            };
            let mut opts = ConnectOptions::new();
            opts.timeout(Duration::from_secs(10));
            let client = LocalSocketStream::connect_with(name.as_str(), &opts);
            let (s, c) = future::zip(late, client).await;
            let (_s, c) = (s?, c?);
            assert_eq!(c.peer_pid()?, std::process::id());
            io::Result::Ok(())
        })
        .unwrap();
    });
}

/// Sync listener and stream into async ones and (Unix) back; a write to a closed peer is
/// `BrokenPipe` (no `SIGPIPE`); dropping the async stream gives the peer end of file.
#[test]
fn conversions_and_peer_close() {
    bounded(LIMIT, || {
        let dir = TestDir::new("aio-convert");
        let name = any_name(&dir, "aio-convert");
        future::block_on(async {
            let listener: LocalSocketListener =
                sync::LocalSocketListener::bind(name.as_str())?.try_into()?;
            let client: LocalSocketStream =
                sync::LocalSocketStream::connect(name.as_str())?.try_into()?;
            let mut server = listener.accept().await?;
            (&client).write_all(b"abc").await?;
            let mut buf = [0; 3];
            server.read_exact(&mut buf).await?;
            assert_eq!(&buf, b"abc");
            assert_eq!(server.peer_creds()?.pid(), Some(std::process::id()));

            #[cfg(unix)]
            let client = {
                let mut back: sync::LocalSocketStream = client.try_into()?;
                io::Write::write_all(&mut back, b"sync")?;
                let mut buf = [0; 4];
                server.read_exact(&mut buf).await?;
                assert_eq!(&buf, b"sync");
                LocalSocketStream::try_from(back)?
            };

            drop(client); // the peer reads end of file, then writes fail
            let mut rest = Vec::new();
            server.read_to_end(&mut rest).await?;
            assert!(rest.is_empty());
            let mut err = None;
            for _ in 0..100 {
                if let Err(e) = server.write_all(&[0; 4096]).await {
                    err = Some(e);
                    break;
                }
            }
            let err = err.expect("writes to a closed peer kept succeeding");
            assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
            io::Result::Ok(())
        })
        .unwrap();
    });
}

/// A stream dropped while a read is waiting (on Windows, a `ReadFile` in flight on a pool
/// thread) closes at once: the peer reads end of file; a write accepted just before the
/// drop still arrives first. A listener dropped while an accept is waiting releases its name.
#[test]
fn drop_with_operations_in_flight() {
    bounded(LIMIT, || {
        let dir = TestDir::new("aio-drop");
        let name = any_name(&dir, "aio-drop");
        let ex = Executor::new();
        future::block_on(ex.run(async {
            let listener = LocalSocketListener::bind(name.as_str())?;
            let (accepted, connected) =
                future::zip(listener.accept(), LocalSocketStream::connect(name.as_str())).await;
            let (server, mut client) = (Arc::new(accepted?), connected?);
            let reader = ex.spawn({
                let server = Arc::clone(&server);
                async move {
                    let mut buf = [0; 16];
                    (&*server).read(&mut buf).await
                }
            });
            async_io::Timer::after(Duration::from_millis(100)).await; // the read is waiting
            drop(reader.cancel().await); // dropped mid-read
            (&*server).write_all(b"last").await?;
            drop(server);
            let mut rest = Vec::new();
            client.read_to_end(&mut rest).await?;
            assert_eq!(rest, b"last");

            let waiting = ex.spawn(async move { listener.accept().await.map(drop) });
            async_io::Timer::after(Duration::from_millis(100)).await; // the accept is waiting
            drop(waiting.cancel().await); // drops the listener too
            let again = LocalSocketListener::bind(name.as_str())?;
            let (a, c) =
                future::zip(again.accept(), LocalSocketStream::connect(name.as_str())).await;
            let (_a, _c) = (a?, c?);
            io::Result::Ok(())
        }))
        .unwrap();
    });
}
