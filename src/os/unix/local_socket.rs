//! fd conversions for the local socket types.
//!
//! The sync stream and listener have the full set: `AsFd`, `AsRawFd`, `From<OwnedFd>`,
//! `Into<OwnedFd>`, and `IntoRawFd`/`FromRawFd` as `interprocess` 1.x had them (so that
//! `LocalSocketStream::from_raw_fd(libc::dup(fd))` ports unchanged).

use crate::local_socket::{LocalSocketListener, LocalSocketStream};
use crate::sys;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
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

impl IntoRawFd for LocalSocketStream {
    /// Gives up the descriptor without closing it; the caller must close it.
    fn into_raw_fd(self) -> RawFd {
        OwnedFd::from(self).into_raw_fd()
    }
}

impl FromRawFd for LocalSocketStream {
    /// Takes ownership of `fd`, as `From<OwnedFd>`.
    ///
    /// # Safety
    /// `fd` must be an open descriptor that nothing else owns (it is closed on drop); it
    /// should be a connected `AF_UNIX` `SOCK_STREAM` socket.
    unsafe fn from_raw_fd(fd: RawFd) -> Self {
        // SAFETY: the caller hands over an open descriptor that nothing else owns.
        Self::from(unsafe { OwnedFd::from_raw_fd(fd) })
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

/// The descriptor must be a listening `AF_UNIX` `SOCK_STREAM` socket; anything else makes
/// `accept` fail (it is not undefined behaviour). Its name
/// ([`local_name`](LocalSocketListener::local_name)) is read with `getsockname`. Reclaim does
/// not apply: dropping the listener leaves its socket file, if any, in place.
impl From<OwnedFd> for LocalSocketListener {
    fn from(fd: OwnedFd) -> Self {
        Self {
            inner: sys::Listener::from_fd(fd),
        }
    }
}

impl IntoRawFd for LocalSocketListener {
    /// Gives up the descriptor without closing it, as `Into<OwnedFd>` (the socket file
    /// stays).
    fn into_raw_fd(self) -> RawFd {
        OwnedFd::from(self).into_raw_fd()
    }
}

impl FromRawFd for LocalSocketListener {
    /// Takes ownership of `fd`, as `From<OwnedFd>`.
    ///
    /// # Safety
    /// `fd` must be an open descriptor that nothing else owns (it is closed on drop); it
    /// should be a listening `AF_UNIX` `SOCK_STREAM` socket.
    unsafe fn from_raw_fd(fd: RawFd) -> Self {
        // SAFETY: the caller hands over an open descriptor that nothing else owns.
        Self::from(unsafe { OwnedFd::from_raw_fd(fd) })
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
