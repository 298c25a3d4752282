//! Accepting in nonblocking mode, shared by the async listeners (tokio, async-io).

use std::io;
use std::os::unix::net::UnixListener;

/// An accepted socket, already close-on-exec and nonblocking: `accept4(SOCK_CLOEXEC |
/// SOCK_NONBLOCK)`, retried on `EINTR` (Apple: `accept`, then `fcntl`).
pub(crate) fn accept_nonblocking(l: &UnixListener) -> io::Result<std::os::unix::net::UnixStream> {
    #[cfg(not(target_vendor = "apple"))]
    {
        use super::cvt;
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        use std::os::unix::net::UnixStream;
        let flags = libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK;
        loop {
            // SAFETY: null address arguments are allowed; the listener is open.
            let ret = unsafe {
                libc::accept4(
                    l.as_raw_fd(),
                    std::ptr::null_mut(),
                    std::ptr::null_mut(),
                    flags,
                )
            };
            match cvt(ret) {
                // SAFETY: `fd` is a fresh descriptor that nothing else owns.
                Ok(fd) => return Ok(UnixStream::from(unsafe { OwnedFd::from_raw_fd(fd) })),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
    #[cfg(target_vendor = "apple")]
    {
        let (s, _) = l.accept()?;
        s.set_nonblocking(true)?;
        Ok(s)
    }
}
