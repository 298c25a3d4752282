//! [`LocalSocketStream`] and [`ConnectOptions`].

use super::{PeerCreds, ToLocalSocketName};
use crate::sys;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

/// A connected local socket: a private, bidirectional byte stream between two processes.
///
/// On Unix a `SOCK_STREAM` Unix domain socket; on Windows a named pipe instance (of message
/// type so that [`shutdown`](Self::shutdown) can send end of file, read in byte mode by both
/// ends: to the program it is a byte stream).
///
/// [`Read`] and [`Write`] are implemented on `&LocalSocketStream` too, so one thread can
/// read while another writes without cloning:
///
/// ```
/// # use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
/// # use std::io::{Read, Write};
/// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
/// #     format!("@localipc-doc-stream-{}", std::process::id())
/// # } else { format!("/tmp/localipc-doc-stream-{}.sock", std::process::id()) };
/// # let listener = LocalSocketListener::bind(name.as_str())?;
/// # let client = std::thread::spawn({ let name = name.clone(); move || -> std::io::Result<()> {
/// #     let mut s = LocalSocketStream::connect(name.as_str())?; let mut b = [0; 5];
/// #     s.read_exact(&mut b)?; s.write_all(&b) } });
/// let conn = listener.accept()?;
/// std::thread::scope(|s| {
///     s.spawn(|| (&conn).write_all(b"hello"));
///     let mut echo = [0; 5];
///     (&conn).read_exact(&mut echo)?;
///     assert_eq!(&echo, b"hello");
///     std::io::Result::Ok(())
/// })?;
/// # client.join().unwrap()?;
/// # std::io::Result::Ok(())
/// ```
///
/// Writing to a stream whose peer has gone fails with [`io::ErrorKind::BrokenPipe`]; it never
/// raises `SIGPIPE`, whether or not the process ignores that signal. Reading from it returns
/// `Ok(0)` (end of file).
#[derive(Debug)]
pub struct LocalSocketStream {
    pub(crate) inner: sys::Stream,
}

