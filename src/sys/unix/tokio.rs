//! Async Unix domain sockets on tokio's reactor, through `tokio::io::unix::AsyncFd`.
//!
//! `AsyncFd` rather than tokio's `UnixStream`, for two reasons: writes must go through
//! `send(MSG_NOSIGNAL)` (tokio's own use `write(2)`, which raises `SIGPIPE` on a closed
//! peer), and readiness must be cleared after a short read or write, as tokio's own types do,
//! or every buffer-full/empty turn costs one more failing syscall (measured: ~17,600 extra
//! `EAGAIN`s per 2 GiB). `AsyncFd` gives both; tokio's `UnixStream` gives neither.

use super::addr::SockAddr;
use super::connect::{start_connect, Connecting, Retry};
use super::{cvt, fd_io, SocketFile, SocketType};
use crate::local_socket::access::Access;
use crate::local_socket::{ConnectOptions, ListenerOptions, LocalSocketName, PeerCreds};
use crate::sys::err_with_name;
use crate::sys::in_runtime;
use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::OnceLock;
use std::task::{ready, Context, Poll};
use tokio::io::unix::AsyncFd;
use tokio::io::{Interest, ReadBuf};
use tokio::runtime::Handle;

#[cfg(any(target_os = "linux", target_os = "android"))]
mod creds;
mod handles;
pub(crate) mod message;

/// Registers `sock` (a nonblocking socket or pipe end) with the current runtime's reactor (an
/// error, not tokio's panic, outside a runtime).
pub(crate) fn register<T: AsRawFd>(sock: T, interest: Interest) -> io::Result<AsyncFd<T>> {
    in_runtime("registering with tokio")?;
    // SAFETY: `sock` owns its descriptor (a std socket or an `OwnedFd`); the `AsyncFd` owns `sock`, so
    // the descriptor stays open and the same until the `AsyncFd` is dropped or unwrapped.
    unsafe { AsyncFd::register_with_interest(sock, interest) }.map_err(|e| e.into_parts().1)
}

/// A listening socket registered with tokio's reactor.
#[derive(Debug)]
pub(crate) struct Listener {
    /// Declared before `sock`: the file is removed while the socket is still open (see
    /// [`SocketFile`]'s drop).
    _file: Option<SocketFile>,
    sock: AsyncFd<UnixListener>,
    name: LocalSocketName<'static>,
    /// Who may connect: peers it refuses are closed before `accept` returns.
    access: Access,
    /// The runtime the listener was registered with: accepted streams join it too, even when
    /// `accept` is polled from another executor.
    runtime: Handle,
}

impl Listener {
    /// The sync `bind` (same reclaim and mode rules), then registration with tokio.
    pub(crate) fn bind(name: &LocalSocketName<'_>, opts: &ListenerOptions) -> io::Result<Self> {
        in_runtime("binding a tokio local socket")?;
        Self::from_sync(super::Listener::bind(name, opts)?)
    }

    pub(crate) fn from_sync(l: super::Listener) -> io::Result<Self> {
        let runtime = in_runtime("converting to a tokio local socket listener")?;
        let (sock, name, file, access) = l.into_parts();
        sock.set_nonblocking(true)?;
        Ok(Self {
            _file: file,
            sock: register(sock, Interest::READABLE)?,
            name,
            access,
            runtime,
        })
    }

    /// Waits for a client, as [`poll_accept`](Self::poll_accept) but through `readable()`,
    /// whose waiters tokio keeps in a list: any number of tasks can wait at once (the single
    /// waker slot of `poll_read_ready` would wake only the last of them).
    pub(crate) async fn accept(&self) -> io::Result<Stream> {
        loop {
            let mut guard = self.sock.readable().await?;
            if let Ok(r) = guard.try_io(|l| self.accept_admitted(l.get_ref())) {
                return self.accepted(r);
            }
        }
    }

    /// [`accept_nonblocking`] until a peer the access policy admits (refused ones closed),
    /// or `WouldBlock`.
    fn accept_admitted(&self, l: &UnixListener) -> io::Result<UnixStream> {
        loop {
            let sock = super::accept::accept_nonblocking(l)?;
            if self.access.admit(|| super::creds::peer_creds(sock.as_fd())) {
                return Ok(sock);
            }
        }
    }

