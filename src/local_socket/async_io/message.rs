//! Async message sockets without tokio (feature `async-io`): the twins of
//! [`local_socket::message`](crate::local_socket::message), keeping message boundaries, on
//! async-io's reactor (Unix) or the `blocking` pool (Windows), for any executor.
//!
//! Same names, size limit (`max_message_size`, 16 MiB by default; accepted streams take the
//! listener's) and errors as the sync types: a message over the limit is `InvalidInput` to
//! `send` and `InvalidData` to `recv_vec`; an empty message is a message, `None` is end of
//! stream.
//!
//! Cancellation: [`recv_vec`](MessageStream::recv_vec) and
//! [`accept`](MessageListener::accept) are cancel-safe (Unix: a receive takes a whole message
//! or nothing, and the framing decoder keeps a frame's progress; Windows: the receive in
//! flight stays with the stream, its message returned by the next call). `send` is not: a
//! dropped send may still deliver its message (whole, never cut).
//!
//! ```
//! use futures_lite::future;
//! use localipc::local_socket::async_io::message::{MessageListener, MessageStream};
//!
//! # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
//! #     format!("@localipc-doc-aio-msg-{}", std::process::id())
//! # } else { format!("/tmp/localipc-doc-aio-msg-{}.sock", std::process::id()) };
//! future::block_on(async {
//!     let listener = MessageListener::bind(name.as_str())?;
//!     let (server, client) =
//!         future::zip(listener.accept(), MessageStream::connect(name.as_str())).await;
//!     let (server, client) = (server?, client?);
//!     client.send(b"one").await?;
//!     client.send(b"").await?; // an empty message is a message
//!     drop(client);
//!     assert_eq!(server.recv_vec().await?.as_deref(), Some(&b"one"[..]));
//!     assert_eq!(server.recv_vec().await?.as_deref(), Some(&b""[..]));
//!     assert_eq!(server.recv_vec().await?, None); // end of stream
//!     std::io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```

use crate::local_socket::message as sync;
use crate::local_socket::{
    ConnectOptions, ListenerOptions, LocalSocketName, PeerCreds, ToLocalSocketName,
};
use crate::sys::async_io as sys;
use std::io;

/// An async message socket server.
#[derive(Debug)]
pub struct MessageListener {
    inner: sys::MessageListener,
}

impl MessageListener {
    /// Binds `name` with default [`ListenerOptions`]: the sync
    /// [`MessageListener::bind`](sync::MessageListener::bind), then (Unix) nonblocking mode
    /// and registration with async-io's reactor.
    pub fn bind<'a>(name: impl ToLocalSocketName<'a>) -> io::Result<Self> {
        Self::bind_with(name, &ListenerOptions::new())
    }

    /// Binds `name` with `options`, as the sync
    /// [`bind_with`](sync::MessageListener::bind_with).
    pub fn bind_with<'a>(
        name: impl ToLocalSocketName<'a>,
        options: &ListenerOptions,
    ) -> io::Result<Self> {
        let name = name.to_local_socket_name()?;
        Ok(Self {
            inner: sys::MessageListener::bind(&name, options)?,
        })
    }

    /// Waits for a client. Cancel-safe; any number of tasks may wait at once. Unix:
    /// `accept4`, waiting for readability when nobody is there. Windows: `ConnectNamedPipe`
    /// and `CreateNamedPipeW` for the next instance, on a pool thread.
    pub async fn accept(&self) -> io::Result<MessageStream> {
        Ok(MessageStream {
            inner: self.inner.accept().await?,
        })
    }

    /// The limit the streams accepted from now on get. No OS call.
    pub fn set_max_message_size(&self, bytes: usize) {
        self.inner.set_max_message_size(bytes);
    }

    /// The limit the streams accepted from now on get.
    pub fn max_message_size(&self) -> usize {
        self.inner.max_message_size()
    }

    /// The name this listener was bound to.
    pub fn local_name(&self) -> LocalSocketName<'_> {
        self.inner.name().borrow()
    }
}

impl TryFrom<sync::MessageListener> for MessageListener {
    type Error = io::Error;
    /// Unix: nonblocking mode and registration with async-io's reactor. Windows: no OS call.
    fn try_from(l: sync::MessageListener) -> io::Result<Self> {
        Ok(Self {
            inner: sys::MessageListener::from_sync(l.inner)?,
        })
    }
}

/// An async message stream: one connection, keeping message boundaries.
#[derive(Debug)]
pub struct MessageStream {
    inner: sys::MessageStream,
}

impl MessageStream {
    /// Connects to the message listener on `name`, failing at once if there is none.
    /// Unix: nonblocking `socket(SOCK_SEQPACKET)` (framing: `SOCK_STREAM`) + `connect`, then
    /// `setsockopt(SO_PASSCRED)` (Linux). Windows: the sync connect on a pool thread.
    pub async fn connect<'a>(name: impl ToLocalSocketName<'a>) -> io::Result<Self> {
        Self::connect_with(name, &ConnectOptions::new()).await
    }

    /// Connects with `options` (timeout, expected server), as the async
    /// [`LocalSocketStream::connect_with`](super::LocalSocketStream::connect_with).
    pub async fn connect_with<'a>(
        name: impl ToLocalSocketName<'a>,
        options: &ConnectOptions,
    ) -> io::Result<Self> {
        let name = name.to_local_socket_name()?;
        crate::local_socket::access::check_expectation(options, &name)?;
        let inner = sys::MessageStream::connect(&name, options).await?;
        crate::local_socket::access::check_server(options, &name, || inner.peer_creds())?;
        Ok(Self { inner })
    }

    /// Sends one message, whole. Over the limit: `InvalidInput`, nothing sent. Unix: the
    /// sync `send` (`send(MSG_NOSIGNAL)`; framing: `sendmsg` of the frame), waiting for
    /// writability when the socket buffer is full. Windows: `WriteFile` on a pool thread.
    /// Not cancel-safe: a dropped send may still deliver the message.
    pub async fn send(&self, msg: &[u8]) -> io::Result<()> {
        self.inner.send(msg).await
    }

    /// Receives one message into a `Vec` of its size; `None` at end of stream. Cancel-safe.
    /// Unix: the sync `recv_vec` (`recvmsg(MSG_PEEK | MSG_TRUNC)` then `recvmsg`; framing:
    /// `read(2)`), waiting for readability. Windows: the sync `recv_vec` on a pool thread.
    pub async fn recv_vec(&self) -> io::Result<Option<Vec<u8>>> {
        self.inner.recv_vec().await
    }

    /// The credentials of the peer, as the sync
    /// [`peer_creds`](sync::MessageStream::peer_creds).
    pub fn peer_creds(&self) -> io::Result<PeerCreds> {
        self.inner.peer_creds()
    }

    /// Sets this stream's limit (both ways). No OS call.
    pub fn set_max_message_size(&self, bytes: usize) {
        self.inner.set_max_message_size(bytes);
    }

    /// This stream's limit.
    pub fn max_message_size(&self) -> usize {
        self.inner.max_message_size()
    }
}

impl TryFrom<sync::MessageStream> for MessageStream {
    type Error = io::Error;
    /// Unix: `fcntl(O_NONBLOCK)` and registration. Windows: no OS call.
    fn try_from(s: sync::MessageStream) -> io::Result<Self> {
        Ok(Self {
            inner: sys::MessageStream::from_sync(s.inner)?,
        })
    }
}
