//! [`LocalSocketListener`], [`Incoming`] and [`ListenerOptions`].

use super::{LocalSocketName, LocalSocketStream, ToLocalSocketName};
use crate::sys;
use std::io;
use std::iter::FusedIterator;

/// A local socket server, listening for connections.
///
/// ```
/// use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
/// use std::io::{BufRead, BufReader, Write};
///
/// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
/// #     format!("@localipc-doc-listener-{}", std::process::id())
/// # } else { format!("/tmp/localipc-doc-listener-{}.sock", std::process::id()) };
/// # /*
/// let name = "/tmp/example.sock"; // or "@example" on Linux, "example" on Windows
/// # */
/// let listener = LocalSocketListener::bind(name.as_str())?;
/// let client = std::thread::spawn(move || -> std::io::Result<String> {
///     let mut conn = BufReader::new(LocalSocketStream::connect(name.as_str())?);
///     conn.get_mut().write_all(b"ping\n")?;
///     let mut reply = String::new();
///     conn.read_line(&mut reply)?;
///     Ok(reply)
/// });
/// let mut conn = BufReader::new(listener.accept()?);
/// let mut line = String::new();
/// conn.read_line(&mut line)?;
/// assert_eq!(line, "ping\n");
/// conn.get_mut().write_all(b"pong\n")?;
/// assert_eq!(client.join().unwrap()?, "pong\n");
/// # std::io::Result::Ok(())
/// ```
///
/// On Unix, with a path name, the socket file is removed when the listener is dropped, and a
/// stale file left by a crashed server is replaced at bind; see [`ListenerOptions::reclaim`].
/// The socket is bound under a temporary name and moved into place once it listens, so its
/// own address (`getsockname`, shown by the `Debug` output of accepted streams, and a
/// client's `getpeername`) is that temporary path, not the name; use
/// [`local_name`](Self::local_name).
#[derive(Debug)]
pub struct LocalSocketListener {
    pub(crate) inner: sys::Listener,
}