    /// `accept4(SOCK_CLOEXEC | SOCK_NONBLOCK)` (Apple: `accept`, `fcntl`) when tokio reports
    /// readiness; only the waker of the latest call is kept.
    pub(crate) fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Stream>> {
        loop {
            let mut guard = ready!(self.sock.poll_read_ready(cx))?;
            if let Ok(r) = guard.try_io(|l| self.accept_admitted(l.get_ref())) {
                return Poll::Ready(self.accepted(r));
            }
        }
    }

    /// Names the listener in an `accept` error; registers an accepted socket with the
    /// listener's runtime.
    fn accepted(&self, r: io::Result<UnixStream>) -> io::Result<Stream> {
        let sock = r.map_err(|e| super::listener::accept_error(e, &self.name))?;
        let _runtime = self.runtime.enter();
        Stream::from_nonblocking(sock)
    }

    pub(crate) fn name(&self) -> &LocalSocketName<'static> {
        &self.name
    }

    /// The sync [`Listener::from_fd_checked`](super::Listener::from_fd_checked) (`fstat`,
    /// `getsockname`, `getsockopt(SO_TYPE, SO_ACCEPTCONN)`: `InvalidInput` unless a
    /// listening `AF_UNIX` stream socket), then as [`from_sync`](Self::from_sync).
    pub(crate) fn from_fd(fd: OwnedFd) -> io::Result<Self> {
        in_runtime("converting to a tokio local socket listener")?;
        Self::from_sync(super::Listener::from_fd_checked(fd)?)
    }

    /// Deregisters (`epoll_ctl`/`kevent`) and gives up the descriptor, still nonblocking;
    /// the socket file then stays in place.
    pub(crate) fn into_fd(self) -> OwnedFd {
        let Self {
            _file: file, sock, ..
        } = self;
        if let Some(file) = file {
            file.keep();
        }
        sock.into_inner().into()
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.get_ref().as_fd()
    }
}

/// A connected socket registered with tokio's reactor.
///
/// Registered for readability only. Interest in writability would cost a reactor wake-up
/// each time the peer reads what this side wrote (on Linux each read by the peer queues an
/// `EPOLLOUT` edge for the writer): in a 64 B ping-pong that is 1.5 extra `epoll_wait` calls
/// and one extra context switch per round trip, for a readiness that is useless while the
/// send buffer has room. So writes go straight to `send`, and only when the send buffer is
/// full (a short write or `EAGAIN`) is a duplicate of the descriptor (`fcntl(F_DUPFD_CLOEXEC)`)
/// registered for writability, once for the life of the stream (epoll(7) allows one file
/// registered through two descriptors with different interests; so does kqueue).
#[derive(Debug)]
pub(crate) struct Stream {
    /// Declared first: deregistered and closed before `sock`.
    writer: OnceLock<AsyncFd<OwnedFd>>,
    sock: AsyncFd<UnixStream>,
    /// The runtime `sock` is registered with: `writer` joins it too, whichever executor
    /// polls the write.
    runtime: Handle,
}

impl Stream {
    /// Registers a nonblocking socket with the current runtime (on Apple, after setting
    /// `SO_NOSIGPIPE`).
    fn from_nonblocking(sock: UnixStream) -> io::Result<Self> {
        super::set_nosigpipe(&sock)?;
        let runtime = in_runtime("registering with tokio")?;
        // Reads then say how much is left (see `poll_read`); a kernel without it refuses.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let _has_inq = super::inq::enable(sock.as_fd());
        Ok(Self {
            writer: OnceLock::new(),
            sock: register(sock, Interest::READABLE)?,
            runtime,
        })
    }

    /// Moves a tokio `UnixStream` over to this type's registration.
    pub(crate) fn from_tokio(sock: tokio::net::UnixStream) -> io::Result<Self> {
        Self::from_nonblocking(sock.into_std()?)
    }

    pub(crate) fn from_sync(s: super::Stream) -> io::Result<Self> {
        in_runtime("converting to a tokio local socket stream")?;
        let std = s.into_std();
        std.set_nonblocking(true)?;
        Self::from_nonblocking(std)
    }

