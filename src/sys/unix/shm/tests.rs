//! The memfd region, its checks, and the ring over it with the futex waiter: two threads, and
//! a second process scribbling over the whole region.

use super::memfd::REQUIRED_SEALS;
use super::*;
use crate::local_socket::{LocalSocketListener, LocalSocketStream};
use crate::shm::ring::{self, Consumer, Producer, HEADER_LEN};
use rustix::fs::{MemfdFlags, SealFlags};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A lost wake-up shows as a wait that lasts this long while the other side is busy.
const LOST_WAKE: Duration = Duration::from_secs(3);

fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(131) ^ (i >> 11)).to_le_bytes()[0]
}

/// FNV-1a, folded over a stream.
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }
}

#[test]
fn create_seals_and_two_mappings_alias() {
    let (fd, a) = create(8192).unwrap();
    let b = map_received(fd.as_fd(), 8192).unwrap();
    assert_eq!(b.len(), 8192);
    // SAFETY: offset 4096 is inside both 8192-byte mappings, 8-aligned; atomics may alias.
    let (wa, wb) = unsafe {
        (
            &*a.as_ptr().add(4096).cast::<AtomicU64>(),
            &*b.as_ptr().add(4096).cast::<AtomicU64>(),
        )
    };
    wa.store(0x1234_5678_9abc_def0, Ordering::SeqCst);
    assert_eq!(wb.load(Ordering::SeqCst), 0x1234_5678_9abc_def0);
    let seals = rustix::fs::fcntl_get_seals(&fd).unwrap();
    assert!(seals.contains(REQUIRED_SEALS));
    assert!(
        rustix::fs::ftruncate(&fd, 100).is_err(),
        "sealed against shrinking"
    );
    assert!(
        rustix::fs::ftruncate(&fd, 1 << 20).is_err(),
        "sealed against growing"
    );
}

