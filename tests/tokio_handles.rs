//! Handle passing on the async stream (`local_socket::tokio::LocalSocketStream::
//! {send_with_handles, recv_with_handles}`, feature `tokio`, Unix and Windows): the sync
//! call's rules, interop with the sync stream both ways, plain reads inside a record, and
//! cancel safety (each call raced against a zero timer [`RACES`] times: every handle
//! arrives exactly once, with its bytes, and none leaks).
//!
//! Which handle arrived is checked by what it reads: each record carries the read end of a
//! fresh pipe holding the record's index.
#![cfg(all(feature = "tokio", any(unix, windows)))]

mod util;

use localipc::handle::{BorrowedHandle, OwnedHandle};
use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
use localipc::local_socket::{LocalSocketStream as SyncStream, MAX_HANDLES};
use std::io::{ErrorKind, Read, Write};
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use util::race::race;
use util::{any_name, assert_err, peer_role, Peer, TestDir};

/// How many futures each cancel race drops or completes (at least). (Under Wine the three
/// race tests take about 20 s together.)
const RACES: usize = 10_000;

/// The bound on one test body: a hang fails in seconds.
const BOUND: Duration = Duration::from_secs(if cfg!(windows) { 60 } else { 20 });

/// The tests count this process's descriptors or handles: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `f` on a current-thread runtime of its own, one test at a time (the runtime's own
/// descriptors are counted before and after, so it must exist only while the lock is
/// held), under [`BOUND`].
fn run<F: std::future::Future>(f: F) -> F::Output {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::time::timeout(BOUND, f)
            .await
            .expect("test body timed out")
    })
}

/// A connected pair, the server accepting before the client connects (so that `connect`
/// finds a waiting instance at once and needs no blocking-pool thread, whose handle tokio
/// would keep: the leak checks count handles).
async fn pair(dir: &TestDir, tag: &str) -> (LocalSocketStream, LocalSocketStream) {
    let name = any_name(dir, tag);
    let listener = LocalSocketListener::bind(name.as_str()).unwrap();
    let server = tokio::spawn(async move { listener.accept().await.unwrap() });
    tokio::task::yield_now().await;
    let client = LocalSocketStream::connect(name.as_str()).await.unwrap();
    (client, server.await.unwrap())
}

/// A tokio server and a sync client on one name.
async fn sync_pair(dir: &TestDir, tag: &str) -> (SyncStream, LocalSocketStream) {
    let name = any_name(dir, tag);
    let listener = LocalSocketListener::bind(name.as_str()).unwrap();
    let client = on_thread(move || SyncStream::connect(name.as_str()).unwrap());
    let server = listener.accept().await.unwrap();
    (client.await, server)
}

/// Runs `f` on a thread of its own (not tokio's blocking pool, which keeps its threads'
/// handles: the leak checks count handles), joined once it is done.
fn on_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> impl std::future::Future<Output = T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let thread = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    async move {
        let got = rx.await;
        match thread.join() {
            Ok(()) => got.unwrap(),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

#[cfg(unix)]
fn borrow(h: &impl std::os::fd::AsFd) -> BorrowedHandle<'_> {
    h.as_fd()
}
#[cfg(windows)]
fn borrow(h: &impl std::os::windows::io::AsHandle) -> BorrowedHandle<'_> {
    h.as_handle()
}

/// The read end of a fresh pipe that holds `tag`.
fn tagged(tag: u32) -> OwnedHandle {
    let (mut w, r) = localipc::unnamed_pipe::pipe().unwrap();
    w.write_all(&tag.to_le_bytes()).unwrap();
    OwnedHandle::from(r)
}

/// What a received [`tagged`] pipe end holds.
fn tag(h: OwnedHandle) -> u32 {
    let mut b = [0; 4];
    std::fs::File::from(h).read_exact(&mut b).unwrap();
    u32::from_le_bytes(b)
}

fn index(i: usize) -> [u8; 4] {
    u32::try_from(i).unwrap().to_le_bytes()
}

