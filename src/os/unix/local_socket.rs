//! fd conversions for the local socket types.

use crate::local_socket::{LocalSocketListener, LocalSocketStream};
use crate::sys;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

impl AsFd for LocalSocketStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for LocalSocketStream {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_fd().as_raw_fd()
    }
}

impl From<LocalSocketStream> for OwnedFd {
    fn from(s: LocalSocketStream) -> Self {
        s.inner.into_fd()
    }
}

/// The descriptor must be a connected `AF_UNIX` `SOCK_STREAM` socket; anything else makes
/// later I/O fail (it is not undefined behaviour).
impl From<OwnedFd> for LocalSocketStream {
    fn from(fd: OwnedFd) -> Self {
        Self::from(UnixStream::from(fd))
    }
}

impl From<UnixStream> for LocalSocketStream {
    /// On Apple platforms this also sets `SO_NOSIGPIPE` on the socket.
    fn from(s: UnixStream) -> Self {
        Self {
            inner: sys::Stream::from_std(s),
        }
    }
}

impl AsFd for LocalSocketListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for LocalSocketListener {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_fd().as_raw_fd()
    }
}

/// The socket file (if any) then stays in place: reclaim ends with the listener.
impl From<LocalSocketListener> for OwnedFd {
    fn from(l: LocalSocketListener) -> Self {
        l.inner.into_fd()
    }
}

#[cfg(feature = "tokio")]
mod tokio_conv {
    use crate::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
    use crate::sys;
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

    impl AsFd for LocalSocketStream {
        fn as_fd(&self) -> BorrowedFd<'_> {
            self.inner.as_fd()
        }
    }

    impl AsRawFd for LocalSocketStream {
        fn as_raw_fd(&self) -> RawFd {
            self.inner.as_fd().as_raw_fd()
        }
    }

    impl TryFrom<tokio::net::UnixStream> for LocalSocketStream {
        type Error = std::io::Error;
        /// Moves the socket to this type's registration with the reactor (on Apple, also
        /// sets `SO_NOSIGPIPE`).
        fn try_from(s: tokio::net::UnixStream) -> std::io::Result<Self> {
            Ok(Self {
                inner: sys::tokio::Stream::from_tokio(s)?,
            })
        }
    }

    impl AsFd for LocalSocketListener {
        fn as_fd(&self) -> BorrowedFd<'_> {
            self.inner.as_fd()
        }
    }
}