impl LocalSocketListener {
    /// Creates a listener bound to `name`, with default [`ListenerOptions`].
    ///
    /// Unix: `socket`, `bind`, `listen`; for a path, the socket is bound in a private
    /// directory beside it and put at the path (`linkat`, or `renameat` over a stale file)
    /// only once it is listening with its final mode (see [`ListenerOptions::reclaim`]).
    /// Windows: `CreateNamedPipeW` with
    /// `FILE_FLAG_FIRST_PIPE_INSTANCE` and `PIPE_REJECT_REMOTE_CLIENTS`, and `CreateEventW`.
    ///
    /// Errors name the input: `InvalidInput` for a name the OS cannot take (too long),
    /// `Unsupported` for a kind of name the platform lacks, `AddrInUse` if a live server has
    /// it, `AlreadyExists` if a file that is not a socket is at the path.
    ///
    /// ```
    /// use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-bind-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-bind-{}.sock", std::process::id()) };
    /// let listener = LocalSocketListener::bind(name.as_str())?;
    /// // While it lives, nobody else can serve the name:
    /// let err = LocalSocketListener::bind(name.as_str()).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    ///
    /// let _client = LocalSocketStream::connect(name.as_str())?;
    /// let _conn = listener.accept()?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn bind<'a>(name: impl ToLocalSocketName<'a>) -> io::Result<Self> {
        Self::bind_with(name, &ListenerOptions::new())
    }

    /// Creates a listener bound to `name` with `options`: reclaim and mode (Unix), security
    /// descriptor (Windows). OS calls and errors as for [`bind`](Self::bind); see
    /// [`ListenerOptions`] for what each option does.
    ///
    /// Only this user may connect: a socket file with mode `0o600` on Unix, an owner-only
    /// security descriptor on Windows.
    ///
    /// ```
    /// use localipc::local_socket::{ListenerOptions, LocalSocketListener, LocalSocketStream};
    ///
    /// let mut opts = ListenerOptions::new();
    /// #[cfg(unix)]
    /// let name = {
    ///     opts.mode(0o600); // socket files obey file permissions
    ///     std::env::temp_dir().join(format!("localipc-doc-bind-with-{}.sock", std::process::id()))
    /// };
    /// #[cfg(windows)]
    /// let name = {
    ///     opts.security_descriptor("D:P(A;;GA;;;OW)"); // full access for the owner only
    ///     format!("@localipc-doc-bind-with-{}", std::process::id())
    /// };
    /// let listener = LocalSocketListener::bind_with(&*name, &opts)?; // a `&Path` or `&str`
    /// #[cfg(unix)]
    /// {
    ///     use std::os::unix::fs::PermissionsExt;
    ///     let mode = std::fs::metadata(&name)?.permissions().mode();
    ///     assert_eq!(mode & 0o777, 0o600);
    /// }
    /// let _client = LocalSocketStream::connect(&*name)?; // the same user may
    /// let _conn = listener.accept()?;
    /// drop(listener); // removes the socket file (reclaim, the default)
    /// # std::io::Result::Ok(())
    /// ```
    pub fn bind_with<'a>(
        name: impl ToLocalSocketName<'a>,
        options: &ListenerOptions,
    ) -> io::Result<Self> {
        let name = name.to_local_socket_name()?;
        Ok(Self {
            inner: sys::Listener::bind(&name, options)?,
        })
    }

    /// Waits for a client and returns its stream. The stream starts in blocking mode.
    ///
    /// In nonblocking mode, fails with [`io::ErrorKind::WouldBlock`] when nobody is waiting.
    /// Unix: `accept4(SOCK_CLOEXEC)`. Windows: `ConnectNamedPipe` (overlapped, left in flight
    /// by a nonblocking call that found nobody), then `CreateNamedPipeW` for the next
    /// instance before the connected one is handed out, so that clients can always connect;
    /// a client that connected and left before `accept` is skipped (its instance replaced).
    ///
    /// Unix: errors name the listener (except `WouldBlock`, passed on as the OS gave it).
    /// After [`AcceptStopper::stop`](super::AcceptStopper::stop) (see
    /// [`stopper`](Self::stopper)), blocked and later calls fail with the stop error
    /// ([`AcceptStopper::is_stop_error`](super::AcceptStopper::is_stop_error)).
    /// `ConnectionAborted` and `Interrupted` concern one client: accept again at once. Any
    /// other error, notably running out of descriptors (`EMFILE`/`ENFILE`) or of memory
    /// (`ENOBUFS`/`ENOMEM`), comes back at once on every call until something is freed, while
    /// the clients wait in the backlog: a server that keeps accepting should sleep (about
    /// 100 ms) before trying again, not loop, which would spin at full speed.
    pub fn accept(&self) -> io::Result<LocalSocketStream> {
        Ok(LocalSocketStream {
            inner: self.inner.accept()?,
        })
    }

    /// An iterator of [`accept`](Self::accept) results (the same as
    /// `Incoming::from(&listener)`), ending only when the listener is stopped
    /// ([`stopper`](Self::stopper)). An error does not end it: back off as
    /// [`accept`](Self::accept) describes before taking the next item.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming::from(self)
    }

    /// Moves `accept` into or out of nonblocking mode. Streams already accepted are not
    /// affected. Unix: `fcntl(F_SETFL, O_NONBLOCK)`. Windows: no OS call.
    ///
    /// A loop that does other work between accepts:
    ///
    /// ```
    /// use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
    /// use std::io::ErrorKind;
    /// use std::time::{Duration, Instant};
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-listener-nb-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-listener-nb-{}.sock", std::process::id()) };
    /// let listener = LocalSocketListener::bind(name.as_str())?;
    /// listener.set_nonblocking(true)?;
    /// assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock); // nobody yet
    ///
    /// let _client = LocalSocketStream::connect(name.as_str())?;
    /// let deadline = Instant::now() + Duration::from_secs(10);
    /// let _conn = loop {
    ///     match listener.accept() {
    ///         Ok(conn) => break conn, // in blocking mode, whatever the listener's mode
    ///         Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
    ///             std::thread::sleep(Duration::from_millis(10)); // ... other work ...
    ///         }
    ///         Err(e) => return Err(e),
    ///     }
    /// };
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }

    /// The name this listener was bound to. For one made from a descriptor (Unix,
    /// `From<OwnedFd>`/`FromRawFd`), the name `getsockname` reports: the abstract name, or
    /// the path of a socket bound by another program; an empty path if it has none, or if
    /// this crate bound it (it binds at a temporary path and moves the file into place, so
    /// the descriptor does not know the name it was published under).
    pub fn local_name(&self) -> LocalSocketName<'_> {
        self.inner.name().borrow()
    }
}

impl<'a> IntoIterator for &'a LocalSocketListener {
    type Item = io::Result<LocalSocketStream>;
    type IntoIter = Incoming<'a>;
    fn into_iter(self) -> Incoming<'a> {
        self.incoming()
    }
}

/// An iterator over the connections coming in to a [`LocalSocketListener`].
///
/// Each item is the result of one [`accept`](LocalSocketListener::accept); it ends (`None`)
/// only once the listener is stopped with an [`AcceptStopper`](super::AcceptStopper).
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a LocalSocketListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<LocalSocketStream>;
    /// The next [`accept`](LocalSocketListener::accept) result; `None` once the listener is stopped
    /// ([`AcceptStopper`](super::AcceptStopper)), and from then on.
    fn next(&mut self) -> Option<Self::Item> {
        match self.listener.accept() {
            Err(e) if super::AcceptStopper::is_stop_error(&e) => None,
            r => Some(r),
        }
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, None)
    }
}

