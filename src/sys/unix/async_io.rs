//! Async Unix domain sockets on async-io's reactor (`async_io::Async`), with no tokio.
//!
//! The sync types do the binding and the socket setup; this module sets them nonblocking and
//! registers them with the reactor (`epoll_ctl`/`kevent`, through `polling`). Every
//! operation first tries the call and waits for readiness only on `EAGAIN`, as async-io's own
//! `Async<UnixStream>` does; writes go through `send(MSG_NOSIGNAL)`, never `write(2)` (which
//! would raise `SIGPIPE` on a closed peer).

use super::addr::SockAddr;
use super::connect::{start_connect, Connecting, Retry};
use super::{fd_io, SocketFile, SocketType};
use crate::local_socket::access::Access;
use crate::local_socket::{ConnectOptions, ListenerOptions, LocalSocketName, PeerCreds};
use crate::sys::err_with_name;
use ::async_io::{Async, Timer};
use std::io::{self, IoSlice, IoSliceMut, Read};
use std::net::Shutdown;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::task::{ready, Context, Poll};

mod message;
pub(crate) use message::{MessageListener, MessageStream};

/// A listening socket registered with async-io's reactor.
#[derive(Debug)]
pub(crate) struct Listener {
    /// Declared before `sock`: the file is removed while the socket is still open (see
    /// [`SocketFile`]'s drop).
    _file: Option<SocketFile>,
    sock: Async<UnixListener>,
    name: LocalSocketName<'static>,
    /// Who may connect: peers it refuses are closed before `accept` returns.
    access: Access,
}

impl Listener {
    /// The sync `bind` (same reclaim and mode rules), then [`from_sync`](Self::from_sync).
    pub(crate) fn bind(name: &LocalSocketName<'_>, opts: &ListenerOptions) -> io::Result<Self> {
        Self::from_sync(super::Listener::bind(name, opts)?)
    }

    /// `ioctl(FIONBIO)` and registration with the reactor (`epoll_ctl`/`kevent`).
    pub(crate) fn from_sync(l: super::Listener) -> io::Result<Self> {
        let (sock, name, file, access) = l.into_parts();
        Ok(Self {
            _file: file,
            sock: Async::new(sock)?,
            name,
            access,
        })
    }

    /// `accept4(SOCK_CLOEXEC | SOCK_NONBLOCK)` (Apple: `accept`, `fcntl`), waiting for
    /// readability on `EAGAIN`. async-io keeps every waiting task's waker (`readable()`), so
    /// any number of tasks may wait at once. Dropping the future loses no client (it stays in
    /// the backlog).
    pub(crate) async fn accept(&self) -> io::Result<Stream> {
        let r = self.sock.read_with(|l| self.accept_admitted(l)).await;
        let sock = r.map_err(|e| super::listener::accept_error(e, &self.name))?;
        Stream::from_nonblocking(sock)
    }

    /// Accepts until a peer the access policy admits (refused ones closed), or `WouldBlock`.
    fn accept_admitted(&self, l: &UnixListener) -> io::Result<UnixStream> {
        loop {
            let sock = super::accept::accept_nonblocking(l)?;
            if self.access.admit(|| super::creds::peer_creds(sock.as_fd())) {
                return Ok(sock);
            }
        }
    }

    pub(crate) fn name(&self) -> &LocalSocketName<'static> {
        &self.name
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.get_ref().as_fd()
    }
}

/// A connected socket registered with async-io's reactor.
#[derive(Debug)]
pub(crate) struct Stream {
    sock: Async<UnixStream>,
}

impl Stream {
    /// Registers a nonblocking socket (on Apple, after setting `SO_NOSIGPIPE`).
    fn from_nonblocking(sock: UnixStream) -> io::Result<Self> {
        super::set_nosigpipe(&sock)?;
        Ok(Self {
            sock: Async::new_nonblocking(sock)?,
        })
    }

    /// `fcntl(F_SETFL, O_NONBLOCK)` and registration with the reactor.
    pub(crate) fn from_sync(s: super::Stream) -> io::Result<Self> {
        let std = UnixStream::from(s.into_fd());
        std.set_nonblocking(true)?;
        Self::from_nonblocking(std)
    }

