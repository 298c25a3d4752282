//! Async unnamed pipes for tokio (feature `tokio`): tokio's `AsyncWrite` on [`Sender`] and
//! `AsyncRead` on [`Recver`] (and on their references).
//!
//! Writes keep the sync ends' rule: no reader left gives `BrokenPipe`, never `SIGPIPE`.
//! Constructors must be called from within a tokio runtime with I/O enabled; outside one
//! they return an error instead of panicking.
//!
//! - Unix: a `pipe2` pipe in nonblocking mode on tokio's reactor (`AsyncFd`).
//!   The ends convert to and from the sync ones with `TryFrom` (for instance to give the
//!   sync end to a child process); these conversions exist on Unix only.
//! - Windows: `CreatePipe` handles cannot do overlapped I/O, which tokio's completion port
//!   needs, so the pair is a private named pipe instead: a fresh name
//!   (`\\.\pipe\localipc-anon-<pid>-<counter>-<random>`), one-way, a single instance, remote
//!   clients rejected, its client end opened at once; the ends are tokio's
//!   `NamedPipeClient` (write) and `NamedPipeServer` (read). There are no conversions to
//!   and from the sync ends on Windows (the `TryFrom` impls are `cfg(unix)`): a sync end is
//!   a `CreatePipe` handle, which cannot do overlapped I/O, and tokio does not give its
//!   handles back. To give a child one end, make a sync pipe.
//!
//! Descriptor and handle conversions (`AsFd`/`AsHandle`, `TryFrom<OwnedFd>`/
//! `TryFrom<OwnedHandle>`, and on Unix giving the descriptor up): see the `os::unix` and
//! `os::windows` module docs. A write returns once tokio has taken the data; it reaches the pipe
//!   in the background while the runtime runs, also after the `Sender` is dropped.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let (mut tx, mut rx) = localipc::unnamed_pipe::tokio::pipe()?;
//! let writer = tokio::spawn(async move {
//!     tx.write_all(b"hello").await // then `tx` drops: end of file for the reader
//! });
//! let mut got = Vec::new();
//! rx.read_to_end(&mut got).await?;
//! assert_eq!(got, b"hello");
//! writer.await.unwrap()?;
//! # Ok(())
//! # }
//! ```

use crate::sys;
#[cfg(unix)]
use crate::unnamed_pipe as sync;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Creates an unnamed pipe registered with tokio: `(write end, read end)`.
///
/// Unix: `pipe2(O_CLOEXEC)`, then `ioctl(FIONBIO)` on both ends. Windows:
/// `CreateNamedPipeW(PIPE_ACCESS_INBOUND | FILE_FLAG_OVERLAPPED |
/// FILE_FLAG_FIRST_PIPE_INSTANCE, PIPE_REJECT_REMOTE_CLIENTS, 1 instance)` and
/// `CreateFileW(GENERIC_WRITE | FILE_READ_ATTRIBUTES, FILE_FLAG_OVERLAPPED)` on a fresh name (see the module docs),
/// then `CreateIoCompletionPort` (tokio's registration) for both ends.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
///
/// let (mut tx, rx) = localipc::unnamed_pipe::tokio::pipe()?; // inside the runtime
/// tokio::spawn(async move { tx.write_all(b"line one\nline two\n").await });
/// let mut lines = BufReader::new(rx).lines();
/// assert_eq!(lines.next_line().await?.as_deref(), Some("line one"));
/// assert_eq!(lines.next_line().await?.as_deref(), Some("line two"));
/// assert_eq!(lines.next_line().await?, None); // the writer task ended and dropped `tx`
/// # Ok(())
/// # }
/// ```
pub fn pipe() -> io::Result<(Sender, Recver)> {
    let (tx, rx) = sys::pipe::tokio::pipe()?;
    Ok((Sender { inner: tx }, Recver { inner: rx }))
}

