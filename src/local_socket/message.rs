//! Message-framed local sockets: [`MessageListener`] and [`MessageStream`], which keep
//! message boundaries — one [`send`](MessageStream::send) is one
//! [`recv`](MessageStream::recv) on the other side, empty messages included.
//!
//! Same names, [`ListenerOptions`] (mode, reclaim, nonblocking; security descriptor on
//! Windows), [`ConnectOptions`] and reclaim rules as the byte-stream local sockets; both
//! options also carry the [maximum message size](#message-size).
//!
//! | platform | how |
//! |---|---|
//! | Linux, Android | `SOCK_SEQPACKET` Unix domain sockets (tested) |
//! | macOS, FreeBSD, other Unix | length-prefixed frames over `SOCK_STREAM`: a 4-byte little-endian length, then the message (type-checked; the framing is tested on Linux) |
//! | Windows | named pipes of message type read in message mode (`PIPE_TYPE_MESSAGE`, `PIPE_READMODE_MESSAGE`; tested under Wine) |
//!
//! Both ends must use these types: a message listener is not a stream listener (on Linux a
//! stream client is refused; with framing it would see the length prefixes; on Windows
//! nothing refuses it, as both are pipes of message type: each `write` of a stream client
//! arrives as one message, and it reads the messages sent to it as bytes run together, an
//! empty message as end of file).
//!
//! # Message size
//!
//! Every message socket has one maximum message size: [`DEFAULT_MAX_MESSAGE_SIZE`]
//! (16 MiB) on every platform, set with [`ListenerOptions::max_message_size`] (for the
//! connections a listener accepts) or [`ConnectOptions::max_message_size`].
//!
//! - [`send`](MessageStream::send) of a longer message is `InvalidInput`; nothing is sent.
//! - A longer message from the peer (one with a higher limit, or a hostile one) is never
//!   delivered: [`recv`](MessageStream::recv) and [`recv_vec`](MessageStream::recv_vec)
//!   return `InvalidData` naming its size and the limit, and no buffer of its size is
//!   allocated. Where the OS keeps message boundaries (Linux, Windows) it is discarded whole
//!   and the next receive gets the next message. With framing the connection is out of step
//!   for good: that receive and every later one return the same error (close it).
//! - `recv_vec` allocates with `try_reserve`, so a failed allocation is an `OutOfMemory`
//!   error, not an abort. With framing the buffer grows as the bytes arrive (a length prefix
//!   alone reserves at most 64 KiB); on Linux and Windows the OS states the size of a
//!   message that has arrived.
//!
//! Why 16 MiB: it is what the framing always allowed; it is far above what Linux lets one
//! message carry by default (below); and it bounds what one connection can make a receiver
//! hold, so a server with many peers stays in control of its memory. Larger payloads belong
//! on a byte stream, or raise the limit on both ends.
//!
//! The OS may allow less. Linux: a message must fit the sender's send buffer (`SO_SNDBUF`,
//! about 208 KiB by default; larger is `InvalidInput`). Framing: at most 4 GiB - 1 bytes (the
//! length prefix is a `u32`). Windows: at most 4 GiB - 1 bytes (one `WriteFile`); the
//! pipe's 64 KiB buffer is a quota, not a limit: a message that does not fit in its free
//! room makes `send` wait until the receiver reads it. So in nonblocking mode (or past a
//! write timeout) such a send fails with `WouldBlock` (`TimedOut`) unless the receiver reads
//! in time; the message is then withdrawn (tested under Wine with 1 MiB and no reader: the
//! receiver sees none of it).
//!
//! ```
//! use localipc::local_socket::message::{MessageListener, MessageStream};
//!
//! # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
//! #     format!("@localipc-doc-msg-{}", std::process::id())
//! # } else { format!("/tmp/localipc-doc-msg-{}.sock", std::process::id()) };
//! let listener = MessageListener::bind(name.as_str())?;
//! let client = MessageStream::connect(name.as_str())?;
//! let server = listener.accept()?;
//! client.send(b"first")?;
//! client.send(b"")?; // an empty message is a message
//! client.send(b"third")?;
//! drop(client);
//! assert_eq!(server.recv_vec()?.as_deref(), Some(&b"first"[..]));
//! assert_eq!(server.recv_vec()?.as_deref(), Some(&b""[..]));
//! let mut small = [0; 3];
//! let got = server.recv(&mut small)?.unwrap();
//! assert_eq!((got.len, got.truncated), (3, true)); // "thi", the rest is dropped
//! assert_eq!(server.recv_vec()?, None); // the client has gone
//! # std::io::Result::Ok(())
//! ```

