//! The async-io [`LocalSocketListener`].

use super::LocalSocketStream;
use crate::local_socket::{self as sync, ListenerOptions, LocalSocketName, ToLocalSocketName};
use crate::sys::async_io as sys;
use std::io;

/// An async local socket server on async-io's reactor, listening for connections.
#[derive(Debug)]
pub struct LocalSocketListener {
    inner: sys::Listener,
}

impl LocalSocketListener {
    /// Creates a listener bound to `name`, with default [`ListenerOptions`].
    ///
    /// Same OS calls, reclaim rules and errors as the sync
    /// [`LocalSocketListener::bind`](sync::LocalSocketListener::bind). Unix: then
    /// `ioctl(FIONBIO)` and registration with async-io's reactor (`epoll_ctl`/`kevent`).
    /// Needs no runtime: the reactor starts on first use.
    pub fn bind<'a>(name: impl ToLocalSocketName<'a>) -> io::Result<Self> {
        Self::bind_with(name, &ListenerOptions::new())
    }

    /// Creates a listener bound to `name` with `options` (reclaim, mode and access policy on
    /// Unix, the security descriptor and access policy on Windows, as for the sync
    /// [`bind_with`](sync::LocalSocketListener::bind_with)), then as [`bind`](Self::bind).
    pub fn bind_with<'a>(
        name: impl ToLocalSocketName<'a>,
        options: &ListenerOptions,
    ) -> io::Result<Self> {
        let name = name.to_local_socket_name()?;
        Ok(Self {
            inner: sys::Listener::bind(&name, options)?,
        })
    }

    /// Waits for a client and returns its stream. Cancel-safe: dropping the future loses no
    /// client. Any number of tasks may wait in `accept` on one listener at once; each client
    /// goes to one of them.
    ///
    /// Unix: `accept4(SOCK_CLOEXEC | SOCK_NONBLOCK)`, waiting for readability on `EAGAIN`;
    /// peers refused by the access policy are closed and the wait goes on. Windows:
    /// `ConnectNamedPipe` on the pending instance, then `CreateNamedPipeW` for the next one,
    /// on a thread of the `blocking` pool.
    ///
    /// Errors name the listener. As with the sync
    /// [`accept`](sync::LocalSocketListener::accept), an error other than
    /// `ConnectionAborted`/`Interrupted` (e.g. out of descriptors, `EMFILE`) recurs until
    /// something is freed: wait (e.g. `async_io::Timer::after` of about 100 ms) before the next
    /// `accept`.
    pub async fn accept(&self) -> io::Result<LocalSocketStream> {
        let inner = self.inner.accept().await?;
        Ok(LocalSocketStream { inner })
    }

    /// The name this listener was bound to.
    pub fn local_name(&self) -> LocalSocketName<'_> {
        self.inner.name().borrow()
    }
}

impl TryFrom<sync::LocalSocketListener> for LocalSocketListener {
    type Error = io::Error;
    /// Unix: `ioctl(FIONBIO)` and registration with async-io's reactor. Windows: no OS call
    /// (accepts then run on the `blocking` pool).
    fn try_from(l: sync::LocalSocketListener) -> io::Result<Self> {
        Ok(Self {
            inner: sys::Listener::from_sync(l.inner)?,
        })
    }
}
