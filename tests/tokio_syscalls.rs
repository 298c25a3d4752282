//! The async tax: system calls per 64 B round trip between two tokio streams, counted by the
//! kernel (the `raw_syscalls:sys_enter` tracepoint through `perf_event_open`, on every thread
//! of this process). Linux only, and only where tracepoints may be counted (root, as in CI);
//! elsewhere the test says why and passes. Counts, not time: they do not depend on the
//! machine's speed or load.
#![cfg(all(target_os = "linux", feature = "tokio"))]

mod util;

use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use util::syscalls::{counters, total};
use util::{any_name, kernel_has_so_inq, TestDir};

const ROUND_TRIPS: usize = 5_000;

/// Pins the calling thread to `cpu`: both sides share one CPU, as in `localipc bench`, so the
/// count does not depend on whether the other side runs at the same time elsewhere (with two
/// CPUs a reader more often finds the reply not there yet: one `EAGAIN` read more).
fn pin(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET and sched_setaffinity(0 = this
    // thread) get a valid pointer to it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        assert_eq!(
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set),
            0
        );
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Before: 8.0 per round trip (as tokio's own `UnixStream`): per side a `send`, a read, a
/// read failing with `EAGAIN` and an `epoll_wait`, plus `epoll_wait` calls woken by the
/// `EPOLLOUT` edge each read by the peer queues for the writer. The streams wait for
/// writability only once a write found the buffer full (8.0 -> 6.3), and with `SO_INQ`
/// (Linux 6.17 and later) a read that leaves nothing in the socket clears the readiness, so
/// the next read waits in `epoll_wait` without the `EAGAIN` read first: 6.00, the floor of a
/// reactor (per side: `send`, `epoll_wait`, `recvmsg`). Bounded at 6.1 with `SO_INQ`
/// (measured 6.00 every run; 6.3 with it off) and at 6.8 without (6.2 to 6.3), so that
/// scheduling cannot fail it. Both sides run on one CPU (see `pin`).
#[test]
fn a_64_byte_round_trip_costs_at_most_6_system_calls() {
    const WARM_UP: usize = 100;
    let dir = TestDir::new("tokio-syscalls");
    let name = any_name(&dir, &util::unique("tokio-syscalls"));
    // SAFETY: sched_getcpu has no preconditions.
    let cpu = usize::try_from(unsafe { libc::sched_getcpu() }).unwrap_or(0);
    pin(cpu);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn({
        let name = name.clone();
        move || {
            pin(cpu);
            runtime().block_on(async {
                let listener = LocalSocketListener::bind(name.as_str()).unwrap();
                ready_tx.send(()).unwrap();
                let mut s = listener.accept().await.unwrap();
                let mut msg = [0; 64];
                for _ in 0..WARM_UP + ROUND_TRIPS {
                    s.read_exact(&mut msg).await.unwrap();
                    s.write_all(&msg).await.unwrap();
                }
            })
        }
    });
    ready_rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    let per_round_trip = runtime().block_on(async {
        let mut c = LocalSocketStream::connect(name.as_str()).await.unwrap();
        let mut msg = [0x5a; 64];
        for _ in 0..WARM_UP {
            c.write_all(&msg).await.unwrap();
            c.read_exact(&mut msg).await.unwrap();
        }
        let fds = match counters() {
            Ok(fds) => fds,
            Err(why) => {
                eprintln!("not counted: {why} (needs root)");
                for _ in 0..ROUND_TRIPS {
                    c.write_all(&msg).await.unwrap();
                    c.read_exact(&mut msg).await.unwrap();
                }
                return None;
            }
        };
        for _ in 0..ROUND_TRIPS {
            c.write_all(&msg).await.unwrap();
            c.read_exact(&mut msg).await.unwrap();
        }
        Some(total(&fds) as f64 / ROUND_TRIPS as f64)
    });
    server.join().unwrap();
    if let Some(n) = per_round_trip {
        let (bound, why) = if kernel_has_so_inq() {
            (6.1, "SO_INQ on")
        } else {
            (
                6.8,
                "this kernel has no SO_INQ (before Linux 6.17): one EAGAIN read per message more",
            )
        };
        eprintln!("{n:.2} system calls per round trip ({why}; bound {bound})");
        assert!(
            n <= bound,
            "{n:.2} system calls per 64 B round trip ({why})"
        );
    }
}
