//! Unix socket files under races: binders racing for one path, a listener's drop racing its
//! successor's bind, and reclaim against a live server whose backlog is full.
#![cfg(unix)]

mod util;

use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
use std::io::ErrorKind;
#[cfg(any(target_os = "linux", target_os = "android"))]
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
#[cfg(any(target_os = "linux", target_os = "android"))]
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::sync::Barrier;
use std::time::{Duration, Instant};
use util::{bounded, TestDir, LIMIT};

const ROUNDS: usize = 3000;

/// Whether a client connecting to `path` now is queued on `listener` (nonblocking `accept`
/// right after the connect: a Unix `connect` completes at once).
fn reaches(path: &Path, listener: &LocalSocketListener) -> bool {
    let Ok(_client) = LocalSocketStream::connect(path) else {
        return false;
    };
    listener.set_nonblocking(true).unwrap();
    let ok = listener.accept().is_ok();
    listener.set_nonblocking(false).unwrap();
    ok
}

/// Nothing is left in `dir` (no socket file, no temporary directory).
fn assert_no_litter(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[cfg(any(target_os = "linux", target_os = "android"))]
/// Nonblocking connects to `path` until one fails with `EAGAIN` (the backlog is full); the
/// connected sockets, which keep it full while they are open.
fn fill_backlog(path: &Path, max: usize) -> Vec<OwnedFd> {
    let mut held = Vec::new();
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    for _ in 0..max {
        // SAFETY: plain syscalls; the sockaddr_un is zeroed and then filled within bounds.
        unsafe {
            let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_NONBLOCK, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let fd = OwnedFd::from_raw_fd(fd);
            let mut sa: libc::sockaddr_un = std::mem::zeroed();
            sa.sun_family = libc::sa_family_t::try_from(libc::AF_UNIX).unwrap();
            for (d, s) in sa.sun_path.iter_mut().zip(c_path.as_bytes()) {
                *d = libc::c_char::from_ne_bytes([*s]);
            }
            let len = libc::socklen_t::try_from(std::mem::size_of::<libc::sockaddr_un>()).unwrap();
            let r = libc::connect(
                fd.as_raw_fd(),
                (&sa as *const libc::sockaddr_un).cast(),
                len,
            );
            if r != 0 {
                let e = std::io::Error::last_os_error();
                assert_eq!(e.kind(), ErrorKind::WouldBlock, "connect: {e}");
                return held;
            }
            held.push(fd);
        }
    }
    panic!("the backlog of {} took {max} connections", path.display());
}

#[cfg(any(target_os = "linux", target_os = "android"))]
/// Binds `path` with reclaim on (the default) and checks it answers `AddrInUse` within 1 s.
fn reclaim_is_refused_at_once(path: &Path) {
    let p = path.to_owned();
    let started = Instant::now();
    // Bounded: before the fix the probe was a blocking connect that never returned.
    let err = bounded(Duration::from_secs(5), move || {
        LocalSocketListener::bind(p.as_path()).map(drop)
    })
    .unwrap_err();
    let took = started.elapsed();
    util::assert_err(err, ErrorKind::AddrInUse, path.to_str().unwrap());
    assert!(took < Duration::from_secs(1), "bind took {took:?}");
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
fn reclaim_against_a_full_listen0_backlog_is_addr_in_use_at_once() {
    bounded(LIMIT, || {
        let dir = TestDir::new("full0");
        let path = dir.join("s.sock");
        let live = UnixListener::bind(&path).unwrap();
        // SAFETY: plain syscall on an open listening socket: its backlog becomes 0.
        assert_eq!(unsafe { libc::listen(live.as_raw_fd(), 0) }, 0);
        let held = fill_backlog(&path, 100);
        reclaim_is_refused_at_once(&path);
        drop(held);
        drop(live);
        std::fs::remove_file(&path).unwrap();
    });
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
fn reclaim_against_our_own_full_listener_is_addr_in_use_at_once() {
    // One descriptor per queued client: SOMAXCONN (4096 on current Linux) and then some.
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid rlimit to fill in, then to set (raising soft to hard only).
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
    if lim.rlim_cur < 9000 {
        eprintln!(
            "note: descriptor limit {} too low to fill a backlog; skipped",
            lim.rlim_cur
        );
        return;
    }
    bounded(LIMIT, || {
        let dir = TestDir::new("fullown");
        let path = dir.join("s.sock");
        let live = LocalSocketListener::bind(path.as_path()).unwrap();
        let held = fill_backlog(&path, 70_000);
        reclaim_is_refused_at_once(&path);
        assert!(path.exists(), "the live listener's file was removed");
        drop(held);
        drop(live);
    });
}

#[test]
fn two_binders_racing_for_a_path_one_wins_and_is_reachable() {
    bounded(LIMIT * 2, || {
        let dir = TestDir::new("race2");
        let path = dir.join("s.sock");
        let (mut both_ok, mut both_failed, mut other_error, mut unreachable) = (0, 0, 0, 0);
        for _ in 0..ROUNDS {
            let barrier = Barrier::new(2);
            let bind = || {
                barrier.wait();
                LocalSocketListener::bind(path.as_path())
            };
            let (a, b) = std::thread::scope(|s| {
                let a = s.spawn(bind);
                let b = s.spawn(bind);
                (a.join().unwrap(), b.join().unwrap())
            });
            match (a, b) {
                (Ok(_), Ok(_)) => both_ok += 1,
                (Ok(winner), Err(e)) | (Err(e), Ok(winner)) => {
                    if e.kind() != ErrorKind::AddrInUse {
                        other_error += 1;
                        eprintln!("loser's error: {e}");
                    }
                    if !reaches(&path, &winner) {
                        unreachable += 1;
                    }
                }
                (Err(a), Err(b)) => {
                    both_failed += 1;
                    eprintln!("both failed: {a}; {b}");
                }
            }
            let _ = std::fs::remove_file(&path); // after an unreachable winner's drop
        }
        assert_no_litter(dir.path());
        assert_eq!(
            (both_ok, both_failed, other_error, unreachable),
            (0, 0, 0, 0),
            "of {ROUNDS} rounds: (both succeeded, both failed, loser's error not AddrInUse, \
             winner unreachable)"
        );
    });
}

#[test]
fn drop_racing_a_successors_bind_never_removes_the_successors_file() {
    bounded(LIMIT * 2, || {
        let dir = TestDir::new("dropsucc");
        let path = dir.join("s.sock");
        let (mut lost, mut other_error) = (0, 0);
        for _ in 0..ROUNDS {
            let first = LocalSocketListener::bind(path.as_path()).unwrap();
            let barrier = Barrier::new(2);
            let successor = std::thread::scope(|s| {
                s.spawn(|| {
                    barrier.wait();
                    drop(first);
                });
                let successor = s.spawn(|| {
                    barrier.wait();
                    let deadline = Instant::now() + Duration::from_secs(5);
                    loop {
                        match LocalSocketListener::bind(path.as_path()) {
                            Ok(l) => return Ok(l),
                            Err(e) => {
                                // AddrInUse until the first is gone; anything else is counted.
                                assert!(Instant::now() < deadline, "still failing: {e}");
                                if e.kind() != ErrorKind::AddrInUse {
                                    eprintln!("successor's bind: {e}");
                                    return Err(());
                                }
                            }
                        }
                    }
                });
                successor.join().unwrap()
            });
            let Ok(successor) = successor else {
                other_error += 1;
                continue;
            };
            if !reaches(&path, &successor) {
                lost += 1;
            }
        }
        assert_no_litter(dir.path());
        assert_eq!(
            (lost, other_error),
            (0, 0),
            "of {ROUNDS} rounds: (successor's file removed, successor's bind failed otherwise)"
        );
    });
}
