//! Connected Unix domain sockets: connect (with deadline), I/O without SIGPIPE, credentials.

use super::addr::SockAddr;
use super::connect::{connect_addr, start_connect, Connecting, Retry};
use super::{cvt, SocketType};
use crate::local_socket::{ConnectOptions, LocalSocketName, PeerCreds};
use crate::sys::err_with_name;
use std::io::{self, IoSlice, IoSliceMut, Read};
use std::ops::Deref;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::Instant;

/// A connected stream socket. Reads go through std; writes through `send(MSG_NOSIGNAL)`;
/// the calls std makes as they are (shutdown, nonblocking mode, timeouts) through `Deref`.
#[derive(Debug)]
pub(crate) struct Stream {
    sock: UnixStream,
}

impl Stream {
    /// Wraps a std socket; on Apple also sets `SO_NOSIGPIPE` on it.
    pub(crate) fn from_std(sock: UnixStream) -> Self {
        // Cannot fail on an open AF_UNIX socket; a no-op where MSG_NOSIGNAL is used.
        let _ = super::set_nosigpipe(&sock);
        Self { sock }
    }

    /// [`from_std`](Self::from_std) of a descriptor.
    pub(crate) fn from_fd(fd: OwnedFd) -> Self {
        Self::from_std(UnixStream::from(fd))
    }

    /// `socket` + `connect`. With a timeout: nonblocking `connect` + `poll`, retried while the
    /// server is not there yet (`ENOENT`, `ECONNREFUSED`) or its backlog is full (`EAGAIN`),
    /// with a backoff from 1 to 50 ms, until the deadline; then `TimedOut`.
    pub(crate) fn connect(name: &LocalSocketName<'_>, opts: &ConnectOptions) -> io::Result<Self> {
        Self::connect_with_type(name, opts, SocketType::Stream)
    }

    /// [`connect`](Self::connect) with a socket of type `ty` (`SeqPacket` for the message
    /// sockets).
    pub(crate) fn connect_with_type(
        name: &LocalSocketName<'_>,
        opts: &ConnectOptions,
        ty: SocketType,
    ) -> io::Result<Self> {
        let addr = SockAddr::new(name)?;
        let Some(timeout) = opts.timeout else {
            let sock = UnixStream::from(super::new_socket(ty)?);
            connect_addr(&sock, &addr).map_err(|e| err_with_name(e, "connecting to", name))?;
            return Ok(Self::from_std(sock));
        };
        let mut retry = Retry::new(timeout);
        loop {
            match connect_by(&addr, retry.deadline(), ty) {
                Ok(sock) => return Ok(Self::from_std(sock)),
                Err(e) => std::thread::sleep(retry.after(e, name)?),
            }
        }
    }

    /// `read(2)`.
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.sock).read(buf)
    }

    /// `readv(2)`.
    pub(crate) fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&self.sock).read_vectored(bufs)
    }

    /// `send(MSG_NOSIGNAL)`: a closed peer gives `EPIPE` (`BrokenPipe`), not `SIGPIPE`.
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        super::fd_io::send(self.sock.as_fd(), buf)
    }

    /// `sendmsg(MSG_NOSIGNAL)` with up to `IOV_MAX` buffers.
    pub(crate) fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        super::fd_io::send_vectored(self.sock.as_fd(), bufs)
    }

    /// `fcntl(F_DUPFD_CLOEXEC)` via std.
    pub(crate) fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            sock: self.sock.try_clone()?,
        })
    }

    /// See `creds.rs`: `SO_PEERCRED` on Linux, `getpeereid` (+ `LOCAL_PEERPID`) on BSDs.
    pub(crate) fn peer_creds(&self) -> io::Result<PeerCreds> {
        super::creds::peer_creds(self.sock.as_fd())
    }

    /// See `creds.rs`: `SO_PEERCRED` alone on Linux, `LOCAL_PEERPID`/`LOCAL_PEERCRED` on BSDs.
    pub(crate) fn peer_pid(&self) -> io::Result<u32> {
        super::creds::peer_pid(self.sock.as_fd())
    }

    pub(crate) fn into_fd(self) -> OwnedFd {
        self.sock.into()
    }

    #[cfg(feature = "tokio")]
    pub(crate) fn into_std(self) -> UnixStream {
        self.sock
    }
}

/// The std socket, for the calls std makes as they are: `shutdown(2)`,
/// `fcntl(F_SETFL, O_NONBLOCK)` (`set_nonblocking`), `setsockopt`/`getsockopt(SO_RCVTIMEO,
/// SO_SNDTIMEO)` (the timeouts and their getters).
impl Deref for Stream {
    type Target = UnixStream;
    #[inline]
    fn deref(&self) -> &UnixStream {
        &self.sock
    }
}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

/// Nonblocking `connect(2)`, then `poll(POLLOUT)` and `SO_ERROR` if it is in progress, then
/// back to blocking mode.
fn connect_by(addr: &SockAddr, deadline: Instant, ty: SocketType) -> io::Result<UnixStream> {
    let (sock, mut state) = start_connect(addr, ty)?;
    while state == Connecting::InProgress {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut pfd = libc::pollfd {
            fd: sock.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        let ms = libc::c_int::try_from(left.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: `pfd` is one valid pollfd.
        match cvt(unsafe { libc::poll(&mut pfd, 1, ms) }) {
            Ok(0) => return Err(io::ErrorKind::TimedOut.into()),
            Ok(_) => match sock.take_error()? {
                Some(e) => return Err(e),
                None => state = Connecting::Done,
            },
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    sock.set_nonblocking(false)?;
    Ok(sock)
}
