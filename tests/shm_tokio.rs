//! `localipc::shm::tokio`: echo through rings small enough to fill, async against sync in both
//! directions (the doorbell), the peer killed mid-transfer, cancelled reads and writes losing
//! nothing, 1,000 connections open at once, and a peer flooding the socket. Linux, Android and
//! Windows (under Wine in CI): there the doorbells are bytes on the named pipe, written by a
//! sync or tokio peer with a nonblocking `WriteFile`, and the peer is killed with
//! `TerminateProcess` (`Child::kill`) rather than `SIGKILL`.
#![cfg(all(
    any(target_os = "linux", target_os = "android", windows),
    feature = "tokio"
))]

mod util;

use localipc::local_socket::tokio::{
    LocalSocketListener as AsyncListener, LocalSocketStream as AsyncStream,
};
use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
use localipc::shm::{tokio::ShmStream, ShmOptions, ShmStream as SyncShm};
use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use util::shm::{fnv, sync_echo_peer, Rng, FNV0};
use util::{bounded, namespaced, peer_role, Peer, LIMIT};

fn name(tag: &str) -> String {
    namespaced(tag).expect("Linux and Windows have namespaced names")
}

fn small() -> ShmOptions {
    let mut o = ShmOptions::new();
    o.capacity(4096);
    o
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A connected async pair in this runtime: (creator, joiner).
async fn async_pair(name: &str, opts: &ShmOptions) -> (ShmStream, ShmStream) {
    let listener = AsyncListener::bind(name).unwrap();
    let (client, server) = tokio::join!(AsyncStream::connect(name), listener.accept());
    let (a, b) = tokio::join!(
        ShmStream::create(client.unwrap(), opts),
        ShmStream::join(server.unwrap())
    );
    (a.unwrap(), b.unwrap())
}

/// Writes `total` bytes of a seeded stream in random sizes; returns its checksum.
async fn send_random(s: &ShmStream, seed: u64, total: usize) -> u64 {
    let mut rng = Rng(seed);
    let mut buf = vec![0; 9000];
    let (mut sent, mut sum) = (0, FNV0);
    while sent < total {
        let n = (1 + rng.below(buf.len())).min(total - sent);
        rng.fill(&mut buf[..n]);
        let mut w = s;
        w.write_all(&buf[..n]).await.unwrap();
        sum = fnv(sum, &buf[..n]);
        sent += n;
    }
    sum
}

/// Reads to end of file; returns the byte count and checksum.
async fn recv_all(s: &ShmStream) -> (usize, u64) {
    let mut buf = vec![0; 7000];
    let (mut got, mut sum) = (0, FNV0);
    loop {
        let mut r = s;
        let n = r.read(&mut buf).await.unwrap();
        if n == 0 {
            return (got, sum);
        }
        sum = fnv(sum, &buf[..n]);
        got += n;
    }
}

/// Both flavours: the handshake of either end (on Windows driven from the blocking pool with
/// `Handle::block_on`, which on a current-thread runtime relies on the runtime's own
/// `block_on` driving the reactor meanwhile) and the doorbells between two tokio ends.
#[test]
fn echo_1_mib_both_ways_through_full_rings() {
    bounded(LIMIT, || echo_1_mib(&runtime()));
}

#[test]
fn echo_1_mib_both_ways_through_full_rings_multi_thread() {
    bounded(LIMIT, || echo_1_mib(&multi_thread()));
}

fn echo_1_mib(rt: &tokio::runtime::Runtime) {
    rt.block_on(async {
        let (a, b) = async_pair(&name("shmt-echo"), &small()).await;
        const TOTAL: usize = 1 << 20;
        // a sends to b, b echoes back everything, a checks what comes back.
        let echo = async {
            let mut buf = vec![0; 5000];
            let mut back = 0;
            loop {
                let n = (&b).read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                (&b).write_all(&buf[..n]).await.unwrap();
                back += n;
            }
            b.shutdown(std::net::Shutdown::Write).unwrap();
            back
        };
        let send = async {
            let sum = send_random(&a, 42, TOTAL).await;
            a.shutdown(std::net::Shutdown::Write).unwrap();
            sum
        };
        let (sent_sum, echoed, (got, got_sum)) = tokio::join!(send, echo, recv_all(&a));
        assert_eq!((echoed, got), (TOTAL, TOTAL));
        assert_eq!(got_sum, sent_sum);
    });
}

/// The async side waits on the socket; the sync side must ring its doorbell rather than wake
/// a futex (Windows: set an event) nobody sleeps on. Both directions, with rings small
/// enough to fill constantly.
#[test]
fn async_and_sync_ends_wake_each_other() {
    bounded(LIMIT, || {
        let n = name("shmt-mixed");
        let sync_side = sync_echo_peer(LocalSocketListener::bind(n.as_str()).unwrap(), 3000);
        runtime().block_on(async {
            let conn = AsyncStream::connect(n.as_str()).await.unwrap();
            let a = ShmStream::create(conn, &small()).await.unwrap();
            const TOTAL: usize = 1 << 20;
            let send = async {
                let sum = send_random(&a, 7, TOTAL).await;
                a.shutdown(std::net::Shutdown::Write).unwrap();
                sum
            };
            let (sent_sum, (got, got_sum)) = tokio::join!(send, recv_all(&a));
            assert_eq!((got, got_sum), (TOTAL, sent_sum));
        });
        sync_side.join().unwrap();
    });
}

/// As above, with the reading and the writing task separate (each woken on its own) on a
/// multi-thread runtime: a task that drains a doorbell meant for the other must wake it.
#[test]
fn reader_and_writer_tasks_share_the_doorbells() {
    bounded(LIMIT, || {
        let n = name("shmt-tasks");
        let sync_side = sync_echo_peer(LocalSocketListener::bind(n.as_str()).unwrap(), 1500);
        multi_thread().block_on(async {
            let conn = AsyncStream::connect(n.as_str()).await.unwrap();
            let a = std::sync::Arc::new(ShmStream::create(conn, &small()).await.unwrap());
            const TOTAL: usize = 4 << 20;
            let w = std::sync::Arc::clone(&a);
            let send = tokio::spawn(async move {
                let sum = send_random(&w, 11, TOTAL).await;
                w.shutdown(std::net::Shutdown::Write).unwrap();
                sum
            });
            let r = std::sync::Arc::clone(&a);
            let recv = tokio::spawn(async move { recv_all(&r).await });
            let sent_sum = send.await.unwrap();
            let (got, got_sum) = recv.await.unwrap();
            assert_eq!((got, got_sum), (TOTAL, sent_sum));
        });
        sync_side.join().unwrap();
    });
}

/// A peer that connects and never answers: `create` gives up after `HANDSHAKE_TIMEOUT`
/// (10 s) with an error, on a current-thread runtime (Windows: the `tokio::time::timeout`
/// around each call of the handshake, driven from the blocking pool, fires while the
/// runtime's own `block_on` drives the timer), and the runtime stays usable.
#[test]
fn create_gives_up_on_a_silent_peer() {
    bounded(LIMIT, || {
        let n = name("shmt-silent");
        let listener = LocalSocketListener::bind(n.as_str()).unwrap();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let silent = std::thread::spawn(move || {
            let conn = listener.accept().unwrap();
            let _ = done_rx.recv_timeout(LIMIT); // held open, silent, until create gave up
            drop(conn);
        });
        runtime().block_on(async {
            let conn = AsyncStream::connect(n.as_str()).await.unwrap();
            let t = Instant::now();
            let e = ShmStream::create(conn, &small()).await.unwrap_err();
            let took = t.elapsed();
            assert_eq!(e.kind(), ErrorKind::TimedOut, "{e:?}");
            assert!(
                took >= Duration::from_secs(9),
                "gave up after {took:?}: {e}"
            );
            eprintln!("create gave up after {took:?}: {e}");
            done_tx.send(()).unwrap();
        });
        silent.join().unwrap();
    });
}

/// Child roles: a sync peer that joins, writes 6,000 bytes and then nothing; or one that
/// joins and never reads.
fn run_role() -> bool {
    let Some((role, arg)) = peer_role() else {
        return false;
    };
    let conn = LocalSocketStream::connect(arg.as_str()).unwrap();
    let mut s = SyncShm::join(conn).unwrap();
    match role.as_str() {
        "writes_then_idles" => s.write_all(&[7; 6000]).unwrap(),
        "never_reads" => {}
        other => panic!("unknown role {other}"),
    }
    println!("RESULT ready");
    std::thread::sleep(Duration::from_secs(60)); // killed by the test
    true
}

#[test]
fn peer_killed_async_reader_gets_eof_after_the_data() {
    if run_role() {
        return;
    }
    bounded(LIMIT, || {
        let n = name("shmt-kill-r");
        runtime().block_on(async {
            let listener = AsyncListener::bind(n.as_str()).unwrap();
            let mut peer = Peer::spawn(
                "peer_killed_async_reader_gets_eof_after_the_data",
                "writes_then_idles",
                &n,
            );
            let s = ShmStream::create(listener.accept().await.unwrap(), &ShmOptions::new())
                .await
                .unwrap();
            let reader = tokio::spawn(async move {
                let mut all = Vec::new();
                (&s).read_to_end(&mut all).await.unwrap();
                (all.len(), Instant::now())
            });
            assert_eq!(
                tokio::task::spawn_blocking(move || {
                    let r = peer.expect("RESULT ");
                    std::thread::sleep(Duration::from_millis(100)); // the reader waits
                    let t = Instant::now();
                    peer.kill();
                    (r, t)
                })
                .await
                .unwrap()
                .0,
                "ready"
            );
            let (len, _) = reader.await.unwrap();
            assert_eq!(len, 6000, "everything published before the death is read");
        });
    });
}

#[test]
fn peer_killed_async_writer_gets_broken_pipe() {
    if run_role() {
        return;
    }
    bounded(LIMIT, || {
        let n = name("shmt-kill-w");
        runtime().block_on(async {
            let listener = AsyncListener::bind(n.as_str()).unwrap();
            let mut peer = Peer::spawn(
                "peer_killed_async_writer_gets_broken_pipe",
                "never_reads",
                &n,
            );
            let s = ShmStream::create(listener.accept().await.unwrap(), &small())
                .await
                .unwrap();
            let writer = tokio::spawn(async move {
                let chunk = [1u8; 1000];
                loop {
                    if let Err(e) = (&s).write_all(&chunk).await {
                        return (e.kind(), Instant::now());
                    }
                }
            });
            let killed = tokio::task::spawn_blocking(move || {
                assert_eq!(peer.expect("RESULT "), "ready");
                std::thread::sleep(Duration::from_millis(100)); // the ring fills, the writer waits
                let t = Instant::now();
                peer.kill();
                t
            })
            .await
            .unwrap();
            let (kind, at) = writer.await.unwrap();
            assert_eq!(kind, ErrorKind::BrokenPipe);
            eprintln!(
                "blocked async writer: BrokenPipe {:?} after the kill",
                at.saturating_duration_since(killed)
            );
        });
    });
}

/// 10,000 reads and 10,000 writes each given a single poll (`timeout` of zero: polled once,
/// then dropped if pending): whatever a cancelled call did not report is not lost and not
/// duplicated.
#[test]
fn cancelled_reads_and_writes_lose_nothing() {
    bounded(LIMIT, || {
        runtime().block_on(async {
            let (a, b) = async_pair(&name("shmt-cancel"), &small()).await;
            const ROUNDS: usize = 10_000;
            let (mut cancelled_w, mut cancelled_r) = (0, 0);
            let mut next_out = 0u8;
            let mut expect_in = 0u8;
            let mut out = [0u8; 1400];
            let mut inb = [0u8; 1400];
            let mut rng = Rng(99);
            for _ in 0..ROUNDS {
                // A write or a read at random, of random sizes: runs of either fill or empty
                // the ring, so both kinds are pending (and cancelled) often.
                if rng.below(2) == 0 {
                    let wn = 1 + rng.below(out.len());
                    for (i, x) in out[..wn].iter_mut().enumerate() {
                        *x = next_out.wrapping_add(u8::try_from(i % 256).unwrap());
                    }
                    match tokio::time::timeout(Duration::ZERO, (&a).write(&out[..wn])).await {
                        Ok(n) => {
                            let n = u8::try_from(n.unwrap() % 256).unwrap();
                            next_out = next_out.wrapping_add(n);
                        }
                        Err(_) => cancelled_w += 1,
                    }
                } else {
                    let rn = 1 + rng.below(inb.len());
                    match tokio::time::timeout(Duration::ZERO, (&b).read(&mut inb[..rn])).await {
                        Ok(n) => {
                            for &x in &inb[..n.unwrap()] {
                                assert_eq!(x, expect_in, "a byte lost or duplicated");
                                expect_in = expect_in.wrapping_add(1);
                            }
                        }
                        Err(_) => cancelled_r += 1,
                    }
                }
            }
            // Everything written arrives, in order.
            a.shutdown(std::net::Shutdown::Write).unwrap();
            let mut rest = Vec::new();
            (&b).read_to_end(&mut rest).await.unwrap();
            for x in rest {
                assert_eq!(x, expect_in);
                expect_in = expect_in.wrapping_add(1);
            }
            assert_eq!(expect_in, next_out);
            eprintln!("cancelled: {cancelled_w} writes, {cancelled_r} reads of {ROUNDS}");
            assert!(
                cancelled_w > 0 && cancelled_r > 0,
                "the test must cancel both kinds"
            );
        });
    });
}

/// 1,000 connections open at once on a multi-thread runtime, each an echo through its own
/// shared memory.
#[test]
fn a_thousand_connections_at_once() {
    bounded(Duration::from_secs(60), || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            const N: usize = 1000;
            let n = name("shmt-many");
            let listener = AsyncListener::bind(n.as_str()).unwrap();
            let server = tokio::spawn(async move {
                let mut streams = Vec::with_capacity(N);
                for _ in 0..N {
                    let conn = listener.accept().await.unwrap();
                    streams.push(tokio::spawn(async move {
                        let s = ShmStream::join(conn).await.unwrap();
                        let mut buf = [0u8; 64];
                        (&s).read_exact(&mut buf).await.unwrap();
                        (&s).write_all(&buf).await.unwrap();
                        // Keep it open until the client has read the echo and closed.
                        let mut rest = Vec::new();
                        (&s).read_to_end(&mut rest).await.unwrap();
                        assert!(rest.is_empty());
                    }));
                }
                for t in streams {
                    t.await.unwrap();
                }
            });
            let mut opts = ShmOptions::new();
            opts.capacity(4096);
            let mut clients = Vec::with_capacity(N);
            for i in 0..N {
                let conn = AsyncStream::connect(n.as_str()).await.unwrap();
                let s = ShmStream::create(conn, &opts).await.unwrap();
                (&s).write_all(&[u8::try_from(i % 251).unwrap(); 64])
                    .await
                    .unwrap();
                clients.push(s);
            }
            // All 1,000 are open now; read every echo, then close them all.
            for (i, s) in clients.iter().enumerate() {
                let mut buf = [0u8; 64];
                let mut r = s;
                r.read_exact(&mut buf).await.unwrap();
                assert_eq!(buf, [u8::try_from(i % 251).unwrap(); 64]);
            }
            drop(clients);
            server.await.unwrap();
        });
    });
}

