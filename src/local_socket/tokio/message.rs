//! Async message-framed local sockets for tokio: the twins of
//! [`local_socket::message`](crate::local_socket::message), with the same boundaries
//! (one [`send`](MessageStream::send) is one [`recv`](MessageStream::recv), empty messages
//! included), names, options, [message size](crate::local_socket::message#message-size)
//! rules and OS mechanisms, on tokio's reactor.
//!
//! | platform | how |
//! |---|---|
//! | Linux, Android | `SOCK_SEQPACKET` Unix domain sockets in nonblocking mode, on tokio's reactor (`AsyncFd`) |
//! | macOS, FreeBSD, other Unix | length-prefixed frames over `SOCK_STREAM`, as the sync type (tested on Linux with `--cfg localipc_framed_messages`) |
//! | Windows | the sync message pipes (`PIPE_TYPE_MESSAGE`, read in message mode), their blocking calls on tokio's blocking pool (tested under Wine) |
//!
//! On Windows a message read must say where a message ends (a read into a buffer too small
//! fails with `ERROR_MORE_DATA`) and tell an empty message (a 0-byte read) from end of file
//! (`ERROR_BROKEN_PIPE`). tokio's `NamedPipeServer`/`NamedPipeClient` cannot: mio (1.2.5)
//! keeps one overlapped `ReadFile` of its own in flight, sized from the previous caller's
//! buffer (4 KiB at first), and hands its bytes out as a byte stream; it takes
//! `ERROR_MORE_DATA` as success (the first part of a longer message reads like a whole one,
//! its rest like the next message) and `ERROR_BROKEN_PIPE` as a 0-byte read, the same as
//! an empty message. So the Windows types run the sync pipes' calls on tokio's blocking
//! pool instead: each `accept`, `connect`, `send` and `recv` is a hop to a pool thread (and
//! a receive that waits holds one such thread, which looks every 100 ms whether its stream
//! was dropped: a dropped stream closes its pipe within that time). A call whose future is
//! dropped goes on; its message or client is handed to the next call of its kind. (A
//! runtime being dropped waits for its pool threads: drop the streams first, or it waits
//! for a receive in flight to get a message.)
//!
//! # Cancel safety
//! Every method's doc says whether it is cancel-safe, as tokio's docs do: `accept`, `recv`
//! and `recv_vec` are, everywhere; `send` is on Linux and Android (`SOCK_SEQPACKET`: a
//! dropped send sent nothing). With framing a `send` dropped after part of its frame went
//! out has sent its message: the rest goes out ahead of the next `send` (the frames never
//! break), so a caller that retries it sends it twice. On Windows a dropped `send` whose
//! write has started on the pool still sends its message, whole, before the next `send`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use localipc::local_socket::tokio::message::{MessageListener, MessageStream};
//!
//! # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
//! #     format!("@localipc-doc-tokio-msg-{}", std::process::id())
//! # } else { format!("/tmp/localipc-doc-tokio-msg-{}.sock", std::process::id()) };
//! let listener = MessageListener::bind(name.as_str())?;
//! let client = MessageStream::connect(name.as_str()).await?;
//! let server = listener.accept().await?;
//! client.send(b"first").await?;
//! client.send(b"").await?; // an empty message is a message
//! client.send(b"third").await?;
//! drop(client);
//! assert_eq!(server.recv_vec().await?.as_deref(), Some(&b"first"[..]));
//! assert_eq!(server.recv_vec().await?.as_deref(), Some(&b""[..]));
//! let mut small = [0; 3];
//! let got = server.recv(&mut small).await?.unwrap();
//! assert_eq!((got.len, got.truncated), (3, true)); // "thi", the rest is dropped
//! assert_eq!(server.recv_vec().await?, None); // the client has gone
//! # Ok(())
//! # }
//! ```

use crate::local_socket::message as sync;
use crate::local_socket::{
    ConnectOptions, ListenerOptions, LocalSocketName, PeerCreds, ToLocalSocketName,
};
use crate::sys;
use std::io;