    /// Deregisters (`epoll_ctl`/`kevent`) and returns to blocking mode (`fcntl`).
    pub(crate) fn into_sync(self) -> io::Result<super::Stream> {
        let std = self.sock.into_inner()?;
        std.set_nonblocking(false)?;
        Ok(super::Stream::from_std(std))
    }

    /// Nonblocking `socket` + `connect`, waiting for writability (and reading `SO_ERROR`) if
    /// in progress; with a timeout, retried on async-io's timer while the server is not up
    /// yet, until the deadline. No thread is involved; dropping the future closes the socket.
    pub(crate) async fn connect(
        name: &LocalSocketName<'_>,
        opts: &ConnectOptions,
    ) -> io::Result<Self> {
        let addr = SockAddr::new(name)?;
        let sock = connect_with_type(name, &addr, opts, SocketType::Stream).await?;
        super::set_nosigpipe(sock.get_ref())?;
        Ok(Self { sock })
    }

    /// `read(2)`, waiting for readability on `EAGAIN`.
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_in(cx, |s| (&*s).read(buf))
    }

    /// `readv(2)`, waiting for readability on `EAGAIN`.
    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_in(cx, |s| (&*s).read_vectored(bufs))
    }

    /// `send(MSG_NOSIGNAL)`, waiting for writability on `EAGAIN`.
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_out(cx, |s| fd_io::send(s.as_fd(), buf))
    }

    /// `sendmsg(MSG_NOSIGNAL)`, waiting for writability on `EAGAIN`.
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_out(cx, |s| fd_io::send_vectored(s.as_fd(), bufs))
    }

    /// Nothing to flush: a write has reached the socket when it returns.
    pub(crate) fn poll_flush(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// `shutdown(2)`.
    pub(crate) fn poll_shutdown(
        &self,
        _cx: &mut Context<'_>,
        how: Shutdown,
    ) -> Poll<io::Result<()>> {
        Poll::Ready(fd_io::shutdown(self.as_fd(), how))
    }

    /// See `creds.rs`: `SO_PEERCRED` on Linux, `getpeereid` (+ `LOCAL_PEERPID`) on BSDs.
    pub(crate) fn peer_creds(&self) -> io::Result<PeerCreds> {
        super::creds::peer_creds(self.as_fd())
    }

    /// See `creds.rs`: `SO_PEERCRED` alone on Linux, `LOCAL_PEERPID`/`LOCAL_PEERCRED` on BSDs.
    pub(crate) fn peer_pid(&self) -> io::Result<u32> {
        super::creds::peer_pid(self.as_fd())
    }

    /// `op` until it does not fail with `WouldBlock`, waiting for readability in between.
    fn poll_in<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&UnixStream) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            match op(self.sock.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                r => return Poll::Ready(r),
            }
            ready!(self.sock.poll_readable(cx))?;
        }
    }

    /// `op` until it does not fail with `WouldBlock`, waiting for writability in between.
    fn poll_out<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&UnixStream) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            match op(self.sock.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                r => return Poll::Ready(r),
            }
            ready!(self.sock.poll_writable(cx))?;
        }
    }
}

/// Nonblocking `socket` of type `ty` + `connect`, registered, waiting for writability (and
/// reading `SO_ERROR`) if in progress; with a timeout, retried on async-io's timer while the
/// server is not up yet, until the deadline. Errors name `name`.
pub(super) async fn connect_with_type(
    name: &LocalSocketName<'_>,
    addr: &SockAddr,
    opts: &ConnectOptions,
    ty: SocketType,
) -> io::Result<Async<UnixStream>> {
    let mut retry = opts.timeout.map(Retry::new);
    loop {
        let err = match connect_once(addr, ty).await {
            Ok(s) => return Ok(s),
            Err(e) => e,
        };
        match &mut retry {
            None => return Err(err_with_name(err, "connecting to", name)),
            Some(r) => {
                Timer::after(r.after(err, name)?).await;
            }
        }
    }
}

async fn connect_once(addr: &SockAddr, ty: SocketType) -> io::Result<Async<UnixStream>> {
    let (std, state) = start_connect(addr, ty)?;
    let sock = Async::new_nonblocking(std)?;
    if state == Connecting::InProgress {
        sock.writable().await?;
        if let Some(e) = sock.get_ref().take_error()? {
            return Err(e);
        }
    }
    Ok(sock)
}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.get_ref().as_fd()
    }
}