#[test]
fn received_region_is_checked() {
    let kind = |r: io::Result<Mapping>| r.unwrap_err().kind();
    let (fd, _map) = create(8192).unwrap();
    assert_eq!(
        kind(map_received(fd.as_fd(), 4096)),
        io::ErrorKind::InvalidData
    );
    assert_eq!(
        kind(map_received(fd.as_fd(), 16384)),
        io::ErrorKind::InvalidData
    );
    // Unsealed, and sealable but only partly sealed.
    let raw = rustix::fs::memfd_create("t", MemfdFlags::CLOEXEC).unwrap();
    rustix::fs::ftruncate(&raw, 8192).unwrap();
    assert_eq!(
        kind(map_received(raw.as_fd(), 8192)),
        io::ErrorKind::InvalidData
    );
    let part =
        rustix::fs::memfd_create("t", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
    rustix::fs::ftruncate(&part, 8192).unwrap();
    rustix::fs::fcntl_add_seals(&part, SealFlags::GROW).unwrap();
    assert_eq!(
        kind(map_received(part.as_fd(), 8192)),
        io::ErrorKind::InvalidData
    );
    // Not a memory file at all.
    let (sock, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    assert_eq!(
        kind(map_received(sock.as_fd(), 8192)),
        io::ErrorKind::InvalidData
    );
}

/// 16 MiB through a 64 KiB ring over two separate mappings of one memfd, both sides blocking
/// on the futex; checksums on both ends and byte-by-byte checks. A lost wake-up fails within
/// `LOST_WAKE` instead of hanging.
#[test]
fn futex_two_threads_16_mib() {
    const TOTAL: usize = 16 << 20;
    let cap: u32 = 64 << 10;
    let len = HEADER_LEN + 65536;
    let (fd, wmap) = create(len).unwrap();
    let rmap = map_received(fd.as_fd(), len).unwrap();
    // SAFETY: both mappings live until the end of this function, after both ends are dropped
    // (the writer thread is joined within the scope).
    let (p, c) = unsafe {
        ring::init(wmap.as_ptr(), len, cap).unwrap();
        (
            Producer::new(wmap.as_ptr(), len, cap).unwrap(),
            Consumer::new(rmap.as_ptr(), len, cap).unwrap(),
        )
    };
    let wait = |what: &str, at: usize, f: &mut dyn FnMut() -> io::Result<bool>| {
        let start = Instant::now();
        f().unwrap();
        assert!(
            start.elapsed() < LOST_WAKE,
            "{what} slept {:?} at byte {at}: lost wake-up",
            start.elapsed()
        );
    };
    std::thread::scope(|s| {
        let writer = s.spawn(move || {
            let (mut p, mut rng, mut sent, mut sum) = (p, Rng(1), 0, 0xcbf2_9ce4_8422_2325);
            let mut chunk = vec![0u8; 100_000];
            while sent < TOTAL {
                let n = (1 + rng.below(100_000)).min(TOTAL - sent);
                for (i, b) in chunk[..n].iter_mut().enumerate() {
                    *b = pattern(sent + i);
                }
                sum = fnv(sum, &chunk[..n]);
                let mut done = 0;
                while done < n {
                    let k = p.write(&chunk[done..n], &Futex).unwrap();
                    done += k;
                    if k == 0 {
                        wait("writer", sent + done, &mut || {
                            p.wait_writable(&Futex, Some(LOST_WAKE * 2))
                        });
                    }
                }
                sent += n;
            }
            sum
        });
        let (mut c, mut rng, mut got, mut sum) = (c, Rng(2), 0, 0xcbf2_9ce4_8422_2325);
        let mut buf = vec![0u8; 100_000];
        while got < TOTAL {
            let n = 1 + rng.below(100_000);
            let k = c.read(&mut buf[..n], &Futex).unwrap();
            if k == 0 {
                wait("reader", got, &mut || {
                    c.wait_readable(&Futex, Some(LOST_WAKE * 2))
                });
            }
            for (i, b) in buf[..k].iter().enumerate() {
                assert_eq!(*b, pattern(got + i), "stream byte {}", got + i);
            }
            sum = fnv(sum, &buf[..k]);
            got += k;
        }
        assert_eq!(writer.join().unwrap(), sum, "checksums");
    });
}

/// Environment variable naming the socket the scribbler child connects to.
const SCRIBBLER_ENV: &str = "LOCALIPC_SHM_SCRIBBLER";

/// The child role of `hostile_process_scribbles_whole_region`: receives the memfd over the
/// socket, maps it, and writes random words over the whole region until killed (at most 20 s).
#[test]
fn scribbler_child() {
    let Ok(name) = std::env::var(SCRIBBLER_ENV) else {
        return; // an ordinary test run: nothing to do
    };
    let conn = LocalSocketStream::connect(name.as_str()).unwrap();
    let mut buf = [0u8; 8];
    let mut fds = Vec::with_capacity(1);
    let n = conn.recv_with_handles(&mut buf, &mut fds).unwrap();
    assert_eq!((n, fds.len()), (8, 1));
    let len = usize::try_from(u64::from_le_bytes(buf)).unwrap();
    let map = map_received(fds[0].as_fd(), len).unwrap();
    println!("scribbling");
    let words = len / 8;
    let mut rng = Rng(u64::from(std::process::id()) | 1);
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        for _ in 0..1000 {
            let i = rng.below(words);
            // Mostly the header (where it hurts), sometimes anywhere.
            let i = if rng.below(4) == 0 {
                i
            } else {
                i % (HEADER_LEN / 8)
            };
            // SAFETY: word i is inside the mapping, 8-aligned; an atomic store.
            unsafe { &*map.as_ptr().add(i * 8).cast::<AtomicU64>() }
                .store(rng.next(), Ordering::Relaxed);
        }
    }
}

/// A real second process maps the memfd it received with `SCM_RIGHTS` and scribbles random
/// bytes over the whole region while this process writes, reads and waits on the ring with
/// the futex: every call returns `Ok` or `InvalidData`, within its timeout, never a panic.
#[test]
fn hostile_process_scribbles_whole_region() {
    let cap: u32 = 4096;
    let len = HEADER_LEN + 4096;
    let (fd, map) = create(len).unwrap();
    // SAFETY: the mapping outlives the ring ends (dropped before it at the end of the test).
    unsafe { ring::init(map.as_ptr(), len, cap).unwrap() };
    let name = format!(
        "@localipc-shm-scribbler-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() ^ u128::from(Rng(std::process::id().into()).next())
    );
    let listener = LocalSocketListener::bind(name.as_str()).unwrap();
    let mut cmd = localipc_child::LineChild::this_executable("scribbler").unwrap();
    cmd.args([
        "--exact",
        "sys::unix::shm::tests::scribbler_child",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(SCRIBBLER_ENV, &name);
    let mut child = localipc_child::LineChild::spawn("scribbler", cmd).unwrap();
    let conn = listener.accept().unwrap();
    let size = u64::try_from(len).unwrap().to_le_bytes();
    conn.send_with_handles(&size, &[fd.as_fd()]).unwrap();
    loop {
        let line = child.next_line(Some(Duration::from_secs(20))).unwrap();
        if line.contains("scribbling") {
            break;
        }
    }
    let mut rng = Rng(99);
    let (mut ok, mut bad) = (0u32, 0u32);
    let mut buf = vec![0u8; 6000];
    let end = Instant::now() + Duration::from_secs(2);
    let mut ends = None;
    while Instant::now() < end {
        // SAFETY: as above.
        let (p, c) = ends.get_or_insert_with(|| unsafe {
            (
                Producer::new(map.as_ptr(), len, cap).unwrap(),
                Consumer::new(map.as_ptr(), len, cap).unwrap(),
            )
        });
        let n = rng.below(6000);
        let start = Instant::now();
        let res = match rng.below(4) {
            0 => p.write(&buf[..n], &Futex),
            1 => c.read(&mut buf[..n], &Futex),
            2 => p
                .wait_writable(&Futex, Some(Duration::from_millis(5)))
                .map(usize::from),
            _ => c
                .wait_readable(&Futex, Some(Duration::from_millis(5)))
                .map(usize::from),
        };
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "a call took {:?}",
            start.elapsed()
        );
        match res {
            Ok(k) => {
                assert!(k <= n.max(1));
                ok += 1;
            }
            Err(e) => {
                assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
                bad += 1;
                if rng.below(8) == 0 {
                    ends = None; // start over now and then
                }
            }
        }
    }
    child.kill();
    assert!(
        bad > 0 && ok > 0,
        "both outcomes seen: {ok} ok, {bad} InvalidData"
    );
}
