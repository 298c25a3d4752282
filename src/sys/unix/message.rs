//! Message sockets: the stream sockets' bind/reclaim/connect code with another socket type.
//!
//! Linux and Android: `SOCK_SEQPACKET` ([`seqpacket`](super::seqpacket)). Everywhere else
//! (and on Linux when built with `--cfg localipc_framed_messages`): length-prefixed frames
//! over `SOCK_STREAM` ([`framing`](super::framing)).

use super::{Listener, Stream};
use crate::local_socket::message::DEFAULT_MAX_MESSAGE_SIZE;
use crate::local_socket::{ConnectOptions, ListenerOptions, LocalSocketName, PeerCreds};
use std::io;
use std::ops::Deref;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};

#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    not(localipc_framed_messages)
))]
pub(super) use super::seqpacket::{SeqPacket as Imp, SOCK_TYPE};

#[cfg(not(all(
    any(target_os = "linux", target_os = "android"),
    not(localipc_framed_messages)
)))]
pub(super) use super::framing::{Framed as Imp, SOCK_TYPE};

/// The socket type of the message sockets, for the async ones.
#[cfg(feature = "async-io")]
pub(crate) const MESSAGE_SOCK_TYPE: super::SocketType = SOCK_TYPE;

/// A listening message socket.
#[derive(Debug)]
pub(crate) struct MessageListener {
    inner: Listener,
    /// `max_message_size` of the streams accepted from now on.
    max: AtomicUsize,
}

impl MessageListener {
    /// `socket(SOCK_SEQPACKET)` (or `SOCK_STREAM` with framing), then the stream listener's
    /// `bind` with its reclaim and mode rules, and `listen`.
    pub(crate) fn bind(name: &LocalSocketName<'_>, opts: &ListenerOptions) -> io::Result<Self> {
        Ok(Self {
            inner: Listener::bind_with_type(name, opts, SOCK_TYPE)?,
            max: AtomicUsize::new(DEFAULT_MAX_MESSAGE_SIZE),
        })
    }

    /// `accept4(SOCK_CLOEXEC)`.
    pub(crate) fn accept(&self) -> io::Result<MessageStream> {
        MessageStream::from_stream(self.inner.accept()?, self.max_message_size())
    }

    pub(crate) fn max_message_size(&self) -> usize {
        self.max.load(Ordering::Relaxed)
    }

    pub(crate) fn set_max_message_size(&self, max: usize) {
        self.max.store(max, Ordering::Relaxed);
    }

    /// Takes over a listening socket made elsewhere, after `fstat`, `getsockname` and
    /// `getsockopt(SO_TYPE, SO_ACCEPTCONN)` have shown it is a listening `AF_UNIX` socket of
    /// the message socket type (else `InvalidInput` naming what it is); then as
    /// [`Listener::from_fd`](super::Listener::from_fd). Its connections get the default
    /// `max_message_size`.
    pub(crate) fn from_fd(fd: OwnedFd) -> io::Result<Self> {
        super::activation::check_listening(fd.as_fd(), SOCK_TYPE, "a message listener")?;
        Ok(Self {
            inner: Listener::from_fd(fd),
            max: AtomicUsize::new(DEFAULT_MAX_MESSAGE_SIZE),
        })
    }

    /// Gives up the descriptor; the socket file then stays in place.
    pub(crate) fn into_fd(self) -> OwnedFd {
        self.inner.into_fd()
    }

    /// The stream listener and the `max_message_size`, for the async listener.
    #[cfg(feature = "tokio")]
    pub(crate) fn into_parts(self) -> (Listener, usize) {
        let max = self.max_message_size();
        (self.inner, max)
    }
}

/// `getsockopt(SO_TYPE)`: `InvalidInput` unless `fd` is a socket of [`SOCK_TYPE`]
/// (`SOCK_SEQPACKET` on Linux, `SOCK_STREAM` with framing).
fn check_type(fd: &OwnedFd, what: &str) -> io::Result<()> {
    let ty = rustix::net::sockopt::socket_type(fd).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("a message {what} needs a socket descriptor: getsockopt(SO_TYPE): {e}"),
        )
    })?;
    if i64::from(ty.as_raw()) != i64::from(SOCK_TYPE.raw()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a message {what} needs a socket of type {} here, not of type {}",
                SOCK_TYPE.raw(),
                ty.as_raw()
            ),
        ));
    }
    Ok(())
}

/// The stream listener's `set_nonblocking` (`fcntl(F_SETFL, O_NONBLOCK)`) and `name`.
impl Deref for MessageListener {
    type Target = Listener;
    #[inline]
    fn deref(&self) -> &Listener {
        &self.inner
    }
}

impl AsFd for MessageListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

/// A connected message socket: `seqpacket::SeqPacket` on Linux, else `framing::Framed`,
/// which provide `send`, `recv`, `recv_vec`,
/// `try_clone` and the `max_message_size` getter and setter; the rest is here.
pub(crate) type MessageStream = Imp;

impl MessageStream {
    fn from_stream(s: Stream, max: usize) -> io::Result<Self> {
        Imp::new(UnixStream::from(s.into_fd()), max)
    }

    /// The stream `connect` (same retry rules) with the message socket type.
    pub(crate) fn connect(name: &LocalSocketName<'_>, opts: &ConnectOptions) -> io::Result<Self> {
        Self::from_stream(
            Stream::connect_with_type(name, opts, SOCK_TYPE)?,
            DEFAULT_MAX_MESSAGE_SIZE,
        )
    }

    /// See `creds.rs`: `SO_PEERCRED` on Linux, `getpeereid` (+ `LOCAL_PEERPID`) on BSDs.
    pub(crate) fn peer_creds(&self) -> io::Result<PeerCreds> {
        super::creds::peer_creds(self.as_fd())
    }

    /// Takes over a connected socket made elsewhere: `getsockopt(SO_TYPE)` (it must be of the
    /// message socket type, else `InvalidInput`), then as `connect` (Linux:
    /// `setsockopt(SO_PASSCRED)`; Apple: `SO_NOSIGPIPE`), with the default `max_message_size`.
    pub(crate) fn from_fd(fd: OwnedFd) -> io::Result<Self> {
        check_type(&fd, "stream")?;
        Self::from_stream(Stream::from_fd(fd), DEFAULT_MAX_MESSAGE_SIZE)
    }

    /// Gives up the descriptor (with framing, a frame partly received is lost).
    pub(crate) fn into_fd(self) -> OwnedFd {
        self.into_sock().into()
    }
}

/// The std socket, for the calls std makes as they are: `fcntl(F_SETFL, O_NONBLOCK)`
/// (`set_nonblocking`), `setsockopt`/`getsockopt(SO_RCVTIMEO, SO_SNDTIMEO)` (the timeouts
/// and their getters).
impl Deref for MessageStream {
    type Target = UnixStream;
    #[inline]
    fn deref(&self) -> &UnixStream {
        self.sock()
    }
}
