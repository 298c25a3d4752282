//! `localipc::shm::async_io` (no tokio): echo through rings small enough to fill, on smol's
//! executor and on `futures_lite::future::block_on`; against a sync end in both directions
//! (the doorbell) and a tokio end in another process; reading and writing tasks on their own
//! threads; the peer killed mid-transfer; cancelled reads and writes losing nothing; a peer
//! flooding the socket; no busy wake-ups while idle. No tokio runtime in this process.
#![cfg(all(any(target_os = "linux", target_os = "android"), feature = "async-io"))]

mod util;

use async_executor::Executor;
use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use localipc::local_socket::async_io::{
    LocalSocketListener as AsyncListener, LocalSocketStream as AsyncStream,
};
use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
use localipc::shm::{async_io::ShmStream, ShmOptions, ShmStream as SyncShm};
use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use util::race::race_aio;
use util::shm::{fnv, sync_echo_peer, Rng, FNV0};
use util::{bounded, namespaced, peer_role, Peer, LIMIT};

fn name(tag: &str) -> String {
    namespaced(tag).expect("Linux has the abstract namespace")
}

fn small() -> ShmOptions {
    let mut o = ShmOptions::new();
    o.capacity(4096);
    o
}

/// No tokio runtime in this task, nor any tokio worker thread in the process.
fn assert_no_tokio() {
    assert!(
        tokio::runtime::Handle::try_current().is_err(),
        "a tokio runtime is current"
    );
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let comm = std::fs::read_to_string(task.unwrap().path().join("comm")).unwrap_or_default();
        assert!(!comm.starts_with("tokio"), "a tokio thread runs: {comm}");
    }
}

