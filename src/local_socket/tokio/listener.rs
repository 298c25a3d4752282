//! The async [`LocalSocketListener`] and its [`Incoming`] stream.

use super::LocalSocketStream;
use crate::local_socket::{self as sync, ListenerOptions, LocalSocketName, ToLocalSocketName};
use crate::sys;
use futures_core::{FusedStream, Stream};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// An async local socket server, listening for connections.
#[derive(Debug)]
pub struct LocalSocketListener {
    pub(crate) inner: sys::tokio::Listener,
}

impl LocalSocketListener {
    /// Creates a listener bound to `name`, with default [`ListenerOptions`].
    ///
    /// Same OS calls, reclaim rules and errors as the sync
    /// [`LocalSocketListener::bind`](sync::LocalSocketListener::bind), then registration with
    /// tokio's reactor. Must be called within a tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-tokio-bind-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-tokio-bind-{}.sock", std::process::id()) };
    /// let listener = LocalSocketListener::bind(name.as_str())?; // inside the runtime
    /// let (accepted, connected) =
    ///     tokio::join!(listener.accept(), LocalSocketStream::connect(name.as_str()));
    /// let (_server, _client) = (accepted?, connected?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn bind<'a>(name: impl ToLocalSocketName<'a>) -> io::Result<Self> {
        Self::bind_with(name, &ListenerOptions::new())
    }

    /// Creates a listener bound to `name` with `options` (reclaim and mode on Unix, the
    /// security descriptor on Windows, as for the sync
    /// [`bind_with`](sync::LocalSocketListener::bind_with)), then registration with tokio's
    /// reactor. Must be called within a tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
    /// use localipc::local_socket::ListenerOptions;
    ///
    /// let mut opts = ListenerOptions::new();
    /// #[cfg(unix)]
    /// let name = {
    ///     opts.mode(0o600); // only this user may connect
    ///     std::env::temp_dir().join(format!("localipc-doc-tokio-bind-with-{}.sock", std::process::id()))
    /// };
    /// #[cfg(windows)]
    /// let name = {
    ///     opts.security_descriptor("D:P(A;;GA;;;OW)"); // only the owner may connect
    ///     format!("@localipc-doc-tokio-bind-with-{}", std::process::id())
    /// };
    /// let listener = LocalSocketListener::bind_with(&*name, &opts)?;
    /// let (accepted, connected) = tokio::join!(listener.accept(), LocalSocketStream::connect(&*name));
    /// let (_server, _client) = (accepted?, connected?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn bind_with<'a>(
        name: impl ToLocalSocketName<'a>,
        options: &ListenerOptions,
    ) -> io::Result<Self> {
        let name = name.to_local_socket_name()?;
        Ok(Self {
            inner: sys::tokio::Listener::bind(&name, options)?,
        })
    }

    /// Waits for a client and returns its stream. Cancel-safe: dropping the future loses no
    /// client (Unix: it waits in the backlog; Windows: on the pending pipe instance, whose
    /// `ConnectNamedPipe` stays in flight and is taken by the next `accept`). Any number of tasks may wait in `accept` on one listener at once; each client
    /// goes to one of them.
    ///
    /// Unix: `accept4` when tokio reports readiness. Windows: `ConnectNamedPipe` on the
    /// pending instance, then `CreateNamedPipeW` for the next one.
    ///
    /// Unix: errors name the listener. As with the sync
    /// [`accept`](sync::LocalSocketListener::accept), an error other than
    /// `ConnectionAborted`/`Interrupted` (e.g. out of descriptors, `EMFILE`) recurs until
    /// something is freed: wait (e.g. `tokio::time::sleep` of about 100 ms) before the next
    /// `accept`.
    pub async fn accept(&self) -> io::Result<LocalSocketStream> {
        let inner = self.inner.accept().await?;
        Ok(LocalSocketStream { inner })
    }

    /// Polls for a client: `Ready` with its stream (or an error, as for
    /// [`accept`](Self::accept)), or `Pending` with `cx`'s waker kept to be woken when one
    /// may have come, for hand-written futures and streams (as tokio's
    /// `TcpListener::poll_accept`). Nothing is lost between calls: a client waits in the
    /// backlog (Unix) or on the pending pipe instance (Windows) for the next one.
    ///
    /// Only the waker of the most recent call is kept: one task should poll a listener at a
    /// time. Tasks that share a listener should call [`accept`](Self::accept), which queues
    /// them all.
    ///
    /// Same OS calls as `accept`. Windows: tokio's `NamedPipeServer::connect` is polled once
    /// per call and dropped (the `ConnectNamedPipe` it started stays in flight, and the next
    /// call takes its result), and `poll_write_ready`, which its completion makes ready,
    /// keeps the waker.
    ///
    /// ```
    /// use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
    /// use std::future::Future;
    /// use std::io;
    /// use std::pin::Pin;
    /// use std::task::{Context, Poll};
    ///
    /// /// Accepts `n` connections, then resolves to them.
    /// struct AcceptN<'a> {
    ///     listener: &'a LocalSocketListener,
    ///     n: usize,
    ///     got: Vec<LocalSocketStream>,
    /// }
    ///
    /// impl Future for AcceptN<'_> {
    ///     type Output = io::Result<Vec<LocalSocketStream>>;
    ///     fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
    ///         while self.got.len() < self.n {
    ///             match self.listener.poll_accept(cx) {
    ///                 Poll::Ready(conn) => self.got.push(conn?),
    ///                 Poll::Pending => return Poll::Pending,
    ///             }
    ///         }
    ///         Poll::Ready(Ok(std::mem::take(&mut self.got)))
    ///     }
    /// }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> io::Result<()> {
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-poll-accept-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-poll-accept-{}.sock", std::process::id()) };
    /// let listener = LocalSocketListener::bind(name.as_str())?;
    /// let clients = tokio::spawn(async move {
    ///     let a = LocalSocketStream::connect(name.as_str()).await?;
    ///     let b = LocalSocketStream::connect(name.as_str()).await?;
    ///     io::Result::Ok((a, b))
    /// });
    /// let conns = AcceptN { listener: &listener, n: 2, got: Vec::new() }.await?;
    /// assert_eq!(conns.len(), 2);
    /// clients.await.unwrap()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<LocalSocketStream>> {
        self.inner
            .poll_accept(cx)
            .map_ok(|inner| LocalSocketStream { inner })
    }

    /// An endless [`Stream`] of accepted connections, built on
    /// [`poll_accept`](Self::poll_accept) (so one task should poll it at a time). Its
    /// `next()` is cancel-safe, as `accept` is.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use futures_lite::StreamExt;
    /// use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-tokio-incoming-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-tokio-incoming-{}.sock", std::process::id()) };
    /// let listener = LocalSocketListener::bind(name.as_str())?;
    /// let server = tokio::spawn(async move {
    ///     let mut incoming = listener.incoming().take(3); // `take` so that this example ends
    ///     while let Some(conn) = incoming.next().await {
    ///         let mut conn = conn?;
    ///         tokio::spawn(async move { conn.write_all(b"hello").await }); // one task each
    ///     }
    ///     std::io::Result::Ok(())
    /// });
    /// for _ in 0..3 {
    ///     let mut conn = LocalSocketStream::connect(name.as_str()).await?;
    ///     let mut greeting = [0; 5];
    ///     conn.read_exact(&mut greeting).await?;
    ///     assert_eq!(&greeting, b"hello");
    /// }
    /// server.await.unwrap()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The name this listener was bound to.
    pub fn local_name(&self) -> LocalSocketName<'_> {
        self.inner.name().borrow()
    }
}

impl TryFrom<sync::LocalSocketListener> for LocalSocketListener {
    type Error = io::Error;
    /// Registers a sync listener with tokio's reactor (within a runtime; an error outside).
    fn try_from(l: sync::LocalSocketListener) -> io::Result<Self> {
        Ok(Self {
            inner: sys::tokio::Listener::from_sync(l.inner)?,
        })
    }
}

/// The connections coming in to a [`LocalSocketListener`], as a [`futures_core::Stream`]
/// that never ends: each item is one [`poll_accept`](LocalSocketListener::poll_accept)
/// result (nothing is allocated per connection).
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a LocalSocketListener,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<LocalSocketStream>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.listener.poll_accept(cx).map(Some)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

impl FusedStream for Incoming<'_> {
    /// Never: the stream does not end.
    fn is_terminated(&self) -> bool {
        false
    }
}