/// A peer that floods the socket with junk (doorbells are bytes on it) can neither starve the
/// other tasks nor pass its junk off as data: a task drains at most a budget of reads per
/// turn, then yields, and data comes from the ring only. The peer fills its socket buffer with
/// junk (a clone of its sync stream writing, nonblocking); a second task of the same runtime
/// counts its turns while junk is still queued (Linux `FIONREAD`, Windows `PeekNamedPipe`,
/// on a clone of the reader's socket). Fails without the budget on Linux: the first drain
/// takes all the junk in one poll, and the other task never runs while any is left. On
/// Windows mio's one read in flight already bounds a drain to what that read brought in
/// (4 KiB; the next `ReadFile` completes through the reactor), so without the budget the
/// other task still runs about 16 times over 64 KiB of junk (under Wine), against about 64
/// with it (1 KiB a turn): the test fails there too, by its threshold, not by starvation.
#[test]
fn a_peer_flooding_the_socket_starves_nothing() {
    bounded(LIMIT, || {
        let n = name("shmt-flood");
        let listener = LocalSocketListener::bind(n.as_str()).unwrap();
        let (filled_tx, filled_rx) = std::sync::mpsc::channel::<usize>();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let peer = std::thread::spawn(move || {
            let conn = listener.accept().unwrap();
            let flood = conn.try_clone().unwrap();
            let s = SyncShm::join(conn).unwrap();
            let total = flood_junk(&flood);
            filled_tx.send(total).unwrap();
            go_rx.recv().unwrap();
            (&s).write_all(b"hello").unwrap();
            // Held open until the reader has dropped its end.
            let mut rest = Vec::new();
            let _ = (&s).read_to_end(&mut rest);
        });
        let sync_conn = LocalSocketStream::connect(n.as_str()).unwrap();
        let watch = sync_conn.try_clone().unwrap();
        runtime().block_on(async {
            let conn = AsyncStream::try_from(sync_conn).unwrap();
            let a = ShmStream::create(conn, &small()).await.unwrap();
            let junk = filled_rx.recv_timeout(LIMIT).unwrap();
            assert!(junk >= 16 * 1024, "only {junk} bytes of junk queued");
            let mut buf = [0u8; 16];
            let mut r = &a;
            let turns_with_junk_left = async {
                let mut turns = 0u32;
                while queued(&watch) > 0 {
                    turns += 1;
                    tokio::task::yield_now().await;
                }
                go_tx.send(()).unwrap();
                turns
            };
            let (n, turns) = tokio::join!(r.read(&mut buf), turns_with_junk_left);
            let n = n.unwrap();
            assert_eq!(&buf[..n], b"hello", "the junk on the socket is not data");
            eprintln!("{junk} bytes of junk drained while another task ran {turns} times");
            assert!(
                turns >= 20,
                "another task ran {turns} times while {junk} bytes of junk were drained"
            );
        });
        peer.join().unwrap();
    });
}

