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
/// # Cancel safety
/// As for tokio's own streams: `read`, `read_buf` (`AsyncReadExt`), `write` and
/// `write_vectored` (`AsyncWriteExt`) are cancel-safe, and so are `flush` and `shutdown`,
/// which complete at once. A `poll_read` that returns `Pending` has taken nothing from the
/// socket and a `poll_write` that returns `Pending` has sent nothing, so dropping such a
/// future (a `select!` branch that lost, a `timeout` that fired) loses and duplicates
/// nothing. Windows: tokio (mio) reads into a buffer of its own with an overlapped `ReadFile`
/// that outlives a dropped future, and the next read takes the bytes from there; a write
/// returns once mio has copied `buf` for its overlapped `WriteFile`, and never `Pending`
/// after taking part of it. `read_exact`, `read_to_end`, `write_all` and the like are **not**
/// cancel-safe (as for any tokio stream): a dropped one may have moved part of its buffer.
/// The same holds for the halves and for the `futures-io` traits.
/// (tests/tokio_cancel.rs races each of these against a zero timeout 10,000 times.)
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
# let _ = fixed; // (compiled, not run)
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
    ///
    /// Cancel safety: dropping the future closes the socket it was connecting, so nothing is
    /// leaked, but the server may already have queued (and may accept) a client that is
    /// gone, which it reads as end of file at once. Call `connect` again to retry.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-tokio-connect-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-tokio-connect-{}.sock", std::process::id()) };
    /// assert!(LocalSocketStream::connect(name.as_str()).await.is_err()); // no server yet
    /// let listener = LocalSocketListener::bind(name.as_str())?;
    /// let mut client = LocalSocketStream::connect(name.as_str()).await?;
    /// client.write_all(b"hi").await?;
    /// let mut buf = [0; 2];
    /// listener.accept().await?.read_exact(&mut buf).await?;
    /// assert_eq!(&buf, b"hi");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect<'a>(name: impl ToLocalSocketName<'a>) -> io::Result<Self> {
        Self::connect_with(name, &ConnectOptions::new()).await
    }

    /// Connects with `options`: with a [timeout](ConnectOptions::timeout), keeps trying
    /// while the server is not up yet or is busy, then fails with `TimedOut` (Unix: on tokio's
    /// timer, so the runtime needs its time driver; Windows: `WaitNamedPipeW` on a thread of
    /// tokio's blocking pool).
    ///
    /// Cancel safety: as for [`connect`](Self::connect). On Windows a `WaitNamedPipeW`
    /// already running on the blocking pool finishes there (bounded by the timeout), and a
    /// pipe instance it then opens is closed at once.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
    /// use localipc::local_socket::ConnectOptions;
    /// use std::time::Duration;
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-tokio-connect-with-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-tokio-connect-with-{}.sock", std::process::id()) };
    /// let server = tokio::spawn({
    ///     let name = name.clone();
    ///     async move {
    ///         tokio::time::sleep(Duration::from_millis(100)).await; // starting up...
    ///         LocalSocketListener::bind(name.as_str())?.accept().await
    ///     }
    /// });
    /// // Waits up to 10 s for the server to come up.
    /// let _client = LocalSocketStream::connect_with(
    ///     name.as_str(),
    ///     ConnectOptions::new().timeout(Duration::from_secs(10)),
    /// )
    /// .await?;
    /// server.await.unwrap()?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_with<'a>(
        name: impl ToLocalSocketName<'a>,
        options: &ConnectOptions,
    ) -> io::Result<Self> {
        let name = name.to_local_socket_name()?;
        sync::access::check_expectation(options, &name)?;
        let inner = sys::tokio::Stream::connect(&name, options).await?;
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

    /// Borrowed halves for reading and writing at the same time. (`&LocalSocketStream`
    /// implements both traits too; the halves only make intent explicit.)
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf(self), WriteHalf(self))
    }

    /// Owned halves that can move to different tasks; put them back together with
    /// [`OwnedReadHalf::reunite`]. Dropping the write half shuts down the write direction.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
    /// use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-tokio-split-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-tokio-split-{}.sock", std::process::id()) };
    /// let listener = LocalSocketListener::bind(name.as_str())?;
    /// let client = LocalSocketStream::connect(name.as_str()).await?;
    /// let server = listener.accept().await?;
    ///
    /// // Echo lines: the read half and the write half in two tasks.
    /// let (read, mut write) = server.into_split();
    /// let echo = tokio::spawn(async move {
    ///     let mut lines = BufReader::new(read).lines();
    ///     while let Some(line) = lines.next_line().await? {
    ///         write.write_all(format!("{line}\n").as_bytes()).await?;
    ///     }
    ///     std::io::Result::Ok(()) // `write` drops: the client reads end of file
    /// });
    /// let (read, mut write) = client.into_split();
    /// write.write_all(b"one\ntwo\n").await?;
    /// drop(write); // shuts down the write direction
    /// let mut lines = BufReader::new(read).lines();
    /// assert_eq!(lines.next_line().await?.as_deref(), Some("one"));
    /// assert_eq!(lines.next_line().await?.as_deref(), Some("two"));
    /// assert_eq!(lines.next_line().await?, None);
    /// echo.await.unwrap()?;
    /// # Ok(())
    /// # }
    /// ```
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
