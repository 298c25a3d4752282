//! The async-io [`LocalSocketStream`].

use crate::local_socket::{self as sync, ConnectOptions, PeerCreds, ToLocalSocketName};
use crate::sys::async_io as sys;
use futures_io::{AsyncRead, AsyncWrite};
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll};

/// An async local socket stream on async-io's reactor: `futures_io::AsyncRead` and
/// `AsyncWrite`, on both `LocalSocketStream` and `&LocalSocketStream` (so one task can read
/// while another writes; like async-io's `Async`, one task should read and one write at a
/// time, or they keep waking each other).
///
/// [`close`](AsyncWrite::poll_close) is a half-close, on the stream and on a reference alike
/// (as async-io's `Async<UnixStream>`): the peer reads end of file, and this side can still
/// read the reply. (The tokio stream's `futures-io` `close` on an owned stream shuts down
/// both directions, as `interprocess` 1.2.1 did; this new type follows async-io instead.)
///
/// Unix: every method tries the call first and waits for readiness only when it would
/// block, so nothing is lost or repeated when a future is dropped: reads, writes and
/// `connect` are cancel-safe. Windows: see the [module docs](super).
#[derive(Debug)]
pub struct LocalSocketStream {
    pub(crate) inner: sys::Stream,
}

impl LocalSocketStream {
    /// Connects to the server listening on `name`, failing at once if there is none.
    ///
    /// Unix: nonblocking `socket` + `connect`, waiting for writability if in progress (no
    /// thread). Windows: `CreateFileW` on a thread of the `blocking` pool.
    pub async fn connect<'a>(name: impl ToLocalSocketName<'a>) -> io::Result<Self> {
        Self::connect_with(name, &ConnectOptions::new()).await
    }

    /// Connects with `options`: with a [timeout](ConnectOptions::timeout), keeps trying
    /// while the server is not up yet or is busy, then fails with `TimedOut` (Unix: backoff
    /// from 1 to 50 ms on async-io's timer; Windows: the sync connect, `WaitNamedPipeW`
    /// included, on a thread of the `blocking` pool). Server expectations
    /// ([`expect_server`](ConnectOptions::expect_server)) are checked as by the sync
    /// [`connect_with`](sync::LocalSocketStream::connect_with).
    pub async fn connect_with<'a>(
        name: impl ToLocalSocketName<'a>,
        options: &ConnectOptions,
    ) -> io::Result<Self> {
        let name = name.to_local_socket_name()?;
        sync::access::check_expectation(options, &name)?;
        let inner = sys::Stream::connect(&name, options).await?;
        sync::access::check_server(options, &name, || inner.peer_creds())?;
        Ok(Self { inner })
    }

    /// The process id of the peer; see the sync
    /// [`peer_pid`](sync::LocalSocketStream::peer_pid).
    pub fn peer_pid(&self) -> io::Result<u32> {
        self.inner.peer_pid()
    }

    /// The credentials of the peer; see the sync
    /// [`peer_creds`](sync::LocalSocketStream::peer_creds).
    pub fn peer_creds(&self) -> io::Result<PeerCreds> {
        self.inner.peer_creds()
    }
}

impl TryFrom<sync::LocalSocketStream> for LocalSocketStream {
    type Error = io::Error;
    /// Unix: `fcntl(O_NONBLOCK)` and registration with async-io's reactor. Windows: no OS
    /// call (I/O then runs on the `blocking` pool).
    fn try_from(s: sync::LocalSocketStream) -> io::Result<Self> {
        Ok(Self {
            inner: sys::Stream::from_sync(s.inner)?,
        })
    }
}

/// Unix only (for now): on Windows an operation may still be in flight on the pool.
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
impl TryFrom<LocalSocketStream> for sync::LocalSocketStream {
    type Error = io::Error;
    /// Deregisters from the reactor and returns to blocking mode (`fcntl`).
    fn try_from(s: LocalSocketStream) -> io::Result<Self> {
        Ok(Self {
            inner: s.inner.into_sync()?,
        })
    }
}

impl AsyncRead for &LocalSocketStream {
    /// Unix: `read(2)`, waiting for readability when it would block. Windows: `ReadFile`.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_read(cx, buf)
    }
    /// Unix: `readv(2)`. Windows: `ReadFile` into the first non-empty buffer.
    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_read_vectored(cx, bufs)
    }
}

impl AsyncWrite for &LocalSocketStream {
    /// Unix: `send(MSG_NOSIGNAL)` (a vanished peer is `BrokenPipe`, never `SIGPIPE`).
    /// Windows: `WriteFile`.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write(cx, buf)
    }
    /// Unix: `sendmsg(MSG_NOSIGNAL)`. Windows: `WriteFile` of the buffers joined.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write_vectored(cx, bufs)
    }
    /// Unix: nothing to flush. Windows: waits for the write in flight.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.poll_flush(cx)
    }
    /// A half-close: `shutdown(SHUT_WR)` on Unix; on Windows, after the write in flight, the
    /// crate's end-of-file marker (see the sync stream's `shutdown`).
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.poll_shutdown(cx, Shutdown::Write)
    }
}

impl AsyncRead for LocalSocketStream {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_read(cx, buf)
    }
    #[inline]
    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_read_vectored(cx, bufs)
    }
}

impl AsyncWrite for LocalSocketStream {
    #[inline]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_write(cx, buf)
    }
    #[inline]
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_write_vectored(cx, bufs)
    }
    #[inline]
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self).poll_flush(cx)
    }
    #[inline]
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self).poll_close(cx)
    }
}