/// A connected async pair in this process: (creator, joiner).
async fn async_pair(name: &str, opts: &ShmOptions) -> (ShmStream, ShmStream) {
    let listener = AsyncListener::bind(name).unwrap();
    let (client, server) = future::zip(AsyncStream::connect(name), listener.accept()).await;
    let (a, b) = future::zip(
        ShmStream::create(client.unwrap(), opts),
        ShmStream::join(server.unwrap()),
    )
    .await;
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

/// Echoes everything back until end of file, then shuts down; returns the byte count.
async fn echo(s: &ShmStream) -> usize {
    let mut buf = vec![0; 5000];
    let mut back = 0;
    loop {
        let n = (&*s).read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        (&*s).write_all(&buf[..n]).await.unwrap();
        back += n;
    }
    s.shutdown(std::net::Shutdown::Write).unwrap();
    back
}

const MIB: usize = 1 << 20;

/// 1 MiB from `a` to `b` and back, through 4 KiB rings: sender, echo and receiver each a
/// task of smol's executor.
#[test]
fn echo_1_mib_both_ways_on_smol_executor() {
    bounded(LIMIT, || {
        let ex = Executor::new();
        future::block_on(ex.run(async {
            assert_no_tokio();
            let (a, b) = async_pair(&name("shma-echo-ex"), &small()).await;
            let (a, b) = (Arc::new(a), Arc::new(b));
            let echoed = ex.spawn(async move { echo(&b).await });
            let a2 = Arc::clone(&a);
            let sent = ex.spawn(async move {
                let sum = send_random(&a2, 42, MIB).await;
                a2.shutdown(std::net::Shutdown::Write).unwrap();
                sum
            });
            let got = ex.spawn(async move { recv_all(&a).await });
            let (sent_sum, (got, got_sum)) = (sent.await, got.await);
            assert_eq!((echoed.await, got), (MIB, MIB));
            assert_eq!(got_sum, sent_sum);
            assert_no_tokio();
        }));
    });
}

/// The same in one task on `futures_lite::future::block_on` (async-io's reactor on its own
/// thread).
#[test]
fn echo_1_mib_both_ways_on_block_on() {
    bounded(LIMIT, || {
        future::block_on(async {
            assert_no_tokio();
            let (a, b) = async_pair(&name("shma-echo-bo"), &small()).await;
            let send = async {
                let sum = send_random(&a, 43, MIB).await;
                a.shutdown(std::net::Shutdown::Write).unwrap();
                sum
            };
            let ((sent_sum, echoed), (got, got_sum)) =
                future::zip(future::zip(send, echo(&b)), recv_all(&a)).await;
            assert_eq!((echoed, got), (MIB, MIB));
            assert_eq!(got_sum, sent_sum);
            assert_no_tokio();
        });
    });
}

/// The async side waits on the socket; the sync side must ring its doorbell rather than wake
/// a futex nobody sleeps on, and the async side must wake the sleeping sync side. Both
/// directions, with rings small enough to fill constantly.
#[test]
fn async_io_and_sync_ends_wake_each_other() {
    bounded(LIMIT, || {
        let n = name("shma-mixed");
        let sync_side = sync_echo_peer(LocalSocketListener::bind(n.as_str()).unwrap(), 3000);
        future::block_on(async {
            let conn = AsyncStream::connect(n.as_str()).await.unwrap();
            let a = ShmStream::create(conn, &small()).await.unwrap();
            let send = async {
                let sum = send_random(&a, 7, MIB).await;
                a.shutdown(std::net::Shutdown::Write).unwrap();
                sum
            };
            let (sent_sum, (got, got_sum)) = future::zip(send, recv_all(&a)).await;
            assert_eq!((got, got_sum), (MIB, sent_sum));
            assert_no_tokio();
        });
        sync_side.join().unwrap();
    });
}

/// As above, with the reading and the writing task separate, each on its own thread's
/// `block_on` (each woken on its own): a task that drains a doorbell meant for the other
/// must wake it.
#[test]
fn reader_and_writer_tasks_share_the_doorbells() {
    bounded(LIMIT, || {
        let n = name("shma-tasks");
        let sync_side = sync_echo_peer(LocalSocketListener::bind(n.as_str()).unwrap(), 1500);
        let a = future::block_on(async {
            let conn = AsyncStream::connect(n.as_str()).await.unwrap();
            Arc::new(ShmStream::create(conn, &small()).await.unwrap())
        });
        const TOTAL: usize = 4 << 20;
        let w = Arc::clone(&a);
        let send = std::thread::spawn(move || {
            future::block_on(async {
                let sum = send_random(&w, 11, TOTAL).await;
                w.shutdown(std::net::Shutdown::Write).unwrap();
                sum
            })
        });
        let (got, got_sum) = future::block_on(recv_all(&a));
        assert_eq!((got, got_sum), (TOTAL, send.join().unwrap()));
        sync_side.join().unwrap();
        assert_no_tokio();
    });
}

/// Child roles: a sync peer that joins, writes 6,000 bytes and then nothing; one that joins
/// and never reads; a tokio peer (another process, so this one has no tokio) that joins and
/// echoes.
fn run_role() -> bool {
    let Some((role, arg)) = peer_role() else {
        return false;
    };
    if role == "flood_on_one_cpu" {
        pin_to_one_cpu();
        flood(&arg);
        println!("RESULT ok");
        return true;
    }
    if role == "tokio_echo" {
        tokio_echo(&arg);
        return true;
    }
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

#[cfg(feature = "tokio")]
fn tokio_echo(name: &str) {
    use localipc::local_socket::tokio::LocalSocketStream as TokioStream;
    use localipc::shm::tokio::ShmStream as TokioShm;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = TokioShm::join(TokioStream::connect(name).await.unwrap())
            .await
            .unwrap();
        let mut buf = [0; 2500];
        loop {
            let k = (&s).read(&mut buf).await.unwrap();
            if k == 0 {
                break;
            }
            (&s).write_all(&buf[..k]).await.unwrap();
        }
        s.shutdown(std::net::Shutdown::Write).unwrap();
    });
    println!("RESULT echoed");
}

#[cfg(not(feature = "tokio"))]
fn tokio_echo(_: &str) {
    unreachable!("the tokio role runs only with feature tokio");
}

