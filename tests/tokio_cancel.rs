//! Cancel safety of the tokio types: each method documented as cancel-safe (`read`, `write`,
//! `accept`, `Incoming::next`) raced 10,000 times against a zero timeout
//! (`tokio::time::timeout(ZERO, …)`) and against a single poll (see `race`), dropped whenever
//! it is not done in time, with a peer making progress
//! meanwhile: every byte and every client arrives exactly once, in order. On Windows this
//! covers the overlapped `ReadFile`/`WriteFile`/`ConnectNamedPipe` that tokio (mio) leaves in
//! flight when a future is dropped. (shm: tests/shm_tokio.rs, `cancelled_reads_and_writes_lose_nothing`.)
#![cfg(feature = "tokio")]

mod util;

use futures_lite::StreamExt;
use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
use localipc::unnamed_pipe;
use std::future::Future;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use util::{any_name, TestDir};

/// Attempts per test.
const RACES: usize = 10_000;

/// Every test body runs under this bound: a hang fails in seconds.
async fn bounded<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .expect("test body timed out")
}

/// `f` raced against a zero timeout (odd `attempt`s) or polled just once (even ones): its
/// output if it was ready in time, `None` (and `f` dropped) if not. A zero `timeout` fires
/// only at the time driver's next turn (a millisecond tick), so `f` may be polled several
/// times first; polling once also cancels `f` right after its first `Pending`.
async fn race<F: Future>(f: F, attempt: usize) -> Option<F::Output> {
    if attempt % 2 == 1 {
        tokio::time::timeout(Duration::ZERO, f).await.ok()
    } else {
        futures_lite::future::poll_once(f).await
    }
}

