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
#[derive(Debug)]
pub struct LocalSocketListener {
    pub(crate) inner: sys::Listener,
}

impl LocalSocketListener {
    /// Creates a listener bound to `name`, with default [`ListenerOptions`].
    ///
    /// Unix: `socket`, `bind`, `listen`. Windows: `CreateNamedPipeW` with
    /// `FILE_FLAG_FIRST_PIPE_INSTANCE` and `PIPE_REJECT_REMOTE_CLIENTS`, and `CreateEventW`.
    ///
    /// Errors name the input: `InvalidInput` for a name the OS cannot take (too long),
    /// `Unsupported` for a kind of name the platform lacks, `AddrInUse` if a live server has
    /// it, `AlreadyExists` if a file that is not a socket is at the path.
    pub fn bind<'a>(name: impl ToLocalSocketName<'a>) -> io::Result<Self> {
        ListenerOptions::new().bind(name)
    }

    /// Waits for a client and returns its stream. The stream starts in blocking mode.
    ///
    /// In nonblocking mode, fails with [`io::ErrorKind::WouldBlock`] when nobody is waiting.
    /// Unix: `accept4(SOCK_CLOEXEC)`. Windows: `ConnectNamedPipe` (overlapped, left in flight
    /// by a nonblocking call that found nobody), then `CreateNamedPipeW` for the next
    /// instance before the connected one is handed out, so that clients can always connect;
    /// a client that connected and left before `accept` is skipped (its instance replaced).
    pub fn accept(&self) -> io::Result<LocalSocketStream> {
        Ok(LocalSocketStream {
            inner: self.inner.accept()?,
        })
    }

    /// An endless iterator of [`accept`](Self::accept) results.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// Moves `accept` into or out of nonblocking mode. Streams already accepted are not
    /// affected. Unix: `fcntl(F_SETFL, O_NONBLOCK)`. Windows: no OS call.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }

    /// The name this listener was bound to.
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

/// An endless iterator over the connections coming in to a [`LocalSocketListener`].
///
/// Each item is the result of one [`accept`](LocalSocketListener::accept); it never returns
/// `None`.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a LocalSocketListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<LocalSocketStream>;
    fn next(&mut self) -> Option<Self::Item> {
        Some(self.listener.accept())
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

impl FusedIterator for Incoming<'_> {}

/// Options for creating a [`LocalSocketListener`], in the manner of tokio's `ServerOptions`.
///
/// ```
/// use localipc::local_socket::ListenerOptions;
///
/// # let path = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
/// #     format!("@localipc-doc-opts-{}", std::process::id())
/// # } else { format!("/tmp/localipc-doc-opts-{}.sock", std::process::id()) };
/// let mut opts = ListenerOptions::new();
/// opts.nonblocking(true);
/// let listener = opts.bind(path.as_str())?;
/// let err = listener.accept().unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
/// # std::io::Result::Ok(())
/// ```
#[derive(Clone, Debug)]
pub struct ListenerOptions {
    pub(crate) nonblocking: bool,
    pub(crate) reclaim: bool,
    pub(crate) max_message_size: usize,
    #[cfg(unix)]
    pub(crate) mode: Option<u32>,
    #[cfg(windows)]
    pub(crate) security_descriptor: Option<String>,
}

impl Default for ListenerOptions {
    fn default() -> Self {
        Self {
            nonblocking: false,
            reclaim: true,
            max_message_size: super::message::DEFAULT_MAX_MESSAGE_SIZE,
            #[cfg(unix)]
            mode: None,
            #[cfg(windows)]
            security_descriptor: None,
        }
    }
}

impl ListenerOptions {
    /// Default options: blocking accept, reclaim on, mode from the umask, messages up to
    /// 16 MiB (message listeners).
    pub fn new() -> Self {
        Self::default()
    }

    /// Start the listener in nonblocking mode (default: off).
    pub fn nonblocking(&mut self, nonblocking: bool) -> &mut Self {
        self.nonblocking = nonblocking;
        self
    }

    /// Name reclaim for path names on Unix (default: on).
    ///
    /// On: dropping the listener removes the socket file it created (`unlink`, only if the
    /// path still holds that same file), and `bind` over an existing socket file replaces it
    /// **only** if it is a socket that nobody answers on (`connect` is refused): a stale
    /// file left by a crashed server. A live server's socket gives `AddrInUse`, and a file
    /// that is not a socket gives `AlreadyExists`; neither is ever removed.
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
    /// Applied with `chmod` after `bind` and before `listen`: no client can connect while the
    /// file still has the mode the umask gave it, and the mode is in place when `bind`
    /// returns. A mode given with a namespaced name is an `InvalidInput` error (the abstract
    /// namespace has no permissions).
    ///
    /// ```no_run
    /// use localipc::local_socket::ListenerOptions;
    ///
    /// let listener = ListenerOptions::new()
    ///     .mode(0o600) // only this user may connect
    ///     .bind("/run/user/1000/my-daemon.sock")?;
    /// # std::io::Result::Ok(())
    /// ```
    #[cfg(unix)]
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = Some(mode);
        self
    }

    /// A security descriptor for the pipe (Windows), in SDDL, e.g. `"D:P(A;;GA;;;OW)"` so
    /// that only the pipe's owner (normally the user who created it) may connect. Default: the default security descriptor of the
    /// process's token (full control for the creator, LocalSystem and administrators;
    /// read access for Everyone and anonymous).
    ///
    /// Converted at `bind` with `ConvertStringSecurityDescriptorToSecurityDescriptorW` and
    /// given to every `CreateNamedPipeW` of the listener; a string Windows rejects gives
    /// `InvalidInput` naming it.
    ///
    /// ```no_run
    /// use localipc::local_socket::ListenerOptions;
    ///
    /// let listener = ListenerOptions::new()
    ///     .security_descriptor("D:P(A;;GA;;;OW)") // only the pipe's owner may connect
    ///     .bind("@my-daemon")?;
    /// # std::io::Result::Ok(())
    /// ```
    #[cfg(windows)]
    #[cfg_attr(docsrs, doc(cfg(windows)))]
    pub fn security_descriptor(&mut self, sddl: &str) -> &mut Self {
        self.security_descriptor = Some(sddl.to_owned());
        self
    }

    /// The largest message the connections of a
    /// [`MessageListener`](super::message::MessageListener) send or receive (default:
    /// [`DEFAULT_MAX_MESSAGE_SIZE`](super::message::DEFAULT_MAX_MESSAGE_SIZE), 16 MiB, on
    /// every platform). Byte-stream listeners ignore it. See the
    /// [message module](super::message#message-size) for what a larger message does.
    pub fn max_message_size(&mut self, bytes: usize) -> &mut Self {
        self.max_message_size = bytes;
        self
    }

    /// Creates a listener bound to `name` with these options.
    pub fn bind<'a>(&self, name: impl ToLocalSocketName<'a>) -> io::Result<LocalSocketListener> {
        let name = name.to_local_socket_name()?;
        Ok(LocalSocketListener {
            inner: sys::Listener::bind(&name, self)?,
        })
    }
}
