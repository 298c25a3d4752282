//! Async message sockets on async-io's reactor: the sync message listener and streams
//! (`SOCK_SEQPACKET` on Linux and Android, framing elsewhere) in nonblocking mode, each
//! call tried first and waited for only on `EAGAIN`.
//!
//! Receiving is cancel-safe: a `SOCK_SEQPACKET` receive takes a whole message or nothing,
//! and the framing decoder keeps a frame's progress across `WouldBlock`. A send either
//! fails with `WouldBlock` having sent nothing, or sends the whole message (framing: once a
//! frame's first byte is out, the rest follows, waiting with `poll` on this thread if the
//! socket buffer is full, so that no frame is ever cut).

use super::super::addr::SockAddr;
use super::super::{MessageListener as SyncListener, MessageStream as SyncStream};
use crate::local_socket::{ConnectOptions, ListenerOptions, LocalSocketName, PeerCreds};
use ::async_io::Async;
use std::io;
use std::os::fd::OwnedFd;

/// A listening message socket registered with async-io's reactor.
#[derive(Debug)]
pub(crate) struct MessageListener(Async<SyncListener>);

impl MessageListener {
    /// The sync `bind` (same reclaim, mode and access rules), then as `from_sync`.
    pub(crate) fn bind(name: &LocalSocketName<'_>, opts: &ListenerOptions) -> io::Result<Self> {
        Self::from_sync(SyncListener::bind(name, opts)?)
    }

    /// The sync `set_nonblocking(true)` (`fcntl`), then registration (`epoll_ctl`/`kevent`).
    pub(crate) fn from_sync(l: SyncListener) -> io::Result<Self> {
        l.set_nonblocking(true)?;
        Ok(Self(Async::new_nonblocking(l)?))
    }

    /// The sync `accept` (`accept4`, the access policy checked, errors naming the
    /// listener), waiting for readability on `WouldBlock`; then the stream is made
    /// nonblocking and registered. Any number of tasks may wait; a dropped future loses no
    /// client.
    pub(crate) async fn accept(&self) -> io::Result<MessageStream> {
        let s = self.0.read_with(|l| l.accept()).await?;
        s.set_nonblocking(true)?;
        Ok(MessageStream(Async::new_nonblocking(s)?))
    }

    pub(crate) fn name(&self) -> &LocalSocketName<'static> {
        self.0.get_ref().name()
    }

    pub(crate) fn max_message_size(&self) -> usize {
        self.0.get_ref().max_message_size()
    }

    pub(crate) fn set_max_message_size(&self, max: usize) {
        self.0.get_ref().set_max_message_size(max);
    }
}

/// A connected message socket registered with async-io's reactor.
#[derive(Debug)]
pub(crate) struct MessageStream(Async<SyncStream>);

impl MessageStream {
    /// `fcntl(O_NONBLOCK)`, then registration.
    pub(crate) fn from_sync(s: SyncStream) -> io::Result<Self> {
        s.set_nonblocking(true)?;
        Ok(Self(Async::new_nonblocking(s)?))
    }

    /// Nonblocking `socket` (of the message type) + `connect`, as the async stream's
    /// connect (the same retries on async-io's timer under a timeout); then
    /// `getsockopt(SO_TYPE)` and the message socket's setup (Linux: `SO_PASSCRED`).
    pub(crate) async fn connect(
        name: &LocalSocketName<'_>,
        opts: &ConnectOptions,
    ) -> io::Result<Self> {
        let addr = SockAddr::new(name)?;
        let ty = super::super::message::MESSAGE_SOCK_TYPE;
        let sock = super::connect_with_type(name, &addr, opts, ty).await?;
        let fd = OwnedFd::from(sock.into_inner()?);
        Ok(Self(Async::new_nonblocking(SyncStream::from_fd(fd)?)?))
    }

    /// The sync `send` (`send(MSG_NOSIGNAL)` on `SOCK_SEQPACKET`, `sendmsg` of a frame with
    /// framing), waiting for writability on `WouldBlock`.
    pub(crate) async fn send(&self, msg: &[u8]) -> io::Result<()> {
        self.0.write_with(|s| s.send(msg)).await
    }

    /// The sync `recv_vec` (`recvmsg`), waiting for readability on `WouldBlock`.
    pub(crate) async fn recv_vec(&self) -> io::Result<Option<Vec<u8>>> {
        self.0.read_with(|s| s.recv_vec()).await
    }

    pub(crate) fn peer_creds(&self) -> io::Result<PeerCreds> {
        self.0.get_ref().peer_creds()
    }

    pub(crate) fn max_message_size(&self) -> usize {
        self.0.get_ref().max_message_size()
    }

    pub(crate) fn set_max_message_size(&self, max: usize) {
        self.0.get_ref().set_max_message_size(max);
    }
}
