//! Shared memory for `shm` on Unix: the region (a sealed memfd on Linux, Android and FreeBSD,
//! an `shm_open` object unlinked at once on macOS), its `MAP_SHARED` mapping, the waiter a
//! ring side sleeps on (futex, `_umtx_op`, `__ulock_wait`), and the liveness check of the
//! socket. The names are the `sys::shm` contract (see `sys`), shared with the Windows backend.
//!
//! libc for `mmap`/`munmap`, `sysconf` and `recv(MSG_PEEK)`, rustix where it has a safe form
//! of exactly the call (see the module note in `sys::unix`).

use crate::handle::{BorrowedHandle, OwnedHandle};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::ptr::NonNull;

#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
mod memfd;
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
pub(crate) use memfd::{create, map_received};

#[cfg(target_vendor = "apple")]
mod apple;
#[cfg(target_vendor = "apple")]
pub(crate) use apple::{create, map_received, Ulock as Bell};

#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux;
#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
use linux::Futex;
#[cfg(any(target_os = "linux", target_os = "android"))]
use linux::Futex as Bell;

#[cfg(target_os = "freebsd")]
mod freebsd;
#[cfg(target_os = "freebsd")]
use freebsd::Umtx as Bell;

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
    pub(super) fn new(fd: BorrowedFd<'_>, len: usize) -> io::Result<Mapping> {
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

/// The page size: `sysconf(_SC_PAGESIZE)`.
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).ok().filter(|&n| n > 0).unwrap_or(4096)
}

/// The wake objects of one ring. On Unix there are none to pass: both ends sleep on the
/// shared index word itself (futex, `_umtx_op`, `__ulock_wait`), so [`handles`](Self::handles)
/// is empty and [`from_received`](Self::from_received) wants no handle.
#[derive(Debug, Default)]
pub(crate) struct RingBells(());

impl RingBells {
    /// Nothing to create on Unix (no OS call).
    pub(crate) fn create() -> io::Result<Self> {
        Ok(RingBells(()))
    }

    /// The handles that travel to the peer in the handshake: none on Unix.
    pub(crate) fn handles(&self) -> Vec<BorrowedHandle<'_>> {
        Vec::new()
    }

    /// The bells of a ring from the handles the peer sent: none on Unix; any handle is
    /// `InvalidData` (and is closed).
    pub(crate) fn from_received(handles: Vec<OwnedHandle>) -> io::Result<Self> {
        if handles.is_empty() {
            Ok(RingBells(()))
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "shared memory handshake: the peer sent {} wake handles, expected none",
                    handles.len()
                ),
            ))
        }
    }

    /// The waiter of the ring's producing end (sleeps on the consumer's index word, wakes
    /// the consumer).
    pub(crate) fn producer(&self) -> impl crate::shm::ring::Waiter + '_ {
        Bell
    }

    /// The waiter of the ring's consuming end.
    pub(crate) fn consumer(&self) -> impl crate::shm::ring::Waiter + '_ {
        Bell
    }
}

/// Whether the peer of a connected socket is gone: `recv(MSG_DONTWAIT)` until the socket is
/// empty (at most 16 calls of 64 bytes). End of file or `ECONNRESET` is gone; `EAGAIN` is
/// alive. Bytes found are discarded: after the handshake only doorbells for an async task
/// travel on the socket, and a sync stream never asks for one, so they are a peer's noise,
/// and leaving them unread would hide the end of file behind them (a peer that wrote a byte
/// and died would look alive for ever). Never blocks, whatever the socket's mode.
pub(crate) fn peer_gone(sock: &super::Stream) -> io::Result<bool> {
    let mut scratch = [0u8; 64];
    let fd = sock.as_fd().as_raw_fd();
    for _ in 0..16 {
        // SAFETY: `scratch` is valid for writes of its length; `fd` is open for the call
        // (borrowed from `sock`).
        let n = unsafe {
            libc::recv(
                fd,
                scratch.as_mut_ptr().cast(),
                scratch.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n == 0 {
            return Ok(true);
        }
        if n < 0 {
            let err = io::Error::last_os_error();
            return match err.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(false),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => Ok(true),
                _ => Err(err),
            };
        }
    }
    // Still more noise: alive as far as we know; the next slice looks again.
    Ok(false)
}

/// One `recv(MSG_DONTWAIT)` of doorbells into `scratch` (the async stream empties the socket
/// with it): the byte count, 0 at end of file, `WouldBlock` when empty.
#[cfg(any(feature = "tokio", feature = "async-io"))]
pub(crate) fn recv_doorbells(fd: BorrowedFd<'_>, scratch: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `scratch` is valid for writes of its length; `fd` is open for the call.
    let n = unsafe {
        libc::recv(
            fd.as_raw_fd(),
            scratch.as_mut_ptr().cast(),
            scratch.len(),
            libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n.unsigned_abs())
    }
}

/// The CPUs process `pid` (`None`: this thread) may run on: `sched_getaffinity` (Linux,
/// Android). `None` where unknown: another OS, or the call failed (e.g. the pid is gone).
pub(crate) fn cpus(pid: Option<u32>) -> Option<Vec<usize>> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let pid = match pid {
            None => 0,
            Some(p) => libc::pid_t::try_from(p).ok()?,
        };
        let size = std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: cpu_set_t is plain old data; all-zero is the empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is valid for writes of `size` bytes.
        if unsafe { libc::sched_getaffinity(pid, size, &mut set) } != 0 {
            return None;
        }
        // SAFETY: every index is below the set's capacity in bits.
        Some(
            (0..8 * size)
                .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
                .collect(),
        )
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = pid;
        None
    }
}

/// Rings the doorbell of a peer task that waits on the socket (see `shm::ring`, "Async
/// sleepers"): `send` of one byte with `MSG_DONTWAIT` (and `MSG_NOSIGNAL`; Apple sockets
/// carry `SO_NOSIGPIPE`). Failures are ignored: `EAGAIN` means the peer has unread
/// doorbells already, so it is awake; `EPIPE` means it is gone, which its own side sees.
pub(crate) fn ring_doorbell(sock: &super::Stream) {
    let _ = super::fd_io::send_nonblocking(sock.as_fd(), &[1]);
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests;
