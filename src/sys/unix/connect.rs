//! Connecting, shared by the sync and async streams: one nonblocking attempt, and the retry
//! policy used while waiting for a server under a timeout.

use super::addr::SockAddr;
use super::{cvt, SocketType};
use crate::local_socket::LocalSocketName;
use crate::sys::err_with_name;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// `connect(2)`, retried on `EINTR`.
pub(crate) fn connect_addr(fd: &impl AsRawFd, addr: &SockAddr) -> io::Result<()> {
    loop {
        // SAFETY: `addr` points to a valid sockaddr_un of `addr.len` bytes.
        match cvt(unsafe { libc::connect(fd.as_raw_fd(), addr.as_ptr(), addr.len) }) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r.map(drop),
        }
    }
}

/// How far a nonblocking `connect` got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Connecting {
    /// Connected.
    Done,
    /// `EINPROGRESS`: wait for writability, then check `SO_ERROR`.
    InProgress,
}

/// A new nonblocking socket of type `ty` ([`new_nonblocking_socket`](super::new_nonblocking_socket))
/// with `connect` started, and how far it got. The result is a `UnixStream` whatever the
/// type: std's stream type is only a holder for the descriptor here.
pub(crate) fn start_connect(
    addr: &SockAddr,
    ty: SocketType,
) -> io::Result<(UnixStream, Connecting)> {
    let sock = UnixStream::from(super::new_nonblocking_socket(ty)?);
    match connect_addr(&sock, addr) {
        Ok(()) => Ok((sock, Connecting::Done)),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok((sock, Connecting::InProgress)),
        Err(e) => Err(e),
    }
}

/// Whether a failed attempt means "no server accepting yet": worth another try under a
/// timeout. Missing file, refused (nobody listening), or backlog full (`EAGAIN`).
fn server_not_ready(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut
    )
}

/// The wait between attempts under `ConnectOptions::timeout`: exponential backoff from 1 to
/// 50 ms, never past the deadline.
#[derive(Debug)]
pub(crate) struct Retry {
    timeout: Duration,
    deadline: Instant,
    backoff: Duration,
}

impl Retry {
    pub(crate) fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            deadline: Instant::now() + timeout,
            backoff: Duration::from_millis(1),
        }
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// After a failed attempt: `Ok(pause)` to try again after `pause`, or the error to give
    /// the caller (naming `name`): `TimedOut` once the deadline has passed.
    pub(crate) fn after(
        &mut self,
        err: io::Error,
        name: &LocalSocketName<'_>,
    ) -> io::Result<Duration> {
        if !server_not_ready(&err) {
            return Err(err_with_name(err, "connecting to", name));
        }
        let now = Instant::now();
        if now >= self.deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "connecting to local socket \"{name}\": no server accepted within {:?} (last error: {err})",
                    self.timeout
                ),
            ));
        }
        let pause = self.backoff.min(self.deadline - now);
        self.backoff = (self.backoff * 2).min(Duration::from_millis(50));
        Ok(pause)
    }
}
