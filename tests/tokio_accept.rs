//! Accepting on the async listener (feature `tokio`, issue 12 item 4): the public
//! `poll_accept` from a hand-written future, `Incoming` as a `futures_core::Stream` built on
//! it, and `accept` from many tasks at once.
#![cfg(feature = "tokio")]

mod util;

use futures_core::{FusedStream, Stream};
use futures_lite::StreamExt;
use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use util::{any_name, TestDir};

/// Every async test body runs under this bound: a hang fails in seconds.
async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("test body timed out")
}

/// Clients `0..n`, connected one after another with a pause between them (so that the
/// server finds nobody waiting in between), each sending its number; then each reads it
/// back.
fn clients(name: String, n: u8) -> tokio::task::JoinHandle<io::Result<()>> {
    tokio::spawn(async move {
        let mut conns = Vec::new();
        for i in 0..n {
            tokio::time::sleep(Duration::from_millis(30)).await;
            let mut c = LocalSocketStream::connect(name.as_str()).await?;
            c.write_all(&[i]).await?;
            conns.push(c);
        }
        for (i, mut c) in (0..n).zip(conns) {
            let mut back = [0];
            c.read_exact(&mut back).await?;
            assert_eq!(back, [i]);
        }
        Ok(())
    })
}

/// Echoes one byte on `conn`, returning it.
async fn echo_one(mut conn: LocalSocketStream) -> u8 {
    let mut b = [0];
    conn.read_exact(&mut b).await.unwrap();
    conn.write_all(&b).await.unwrap();
    b[0]
}

/// A hand-written future: accepts `n` connections through `poll_accept`, counting the times
/// it found nobody.
struct AcceptN<'a> {
    listener: &'a LocalSocketListener,
    n: usize,
    got: Vec<LocalSocketStream>,
    pending: usize,
}

impl Future for AcceptN<'_> {
    type Output = io::Result<(Vec<LocalSocketStream>, usize)>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        while self.got.len() < self.n {
            match self.listener.poll_accept(cx) {
                Poll::Ready(conn) => self.got.push(conn?),
                Poll::Pending => {
                    self.pending += 1;
                    return Poll::Pending;
                }
            }
        }
        let got = std::mem::take(&mut self.got);
        Poll::Ready(Ok((got, self.pending)))
    }
}

/// `poll_accept` returns `Pending` while nobody is there and wakes the task when a client
/// comes (a lost wake-up would hang here: the future is polled only when woken), on a
/// current-thread runtime and a multi-thread one.
#[test]
fn poll_accept_from_a_hand_written_future() {
    for multi in [false, true] {
        let mut builder = if multi {
            tokio::runtime::Builder::new_multi_thread()
        } else {
            tokio::runtime::Builder::new_current_thread()
        };
        let rt = builder.worker_threads(2).enable_all().build().unwrap();
        rt.block_on(bounded(async {
            let dir = TestDir::new("tpollacc");
            let name = any_name(&dir, "tpollacc");
            let listener = LocalSocketListener::bind(name.as_str()).unwrap();
            let clients = clients(name, 3);
            let accept = AcceptN {
                listener: &listener,
                n: 3,
                got: Vec::new(),
                pending: 0,
            };
            let (conns, pending) = accept.await.unwrap();
            assert!(pending >= 1, "never found the backlog empty");
            let mut firsts = Vec::new();
            for conn in conns {
                firsts.push(echo_one(conn).await);
            }
            assert_eq!(firsts, [0, 1, 2]);
            clients.await.unwrap().unwrap();
        }));
    }
}

/// `incoming()` is a `futures_core::Stream` (and never ends: `FusedStream` says it is not
/// terminated), driven here by `futures_lite::StreamExt`.
#[tokio::test]
async fn incoming_is_a_stream_with_stream_ext() {
    bounded(async {
        let dir = TestDir::new("tincstream");
        let name = any_name(&dir, "tincstream");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let clients = clients(name, 3);
        let incoming = listener.incoming();
        assert!(!incoming.is_terminated());
        assert_eq!(Stream::size_hint(&incoming), (usize::MAX, None));
        let mut firsts = Vec::new();
        let mut conns = incoming.take(3);
        while let Some(conn) = conns.next().await {
            firsts.push(echo_one(conn.unwrap()).await);
        }
        assert_eq!(firsts, [0, 1, 2]);
        clients.await.unwrap().unwrap();
    })
    .await;
}

/// Several tasks waiting in `accept` on one listener at once all get a client: none is left
/// asleep because another task's waker replaced its own. (Unix's `accept` was `poll_accept`
/// in a `poll_fn`, and `AsyncFd::poll_read_ready` keeps only the latest waker: the other
/// waiters never woke.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_accept_at_once() {
    const TASKS: u8 = 4;
    bounded(async {
        let dir = TestDir::new("tmanyacc");
        let name = any_name(&dir, "tmanyacc");
        let listener = Arc::new(LocalSocketListener::bind(name.as_str()).unwrap());
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let listener = Arc::clone(&listener);
                tokio::spawn(async move {
                    let conn = listener.accept().await.unwrap();
                    echo_one(conn).await
                })
            })
            .collect();
        // Let every task reach its wait first.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let clients = clients(name, TASKS);
        let mut firsts = Vec::new();
        for t in tasks {
            let got = tokio::time::timeout(Duration::from_secs(10), t)
                .await
                .expect("an accepting task was never woken")
                .unwrap();
            firsts.push(got);
        }
        firsts.sort();
        assert_eq!(firsts, (0..TASKS).collect::<Vec<_>>());
        clients.await.unwrap().unwrap();
    })
    .await;
}
