//! Handle passing on the async stream (`local_socket::tokio::LocalSocketStream::
//! {send_with_handles, recv_with_handles}`, feature `tokio`, Unix): the sync call's rules,
//! and cancel safety (each call raced against a zero timer 10,000 times: every handle
//! arrives exactly once, with its bytes, and none leaks).
#![cfg(all(feature = "tokio", unix))]

mod util;

use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
use localipc::local_socket::MAX_HANDLES;
use std::io::ErrorKind;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use util::race::race;
use util::{any_name, assert_err, TestDir};

/// How many futures each cancel race drops or completes (at least).
const RACES: usize = 10_000;

/// The tests count this process's descriptors: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `f` on a current-thread runtime of its own, one test at a time (the runtime's own
/// descriptors are counted before and after, so it must exist only while the lock is
/// held), under a bound: a hang fails in seconds.
fn run<F: std::future::Future>(f: F) -> F::Output {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), f)
            .await
            .expect("test body timed out")
    })
}

async fn pair(dir: &TestDir, tag: &str) -> (LocalSocketStream, LocalSocketStream) {
    let name = any_name(dir, tag);
    let listener = LocalSocketListener::bind(name.as_str()).unwrap();
    let client = LocalSocketStream::connect(name.as_str()).await.unwrap();
    let server = listener.accept().await.unwrap();
    (client, server)
}

