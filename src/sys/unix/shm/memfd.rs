//! The region on Linux, Android and FreeBSD: a sealed `memfd` (on FreeBSD `memfd_create` is
//! `shm_open2(SHM_ANON, …, SHM_ALLOW_SEALING)`: anonymous shared memory that can be sealed,
//! which a plain `shm_open(SHM_ANON)` object cannot).
//!
//! rustix for `memfd_create`, `ftruncate`, `fstat` and the seal `fcntl`s, which it offers as
//! safe calls.

use super::Mapping;
use rustix::fs::{MemfdFlags, SealFlags};
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

/// The seals a region must carry before we map it: its size can no longer change (so a peer
/// cannot shrink it under our mapping and turn our accesses into `SIGBUS`), nor its seals.
pub(super) const REQUIRED_SEALS: SealFlags = SealFlags::SHRINK
    .union(SealFlags::GROW)
    .union(SealFlags::SEAL);

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
