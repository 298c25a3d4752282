//! `localipc::shm`: echo and checksums, random-size writes, EOF and shutdown ordering,
//! timeouts and nonblocking, grants, the peer killed mid-transfer, a hostile process
//! scribbling over the region, handshake nonsense, and no leak over 10,000 create/join cycles.
//! Leak counts run in a child process of their own (the other tests of this binary run on
//! threads of one process and would move the counts).
//!
//! Linux and Android, and Windows (under Wine in CI): the handshake's handles differ (a
//! sealed memfd; a paging-file section and two events per ring), see `region` and `bells`.
#![cfg(any(target_os = "linux", target_os = "android", windows))]

mod util;

use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
use localipc::shm::{ShmOptions, ShmStream};
use std::io::{self, ErrorKind, Read, Write};
use std::net::Shutdown;
#[cfg(unix)]
use std::os::fd::{FromRawFd, OwnedFd};
#[cfg(windows)]
use std::os::windows::io::{FromRawHandle, OwnedHandle as OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use util::shm::{fd_count, fnv, shm_map_count, shm_pair, socket_pair, Rng, FNV0};
use util::{bounded, namespaced, peer_role, Peer, LIMIT};

fn name(tag: &str) -> String {
    namespaced(tag).expect("Linux and Windows have namespaced names")
}

fn small() -> ShmOptions {
    let mut o = ShmOptions::new();
    o.capacity(4096);
    o
}

/// The roles this binary's tests start in child processes; `true` if this process is one.
fn run_role() -> bool {
    let Some((role, arg)) = peer_role() else {
        return false;
    };
    match role.as_str() {
        "echo" => {
            let mut s = ShmStream::join(LocalSocketStream::connect(arg.as_str()).unwrap()).unwrap();
            let mut buf = vec![0; 70_000];
            loop {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                s.write_all(&buf[..n]).unwrap();
            }
            println!("RESULT done");
        }
        "create_sink" => {
            let conn = LocalSocketStream::connect(arg.as_str()).unwrap();
            let mut opts = ShmOptions::new();
            opts.capacity(65536);
            let _s = ShmStream::create(conn, &opts).unwrap();
            println!("RESULT ready");
            std::thread::sleep(Duration::from_secs(60)); // never reads; killed
        }
        "join_source" => {
            let conn = LocalSocketStream::connect(arg.as_str()).unwrap();
            let mut s = ShmStream::join(conn).unwrap();
            s.write_all(&[7; 10_000]).unwrap();
            println!("RESULT wrote");
            std::thread::sleep(Duration::from_secs(60)); // writes no more; killed
        }
        "scribble" => scribbler(&arg),
        "leaks" => leaks(),
        "nonsense" => nonsense(),
        other => panic!("unknown role {other}"),
    }
    true
}

#[test]
fn echo_1_mib_both_ways_with_checksums() {
    if run_role() {
        return;
    }
    bounded(LIMIT, || {
        let n = name("shm-echo");
        let listener = LocalSocketListener::bind(n.as_str()).unwrap();
        let mut peer = Peer::spawn("echo_1_mib_both_ways_with_checksums", "echo", &n);
        let mut opts = ShmOptions::new();
        opts.capacity(64 * 1024);
        let s = ShmStream::create(listener.accept().unwrap(), &opts).unwrap();
        let mut data = vec![0u8; 1 << 20];
        Rng(42).fill(&mut data);
        let sent = fnv(FNV0, &data);
        let received = std::thread::scope(|scope| {
            let s = &s;
            scope.spawn(move || {
                let mut w = s;
                for chunk in data.chunks(10_007) {
                    w.write_all(chunk).unwrap();
                }
                s.shutdown(Shutdown::Write).unwrap();
            });
            let (mut h, mut total, mut buf) = (FNV0, 0, vec![0; 50_000]);
            loop {
                let k = (&*s).read(&mut buf).unwrap();
                if k == 0 {
                    break;
                }
                h = fnv(h, &buf[..k]);
                total += k;
            }
            (h, total)
        });
        assert_eq!(received, (sent, 1 << 20));
        assert_eq!(peer.expect("RESULT "), "done");
        peer.wait();
    });
}

#[test]
fn ten_thousand_random_size_writes() {
    bounded(LIMIT, || {
        let (a, mut b) = shm_pair(&name("shm-random"), &small());
        let writer = std::thread::spawn(move || {
            let mut a = a;
            let (mut rng, mut h, mut buf) = (Rng(7), FNV0, vec![0u8; 9000]);
            for _ in 0..10_000 {
                let len = rng.below(9000);
                rng.fill(&mut buf[..len]);
                h = fnv(h, &buf[..len]);
                a.write_all(&buf[..len]).unwrap();
            }
            h
        });
        let (mut rng, mut h, mut buf) = (Rng(8), FNV0, vec![0u8; 9000]);
        loop {
            let want = 1 + rng.below(9000);
            let k = b.read(&mut buf[..want]).unwrap();
            if k == 0 {
                break;
            }
            h = fnv(h, &buf[..k]);
        }
        assert_eq!(writer.join().unwrap(), h);
    });
}

#[test]
fn shutdown_and_drop_give_eof_after_the_data() {
    bounded(LIMIT, || {
        let (a, b) = shm_pair(&name("shm-eof"), &small());
        (&a).write_all(b"last words").unwrap();
        a.shutdown(Shutdown::Write).unwrap();
        assert_eq!((&a).write(b"x").unwrap_err().kind(), ErrorKind::BrokenPipe);
        let mut got = Vec::new();
        (&b).read_to_end(&mut got).unwrap();
        assert_eq!(got, b"last words");
        assert_eq!((&b).read(&mut [0; 4]).unwrap(), 0, "EOF stays");
        // The other direction still works.
        (&b).write_all(b"reply").unwrap();
        let mut r = [0; 5];
        (&a).read_exact(&mut r).unwrap();
        assert_eq!(&r, b"reply");
        // shutdown(Read): our reads end, the peer's writes break.
        a.shutdown(Shutdown::Read).unwrap();
        assert_eq!((&a).read(&mut r).unwrap(), 0);
        assert_eq!((&b).write(b"x").unwrap_err().kind(), ErrorKind::BrokenPipe);

        // Dropping: the peer reads everything, then EOF; its writes break.
        let (c, d) = shm_pair(&name("shm-drop"), &small());
        (&c).write_all(&[5; 3000]).unwrap();
        drop(c);
        let mut got = Vec::new();
        (&d).read_to_end(&mut got).unwrap();
        assert_eq!(got, vec![5; 3000]);
        assert_eq!((&d).write(b"x").unwrap_err().kind(), ErrorKind::BrokenPipe);
    });
}

#[test]
fn a_blocked_reader_wakes_on_shutdown_of_the_writer() {
    bounded(LIMIT, || {
        let (a, b) = shm_pair(&name("shm-wakeeof"), &small());
        let reader = std::thread::spawn(move || {
            let t = Instant::now();
            let n = (&b).read(&mut [0; 8]).unwrap();
            (n, t.elapsed())
        });
        std::thread::sleep(Duration::from_millis(100));
        a.shutdown(Shutdown::Write).unwrap();
        let (n, waited) = reader.join().unwrap();
        assert_eq!(n, 0);
        eprintln!("blocked reader saw EOF after {waited:?} (100 ms of it before the shutdown)");
    });
}

#[test]
fn shutdown_never_waits_for_a_call_in_progress() {
    bounded(LIMIT, || {
        let (a, b) = shm_pair(&name("shm-shut-busy"), &small());
        // The same thread holds a grant: shutdown does not wait for it, the commit breaks.
        let mut g = a.reserve(8).unwrap();
        g.write_at(0, b"grant!!!").unwrap();
        a.shutdown(Shutdown::Write).unwrap();
        assert_eq!(g.commit().unwrap_err().kind(), ErrorKind::BrokenPipe);
        assert_eq!((&b).read(&mut [0; 8]).unwrap(), 0);
        // A writer blocked on a full ring in another thread gets BrokenPipe.
        let (c, _d) = shm_pair(&name("shm-shut-blocked"), &small());
        std::thread::scope(|s| {
            let writer = s.spawn(|| (&c).write_all(&[0; 10_000]).unwrap_err().kind());
            std::thread::sleep(Duration::from_millis(50));
            let t = Instant::now();
            c.shutdown(Shutdown::Write).unwrap();
            assert!(t.elapsed() < Duration::from_millis(20), "shutdown waited");
            assert_eq!(writer.join().unwrap(), ErrorKind::BrokenPipe);
        });
    });
}

#[test]
fn the_stream_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<ShmStream>();
    check::<ShmOptions>();
}