pub use sync::RecvResult;

/// An async server for message-framed local sockets.
#[derive(Debug)]
pub struct MessageListener {
    inner: sys::tokio::message::MessageListener,
}

impl MessageListener {
    /// Creates a listener bound to `name` with default [`ListenerOptions`]. Must be called
    /// within a tokio runtime.
    ///
    /// Linux: `socket(AF_UNIX, SOCK_SEQPACKET)`, `bind`, `listen`; elsewhere on Unix the same
    /// with `SOCK_STREAM`; then `fcntl(F_SETFL, O_NONBLOCK)` and registration with tokio's
    /// reactor (`epoll_ctl`/`kevent`). Windows: the sync bind,
    /// `CreateNamedPipeW(PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | …)`. Errors as for the sync
    /// [`MessageListener::bind`](sync::MessageListener::bind).
    pub fn bind<'a>(name: impl ToLocalSocketName<'a>) -> io::Result<Self> {
        Self::bind_with(name, &ListenerOptions::new())
    }

    /// Creates a listener bound to `name` with `options` (reclaim and mode, as for the sync
    /// [`bind_with`](sync::MessageListener::bind_with)). OS calls as for
    /// [`bind`](Self::bind).
    pub fn bind_with<'a>(
        name: impl ToLocalSocketName<'a>,
        options: &ListenerOptions,
    ) -> io::Result<Self> {
        let name = name.to_local_socket_name()?;
        Ok(Self {
            inner: sys::tokio::message::MessageListener::bind(&name, options)?,
        })
    }

    /// Waits for a client and returns its stream (with this listener's
    /// [`max_message_size`](Self::max_message_size)). Any number of tasks may wait at once.
    ///
    /// `accept4(SOCK_CLOEXEC | SOCK_NONBLOCK)` when tokio reports readiness; Linux also
    /// `setsockopt(SO_PASSCRED)` on the new socket. Windows: `ConnectNamedPipe`, then
    /// `CreateNamedPipeW` for the next instance, on tokio's blocking pool. Errors name the
    /// listener.
    ///
    /// # Cancel safety
    /// Cancel-safe: a dropped `accept` loses no client (Unix: it stays in the backlog;
    /// Windows: the accept goes on, and the next `accept` returns its client). Tested: 10,000
    /// accepts raced against a zero timer, each client accepted once.
    pub async fn accept(&self) -> io::Result<MessageStream> {
        Ok(MessageStream {
            inner: self.inner.accept().await?,
        })
    }

    /// Sets the largest message the connections accepted from now on send or receive
    /// (default: [`DEFAULT_MAX_MESSAGE_SIZE`](sync::DEFAULT_MAX_MESSAGE_SIZE), 16 MiB).
    /// No OS call.
    pub fn set_max_message_size(&self, bytes: usize) {
        self.inner.set_max_message_size(bytes);
    }

    /// The largest message the connections accepted from now on send or receive. No OS
    /// call.
    pub fn max_message_size(&self) -> usize {
        self.inner.max_message_size()
    }

    /// The name this listener was bound to. No OS call.
    pub fn local_name(&self) -> LocalSocketName<'_> {
        self.inner.name().borrow()
    }
}

impl TryFrom<sync::MessageListener> for MessageListener {
    type Error = io::Error;
    /// Registers a sync message listener with tokio's reactor (`fcntl(F_SETFL, O_NONBLOCK)`,
    /// `epoll_ctl`/`kevent`; Windows: no OS call, back to blocking mode), keeping its name, socket file and `max_message_size`. Within a
    /// runtime; an error outside.
    fn try_from(l: sync::MessageListener) -> io::Result<Self> {
        Ok(Self {
            inner: sys::tokio::message::MessageListener::from_sync(l.inner)?,
        })
    }
}

