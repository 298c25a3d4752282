//! Listeners handed over by a service manager: checked construction from a descriptor,
//! systemd's socket activation ([`SystemdSockets`]) and launchd's
//! ([`LocalSocketListener::from_launchd`], Apple).

use super::message::MessageListener;
use super::LocalSocketListener;
use crate::sys;
use std::io;
use std::os::fd::OwnedFd;

impl LocalSocketListener {
    /// Takes over an inherited descriptor after checking that it is a listening `AF_UNIX`
    /// `SOCK_STREAM` socket: `InvalidInput` naming what it is otherwise (not a socket and
    /// what kind of file, another address family, another socket type, or not listening),
    /// and the descriptor is closed. `fstat`, `getsockname`, `getsockopt(SO_TYPE)`,
    /// `getsockopt(SO_ACCEPTCONN)`; then as `From<OwnedFd>`: the name is read with
    /// `getsockname`, reclaim does not apply.
    ///
    /// The checked form of `From<OwnedFd>` (and `FromRawFd`), which stay unchecked and
    /// infallible because `interprocess` 1.x code uses `FromRawFd`, which cannot fail. The
    /// tokio listener's and the message listener's `TryFrom<OwnedFd>` make the same checks.
    ///
    /// ```
    /// use localipc::local_socket::LocalSocketListener;
    /// use std::os::fd::OwnedFd;
    ///
    /// let file = std::fs::File::open("/dev/null")?;
    /// let err = LocalSocketListener::try_from_fd(OwnedFd::from(file)).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// assert!(err.to_string().contains("not a socket but a character device"), "{err}");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn try_from_fd(fd: OwnedFd) -> io::Result<Self> {
        Ok(Self {
            inner: sys::Listener::from_fd_checked(fd)?,
        })
    }

    /// The listening sockets of the launchd job's `Sockets` entry `name` (macOS, iOS):
    /// `launch_activate_socket`, each checked as by [`try_from_fd`](Self::try_from_fd)
    /// (the first one that fails gives the error; the rest are closed). Errors name the
    /// entry: `NotFound` (`ENOENT`) when the plist has no such entry, and `ESRCH` when the
    /// process was not started by launchd.
    #[cfg(target_vendor = "apple")]
    #[cfg_attr(docsrs, doc(cfg(target_vendor = "apple")))]
    pub fn from_launchd(name: &str) -> io::Result<Vec<Self>> {
        sys::activation::launchd_fds(name)?
            .into_iter()
            .map(Self::try_from_fd)
            .collect()
    }
}

/// The sockets systemd passed to this process (socket activation: `LISTEN_FDS`,
/// `LISTEN_PID`, `LISTEN_FDNAMES`; the `FileDescriptorName=` of the socket units), taken by
/// name.
///
/// [`take`](Self::take) reads and **removes** the three variables (so that child processes
/// do not believe the sockets are theirs), and sets close-on-exec on the descriptors. Call
/// it early, before other threads read the environment (removing a variable is not
/// thread-safe on every libc), and once: the descriptors are taken only by the first call.
/// Descriptors not taken out by name are closed when this value is dropped.
///
/// ```no_run
/// use localipc::local_socket::SystemdSockets;
///
/// // A service with `ListenStream=/run/mydaemon.sock` and `FileDescriptorName=control`:
/// let mut sockets = SystemdSockets::take()?;
/// let listener = sockets.listener("control")?;
/// for conn in listener.incoming() {
///     let _conn = conn?; // ... serve it
/// }
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct SystemdSockets {
    fds: Vec<(String, OwnedFd)>,
}

impl SystemdSockets {
    /// Takes the descriptors systemd passed, if `LISTEN_PID` is this process (`getpid`):
    /// 3, 4, … (`LISTEN_FDS` of them) named by `LISTEN_FDNAMES` (`"unknown"` each when
    /// unset, as systemd's default), setting close-on-exec on each
    /// (`fcntl(F_SETFD, FD_CLOEXEC)`). Removes the variables in every case. Empty when they
    /// are absent or name another process, and on any call after the first.
    ///
    /// Errors (`InvalidData`, variables removed all the same): a variable that is not a
    /// number, a count of names other than `LISTEN_FDS`, a descriptor that is not open.
    pub fn take() -> io::Result<Self> {
        Ok(Self {
            fds: sys::activation::take_systemd_fds()?,
        })
    }

    /// The names of the descriptors not taken out yet, in order (a name may repeat: a unit
    /// with several `ListenStream=` lines gives each the same name).
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.fds.iter().map(|(n, _)| n.as_str())
    }

    /// How many descriptors are left.
    pub fn len(&self) -> usize {
        self.fds.len()
    }

    /// Whether none is left (also when the process was not socket-activated).
    pub fn is_empty(&self) -> bool {
        self.fds.is_empty()
    }

    /// Takes out the first descriptor named `name`, unchecked. No OS call.
    pub fn take_fd(&mut self, name: &str) -> Option<OwnedFd> {
        let at = self.fds.iter().position(|(n, _)| n == name)?;
        Some(self.fds.remove(at).1)
    }

    /// Takes out the first descriptor named `name` as a stream listener, checked as by
    /// [`LocalSocketListener::try_from_fd`] (`InvalidInput` naming what it is otherwise;
    /// the descriptor is then closed). `NotFound`, listing the names there are, if none is
    /// named so.
    pub fn listener(&mut self, name: &str) -> io::Result<LocalSocketListener> {
        LocalSocketListener::try_from_fd(self.take_named(name)?)
    }

    /// Takes out the first descriptor named `name` as a message listener (systemd:
    /// `ListenSequentialPacket=` on Linux), checked as its `TryFrom<OwnedFd>`. `NotFound` as
    /// for [`listener`](Self::listener).
    pub fn message_listener(&mut self, name: &str) -> io::Result<MessageListener> {
        MessageListener::try_from(self.take_named(name)?)
    }

    /// Gives up every descriptor left, with its name.
    pub fn into_fds(self) -> Vec<(String, OwnedFd)> {
        self.fds
    }

    fn take_named(&mut self, name: &str) -> io::Result<OwnedFd> {
        let names = self.names().collect::<Vec<_>>().join(", ");
        self.take_fd(name).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "systemd passed no socket named \"{name}\" (names left: {})",
                    if names.is_empty() { "none" } else { &names }
                ),
            )
        })
    }
}