#[cfg(any(target_os = "linux", target_os = "android", windows))]
fn open_handles() -> usize {
    util::handles::open_handles()
}
#[cfg(not(any(target_os = "linux", target_os = "android", windows)))]
fn open_handles() -> usize {
    0
}

/// This process's open handles, once the per-thread ones that the checks make on first use
/// exist (Windows: the event of the unnamed pipe's overlapped write, `tagged`), and once the
/// count has settled: the test harness starts the thread of the next test (which then waits
/// for `SERIAL`) as this one starts, and on Windows that thread's handle is counted too. So
/// the count is taken once it has stayed the same for 100 ms (at most 2 s).
fn handles_before() -> usize {
    assert_eq!(tag(tagged(0)), 0);
    let mut count = open_handles();
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(100));
        let now = open_handles();
        if now == count {
            break;
        }
        count = now;
    }
    count
}

/// Asserts that as many handles are open as `before`, after letting the runtime close what
/// was dropped (Windows: tokio closes a dropped pipe only once its I/O driver has collected
/// the cancelled read), waiting at most 5 s, and not at all for more than a few (counting
/// many is slow under Wine).
async fn assert_no_leak(before: usize) {
    let until = std::time::Instant::now() + Duration::from_secs(5);
    let mut now = open_handles();
    while now != before && now <= before + 8 && std::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
        now = open_handles();
    }
    assert_eq!(now, before, "handles leaked");
}

#[test]
fn handles_and_bytes_arrive_together_and_mix_with_plain_io() {
    run(async {
        let dir = TestDir::new("th-basic");
        let (mut client, mut server) = pair(&dir, "basic").await;
        client.write_all(b"plain ").await.unwrap();
        let (w, r) = localipc::unnamed_pipe::pipe().unwrap();
        let (r, w) = (OwnedHandle::from(r), OwnedHandle::from(w));
        let n = client
            .send_with_handles(b"two", &[borrow(&r), borrow(&w)])
            .await
            .unwrap();
        assert_eq!(n, 3);
        let mut plain = [0; 6];
        server.read_exact(&mut plain).await.unwrap();
        assert_eq!(&plain, b"plain ");
        let mut buf = [0; 16];
        let mut got = Vec::with_capacity(2);
        let n = server.recv_with_handles(&mut buf, &mut got).await.unwrap();
        assert_eq!((&buf[..n], got.len()), (&b"two"[..], 2));
        // The received write end writes into the pipe whose read end we kept, and the
        // received read end reads from the pipe whose write end we kept.
        std::fs::File::from(got.pop().unwrap())
            .write_all(b"via")
            .unwrap();
        let mut via = [0; 3];
        std::fs::File::from(r).read_exact(&mut via).unwrap();
        assert_eq!(&via, b"via");
        std::fs::File::from(w).write_all(b"back").unwrap();
        let mut back = [0; 4];
        std::fs::File::from(got.pop().unwrap())
            .read_exact(&mut back)
            .unwrap();
        assert_eq!(&back, b"back");
        // Without handles it sends the bytes only; end of file is 0.
        assert_eq!(client.send_with_handles(b"x", &[]).await.unwrap(), 1);
        drop(client);
        let mut none = Vec::new();
        assert_eq!(
            server.recv_with_handles(&mut buf, &mut none).await.unwrap(),
            1
        );
        assert_eq!(
            server.recv_with_handles(&mut buf, &mut none).await.unwrap(),
            0
        );
        assert!(none.is_empty());
    });
}