/// An async-io end and a tokio end (in a child process) through full 4 KiB rings, both
/// waiting on their sockets: each rings the other's doorbell.
#[cfg(feature = "tokio")]
#[test]
fn async_io_and_tokio_ends_wake_each_other() {
    if run_role() {
        return;
    }
    bounded(LIMIT, || {
        let n = name("shma-tokio");
        future::block_on(async {
            let listener = AsyncListener::bind(n.as_str()).unwrap();
            let mut peer = Peer::spawn("async_io_and_tokio_ends_wake_each_other", "tokio_echo", &n);
            let a = ShmStream::create(listener.accept().await.unwrap(), &small())
                .await
                .unwrap();
            let send = async {
                let sum = send_random(&a, 5, MIB).await;
                a.shutdown(std::net::Shutdown::Write).unwrap();
                sum
            };
            let (sent_sum, (got, got_sum)) = future::zip(send, recv_all(&a)).await;
            assert_eq!((got, got_sum), (MIB, sent_sum));
            assert_eq!(peer.expect("RESULT "), "echoed");
            assert!(peer.wait().success());
            assert_no_tokio();
        });
    });
}

#[test]
fn peer_killed_async_reader_gets_eof_after_the_data() {
    if run_role() {
        return;
    }
    bounded(LIMIT, || {
        let n = name("shma-kill-r");
        let ex = Executor::new();
        future::block_on(ex.run(async {
            let listener = AsyncListener::bind(n.as_str()).unwrap();
            let mut peer = Peer::spawn(
                "peer_killed_async_reader_gets_eof_after_the_data",
                "writes_then_idles",
                &n,
            );
            let s = ShmStream::create(listener.accept().await.unwrap(), &ShmOptions::new())
                .await
                .unwrap();
            let reader = ex.spawn(async move {
                let mut all = Vec::new();
                (&s).read_to_end(&mut all).await.unwrap();
                all.len()
            });
            let killer = std::thread::spawn(move || {
                assert_eq!(peer.expect("RESULT "), "ready");
                std::thread::sleep(Duration::from_millis(100)); // the reader waits
                peer.kill();
            });
            let len = reader.await;
            killer.join().unwrap();
            assert_eq!(len, 6000, "everything published before the death is read");
        }));
    });
}

#[test]
fn peer_killed_async_writer_gets_broken_pipe() {
    if run_role() {
        return;
    }
    bounded(LIMIT, || {
        let n = name("shma-kill-w");
        future::block_on(async {
            let listener = AsyncListener::bind(n.as_str()).unwrap();
            let mut peer = Peer::spawn(
                "peer_killed_async_writer_gets_broken_pipe",
                "never_reads",
                &n,
            );
            let s = ShmStream::create(listener.accept().await.unwrap(), &small())
                .await
                .unwrap();
            let killer = std::thread::spawn(move || {
                assert_eq!(peer.expect("RESULT "), "ready");
                std::thread::sleep(Duration::from_millis(100)); // the ring fills, the writer waits
                let t = Instant::now();
                peer.kill();
                t
            });
            let chunk = [1u8; 1000];
            let err = loop {
                if let Err(e) = (&s).write_all(&chunk).await {
                    break e;
                }
            };
            let at = Instant::now();
            assert_eq!(err.kind(), ErrorKind::BrokenPipe);
            let killed = killer.join().unwrap();
            eprintln!(
                "blocked async-io writer: BrokenPipe {:?} after SIGKILL",
                at.saturating_duration_since(killed)
            );
        });
    });
}