impl LocalSocketStream {
    /// Connects to the server listening on `name`, failing at once if there is none.
    ///
    /// Unix: `socket(AF_UNIX, SOCK_STREAM)` + `connect`. Windows: `CreateFileW` on the pipe,
    /// waiting with `WaitNamedPipeW` while all its instances are busy.
    /// Use [`connect_with`](Self::connect_with) for a timeout that also waits for a server
    /// not up yet.
    ///
    /// ```
    /// use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
    /// use std::io::{Read, Write};
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-connect-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-connect-{}.sock", std::process::id()) };
    /// // No server yet: refused at once (NotFound for a missing socket file).
    /// assert!(LocalSocketStream::connect(name.as_str()).is_err());
    ///
    /// let listener = LocalSocketListener::bind(name.as_str())?;
    /// let mut conn = LocalSocketStream::connect(name.as_str())?;
    /// conn.write_all(b"hi")?;
    /// let mut buf = [0; 2];
    /// listener.accept()?.read_exact(&mut buf)?;
    /// assert_eq!(&buf, b"hi");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn connect<'a>(name: impl ToLocalSocketName<'a>) -> io::Result<Self> {
        Self::connect_with(name, &ConnectOptions::new())
    }

    /// Connects to `name` with `options` (see [`ConnectOptions::timeout`]). OS calls as for
    /// [`connect`](Self::connect); with a timeout, Unix retries a nonblocking `connect`
    /// (waiting with `poll`) and Windows waits with `WaitNamedPipeW`.
    ///
    /// A client started before its server: it waits for the server to come up.
    ///
    /// ```
    /// use localipc::local_socket::{ConnectOptions, LocalSocketListener, LocalSocketStream};
    /// use std::time::Duration;
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-connect-with-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-connect-with-{}.sock", std::process::id()) };
    /// let server = std::thread::spawn({
    ///     let name = name.clone();
    ///     move || -> std::io::Result<()> {
    ///         std::thread::sleep(Duration::from_millis(100)); // starting up...
    ///         let listener = LocalSocketListener::bind(name.as_str())?;
    ///         listener.accept()?;
    ///         Ok(())
    ///     }
    /// });
    /// // Wait up to 10 s for the server to come up and accept.
    /// let _conn = LocalSocketStream::connect_with(
    ///     name.as_str(),
    ///     ConnectOptions::new().timeout(Duration::from_secs(10)),
    /// )?;
    /// server.join().unwrap()?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn connect_with<'a>(
        name: impl ToLocalSocketName<'a>,
        options: &ConnectOptions,
    ) -> io::Result<Self> {
        let name = name.to_local_socket_name()?;
        super::access::check_expectation(options, &name)?;
        let inner = sys::Stream::connect(&name, options)?;
        super::access::check_server(options, &name, || inner.peer_creds())?;
        Ok(Self { inner })
    }

    /// The process id of the peer.
    ///
    /// `Unsupported` where the OS does not say (FreeBSD before 13, the other BSDs). One
    /// call, not the whole of [`peer_creds`](Self::peer_creds): Linux
    /// `getsockopt(SO_PEERCRED)`, macOS `getsockopt(LOCAL_PEERPID)`, FreeBSD
    /// `getsockopt(LOCAL_PEERCRED)`, Windows `GetNamedPipeClientProcessId` or
    /// `GetNamedPipeServerProcessId`.
    pub fn peer_pid(&self) -> io::Result<u32> {
        self.inner.peer_pid()
    }

    /// The credentials of the peer, as the OS recorded them when the connection was made.
    ///
    /// Linux: `getsockopt(SO_PEERCRED)` (pid, uid, gid), `SO_PEERGROUPS`, `SO_PEERSEC`,
    /// `SO_PEERPIDFD`. macOS: `getpeereid` (uid, gid) and `getsockopt(LOCAL_PEERPID)` (pid).
    /// FreeBSD: `getpeereid` and `getsockopt(LOCAL_PEERCRED)` (pid). Other BSDs:
    /// `getpeereid` (uid, gid). Windows: the pid, session id, and the user SID and integrity
    /// level of the peer's token. The table on [`PeerCreds`] says what each platform gives.
    ///
    /// ```
    /// use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-peer-creds-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-peer-creds-{}.sock", std::process::id()) };
    /// let listener = LocalSocketListener::bind(name.as_str())?;
    /// let client = LocalSocketStream::connect(name.as_str())?;
    /// let conn = listener.accept()?;
    /// let creds = conn.peer_creds()?; // here the peer is this very process
    /// # #[cfg(not(any(target_os = "freebsd", target_os = "openbsd", target_os = "netbsd", target_os = "dragonfly")))] {
    /// assert_eq!(creds.pid(), Some(std::process::id()));
    /// assert_eq!(client.peer_pid()?, std::process::id());
    /// # }
    /// #[cfg(unix)]
    /// // SAFETY: geteuid has no preconditions and cannot fail.
    /// assert_eq!(creds.uid(), Some(unsafe { libc::geteuid() }));
    /// #[cfg(windows)]
    /// assert_eq!(creds.uid(), None); // Windows gives the process id only
    /// # let _ = (client, creds);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn peer_creds(&self) -> io::Result<PeerCreds> {
        self.inner.peer_creds()
    }

    /// Moves the stream into or out of nonblocking mode, in which I/O that would block fails
    /// with [`io::ErrorKind::WouldBlock`]. Unix: `fcntl(F_SETFL, O_NONBLOCK)`. Windows: no
    /// OS call; I/O that cannot complete at once is cancelled (`CancelIoEx`).
    ///
    /// ```
    /// use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
    /// use std::io::{ErrorKind, Read, Write};
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-stream-nb-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-stream-nb-{}.sock", std::process::id()) };
    /// let listener = LocalSocketListener::bind(name.as_str())?;
    /// let client = LocalSocketStream::connect(name.as_str())?;
    /// let conn = listener.accept()?;
    /// conn.set_nonblocking(true)?;
    /// let mut buf = [0; 16];
    /// assert_eq!((&conn).read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    ///
    /// (&client).write_all(b"now")?;
    /// conn.set_nonblocking(false)?; // back to waiting for data
    /// let mut got = [0; 3];
    /// (&conn).read_exact(&mut got)?;
    /// assert_eq!(&got, b"now");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking)
    }

    /// Bounds how long a read may block (`None`: forever); then it fails with `WouldBlock` or
    /// `TimedOut`. Unix: `setsockopt(SO_RCVTIMEO)`. Windows: no OS call; a `ReadFile` still
    /// pending then is cancelled (`CancelIoEx`) and the read fails with `TimedOut`.
    ///
    /// ```
    /// use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
    /// use std::io::{ErrorKind, Read};
    /// use std::time::Duration;
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-timeouts-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-timeouts-{}.sock", std::process::id()) };
    /// let listener = LocalSocketListener::bind(name.as_str())?;
    /// let _client = LocalSocketStream::connect(name.as_str())?;
    /// let conn = listener.accept()?;
    ///
    /// conn.set_read_timeout(Some(Duration::from_millis(50)))?;
    /// conn.set_write_timeout(Some(Duration::from_secs(5)))?;
    /// // The OS may round a timeout up to its clock tick (Linux: 50 ms can read back as 52).
    /// assert!(conn.read_timeout()?.unwrap() >= Duration::from_millis(50));
    /// assert_eq!(conn.write_timeout()?, Some(Duration::from_secs(5)));
    ///
    /// // The client sends nothing: the read gives up after about 50 ms.
    /// let err = (&conn).read(&mut [0; 16]).unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{err}");
    ///
    /// conn.set_read_timeout(None)?; // wait forever again
    /// assert_eq!(conn.read_timeout()?, None);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_read_timeout(timeout)
    }

    /// Bounds how long a write may block (`None`: forever). Unix: `setsockopt(SO_SNDTIMEO)`.
    /// Windows: no OS call; a pending `WriteFile` is cancelled (`CancelIoEx`). Named pipes do
    /// not say how much of a cancelled write the reader had already taken, so on Windows a
    /// write that timed out may have delivered part of its buffer.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_write_timeout(timeout)
    }

    /// The read timeout. Unix: `getsockopt(SO_RCVTIMEO)`. Windows: no OS call.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.read_timeout()
    }

    /// The write timeout. Unix: `getsockopt(SO_SNDTIMEO)`. Windows: no OS call.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.inner.write_timeout()
    }

    /// Shuts down the read half, the write half or both. After `Shutdown::Write` the peer
    /// reads end of file once it has read everything sent before. Unix: `shutdown(2)`.
    ///
    /// Windows (named pipes have no half-close): `Read` only makes later reads here return
    /// 0. `Write` makes later writes fail with `BrokenPipe` and sends the peer a zero-length
    /// message, which its reads see as end of file; a helper thread sends it once the peer
    /// has read everything sent before (`DuplicateHandle`, then `FlushFileBuffers` and a
    /// zero-length `WriteFile` there), so `shutdown` itself does not block.
    ///
    /// A request ended by a half-close, so the server can read it to the end and still reply:
    ///
    /// ```
    /// use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
    /// use std::io::{Read, Write};
    /// use std::net::Shutdown;
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-shutdown-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-shutdown-{}.sock", std::process::id()) };
    /// let listener = LocalSocketListener::bind(name.as_str())?;
    /// let server = std::thread::spawn(move || -> std::io::Result<()> {
    ///     let mut conn = listener.accept()?;
    ///     let mut request = String::new();
    ///     conn.read_to_string(&mut request)?; // until the client's end of file
    ///     conn.write_all(request.to_uppercase().as_bytes())
    /// });
    ///
    /// let mut conn = LocalSocketStream::connect(name.as_str())?;
    /// conn.write_all(b"hello")?;
    /// conn.shutdown(Shutdown::Write)?; // "that's all": the server reads end of file
    /// let mut reply = String::new();
    /// conn.read_to_string(&mut reply)?; // this side still reads
    /// assert_eq!(reply, "HELLO");
    /// server.join().unwrap()?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.shutdown(how)
    }

    /// A second handle to the same stream. Unix: `fcntl(F_DUPFD_CLOEXEC)`. Windows:
    /// `DuplicateHandle`.
    ///
    /// ```
    /// use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
    /// use std::io::{Read, Write};
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-try-clone-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-try-clone-{}.sock", std::process::id()) };
    /// let listener = LocalSocketListener::bind(name.as_str())?;
    /// let mut client = LocalSocketStream::connect(name.as_str())?;
    /// let conn = listener.accept()?;
    /// let mut writer = conn.try_clone()?; // e.g. for another thread
    /// std::thread::spawn(move || writer.write_all(b"from the clone")).join().unwrap()?;
    /// let mut got = [0; 14];
    /// client.read_exact(&mut got)?;
    /// assert_eq!(&got, b"from the clone");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            inner: self.inner.try_clone()?,
        })
    }
}