use super::{ConnectOptions, ListenerOptions, LocalSocketName, PeerCreds, ToLocalSocketName};
use crate::sys;
use std::io;
use std::time::Duration;

/// The default of `max_message_size` ([`ListenerOptions::max_message_size`],
/// [`ConnectOptions::max_message_size`]): 16 MiB, on every platform. See
/// [Message size](self#message-size).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 16 << 20;

/// A server for message-framed local sockets.
#[derive(Debug)]
pub struct MessageListener {
    pub(crate) inner: sys::MessageListener,
}

impl MessageListener {
    /// Creates a listener bound to `name` with default [`ListenerOptions`].
    ///
    /// Linux: `socket(AF_UNIX, SOCK_SEQPACKET)`, `bind`, `listen`; elsewhere on Unix the same
    /// with `SOCK_STREAM`. Windows: `CreateNamedPipeW(FILE_FLAG_FIRST_PIPE_INSTANCE |
    /// FILE_FLAG_OVERLAPPED, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE |
    /// PIPE_REJECT_REMOTE_CLIENTS)` and `CreateEventW`. Errors as for
    /// [`LocalSocketListener::bind`](super::LocalSocketListener::bind).
    pub fn bind<'a>(name: impl ToLocalSocketName<'a>) -> io::Result<Self> {
        Self::bind_with(name, &ListenerOptions::new())
    }

    /// Creates a listener bound to `name` with `options` (nonblocking, reclaim, mode, the
    /// maximum message size of its connections; on Windows the security descriptor, converted with
    /// `ConvertStringSecurityDescriptorToSecurityDescriptorW`: the same rules as for stream
    /// listeners). OS calls as for [`bind`](Self::bind).
    pub fn bind_with<'a>(
        name: impl ToLocalSocketName<'a>,
        options: &ListenerOptions,
    ) -> io::Result<Self> {
        let name = name.to_local_socket_name()?;
        Ok(Self {
            inner: sys::MessageListener::bind(&name, options)?,
        })
    }

    /// Waits for a client and returns its stream (in blocking mode).
    ///
    /// Unix: `accept4(SOCK_CLOEXEC)`; Linux also `setsockopt(SO_PASSCRED)` on the new
    /// socket (see [`MessageStream::recv`]). Windows: `ConnectNamedPipe` (overlapped), then
    /// `CreateNamedPipeW` for the next instance, as the stream listener does.
    pub fn accept(&self) -> io::Result<MessageStream> {
        Ok(MessageStream {
            inner: self.inner.accept()?,
        })
    }

    /// Moves `accept` into or out of nonblocking mode. Unix: `fcntl(F_SETFL, O_NONBLOCK)`.
    /// Windows: no OS call (a nonblocking `accept` leaves its `ConnectNamedPipe` in flight).
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }

    /// The name this listener was bound to.
    pub fn local_name(&self) -> LocalSocketName<'_> {
        self.inner.name().borrow()
    }
}

/// A connected message-framed local socket. All methods take `&self`; concurrent senders
/// (or receivers) never interleave messages.
#[derive(Debug)]
pub struct MessageStream {
    pub(crate) inner: sys::MessageStream,
}

/// What [`MessageStream::recv`] got: one message, possibly cut to the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecvResult {
    /// How many bytes were written to the buffer.
    pub len: usize,
    /// Whether the message was longer than the buffer; the rest of it is discarded.
    pub truncated: bool,
}

