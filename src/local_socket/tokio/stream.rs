//! The async [`LocalSocketStream`].

use super::split::{self, OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use crate::local_socket::{self as sync, ConnectOptions, PeerCreds, ToLocalSocketName};
use crate::sys;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// An async local socket stream: tokio's `AsyncRead` and `AsyncWrite`, on both
/// `LocalSocketStream` and `&LocalSocketStream`.
///
/// [`AsyncWrite::poll_shutdown`] is a real half-close: the peer reads end of file, and this
/// side can still read.
///
/// With the feature `futures-io` (or `tokio_support`) it also implements
/// `futures_io::AsyncRead`/`AsyncWrite`, as `interprocess` 1.x's tokio stream did (that one
/// had only those). The two families have extension traits with the same method names, so
/// a module that imports both (`tokio::io::AsyncReadExt` and `futures::AsyncReadExt`) gets
/// error E0034, "multiple applicable items in scope", on `conn.read(..)`. The fix is one line:
/// import one family's extension traits per module (for code ported from 1.x, keep its
/// `futures` import and drop tokio's), or call the method through its trait,
/// `futures::AsyncReadExt::read(&mut conn, &mut buf)`.
#[cfg_attr(
    feature = "futures-io",
    doc = r#"
```compile_fail,E0034
use futures_lite::AsyncReadExt;
use tokio::io::AsyncReadExt as _;

async fn ambiguous(mut conn: localipc::local_socket::tokio::LocalSocketStream) {
    let mut buf = [0; 4];
    conn.read(&mut buf).await.unwrap(); // error[E0034]: multiple applicable items in scope
}
```

```
use futures_lite::AsyncReadExt;
use tokio::io::AsyncWriteExt;

async fn fixed(mut conn: localipc::local_socket::tokio::LocalSocketStream) -> std::io::Result<()> {
    let mut buf = [0; 4];
    conn.read(&mut buf).await?; // only futures' AsyncReadExt is in scope for `read`
    conn.write_all(b"pong").await?; // tokio's, the only AsyncWriteExt in scope
    tokio::io::AsyncReadExt::read(&mut conn, &mut buf).await?; // or name the trait
    Ok(())
}
```
"#
)]
#[derive(Debug)]
pub struct LocalSocketStream {
    pub(crate) inner: sys::tokio::Stream,
}

impl LocalSocketStream {
    /// Connects to the server listening on `name`, failing at once if there is none.
    ///
    /// Unix: nonblocking `socket` + `connect`, waiting for writability if in progress.
    pub async fn connect<'a>(name: impl ToLocalSocketName<'a>) -> io::Result<Self> {
        Self::connect_with(name, &ConnectOptions::new()).await
    }

    /// Connects with `options`: with a [timeout](ConnectOptions::timeout), keeps trying
    /// while the server is not up yet or is busy, then fails with `TimedOut` (Unix: on tokio's
    /// timer, so the runtime needs its time driver; Windows: `WaitNamedPipeW` on a thread of
    /// tokio's blocking pool).
    ///
    /// ```no_run
    /// # async fn f() -> std::io::Result<()> {
    /// use localipc::local_socket::{tokio::LocalSocketStream, ConnectOptions};
    /// use std::time::Duration;
    ///
    /// let conn = LocalSocketStream::connect_with(
    ///     "@my-daemon",
    ///     ConnectOptions::new().timeout(Duration::from_secs(2)),
    /// )
    /// .await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect_with<'a>(
        name: impl ToLocalSocketName<'a>,
        options: &ConnectOptions,
    ) -> io::Result<Self> {
        let name = name.to_local_socket_name()?;
        Ok(Self {
            inner: sys::tokio::Stream::connect(&name, options).await?,
        })
    }

    /// The process id of the peer; see the sync
    /// [`peer_pid`](sync::LocalSocketStream::peer_pid).
    pub fn peer_pid(&self) -> io::Result<u32> {
        self.peer_creds()?.pid_or_unsupported()
    }

    /// The credentials of the peer; see the sync
    /// [`peer_creds`](sync::LocalSocketStream::peer_creds).
    pub fn peer_creds(&self) -> io::Result<PeerCreds> {
        self.inner.peer_creds()
    }

    /// Borrowed halves for reading and writing at the same time. (`&LocalSocketStream`
    /// implements both traits too; the halves only make intent explicit.)
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf(self), WriteHalf(self))
    }

    /// Owned halves that can move to different tasks; put them back together with
    /// [`OwnedReadHalf::reunite`]. Dropping the write half shuts down the write direction.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split::into_split(self)
    }
}

impl TryFrom<sync::LocalSocketStream> for LocalSocketStream {
    type Error = io::Error;
    /// Registers a sync stream with tokio's reactor (within a runtime; an error outside).
    fn try_from(s: sync::LocalSocketStream) -> io::Result<Self> {
        Ok(Self {
            inner: sys::tokio::Stream::from_sync(s.inner)?,
        })
    }
}

/// Unix only: on Windows tokio never gives a pipe handle back from its reactor, so an async
/// stream cannot become a sync one there.
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
impl TryFrom<LocalSocketStream> for sync::LocalSocketStream {
    type Error = io::Error;
    /// Deregisters from tokio and returns to blocking mode.
    fn try_from(s: LocalSocketStream) -> io::Result<Self> {
        Ok(Self {
            inner: s.inner.into_sync()?,
        })
    }
}

impl AsyncRead for &LocalSocketStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.inner.poll_read(cx, buf)
    }
}

impl AsyncWrite for &LocalSocketStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write(cx, buf)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.poll_shutdown(cx)
    }
}

crate::forward::async_read_via_ref!(LocalSocketStream);
crate::forward::async_write_via_ref!(LocalSocketStream);
