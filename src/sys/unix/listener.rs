//! Listening Unix domain sockets: bind (socket files: [`sockfile`](super::sockfile)), accept.

use super::addr::SockAddr;
use super::sockfile::{self, SocketFile};
use super::stop::{StopState, Stopper};
use super::{cvt, SocketType, Stream};
use crate::local_socket::access::Access;
use crate::local_socket::{ListenerOptions, LocalSocketName};
use crate::sys::err_with_name;
use std::io;
use std::ops::Deref;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::sync::Arc;

/// A listening socket and, for a path name, the socket file it published.
#[derive(Debug)]
pub(crate) struct Listener {
    /// Removed on drop when `reclaim` is on. Declared before `sock`, so it is dropped (the
    /// file unlinked) while the socket is still open: see [`SocketFile`]'s drop.
    file: Option<SocketFile>,
    sock: UnixListener,
    name: LocalSocketName<'static>,
    /// Who may connect: peers it refuses are closed in `accept`.
    access: Access,
    /// `AcceptStopper`'s state and the caller's blocking mode: see [`super::stop`].
    stop: Arc<StopState>,
}

impl Listener {
    /// `socket`, then for a namespaced name `bind` and `listen(SOMAXCONN)`; for a path,
    /// `bind` in a private directory beside it, `fchmodat` (`mode` set), `listen`, and only
    /// then `linkat` (or, reclaiming a stale file, `renameat`) to the path, under a `flock` on
    /// its directory: see [`sockfile`](super::sockfile). The path never names anything but
    /// a listening socket with its final mode.
    pub(crate) fn bind(name: &LocalSocketName<'_>, opts: &ListenerOptions) -> io::Result<Self> {
        Self::bind_with_type(name, opts, SocketType::Stream)
    }