/// The async write end of an unnamed pipe.
///
/// [`AsyncWrite::poll_shutdown`] does nothing: a pipe has no half-close; drop the
/// `Sender` to give the reader end of file.
///
/// # Cancel safety
/// `write` and `write_vectored` (`AsyncWriteExt`) are cancel-safe, as are `flush` and
/// `shutdown` (immediate): a `poll_write` that returns `Pending` has written nothing (Unix:
/// no `write(2)` succeeded; Windows: mio had not copied the buffer). `write_all` is not: a
/// dropped one may have written part of its buffer.
#[derive(Debug)]
pub struct Sender {
    pub(crate) inner: sys::pipe::tokio::Sender,
}

/// The async read end of an unnamed pipe.
///
/// # Cancel safety
/// `read` and `read_buf` (`AsyncReadExt`) are cancel-safe: a `poll_read` that returns
/// `Pending` has taken nothing (Windows: mio's overlapped `ReadFile` fills mio's own buffer,
/// which the next read takes from). `read_exact` and `read_to_end` are not.
#[derive(Debug)]
pub struct Recver {
    pub(crate) inner: sys::pipe::tokio::Recver,
}

#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
impl TryFrom<sync::Sender> for Sender {
    type Error = io::Error;
    /// `ioctl(FIONBIO)` and registration with tokio's reactor (within a
    /// runtime; an error outside). Unix only (see the module docs).
    fn try_from(s: sync::Sender) -> io::Result<Self> {
        Ok(Self {
            inner: sys::pipe::tokio::Sender::from_sync(s.inner)?,
        })
    }
}

#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
impl TryFrom<Sender> for sync::Sender {
    type Error = io::Error;
    /// Deregisters from tokio (`epoll_ctl`/`kevent`) and returns to blocking mode
    /// (`ioctl(FIONBIO)`). Unix only (see the module docs).
    fn try_from(s: Sender) -> io::Result<Self> {
        Ok(Self {
            inner: s.inner.into_sync()?,
        })
    }
}

#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
impl TryFrom<sync::Recver> for Recver {
    type Error = io::Error;
    /// `ioctl(FIONBIO)` and registration with tokio's reactor (within a
    /// runtime; an error outside). Unix only (see the module docs).
    fn try_from(r: sync::Recver) -> io::Result<Self> {
        Ok(Self {
            inner: sys::pipe::tokio::Recver::from_sync(r.inner)?,
        })
    }
}

#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
impl TryFrom<Recver> for sync::Recver {
    type Error = io::Error;
    /// Deregisters from tokio (`epoll_ctl`/`kevent`) and returns to blocking mode
    /// (`ioctl(FIONBIO)`). Unix only (see the module docs).
    fn try_from(r: Recver) -> io::Result<Self> {
        Ok(Self {
            inner: r.inner.into_sync()?,
        })
    }
}

impl AsyncWrite for &Sender {
    /// Unix: `write(2)` with `SIGPIPE` blocked in this thread, when tokio reports
    /// writability. Windows: an overlapped `WriteFile` of a copy of `buf`, started by tokio
    /// (none for an empty `buf`); its failure is reported by the next write.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write(cx, buf)
    }
    /// Unix: `writev(2)` with `SIGPIPE` blocked in this thread. Windows: one overlapped
    /// `WriteFile` of the buffers copied together.
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
    /// No OS call: nothing is buffered in user space (Unix); tokio's write in flight, if
    /// any, completes on its own (Windows).
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    /// No OS call: a pipe has no half-close; drop the `Sender` instead.
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for &Recver {
    /// Unix: `read(2)` when tokio reports readability. Windows: copies from the data of
    /// the overlapped `ReadFile` tokio keeps in flight; the writer gone
    /// (`ERROR_BROKEN_PIPE`) is end of file.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.inner.poll_read(cx, buf)
    }
}

crate::forward::async_write_via_ref!(Sender);
crate::forward::async_read_via_ref!(Recver);
