//! The ring waiter on FreeBSD: `_umtx_op` on the shared index word, with the process-shared
//! operations (`UMTX_OP_WAIT_UINT`, `UMTX_OP_WAKE`, not their `_PRIVATE` forms), so the kernel
//! keys the wait on the shared page.

use crate::shm::ring::Waiter;
use std::io;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// The process-shared `_umtx_op` waiter.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Umtx;

impl Waiter for Umtx {
    /// `_umtx_op(word, UMTX_OP_WAIT_UINT, expected, NULL, &timeout)` (a relative
    /// `timespec`); `EINTR` and `ETIMEDOUT` are `Ok`: the caller re-checks.
    fn wait(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> io::Result<()> {
        let mut ts = timeout.map(|d| libc::timespec {
            tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: d.subsec_nanos().into(),
        });
        let ts_ptr = ts
            .as_mut()
            .map_or(std::ptr::null_mut(), |t| std::ptr::from_mut(t).cast());
        // SAFETY: `word` is a live, aligned u32 for the call; `ts_ptr` is null or points to a
        // timespec that outlives the call; a null `uaddr` says "a plain timespec follows".
        let r = unsafe {
            libc::_umtx_op(
                word.as_ptr().cast(),
                libc::UMTX_OP_WAIT_UINT,
                libc::c_ulong::from(expected),
                std::ptr::null_mut(),
                ts_ptr,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) | Some(libc::ETIMEDOUT) => Ok(()),
            _ => Err(err),
        }
    }

    /// `_umtx_op(word, UMTX_OP_WAKE, 1, NULL, NULL)`.
    fn wake(&self, word: &AtomicU32) {
        // SAFETY: `word` is a live u32 for the call; no other pointer is passed.
        // Nothing to do on failure: the sleeper's timeout bounds a missed wake.
        let _ = unsafe {
            libc::_umtx_op(
                word.as_ptr().cast(),
                libc::UMTX_OP_WAKE,
                1,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
    }
}
