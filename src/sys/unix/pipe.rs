//! Unnamed pipes: `pipe2(O_CLOEXEC)`, and writes that give `EPIPE` instead of `SIGPIPE`.
//!
//! Pipes have no `MSG_NOSIGNAL`. Where the OS has a per-descriptor switch (Apple's
//! `F_SETNOSIGPIPE`, set on every write end this module sees) that is used. Elsewhere each
//! write runs with `SIGPIPE` blocked in the calling thread only, and a `SIGPIPE` that the
//! write raised is consumed before the mask is restored — see [`without_sigpipe`]. Nothing
//! process-wide (the signal's disposition, other threads' masks) is touched.

use super::cvt;
use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `pipe2(O_CLOEXEC)`; on Apple (no `pipe2`) `pipe` then `fcntl(F_SETFD, FD_CLOEXEC)` on both
/// ends. Returns `(write end, read end)`.
pub(crate) fn pipe() -> io::Result<(Sender, Recver)> {
    let mut fds: [libc::c_int; 2] = [-1; 2];
    #[cfg(not(target_vendor = "apple"))]
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    #[cfg(target_vendor = "apple")]
    // SAFETY: `fds` has room for the two descriptors pipe writes.
    cvt(unsafe { libc::pipe(fds.as_mut_ptr()) })?;
    // SAFETY: both descriptors were just created and nothing else owns them.
    let (rx, tx) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    #[cfg(target_vendor = "apple")]
    for fd in [&rx, &tx] {
        // SAFETY: `fd` is open; FD_CLOEXEC is a valid flag for F_SETFD.
        cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) })?;
    }
    Ok((Sender::from_fd(tx), Recver::from_fd(rx)))
}

/// The write end of a pipe (or of a FIFO).
#[derive(Debug)]
pub(crate) struct Sender {
    file: File,
}

impl Sender {
    /// Wraps a write end; on Apple also `fcntl(F_SETNOSIGPIPE)` (ignored if the descriptor
    /// is not a pipe: then writes raise no `SIGPIPE` to begin with, or fail anyway).
    pub(crate) fn from_fd(fd: OwnedFd) -> Self {
        #[cfg(target_vendor = "apple")]
        {
            // SAFETY: plain fcntl on an open descriptor; failure is harmless (see above).
            unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETNOSIGPIPE, 1) };
        }
        Self {
            file: File::from(fd),
        }
    }

    /// `write(2)` without `SIGPIPE`.
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        without_sigpipe(|| write_fd(self.file.as_fd(), buf))
    }

    /// `writev(2)` without `SIGPIPE`.
    pub(crate) fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        without_sigpipe(|| writev_fd(self.file.as_fd(), bufs))
    }

    pub(crate) fn into_fd(self) -> OwnedFd {
        self.file.into()
    }
}

impl AsFd for Sender {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

/// The read end of a pipe (or of a FIFO).
#[derive(Debug)]
pub(crate) struct Recver {
    file: File,
}

impl Recver {
    pub(crate) fn from_fd(fd: OwnedFd) -> Self {
        Self {
            file: File::from(fd),
        }
    }

    /// `read(2)`.
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.file).read(buf)
    }

    /// `readv(2)`.
    pub(crate) fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&self.file).read_vectored(bufs)
    }

    pub(crate) fn into_fd(self) -> OwnedFd {
        self.file.into()
    }
}

impl AsFd for Recver {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

/// `write(2)`, at most `isize::MAX` bytes.
fn write_fd(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    let len = buf.len().min(isize::MAX as usize);
    // SAFETY: `buf` is valid for reads of `len` bytes during the call.
    let n = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), len) };
    super::cvt_len(n)
}

/// `writev(2)` with up to `IOV_MAX` (1024 on Linux, macOS and the BSDs) buffers.
fn writev_fd(fd: BorrowedFd<'_>, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let count = libc::c_int::try_from(bufs.len().min(1024)).unwrap_or(1024); // cannot fail
                                                                             // SAFETY: IoSlice is ABI-compatible with iovec on Unix; writev only reads the `count`
                                                                             // buffers, which outlive the call.
    let n = unsafe { libc::writev(fd.as_raw_fd(), bufs.as_ptr().cast(), count) };
    super::cvt_len(n)
}

/// Apple: the write ends carry `F_SETNOSIGPIPE`, so a write needs no help.
#[cfg(target_vendor = "apple")]
pub(crate) fn without_sigpipe<T>(write: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    write()
}

