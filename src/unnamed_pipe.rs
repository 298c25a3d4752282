//! Unnamed pipes: a one-way byte channel with a write end ([`Sender`]) and a read end
//! ([`Recver`]), typically shared with a child process as its stdin or stdout.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::process::{Command, Stdio};
//!
//! # #[cfg(unix)] {
//! let (tx, mut rx) = localipc::unnamed_pipe::pipe()?;
//! // The child writes into our pipe as its stdout...
//! let mut child = Command::new("echo").arg("hello").stdout(Stdio::from(tx)).spawn()?;
//! child.wait()?;
//! // ...and once every write end is closed (ours went into the `Command`, the child's
//! // exited with it), the read end gets end of file after all the data.
//! let mut out = String::new();
//! rx.read_to_string(&mut out)?;
//! assert_eq!(out, "hello\n");
//! # }
//! # std::io::Result::Ok(())
//! ```
//!
//! Both ends are created close-on-exec: a child only gets the end handed to it explicitly
//! (through [`Stdio`] or `dup2`). Data written before the last [`Sender`] is dropped is
//! all read before the [`Recver`] sees end of file (`Ok(0)`).
//!
//! Writing when no read end is left fails with [`io::ErrorKind::BrokenPipe`]; it never
//! raises `SIGPIPE`, whatever the process's `SIGPIPE` disposition. On Unix, where pipes have
//! no `MSG_NOSIGNAL`, each write runs with `SIGPIPE` blocked in the calling thread only and
//! a `SIGPIPE` it raised is consumed before the thread's signal mask is restored (on macOS
//! the write end carries `F_SETNOSIGPIPE` instead); no process-wide signal state changes.
//!
//! With the `tokio` feature, `unnamed_pipe::tokio` has the async ends.

use crate::sys;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::process::Stdio;

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;

/// Creates an unnamed pipe: `(write end, read end)`.
///
/// Unix: `pipe2(O_CLOEXEC)` (`pipe` + `fcntl(FD_CLOEXEC)` on macOS, which also sets
/// `F_SETNOSIGPIPE` on the write end).
pub fn pipe() -> io::Result<(Sender, Recver)> {
    let (tx, rx) = sys::pipe::pipe()?;
    Ok((Sender { inner: tx }, Recver { inner: rx }))
}

/// The write end of an unnamed pipe. [`Write`] is implemented on `&Sender` too.
///
/// Dropping it closes the write end: once every copy of it is closed (including those in
/// child processes), the reader sees end of file.
#[derive(Debug)]
pub struct Sender {
    pub(crate) inner: sys::pipe::Sender,
}

/// The read end of an unnamed pipe. [`Read`] is implemented on `&Recver` too.
#[derive(Debug)]
pub struct Recver {
    pub(crate) inner: sys::pipe::Recver,
}

impl Write for &Sender {
    /// Unix: `write(2)` with `SIGPIPE` blocked in this thread; no reader left gives
    /// `BrokenPipe`.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    /// Unix: `writev(2)` with `SIGPIPE` blocked in this thread.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner.write_vectored(bufs)
    }
    /// Nothing to flush: a pipe has no user-space buffer.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for &Recver {
    /// Unix: `read(2)`; `Ok(0)` once every write end is closed and the data is read.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
    /// Unix: `readv(2)`.
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.inner.read_vectored(bufs)
    }
}

crate::forward::write_via_ref!(Sender);
crate::forward::read_via_ref!(Recver);

/// For a child's stdin, stdout or stderr: `Command::new(..).stdout(Stdio::from(sender))`.
impl From<Sender> for Stdio {
    fn from(s: Sender) -> Self {
        Stdio::from(s.inner.into_fd())
    }
}

/// For a child's stdin: `Command::new(..).stdin(Stdio::from(recver))`.
impl From<Recver> for Stdio {
    fn from(r: Recver) -> Self {
        Stdio::from(r.inner.into_fd())
    }
}

#[cfg(unix)]
mod fd_conv {
    use super::{Recver, Sender};
    use crate::sys;
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

    impl AsFd for Sender {
        fn as_fd(&self) -> BorrowedFd<'_> {
            self.inner.as_fd()
        }
    }

    impl AsRawFd for Sender {
        fn as_raw_fd(&self) -> RawFd {
            self.inner.as_fd().as_raw_fd()
        }
    }

    impl From<Sender> for OwnedFd {
        fn from(s: Sender) -> Self {
            s.inner.into_fd()
        }
    }

    /// The descriptor should be the write end of a pipe or FIFO (anything writable works;
    /// the no-`SIGPIPE` guarantee is about pipes). On macOS this sets `F_SETNOSIGPIPE`.
    impl From<OwnedFd> for Sender {
        fn from(fd: OwnedFd) -> Self {
            Self {
                inner: sys::pipe::Sender::from_fd(fd),
            }
        }
    }

    impl AsFd for Recver {
        fn as_fd(&self) -> BorrowedFd<'_> {
            self.inner.as_fd()
        }
    }

    impl AsRawFd for Recver {
        fn as_raw_fd(&self) -> RawFd {
            self.inner.as_fd().as_raw_fd()
        }
    }

    impl From<Recver> for OwnedFd {
        fn from(r: Recver) -> Self {
            r.inner.into_fd()
        }
    }

    /// The descriptor should be the read end of a pipe or FIFO (anything readable works).
    impl From<OwnedFd> for Recver {
        fn from(fd: OwnedFd) -> Self {
            Self {
                inner: sys::pipe::Recver::from_fd(fd),
            }
        }
    }
}