impl Read for &LocalSocketStream {
    /// Unix: `read(2)`. Windows: `ReadFile` (overlapped, so a write from another thread is
    /// not held up).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
    /// Unix: `readv(2)`. Windows: `ReadFile` into the first non-empty buffer.
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.inner.read_vectored(bufs)
    }
}

impl Write for &LocalSocketStream {
    /// Unix: `send(MSG_NOSIGNAL)`. Windows: `WriteFile` (overlapped).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    /// Unix: `sendmsg(MSG_NOSIGNAL)`. Windows: one `WriteFile`, small buffers copied into one.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner.write_vectored(bufs)
    }
    /// Nothing to flush: every write has reached the socket or pipe when it returns.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

crate::forward::read_via_ref!(LocalSocketStream);
crate::forward::write_via_ref!(LocalSocketStream);

/// How a stream connects to a name: the options of [`LocalSocketStream::connect_with`],
/// [`MessageStream::connect_with`] and (feature `tokio`)
/// `local_socket::tokio::LocalSocketStream::connect_with`.
///
/// The same convention as [`ListenerOptions`]: `X::connect(name)` (the `interprocess` 1.x
/// name) is `X::connect_with(name, &ConnectOptions::new())`; the options hold only what
/// decides how the connection is made, and each applies to every stream type on every
/// platform. Modes of a connected stream are setters on it (`set_nonblocking`, the
/// timeouts, [`MessageStream::set_max_message_size`]).
///
/// ```
/// use localipc::local_socket::{ConnectOptions, LocalSocketListener, LocalSocketStream};
/// use std::time::Duration;
///
/// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
/// #     format!("@localipc-doc-connect-opts-{}", std::process::id())
/// # } else { format!("/tmp/localipc-doc-connect-opts-{}.sock", std::process::id()) };
/// let mut opts = ConnectOptions::new();
/// opts.timeout(Duration::from_millis(200)); // wait up to 200 ms for the server to come up
/// let err = LocalSocketStream::connect_with(name.as_str(), &opts).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut); // it did not
///
/// let _listener = LocalSocketListener::bind(name.as_str())?;
/// let conn = LocalSocketStream::connect_with(name.as_str(), &opts)?;
/// conn.set_read_timeout(Some(Duration::from_secs(5)))?; // a mode of the stream
/// # std::io::Result::Ok(())
/// ```
///
/// [`MessageStream::connect_with`]: super::message::MessageStream::connect_with
/// [`MessageStream::set_max_message_size`]: super::message::MessageStream::set_max_message_size
/// [`ListenerOptions`]: super::ListenerOptions
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    pub(crate) timeout: Option<Duration>,
    /// Whom the server must be: see `access.rs`.
    pub(crate) expect_server: Option<crate::identity::AccessPolicy>,
}

impl ConnectOptions {
    /// Default options: one attempt, no timeout, any server
    /// ([`expect_server`](Self::expect_server) unset).
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps trying for up to `timeout` while the server is not there yet, refuses, or is busy
    /// (Unix: full backlog; Windows: `ERROR_PIPE_BUSY`, waited for with `WaitNamedPipeW`).
    /// When the time is up, `connect_with` fails with [`io::ErrorKind::TimedOut`]. The tokio
    /// stream waits on tokio's timer on Unix (the runtime needs its time driver), and on a
    /// thread of tokio's blocking pool on Windows.
    pub fn timeout(&mut self, timeout: Duration) -> &mut Self {
        self.timeout = Some(timeout);
        self
    }
}