/// Runs `write` with `SIGPIPE` blocked in this thread, so that a write to a pipe without
/// readers fails with `EPIPE` (`BrokenPipe`) instead of killing the process.
///
/// The technique PostgreSQL's libpq uses (`pq_block_sigpipe`/`pq_reset_sigpipe`):
/// 1. `pthread_sigmask(SIG_BLOCK, {SIGPIPE})`, remembering the old mask. If `SIGPIPE` was
///    blocked already, note whether one was pending (`sigpending`): that one is not ours.
/// 2. the write. A `SIGPIPE` it raises is thread-directed, so it stays pending on this
///    thread rather than going to another one.
/// 3. on `EPIPE`, if `SIGPIPE` is now pending and was not before, consume it with
///    `sigtimedwait` and a zero timeout (never blocks, even if another thread raced us for
///    a process-directed one; `sigwait` after `sigpending` where there is no `sigtimedwait`).
/// 4. restore the old mask (only if it changed).
///
/// The signal's disposition and other threads' masks are never touched; the cost is two
/// `pthread_sigmask` calls per write, plus two calls after an `EPIPE`.
#[cfg(not(target_vendor = "apple"))]
pub(crate) fn without_sigpipe<T>(write: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    let set = sigpipe_set();
    // SAFETY: sigset_t is plain old data, initialised by pthread_sigmask below.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid signal set and `old` is valid for writes.
    let blocked = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old) } == 0;
    // SAFETY: `old` was filled in by pthread_sigmask.
    let was_blocked = blocked && unsafe { libc::sigismember(&old, libc::SIGPIPE) } == 1;
    let was_pending = was_blocked && sigpipe_pending();
    let result = write();
    let epipe = matches!(&result, Err(e) if e.raw_os_error() == Some(libc::EPIPE));
    if blocked && epipe && !was_pending && sigpipe_pending() {
        consume_sigpipe(&set);
    }
    if blocked && !was_blocked {
        // SAFETY: `old` is the mask pthread_sigmask returned above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    }
    result
}

/// `{SIGPIPE}`.
#[cfg(not(target_vendor = "apple"))]
fn sigpipe_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain old data; sigemptyset initialises it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is valid for writes; SIGPIPE is a valid signal number.
    unsafe {
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
    }
    set
}

/// `sigpending`: whether `SIGPIPE` is pending for this thread or the process.
#[cfg(not(target_vendor = "apple"))]
fn sigpipe_pending() -> bool {
    // SAFETY: sigset_t is plain old data, filled in by sigpending.
    let mut pending: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `pending` is valid for writes.
    unsafe {
        libc::sigpending(&mut pending) == 0 && libc::sigismember(&pending, libc::SIGPIPE) == 1
    }
}

