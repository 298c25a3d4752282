//! The region and the ring waiter on macOS (and the other Apple systems): an `shm_open`
//! object under a random name, unlinked (`shm_unlink`) at once, so nothing named outlives the
//! call; and `__ulock_wait`/`__ulock_wake` with `UL_COMPARE_AND_WAIT_SHARED`, the
//! process-shared compare-and-wait that libc++ and Swift's runtime use. The two ulock calls
//! are not in the libc crate: they are declared here, as Apple's `sys/ulock.h` (xnu) gives
//! them. Type-checked only in this crate's CI.

use super::Mapping;
use crate::shm::ring::Waiter;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// `UL_COMPARE_AND_WAIT_SHARED` (xnu `sys/ulock.h`): compare a `u32` and wait, keyed on the
/// physical page so that it works across processes.
const UL_COMPARE_AND_WAIT_SHARED: u32 = 3;

extern "C" {
    /// `int __ulock_wait(uint32_t operation, void *addr, uint64_t value, uint32_t timeout_us)`;
    /// a timeout of 0 waits without limit.
    fn __ulock_wait(
        operation: u32,
        addr: *mut libc::c_void,
        value: u64,
        timeout_us: u32,
    ) -> libc::c_int;
    /// `int __ulock_wake(uint32_t operation, void *addr, uint64_t wake_value)`.
    fn __ulock_wake(operation: u32, addr: *mut libc::c_void, wake_value: u64) -> libc::c_int;
}

/// A new anonymous region of `len` bytes, zeroed: `shm_open(random name, O_RDWR | O_CREAT |
/// O_EXCL, 0600)`, `shm_unlink` of that name at once, `ftruncate` (macOS allows it once, so
/// the peer cannot resize the object afterwards), then `mmap(MAP_SHARED)`. The descriptor is
/// for the peer.
pub(crate) fn create(len: usize) -> io::Result<(OwnedFd, Mapping)> {
    let size = libc::off_t::try_from(len).map_err(|_| {
        io::Error::new(io::ErrorKind::InvalidInput, "shared memory: size too large")
    })?;
    let fd = open_unlinked()?;
    // SAFETY: plain call on a descriptor we own.
    if unsafe { libc::ftruncate(fd.as_raw_fd(), size) } == -1 {
        return Err(io::Error::last_os_error());
    }
    let map = Mapping::new(fd.as_fd(), len)?;
    Ok((fd, map))
}

/// `shm_open` under a fresh random name (`arc4random_buf`; retried on `EEXIST`), then
/// `shm_unlink` at once.
fn open_unlinked() -> io::Result<OwnedFd> {
    for _ in 0..16 {
        let mut nonce = [0u8; 8];
        // SAFETY: `nonce` is valid for writes of its length.
        unsafe { libc::arc4random_buf(nonce.as_mut_ptr().cast(), nonce.len()) };
        // Names are at most 31 bytes on macOS (PSHMNAMLEN).
        let name = CString::new(format!("/lipc-{:016x}", u64::from_le_bytes(nonce)))
            .map_err(|_| io::Error::other("shared memory: name with a NUL"))?;
        // SAFETY: `name` is a valid C string for the call.
        let fd = unsafe {
            libc::shm_open(
                name.as_ptr(),
                libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
                0o600 as libc::c_uint,
            )
        };
        if fd == -1 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::AlreadyExists {
                continue;
            }
            return Err(err);
        }
        // SAFETY: `fd` was just returned by shm_open and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: `name` is a valid C string.
        unsafe { libc::shm_unlink(name.as_ptr()) };
        return Ok(fd);
    }
    Err(io::Error::other(
        "shared memory: no free random shm_open name",
    ))
}

/// Maps a region received from the peer, after checking it: `fstat` (exactly `len` bytes),
/// then `mmap(MAP_SHARED)`. macOS has no seals, but a shm object's size can be set only once,
/// so the peer cannot shrink it under our mapping. Anything else is `InvalidData` and nothing
/// is mapped.
pub(crate) fn map_received(fd: BorrowedFd<'_>, len: usize) -> io::Result<Mapping> {
    let st = rustix::fs::fstat(fd)?;
    if u64::try_from(st.st_size).ok() != u64::try_from(len).ok() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "shared memory from the peer: not a {len}-byte memory object (size {})",
                st.st_size
            ),
        ));
    }
    Mapping::new(fd, len)
}

/// The process-shared `__ulock_wait` waiter.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ulock;

impl Waiter for Ulock {
    /// `__ulock_wait(UL_COMPARE_AND_WAIT_SHARED, word, expected, timeout µs)`; `EINTR`,
    /// `ETIMEDOUT` and `EFAULT` (the kernel's answer to a race with the word's page) are `Ok`:
    /// the caller re-checks.
    fn wait(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> io::Result<()> {
        // 0 means no limit: a timeout under 1 µs becomes 1 µs.
        let us = timeout.map_or(0, |d| {
            u32::try_from(d.as_micros().max(1)).unwrap_or(u32::MAX)
        });
        // SAFETY: `word` is a live, aligned u32 for the call.
        let r = unsafe {
            __ulock_wait(
                UL_COMPARE_AND_WAIT_SHARED,
                word.as_ptr().cast(),
                u64::from(expected),
                us,
            )
        };
        if r >= 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) | Some(libc::ETIMEDOUT) | Some(libc::EFAULT) => Ok(()),
            _ => Err(err),
        }
    }

    /// `__ulock_wake(UL_COMPARE_AND_WAIT_SHARED, word, 0)`.
    fn wake(&self, word: &AtomicU32) {
        // SAFETY: `word` is a live u32 for the call.
        // Nothing to do on failure (ENOENT: nobody waits): the sleeper's timeout bounds it.
        let _ = unsafe { __ulock_wake(UL_COMPARE_AND_WAIT_SHARED, word.as_ptr().cast(), 0) };
    }
}
