//! Listening Unix domain sockets: bind with stale-file reclaim, mode, accept.

use super::addr::SockAddr;
use super::{cvt, Stream};
use crate::local_socket::{ListenerOptions, LocalSocketName};
use crate::sys::err_with_name;
use std::fs;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

/// A listening socket and, for a path name, the socket file it created.
#[derive(Debug)]
pub(crate) struct Listener {
    sock: UnixListener,
    name: LocalSocketName<'static>,
    /// Removed on drop when `reclaim` is on (and on any failure inside `bind`).
    file: Option<SocketFile>,
}

impl Listener {
    /// `socket`, `bind`, then (`mode` set) `chmod`, then `listen(SOMAXCONN)`.
    ///
    /// The mode is applied before `listen`, so no client can connect while the file still has
    /// the umask-derived mode: `connect` to a socket that is not listening is refused.
    pub(crate) fn bind(name: &LocalSocketName<'_>, opts: &ListenerOptions) -> io::Result<Self> {
        Self::bind_of(name, opts, libc::SOCK_STREAM)
    }

    /// [`bind`](Self::bind) with a socket of type `ty` (`SOCK_STREAM` or `SOCK_SEQPACKET`,
    /// for the message sockets): same name, mode and reclaim rules. `accept` then hands out
    /// sockets of that type.
    pub(crate) fn bind_of(
        name: &LocalSocketName<'_>,
        opts: &ListenerOptions,
        ty: libc::c_int,
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
        let fd = super::new_socket_of(ty)?;
        if let Err(e) = bind_addr(&fd, &addr) {
            if e.raw_os_error() != Some(libc::EADDRINUSE) || name.is_namespaced() || !opts.reclaim {
                return Err(bind_error(e, name));
            }
            remove_if_stale(name, ty)?;
            bind_addr(&fd, &addr).map_err(|e| bind_error(e, name))?;
        }
        let file = match name.is_path() {
            true => Some(SocketFile::identify(name.inner().into())?),
            false => None,
        };
        let mut listener = Self {
            sock: UnixListener::from(fd),
            name: name.clone().into_owned(),
            file,
        };
        if let (Some(mode), Some(file)) = (opts.mode, &listener.file) {
            fs::set_permissions(&file.path, fs::Permissions::from_mode(mode))
                .map_err(|e| err_with_name(e, "setting the mode of", name))?;
        }
        // SAFETY: the descriptor is an open, bound socket.
        cvt(unsafe { libc::listen(listener.sock.as_raw_fd(), libc::SOMAXCONN) })
            .map_err(|e| err_with_name(e, "listening on", name))?;
        if opts.nonblocking {
            listener.set_nonblocking(true)?;
        }
        if !opts.reclaim {
            if let Some(file) = listener.file.take() {
                file.keep();
            }
        }
        Ok(listener)
    }

    /// `accept4(SOCK_CLOEXEC)` (plain `accept` + `fcntl` where unavailable), via std.
    pub(crate) fn accept(&self) -> io::Result<Stream> {
        let (sock, _) = self.sock.accept()?;
        // BSDs hand out accepted sockets with the listener's O_NONBLOCK; Linux never does.
        // Accepted streams always start blocking.
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        sock.set_nonblocking(false)?;
        Ok(Stream::from_std(sock))
    }

    /// `fcntl(F_SETFL, O_NONBLOCK)` via std.
    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.sock.set_nonblocking(nonblocking)
    }

    pub(crate) fn name(&self) -> &LocalSocketName<'static> {
        &self.name
    }

    /// The parts, for the async listener: the socket, its name, and the file to remove when
    /// the async listener drops.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn into_parts(self) -> (UnixListener, LocalSocketName<'static>, Option<SocketFile>) {
        (self.sock, self.name, self.file)
    }

    /// Gives up the descriptor; the socket file then stays in place.
    pub(crate) fn into_fd(self) -> OwnedFd {
        let Self { sock, file, .. } = self;
        if let Some(file) = file {
            file.keep();
        }
        OwnedFd::from(sock)
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
        }
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

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

/// Removes a socket file at the path only if it is a socket and nothing answers on it.
///
/// `lstat`; if a socket, `connect` (with a socket of the type being bound, `ty`): refused
/// means stale (then `unlink` if the file is still the same inode). A live server gives
/// `AddrInUse` (one of the other socket type too: its `EPROTOTYPE` means "cannot tell");
/// anything that is not a socket gives `AlreadyExists` and is never touched.
fn remove_if_stale(name: &LocalSocketName<'_>, ty: libc::c_int) -> io::Result<()> {
    let path = Path::new(name.inner());
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()), // gone meanwhile
        Err(e) => return Err(err_with_name(e, "checking the existing file of", name)),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "cannot bind local socket \"{name}\": {} is there, and only stale sockets are replaced",
                describe(&meta.file_type())
            ),
        ));
    }
    let probe = crate::local_socket::ConnectOptions::new();
    match super::Stream::connect_of(name, &probe, ty) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("cannot bind local socket \"{name}\": a live server is listening there"),
        )),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            match fs::symlink_metadata(path) {
                Ok(now) if now.dev() == meta.dev() && now.ino() == meta.ino() => {
                    fs::remove_file(path)
                        .map_err(|e| err_with_name(e, "removing the stale socket file of", name))
                }
                _ => Ok(()), // replaced or removed by someone else meanwhile: let bind decide
            }
        }
        Err(e) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("cannot bind local socket \"{name}\": a socket file is there and whether it is live cannot be told ({e})"),
        )),
    }
}

fn describe(ft: &fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_file() {
        "a regular file"
    } else {
        "a non-socket file"
    }
}

/// The socket file a listener created, identified by device and inode so that dropping the
/// listener never removes a file some later server put at the same path.
#[derive(Debug)]
pub(crate) struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl SocketFile {
    fn identify(path: PathBuf) -> io::Result<Self> {
        let meta = fs::symlink_metadata(&path)?;
        Ok(Self {
            path,
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// Leaves the file in place.
    fn keep(mut self) {
        self.path = PathBuf::new();
    }
}

impl Drop for SocketFile {
    /// `lstat` then `unlink` if the path still holds our inode.
    fn drop(&mut self) {
        if self.path.as_os_str().is_empty() {
            return; // kept
        }
        if let Ok(meta) = fs::symlink_metadata(&self.path) {
            if meta.dev() == self.dev && meta.ino() == self.ino {
                let _ = fs::remove_file(&self.path);
            }
        }
    }
}
