//! Async Unix domain sockets over tokio's `UnixListener` and `UnixStream`.
//!
//! Reads and readiness are tokio's; writes go through `send(MSG_NOSIGNAL)` (tokio's own
//! writes use `write(2)`, which raises `SIGPIPE` on a closed peer).

use super::addr::SockAddr;
use super::connect::{start_nonblocking, Retry};
use super::{io as sysio, SocketFile};
use crate::local_socket::{ConnectOptions, ListenerOptions, LocalSocketName, PeerCreds};
use crate::sys::err_with_name;
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::os::fd::{AsFd, BorrowedFd};
use std::task::{ready, Context, Poll};
use tokio::io::{Interest, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tokio::runtime::Handle;

/// The current runtime, or a clear error rather than tokio's panic outside one.
fn in_runtime(what: &str) -> io::Result<Handle> {
    Handle::try_current().map_err(|_| {
        io::Error::other(format!(
            "{what} must be called from within a tokio runtime with I/O enabled"
        ))
    })
}

/// A listening socket registered with tokio's reactor.
#[derive(Debug)]
pub(crate) struct Listener {
    sock: UnixListener,
    name: LocalSocketName<'static>,
    /// The runtime the listener was registered with: accepted streams join it too, even when
    /// `accept` is polled from another executor.
    runtime: Handle,
    /// Declared after `sock`: the file is removed after the socket is closed.
    _file: Option<SocketFile>,
}

impl Listener {
    /// The sync `bind` (same reclaim and mode rules), then registration with tokio.
    pub(crate) fn bind(name: &LocalSocketName<'_>, opts: &ListenerOptions) -> io::Result<Self> {
        in_runtime("binding a tokio local socket")?;
        Self::from_sync(super::Listener::bind(name, opts)?)
    }

    pub(crate) fn from_sync(l: super::Listener) -> io::Result<Self> {
        let runtime = in_runtime("converting to a tokio local socket listener")?;
        let (sock, name, file) = l.into_parts();
        sock.set_nonblocking(true)?;
        Ok(Self {
            sock: UnixListener::from_std(sock)?,
            name,
            runtime,
            _file: file,
        })
    }

    /// `accept4(SOCK_CLOEXEC | SOCK_NONBLOCK)` when tokio reports readiness.
    pub(crate) fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Stream>> {
        let _runtime = self.runtime.enter();
        let (sock, _) = ready!(self.sock.poll_accept(cx))?;
        Poll::Ready(Ok(Stream::from_tokio(sock)))
    }

    pub(crate) fn name(&self) -> &LocalSocketName<'static> {
        &self.name
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

/// A connected socket registered with tokio's reactor.
#[derive(Debug)]
pub(crate) struct Stream {
    sock: UnixStream,
}

impl Stream {
    pub(crate) fn from_tokio(sock: UnixStream) -> Self {
        // Cannot fail on an open AF_UNIX socket; a no-op where MSG_NOSIGNAL is used.
        let _ = super::set_nosigpipe(&sock);
        Self { sock }
    }

    pub(crate) fn from_sync(s: super::Stream) -> io::Result<Self> {
        in_runtime("converting to a tokio local socket stream")?;
        let std = s.into_std();
        std.set_nonblocking(true)?;
        Ok(Self::from_tokio(UnixStream::from_std(std)?))
    }

    pub(crate) fn into_sync(self) -> io::Result<super::Stream> {
        let std = self.sock.into_std()?;
        std.set_nonblocking(false)?;
        Ok(super::Stream::from_std(std))
    }

    /// Nonblocking `socket` + `connect`, waiting for writability if in progress; with a
    /// timeout, retried (tokio timer) while the server is not up yet, until the deadline.
    pub(crate) async fn connect(
        name: &LocalSocketName<'_>,
        opts: &ConnectOptions,
    ) -> io::Result<Self> {
        in_runtime("connecting a tokio local socket")?;
        let addr = SockAddr::new(name)?;
        let mut retry = opts.timeout.map(Retry::new);
        loop {
            let err = match Self::connect_once(&addr).await {
                Ok(s) => return Ok(s),
                Err(e) => e,
            };
            match &mut retry {
                None => return Err(err_with_name(err, "connecting to", name)),
                Some(r) => tokio::time::sleep(r.after(err, name)?).await,
            }
        }
    }

    async fn connect_once(addr: &SockAddr) -> io::Result<Self> {
        let (std, in_progress) = start_nonblocking(addr)?;
        let sock = UnixStream::from_std(std)?;
        if in_progress {
            sock.writable().await?;
            if let Some(e) = sock.take_error()? {
                return Err(e);
            }
        }
        Ok(Self::from_tokio(sock))
    }

    /// `read(2)` when tokio reports readability.
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.sock.poll_read_ready(cx))?;
            // SAFETY: `read_uninit` only writes into the unfilled part, never de-initialises.
            let unfilled = unsafe { buf.unfilled_mut() };
            let fd = self.sock.as_fd();
            match self
                .sock
                .try_io(Interest::READABLE, || sysio::read_uninit(fd, unfilled))
            {
                Ok(n) => {
                    // SAFETY: the kernel initialised the first `n` bytes of the unfilled part.
                    unsafe { buf.assume_init(n) };
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// `send(MSG_NOSIGNAL)` when tokio reports writability.
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_send(cx, |fd| sysio::send(fd, buf))
    }

    /// `sendmsg(MSG_NOSIGNAL)` when tokio reports writability.
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_send(cx, |fd| sysio::send_vectored(fd, bufs))
    }

    fn poll_send(
        &self,
        cx: &mut Context<'_>,
        mut send: impl FnMut(BorrowedFd<'_>) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.sock.poll_write_ready(cx))?;
            let fd = self.sock.as_fd();
            match self.sock.try_io(Interest::WRITABLE, || send(fd)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                r => return Poll::Ready(r),
            }
        }
    }

    /// `shutdown(SHUT_WR)`: the peer reads end of file.
    pub(crate) fn poll_shutdown(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(sysio::shutdown(self.sock.as_fd(), Shutdown::Write))
    }

    pub(crate) fn peer_creds(&self) -> io::Result<PeerCreds> {
        super::creds::peer_creds(self.sock.as_fd())
    }
}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}
