//! The async [`LocalSocketListener`] and its [`Incoming`] stream.

use super::LocalSocketStream;
use crate::local_socket::{self as sync, ListenerOptions, LocalSocketName, ToLocalSocketName};
use crate::sys;
use futures_core::Stream;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

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
    pub fn bind<'a>(name: impl ToLocalSocketName<'a>) -> io::Result<Self> {
        Self::bind_with(name, &ListenerOptions::new())
    }

    /// Creates a listener bound to `name` with `options` (reclaim and mode on Unix, the
    /// security descriptor on Windows, as for the sync
    /// [`bind_with`](sync::LocalSocketListener::bind_with)), then registration with tokio's
    /// reactor. Must be called within a tokio runtime.
    ///
    /// ```no_run
    /// # #[cfg(unix)]
    /// # async fn f() -> std::io::Result<()> {
    /// use localipc::local_socket::{tokio::LocalSocketListener, ListenerOptions};
    ///
    /// let listener = LocalSocketListener::bind_with(
    ///     "/run/user/1000/my-daemon.sock",
    ///     ListenerOptions::new().mode(0o600), // only this user may connect
    /// )?;
    /// # Ok(()) }
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
    /// client.
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

    /// An endless [`Stream`] of accepted connections.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming {
            listener: self,
            next: None,
        }
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

type AcceptFuture<'a> = Pin<Box<dyn Future<Output = io::Result<LocalSocketStream>> + Send + 'a>>;

/// The connections coming in to a [`LocalSocketListener`], as a [`futures_core::Stream`]
/// that never ends.
pub struct Incoming<'a> {
    listener: &'a LocalSocketListener,
    next: Option<AcceptFuture<'a>>,
}

impl fmt::Debug for Incoming<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("listener", &self.listener)
            .finish_non_exhaustive()
    }
}

impl Stream for Incoming<'_> {
    type Item = io::Result<LocalSocketStream>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let listener = self.listener;
        let next = self.next.get_or_insert_with(|| Box::pin(listener.accept()));
        let result = ready!(next.as_mut().poll(cx));
        self.next = None;
        Poll::Ready(Some(result))
    }
}