/// Between two processes, both on tokio: the parent's handle is pulled by the child (on
/// Windows with `OpenProcess` and `DuplicateHandle` from the parent), and the child's comes
/// back the same way; nothing is left open in the parent.
#[test]
fn handles_pass_between_processes_both_ways() {
    if let Some((_, name)) = peer_role() {
        run(async {
            let conn = LocalSocketStream::connect(name.as_str()).await.unwrap();
            let mut buf = [0; 8];
            let mut got = Vec::with_capacity(1);
            let n = conn.recv_with_handles(&mut buf, &mut got).await.unwrap();
            assert_eq!((&buf[..n], got.len()), (&b"to child"[..], 1));
            let back = tagged(tag(got.pop().unwrap()) + 1);
            let n = conn.send_with_handles(b"to parent", &[borrow(&back)]).await;
            assert_eq!(n.unwrap(), 9);
            // Stay alive (the parent pulls from this process) until the parent is done.
            let mut rest = Vec::new();
            let _ = (&conn).read_to_end(&mut rest).await;
        });
        return;
    }
    run(async {
        let dir = TestDir::new("th-procs");
        let name = any_name(&dir, "procs");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let before = handles_before();
        let mut child = Peer::spawn("handles_pass_between_processes_both_ways", "child", &name);
        let conn = listener.accept().await.unwrap();
        let out = tagged(41);
        let n = conn.send_with_handles(b"to child", &[borrow(&out)]).await;
        assert_eq!(n.unwrap(), 8);
        drop(out); // the child has its own (on Windows: once it pulled the duplicate)
        let mut buf = [0; 16];
        let mut got = Vec::with_capacity(1);
        let n = conn.recv_with_handles(&mut buf, &mut got).await.unwrap();
        assert_eq!((&buf[..n], got.len()), (&b"to parent"[..], 1));
        assert_eq!(tag(got.pop().unwrap()), 42);
        // End of file for the child now (Windows: a dropped tokio pipe closes only once the
        // runtime runs again, and `wait` below blocks it).
        let mut conn = conn;
        conn.shutdown().await.unwrap();
        assert!(child.wait().success(), "child failed");
        drop((child, conn));
        assert_no_leak(before).await;
    });
}

/// Argument errors come at once (no waiting for readiness), as the sync call's; more
/// handles than room is `InvalidData` with every one closed.
#[test]
fn argument_errors_and_too_many_handles() {
    run(async {
        let dir = TestDir::new("th-err");
        let (client, server) = pair(&dir, "err").await;
        let r = tagged(7);
        assert_err(
            client
                .send_with_handles(b"", &[borrow(&r)])
                .await
                .unwrap_err(),
            ErrorKind::InvalidInput,
            "without data",
        );
        let many = vec![borrow(&r); MAX_HANDLES + 1];
        assert_err(
            client.send_with_handles(b"x", &many).await.unwrap_err(),
            ErrorKind::InvalidInput,
            "limit",
        );
        // Nothing to read yet: an empty buffer still fails at once rather than waiting.
        assert_err(
            server
                .recv_with_handles(&mut [], &mut Vec::new())
                .await
                .unwrap_err(),
            ErrorKind::InvalidInput,
            "empty buffer",
        );
        let before = handles_before();
        client
            .send_with_handles(b"3", &[borrow(&r), borrow(&r), borrow(&r)])
            .await
            .unwrap();
        let mut got = Vec::with_capacity(1);
        let err = server
            .recv_with_handles(&mut [0; 4], &mut got)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
        assert!(got.is_empty());
        assert_no_leak(before).await;
        // The stream goes on: the next record arrives whole with its handle.
        client
            .send_with_handles(b"next", &[borrow(&r)])
            .await
            .unwrap();
        let mut buf = [0; 4];
        let n = server.recv_with_handles(&mut buf, &mut got).await.unwrap();
        assert_eq!((&buf[..n], got.len()), (&b"next"[..], 1));
        assert_eq!(tag(got.pop().unwrap()), 7);
    });
}

