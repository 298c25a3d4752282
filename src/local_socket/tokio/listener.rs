//! The async [`LocalSocketListener`] and its [`Incoming`] stream.

use super::LocalSocketStream;
use crate::local_socket::{self as sync, ListenerOptions, LocalSocketName, ToLocalSocketName};
use crate::sys;
use futures_core::Stream;
use std::future::poll_fn;
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

    /// Creates a listener bound to `name` with `options` (mode, reclaim; `nonblocking` has no
    /// meaning here and is ignored).
    pub fn bind_with<'a>(
        name: impl ToLocalSocketName<'a>,
        options: &ListenerOptions,
    ) -> io::Result<Self> {
        let name = name.to_local_socket_name()?;
        Ok(Self {
            inner: sys::tokio::Listener::bind(&name, options)?,
        })
    }

    /// Waits for a client and returns its stream.
    pub async fn accept(&self) -> io::Result<LocalSocketStream> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a client: `Ready` with its stream once one is there.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<LocalSocketStream>> {
        let inner = ready!(self.inner.poll_accept(cx))?;
        Poll::Ready(Ok(LocalSocketStream { inner }))
    }

    /// An endless [`Stream`] of accepted connections.
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
/// that never ends.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a LocalSocketListener,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<LocalSocketStream>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.listener.poll_accept(cx).map(Some)
    }
}