/// A connected async message-framed local socket. All methods take `&self`; concurrent
/// senders (or receivers) never interleave or split messages.
#[derive(Debug)]
pub struct MessageStream {
    inner: sys::tokio::message::MessageStream,
}

impl MessageStream {
    /// Connects to the message listener on `name`, failing at once if there is none. Must be
    /// called within a tokio runtime.
    ///
    /// Linux: nonblocking `socket(AF_UNIX, SOCK_SEQPACKET)` + `connect` (waiting for
    /// writability if in progress) + `setsockopt(SO_PASSCRED)`; elsewhere on Unix
    /// `SOCK_STREAM`. Windows: `CreateFileW` (`WaitNamedPipeW` while every instance is busy),
    /// `SetNamedPipeHandleState(PIPE_READMODE_MESSAGE)`, on tokio's blocking pool.
    ///
    /// # Cancel safety
    /// Not cancel-safe in the sense of the other methods: a dropped `connect` may have made
    /// a connection that is then closed (the server sees a client that left at once).
    pub async fn connect<'a>(name: impl ToLocalSocketName<'a>) -> io::Result<Self> {
        Self::connect_with(name, &ConnectOptions::new()).await
    }

    /// Connects with `options`: a [timeout](ConnectOptions::timeout) also waits (on tokio's
    /// timer) for a server not up yet, as the async
    /// [`LocalSocketStream::connect_with`](super::LocalSocketStream::connect_with) does; the
    /// server expectations of `options` are checked as there. OS calls as for
    /// [`connect`](Self::connect), plus `getsockopt(SO_PEERCRED)` (BSDs: `getpeereid`) when
    /// `options` expect a server identity.
    ///
    /// # Cancel safety
    /// As [`connect`](Self::connect).
    pub async fn connect_with<'a>(
        name: impl ToLocalSocketName<'a>,
        options: &ConnectOptions,
    ) -> io::Result<Self> {
        let name = name.to_local_socket_name()?;
        crate::local_socket::access::check_expectation(options, &name)?;
        let inner = sys::tokio::message::MessageStream::connect(&name, options).await?;
        crate::local_socket::access::check_server(options, &name, || inner.peer_creds())?;
        Ok(Self { inner })
    }

    /// Sends `msg` as one message, whole or not at all, when the socket can take it.
    ///
    /// Linux: `send(MSG_NOSIGNAL)` when tokio reports writability. Framed:
    /// `sendmsg(MSG_NOSIGNAL)` of length + message, then `send`s for the rest of the frame if
    /// only part of it went. Windows: one overlapped `WriteFile`, waited for on tokio's
    /// blocking pool (the message copied there). A vanished peer gives `BrokenPipe`, never `SIGPIPE`; a message
    /// over [`max_message_size`](Self::max_message_size) gives `InvalidInput` (Linux: so does
    /// one larger than the send buffer, `SO_SNDBUF`, allows).
    ///
    /// # Cancel safety
    /// Linux and Android: cancel-safe. The `send` is one system call made in the poll that
    /// returns `Ready`, so a dropped future has sent nothing and the message may be sent
    /// again (tested: 10,000 sends raced against a zero timeout, every message received
    /// exactly once, in order).
    ///
    /// Framing (macOS, BSDs): cancel-safe only until the first byte is out. A future dropped
    /// after that has sent its message: the rest of its frame is kept and goes out first at
    /// the next `send` (so no frame is ever cut or interleaved), but if the stream is dropped
    /// before another `send` completes, the peer sees a frame cut short (`UnexpectedEof`).
    ///
    /// Windows: not cancel-safe. A dropped future's `WriteFile` goes on on the pool thread,
    /// so its message is sent (whole), before the message of the next `send`.
    pub async fn send(&self, msg: &[u8]) -> io::Result<()> {
        self.inner.send(msg).await
    }

    /// Receives one message into `buf`; `Ok(None)` once the peer has closed its end and
    /// every message it sent has been received. A message longer than `buf` fills it and is
    /// reported as [`truncated`](RecvResult::truncated); the rest of it is discarded.
    ///
    /// Linux: `recvmsg(MSG_TRUNC)` when tokio reports readability (`SO_PASSCRED` tells an
    /// empty message from end of file, as in the sync
    /// [`recv`](sync::MessageStream::recv)). Framed: `read(2)` until the frame is in.
    /// Windows: as [`recv_vec`](Self::recv_vec), then cut to `buf`. A
    /// message over [`max_message_size`](Self::max_message_size) is `InvalidData` (with
    /// framing, so is every receive after it).
    ///
    /// # Cancel safety
    /// Cancel-safe: a dropped future has taken no message. (Linux: the `recvmsg` is made in
    /// the poll that returns `Ready`. Framed: the bytes of a frame read so far stay with the
    /// stream and the next receive goes on from there. Windows: the read goes on on the pool
    /// thread, and the next receive returns its message.) Tested: 10,000 receives raced against
    /// a zero timeout, every message received exactly once, whole, in order.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Option<RecvResult>> {
        let got = self.inner.recv(buf).await?;
        Ok(got.map(|(len, truncated)| RecvResult { len, truncated }))
    }

    /// Receives one message into a `Vec` of exactly its size; `Ok(None)` at end of stream.
    ///
    /// Linux: `recvmsg(MSG_PEEK | MSG_TRUNC)` for the size, then `recvmsg`, both in one poll
    /// once tokio reports readability. Framed: `read(2)` until the frame is in, the buffer
    /// growing as the bytes arrive. Windows: `ReadFile` (`PeekNamedPipe` and one more
    /// `ReadFile` for a message over 4 KiB) on tokio's blocking pool. Errors as for [`recv`](Self::recv); a failed allocation
    /// is `OutOfMemory`.
    ///
    /// # Cancel safety
    /// Cancel-safe, as [`recv`](Self::recv) (tested the same way).
    pub async fn recv_vec(&self) -> io::Result<Option<Vec<u8>>> {
        self.inner.recv_vec().await
    }

    /// The credentials of the peer; see the sync
    /// [`peer_creds`](sync::MessageStream::peer_creds). Linux:
    /// `getsockopt(SO_PEERCRED)`; BSDs: `getpeereid` (+ `LOCAL_PEERPID` on Apple); Windows:
    /// `GetNamedPipeClientProcessId`/`GetNamedPipeServerProcessId`.
    pub fn peer_creds(&self) -> io::Result<PeerCreds> {
        self.inner.peer_creds()
    }

    /// Sets the largest message this stream sends or receives, from the next `send`/`recv`
    /// on (default: the listener's for an accepted stream, else
    /// [`DEFAULT_MAX_MESSAGE_SIZE`](sync::DEFAULT_MAX_MESSAGE_SIZE), 16 MiB). No OS call.
    pub fn set_max_message_size(&self, bytes: usize) {
        self.inner.set_max_message_size(bytes);
    }

    /// The largest message this stream sends or receives. No OS call.
    pub fn max_message_size(&self) -> usize {
        self.inner.max_message_size()
    }
}

impl TryFrom<sync::MessageStream> for MessageStream {
    type Error = io::Error;
    /// Registers a sync message stream with tokio's reactor (`fcntl(F_SETFL, O_NONBLOCK)`,
    /// `epoll_ctl`/`kevent`; Windows: no OS call, blocking mode with a 100 ms read timeout
    /// that the receives wait in), keeping its `max_message_size` (and, with framing, a frame
    /// partly received). Within a runtime; an error outside. Sync clones
    /// ([`try_clone`](sync::MessageStream::try_clone)) made before share the descriptor, which
    /// is now nonblocking.
    fn try_from(s: sync::MessageStream) -> io::Result<Self> {
        Ok(Self {
            inner: sys::tokio::message::MessageStream::from_sync(s.inner)?,
        })
    }
}