/// A plain read inside a record (its first bytes taken with `recv_with_handles`) takes
/// that record's data (Windows: only that, given room for more, not the next record's
/// head), and the next record still arrives with its handle.
#[test]
fn plain_read_inside_a_record_reads_its_rest() {
    run(async {
        let dir = TestDir::new("th-rest");
        let (client, mut server) = pair(&dir, "rest").await;
        let (one, two) = (tagged(1), tagged(2));
        client
            .send_with_handles(b"abcdef", &[borrow(&one)])
            .await
            .unwrap();
        client
            .send_with_handles(b"gh", &[borrow(&two)])
            .await
            .unwrap();
        let mut got = Vec::with_capacity(1);
        let mut buf = [0; 2];
        let n = server.recv_with_handles(&mut buf, &mut got).await.unwrap();
        assert_eq!((&buf[..n], got.len()), (&b"ab"[..], 1));
        assert_eq!(tag(got.pop().unwrap()), 1);
        let mut rest = Vec::new();
        while rest.len() < 4 {
            // Windows: more room than the record has left; Unix: plain reads may run into
            // the next send's bytes (closing its descriptors), so ask for the rest only.
            let mut chunk = [0; 64];
            let room = if cfg!(windows) { 64 } else { 4 - rest.len() };
            let n = server.read(&mut chunk[..room]).await.unwrap();
            assert!(n > 0, "end of file inside a record");
            rest.extend_from_slice(&chunk[..n]);
            #[cfg(windows)]
            assert!(
                rest.len() <= 4,
                "a plain read went past its record: {rest:?}"
            );
        }
        assert_eq!(rest, b"cdef");
        let mut buf = [0; 16];
        let mut got = Vec::with_capacity(1);
        let n = server.recv_with_handles(&mut buf, &mut got).await.unwrap();
        assert_eq!((&buf[..n], got.len()), (&b"gh"[..], 1));
        assert_eq!(tag(got.pop().unwrap()), 2);
    });
}

/// Records sent by the sync stream arrive through the tokio stream, and the other way;
/// each record is received in pieces (3 bytes a call), its handle with the first piece.
#[test]
fn sync_and_tokio_ends_exchange_handles_both_ways() {
    const N: usize = 200;
    run(async {
        let dir = TestDir::new("th-interop");
        let before = handles_before();
        let (sync_end, tokio_end) = sync_pair(&dir, "interop").await;
        let record = |i: usize| {
            let mut r = index(i).to_vec();
            r.extend_from_slice(b"-payload");
            r
        };
        // sync -> tokio
        let sender = on_thread(move || {
            for i in 0..N {
                let h = tagged(u32::try_from(i).unwrap());
                let n = sync_end.send_with_handles(&record(i), &[borrow(&h)]);
                assert_eq!(n.unwrap(), 12);
            }
            sync_end
        });
        for i in 0..N {
            let mut bytes = Vec::new();
            while bytes.len() < 12 {
                let mut buf = [0; 3];
                let mut got = Vec::with_capacity(1);
                let n = tokio_end
                    .recv_with_handles(&mut buf, &mut got)
                    .await
                    .unwrap();
                assert!(n > 0, "end of file in record {i}");
                assert_eq!(got.len(), usize::from(bytes.is_empty()), "record {i}");
                if let Some(h) = got.pop() {
                    assert_eq!(tag(h) as usize, i, "record {i} got another pipe");
                }
                bytes.extend_from_slice(&buf[..n]);
            }
            assert_eq!(bytes, record(i));
        }
        let sync_end = sender.await;
        // tokio -> sync
        let receiver = on_thread(move || {
            for i in 0..N {
                let mut bytes = Vec::new();
                while bytes.len() < 12 {
                    let mut buf = [0; 3];
                    let mut got = Vec::with_capacity(1);
                    let n = sync_end.recv_with_handles(&mut buf, &mut got).unwrap();
                    assert!(n > 0, "end of file in record {i}");
                    assert_eq!(got.len(), usize::from(bytes.is_empty()), "record {i}");
                    if let Some(h) = got.pop() {
                        assert_eq!(tag(h) as usize, i, "record {i} got another pipe");
                    }
                    bytes.extend_from_slice(&buf[..n]);
                }
                assert_eq!(bytes, record(i));
            }
            sync_end
        });
        for i in 0..N {
            let h = tagged(u32::try_from(i).unwrap());
            let n = tokio_end.send_with_handles(&record(i), &[borrow(&h)]).await;
            assert_eq!(n.unwrap(), 12);
        }
        let sync_end = receiver.await;
        drop((sync_end, tokio_end));
        assert_no_leak(before).await;
    });
}

/// Receives raced against a zero timer while records of 4 bytes (the index) and one pipe
/// end each are sent: every record's bytes and handle arrive exactly once, in order, the
/// handle the one sent with them; no handle is left open afterwards.
type Sender = std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;

