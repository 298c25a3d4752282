//! Message sockets: the stream sockets' bind/reclaim/connect code with another socket type.
//!
//! Linux and Android: `SOCK_SEQPACKET` ([`seqpacket`](super::seqpacket)). Everywhere else
//! (and on Linux when built with `--cfg localipc_framed_messages`): length-prefixed frames
//! over `SOCK_STREAM` ([`framing`](super::framing)).

use super::{Listener, Stream};
use crate::local_socket::{ConnectOptions, ListenerOptions, LocalSocketName, PeerCreds};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::time::Duration;

#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    not(localipc_framed_messages)
))]
use super::seqpacket::{SeqPacket as Imp, SOCK_TYPE};

#[cfg(not(all(
    any(target_os = "linux", target_os = "android"),
    not(localipc_framed_messages)
)))]
use super::framing::{Framed as Imp, SOCK_TYPE};

/// A listening message socket.
#[derive(Debug)]
pub(crate) struct MessageListener {
    inner: Listener,
    max: usize,
}

impl MessageListener {
    /// `socket(SOCK_SEQPACKET)` (or `SOCK_STREAM` with framing), then the stream listener's
    /// `bind` with its reclaim and mode rules, and `listen`.
    pub(crate) fn bind(name: &LocalSocketName<'_>, opts: &ListenerOptions) -> io::Result<Self> {
        Ok(Self {
            inner: Listener::bind_with_type(name, opts, SOCK_TYPE)?,
            max: opts.max_message_size,
        })
    }

    /// `accept4(SOCK_CLOEXEC)`.
    pub(crate) fn accept(&self) -> io::Result<MessageStream> {
        MessageStream::from_stream(self.inner.accept()?, self.max)
    }

    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }

    pub(crate) fn name(&self) -> &LocalSocketName<'static> {
        self.inner.name()
    }
}

impl AsFd for MessageListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

/// A connected message socket.
#[derive(Debug)]
pub(crate) struct MessageStream {
    imp: Imp,
}

impl MessageStream {
    fn from_stream(s: Stream, max: usize) -> io::Result<Self> {
        Ok(Self {
            imp: Imp::new(UnixStream::from(s.into_fd()), max)?,
        })
    }

    /// The stream `connect` (same retry rules) with the message socket type.
    pub(crate) fn connect(name: &LocalSocketName<'_>, opts: &ConnectOptions) -> io::Result<Self> {
        Self::from_stream(
            Stream::connect_with_type(name, opts, SOCK_TYPE)?,
            opts.max_message_size,
        )
    }

    pub(crate) fn send(&self, msg: &[u8]) -> io::Result<()> {
        self.imp.send(msg)
    }

    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<Option<(usize, bool)>> {
        self.imp.recv(buf)
    }

    pub(crate) fn recv_vec(&self) -> io::Result<Option<Vec<u8>>> {
        self.imp.recv_vec()
    }

    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.imp.sock().set_nonblocking(nonblocking)
    }

    pub(crate) fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.imp.sock().set_read_timeout(t)
    }

    pub(crate) fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.imp.sock().set_write_timeout(t)
    }

    pub(crate) fn peer_creds(&self) -> io::Result<PeerCreds> {
        super::creds::peer_creds(self.imp.as_fd())
    }
}

impl AsFd for MessageStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.imp.as_fd()
    }
}
