//! The async message sockets (`local_socket::tokio::message`, feature `tokio`): the sync
//! type's semantics on tokio, and cancel safety (each cancel-safe method raced against a
//! zero timer 10,000 times: nothing lost, nothing duplicated, boundaries intact). Run on
//! Linux's `SOCK_SEQPACKET`, on the framing (built with
//! `RUSTFLAGS="--cfg localipc_framed_messages"`), and under Wine.
#![cfg(feature = "tokio")]

mod util;

use localipc::local_socket::message as sync;
use localipc::local_socket::tokio::message::{MessageListener, MessageStream};
use localipc::local_socket::ConnectOptions;
use std::io::ErrorKind;
use std::time::Duration;
use tokio::time::timeout;
use util::race::race;
use util::{any_name, assert_err, TestDir};

/// Whether this build's message sockets are framed (`SOCK_STREAM`) rather than
/// `SOCK_SEQPACKET` (Linux) or message pipes (Windows).
const FRAMED: bool = cfg!(unix)
    && (cfg!(localipc_framed_messages) || !cfg!(any(target_os = "linux", target_os = "android")));

/// Whether a dropped `send` has surely sent nothing (`SOCK_SEQPACKET`), so that it may be
/// retried; with framing and on Windows it may have sent its message.
const SEND_CANCEL_SAFE: bool = cfg!(unix) && !FRAMED;

/// How many futures each cancel race drops (at least).
const RACES: usize = 10_000;

/// Every async test body runs under this bound: a hang fails in seconds.
async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    timeout(Duration::from_secs(if cfg!(windows) { 60 } else { 20 }), f)
        .await
        .expect("test body timed out")
}

async fn pair(dir: &TestDir, tag: &str) -> (MessageListener, MessageStream, MessageStream) {
    let name = any_name(dir, tag);
    let listener = MessageListener::bind(name.as_str()).unwrap();
    let client = MessageStream::connect(name.as_str()).await.unwrap();
    let server = listener.accept().await.unwrap();
    (listener, client, server)
}

/// Message `i`: 4 bytes of `i`, then a length that varies with `i` (every 7th message is
/// empty; some are 64 KiB, more than one `send` of a frame can take when the buffer is
/// nearly full), filled from `i`.
fn message(i: usize) -> Vec<u8> {
    if i % 7 == 0 {
        return Vec::new();
    }
    let len = match i % 13 {
        0 => 64 * 1024,
        k => 4 + k * 97,
    };
    let mut m: Vec<u8> = (0..len).map(|j| (i * 31 + j).to_le_bytes()[0]).collect();
    m[..4].copy_from_slice(&u32::try_from(i).unwrap().to_le_bytes());
    m
}

/// Which message `m` is (`None` for an empty one), after checking every byte of it.
fn check(m: &[u8]) -> Option<usize> {
    if m.is_empty() {
        return None;
    }
    let i = u32::from_le_bytes(m[..4].try_into().unwrap()) as usize;
    assert!(
        m == message(i),
        "message {i} arrived damaged ({} bytes)",
        m.len()
    );
    Some(i)
}

#[tokio::test(flavor = "current_thread")]
async fn boundaries_empty_messages_truncation_and_end() {
    bounded(async {
        let dir = TestDir::new("tmsg-basic");
        let (_l, client, server) = pair(&dir, "basic").await;
        for m in [&b"one"[..], b"", b"three", b"a longer message", b""] {
            client.send(m).await.unwrap();
        }
        assert_eq!(server.recv_vec().await.unwrap().unwrap(), b"one");
        assert_eq!(server.recv_vec().await.unwrap().unwrap(), b"");
        let mut buf = [0; 8];
        let got = server.recv(&mut buf).await.unwrap().unwrap();
        assert_eq!((&buf[..got.len], got.truncated), (&b"three"[..], false));
        let got = server.recv(&mut buf).await.unwrap().unwrap();
        assert_eq!((&buf[..got.len], got.truncated), (&b"a longer"[..], true));
        let got = server.recv(&mut buf).await.unwrap().unwrap();
        assert_eq!((got.len, got.truncated), (0, false));
        drop(client);
        assert_eq!(server.recv_vec().await.unwrap(), None);
        assert_eq!(server.recv(&mut buf).await.unwrap(), None);
    })
    .await;
}

