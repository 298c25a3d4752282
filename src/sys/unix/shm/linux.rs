//! The ring waiter on Linux and Android: a futex on the shared index word.

use crate::shm::ring::Waiter;
use rustix::thread::futex;
use std::io;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// The ring [`Waiter`] across processes: `futex(FUTEX_WAIT)` with a relative timeout and
/// `futex(FUTEX_WAKE)`, without `FUTEX_PRIVATE_FLAG` so that the kernel keys the wait on the
/// shared page, not on this process's address space.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Futex;

impl Waiter for Futex {
    /// `futex(word, FUTEX_WAIT, expected, timeout)`; `EAGAIN` (the word changed), `ETIMEDOUT`
    /// and `EINTR` are `Ok`: the caller re-checks.
    fn wait(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> io::Result<()> {
        let ts = timeout.map(|d| futex::Timespec {
            tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: d.subsec_nanos().into(),
        });
        match futex::wait(word, futex::Flags::empty(), expected, ts.as_ref()) {
            Ok(()) => Ok(()),
            Err(e)
                if e == rustix::io::Errno::AGAIN
                    || e == rustix::io::Errno::TIMEDOUT
                    || e == rustix::io::Errno::INTR =>
            {
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `futex(word, FUTEX_WAKE, 1)`: one side sleeps on a word at a time.
    fn wake(&self, word: &AtomicU32) {
        // Nothing to do on failure: the sleeper's timeout bounds a missed wake.
        let _ = futex::wake(word, futex::Flags::empty(), 1);
    }
}
