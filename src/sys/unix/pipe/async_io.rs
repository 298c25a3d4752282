//! The async-io ends: the pipe's descriptors in nonblocking mode on async-io's reactor
//! (`async_io::Async`), each call tried first and waited for only on `EAGAIN`; writes keep
//! the sync ends' [`without_sigpipe`](super::without_sigpipe).

use ::async_io::Async;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, BorrowedFd};
use std::task::{ready, Context, Poll};

/// `pipe2(O_CLOEXEC)`, then both ends as by `from_sync`: `(write end, read end)`.
pub(crate) fn pipe() -> io::Result<(Sender, Recver)> {
    let (tx, rx) = super::pipe()?;
    Ok((Sender::from_sync(tx)?, Recver::from_sync(rx)?))
}

/// `op` until it does not fail with `WouldBlock`, waiting with `wait` in between.
fn poll_io<R>(
    cx: &mut Context<'_>,
    mut op: impl FnMut() -> io::Result<R>,
    wait: impl Fn(&mut Context<'_>) -> Poll<io::Result<()>>,
) -> Poll<io::Result<R>> {
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            r => return Poll::Ready(r),
        }
        ready!(wait(cx))?;
    }
}

/// The async write end.
#[derive(Debug)]
pub(crate) struct Sender(Async<super::Sender>);

impl Sender {
    /// `ioctl(FIONBIO)`, then registration with async-io's reactor (`epoll_ctl`/`kevent`).
    pub(crate) fn from_sync(s: super::Sender) -> io::Result<Self> {
        Ok(Self(Async::new(s)?))
    }

    /// Deregisters and returns to blocking mode (`ioctl(FIONBIO)`).
    pub(crate) fn into_sync(self) -> io::Result<super::Sender> {
        let s = self.0.into_inner()?;
        rustix::io::ioctl_fionbio(&s, false)?;
        Ok(s)
    }

    /// `write(2)` with `SIGPIPE` blocked, waiting for writability on `EAGAIN`.
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        poll_io(
            cx,
            || self.0.get_ref().write(buf),
            |cx| self.0.poll_writable(cx),
        )
    }

    /// Nothing to flush: a write has reached the pipe when it returns.
    pub(crate) fn poll_flush(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// `writev(2)` with `SIGPIPE` blocked, waiting for writability on `EAGAIN`.
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        poll_io(
            cx,
            || self.0.get_ref().write_vectored(bufs),
            |cx| self.0.poll_writable(cx),
        )
    }
}

impl AsFd for Sender {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.get_ref().as_fd()
    }
}

/// The async read end.
#[derive(Debug)]
pub(crate) struct Recver(Async<super::Recver>);

impl Recver {
    /// `ioctl(FIONBIO)`, then registration with async-io's reactor (`epoll_ctl`/`kevent`).
    pub(crate) fn from_sync(r: super::Recver) -> io::Result<Self> {
        Ok(Self(Async::new(r)?))
    }

    /// Deregisters and returns to blocking mode (`ioctl(FIONBIO)`).
    pub(crate) fn into_sync(self) -> io::Result<super::Recver> {
        let r = self.0.into_inner()?;
        rustix::io::ioctl_fionbio(&r, false)?;
        Ok(r)
    }

    /// `read(2)`, waiting for readability on `EAGAIN`.
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        poll_io(
            cx,
            || self.0.get_ref().read(buf),
            |cx| self.0.poll_readable(cx),
        )
    }

    /// `readv(2)`, waiting for readability on `EAGAIN`.
    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        poll_io(
            cx,
            || self.0.get_ref().read_vectored(bufs),
            |cx| self.0.poll_readable(cx),
        )
    }
}

impl AsFd for Recver {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.get_ref().as_fd()
    }
}
