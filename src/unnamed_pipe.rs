//! Unnamed pipes: a one-way byte channel with a write end ([`Sender`]) and a read end
//! ([`Recver`]), typically shared with a child process as its stdin or stdout.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::process::{Command, Stdio};
//!
//! let (tx, mut rx) = localipc::unnamed_pipe::pipe()?;
//! // The child writes into our pipe as its stdout...
//! #[cfg(unix)]
//! let mut cmd = Command::new("echo");
//! #[cfg(windows)]
//! let mut cmd = Command::new("cmd");
//! #[cfg(windows)]
//! cmd.args(["/C", "echo"]);
//! let mut child = cmd.arg("hello").stdout(Stdio::from(tx)).spawn()?;
//! drop(cmd); // the `Command` holds our copy of the write end until it is dropped
//! child.wait()?;
//! // ...and once every write end is closed (ours went into the `Command`, the child's
//! // exited with it), the read end gets end of file after all the data.
//! let mut out = String::new();
//! rx.read_to_string(&mut out)?;
//! assert_eq!(out.trim_end(), "hello"); // "hello\n" (Unix) or "hello\r\n" (Windows)
//!
//! // Within one process too, typically with the ends on two threads:
//! let (mut tx, mut rx) = localipc::unnamed_pipe::pipe()?;
//! std::thread::spawn(move || tx.write_all(b"ping")); // `tx` drops when the thread ends
//! let mut got = Vec::new();
//! rx.read_to_end(&mut got)?;
//! assert_eq!(got, b"ping");
//! # std::io::Result::Ok(())
//! ```
//!
//! No child gets an end unless it is handed over explicitly (through [`Stdio`], or `dup2`
//! on Unix): both ends are created close-on-exec on Unix and non-inheritable on Windows
//! (where `std::process` makes an inheritable duplicate of a [`Stdio`] handle just for the
//! spawn). Data written before the last [`Sender`] is dropped is all read before the
//! [`Recver`] sees end of file (`Ok(0)`).
//!
//! Writing when no read end is left fails with [`io::ErrorKind::BrokenPipe`]. On Unix it
//! never raises `SIGPIPE`, whatever the process's `SIGPIPE` disposition: pipes have no
//! `MSG_NOSIGNAL`, so each write runs with `SIGPIPE` blocked in the calling thread only and
//! a `SIGPIPE` it raised is consumed before the thread's signal mask is restored (on macOS
//! the write end carries `F_SETNOSIGPIPE` instead); no process-wide signal state changes.
//! Windows has no such signal; `WriteFile` fails with `ERROR_NO_DATA`, made `BrokenPipe`.
//!
//! On Windows, writing an empty buffer returns 0 without calling `WriteFile`: a pipe would
//! deliver a zero-length write to a waiting reader as a 0-byte read, which reads as end of
//! file.
//!
//! With the `tokio` feature, `unnamed_pipe::tokio` has the async ends; with `async-io`,
//! `unnamed_pipe::async_io` has them without tokio.

use crate::sys;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::process::Stdio;

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;

#[cfg(feature = "async-io")]
#[cfg_attr(docsrs, doc(cfg(feature = "async-io")))]
pub mod async_io;

/// Creates an unnamed pipe: `(write end, read end)`.
///
/// Unix: `pipe2(O_CLOEXEC)` (`pipe` + `fcntl(FD_CLOEXEC)` on macOS, which also sets
/// `F_SETNOSIGPIPE` on the write end). Windows: `CreatePipe` without security attributes
/// (non-inheritable handles), 64 KiB of buffer.
///
/// ```
/// use std::io::{BufRead, BufReader, Write};
///
/// let (mut tx, rx) = localipc::unnamed_pipe::pipe()?;
/// let worker = std::thread::spawn(move || -> std::io::Result<()> {
///     for i in 0..3 {
///         writeln!(tx, "progress {i}")?;
///     }
///     Ok(()) // `tx` drops here: the reader sees end of file
/// });
/// let lines: Vec<String> = BufReader::new(rx).lines().collect::<Result<_, _>>()?;
/// assert_eq!(lines, ["progress 0", "progress 1", "progress 2"]);
/// worker.join().unwrap()?;
/// # std::io::Result::Ok(())
/// ```
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
    /// Unix: `write(2)` with `SIGPIPE` blocked in this thread. Windows: `WriteFile` (none
    /// for an empty `buf`). No reader left gives `BrokenPipe`.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    /// Unix: `writev(2)` with `SIGPIPE` blocked in this thread. Windows: `WriteFile` of the
    /// first non-empty buffer.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner.write_vectored(bufs)
    }
    /// No OS call: a pipe has no user-space buffer.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for &Recver {
    /// Unix: `read(2)`. Windows: `ReadFile` (`ERROR_BROKEN_PIPE` is end of file). `Ok(0)`
    /// once every write end is closed and the data is read.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
    /// Unix: `readv(2)`. Windows: `ReadFile` into the first non-empty buffer.
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.inner.read_vectored(bufs)
    }
}

crate::forward::write_via_ref!(Sender);
crate::forward::read_via_ref!(Recver);

/// For a child's stdin, stdout or stderr: `Command::new(..).stdout(Stdio::from(sender))`.
impl From<Sender> for Stdio {
    /// No OS call; `spawn` then `dup2`s the descriptor (Unix) or gives the child an
    /// inheritable duplicate of the handle (Windows).
    fn from(s: Sender) -> Self {
        Stdio::from(crate::handle::OwnedHandle::from(s))
    }
}

/// For a child's stdin: `Command::new(..).stdin(Stdio::from(recver))`.
impl From<Recver> for Stdio {
    /// No OS call; as for [`Sender`].
    fn from(r: Recver) -> Self {
        Stdio::from(crate::handle::OwnedHandle::from(r))
    }
}