/// `sigtimedwait({SIGPIPE}, timeout 0)`: takes the pending `SIGPIPE` without blocking.
#[cfg(not(any(
    target_vendor = "apple",
    target_os = "openbsd",
    target_os = "solaris",
    target_os = "illumos"
)))]
fn consume_sigpipe(set: &libc::sigset_t) {
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    loop {
        // SAFETY: `set` and `zero` are valid; no siginfo is requested.
        let r = unsafe { libc::sigtimedwait(set, std::ptr::null_mut(), &zero) };
        if r != -1 || io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}

/// `sigwait({SIGPIPE})` where there is no `sigtimedwait`: only called when `sigpending` said
/// `SIGPIPE` is pending, so it returns at once.
#[cfg(any(target_os = "openbsd", target_os = "solaris", target_os = "illumos"))]
fn consume_sigpipe(set: &libc::sigset_t) {
    let mut sig = 0;
    // SAFETY: `set` and `sig` are valid.
    unsafe { libc::sigwait(set, &mut sig) };
}

#[cfg(feature = "async-io")]
pub(crate) mod async_io;

#[cfg(feature = "tokio")]
pub(crate) mod tokio {
    //! The async ends: the pipe's descriptors registered with tokio's reactor (`AsyncFd`),
    //! read and written by the same code as the async sockets (`sys::unix::tokio`), so a
    //! short read or write clears the readiness; writes go through
    //! [`without_sigpipe`](super::without_sigpipe) (tokio's own pipe type writes with plain
    //! `write(2)` and keeps the readiness after a short read or write).

    use super::without_sigpipe;
    use crate::sys::in_runtime;
    use crate::sys::unix::tokio::{poll_read_fd, poll_write_fd, register};
    use std::io::{self, IoSlice};
    use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
    use std::task::{Context, Poll};
    use tokio::io::unix::AsyncFd;
    use tokio::io::{Interest, ReadBuf};

    /// `pipe2(O_CLOEXEC)`, then both ends registered as by `from_sync`:
    /// `(write end, read end)`.
    pub(crate) fn pipe() -> io::Result<(Sender, Recver)> {
        in_runtime("creating a tokio unnamed pipe")?;
        let (tx, rx) = super::pipe()?;
        Ok((Sender::from_sync(tx)?, Recver::from_sync(rx)?))
    }

    /// `ioctl(FIONBIO)`, then registration with the current runtime.
    fn to_async(fd: OwnedFd, interest: Interest, what: &str) -> io::Result<AsyncFd<OwnedFd>> {
        in_runtime(what)?;
        rustix::io::ioctl_fionbio(&fd, true)?;
        register(fd, interest)
    }

    /// Deregisters and returns to blocking mode (`ioctl(FIONBIO)`).
    fn to_sync(fd: AsyncFd<OwnedFd>) -> io::Result<OwnedFd> {
        let fd = fd.into_inner();
        rustix::io::ioctl_fionbio(&fd, false)?;
        Ok(fd)
    }

    /// The async write end.
    #[derive(Debug)]
    pub(crate) struct Sender(AsyncFd<OwnedFd>);

    impl Sender {
        /// `ioctl(FIONBIO)`, then registration with tokio's reactor.
        pub(crate) fn from_sync(s: super::Sender) -> io::Result<Self> {
            let what = "converting to a tokio pipe sender";
            Ok(Self(to_async(s.into_fd(), Interest::WRITABLE, what)?))
        }

        /// Deregisters and returns to blocking mode.
        pub(crate) fn into_sync(self) -> io::Result<super::Sender> {
            Ok(super::Sender::from_fd(to_sync(self.0)?))
        }

        /// As [`from_sync`](Self::from_sync) of the descriptor.
        pub(crate) fn from_fd(fd: OwnedFd) -> io::Result<Self> {
            Self::from_sync(super::Sender::from_fd(fd))
        }

        /// Deregisters (`epoll_ctl`/`kevent`) and gives up the descriptor, still nonblocking.
        pub(crate) fn into_fd(self) -> OwnedFd {
            self.0.into_inner()
        }

        /// `write(2)` (with `SIGPIPE` blocked) when tokio reports writability.
        pub(crate) fn poll_write(
            &self,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            poll_write_fd(&self.0, cx, buf.len(), |fd| {
                without_sigpipe(|| super::write_fd(fd, buf))
            })
        }

        /// `writev(2)` (with `SIGPIPE` blocked) when tokio reports writability.
        pub(crate) fn poll_write_vectored(
            &self,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let len = bufs.iter().map(|b| b.len()).sum();
            poll_write_fd(&self.0, cx, len, |fd| {
                without_sigpipe(|| super::writev_fd(fd, bufs))
            })
        }
    }

    impl AsFd for Sender {
        fn as_fd(&self) -> BorrowedFd<'_> {
            self.0.get_ref().as_fd()
        }
    }

    /// The async read end.
    #[derive(Debug)]
    pub(crate) struct Recver(AsyncFd<OwnedFd>);

    impl Recver {
        /// `ioctl(FIONBIO)`, then registration with tokio's reactor.
        pub(crate) fn from_sync(r: super::Recver) -> io::Result<Self> {
            let what = "converting to a tokio pipe receiver";
            Ok(Self(to_async(r.into_fd(), Interest::READABLE, what)?))
        }

        /// Deregisters and returns to blocking mode.
        pub(crate) fn into_sync(self) -> io::Result<super::Recver> {
            Ok(super::Recver::from_fd(to_sync(self.0)?))
        }

        /// As [`from_sync`](Self::from_sync) of the descriptor.
        pub(crate) fn from_fd(fd: OwnedFd) -> io::Result<Self> {
            Self::from_sync(super::Recver::from_fd(fd))
        }

        /// Deregisters (`epoll_ctl`/`kevent`) and gives up the descriptor, still nonblocking.
        pub(crate) fn into_fd(self) -> OwnedFd {
            self.0.into_inner()
        }

        /// `read(2)` when tokio reports readability.
        pub(crate) fn poll_read(
            &self,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            poll_read_fd(&self.0, cx, buf)
        }
    }

    impl AsFd for Recver {
        fn as_fd(&self) -> BorrowedFd<'_> {
            self.0.get_ref().as_fd()
        }
    }
}