impl FusedIterator for Incoming<'_> {}

impl<'a> From<&'a LocalSocketListener> for Incoming<'a> {
    /// The same as [`LocalSocketListener::incoming`] (the conversion `interprocess` 1.x has).
    fn from(listener: &'a LocalSocketListener) -> Self {
        Self { listener }
    }
}

/// How a listener binds its name: the options of [`LocalSocketListener::bind_with`],
/// [`MessageListener::bind_with`] and (feature `tokio`)
/// `local_socket::tokio::LocalSocketListener::bind_with`.
///
/// One convention for every type that binds or connects: `X::bind(name)` (the `interprocess`
/// 1.x name) or `X::bind_with(name, &options)`, and likewise `X::connect(name)` /
/// `X::connect_with(name, &`[`ConnectOptions`]`)`; `bind(name)` is
/// `bind_with(name, &ListenerOptions::new())`. The constructor is on the type it makes
/// because one options value serves three listener types (sync, tokio, message): a builder
/// method such as tokio's `ServerOptions::create` could return only one of them, so the
/// other two would need a second way in. The options hold only what decides how the name is
/// bound, and every option applies to every listener type that takes them (table below).
/// What can change later on a live object is a setter on it: [`set_nonblocking`](LocalSocketListener::set_nonblocking) on the sync and message
/// listeners (the tokio listener has no blocking mode), and
/// [`set_max_message_size`](super::message::MessageListener::set_max_message_size) on message
/// listeners.
///
/// | option | Unix | Windows |
/// |---|---|---|
/// | [`reclaim`](Self::reclaim) | socket files: stale file replaced, own file removed on drop | no effect: a pipe name vanishes with its last handle |
/// | `mode` | socket files: the file's permission bits; `InvalidInput` with a namespaced name | — (not compiled) |
/// | `security_descriptor` | — (not compiled) | every pipe instance's security descriptor |
/// | [`access`](Self::access) | the socket file's mode (unless `mode` is set) **and** a check of every accepted peer | every pipe instance's DACL (not with `security_descriptor`: `InvalidInput`) |
/// | [`on_refused`](Self::on_refused) | called for each peer `access` refused | — (Windows refuses in the OS; never called) |
///
/// ```
/// use localipc::local_socket::{ListenerOptions, LocalSocketListener};
///
/// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
/// #     format!("@localipc-doc-opts-{}", std::process::id())
/// # } else { format!("/tmp/localipc-doc-opts-{}.sock", std::process::id()) };
/// let mut opts = ListenerOptions::new();
/// opts.reclaim(false);
/// let listener = LocalSocketListener::bind_with(name.as_str(), &opts)?;
/// listener.set_nonblocking(true)?; // a mode of the listener, not of the name
/// let err = listener.accept().unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
/// # std::io::Result::Ok(())
/// ```
///
/// [`MessageListener::bind_with`]: super::message::MessageListener::bind_with
/// [`ConnectOptions`]: super::ConnectOptions
#[derive(Clone, Debug)]
pub struct ListenerOptions {
    pub(crate) reclaim: bool,
    /// Who may connect and who hears of refusals: see `access.rs`.
    pub(crate) access: super::access::Access,
    #[cfg(unix)]
    pub(crate) mode: Option<u32>,
    #[cfg(windows)]
    pub(crate) security_descriptor: Option<String>,
}

impl Default for ListenerOptions {
    fn default() -> Self {
        Self {
            reclaim: true,
            access: super::access::Access::NONE,
            #[cfg(unix)]
            mode: None,
            #[cfg(windows)]
            security_descriptor: None,
        }
    }
}

impl ListenerOptions {
    /// Default options: reclaim on, the socket file's mode from the umask (Unix), the
    /// default security descriptor (Windows), no [`access`](Self::access) policy (anyone
    /// the file mode or the default DACL lets in, and on Linux's abstract namespace anyone
    /// at all, is accepted).
    pub fn new() -> Self {
        Self::default()
    }