async fn cancelled_receives(dir: &TestDir, tag_: &str, sync_sender: bool) {
    let before = handles_before();
    let (sender, server) = if sync_sender {
        let (client, server) = sync_pair(dir, tag_).await;
        // The sync stream on a thread of its own, sending as fast as it can (Windows: the
        // head and the data in two writes, so the receiver often finds the head alone).
        let sender = on_thread(move || {
            for i in 0..RACES {
                let h = tagged(u32::try_from(i).unwrap());
                assert_eq!(
                    client.send_with_handles(&index(i), &[borrow(&h)]).unwrap(),
                    4
                );
            }
            drop(client);
        });
        let sender: Sender = Box::pin(sender);
        (sender, server)
    } else {
        let (client, server) = pair(dir, tag_).await;
        let sender = tokio::spawn(async move {
            for i in 0..RACES {
                let h = tagged(u32::try_from(i).unwrap());
                let n = client.send_with_handles(&index(i), &[borrow(&h)]).await;
                assert_eq!(n.unwrap(), 4);
                if i % 3 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            drop(client);
        });
        let sender: Sender = Box::pin(async move { sender.await.unwrap() });
        (sender, server)
    };
    let (mut bytes, mut handles) = (Vec::new(), Vec::new());
    let (mut races, mut dropped) = (0, 0);
    let mut buf = [0; 4];
    while handles.len() < RACES || bytes.len() < 4 * RACES {
        races += 1;
        let mut got = Vec::with_capacity(1);
        match race(races, server.recv_with_handles(&mut buf, &mut got)).await {
            None => {
                assert!(got.is_empty(), "a dropped receive took a handle");
                dropped += 1;
                tokio::task::yield_now().await;
            }
            Some(r) => {
                let n = r.unwrap();
                assert!(n > 0, "end of file before every record arrived");
                if let Some(h) = got.pop() {
                    handles.push((bytes.len()..bytes.len() + n, tag(h)));
                }
                bytes.extend_from_slice(&buf[..n]);
            }
        }
    }
    sender.await;
    for (k, chunk) in bytes.chunks(4).enumerate() {
        assert_eq!(u32::from_le_bytes(chunk.try_into().unwrap()) as usize, k);
    }
    assert_eq!(handles.len(), RACES, "handles lost or duplicated");
    for (k, (read, t)) in handles.iter().enumerate() {
        assert!(
            read.contains(&(4 * k)),
            "record {k}'s handle came with bytes {read:?}"
        );
        assert_eq!(*t as usize, k, "record {k} got another pipe");
    }
    eprintln!("receives ({tag_}): {races} raced, {dropped} dropped");
    assert!(
        dropped > 0,
        "no receive was ever cancelled: the race did not happen"
    );
    drop(server);
    assert_no_leak(before).await;
}

#[test]
fn cancelled_receives_lose_and_leak_no_handle() {
    run(async {
        let dir = TestDir::new("th-crecv");
        cancelled_receives(&dir, "crecv", false).await;
    });
}

/// The same from a sync sender: on Windows its records come as two writes, so dropped
/// receives often hold a head (and its pulled handles) whose data is still to come.
#[test]
fn cancelled_receives_from_a_sync_sender_lose_and_leak_no_handle() {
    run(async {
        let dir = TestDir::new("th-crecvs");
        cancelled_receives(&dir, "crecvs", true).await;
    });
}

/// Windows: records whose heads arrive a few bytes at a time (written with plain writes of 3
/// bytes, each a pipe message of its own: a record without handles, forged) while receives
/// are raced against a zero timer. A receive dropped inside a head keeps what it read of it,
/// so every record's data arrives, in order, and none is misread as a malformed head.
#[cfg(windows)]
#[test]
fn heads_arriving_in_pieces_survive_cancelled_receives() {
    const RECORDS: usize = 2_000;
    run(async {
        let dir = TestDir::new("th-pieces");
        let (mut client, server) = pair(&dir, "pieces").await;
        let writer = tokio::spawn(async move {
            for i in 0..RECORDS {
                // Tag, version 2, flags 0, no handles, 4 bytes of data, no sender pid.
                let mut record = b"LIPH\x02\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00".to_vec();
                record.extend_from_slice(&index(i));
                for piece in record.chunks(3) {
                    client.write_all(piece).await.unwrap();
                    tokio::task::yield_now().await;
                }
            }
            // End of file after the last record: a receiver out of step fails rather than
            // waits.
            client.shutdown().await.unwrap();
            client
        });
        let mut bytes = Vec::new();
        let (mut races, mut dropped) = (0, 0);
        let mut buf = [0; 4];
        while bytes.len() < 4 * RECORDS {
            races += 1;
            let mut got = Vec::new();
            match race(races, server.recv_with_handles(&mut buf, &mut got)).await {
                None => dropped += 1,
                Some(r) => {
                    let n = r.unwrap();
                    assert!(n > 0, "end of file before every record arrived");
                    bytes.extend_from_slice(&buf[..n]);
                }
            }
        }
        drop(writer.await.unwrap());
        for (k, chunk) in bytes.chunks(4).enumerate() {
            assert_eq!(u32::from_le_bytes(chunk.try_into().unwrap()) as usize, k);
        }
        eprintln!("pieces: {races} raced, {dropped} dropped");
        assert!(dropped > 0, "no receive was ever cancelled");
    });
}

/// Sends raced against a zero timer while a slower task receives: a dropped send sent
/// nothing, so it is retried, and every record arrives exactly once with its handle;
/// nothing leaks (Windows: a dropped send made no duplicates, or took them back).
#[test]
fn cancelled_sends_lose_duplicate_and_leak_nothing() {
    run(async {
        let dir = TestDir::new("th-csend");
        let before = handles_before();
        let (client, server) = pair(&dir, "csend").await;
        let receiver = tokio::spawn(async move {
            let (mut bytes, mut handles) = (Vec::new(), Vec::new());
            let mut buf = [0; 4096];
            let mut calls = 0usize;
            loop {
                let mut got = Vec::with_capacity(1);
                let n = server.recv_with_handles(&mut buf, &mut got).await.unwrap();
                if n == 0 {
                    break;
                }
                if let Some(h) = got.pop() {
                    handles.push((bytes.len()..bytes.len() + n, tag(h)));
                }
                bytes.extend_from_slice(&buf[..n]);
                calls += 1;
                if calls % 2 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            (bytes, handles)
        });
        let (mut races, mut dropped) = (0, 0);
        // Big records, so that the socket buffer fills and sends have to wait.
        let pad = vec![0xa5; 2048];
        for i in 0..RACES {
            let h = tagged(u32::try_from(i).unwrap());
            let mut record = index(i).to_vec();
            record.extend_from_slice(&pad);
            let mut off = 0;
            let mut first = true;
            while off < record.len() {
                races += 1;
                let hs = if first { vec![borrow(&h)] } else { Vec::new() };
                match race(races, client.send_with_handles(&record[off..], &hs)).await {
                    Some(r) => {
                        off += r.unwrap();
                        first = false;
                    }
                    None => {
                        dropped += 1;
                        tokio::task::yield_now().await;
                    }
                }
            }
        }
        drop(client);
        let (bytes, handles) = receiver.await.unwrap();
        let rec = 4 + pad.len();
        assert_eq!(bytes.len(), RACES * rec, "bytes lost or duplicated");
        for (k, chunk) in bytes.chunks(rec).enumerate() {
            assert_eq!(
                u32::from_le_bytes(chunk[..4].try_into().unwrap()) as usize,
                k
            );
            assert!(chunk[4..] == pad[..]);
        }
        assert_eq!(handles.len(), RACES, "handles lost or duplicated");
        for (k, (read, t)) in handles.iter().enumerate() {
            // A handle comes with the bytes its send sent: the start of its record.
            assert!(
                read.contains(&(k * rec)),
                "record {k}'s handle came with bytes {read:?}"
            );
            assert_eq!(*t as usize, k, "record {k} got another pipe");
        }
        eprintln!("sends: {races} raced, {dropped} dropped");
        assert!(
            dropped > 0,
            "no send was ever cancelled: the race did not happen"
        );
        assert_no_leak(before).await;
    });
}