/// A receive waits for the message (no busy `None`), and a send to a vanished peer is
/// `BrokenPipe` (no `SIGPIPE`).
#[tokio::test(flavor = "current_thread")]
async fn recv_waits_and_send_to_a_closed_peer_is_broken_pipe() {
    bounded(async {
        let dir = TestDir::new("tmsg-wait");
        let (_l, client, server) = pair(&dir, "wait").await;
        let sender = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            client.send(b"late").await.unwrap();
            client
        });
        assert_eq!(server.recv_vec().await.unwrap().unwrap(), b"late");
        let client = sender.await.unwrap();
        drop(server);
        let mut kinds = Vec::new();
        for _ in 0..3 {
            match client.send(b"x").await {
                Ok(()) => kinds.push(None),
                Err(e) => kinds.push(Some(e.kind())),
            }
        }
        assert_eq!(
            kinds.last(),
            Some(&Some(ErrorKind::BrokenPipe)),
            "{kinds:?}"
        );
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn size_limits_as_the_sync_type() {
    bounded(async {
        let dir = TestDir::new("tmsg-max");
        let name = any_name(&dir, "max");
        let listener = MessageListener::bind(name.as_str()).unwrap();
        assert_eq!(listener.max_message_size(), sync::DEFAULT_MAX_MESSAGE_SIZE);
        listener.set_max_message_size(1000);
        let client = MessageStream::connect(name.as_str()).await.unwrap();
        let server = listener.accept().await.unwrap();
        assert_eq!(server.max_message_size(), 1000);
        assert_eq!(client.max_message_size(), sync::DEFAULT_MAX_MESSAGE_SIZE);
        assert_err(
            server.send(&[0; 1001]).await.unwrap_err(),
            ErrorKind::InvalidInput,
            "1001 bytes",
        );
        client.send(&[1; 1001]).await.unwrap();
        client.send(b"after").await.unwrap();
        assert_err(
            server.recv_vec().await.unwrap_err(),
            ErrorKind::InvalidData,
            "1000-byte limit",
        );
        if FRAMED {
            // Out of step for good, as the sync framing.
            let e = server.recv_vec().await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidData);
        } else {
            // Discarded whole: the next message is intact.
            assert_eq!(server.recv_vec().await.unwrap().unwrap(), b"after");
        }
        client.set_max_message_size(10);
        assert_eq!(client.max_message_size(), 10);
        assert_eq!(
            client.send(&[0; 11]).await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn connect_errors_timeout_peer_creds_and_names() {
    bounded(async {
        let dir = TestDir::new("tmsg-conn");
        let name = any_name(&dir, "conn");
        let err = MessageStream::connect(name.as_str()).await.unwrap_err();
        assert!(
            err.to_string().contains(name.trim_start_matches('@')),
            "{err}"
        );
        let server = tokio::spawn({
            let name = name.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let l = MessageListener::bind(name.as_str()).unwrap();
                let conn = l.accept().await.unwrap();
                conn.send(b"ready").await.unwrap();
                (l, conn)
            }
        });
        let client = MessageStream::connect_with(
            name.as_str(),
            ConnectOptions::new().timeout(Duration::from_secs(10)),
        )
        .await
        .unwrap();
        assert_eq!(client.recv_vec().await.unwrap().unwrap(), b"ready");
        let (l, conn) = server.await.unwrap();
        assert!(l.local_name().to_string().contains("conn"));
        for creds in [client.peer_creds().unwrap(), conn.peer_creds().unwrap()] {
            assert_eq!(creds.pid(), Some(std::process::id()));
        }
        // A byte-stream listener is not a message listener.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if !FRAMED {
            let name = any_name(&dir, "stream");
            let _l = localipc::local_socket::LocalSocketListener::bind(name.as_str()).unwrap();
            assert!(MessageStream::connect(name.as_str()).await.is_err());
        }
    })
    .await;
}

/// Outside a runtime: an error naming what was attempted, not tokio's panic.
#[test]
fn outside_a_runtime_is_an_error() {
    let dir = TestDir::new("tmsg-nort");
    let name = any_name(&dir, "nort");
    let err = MessageListener::bind(name.as_str()).unwrap_err();
    assert!(err.to_string().contains("tokio runtime"), "{err}");
    let l = sync::MessageListener::bind(name.as_str()).unwrap();
    let err = MessageListener::try_from(l).unwrap_err();
    assert!(err.to_string().contains("tokio runtime"), "{err}");
}

/// The sync types convert, keeping the limit, the socket file and what is queued.
#[tokio::test(flavor = "current_thread")]
async fn conversions_from_the_sync_types() {
    bounded(async {
        let dir = TestDir::new("tmsg-conv");
        let name = any_name(&dir, "conv");
        let l = sync::MessageListener::bind(name.as_str()).unwrap();
        l.set_max_message_size(500);
        let sync_client = sync::MessageStream::connect(name.as_str()).unwrap();
        sync_client.send(b"before").unwrap();
        let l = MessageListener::try_from(l).unwrap();
        assert_eq!(l.max_message_size(), 500);
        let server = l.accept().await.unwrap();
        assert_eq!(server.max_message_size(), 500);
        assert_eq!(server.recv_vec().await.unwrap().unwrap(), b"before");
        let client = MessageStream::try_from(sync_client).unwrap();
        client.send(b"after").await.unwrap();
        server.send(b"back").await.unwrap();
        assert_eq!(server.recv_vec().await.unwrap().unwrap(), b"after");
        assert_eq!(client.recv_vec().await.unwrap().unwrap(), b"back");
    })
    .await;
}

/// Receives raced against a zero timer (`util::race`: polled once, or until a zero timeout
/// fires, then dropped unless it completed) while a task sends 10,000 messages: every message arrives exactly once, in
/// order, byte for byte, through both `recv_vec` and `recv`.
#[tokio::test(flavor = "current_thread")]
async fn cancelled_receives_lose_and_duplicate_nothing() {
    bounded(async {
        let dir = TestDir::new("tmsg-crecv");
        let (_l, client, server) = pair(&dir, "crecv").await;
        let sender = tokio::spawn(async move {
            for i in 0..RACES {
                client.send(&message(i)).await.unwrap();
                if i % 3 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        });
        let (mut next, mut races, mut dropped) = (0, 0, 0);
        let mut buf = vec![0; 64 * 1024];
        while next < RACES {
            races += 1;
            let got = if races % 4 < 2 {
                race(races, server.recv_vec()).await
            } else {
                race(races, server.recv(&mut buf))
                    .await
                    .map(|r| r.map(|o| o.map(|got| buf[..got.len].to_vec())))
            };
            match got {
                None => {
                    dropped += 1;
                    tokio::task::yield_now().await;
                }
                Some(r) => {
                    let m = r.unwrap().expect("a message, not the end");
                    match check(&m) {
                        None => assert_eq!(next % 7, 0, "an empty message where {next} was due"),
                        Some(i) => assert_eq!(i, next, "message {i} where {next} was due"),
                    }
                    next += 1;
                }
            }
        }
        sender.await.unwrap();
        eprintln!("receives: {races} raced, {dropped} dropped");
        assert!(
            dropped > 0,
            "no receive was ever cancelled: the race did not happen"
        );
        assert!(races >= RACES);
        assert_eq!(server.recv_vec().await.unwrap(), None);
    })
    .await;
}

/// Sends raced against a zero timer while a slower task receives: 10,000 messages.
/// `SOCK_SEQPACKET`: a cancelled send sent nothing and is retried, so the receiver gets
/// every message exactly once, in order. Framing and Windows: a send cancelled after its
/// frame (write) started has sent its message, so it is not retried; the receiver gets every message whose send
/// completed, some of the cancelled ones, none twice, in order, every frame whole.
#[tokio::test(flavor = "current_thread")]
async fn cancelled_sends_lose_and_duplicate_nothing() {
    bounded(async {
        let dir = TestDir::new("tmsg-csend");
        let (_l, client, server) = pair(&dir, "csend").await;
        let receiver = tokio::spawn(async move {
            let mut got = Vec::new();
            let mut n = 0usize;
            while let Some(m) = server.recv_vec().await.unwrap() {
                got.push(check(&m));
                n += 1;
                if n % 4 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            got
        });
        let (mut completed, mut dropped) = (Vec::new(), 0);
        let mut i = 0;
        let mut races = 0;
        while i < RACES {
            races += 1;
            match race(races, client.send(&message(i))).await {
                Some(r) => {
                    r.unwrap();
                    completed.push(i);
                    i += 1;
                }
                None => {
                    dropped += 1;
                    if !SEND_CANCEL_SAFE {
                        i += 1; // may have been sent: never send it twice
                    }
                    tokio::task::yield_now().await;
                }
            }
        }
        // Framing: a send flushes what a cancelled one left, so the last frame is whole.
        client.send(&message(RACES)).await.unwrap();
        completed.push(RACES);
        drop(client);
        let got = receiver.await.unwrap();
        eprintln!(
            "sends: {races} raced, {dropped} dropped, {} completed",
            completed.len()
        );
        assert!(
            dropped > 0,
            "no send was ever cancelled: the race did not happen"
        );
        assert!(races >= RACES);
        if !SEND_CANCEL_SAFE {
            // Non-empty messages name themselves: strictly increasing, and every completed
            // one is there.
            let named: Vec<usize> = got.iter().flatten().copied().collect();
            assert!(
                named.windows(2).all(|w| w[0] < w[1]),
                "out of order or twice"
            );
            for i in completed.iter().filter(|&&i| i % 7 != 0) {
                assert!(named.binary_search(i).is_ok(), "message {i} was lost");
            }
        } else {
            assert_eq!(got.len(), RACES + 1, "{dropped} cancelled sends");
            for (k, m) in got.iter().enumerate() {
                assert_eq!(*m, (k % 7 != 0).then_some(k), "at {k}");
            }
        }
    })
    .await;
}

/// Accepts raced against a zero timer while a task connects 1,000 clients (300 under Wine): each client
/// is accepted exactly once (it sends its index; the server reads it from the accepted
/// stream), and at least 10,000 accept futures were dropped or completed.
#[tokio::test(flavor = "current_thread")]
async fn cancelled_accepts_lose_no_client() {
    bounded(async {
        // Fewer under Wine, where each connection costs more.
        const CLIENTS: usize = if cfg!(windows) { 300 } else { 1000 };
        let dir = TestDir::new("tmsg-cacc");
        let name = any_name(&dir, "cacc");
        let listener = MessageListener::bind(name.as_str()).unwrap();
        let connector = tokio::spawn(async move {
            let mut clients = Vec::new();
            for i in 0..CLIENTS {
                let c = MessageStream::connect(name.as_str()).await.unwrap();
                c.send(&u32::try_from(i).unwrap().to_le_bytes())
                    .await
                    .unwrap();
                clients.push(c);
                for _ in 0..(i % 20) {
                    tokio::task::yield_now().await;
                }
            }
            clients
        });
        let (mut seen, mut races, mut dropped) = (vec![false; CLIENTS], 0, 0);
        let mut accepted = 0;
        while accepted < CLIENTS || races < RACES {
            races += 1;
            let conn = if accepted < CLIENTS {
                match race(races, listener.accept()).await {
                    Some(r) => r.unwrap(),
                    None => {
                        dropped += 1;
                        tokio::task::yield_now().await;
                        continue;
                    }
                }
            } else {
                // Every client is in: the rest of the races must all come up empty.
                assert!(race(races, listener.accept()).await.is_none());
                continue;
            };
            let m = conn.recv_vec().await.unwrap().unwrap();
            let i = u32::from_le_bytes(m[..].try_into().unwrap()) as usize;
            assert!(!seen[i], "client {i} accepted twice");
            seen[i] = true;
            accepted += 1;
        }
        let clients = connector.await.unwrap();
        assert_eq!(clients.len(), CLIENTS);
        assert!(seen.iter().all(|&s| s));
        eprintln!("accepts: {races} raced, {dropped} dropped");
        assert!(
            dropped > 0,
            "no accept was ever cancelled: the race did not happen"
        );
    })
    .await;
}

/// A stream dropped while a receive of a dropped future is in flight closes its end: the
/// peer reads the end (Windows: within the 100 ms the pool thread's read waits at a time).
#[tokio::test(flavor = "current_thread")]
async fn a_stream_dropped_with_a_receive_in_flight_closes() {
    bounded(async {
        let dir = TestDir::new("tmsg-dropin");
        let (_l, client, server) = pair(&dir, "dropin").await;
        assert!(race(0, server.recv_vec()).await.is_none());
        drop(server);
        assert_eq!(client.recv_vec().await.unwrap(), None);
    })
    .await;
}
