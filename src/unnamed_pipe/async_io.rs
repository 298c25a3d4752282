//! Async unnamed pipes without tokio (feature `async-io`): `futures_io::AsyncWrite` on
//! [`Sender`] and `AsyncRead` on [`Recver`] (and on their references), on async-io's
//! reactor, for any executor.
//!
//! Writes keep the sync ends' rule: no reader left gives `BrokenPipe`, never `SIGPIPE`.
//!
//! - Unix: a `pipe2` pipe in nonblocking mode, registered with async-io's reactor
//!   (`async_io::Async`); each call is tried first and waits for readiness only when it
//!   would block, so a dropped read or write future loses nothing. The ends convert to and
//!   from the sync ones with `TryFrom` (for instance to give the sync end to a child
//!   process).
//! - Windows: as for the tokio ends, a private named pipe (one-way, one instance, a fresh
//!   name `\\.\pipe\localipc-anon-…`), because `CreatePipe` handles cannot have a read
//!   cancelled from another thread; its ends are read and written on the `blocking` pool as
//!   the [async-io local sockets](crate::local_socket::async_io) are: a dropped read keeps
//!   its bytes for the next read, writes are accepted whole and reach the pipe in the
//!   background (`flush` waits for them; a failure shows in the next write or flush), and
//!   dropping the `Recver` cancels its read in flight so that writers see the pipe broken.
//!   No conversions to or from the sync ends there (the `TryFrom` impls are `cfg(unix)`).
//!
//! ```
//! use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
//!
//! future::block_on(async {
//!     let (mut tx, mut rx) = localipc::unnamed_pipe::async_io::pipe()?;
//!     let writer = std::thread::spawn(move || {
//!         future::block_on(tx.write_all(b"hello")) // then `tx` drops: end of file
//!     });
//!     let mut got = Vec::new();
//!     rx.read_to_end(&mut got).await?;
//!     assert_eq!(got, b"hello");
//!     writer.join().unwrap()
//! })?;
//! # std::io::Result::Ok(())
//! ```

use crate::sys::pipe::async_io as sys;
#[cfg(unix)]
use crate::unnamed_pipe as sync;
use futures_io::{AsyncRead, AsyncWrite};
use std::io::{self, IoSlice, IoSliceMut};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Creates an unnamed pipe: `(write end, read end)`.
///
/// Unix: `pipe2(O_CLOEXEC)`, then `ioctl(FIONBIO)` and registration (`epoll_ctl`/`kevent`)
/// for both ends. Windows: the private named pipe of the module docs
/// (`CreateNamedPipeW` + `CreateFileW`, both overlapped).
pub fn pipe() -> io::Result<(Sender, Recver)> {
    let (tx, rx) = sys::pipe()?;
    Ok((Sender { inner: tx }, Recver { inner: rx }))
}

/// The async write end of an unnamed pipe.
///
/// [`AsyncWrite::poll_close`] only flushes: a pipe has no half-close; drop the `Sender` to
/// give the reader end of file.
#[derive(Debug)]
pub struct Sender {
    inner: sys::Sender,
}

/// The async read end of an unnamed pipe.
#[derive(Debug)]
pub struct Recver {
    inner: sys::Recver,
}

#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
impl TryFrom<sync::Sender> for Sender {
    type Error = io::Error;
    /// `ioctl(FIONBIO)` and registration with async-io's reactor.
    fn try_from(s: sync::Sender) -> io::Result<Self> {
        Ok(Self {
            inner: sys::Sender::from_sync(s.inner)?,
        })
    }
}

#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
impl TryFrom<Sender> for sync::Sender {
    type Error = io::Error;
    /// Deregisters and returns to blocking mode (`ioctl(FIONBIO)`).
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
    /// `ioctl(FIONBIO)` and registration with async-io's reactor.
    fn try_from(r: sync::Recver) -> io::Result<Self> {
        Ok(Self {
            inner: sys::Recver::from_sync(r.inner)?,
        })
    }
}

#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
impl TryFrom<Recver> for sync::Recver {
    type Error = io::Error;
    /// Deregisters and returns to blocking mode (`ioctl(FIONBIO)`).
    fn try_from(r: Recver) -> io::Result<Self> {
        Ok(Self {
            inner: r.inner.into_sync()?,
        })
    }
}

impl AsyncWrite for &Sender {
    /// Unix: `write(2)` with `SIGPIPE` blocked in this thread, waiting for writability on
    /// `EAGAIN`. Windows: a copy of up to 64 KiB of `buf`, written by `WriteFile` on a pool
    /// thread (after the previous write has ended).
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write(cx, buf)
    }
    /// Unix: `writev(2)` with `SIGPIPE` blocked in this thread. Windows: as `poll_write`
    /// of the buffers joined.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write_vectored(cx, bufs)
    }
    /// Unix: no OS call, nothing is buffered. Windows: waits for the write in flight.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.poll_flush(cx)
    }
    /// As `poll_flush`: a pipe has no half-close; drop the `Sender` instead.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.poll_flush(cx)
    }
}

impl AsyncRead for &Recver {
    /// Unix: `read(2)`, waiting for readability on `EAGAIN`. Windows: `ReadFile` of up to
    /// 64 KiB on a pool thread, what does not fit in `buf` kept for the next read; every
    /// writer gone is end of file.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_read(cx, buf)
    }
    /// Unix: `readv(2)`. Windows: as `poll_read` into the first non-empty buffer.
    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_read_vectored(cx, bufs)
    }
}

impl AsyncWrite for Sender {
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

impl AsyncRead for Recver {
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