/// 20,000 reads and writes (at random) each raced against a drop (polled once, or until a 20 us
/// timer fires): whatever a cancelled call did not report is not lost and not duplicated.
#[test]
fn cancelled_reads_and_writes_lose_nothing() {
    bounded(LIMIT, || {
        future::block_on(async {
            let (a, b) = async_pair(&name("shma-cancel"), &small()).await;
            const ROUNDS: usize = 10_000;
            let (mut cancelled_w, mut cancelled_r) = (0, 0);
            let mut next_out = 0u8;
            let mut expect_in = 0u8;
            let mut out = [0u8; 1400];
            let mut inb = [0u8; 1400];
            let mut rng = Rng(99);
            for round in 0..2 * ROUNDS {
                // A write or a read at random, of random sizes: runs of either fill or empty
                // the ring, so both kinds are pending (and cancelled) often.
                if rng.below(2) == 0 {
                    let wn = 1 + rng.below(out.len());
                    for (i, x) in out[..wn].iter_mut().enumerate() {
                        *x = next_out.wrapping_add(u8::try_from(i % 256).unwrap());
                    }
                    match race_aio(round / 2, (&a).write(&out[..wn])).await {
                        Some(n) => {
                            let n = u8::try_from(n.unwrap() % 256).unwrap();
                            next_out = next_out.wrapping_add(n);
                        }
                        None => cancelled_w += 1,
                    }
                } else {
                    let rn = 1 + rng.below(inb.len());
                    match race_aio(round / 2, (&b).read(&mut inb[..rn])).await {
                        Some(n) => {
                            for &x in &inb[..n.unwrap()] {
                                assert_eq!(x, expect_in, "a byte lost or duplicated");
                                expect_in = expect_in.wrapping_add(1);
                            }
                        }
                        None => cancelled_r += 1,
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
            eprintln!(
                "cancelled: {cancelled_w} writes, {cancelled_r} reads of {}",
                2 * ROUNDS
            );
            assert!(
                cancelled_w > 0 && cancelled_r > 0,
                "the test must cancel both kinds"
            );
        });
    });
}

/// How often `fut` is polled in `idle` while it cannot complete, and whether it did.
async fn polls_while_idle<F: Future>(fut: F, idle: Duration) -> (u32, bool) {
    let mut fut = pin!(fut);
    let mut polls = 0;
    let deadline = async_io::Timer::after(idle);
    let counted = std::future::poll_fn(|cx| {
        polls += 1;
        fut.as_mut().poll(cx).map(|_| true)
    });
    let done = future::or(counted, async {
        deadline.await;
        false
    })
    .await;
    (polls, done)
}

/// A read waiting on an empty ring and a write waiting on a full one, in two tasks (on two
/// threads) of one stream, are not woken while nothing happens: the socket's registration
/// holds one waker (the fan-out), so the two tasks do not take turns replacing (and, as
/// async-io does, waking) each other's. Fails with the task's own waker registered: both
/// are polled thousands of times.
#[test]
fn idle_reader_and_writer_do_not_spin() {
    bounded(LIMIT, || {
        let (a, _b) = future::block_on(async_pair(&name("shma-idle"), &small()));
        // Fill the ring: the peer (`_b`) never reads.
        let fill = [5u8; 4096];
        assert_eq!(future::block_on((&a).write(&fill)).unwrap(), 4096);
        let idle = Duration::from_millis(200);
        let ((reads, read_done), (writes, write_done)) = std::thread::scope(|sc| {
            let reader = sc.spawn(|| {
                let mut buf = [0u8; 16];
                let mut r = &a;
                future::block_on(polls_while_idle(r.read(&mut buf), idle))
            });
            let mut w = &a;
            let writes = future::block_on(polls_while_idle(w.write(b"x"), idle));
            (reader.join().unwrap(), writes)
        });
        assert!(!read_done && !write_done, "nothing to read, no room");
        eprintln!("idle {idle:?}: read polled {reads} times, write {writes} times");
        assert!(
            reads <= 5 && writes <= 5,
            "polled {reads} reads and {writes} writes in {idle:?} of idling"
        );
    });
}

/// A peer that floods the socket with junk (doorbells are bytes on it) can neither starve the
/// other tasks nor pass its junk off as data: a task drains at most a budget of reads per
/// poll, then yields, and data comes from the ring only. The peer fills its socket buffer with
/// junk; each poll of the reader may take at most the budget (16 reads of 64 bytes), and a
/// second task of the same `block_on` counts its turns while junk is still queued
/// (`FIONREAD` on a clone of the reader's socket). Fails without the budget: one poll takes
/// all the junk.
#[test]
fn a_peer_flooding_the_socket_starves_nothing() {
    bounded(LIMIT, || flood(&name("shma-flood")));
}

/// The same in a child process whose every thread (async-io's reactor thread, the `blocking`
/// pool, the flooding peer) runs on one CPU. A task that waited for async-io's
/// `poll_readable` before trying the `recv` livelocked there: woken by an event of the
/// reactor tick it had registered in (not `Ready`), it registered again in the next tick,
/// which the reactor thread, still running on the one CPU, had entered by then (fails with
/// the readiness-first drain: no progress within the time limit, the junk never read).
#[test]
fn a_flooded_reader_on_one_cpu_is_not_livelocked() {
    if run_role() {
        return;
    }
    bounded(LIMIT, || {
        let mut peer = Peer::spawn(
            "a_flooded_reader_on_one_cpu_is_not_livelocked",
            "flood_on_one_cpu",
            &name("shma-flood1"),
        );
        assert_eq!(peer.expect("RESULT "), "ok");
        assert!(peer.wait().success());
    });
}

/// Pins this thread, and the threads it starts from now on, to the CPU it runs on.
fn pin_to_one_cpu() {
    // SAFETY: `sched_getcpu` has no arguments; the set is zeroed, then one CPU is set in it
    // (`CPU_SET` checks the index against the set's size); `sched_setaffinity` reads the set.
    unsafe {
        let cpu = usize::try_from(libc::sched_getcpu()).unwrap();
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        let r = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        assert_eq!(
            r,
            0,
            "sched_setaffinity: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// The flood scenario on a socket named `n`.
fn flood(n: &str) {
    use std::os::fd::{AsFd, AsRawFd};
    let listener = LocalSocketListener::bind(n).unwrap();
    let (filled_tx, filled_rx) = std::sync::mpsc::channel::<usize>();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let peer = std::thread::spawn(move || {
        let conn = listener.accept().unwrap();
        let flood = conn.try_clone().unwrap();
        let s = SyncShm::join(conn).unwrap();
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
                break;
            }
            total += k.unsigned_abs();
        }
        filled_tx.send(total).unwrap();
        go_rx.recv().unwrap();
        (&s).write_all(b"hello").unwrap();
        // Held open until the reader has dropped its end.
        let mut rest = Vec::new();
        let _ = (&s).read_to_end(&mut rest);
    });
    let sync_conn = LocalSocketStream::connect(n).unwrap();
    let watch = sync_conn.try_clone().unwrap();
    let queued = move || {
        let mut k: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int, the bytes queued, into `k`.
        let r = unsafe { libc::ioctl(watch.as_fd().as_raw_fd(), libc::FIONREAD, &mut k) };
        assert_eq!(r, 0);
        usize::try_from(k).unwrap()
    };
    future::block_on(async {
        let conn = AsyncStream::try_from(sync_conn).unwrap();
        let a = ShmStream::create(conn, &small()).await.unwrap();
        let junk = filled_rx.recv_timeout(LIMIT).unwrap();
        assert!(junk >= 64 * 1024, "only {junk} bytes of junk queued");
        let mut buf = [0u8; 16];
        let reader = async {
            let mut r = &a;
            let mut read = pin!(r.read(&mut buf));
            let mut most_per_poll = 0;
            let n = std::future::poll_fn(|cx| {
                let before = queued();
                let p = read.as_mut().poll(cx);
                most_per_poll = most_per_poll.max(before.saturating_sub(queued()));
                p
            })
            .await;
            (n, most_per_poll)
        };
        let turns_with_junk_left = async {
            let mut turns = 0u32;
            while queued() > 0 {
                turns += 1;
                future::yield_now().await;
            }
            go_tx.send(()).unwrap();
            turns
        };
        let ((n, most_per_poll), turns) = future::zip(reader, turns_with_junk_left).await;
        let n = n.unwrap();
        assert_eq!(&buf[..n], b"hello", "the junk on the socket is not data");
        eprintln!(
            "junk {junk} B: at most {most_per_poll} B per poll, {turns} turns of the other task"
        );
        assert!(
            most_per_poll <= 16 * 64,
            "one poll of the reader drained {most_per_poll} of {junk} bytes of junk"
        );
        assert!(
            turns >= 20,
            "another task ran {turns} times while {junk} bytes of junk were drained"
        );
    });
    peer.join().unwrap();
}
