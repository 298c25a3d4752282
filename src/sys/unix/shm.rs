//! Shared memory for `shm` on Linux and Android: a sealed memfd, its `MAP_SHARED` mapping, and
//! the futex a ring side sleeps on (groundwork for issue 13; not used by a public type yet).
//!
//! rustix for `memfd_create`, `ftruncate`, `fstat`, the seal `fcntl`s and `futex`, which it
//! offers as safe calls; libc for `mmap`/`munmap`, unsafe either way (see the module note in
//! `sys::unix`).

use crate::shm::ring::Waiter;
use rustix::fs::{MemfdFlags, SealFlags};
use rustix::thread::futex;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// The seals a region must carry before we map it: its size can no longer change (so a peer
/// cannot shrink it under our mapping and turn our accesses into `SIGBUS`), nor its seals.
const REQUIRED_SEALS: SealFlags = SealFlags::SHRINK
    .union(SealFlags::GROW)
    .union(SealFlags::SEAL);

/// A `MAP_SHARED` read-write mapping, unmapped (`munmap`) on drop.
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; what is done through the pointer
// (atomics and copies in `shm::ring`) is sound from any thread.
unsafe impl Send for Mapping {}
// SAFETY: as above; `&Mapping` only hands out the raw pointer.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// `mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)`.
    fn new(fd: BorrowedFd<'_>, len: usize) -> io::Result<Mapping> {
        if len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "shared memory: cannot map 0 bytes",
            ));
        }
        // SAFETY: a fresh mapping chosen by the kernel (no address hint), so no existing
        // memory is affected; the result is checked for MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr =
            NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned NULL"))?;
        Ok(Mapping { ptr, len })
    }

    /// The first byte of the mapping (page-aligned).
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for Mapping {
    /// `munmap`.
    fn drop(&mut self) {
        // SAFETY: exactly the range `mmap` returned, unmapped once; no reference into it
        // outlives `self` (users hold raw pointers under the ring's contract).
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// A new anonymous region of `len` bytes, zeroed: `memfd_create("localipc-shm",
/// MFD_CLOEXEC | MFD_ALLOW_SEALING)`, `ftruncate`, `fcntl(F_ADD_SEALS, F_SEAL_SHRINK |
/// F_SEAL_GROW | F_SEAL_SEAL)`, then `mmap(MAP_SHARED)`. The descriptor is for the peer
/// (send it with `SCM_RIGHTS`); nothing named is left on the system.
pub(crate) fn create(len: usize) -> io::Result<(OwnedFd, Mapping)> {
    let fd = rustix::fs::memfd_create(
        "localipc-shm",
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )?;
    let size = u64::try_from(len).map_err(|_| {
        io::Error::new(io::ErrorKind::InvalidInput, "shared memory: size too large")
    })?;
    rustix::fs::ftruncate(&fd, size)?;
    rustix::fs::fcntl_add_seals(&fd, REQUIRED_SEALS)?;
    let map = Mapping::new(std::os::fd::AsFd::as_fd(&fd), len)?;
    Ok((fd, map))
}

/// Maps a region received from the peer, after checking it: `fstat` (a regular file of
/// exactly `len` bytes) and `fcntl(F_GET_SEALS)` (sealed against shrinking, growing and
/// further sealing), then `mmap(MAP_SHARED)`. Anything else is `InvalidData` and nothing is
/// mapped.
pub(crate) fn map_received(fd: BorrowedFd<'_>, len: usize) -> io::Result<Mapping> {
    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let st = rustix::fs::fstat(fd)?;
    let is_file =
        rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile;
    if !is_file || u64::try_from(st.st_size).ok() != u64::try_from(len).ok() {
        return Err(invalid(format!(
            "shared memory from the peer: not a {len}-byte memory file (size {})",
            st.st_size
        )));
    }
    let seals = rustix::fs::fcntl_get_seals(fd).map_err(|e| {
        invalid(format!(
            "shared memory from the peer: not a sealable memfd ({e})"
        ))
    })?;
    if !seals.contains(REQUIRED_SEALS) {
        return Err(invalid(format!(
            "shared memory from the peer: missing seals (has {seals:?}, needs {REQUIRED_SEALS:?})"
        )));
    }
    Mapping::new(fd, len)
}

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

#[cfg(test)]
mod tests;