/// `len` bytes without a short period (xorshift), so a lost or repeated chunk shows.
fn pattern(len: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A connected local socket pair: (accepted, connected).
async fn socket_pair(dir: &TestDir, tag: &str) -> (LocalSocketStream, LocalSocketStream) {
    let name = any_name(dir, &util::unique(tag));
    let listener = LocalSocketListener::bind(name.as_str()).unwrap();
    let (server, client) =
        tokio::join!(listener.accept(), LocalSocketStream::connect(name.as_str()));
    (server.unwrap(), client.unwrap())
}

/// `RACES` raced reads on `rx` while a task writes small chunks into `tx`, yielding between
/// them; the bytes read are exactly those written. Returns how many reads were cancelled.
async fn raced_reads(
    mut rx: impl AsyncRead + Unpin,
    mut tx: impl AsyncWrite + Unpin + Send + 'static,
) -> usize {
    // 2 * RACES chunks of 1 to 64 bytes (65 * RACES bytes), read at most 48 at a time: more
    // than RACES reads, and a writer that yields after each chunk is often caught up with.
    let data = pattern(65 * RACES);
    let writer = tokio::spawn({
        let data = data.clone();
        async move {
            let mut at = 0;
            for i in 0.. {
                let len = (1 + i % 64).min(data.len() - at);
                if len == 0 {
                    break;
                }
                tx.write_all(&data[at..at + len]).await.unwrap();
                at += len;
                tokio::task::yield_now().await;
            }
            // `tx` drops: end of file.
        }
    });
    let (mut got, mut cancelled, mut attempts) = (Vec::new(), 0, 0);
    let mut buf = [0; 48];
    loop {
        attempts += 1;
        match race(rx.read(&mut buf), attempts).await {
            Some(Ok(0)) => break,
            Some(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Some(Err(e)) => panic!("read failed: {e}"),
            None => cancelled += 1,
        }
    }
    writer.await.unwrap();
    assert!(attempts >= RACES, "only {attempts} reads");
    assert_eq!(got.len(), data.len(), "bytes lost or duplicated");
    assert!(got == data, "bytes reordered or corrupted");
    cancelled
}

/// `RACES` raced writes of up to 1 KiB into `tx` while a task reads `rx` slowly (so that the
/// buffer fills and writes pend); the reader gets exactly what the completed writes took.
async fn raced_writes(
    mut rx: impl AsyncRead + Unpin + Send + 'static,
    mut tx: impl AsyncWrite + Unpin,
) -> usize {
    let data = pattern(RACES * 1024);
    let reader = tokio::spawn(async move {
        let (mut got, mut buf) = (Vec::new(), vec![0; 700]);
        loop {
            match rx.read(&mut buf).await.unwrap() {
                0 => return got,
                n => got.extend_from_slice(&buf[..n]),
            }
            tokio::task::yield_now().await;
        }
    });
    let (mut sent, mut cancelled) = (0, 0);
    for attempt in 0..RACES {
        let len = 1 + attempt % 1024;
        match race(tx.write(&data[sent..sent + len]), attempt).await {
            Some(Ok(n)) => sent += n,
            Some(Err(e)) => panic!("write failed: {e}"),
            None => cancelled += 1,
        }
    }
    tx.shutdown().await.unwrap();
    drop(tx);
    let got = reader.await.unwrap();
    assert_eq!(got.len(), sent, "bytes lost or duplicated");
    assert!(got == data[..sent], "bytes reordered or corrupted");
    cancelled
}

#[test]
fn local_socket_read_raced_against_a_zero_timeout_loses_nothing() {
    runtime().block_on(bounded(async {
        let dir = TestDir::new("cancel-read");
        let (server, client) = socket_pair(&dir, "cancel-read").await;
        let cancelled = raced_reads(server, client).await;
        assert!(
            cancelled > 0,
            "no read was ever cancelled: the race did not happen"
        );
    }));
}

#[test]
fn local_socket_write_raced_against_a_zero_timeout_loses_nothing() {
    runtime().block_on(bounded(async {
        let dir = TestDir::new("cancel-write");
        let (server, client) = socket_pair(&dir, "cancel-write").await;
        let cancelled = raced_writes(server, client).await;
        assert!(
            cancelled > 0,
            "no write was ever cancelled: the race did not happen"
        );
    }));
}

#[test]
fn split_halves_read_and_write_raced_against_a_zero_timeout_lose_nothing() {
    runtime().block_on(bounded(async {
        let dir = TestDir::new("cancel-halves");
        let (server, client) = socket_pair(&dir, "cancel-halves").await;
        let (server_rx, server_tx) = server.into_split();
        let (client_rx, client_tx) = client.into_split();
        raced_reads(server_rx, client_tx).await;
        raced_writes(client_rx, server_tx).await;
    }));
}

#[test]
fn unnamed_pipe_read_and_write_raced_against_a_zero_timeout_lose_nothing() {
    runtime().block_on(bounded(async {
        let (tx, rx) = unnamed_pipe::tokio::pipe().unwrap();
        raced_reads(rx, tx).await;
        let (tx, rx) = unnamed_pipe::tokio::pipe().unwrap();
        raced_writes(rx, tx).await;
    }));
}

/// Clients that connect from 4 tasks, each sending its number and waiting for a 1-byte
/// acknowledgement before leaving (a client gone before its accept may be skipped, which is
/// not what this tests).
fn clients(name: String, count: u32) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tasks = Vec::new();
        for t in 0..4 {
            let name = name.clone();
            tasks.push(tokio::spawn(async move {
                for i in (t..count).step_by(4) {
                    let mut c = LocalSocketStream::connect(name.as_str()).await.unwrap();
                    c.write_all(&i.to_le_bytes()).await.unwrap();
                    let mut ack = [0];
                    c.read_exact(&mut ack).await.unwrap();
                    tokio::task::yield_now().await;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    })
}

/// Reads an accepted client's number and acknowledges it.
async fn take(mut conn: LocalSocketStream, seen: &mut [u8]) {
    let mut n = [0; 4];
    conn.read_exact(&mut n).await.unwrap();
    seen[u32::from_le_bytes(n) as usize] += 1;
    conn.write_all(&[1]).await.unwrap();
}

/// `accept` (or `Incoming::next` with `incoming`) raced `RACES` times or more, until all
/// `COUNT` clients came: each is accepted exactly once, and none is left over.
async fn raced_accepts(incoming: bool) {
    const COUNT: u32 = 1000;
    let dir = TestDir::new("cancel-accept");
    let name = any_name(&dir, &util::unique("cancel-accept"));
    let listener = LocalSocketListener::bind(name.as_str()).unwrap();
    let clients = clients(name, COUNT);
    let mut seen = vec![0u8; COUNT as usize];
    let (mut accepted, mut cancelled, mut attempts) = (0, 0, 0);
    while accepted < COUNT || attempts < RACES {
        if clients.is_finished() && accepted < COUNT {
            clients.await.unwrap(); // a client's panic, if one failed
            panic!("the clients are done but only {accepted} of {COUNT} were accepted");
        }
        attempts += 1;
        let conn = if incoming {
            race(listener.incoming().next(), attempts)
                .await
                .map(Option::unwrap)
        } else {
            race(listener.accept(), attempts).await
        };
        match conn {
            Some(conn) => {
                take(conn.unwrap(), &mut seen).await;
                accepted += 1;
            }
            None => cancelled += 1,
        }
        tokio::task::yield_now().await;
    }
    clients.await.unwrap();
    assert!(
        seen.iter().all(|&n| n == 1),
        "a client was lost or accepted twice"
    );
    assert_eq!(accepted, COUNT);
    assert!(
        cancelled > 0,
        "no accept was ever cancelled: the race did not happen"
    );
    // Nobody is left waiting: a last accept finds no client.
    let last = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
    assert!(last.is_err(), "a phantom client: {last:?}");
}

#[test]
fn accept_raced_against_a_zero_timeout_loses_no_client() {
    runtime().block_on(bounded(raced_accepts(false)));
}

#[test]
fn incoming_next_raced_against_a_zero_timeout_loses_no_client() {
    runtime().block_on(bounded(raced_accepts(true)));
}
