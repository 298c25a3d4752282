//! Message-framed local sockets: [`MessageListener`] and [`MessageStream`], which keep
//! message boundaries — one [`send`](MessageStream::send) is one
//! [`recv`](MessageStream::recv) on the other side, empty messages included.
//!
//! Same names, [`ListenerOptions`] (reclaim, mode; security descriptor on Windows),
//! [`ConnectOptions`] (timeout) and reclaim rules as the byte-stream local sockets, and the
//! same methods where they apply (`bind`/`bind_with`, `accept`, `incoming`, `connect`/
//! `connect_with`, `try_clone`, `set_nonblocking`, the timeouts and their getters). Each
//! socket also has a [maximum message size](#message-size).
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
//! (16 MiB) on every platform, changed with [`MessageStream::set_max_message_size`], or
//! [`MessageListener::set_max_message_size`] for the connections a listener accepts from
//! then on.
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
use std::iter::FusedIterator;
use std::time::Duration;

/// The maximum message size of new message sockets ([`MessageListener::max_message_size`],
/// [`MessageStream::max_message_size`]): 16 MiB, on every platform. See
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
    ///
    /// ```
    /// use localipc::local_socket::message::{MessageListener, MessageStream};
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-msg-bind-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-msg-bind-{}.sock", std::process::id()) };
    /// let listener = MessageListener::bind(name.as_str())?;
    /// let client = MessageStream::connect(name.as_str())?;
    /// let server = listener.accept()?;
    /// client.send(b"one message")?;
    /// assert_eq!(server.recv_vec()?.as_deref(), Some(&b"one message"[..]));
    /// # std::io::Result::Ok(())
    /// ```
    pub fn bind<'a>(name: impl ToLocalSocketName<'a>) -> io::Result<Self> {
        Self::bind_with(name, &ListenerOptions::new())
    }

    /// Creates a listener bound to `name` with `options` (reclaim and mode on Unix; on
    /// Windows the security descriptor, converted with
    /// `ConvertStringSecurityDescriptorToSecurityDescriptorW`: the same rules as for stream
    /// listeners). OS calls as for [`bind`](Self::bind).
    ///
    /// ```
    /// use localipc::local_socket::message::{MessageListener, MessageStream};
    /// use localipc::local_socket::ListenerOptions;
    ///
    /// let mut opts = ListenerOptions::new();
    /// #[cfg(unix)]
    /// let name = {
    ///     opts.mode(0o600); // only this user may connect
    ///     std::env::temp_dir().join(format!("localipc-doc-msg-bind-with-{}.sock", std::process::id()))
    /// };
    /// #[cfg(windows)]
    /// let name = {
    ///     opts.security_descriptor("D:P(A;;GA;;;OW)"); // only the owner may connect
    ///     format!("@localipc-doc-msg-bind-with-{}", std::process::id())
    /// };
    /// let listener = MessageListener::bind_with(&*name, &opts)?; // a `&Path` or `&str`
    /// listener.set_max_message_size(1024); // for the connections accepted from now on
    ///
    /// let client = MessageStream::connect(&*name)?;
    /// let server = listener.accept()?;
    /// assert_eq!(server.max_message_size(), 1024);
    /// // (Small enough to fit the pipe's buffer on Windows: a send of a message that does not
    /// // fit waits for the reader, which here is this same thread.)
    /// client.send(&[0; 2048])?; // the client's limit is still the default, 16 MiB...
    /// let err = server.recv_vec().unwrap_err(); // ...but the server refuses it
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn bind_with<'a>(
        name: impl ToLocalSocketName<'a>,
        options: &ListenerOptions,
    ) -> io::Result<Self> {
        let name = name.to_local_socket_name()?;
        Ok(Self {
            inner: sys::MessageListener::bind(&name, options)?,
        })
    }

    /// Waits for a client and returns its stream (in blocking mode, with this listener's
    /// [`max_message_size`](Self::max_message_size)).
    ///
    /// Unix: `accept4(SOCK_CLOEXEC)`; Linux also `setsockopt(SO_PASSCRED)` on the new
    /// socket (see [`MessageStream::recv`]). Windows: `ConnectNamedPipe` (overlapped), then
    /// `CreateNamedPipeW` for the next instance, as the stream listener does. Errors as for
    /// [`LocalSocketListener::accept`](super::LocalSocketListener::accept).
    pub fn accept(&self) -> io::Result<MessageStream> {
        Ok(MessageStream {
            inner: self.inner.accept()?,
        })
    }

    /// An iterator of [`accept`](Self::accept) results, ending once the listener is stopped
    /// ([`stopper`](Self::stopper)) (the same as
    /// `Incoming::from(&listener)`), as
    /// [`LocalSocketListener::incoming`](super::LocalSocketListener::incoming). An error does
    /// not end it: back off as that method describes before taking the next item.
    ///
    /// ```
    /// use localipc::local_socket::message::{MessageListener, MessageStream};
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-msg-incoming-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-msg-incoming-{}.sock", std::process::id()) };
    /// let listener = MessageListener::bind(name.as_str())?;
    /// let server = std::thread::spawn(move || -> std::io::Result<()> {
    ///     // One client after another; `take` so that this example ends.
    ///     for conn in listener.incoming().take(2) {
    ///         let conn = conn?;
    ///         while let Some(request) = conn.recv_vec()? {
    ///             conn.send(&request)?; // echo each message
    ///         }
    ///     }
    ///     Ok(())
    /// });
    /// for word in ["first", "second"] {
    ///     let conn = MessageStream::connect(name.as_str())?;
    ///     conn.send(word.as_bytes())?;
    ///     assert_eq!(conn.recv_vec()?.as_deref(), Some(word.as_bytes()));
    /// } // dropped: the server's `recv_vec` sees the end
    /// server.join().unwrap()?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming::from(self)
    }

    /// Sets the largest message the connections accepted from now on send or receive
    /// (default: [`DEFAULT_MAX_MESSAGE_SIZE`], 16 MiB); connections already accepted keep
    /// theirs. No OS call. See [Message size](self#message-size).
    pub fn set_max_message_size(&self, bytes: usize) {
        self.inner.set_max_message_size(bytes);
    }

    /// The largest message the connections accepted from now on send or receive.
    pub fn max_message_size(&self) -> usize {
        self.inner.max_message_size()
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

impl<'a> IntoIterator for &'a MessageListener {
    type Item = io::Result<MessageStream>;
    type IntoIter = Incoming<'a>;
    fn into_iter(self) -> Incoming<'a> {
        self.incoming()
    }
}

