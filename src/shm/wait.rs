//! How a blocked call waits: an adaptive spin, then sleeps in slices on the ring's waiter,
//! checking between slices that the peer is alive (the socket) and the deadline.

use crate::sys;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The longest single sleep: the peer's death is noticed between slices, so within this
/// (plus a `recv` call) of the wait starting to sleep.
pub(crate) const SLICE: Duration = Duration::from_millis(25);
/// Blocked waits with no spin budget before one probe spin.
const PROBE_EVERY: u32 = 64;

/// What a step of the wait does: look without sleeping, or sleep at most this long.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step {
    Poll,
    Sleep(Duration),
}

/// How a wait ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Woke {
    /// The step reported progress (or a close by the peer).
    Ready,
    /// The socket says the peer is gone.
    Gone,
    /// The deadline passed.
    TimedOut,
}

/// One direction's adaptive spin budget.
#[derive(Debug)]
pub(crate) struct Spin {
    max: Duration,
    cur: Duration,
    idle: u32,
    /// Only one CPU to run on: "spinning" yields the CPU (`sched_yield`) instead, so that a
    /// runnable peer gets it at once and neither side pays a futex wake.
    yields: bool,
}

impl Spin {
    /// A budget of at most `max`, spent yielding the CPU rather than spinning if `yields`
    /// (see [`one_shared_cpu`]).
    pub(crate) fn new(max: Duration, yields: bool) -> Spin {
        Spin {
            max,
            cur: max,
            idle: 0,
            yields,
        }
    }

    /// The budget for this wait.
    fn budget(&mut self) -> Duration {
        if self.max.is_zero() {
            return Duration::ZERO;
        }
        if self.cur.is_zero() {
            self.idle += 1;
            if self.idle >= PROBE_EVERY {
                self.idle = 0;
                return self.max / 8;
            }
        }
        self.cur
    }

    fn succeeded(&mut self) {
        self.cur = (self.cur * 2 + Duration::from_micros(1)).min(self.max);
    }

    fn failed(&mut self) {
        self.cur /= 2;
        if self.cur < Duration::from_micros(1) {
            self.cur = Duration::ZERO;
        }
    }
}

/// Whether this thread and the peer share a single CPU, so that spinning would only keep the
/// peer from running: this thread may run on one CPU only and the peer process is not known
/// to run elsewhere (`sys::shm::cpus`: `sched_getaffinity` of both on Linux; elsewhere
/// `available_parallelism`). Pinned to two different CPUs, they spin. `peer_pid` is asked
/// only in that one-CPU case (it costs a credentials query).
pub(crate) fn one_shared_cpu(peer_pid: impl FnOnce() -> Option<u32>) -> bool {
    match sys::shm::cpus(None) {
        Some(mine) if mine.len() == 1 => match peer_pid() {
            Some(pid) => sys::shm::cpus(Some(pid)).is_none_or(|theirs| theirs == mine),
            None => true,
        },
        Some(_) => false,
        None => std::thread::available_parallelism().is_ok_and(|n| n.get() == 1),
    }
}

/// A timeout setting (`None`: wait forever), stored as nanoseconds (0 = none).
#[derive(Debug, Default)]
pub(crate) struct Timeout(AtomicU64);

impl Timeout {
    /// `Some(ZERO)` is `InvalidInput`, as for std's sockets.
    pub(crate) fn set(&self, t: Option<Duration>) -> io::Result<()> {
        let nanos = match t {
            None => 0,
            Some(d) if d.is_zero() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "cannot set a 0 duration timeout",
                ))
            }
            Some(d) => u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
        };
        self.0.store(nanos, Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn get(&self) -> Option<Duration> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            n => Some(Duration::from_nanos(n)),
        }
    }
}

/// Waits until `step` reports readiness (`Ok(true)`), the peer is gone, or `timeout` passes:
/// first polls for the spin budget, then sleeps in slices of at most [`SLICE`], calling
/// `sys::shm::peer_gone` on the socket after each slice that ends without progress.
pub(crate) fn block(
    spin: &mut Spin,
    timeout: Option<Duration>,
    sock: &sys::Stream,
    mut step: impl FnMut(Step) -> io::Result<bool>,
) -> io::Result<Woke> {
    let start = Instant::now();
    let budget = spin.budget();
    if !budget.is_zero() {
        let until = start + timeout.map_or(budget, |t| t.min(budget));
        loop {
            if step(Step::Poll)? {
                spin.succeeded();
                return Ok(Woke::Ready);
            }
            if Instant::now() >= until {
                break;
            }
            if spin.yields {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        spin.failed();
    }
    let deadline = timeout.map(|t| start + t);
    loop {
        let slice = match deadline {
            None => SLICE,
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => left.min(SLICE),
                _ => return Ok(Woke::TimedOut),
            },
        };
        if step(Step::Sleep(slice))? {
            return Ok(Woke::Ready);
        }
        if sys::shm::peer_gone(sock)? {
            return Ok(Woke::Gone);
        }
    }
}