    /// [`bind`](Self::bind) with a socket of type `ty` (`SeqPacket` for the message
    /// sockets): same name, mode and reclaim rules. `accept` then hands out sockets of that
    /// type.
    pub(crate) fn bind_with_type(
        name: &LocalSocketName<'_>,
        opts: &ListenerOptions,
        ty: SocketType,
    ) -> io::Result<Self> {
        if opts.mode.is_some() && name.is_namespaced() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "local socket \"{name}\": a file mode cannot be applied to a namespaced name"
                ),
            ));
        }
        let addr = SockAddr::new(name)?;
        let fd = super::new_socket(ty)?;
        let listen = || {
            // SAFETY: the descriptor is an open, bound socket.
            cvt(unsafe { libc::listen(fd.as_raw_fd(), libc::SOMAXCONN) })
                .map(drop)
                .map_err(|e| err_with_name(e, "listening on", name))
        };
        let file = if name.is_path() {
            let file = sockfile::bind_path(&fd, name, opts, ty, listen)?;
            if opts.reclaim {
                Some(file)
            } else {
                file.keep();
                None
            }
        } else {
            bind_addr(&fd, &addr).map_err(|e| bind_error(e, name))?;
            listen()?;
            None
        };
        Ok(Self {
            file,
            sock: UnixListener::from(fd),
            name: name.clone().into_owned(),
            access: opts.access.clone(),
            stop: StopState::new(),
        })
    }

    /// `accept4(SOCK_CLOEXEC)` (plain `accept` + `fcntl` where unavailable), via std; a
    /// blocking accept waits in `poll` with the stopper's wake-up pair (see [`super::stop`]).
    /// With an access policy, the peer's credentials (`creds::peer_creds`) are checked and a
    /// refused peer closed before accepting again.
    pub(crate) fn accept(&self) -> io::Result<Stream> {
        let sock = loop {
            let (sock, _) = self
                .stop
                .accept(&self.sock)
                .map_err(|e| accept_error(e, &self.name))?;
            if self.access.admit(|| super::creds::peer_creds(sock.as_fd())) {
                break sock;
            }
        };
        // BSDs hand out accepted sockets with the listener's O_NONBLOCK; Linux never does.
        // Accepted streams always start blocking.
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        sock.set_nonblocking(false)?;
        Ok(Stream::from_std(sock))
    }

    pub(crate) fn name(&self) -> &LocalSocketName<'static> {
        &self.name
    }

    /// A handle that stops this listener's accepts. No OS call.
    pub(crate) fn stopper(&self) -> Stopper {
        self.stop.stopper()
    }

    /// `fcntl(F_SETFL, O_NONBLOCK)`, unless a stopper's wake-up pair keeps the socket
    /// nonblocking already (the mode is then emulated): see [`super::stop`].
    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.stop.set_nonblocking(&self.sock, nonblocking)
    }

    /// The parts, for the async listener: the socket, its name, and the file to remove when
    /// the async listener drops.
    #[cfg_attr(not(any(feature = "tokio", feature = "async-io")), allow(dead_code))]
    pub(crate) fn into_parts(self) -> Parts {
        (self.sock, self.name, self.file, self.access)
    }

    /// Gives up the descriptor; the socket file then stays in place.
    /// Blocking mode is restored (`fcntl`) if the stopper's pair had changed it.
    pub(crate) fn into_fd(self) -> OwnedFd {
        self.stop.restore_mode(&self.sock);
        let Self { sock, file, .. } = self;
        if let Some(file) = file {
            file.keep();
        }
        OwnedFd::from(sock)
    }

    /// [`from_fd`](Self::from_fd) after checking that `fd` is a listening `AF_UNIX`
    /// `SOCK_STREAM` socket (`InvalidInput` naming what it is otherwise): see
    /// [`check_listening`](super::activation::check_listening).
    pub(crate) fn from_fd_checked(fd: OwnedFd) -> io::Result<Self> {
        super::activation::check_listening(
            fd.as_fd(),
            SocketType::Stream,
            "a local socket listener",
        )?;
        Ok(Self::from_fd(fd))
    }

    /// Takes over a listening socket made elsewhere; its name is what `getsockname` says.
    /// It has no socket file of its own: nothing is removed on drop.
    pub(crate) fn from_fd(fd: OwnedFd) -> Self {
        let sock = UnixListener::from(fd);
        let name = super::name::bound_name(&sock);
        Self {
            sock,
            name,
            file: None,
            access: Access::NONE,
            stop: StopState::new(),
        }
    }
}

/// The std socket (`set_nonblocking` is this type's own, see above).
impl Deref for Listener {
    type Target = UnixListener;
    #[inline]
    fn deref(&self) -> &UnixListener {
        &self.sock
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

/// What [`Listener::into_parts`] gives the async listener.
pub(crate) type Parts = (
    UnixListener,
    LocalSocketName<'static>,
    Option<SocketFile>,
    Access,
);

/// `bind(2)`.
fn bind_addr(fd: &OwnedFd, addr: &SockAddr) -> io::Result<()> {
    // SAFETY: `addr` points to a valid sockaddr_un of `addr.len` bytes.
    cvt(unsafe { libc::bind(fd.as_raw_fd(), addr.as_ptr(), addr.len) }).map(drop)
}

fn bind_error(e: io::Error, name: &LocalSocketName<'_>) -> io::Error {
    if e.raw_os_error() == Some(libc::EADDRINUSE) {
        let why = if name.is_namespaced() {
            "the name is in use by another server"
        } else {
            "the path exists and reclaim is off"
        };
        return io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("cannot bind local socket \"{name}\": {why}"),
        );
    }
    err_with_name(e, "binding", name)
}

/// An `accept` failure, naming the listener; `WouldBlock` (nobody waiting, in nonblocking
/// mode) is passed on as it is.
pub(crate) fn accept_error(e: io::Error, name: &LocalSocketName<'_>) -> io::Error {
    if e.kind() == io::ErrorKind::WouldBlock {
        return e;
    }
    if crate::local_socket::AcceptStopper::is_stop_error(&e) {
        return crate::local_socket::stopper::stopped_error(name);
    }
    err_with_name(e, "accepting a connection on", name)
}