/// A doorbell that finds the peer's socket full is dropped, never waited for: the sync peer
/// fills the reader's socket with junk while the reader's runtime thread is blocked (so
/// nothing drains it: on Windows mio cannot even issue its next `ReadFile`), then writes
/// "hello" to the armed reader, whose doorbell cannot go through. Had the doorbell waited for
/// room, the peer would never report back and the test would hang (bounded). The lost
/// doorbell costs nothing: the junk makes the socket readable, the reader drains it and
/// re-checks the ring. Fails with `ring_doorbell` waiting for its write (Windows
/// `overlapped::Wait::Forever`).
#[test]
fn a_doorbell_to_a_full_socket_is_dropped_and_costs_nothing() {
    bounded(LIMIT, || {
        let n = name("shmt-full");
        let listener = LocalSocketListener::bind(n.as_str()).unwrap();
        let (armed_tx, armed_rx) = std::sync::mpsc::channel::<()>();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<usize>();
        let peer = std::thread::spawn(move || {
            let conn = listener.accept().unwrap();
            let flood = conn.try_clone().unwrap();
            let s = SyncShm::join(conn).unwrap();
            armed_rx.recv().unwrap();
            let junk = flood_junk(&flood);
            (&s).write_all(b"hello").unwrap(); // the reader is armed: a doorbell, lost
            done_tx.send(junk).unwrap();
            let mut rest = Vec::new();
            let _ = (&s).read_to_end(&mut rest);
        });
        runtime().block_on(async {
            let conn = AsyncStream::connect(n.as_str()).await.unwrap();
            let a = ShmStream::create(conn, &small()).await.unwrap();
            let mut buf = [0u8; 16];
            // One poll: the ring is empty, the flag is armed and stays so (cancel-safe).
            assert!(
                tokio::time::timeout(Duration::ZERO, (&a).read(&mut buf))
                    .await
                    .is_err(),
                "nothing to read yet"
            );
            armed_tx.send(()).unwrap();
            // Blocks this runtime's only thread: nothing drains the socket meanwhile.
            let junk = done_rx
                .recv_timeout(Duration::from_secs(10))
                .expect("the peer's write waited for its doorbell to fit");
            let n = (&a).read(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], b"hello");
            eprintln!("hello read after {junk} bytes of junk");
        });
        peer.join().unwrap();
    });
}