/// An iterator over the connections coming in to a [`MessageListener`].
///
/// Each item is the result of one [`accept`](MessageListener::accept); it ends (`None`)
/// only once the listener is stopped with an [`AcceptStopper`](super::AcceptStopper).
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a MessageListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<MessageStream>;
    /// The next [`accept`](MessageListener::accept) result; `None` once the listener is stopped
    /// ([`AcceptStopper`](super::AcceptStopper)), and from then on.
    fn next(&mut self) -> Option<Self::Item> {
        match self.listener.accept() {
            Err(e) if super::AcceptStopper::is_stop_error(&e) => None,
            r => Some(r),
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, None)
    }
}

impl FusedIterator for Incoming<'_> {}

impl<'a> From<&'a MessageListener> for Incoming<'a> {
    /// The same as [`MessageListener::incoming`].
    fn from(listener: &'a MessageListener) -> Self {
        Self { listener }
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
    ///
    /// ```
    /// use localipc::local_socket::message::{MessageListener, MessageStream};
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-msg-connect-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-msg-connect-{}.sock", std::process::id()) };
    /// assert!(MessageStream::connect(name.as_str()).is_err()); // no server yet
    /// let listener = MessageListener::bind(name.as_str())?;
    /// let client = MessageStream::connect(name.as_str())?;
    /// listener.accept()?.send(b"welcome")?;
    /// assert_eq!(client.recv_vec()?.as_deref(), Some(&b"welcome"[..]));
    /// # std::io::Result::Ok(())
    /// ```
    pub fn connect<'a>(name: impl ToLocalSocketName<'a>) -> io::Result<Self> {
        Self::connect_with(name, &ConnectOptions::new())
    }

    /// Connects with `options`: a [timeout](ConnectOptions::timeout) also waits for a server
    /// not up yet or busy, as
    /// [`LocalSocketStream::connect_with`](super::LocalSocketStream::connect_with) does.
    ///
    /// ```
    /// use localipc::local_socket::message::{MessageListener, MessageStream};
    /// use localipc::local_socket::ConnectOptions;
    /// use std::time::Duration;
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-msg-connect-with-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-msg-connect-with-{}.sock", std::process::id()) };
    /// let server = std::thread::spawn({
    ///     let name = name.clone();
    ///     move || -> std::io::Result<()> {
    ///         std::thread::sleep(Duration::from_millis(100)); // starting up...
    ///         let conn = MessageListener::bind(name.as_str())?.accept()?;
    ///         conn.send(b"ready")
    ///     }
    /// });
    /// // Waits up to 10 s for the server to come up.
    /// let conn = MessageStream::connect_with(
    ///     name.as_str(),
    ///     ConnectOptions::new().timeout(Duration::from_secs(10)),
    /// )?;
    /// conn.set_max_message_size(1 << 20); // a mode of the connection, not of the connect
    /// assert_eq!(conn.recv_vec()?.as_deref(), Some(&b"ready"[..]));
    /// server.join().unwrap()?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn connect_with<'a>(
        name: impl ToLocalSocketName<'a>,
        options: &ConnectOptions,
    ) -> io::Result<Self> {
        let name = name.to_local_socket_name()?;
        super::access::check_expectation(options, &name)?;
        let inner = sys::MessageStream::connect(&name, options)?;
        super::access::check_server(options, &name, || inner.peer_creds())?;
        Ok(Self { inner })
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
    ///
    /// ```
    /// use localipc::local_socket::message::{MessageListener, MessageStream};
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-msg-send-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-msg-send-{}.sock", std::process::id()) };
    /// let listener = MessageListener::bind(name.as_str())?;
    /// let client = MessageStream::connect(name.as_str())?;
    /// let server = listener.accept()?;
    ///
    /// // Two threads sending at once: each message arrives whole.
    /// std::thread::scope(|s| {
    ///     s.spawn(|| client.send(&[b'a'; 1000]));
    ///     s.spawn(|| client.send(&[b'b'; 1000]));
    /// });
    /// for _ in 0..2 {
    ///     let msg = server.recv_vec()?.unwrap();
    ///     assert!(msg == [b'a'; 1000] || msg == [b'b'; 1000]);
    /// }
    ///
    /// client.set_max_message_size(16);
    /// let err = client.send(&[0; 17]).unwrap_err(); // over this stream's limit: not sent
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// # std::io::Result::Ok(())
    /// ```
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
    ///
    /// ```
    /// use localipc::local_socket::message::{MessageListener, MessageStream, RecvResult};
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-msg-recv-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-msg-recv-{}.sock", std::process::id()) };
    /// let listener = MessageListener::bind(name.as_str())?;
    /// let client = MessageStream::connect(name.as_str())?;
    /// let server = listener.accept()?;
    /// client.send(b"short")?;
    /// client.send(b"a longer message")?;
    /// drop(client);
    ///
    /// let mut buf = [0; 8];
    /// let got = server.recv(&mut buf)?.expect("a message");
    /// assert_eq!((&buf[..got.len], got.truncated), (&b"short"[..], false));
    /// let got = server.recv(&mut buf)?.expect("a message");
    /// assert_eq!((&buf[..got.len], got.truncated), (&b"a longer"[..], true)); // rest dropped
    /// assert_eq!(server.recv(&mut buf)?, None::<RecvResult>); // the client has gone
    /// # std::io::Result::Ok(())
    /// ```
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
    ///
    /// ```
    /// use localipc::local_socket::message::{MessageListener, MessageStream};
    /// use std::io::ErrorKind;
    /// use std::time::Duration;
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-msg-timeouts-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-msg-timeouts-{}.sock", std::process::id()) };
    /// let listener = MessageListener::bind(name.as_str())?;
    /// let _client = MessageStream::connect(name.as_str())?;
    /// let server = listener.accept()?;
    /// server.set_read_timeout(Some(Duration::from_millis(50)))?;
    /// let err = server.recv_vec().unwrap_err(); // nothing came within about 50 ms
    /// assert!(matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{err}");
    ///
    /// server.set_read_timeout(None)?;
    /// server.set_nonblocking(true)?; // or never wait at all
    /// assert_eq!(server.recv_vec().unwrap_err().kind(), ErrorKind::WouldBlock);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_read_timeout(timeout)
    }

    /// Bounds how long `send` may wait before any of the message is out (`None`: forever).
    /// Unix: `setsockopt(SO_SNDTIMEO)`. Windows: no OS call; a `WriteFile` still waiting
    /// then is cancelled (`CancelIoEx`).
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_write_timeout(timeout)
    }

    /// The read timeout. Unix: `getsockopt(SO_RCVTIMEO)`. Windows: no OS call.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.read_timeout()
    }

    /// The write timeout. Unix: `getsockopt(SO_SNDTIMEO)`. Windows: no OS call.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.write_timeout()
    }

    /// Sets the largest message this stream sends or receives (default: the listener's for
    /// an accepted stream, else [`DEFAULT_MAX_MESSAGE_SIZE`], 16 MiB). It applies from the
    /// next `send`/`recv` on (with framing, a receive already inside a frame keeps the limit
    /// it checked the frame against), and to every [`try_clone`](Self::try_clone) of this
    /// stream. No OS call. See [Message size](self#message-size).
    pub fn set_max_message_size(&self, bytes: usize) {
        self.inner.set_max_message_size(bytes);
    }

    /// The largest message this stream sends or receives.
    pub fn max_message_size(&self) -> usize {
        self.inner.max_message_size()
    }

    /// A second handle to the same connection, sharing its state: messages, modes, timeouts
    /// and [`max_message_size`](Self::max_message_size) are the connection's, and the two
    /// handles never interleave or split messages between them (each `recv` takes a whole
    /// message, whichever handle calls it). Unix: `fcntl(F_DUPFD_CLOEXEC)`. Windows:
    /// `DuplicateHandle`.
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            inner: self.inner.try_clone()?,
        })
    }
}