#[test]
fn timeouts_nonblocking_and_options() {
    bounded(LIMIT, || {
        let (a, b) = shm_pair(&name("shm-timeouts"), &small());
        assert_eq!(a.read_timeout().unwrap(), None);
        assert_eq!(
            a.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        a.set_read_timeout(Some(Duration::from_millis(60))).unwrap();
        assert_eq!(a.read_timeout().unwrap(), Some(Duration::from_millis(60)));
        let t = Instant::now();
        assert_eq!(
            (&a).read(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::TimedOut
        );
        assert!(t.elapsed() >= Duration::from_millis(60));
        a.set_nonblocking(true).unwrap();
        assert_eq!(
            (&a).read(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        // Fill the ring: a nonblocking write then gives WouldBlock, a timed one TimedOut.
        let mut total = 0;
        loop {
            match (&a).write(&[1; 1000]) {
                Ok(n) => total += n,
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::WouldBlock);
                    break;
                }
            }
        }
        assert_eq!(total, a.write_capacity());
        a.set_nonblocking(false).unwrap();
        a.set_write_timeout(Some(Duration::from_millis(30)))
            .unwrap();
        assert_eq!(a.write_timeout().unwrap(), Some(Duration::from_millis(30)));
        assert_eq!((&a).write(&[1]).unwrap_err().kind(), ErrorKind::TimedOut);
        assert_eq!(
            a.reserve(10).map(|_| ()).unwrap_err().kind(),
            ErrorKind::TimedOut
        );
        // Reading makes room.
        let mut buf = vec![0; 4096];
        (&b).read_exact(&mut buf).unwrap();
        (&a).write_all(&[2; 10]).unwrap();
        let dbg = format!("{a:?}");
        assert!(
            dbg.contains("ShmStream") && dbg.contains("write_capacity"),
            "{dbg}"
        );
        assert!(a.peer_creds().unwrap().pid().is_some());

        // The joiner's own wait policy; the creator's capacities.
        let (c, d) = socket_pair(&name("shm-joinwith"));
        let mut never_spin = ShmOptions::new();
        never_spin.spin(Duration::ZERO).capacity(1 << 20);
        let j = std::thread::spawn(move || ShmStream::join_with(d, &never_spin).unwrap());
        let c = ShmStream::create(c, &small()).unwrap();
        let d = j.join().unwrap();
        assert_eq!((d.read_capacity(), d.write_capacity()), (4096, 4096));
        (&c).write_all(b"ok").unwrap();
        (&d).read_exact(&mut [0; 2]).unwrap();

        // Capacity validation, before anything is sent.
        for bad in [0, 1000, 2048, 4095, 3 << 12, (1 << 30) + 1, 1 << 31] {
            let (c, _d) = socket_pair(&name("shm-badcap"));
            let mut o = ShmOptions::new();
            o.capacity(bad);
            let e = ShmStream::create(c, &o).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}: {e}");
        }
    });
}

#[test]
fn grants_fill_in_place_and_copy_out() {
    bounded(LIMIT, || {
        let (a, b) = shm_pair(&name("shm-grants"), &small());
        assert_eq!(
            a.reserve(0).map(|_| ()).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            a.reserve(4097).map(|_| ()).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        // Wrap the ring first so that the grants straddle its end.
        (&a).write_all(&[0; 4000]).unwrap();
        (&b).read_exact(&mut [0; 4000]).unwrap();
        let mut g = a.reserve(300).unwrap();
        assert_eq!(g.len(), 300);
        g.write_at(0, &[1; 100]).unwrap();
        g.write_at(100, &[2; 200]).unwrap();
        assert_eq!(
            g.write_at(250, &[3; 51]).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            g.write_at(usize::MAX, &[3]).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        g.commit().unwrap();
        // Dropped without commit: nothing sent.
        let mut g = a.reserve(10).unwrap();
        g.write_at(0, &[9; 10]).unwrap();
        drop(g);
        let g = a.reserve(5).unwrap();
        let mut g = g;
        g.write_at(0, b"tail!").unwrap();
        g.commit_first(4).unwrap();

        let r = b.read_grant().unwrap();
        assert_eq!(r.len(), 304);
        let mut head = [0; 3];
        r.read_at(99, &mut head).unwrap();
        assert_eq!(head, [1, 2, 2]);
        assert_eq!(
            r.read_at(300, &mut [0; 5]).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        r.consume(100).unwrap();
        let mut rest = vec![0; 204];
        (&b).read_exact(&mut rest).unwrap();
        assert!(rest[..200].iter().all(|&x| x == 2));
        assert_eq!(&rest[200..], b"tail");
        a.shutdown(Shutdown::Write).unwrap();
        assert!(b.read_grant().unwrap().is_empty(), "EOF is an empty grant");
    });
}

#[test]
fn a_blocked_pair_is_idle() {
    bounded(LIMIT, || {
        let (_a, b) = shm_pair(&name("shm-idle"), &ShmOptions::new());
        b.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        let cpu = plat::thread_cpu;
        // The clock moves for this thread (else the check below would pass vacuously).
        let (t0, spin) = (cpu(), Instant::now());
        while spin.elapsed() < Duration::from_millis(50) {
            std::hint::spin_loop();
        }
        assert!(
            cpu() > t0,
            "thread CPU time did not move over 50 ms of spinning"
        );
        let before = cpu();
        assert_eq!(
            (&b).read(&mut [0; 1]).unwrap_err().kind(),
            ErrorKind::TimedOut
        );
        let used = cpu() - before;
        eprintln!("a reader blocked for 1 s used {used:?} of CPU");
        assert!(used < Duration::from_millis(100), "{used:?}");
    });
}

/// Kills `peer` and returns the instant just before.
fn kill(peer: &mut Peer) -> Instant {
    let t = Instant::now();
    peer.kill();
    t
}

#[test]
fn peer_killed_blocked_writer_gets_broken_pipe() {
    if run_role() {
        return;
    }
    bounded(LIMIT, || {
        let n = name("shm-kill-w");
        let listener = LocalSocketListener::bind(n.as_str()).unwrap();
        let mut peer = Peer::spawn(
            "peer_killed_blocked_writer_gets_broken_pipe",
            "create_sink",
            &n,
        );
        let s = ShmStream::join(listener.accept().unwrap()).unwrap();
        assert_eq!(peer.expect("RESULT "), "ready");
        let writer = std::thread::spawn(move || {
            let e = (&s).write_all(&vec![1; 1 << 20]).unwrap_err();
            (e.kind(), Instant::now())
        });
        std::thread::sleep(Duration::from_millis(200)); // the writer fills the ring and sleeps
        let killed = kill(&mut peer);
        let (kind, at) = writer.join().unwrap();
        assert_eq!(kind, ErrorKind::BrokenPipe);
        let delay = at.saturating_duration_since(killed);
        eprintln!("blocked writer: BrokenPipe {delay:?} after SIGKILL of the peer");
        assert!(delay < Duration::from_secs(2), "{delay:?}");
    });
}

#[test]
fn peer_killed_blocked_reader_gets_eof_after_the_data() {
    if run_role() {
        return;
    }
    bounded(LIMIT, || {
        let n = name("shm-kill-r");
        let listener = LocalSocketListener::bind(n.as_str()).unwrap();
        let mut peer = Peer::spawn(
            "peer_killed_blocked_reader_gets_eof_after_the_data",
            "join_source",
            &n,
        );
        let s = ShmStream::create(listener.accept().unwrap(), &ShmOptions::new()).unwrap();
        assert_eq!(peer.expect("RESULT "), "wrote");
        let mut buf = vec![0; 4000];
        (&s).read_exact(&mut buf).unwrap();
        let reader = std::thread::spawn(move || {
            let mut rest = Vec::new();
            (&s).read_to_end(&mut rest).unwrap();
            (rest.len(), Instant::now())
        });
        std::thread::sleep(Duration::from_millis(200)); // the reader drains and sleeps
        let killed = kill(&mut peer);
        let (rest, at) = reader.join().unwrap();
        assert_eq!(rest, 6000, "everything published before the death is read");
        let delay = at.saturating_duration_since(killed);
        eprintln!("blocked reader: EOF {delay:?} after SIGKILL of the peer");
        assert!(delay < Duration::from_secs(2), "{delay:?}");
    });
}

/// The hello of the handshake (see `src/shm/handshake.rs`).
fn hello(magic: &[u8; 8], version: u32, caps: (u32, u32), region: u64, per_ring: u32) -> Vec<u8> {
    let page = 4096u32; // checked below against the real page size
    let mut h = Vec::with_capacity(40);
    h.extend_from_slice(magic);
    h.extend_from_slice(&version.to_le_bytes());
    h.extend_from_slice(&page.to_le_bytes());
    h.extend_from_slice(&caps.0.to_le_bytes());
    h.extend_from_slice(&caps.1.to_le_bytes());
    h.extend_from_slice(&region.to_le_bytes());
    h.extend_from_slice(&per_ring.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    h
}

/// A memfd named like ours, `len` bytes, sealed against resizing (or not).
#[cfg(unix)]
fn memfd(len: usize, sealed: bool) -> OwnedFd {
    // SAFETY: a valid C string; the result is checked.
    let fd = unsafe {
        libc::memfd_create(
            c"localipc-shm".as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    };
    assert!(fd >= 0);
    // SAFETY: a fresh descriptor owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: plain calls on a descriptor we own.
    unsafe {
        assert_eq!(
            libc::ftruncate(
                std::os::fd::AsRawFd::as_raw_fd(&fd),
                libc::off_t::try_from(len).unwrap()
            ),
            0
        );
        if sealed {
            let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;
            assert_eq!(
                libc::fcntl(
                    std::os::fd::AsRawFd::as_raw_fd(&fd),
                    libc::F_ADD_SEALS,
                    seals
                ),
                0
            );
        }
    }
    fd
}

/// Child role: each kind of nonsense a joiner can be sent is `InvalidData`, the socket is
/// closed, and no descriptor or mapping is left; likewise a creator sent a bad
/// acknowledgement.
fn nonsense() {
    // A region of two 4096-byte rings: (512 + 4096) rounded up to pages, twice.
    let ring = (512 + 4096usize).next_multiple_of(4096);
    let region = 2 * ring;
    assert_eq!(page_size(), 4096, "the handshake below assumes 4 KiB pages");
    let good_caps = (4096, 4096);
    // Warm up: lazily made handles (on Windows, this thread's event for overlapped I/O).
    let (c, d) = socket_pair(&name("shm-nonsense-warm"));
    (&c).write_all(b"w").unwrap();
    (&d).read_exact(&mut [0]).unwrap();
    drop((c, d));
    let file = std::fs::File::open(std::env::current_exe().unwrap()).unwrap();
    let per_ring = plat::PER_RING;
    // The region's handle and the wake handles of both rings, as `create` sends them.
    let with_bells = |region: OwnedFd| {
        let mut v = vec![region];
        v.extend(plat::bells());
        v
    };
    type Case = (&'static str, Vec<u8>, Vec<OwnedFd>);
    let cases: Vec<Case> = vec![
        (
            "wrong magic",
            hello(b"lipc-shX", 1, good_caps, region as u64, per_ring),
            with_bells(plat::region(region)),
        ),
        (
            "wrong version",
            hello(b"lipc-shm", 2, good_caps, region as u64, per_ring),
            with_bells(plat::region(region)),
        ),
        (
            "no handle",
            hello(b"lipc-shm", 1, good_caps, region as u64, per_ring),
            vec![],
        ),
        (
            "two handles",
            hello(b"lipc-shm", 1, good_caps, region as u64, per_ring),
            {
                let mut v = with_bells(plat::region(region));
                v.push(plat::region(region));
                v
            },
        ),
        (
            "a wrong number of wake handles per ring",
            hello(b"lipc-shm", 1, good_caps, region as u64, per_ring + 1),
            {
                let mut v = with_bells(plat::region(region));
                v.push(plat::other_handle());
                v.push(plat::other_handle());
                v
            },
        ),
        (
            "too-small region",
            hello(b"lipc-shm", 1, good_caps, region as u64, per_ring),
            with_bells(plat::region(region - 4096)),
        ),
        (
            plat::ODD_REGION,
            hello(b"lipc-shm", 1, good_caps, region as u64, per_ring),
            with_bells(plat::odd_region(region)),
        ),
        (
            "not a region",
            hello(b"lipc-shm", 1, good_caps, region as u64, per_ring),
            with_bells(OwnedFd::from(file)),
        ),
        (
            "inconsistent length",
            hello(b"lipc-shm", 1, good_caps, (region + 4096) as u64, per_ring),
            with_bells(plat::region(region + 4096)),
        ),
        (
            "capacity not a power of two",
            hello(b"lipc-shm", 1, (5000, 4096), region as u64, per_ring),
            with_bells(plat::region(region)),
        ),
        (
            "capacity too large",
            hello(b"lipc-shm", 1, (1 << 31, 4096), region as u64, per_ring),
            with_bells(plat::region(region)),
        ),
        (
            "cut short",
            hello(b"lipc-shm", 1, good_caps, region as u64, per_ring)[..20].to_vec(),
            with_bells(plat::region(region)),
        ),
    ];
    #[cfg(windows)]
    let cases = {
        let mut cases = cases;
        cases.push((
            "a section for a wake event",
            hello(b"lipc-shm", 1, good_caps, region as u64, per_ring),
            {
                let mut v = with_bells(plat::region(region));
                v[2] = plat::region(4096);
                v
            },
        ));
        cases
    };
    for (i, (what, bytes, fds)) in cases.into_iter().enumerate() {
        // The case's own descriptors are closed below: they do not count.
        let (fds_before, maps_before) = (fd_count() - fds.len(), shm_map_count());
        let (client, server) = socket_pair(&name(&format!("shm-nonsense-{i}")));
        let borrowed: Vec<_> = fds.iter().map(plat::borrow).collect();
        client.send_with_handles(&bytes, &borrowed).unwrap();
        drop(borrowed);
        drop(fds);
        if what == "cut short" {
            client.shutdown(Shutdown::Write).unwrap();
        }
        let e = ShmStream::join(server).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidData, "{what}: {e}");
        assert_eq!(
            shm_map_count(),
            maps_before,
            "{what}: a mapping left behind"
        );
        assert_eq!(
            (&client).read(&mut [0; 16]).unwrap(),
            0,
            "{what}: socket not closed"
        );
        drop(client);
        assert_eq!(fd_count(), fds_before, "{what}: a descriptor left behind");
    }
    // A creator answered with something that is not an acknowledgement.
    let (fds_before, maps_before) = (fd_count(), shm_map_count());
    let (client, server) = socket_pair(&name("shm-nonsense-ack"));
    let fake = std::thread::spawn(move || {
        let mut buf = [0; 40];
        let mut fds = Vec::with_capacity(8);
        let n = server.recv_with_handles(&mut buf, &mut fds).unwrap();
        assert_eq!((n, fds.len()), (40, 1 + 2 * plat::PER_RING as usize));
        (&server).write_all(b"lipc-ack\x02\0\0\0\0\0\0\0").unwrap(); // version 2
        let _ = (&server).read(&mut [0; 1]); // until the creator closes
    });
    let e = ShmStream::create(client, &small()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData, "{e}");
    fake.join().unwrap();
    assert_eq!(
        shm_map_count(),
        maps_before,
        "bad ack: a mapping left behind"
    );
    assert_eq!(fd_count(), fds_before, "bad ack: a descriptor left behind");
    println!("RESULT ok");
}

use plat::page_size;

#[test]
fn handshake_nonsense_is_invalid_data_and_leaves_nothing() {
    if run_role() {
        return;
    }
    let mut peer = Peer::spawn(
        "handshake_nonsense_is_invalid_data_and_leaves_nothing",
        "nonsense",
        "",
    );
    assert_eq!(peer.expect("RESULT "), "ok");
    peer.wait();
}

/// Create/join cycles of the leak test: 10,000; fewer under Windows, where a cycle under
/// Wine takes 2 to 6 ms (every call goes through wineserver) and the peer has
/// `PEER_LIMIT` (10 s) to answer.
const CYCLES: usize = if cfg!(windows) { 500 } else { 10_000 };

/// Child role: `CYCLES` create/join cycles leave the descriptor and mapping counts where they
/// were.
fn leaks() {
    let n = name("shm-leaks");
    // Shared with the joining thread, so that it stays open until after the counts.
    let listener = std::sync::Arc::new(LocalSocketListener::bind(n.as_str()).unwrap());
    let l = std::sync::Arc::clone(&listener);
    // Told when the joiner has dropped its end of a cycle (the creator's cycle may return
    // before that), so that the counts do not include it; the joiner thread lives until
    // after the last count (on Windows a thread holds handles: its own, its I/O event).
    let (dropped, was_dropped) = std::sync::mpsc::channel();
    let (done, is_done) = std::sync::mpsc::channel::<()>();
    let joiner = std::thread::spawn(move || {
        for _ in 0..=CYCLES {
            let s = ShmStream::join(l.accept().unwrap()).unwrap();
            let mut b = [0];
            (&s).read_exact(&mut b).unwrap();
            (&s).write_all(&b).unwrap();
            drop(s);
            let _ = dropped.send(());
        }
        let _ = is_done.recv();
    });
    let cycle = || {
        let s =
            ShmStream::create(LocalSocketStream::connect(n.as_str()).unwrap(), &small()).unwrap();
        (&s).write_all(&[1]).unwrap();
        (&s).read_exact(&mut [0]).unwrap();
    };
    cycle(); // warm up (lazy allocations)
    was_dropped.recv().unwrap();
    let (fds, maps) = (fd_count(), util::shm::map_count());
    let t = Instant::now();
    for _ in 0..CYCLES {
        cycle();
    }
    eprintln!("{CYCLES} create/join cycles took {:?}", t.elapsed());
    for _ in 0..CYCLES {
        was_dropped.recv().unwrap();
    }
    let (fds_after, maps_after) = (fd_count(), util::shm::map_count());
    drop(done);
    joiner.join().unwrap();
    println!(
        "RESULT fds {fds}->{fds_after} maps {maps}->{maps_after} shm {}",
        shm_map_count()
    );
    drop(listener);
}

#[test]
fn no_fd_or_mapping_leak_over_10000_cycles() {
    if run_role() {
        return;
    }
    let mut peer = Peer::spawn("no_fd_or_mapping_leak_over_10000_cycles", "leaks", "");
    let line = peer.expect("RESULT ");
    peer.wait();
    let nums: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    eprintln!("{line}");
    assert_eq!(nums[0], nums[1], "descriptors: {line}");
    // Thread stacks and allocator arenas may come and go; a leak of one mapping per cycle
    // would show as thousands.
    assert!(nums[3] <= nums[2] + 8, "mappings: {line}");
    assert_eq!(nums[4], 0, "shared regions still mapped: {line}");
}

/// Child role: connects `ROUNDS` times, plays the joiner's handshake by hand, maps the region
/// and writes random words over it (mostly the ring headers) for a while, then hangs up.
fn scribbler(name: &str) {
    for round in 0..ROUNDS {
        let conn = LocalSocketStream::connect(name).unwrap();
        let mut hello = [0u8; 40];
        let mut fds = Vec::with_capacity(8);
        let n = conn.recv_with_handles(&mut hello, &mut fds).unwrap();
        (&conn).read_exact(&mut hello[n..]).unwrap();
        let len = usize::try_from(u64::from_le_bytes(hello[24..32].try_into().unwrap())).unwrap();
        let ptr = plat::map(&fds[0], len);
        (&conn).write_all(b"lipc-ack\x01\0\0\0\0\0\0\0").unwrap();
        let mut rng = Rng(u64::from(std::process::id()) << 8 | round as u64 | 1);
        let words = len / 8;
        let ring_words = (512 + 4096usize).next_multiple_of(4096) / 8;
        let end = Instant::now() + Duration::from_millis(250);
        while Instant::now() < end {
            for _ in 0..200 {
                let i = match rng.below(4) {
                    0 => rng.below(words),
                    // a header word of either ring
                    _ => rng.below(64) + if rng.below(2) == 0 { 0 } else { ring_words },
                };
                // SAFETY: word i lies inside the mapping, 8-aligned; an atomic store.
                unsafe { &*ptr.cast::<u8>().add(i * 8).cast::<AtomicU64>() }
                    .store(rng.next() & mask(&mut rng), Ordering::Relaxed);
            }
            std::thread::yield_now();
        }
        plat::unmap(ptr, len);
    }
    println!("RESULT done");
}

/// Small values now and then: indices near the real ones get past the cheap checks.
fn mask(rng: &mut Rng) -> u64 {
    match rng.below(3) {
        0 => 0xfff,
        1 => 0xffff_ffff,
        _ => u64::MAX,
    }
}

const ROUNDS: usize = 8;

#[test]
fn hostile_scribbler_gives_only_errors_never_panics_or_hangs() {
    if run_role() {
        return;
    }
    bounded(Duration::from_secs(30), || {
        let n = name("shm-scribble");
        let listener = LocalSocketListener::bind(n.as_str()).unwrap();
        let mut peer = Peer::spawn(
            "hostile_scribbler_gives_only_errors_never_panics_or_hangs",
            "scribble",
            &n,
        );
        let mut rng = Rng(5);
        let mut seen = std::collections::BTreeMap::<String, usize>::new();
        let mut buf = vec![0u8; 6000];
        for _ in 0..ROUNDS {
            let s = ShmStream::create(listener.accept().unwrap(), &small()).unwrap();
            s.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
            s.set_write_timeout(Some(Duration::from_millis(10)))
                .unwrap();
            let end = Instant::now() + Duration::from_millis(400);
            while Instant::now() < end {
                let len = 1 + rng.below(5000);
                let t = Instant::now();
                let r: io::Result<usize> = match rng.below(4) {
                    0 => (&s).write(&buf[..len]),
                    1 => (&s).read(&mut buf[..len]),
                    2 => s.reserve(len.clamp(16, 4096)).and_then(|mut g| {
                        g.write_at(0, &[1; 16])?;
                        g.commit().map(|()| len)
                    }),
                    _ => s.read_grant().and_then(|g| {
                        let k = g.len().min(16);
                        g.read_at(0, &mut [0; 16][..k])?;
                        g.consume(k).map(|()| k)
                    }),
                };
                let took = t.elapsed();
                assert!(took < Duration::from_secs(1), "a call took {took:?}");
                let key = match r {
                    Ok(0) => "Ok(0)".to_string(),
                    Ok(_) => "Ok".to_string(),
                    Err(e) => {
                        assert!(
                            matches!(
                                e.kind(),
                                ErrorKind::InvalidData
                                    | ErrorKind::TimedOut
                                    | ErrorKind::BrokenPipe
                            ),
                            "unexpected error {e}"
                        );
                        format!("{:?}", e.kind())
                    }
                };
                *seen.entry(key).or_default() += 1;
            }
        }
        eprintln!("outcomes under scribbling: {seen:?}");
        assert_eq!(peer.expect("RESULT "), "done");
        peer.wait();
        assert!(seen.contains_key("InvalidData"), "{seen:?}");
    });
}

/// What differs between the platforms in these tests: thread CPU time, the handles of a
/// hand-made handshake, and mapping a region by hand.
#[cfg(unix)]
mod plat {
    use super::{memfd, Duration, OwnedFd};
    use std::os::fd::AsFd;

    /// Wake handles per ring in the handshake: none (both ends sleep on the index word).
    pub(super) const PER_RING: u32 = 0;
    /// The kind of region `odd_region` makes, as a case name.
    pub(super) const ODD_REGION: &str = "unsealed region";

    /// This thread's CPU time: `clock_gettime(CLOCK_THREAD_CPUTIME_ID)`.
    pub(super) fn thread_cpu() -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is valid for writes.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        Duration::new(
            u64::try_from(ts.tv_sec).unwrap(),
            u32::try_from(ts.tv_nsec).unwrap(),
        )
    }

    /// A region as `create` makes it: a sealed memfd.
    pub(super) fn region(len: usize) -> OwnedFd {
        memfd(len, true)
    }

    /// A region `create` would not make: an unsealed memfd.
    pub(super) fn odd_region(len: usize) -> OwnedFd {
        memfd(len, false)
    }

    /// The wake handles of both rings: none.
    pub(super) fn bells() -> Vec<OwnedFd> {
        Vec::new()
    }

    /// A handle where a wake handle would go.
    pub(super) fn other_handle() -> OwnedFd {
        memfd(4096, true)
    }

    pub(super) fn borrow(fd: &OwnedFd) -> std::os::fd::BorrowedFd<'_> {
        fd.as_fd()
    }

    pub(super) fn page_size() -> usize {
        // SAFETY: sysconf has no preconditions.
        usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap()
    }

    /// `mmap(MAP_SHARED)` of the whole region.
    pub(super) fn map(fd: &OwnedFd, len: usize) -> *mut u8 {
        // SAFETY: a fresh shared mapping of the received descriptor; checked for failure.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                std::os::fd::AsRawFd::as_raw_fd(fd),
                0,
            )
        };
        assert_ne!(ptr, libc::MAP_FAILED);
        ptr.cast()
    }

    pub(super) fn unmap(ptr: *mut u8, len: usize) {
        // SAFETY: a mapping made by `map`, unmapped once.
        unsafe { libc::munmap(ptr.cast(), len) };
    }
}

#[cfg(windows)]
mod plat {
    use super::{Duration, FromRawHandle, OwnedFd};
    use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle};
    use windows_sys::Win32::Foundation::{FILETIME, INVALID_HANDLE_VALUE};
    use windows_sys::Win32::System::Memory::{
        CreateFileMappingW, MapViewOfFile, UnmapViewOfFile, FILE_MAP_READ, FILE_MAP_WRITE,
        MEMORY_MAPPED_VIEW_ADDRESS, PAGE_READWRITE, SEC_RESERVE,
    };
    use windows_sys::Win32::System::SystemInformation::{GetSystemInfo, SYSTEM_INFO};
    use windows_sys::Win32::System::Threading::{CreateEventW, GetCurrentThread, GetThreadTimes};

    /// Wake handles per ring in the handshake: two auto-reset events.
    pub(super) const PER_RING: u32 = 2;
    /// The kind of region `odd_region` makes, as a case name.
    pub(super) const ODD_REGION: &str = "uncommitted (SEC_RESERVE) section";

    /// This thread's CPU time (kernel + user): `GetThreadTimes`.
    pub(super) fn thread_cpu() -> Duration {
        let z = FILETIME {
            dwLowDateTime: 0,
            dwHighDateTime: 0,
        };
        let (mut c, mut e, mut k, mut u) = (z, z, z, z);
        // SAFETY: the pseudo-handle of this thread; all four outputs are valid for writes.
        let ok = unsafe { GetThreadTimes(GetCurrentThread(), &mut c, &mut e, &mut k, &mut u) };
        assert_ne!(ok, 0, "GetThreadTimes: {}", std::io::Error::last_os_error());
        let t100ns = |f: FILETIME| u64::from(f.dwHighDateTime) << 32 | u64::from(f.dwLowDateTime);
        Duration::from_nanos((t100ns(k) + t100ns(u)) * 100)
    }

    /// `CreateFileMappingW` of the paging file, unnamed, with `flags`.
    fn section(len: usize, flags: u32) -> OwnedFd {
        // SAFETY: unnamed, default security; checked for NULL.
        let h = unsafe {
            CreateFileMappingW(
                INVALID_HANDLE_VALUE,
                std::ptr::null(),
                PAGE_READWRITE | flags,
                0,
                u32::try_from(len).unwrap(),
                std::ptr::null(),
            )
        };
        assert!(!h.is_null());
        // SAFETY: a fresh handle owned by nobody else.
        unsafe { OwnedFd::from_raw_handle(h) }
    }

    /// A region as `create` makes it: a committed paging-file section.
    pub(super) fn region(len: usize) -> OwnedFd {
        section(len, 0)
    }

    /// A region `create` would not make: a reserved, uncommitted section.
    pub(super) fn odd_region(len: usize) -> OwnedFd {
        section(len, SEC_RESERVE)
    }

    /// An unnamed auto-reset event.
    fn event() -> OwnedFd {
        // SAFETY: unnamed, default security; checked for NULL.
        let h = unsafe { CreateEventW(std::ptr::null(), 0, 0, std::ptr::null()) };
        assert!(!h.is_null());
        // SAFETY: a fresh handle owned by nobody else.
        unsafe { OwnedFd::from_raw_handle(h) }
    }

    /// The wake handles of both rings: four events.
    pub(super) fn bells() -> Vec<OwnedFd> {
        (0..4).map(|_| event()).collect()
    }

    /// A handle where a wake handle would go.
    pub(super) fn other_handle() -> OwnedFd {
        event()
    }

    pub(super) fn borrow(h: &OwnedFd) -> BorrowedHandle<'_> {
        h.as_handle()
    }

    pub(super) fn page_size() -> usize {
        let mut info = SYSTEM_INFO::default();
        // SAFETY: `info` is valid for writes.
        unsafe { GetSystemInfo(&mut info) };
        usize::try_from(info.dwPageSize).unwrap()
    }

    /// `MapViewOfFile` of `len` bytes of the section, read-write.
    pub(super) fn map(h: &OwnedFd, len: usize) -> *mut u8 {
        // SAFETY: a fresh view of the received section; checked for NULL.
        let view =
            unsafe { MapViewOfFile(h.as_raw_handle(), FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, len) };
        assert!(!view.Value.is_null());
        view.Value.cast()
    }

    pub(super) fn unmap(ptr: *mut u8, _len: usize) {
        // SAFETY: a view made by `map`, unmapped once.
        unsafe { UnmapViewOfFile(MEMORY_MAPPED_VIEW_ADDRESS { Value: ptr.cast() }) };
    }
}