/// The inode of an open descriptor (`fstat`): which pipe a received descriptor is.
fn inode(fd: &OwnedFd) -> u64 {
    std::fs::File::from(fd.try_clone().unwrap())
        .metadata()
        .unwrap()
        .ino()
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn open_fds() -> usize {
    util::handles::open_handles()
}
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn open_fds() -> usize {
    0
}

#[test]
fn handles_and_bytes_arrive_together_and_mix_with_plain_io() {
    run(async {
        let dir = TestDir::new("th-basic");
        let (mut client, mut server) = pair(&dir, "basic").await;
        client.write_all(b"plain ").await.unwrap();
        let (r, w) = std::io::pipe().unwrap();
        let (r, w) = (OwnedFd::from(r), OwnedFd::from(w));
        let n = client
            .send_with_handles(b"two", &[r.as_fd(), w.as_fd()])
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
        assert_eq!(inode(&got[0]), inode(&r));
        assert_eq!(inode(&got[1]), inode(&w));
        // The received write end writes into the pipe whose read end we kept.
        use std::io::{Read, Write};
        std::fs::File::from(got.pop().unwrap())
            .write_all(b"via")
            .unwrap();
        drop(w);
        let mut via = String::new();
        std::fs::File::from(r).read_to_string(&mut via).unwrap();
        assert_eq!(via, "via");
        // Without handles it is a plain send; end of file is 0.
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

/// Argument errors come at once (no waiting for readiness), as the sync call's; more
/// handles than room is `InvalidData` with every one closed.
#[test]
fn argument_errors_and_too_many_handles() {
    run(async {
        let dir = TestDir::new("th-err");
        let (client, server) = pair(&dir, "err").await;
        let (r, _w) = std::io::pipe().unwrap();
        let r = OwnedFd::from(r);
        assert_err(
            client
                .send_with_handles(b"", &[r.as_fd()])
                .await
                .unwrap_err(),
            ErrorKind::InvalidInput,
            "without data",
        );
        let many = vec![r.as_fd(); MAX_HANDLES + 1];
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
        let before = open_fds();
        client
            .send_with_handles(b"3", &[r.as_fd(), r.as_fd(), r.as_fd()])
            .await
            .unwrap();
        let mut got = Vec::with_capacity(1);
        let err = server
            .recv_with_handles(&mut [0; 4], &mut got)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
        assert!(got.is_empty());
        assert_eq!(open_fds(), before, "a handle leaked");
    });
}

/// Receives raced against a zero timer while a task sends 10,000 records of 4 bytes (the
/// index) and one pipe end each: every record's bytes and handle arrive exactly once, in
/// order, the handle the one sent with them; no descriptor is left open afterwards.
#[test]
fn cancelled_receives_lose_and_leak_no_handle() {
    run(async {
        let dir = TestDir::new("th-crecv");
        let before = open_fds();
        let (client, server) = pair(&dir, "crecv").await;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let sender = tokio::spawn(async move {
            for i in 0..RACES {
                let (r, w) = std::io::pipe().unwrap();
                let r = OwnedFd::from(r);
                let idx = u32::try_from(i).unwrap().to_le_bytes();
                let n = client.send_with_handles(&idx, &[r.as_fd()]).await.unwrap();
                assert_eq!(n, 4);
                tx.send(inode(&r)).unwrap();
                drop((r, w));
                if i % 3 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            client
        });
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
                    if let Some(fd) = got.pop() {
                        handles.push((bytes.len()..bytes.len() + n, inode(&fd)));
                    }
                    bytes.extend_from_slice(&buf[..n]);
                }
            }
        }
        let client = sender.await.unwrap();
        for (k, chunk) in bytes.chunks(4).enumerate() {
            assert_eq!(u32::from_le_bytes(chunk.try_into().unwrap()) as usize, k);
        }
        assert_eq!(handles.len(), RACES, "handles lost or duplicated");
        for (k, (read, ino)) in handles.iter().enumerate() {
            assert!(
                read.contains(&(4 * k)),
                "record {k}'s handle came with bytes {read:?}"
            );
            assert_eq!(
                *ino,
                rx.recv().await.unwrap(),
                "record {k} got another pipe"
            );
        }
        eprintln!("receives: {races} raced, {dropped} dropped");
        assert!(
            dropped > 0,
            "no receive was ever cancelled: the race did not happen"
        );
        drop((client, server, handles));
        assert_eq!(open_fds(), before, "descriptors leaked");
    });
}

/// Sends raced against a zero timer while a slower task receives: a dropped send sent
/// nothing, so it is retried, and every record arrives exactly once with its handle;
/// nothing leaks.
#[test]
fn cancelled_sends_lose_duplicate_and_leak_nothing() {
    run(async {
        let dir = TestDir::new("th-csend");
        let before = open_fds();
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
                if let Some(fd) = got.pop() {
                    handles.push((bytes.len()..bytes.len() + n, inode(&fd)));
                }
                bytes.extend_from_slice(&buf[..n]);
                calls += 1;
                if calls % 2 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            (bytes, handles)
        });
        let (mut sent, mut races, mut dropped) = (Vec::new(), 0, 0);
        // Big records, so that the socket buffer fills and sends have to wait.
        let pad = vec![0xa5; 2048];
        for i in 0..RACES {
            let (r, w) = std::io::pipe().unwrap();
            let r = OwnedFd::from(r);
            let mut record = u32::try_from(i).unwrap().to_le_bytes().to_vec();
            record.extend_from_slice(&pad);
            let mut off = 0;
            let mut first = true;
            while off < record.len() {
                races += 1;
                let fds = if first { vec![r.as_fd()] } else { Vec::new() };
                match race(races, client.send_with_handles(&record[off..], &fds)).await {
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
            sent.push(inode(&r));
            drop((r, w));
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
        for (k, (read, ino)) in handles.iter().enumerate() {
            // A handle comes with the bytes its send sent: the start of its record.
            assert!(
                read.contains(&(k * rec)),
                "record {k}'s handle came with bytes {read:?}"
            );
            assert_eq!(*ino, sent[k], "record {k} got another pipe");
        }
        eprintln!("sends: {races} raced, {dropped} dropped");
        assert!(
            dropped > 0,
            "no send was ever cancelled: the race did not happen"
        );
        drop(handles);
        assert_eq!(open_fds(), before, "descriptors leaked");
    });
}
