//! The descriptor conversions of every public I/O type, from one macro, [`fd_conversions`]:
//! each type gets the same impls with the same docs (see the table in [`os::unix`](super)).
//! Also the conversions from std's and tokio's `UnixStream`.

use crate::local_socket::message::{MessageListener, MessageStream};
use crate::local_socket::{LocalSocketListener, LocalSocketStream};
use crate::sys;
use crate::unnamed_pipe::{Recver, Sender};
use std::os::unix::net::UnixStream;

/// The conversions of `$t`, a type whose field `inner` (a `sys` type) has `as_fd` and
/// `into_fd`; `$from` makes that field from an `OwnedFd`.
///
/// - `From`: `$from` cannot fail: `AsFd`, `AsRawFd`, `From<$t> for OwnedFd`, `IntoRawFd`,
///   `From<OwnedFd>`, `FromRawFd`.
/// - `TryFrom`: `$from` returns `io::Result`: the same, but `TryFrom<OwnedFd>` for the last
///   two (`FromRawFd` cannot fail, so there is none).
///
/// `$expects` says what the descriptor must be, `$takes` what taking it over does (its OS
/// calls), `$gives` what giving it up does.
macro_rules! fd_conversions {
    (@common $t:ty, gives: $gives:literal) => {
        impl std::os::fd::AsFd for $t {
            /// No OS call.
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(&self.inner)
            }
        }

        impl std::os::fd::AsRawFd for $t {
            /// No OS call.
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(&std::os::fd::AsFd::as_fd(&self.inner))
            }
        }

        #[doc = concat!("Gives up the descriptor. ", $gives)]
        impl From<$t> for std::os::fd::OwnedFd {
            fn from(value: $t) -> Self {
                value.inner.into_fd()
            }
        }

        impl std::os::fd::IntoRawFd for $t {
            /// Gives up the descriptor without closing it, as `From<Self> for OwnedFd`; the
            /// caller must close it.
            fn into_raw_fd(self) -> std::os::fd::RawFd {
                std::os::fd::IntoRawFd::into_raw_fd(std::os::fd::OwnedFd::from(self))
            }
        }
    };
    (From $t:ty, $from:path, expects: $expects:literal, takes: $takes:literal, gives: $gives:literal) => {
        fd_conversions!(@common $t, gives: $gives);

        #[doc = concat!(
            "Takes ownership of a descriptor that must be ", $expects, "; another kind makes ",
            "later calls fail (it is not undefined behaviour). ", $takes
        )]
        impl From<std::os::fd::OwnedFd> for $t {
            fn from(fd: std::os::fd::OwnedFd) -> Self {
                Self { inner: $from(fd) }
            }
        }

        impl std::os::fd::FromRawFd for $t {
            /// Takes ownership of `fd`, as `From<OwnedFd>`.
            ///
            /// # Safety
            /// `fd` must be an open descriptor that nothing else owns or closes (it is closed
            /// on drop).
            unsafe fn from_raw_fd(fd: std::os::fd::RawFd) -> Self {
                // SAFETY: the caller hands over an open descriptor that nothing else owns.
                Self::from(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
            }
        }
    };
    (TryFrom $t:ty, $from:path, expects: $expects:literal, takes: $takes:literal, gives: $gives:literal) => {
        fd_conversions!(@common $t, gives: $gives);

        #[doc = concat!(
            "Takes ownership of a descriptor that must be ", $expects, ". ", $takes,
            " On error the descriptor is closed. There is no `FromRawFd`: it could not ",
            "report the error."
        )]
        impl TryFrom<std::os::fd::OwnedFd> for $t {
            type Error = std::io::Error;
            fn try_from(fd: std::os::fd::OwnedFd) -> std::io::Result<Self> {
                Ok(Self { inner: $from(fd)? })
            }
        }
    };
}

fd_conversions!(From LocalSocketStream, sys::Stream::from_fd,
    expects: "a connected `AF_UNIX` `SOCK_STREAM` socket",
    takes: "No OS call (Apple: `setsockopt(SO_NOSIGPIPE)`).",
    gives: "No OS call.");

fd_conversions!(From LocalSocketListener, sys::Listener::from_fd,
    expects: "a listening `AF_UNIX` `SOCK_STREAM` socket",
    takes: "Its name ([`local_name`](LocalSocketListener::local_name)) is read with \
        `getsockname`. Reclaim does not apply: dropping the listener leaves its socket file, \
        if any, in place. Unchecked (and infallible, for `FromRawFd`, which `interprocess` \
        1.x code uses): [`LocalSocketListener::try_from_fd`] checks the descriptor first.",
    gives: "No OS call; the socket file, if any, stays in place (reclaim ends with the \
        listener).");

