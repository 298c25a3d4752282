//! The data-path system calls shared by the sync and async streams.

use super::{cvt, cvt_len};
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Flags for every `send`/`sendmsg`: `MSG_NOSIGNAL` turns `SIGPIPE` into `EPIPE`.
/// Apple has no `MSG_NOSIGNAL`; its sockets get `SO_NOSIGPIPE` when created instead.
#[cfg(not(target_vendor = "apple"))]
const SEND_FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
#[cfg(target_vendor = "apple")]
const SEND_FLAGS: libc::c_int = 0;

/// `IOV_MAX` on Linux, macOS and the BSDs (libc does not export it everywhere).
const IOV_MAX: usize = 1024;

/// `send(MSG_NOSIGNAL | MSG_DONTWAIT)`: as [`send`], never blocking whatever the socket's
/// mode (`EAGAIN` is `WouldBlock`).
pub(crate) fn send_nonblocking(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes during the call.
    cvt_len(unsafe {
        libc::send(
            fd.as_raw_fd(),
            buf.as_ptr().cast(),
            buf.len(),
            SEND_FLAGS | libc::MSG_DONTWAIT,
        )
    })
}

/// `send(MSG_NOSIGNAL)`: a closed peer gives `EPIPE` (`BrokenPipe`), not `SIGPIPE`.
pub(crate) fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes during the call.
    let n = unsafe { libc::send(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), SEND_FLAGS) };
    cvt_len(n)
}

/// `sendmsg(MSG_NOSIGNAL)` with up to `IOV_MAX` buffers.
pub(crate) fn send_vectored(fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let count = bufs.len().min(IOV_MAX);
    // SAFETY: msghdr is plain old data; all-zero means no name and no control data.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    // IoSlice is guaranteed ABI-compatible with iovec on Unix; sendmsg only reads them.
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)] // count <= IOV_MAX
    let iovlen = count as _; // size_t on Linux, c_int on Apple and the BSDs
    msg.msg_iovlen = iovlen;
    // SAFETY: `msg` points at `count` valid iovecs that outlive the call.
    let n = unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, SEND_FLAGS) };
    cvt_len(n)
}

/// `shutdown(2)` on a borrowed descriptor.
#[cfg_attr(not(any(feature = "tokio", feature = "async-io")), allow(dead_code))]
pub(crate) fn shutdown(fd: BorrowedFd<'_>, how: Shutdown) -> io::Result<()> {
    let how = match how {
        Shutdown::Read => libc::SHUT_RD,
        Shutdown::Write => libc::SHUT_WR,
        Shutdown::Both => libc::SHUT_RDWR,
    };
    // SAFETY: plain syscall on an open descriptor.
    cvt(unsafe { libc::shutdown(fd.as_raw_fd(), how) }).map(drop)
}