impl MessageStream {
    /// Connects to the message listener on `name`, failing at once if there is none.
    ///
    /// Linux: `socket(AF_UNIX, SOCK_SEQPACKET)` + `connect` + `setsockopt(SO_PASSCRED)`;
    /// elsewhere on Unix `SOCK_STREAM`. Windows: `CreateFileW` (`WaitNamedPipeW` while
    /// every instance is busy), then `SetNamedPipeHandleState(PIPE_READMODE_MESSAGE)`.
    pub fn connect<'a>(name: impl ToLocalSocketName<'a>) -> io::Result<Self> {
        Self::connect_with(name, &ConnectOptions::new())
    }

    /// Connects with `options` (a timeout also waits for a server not up yet, as
    /// [`ConnectOptions::connect`] does for streams; the maximum message size).
    pub fn connect_with<'a>(
        name: impl ToLocalSocketName<'a>,
        options: &ConnectOptions,
    ) -> io::Result<Self> {
        let name = name.to_local_socket_name()?;
        Ok(Self {
            inner: sys::MessageStream::connect(&name, options)?,
        })
    }

    /// Sends `msg` as one message, whole or not at all (with framing: once any of it is
    /// out, the rest follows even past a timeout or in nonblocking mode).
    ///
    /// Linux: `send(MSG_NOSIGNAL)`; framed: `sendmsg(MSG_NOSIGNAL)` of length + message.
    /// Windows: one overlapped `WriteFile`; if a timeout or nonblocking mode cancels it
    /// (`CancelIoEx`) after the receiver had read part of the message, the error says so
    /// and the receiver may get that part as a shorter message.
    /// A vanished peer gives `BrokenPipe`, never `SIGPIPE`; a message over the size limit
    /// (see [Message size](self#message-size)) gives `InvalidInput`.
    pub fn send(&self, msg: &[u8]) -> io::Result<()> {
        self.inner.send(msg)
    }

    /// Receives one message into `buf`; `Ok(None)` once the peer has closed its end and
    /// every message it sent has been received.
    ///
    /// A message longer than `buf` fills it and is reported as
    /// [`truncated`](RecvResult::truncated); the rest of that message is discarded.
    ///
    /// Linux: `recvmsg(MSG_TRUNC)`. `SO_PASSCRED` is on for every message socket there: an
    /// empty message and end of file both read 0 bytes, and only a message carries the
    /// credentials the kernel then attaches. Framed: `read(2)` until the frame is in; a
    /// timeout or `WouldBlock` in the middle of a frame keeps what was read for the next
    /// call. Windows: one overlapped `ReadFile`; an empty message reads as 0 bytes and end of
    /// file as `ERROR_BROKEN_PIPE`. A longer message fails it with `ERROR_MORE_DATA`, and
    /// more `ReadFile`s drop the rest (if one of them times out, the next call finishes it).
    ///
    /// A message over the size limit is `InvalidData` (see
    /// [Message size](self#message-size)); with framing, so is every receive after an
    /// `InvalidData` or `UnexpectedEof` (a frame cut by end of file).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<RecvResult>> {
        Ok(self
            .inner
            .recv(buf)?
            .map(|(len, truncated)| RecvResult { len, truncated }))
    }

    /// Receives one message into a `Vec` of exactly its size; `Ok(None)` at end of stream.
    ///
    /// Linux: `recvmsg(MSG_PEEK | MSG_TRUNC)` for the size, then `recvmsg`. Framed: the
    /// length prefix gives the size. Windows: `ReadFile` into a 4 KiB buffer; if the message
    /// is longer (`ERROR_MORE_DATA`), `PeekNamedPipe` for the size of its rest and one more
    /// `ReadFile` (a timeout in between keeps what was read for the next call).
    ///
    /// Errors as for [`recv`](Self::recv); the buffer is allocated with `try_reserve`, so a
    /// failed allocation is `OutOfMemory`. With framing it grows as the bytes arrive.
    pub fn recv_vec(&self) -> io::Result<Option<Vec<u8>>> {
        self.inner.recv_vec()
    }

    /// The credentials of the peer; see
    /// [`LocalSocketStream::peer_creds`](super::LocalSocketStream::peer_creds). Windows:
    /// the process id only (`GetNamedPipeClientProcessId` on the server end,
    /// `GetNamedPipeServerProcessId` on the client end).
    pub fn peer_creds(&self) -> io::Result<PeerCreds> {
        self.inner.peer_creds()
    }

    /// Moves the stream into or out of nonblocking mode (`WouldBlock` instead of waiting).
    /// Unix: `fcntl(F_SETFL, O_NONBLOCK)`. Windows: no OS call; I/O that cannot complete at
    /// once is cancelled (`CancelIoEx`).
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }

    /// Bounds how long `recv` may wait (`None`: forever). Unix: `setsockopt(SO_RCVTIMEO)`.
    /// Windows: no OS call; a `ReadFile` still waiting then is cancelled (`CancelIoEx`).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_read_timeout(timeout)
    }

    /// Bounds how long `send` may wait before any of the message is out (`None`: forever).
    /// Unix: `setsockopt(SO_SNDTIMEO)`. Windows: no OS call; a `WriteFile` still waiting
    /// then is cancelled (`CancelIoEx`).
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_write_timeout(timeout)
    }
}