fd_conversions!(TryFrom MessageListener, sys::MessageListener::from_fd,
    expects: "a listening `AF_UNIX` socket of the message socket type (`SOCK_SEQPACKET` on \
        Linux and Android, `SOCK_STREAM` with framing elsewhere)",
    takes: "`fstat`, `getsockname`, `getsockopt(SO_TYPE, SO_ACCEPTCONN)` check that it is \
        a listening `AF_UNIX` socket of that type (`InvalidInput` naming what it is \
        otherwise: fallible because a socket of the other type would lose message \
        boundaries silently, not fail); its name is read with `getsockname`. Its \
        connections get the default `max_message_size`. Reclaim does not apply, as for \
        `LocalSocketListener`.",
    gives: "No OS call; the socket file, if any, stays in place.");

fd_conversions!(TryFrom MessageStream, sys::MessageStream::from_fd,
    expects: "a connected `AF_UNIX` socket of the message socket type (`SOCK_SEQPACKET` on \
        Linux and Android, `SOCK_STREAM` with framing elsewhere), its peer a message socket \
        too",
    takes: "`getsockopt(SO_TYPE)` checks the type (`InvalidInput` if it is not a socket of \
        that type); then Linux: `setsockopt(SO_PASSCRED)` (see `recv`), Apple: \
        `setsockopt(SO_NOSIGPIPE)`. Fallible for both reasons. The stream gets the default \
        `max_message_size`.",
    gives: "No OS call. With framing, a message partly received by then is lost.");

fd_conversions!(From Sender, sys::pipe::Sender::from_fd,
    expects: "the write end of a pipe or FIFO (anything writable works; the no-`SIGPIPE` \
        guarantee is about pipes)",
    takes: "No OS call (Apple: `fcntl(F_SETNOSIGPIPE)`).",
    gives: "No OS call.");

fd_conversions!(From Recver, sys::pipe::Recver::from_fd,
    expects: "the read end of a pipe or FIFO (anything readable works)",
    takes: "No OS call.",
    gives: "No OS call.");

impl From<UnixStream> for LocalSocketStream {
    /// On Apple platforms this also sets `SO_NOSIGPIPE` on the socket.
    fn from(s: UnixStream) -> Self {
        Self {
            inner: sys::Stream::from_std(s),
        }
    }
}

/// The async types: taking a descriptor over registers it with tokio's reactor, which needs a
/// runtime, so it is a `TryFrom` (as tokio's own `UnixStream::from_std` returns
/// `io::Result`); giving it up deregisters it and leaves it in nonblocking mode, as tokio's
/// `into_std` does.
#[cfg(feature = "tokio")]
mod tokio_conv {
    use crate::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
    use crate::sys;
    use crate::unnamed_pipe::tokio::{Recver, Sender};

    fd_conversions!(TryFrom LocalSocketStream, sys::tokio::Stream::from_fd,
        expects: "a connected `AF_UNIX` `SOCK_STREAM` socket",
        takes: "`ioctl(FIONBIO)` (Apple: `setsockopt(SO_NOSIGPIPE)`) and \
            registration with the current tokio runtime: fallible because that is an error \
            outside a runtime (tokio's `UnixStream::from_std` is fallible likewise).",
        gives: "Deregisters it from tokio (`epoll_ctl`/`kevent`); it stays in nonblocking \
            mode, as with tokio's `into_std`.");

    fd_conversions!(TryFrom LocalSocketListener, sys::tokio::Listener::from_fd,
        expects: "a listening `AF_UNIX` `SOCK_STREAM` socket",
        takes: "`fstat`, `getsockname`, `getsockopt(SO_TYPE, SO_ACCEPTCONN)` to check it \
            (`InvalidInput` naming what it is otherwise), `ioctl(FIONBIO)` and registration \
            with the current tokio runtime: fallible for both reasons. Reclaim does not \
            apply: its socket file, if any, stays in place.",
        gives: "Deregisters it from tokio (`epoll_ctl`/`kevent`); it stays in nonblocking \
            mode, and the socket file, if any, in place.");

    fd_conversions!(TryFrom Sender, sys::pipe::tokio::Sender::from_fd,
        expects: "the write end of a pipe or FIFO",
        takes: "`ioctl(FIONBIO)` and registration with the current tokio runtime: fallible \
            because that is an error outside a runtime.",
        gives: "Deregisters it from tokio (`epoll_ctl`/`kevent`); it stays in nonblocking \
            mode (`TryFrom<Sender> for unnamed_pipe::Sender` restores blocking mode).");

    fd_conversions!(TryFrom Recver, sys::pipe::tokio::Recver::from_fd,
        expects: "the read end of a pipe or FIFO",
        takes: "`ioctl(FIONBIO)` and registration with the current tokio runtime: fallible \
            because that is an error outside a runtime.",
        gives: "Deregisters it from tokio (`epoll_ctl`/`kevent`); it stays in nonblocking \
            mode (`TryFrom<Recver> for unnamed_pipe::Recver` restores blocking mode).");

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
}
