//! Async unnamed pipes without tokio (feature `async-io`, Unix): `futures_io::AsyncWrite` on
//! [`Sender`] and `AsyncRead` on [`Recver`] (and on their references), on async-io's
//! reactor, for any executor.
//!
//! A `pipe2` pipe in nonblocking mode, registered with async-io's reactor
//! (`async_io::Async`); each call is tried first and waits for readiness only when it would
//! block, so a dropped read or write future loses nothing. Writes keep the sync ends' rule:
//! no reader left gives `BrokenPipe`, never `SIGPIPE`. The ends convert to and from the sync
//! ones with `TryFrom` (for instance to give the sync end to a child process).
//!
//! Windows is not covered yet: its sync ends are `CreatePipe` handles, whose reads cannot be
//! cancelled from another thread, so an async read in flight on a pool thread would keep
//! the pipe open after the `Recver` is dropped (the tokio ends use a private named pipe
//! instead; the same would work here).
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
use crate::unnamed_pipe as sync;
use futures_io::{AsyncRead, AsyncWrite};
use std::io::{self, IoSlice, IoSliceMut};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Creates an unnamed pipe on async-io's reactor: `(write end, read end)`.
///
/// `pipe2(O_CLOEXEC)`, then `ioctl(FIONBIO)` and registration (`epoll_ctl`/`kevent`) for
/// both ends.
pub fn pipe() -> io::Result<(Sender, Recver)> {
    let (tx, rx) = sys::pipe()?;
    Ok((Sender { inner: tx }, Recver { inner: rx }))
}

/// The async write end of an unnamed pipe.
///
/// [`AsyncWrite::poll_close`] does nothing: a pipe has no half-close; drop the `Sender` to
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

impl TryFrom<sync::Sender> for Sender {
    type Error = io::Error;
    /// `ioctl(FIONBIO)` and registration with async-io's reactor.
    fn try_from(s: sync::Sender) -> io::Result<Self> {
        Ok(Self {
            inner: sys::Sender::from_sync(s.inner)?,
        })
    }
}

impl TryFrom<Sender> for sync::Sender {
    type Error = io::Error;
    /// Deregisters and returns to blocking mode (`ioctl(FIONBIO)`).
    fn try_from(s: Sender) -> io::Result<Self> {
        Ok(Self {
            inner: s.inner.into_sync()?,
        })
    }
}

impl TryFrom<sync::Recver> for Recver {
    type Error = io::Error;
    /// `ioctl(FIONBIO)` and registration with async-io's reactor.
    fn try_from(r: sync::Recver) -> io::Result<Self> {
        Ok(Self {
            inner: sys::Recver::from_sync(r.inner)?,
        })
    }
}

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
    /// `write(2)` with `SIGPIPE` blocked in this thread, waiting for writability on
    /// `EAGAIN`.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write(cx, buf)
    }
    /// `writev(2)` with `SIGPIPE` blocked in this thread.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write_vectored(cx, bufs)
    }
    /// No OS call: nothing is buffered.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    /// No OS call: a pipe has no half-close; drop the `Sender` instead.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for &Recver {
    /// `read(2)`, waiting for readability on `EAGAIN`.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_read(cx, buf)
    }
    /// `readv(2)`, waiting for readability on `EAGAIN`.
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