/// Writes junk on `flood` without waiting until the socket is full; the bytes written.
#[cfg(unix)]
fn flood_junk(flood: &LocalSocketStream) -> usize {
    use std::os::fd::{AsFd, AsRawFd};
    let junk = [0xab; 64 * 1024];
    let mut total = 0;
    loop {
        // SAFETY: `junk` is valid for reads of its length; the socket is open.
        let k = unsafe {
            libc::send(
                flood.as_fd().as_raw_fd(),
                junk.as_ptr().cast(),
                junk.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        if k <= 0 {
            return total;
        }
        total += k.unsigned_abs();
    }
}

/// Writes junk on `flood` without waiting until the pipe is full (nonblocking writes: a
/// `WriteFile` that cannot complete at once is cancelled); the bytes written. Nonblocking
/// mode is shared with the sync shared-memory stream's connection, which makes no call it
/// affects (its doorbells and liveness checks never wait anyway).
#[cfg(windows)]
fn flood_junk(flood: &LocalSocketStream) -> usize {
    flood.set_nonblocking(true).unwrap();
    let junk = [0xab; 4 * 1024];
    let mut total = 0;
    loop {
        match (&*flood).write(&junk) {
            Ok(k) if k > 0 => total += k,
            _ => return total,
        }
    }
}

/// The bytes queued on `s`'s socket, unread (`FIONREAD`).
#[cfg(unix)]
fn queued(s: &LocalSocketStream) -> usize {
    use std::os::fd::{AsFd, AsRawFd};
    let mut k: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int, the bytes queued, into `k`.
    let r = unsafe { libc::ioctl(s.as_fd().as_raw_fd(), libc::FIONREAD, &mut k) };
    assert_eq!(r, 0);
    usize::try_from(k).unwrap()
}

/// The bytes queued in `s`'s pipe, unread (`PeekNamedPipe`: what mio's read in flight has
/// not taken yet).
#[cfg(windows)]
fn queued(s: &LocalSocketStream) -> usize {
    use std::os::windows::io::{AsHandle, AsRawHandle};
    let mut avail = 0u32;
    // SAFETY: the handle is open; no buffer (0 bytes); `avail` is valid for writes.
    let ok = unsafe {
        windows_sys::Win32::System::Pipes::PeekNamedPipe(
            s.as_handle().as_raw_handle(),
            std::ptr::null_mut(),
            0,
            std::ptr::null_mut(),
            &mut avail,
            std::ptr::null_mut(),
        )
    };
    assert_ne!(ok, 0, "PeekNamedPipe: {}", std::io::Error::last_os_error());
    usize::try_from(avail).unwrap()
}