    pub(crate) fn into_sync(self) -> io::Result<super::Stream> {
        drop(self.writer);
        let std = self.sock.into_inner();
        std.set_nonblocking(false)?;
        give_up_inq(std.as_fd());
        Ok(super::Stream::from_std(std))
    }

    /// As [`from_sync`](Self::from_sync) of the descriptor.
    pub(crate) fn from_fd(fd: OwnedFd) -> io::Result<Self> {
        Self::from_sync(super::Stream::from_fd(fd))
    }

    /// Deregisters (`epoll_ctl`/`kevent`) and gives up the descriptor, still nonblocking.
    pub(crate) fn into_fd(self) -> OwnedFd {
        drop(self.writer);
        let sock = self.sock.into_inner();
        give_up_inq(sock.as_fd());
        sock.into()
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
        let (std, state) = start_connect(addr, SocketType::Stream)?;
        let sock = Self::from_nonblocking(std)?;
        if state == Connecting::InProgress {
            let _ready = sock.writer()?.writable().await?;
            if let Some(e) = sock.sock.get_ref().take_error()? {
                return Err(e);
            }
        }
        Ok(sock)
    }

    /// `read(2)` when tokio reports readability; a short read clears the readiness.
    ///
    /// On Linux and Android, `recvmsg` instead ([`inq::recv`](super::inq::recv)), which with
    /// `SO_INQ` on (Linux 6.17 and later) also says how many bytes are left: when none are,
    /// the readiness is cleared whether or not the read filled the buffer, so the next read
    /// waits for the reactor instead of failing with `EAGAIN` first. In a ping-pong of whole
    /// messages (`read_exact` of what the peer wrote) that is one system call less per
    /// message. Without `SO_INQ` a short read clears it, but not one that brought control
    /// data: a read stops early at a message carrying descriptors, with bytes still queued,
    /// whose readiness event has been reported already.
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        return poll_read_inq(&self.sock, cx, buf);
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        poll_read_fd(&self.sock, cx, buf)
    }

    /// `send(MSG_NOSIGNAL)` at once; once the send buffer has been found full, when tokio
    /// reports writability (see [`Stream`]).
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, buf.len(), |fd| fd_io::send(fd, buf))
    }

    /// `sendmsg(MSG_NOSIGNAL)`, as [`poll_write`](Self::poll_write).
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.poll_write_with(cx, len, |fd| fd_io::send_vectored(fd, bufs))
    }

    /// `write` straight away while no write has found the send buffer full; after that, on
    /// the writability registration, as the pipes do ([`poll_write_fd`]).
    pub(super) fn poll_write_with(
        &self,
        cx: &mut Context<'_>,
        len: usize,
        mut write: impl FnMut(BorrowedFd<'_>) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        if let Some(writer) = self.writer.get() {
            return poll_write_fd(writer, cx, len, write);
        }
        match write(self.as_fd()) {
            Ok(n) if n == len || n == 0 => Poll::Ready(Ok(n)),
            Ok(n) => {
                // The buffer is full now: the next write waits for room through `writer`.
                self.writer()?;
                Poll::Ready(Ok(n))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                // Registered after the `EAGAIN`: the registration reports the state at that
                // moment (room made since is not missed).
                poll_write_fd(self.writer()?, cx, len, write)
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// The writability registration, made now (`fcntl(F_DUPFD_CLOEXEC)`, `epoll_ctl`/`kevent`)
    /// if not yet.
    fn writer(&self) -> io::Result<&AsyncFd<OwnedFd>> {
        if let Some(writer) = self.writer.get() {
            return Ok(writer);
        }
        let dup = self.as_fd().try_clone_to_owned()?;
        let _runtime = self.runtime.enter();
        let writer = register(dup, Interest::WRITABLE)?;
        // A concurrent writer may have won: its registration is kept, this one dropped.
        let _ = self.writer.set(writer);
        Ok(self.writer.get().expect("set just above"))
    }

    /// `shutdown(SHUT_WR)`: the peer reads end of file.
    pub(crate) fn poll_shutdown(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(fd_io::shutdown(self.as_fd(), Shutdown::Write))
    }

    /// `shutdown(SHUT_RD)`: later reads return end of file (and the peer's writes fail).
    #[cfg(feature = "futures-io")]
    pub(crate) fn shutdown_read(&self) -> io::Result<()> {
        fd_io::shutdown(self.as_fd(), Shutdown::Read)
    }

    pub(crate) fn peer_creds(&self) -> io::Result<PeerCreds> {
        super::creds::peer_creds(self.as_fd())
    }

    pub(crate) fn peer_pid(&self) -> io::Result<u32> {
        super::creds::peer_pid(self.as_fd())
    }
}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.get_ref().as_fd()
    }
}