    /// Name reclaim for path names on Unix (default: on).
    ///
    /// On: dropping the listener removes the socket file it created (`unlinkat`, only if the
    /// path still holds that same file, done while the socket is still open so that no later
    /// file can look the same), and `bind` over an existing socket file replaces it **only**
    /// if it is a socket that nobody answers on (a nonblocking `connect` is refused): a stale
    /// file left by a crashed server. It is replaced atomically (`renameat`), so the path
    /// never goes missing. A live server's socket (one that accepts, or whose backlog is full)
    /// gives `AddrInUse` at once, as does a socket whose state cannot be told; a file that is
    /// not a socket gives `AlreadyExists`; none of these is ever removed.
    ///
    /// Binders (and removing listeners) in one directory take turns under an exclusive
    /// `flock` on the directory, and a socket is only put at its path once it is listening:
    /// of two servers binding one path at once, exactly one succeeds and the other gets
    /// `AddrInUse`. If the directory cannot be locked (not readable, no locks on the file
    /// system, or the lock held elsewhere for over a second) an existing file is never
    /// replaced: `bind` gives `AddrInUse`. The lock is advisory: software that does not take
    /// it is not serialised with this crate.
    ///
    /// On macOS and the BSDs a full backlog makes `connect` refuse, so a live server whose
    /// backlog stays full while it is probed (four tries over ~20 ms) is taken for stale.
    ///
    /// Off: `bind` over any existing file fails with `AddrInUse` and the socket file is left
    /// in place on drop. Namespaced names and Windows pipes vanish with their last handle
    /// and need no reclaim.
    pub fn reclaim(&mut self, reclaim: bool) -> &mut Self {
        self.reclaim = reclaim;
        self
    }

    /// Permission bits for the socket file (Unix, path names only), e.g. `0o600` so that only
    /// the owner may connect.
    ///
    /// The socket is bound in a private `0700` directory beside the path, given this mode
    /// there (`fchmodat` inside that directory, so nothing can have been swapped in and no
    /// symbolic link is followed), and put at the path only once it is listening: no client
    /// ever sees the file with the mode the umask gave it, and the mode is in place when
    /// `bind` returns. The path itself is never `chmod`ed. A mode given with a namespaced
    /// name is an `InvalidInput` error (the abstract namespace has no permissions), and so is
    /// one over 16 bits on Apple systems, whose `mode_t` has only 16.
    ///
    /// The private directory is named `.lipc-XXXXXX` (random) and removed before `bind`
    /// returns. The socket's own address (`getsockname`, or a client's `getpeername`) is the
    /// path it was bound at in there (on Linux `/proc/self/fd/<n>/s`), not the public path.
    ///
    /// With an [`access`](Self::access) policy too, this mode wins for the permission bits
    /// (the policy still checks every peer at accept).
    ///
    /// ```
    /// use localipc::local_socket::{ListenerOptions, LocalSocketListener};
    /// use std::os::unix::fs::PermissionsExt;
    ///
    /// let path = std::env::temp_dir().join(format!("localipc-doc-mode-{}.sock", std::process::id()));
    /// let listener = LocalSocketListener::bind_with(
    ///     path.as_path(),
    ///     ListenerOptions::new().mode(0o600), // only this user may connect
    /// )?;
    /// assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
    /// drop(listener);
    ///
    /// // The abstract namespace (Linux) has no permissions: a mode there is refused.
    /// # #[cfg(any(target_os = "linux", target_os = "android"))] {
    /// let err = LocalSocketListener::bind_with("@my-daemon", ListenerOptions::new().mode(0o600))
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// # }
    /// # std::io::Result::Ok(())
    /// ```
    #[cfg(unix)]
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = Some(mode);
        self
    }

    /// A security descriptor for the pipe (Windows), in SDDL, e.g. `"D:P(A;;GA;;;OW)"` so
    /// that only the pipe's owner (normally the user who created it) may connect. Default:
    /// the default security descriptor of the process's token (full control for the creator, LocalSystem and administrators;
    /// read access for Everyone and anonymous).
    ///
    /// Converted at `bind` with `ConvertStringSecurityDescriptorToSecurityDescriptorW` and
    /// given to every `CreateNamedPipeW` of the listener; a string Windows rejects gives
    /// `InvalidInput` naming it.
    ///
    /// ```
    /// use localipc::local_socket::{ListenerOptions, LocalSocketListener, LocalSocketStream};
    ///
    /// let name = format!("@localipc-doc-sddl-{}", std::process::id());
    /// let listener = LocalSocketListener::bind_with(
    ///     name.as_str(),
    ///     ListenerOptions::new().security_descriptor("D:P(A;;GA;;;OW)"), // only the owner
    /// )?;
    /// let _client = LocalSocketStream::connect(name.as_str())?; // we are the owner
    /// let _conn = listener.accept()?;
    ///
    /// let err = LocalSocketListener::bind_with(
    ///     "@another-name",
    ///     ListenerOptions::new().security_descriptor("not SDDL"),
    /// )
    /// .unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// # std::io::Result::Ok(())
    /// ```
    #[cfg(windows)]
    #[cfg_attr(docsrs, doc(cfg(windows)))]
    pub fn security_descriptor(&mut self, sddl: &str) -> &mut Self {
        self.security_descriptor = Some(sddl.to_owned());
        self
    }
}