/// `read(2)` into the unfilled part of `buf` when tokio reports `fd` readable. A short read
/// clears the readiness, as tokio's own types do: the descriptor is drained, so trying again
/// before the next event would only fail with `EAGAIN`. Shared by the sockets and the pipes.
pub(crate) fn poll_read_fd<T: AsRawFd + AsFd>(
    fd: &AsyncFd<T>,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    loop {
        let mut guard = ready!(fd.poll_read_ready(cx))?;
        // SAFETY: `read(2)` below only writes into the unfilled part, never de-initialises.
        let unfilled = unsafe { buf.unfilled_mut() };
        let len = unfilled.len();
        let read = |s: &AsyncFd<T>| {
            // SAFETY: `unfilled` is valid for writes of `len` bytes; read(2) only writes.
            let n = unsafe { libc::read(s.as_raw_fd(), unfilled.as_mut_ptr().cast(), len) };
            cvt(n).map(isize::unsigned_abs)
        };
        match guard.try_io(read) {
            Ok(Ok(n)) => {
                // SAFETY: the kernel initialised the first `n` bytes of the unfilled part.
                unsafe { buf.assume_init(n) };
                buf.advance(n);
                if n > 0 && n < len {
                    guard.clear_ready();
                }
                return Poll::Ready(Ok(()));
            }
            Ok(Err(e)) => return Poll::Ready(Err(e)),
            Err(_would_block) => continue,
        }
    }
}

/// Turns `SO_INQ` off again for a socket that leaves this type (`setsockopt`; Linux, Android):
/// whoever gets it next reads as from any socket, and a `recvmsg` with a control buffer sized
/// exactly for what it expects does not find the count cut off (`MSG_CTRUNC`).
fn give_up_inq(_fd: BorrowedFd<'_>) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    super::inq::set(_fd, false);
}

/// [`inq::recv`](super::inq::recv) into the unfilled part of `buf` when tokio reports the
/// socket readable; the readiness is cleared when the read drained the socket
/// ([`Recv::drained`](super::inq::Recv::drained)).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn poll_read_inq(
    sock: &AsyncFd<UnixStream>,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    loop {
        let mut guard = ready!(sock.poll_read_ready(cx))?;
        // SAFETY: `recvmsg` below only writes into the unfilled part, never de-initialises.
        let unfilled = unsafe { buf.unfilled_mut() };
        let len = unfilled.len();
        match guard.try_io(|s| super::inq::recv(s.as_fd(), unfilled)) {
            Ok(Ok(got)) => {
                // SAFETY: the kernel initialised the first `n` bytes of the unfilled part.
                unsafe { buf.assume_init(got.n) };
                buf.advance(got.n);
                if got.drained(len) {
                    guard.clear_ready();
                }
                return Poll::Ready(Ok(()));
            }
            Ok(Err(e)) => return Poll::Ready(Err(e)),
            Err(_would_block) => continue,
        }
    }
}

/// `write` (a `len`-byte write call on the descriptor) when tokio reports `fd` writable. A
/// short write clears the readiness (the buffer is full). Shared by the sockets and the pipes.
pub(crate) fn poll_write_fd<T: AsRawFd + AsFd>(
    fd: &AsyncFd<T>,
    cx: &mut Context<'_>,
    len: usize,
    mut write: impl FnMut(BorrowedFd<'_>) -> io::Result<usize>,
) -> Poll<io::Result<usize>> {
    loop {
        let mut guard = ready!(fd.poll_write_ready(cx))?;
        match guard.try_io(|s| write(s.get_ref().as_fd())) {
            Ok(Ok(n)) => {
                if n > 0 && n < len {
                    guard.clear_ready();
                }
                return Poll::Ready(Ok(n));
            }
            Ok(Err(e)) => return Poll::Ready(Err(e)),
            Err(_would_block) => continue,
        }
    }
}
