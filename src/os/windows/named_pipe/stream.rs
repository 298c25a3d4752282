//! [`PipeStream`], [`PipeClientOptions`] and [`Recv`].

use super::{pipe_path, PipeDirection, PipeMode};
use crate::sys::conn::{Conn, Kind};
use crate::sys::ends::{query_end, read_mode, End, ReadMode};
use crate::sys::instance::open_client;
use std::ffi::OsStr;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle, OwnedHandle, RawHandle};
use std::time::Duration;

/// What one [`PipeStream::recv`] got.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Recv {
    /// Bytes written to the buffer.
    pub len: usize,
    /// `false` if the message did not fit and its rest comes with the next `recv`
    /// (`ReadFile` failed with `ERROR_MORE_DATA`). Always `true` in byte mode.
    pub complete: bool,
}

/// Options for connecting to a named pipe as a client.
///
/// ```
/// use localipc::os::windows::named_pipe::{
///     PipeClientOptions, PipeDirection, PipeListenerOptions, PipeMode,
/// };
/// use std::time::Duration;
///
/// let name = format!("localipc-doc-np-client-{}", std::process::id());
/// let server = std::thread::spawn({
///     let name = name.clone();
///     move || -> std::io::Result<()> {
///         std::thread::sleep(Duration::from_millis(100)); // starting up...
///         let listener = PipeListenerOptions::new()
///             .mode(PipeMode::Messages)
///             .direction(PipeDirection::ServerToClient)
///             .create(&name)?;
///         listener.accept()?.send(b"first event")
///     }
/// });
/// let from_server = PipeClientOptions::new()
///     .mode(PipeMode::Messages)
///     .direction(PipeDirection::ServerToClient)
///     .timeout(Duration::from_secs(10)) // also waits for the pipe to be created
///     .connect(&name)?;
/// let mut buf = [0; 64];
/// let got = from_server.recv(&mut buf)?;
/// assert_eq!(&buf[..got.len], b"first event");
/// server.join().unwrap()?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct PipeClientOptions {
    mode: PipeMode,
    direction: PipeDirection,
    timeout: Option<Duration>,
}

impl PipeClientOptions {
    /// Byte mode, duplex, one attempt (waiting only while every instance is busy).
    pub fn new() -> Self {
        Self::default()
    }

    /// The pipe's mode, as the server created it (default: bytes).
    pub fn mode(&mut self, mode: PipeMode) -> &mut Self {
        self.mode = mode;
        self
    }

    /// The pipe's direction, as the server created it (default: duplex). Sets the access
    /// the client asks for: a one-way pipe refuses a client that asks for the wrong one.
    /// A read-only client in message mode also asks for `FILE_WRITE_ATTRIBUTES` (to switch
    /// to message reads), which the default security descriptor grants only to the pipe's
    /// creator, LocalSystem and administrators.
    pub fn direction(&mut self, direction: PipeDirection) -> &mut Self {
        self.direction = direction;
        self
    }

    /// Keep trying for up to `timeout` while the pipe does not exist yet or all its
    /// instances are busy; then `TimedOut`.
    pub fn timeout(&mut self, timeout: Duration) -> &mut Self {
        self.timeout = Some(timeout);
        self
    }

    /// Connects: `CreateFileW(OPEN_EXISTING, FILE_FLAG_OVERLAPPED)` with the access of the
    /// direction, `WaitNamedPipeW` while busy, and in message mode (if this end reads)
    /// `SetNamedPipeHandleState(PIPE_READMODE_MESSAGE)`.
    ///
    /// See [`PipeClientOptions`] for an example; a pipe that does not exist is `NotFound`
    /// at once, without a [`timeout`](Self::timeout):
    ///
    /// ```
    /// use localipc::os::windows::named_pipe::PipeClientOptions;
    ///
    /// let name = format!("localipc-doc-np-nobody-{}", std::process::id());
    /// let err = PipeClientOptions::new().connect(&name).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub fn connect(&self, name: impl AsRef<OsStr>) -> io::Result<PipeStream> {
        let path = pipe_path(name.as_ref())?;
        let dir = self.direction.sys();
        let read_mode = if self.mode == PipeMode::Messages && dir.reads(End::Client) {
            ReadMode::Messages
        } else {
            ReadMode::Bytes
        };
        let what = format!("named pipe \"{}\"", name.as_ref().to_string_lossy());
        let h = open_client(&path, dir, read_mode, self.timeout, &what)?;
        Ok(PipeStream::from_parts(
            h,
            End::Client,
            self.mode,
            self.direction,
        ))
    }
}

/// One end of a connected named pipe.
///
/// [`Read`] and [`Write`] are implemented on `&PipeStream` too, so one thread can read while
/// another writes. A read after the peer has gone returns `Ok(0)`; a write fails with
/// `BrokenPipe`. Reading on the end of a one-way pipe that only writes (or the reverse)
/// fails with `Unsupported`.
///
/// In message mode, `write` sends one message and `read` returns (part of) one message:
/// use [`send`](Self::send) and [`recv`](Self::recv) to see the boundaries. A zero-length
/// message reads as `Ok(0)`.
#[derive(Debug)]
pub struct PipeStream {
    conn: Conn,
    mode: PipeMode,
    direction: PipeDirection,
}

impl PipeStream {
    pub(crate) fn from_parts(
        h: OwnedHandle,
        end: End,
        mode: PipeMode,
        direction: PipeDirection,
    ) -> Self {
        let kind = Kind {
            direction: direction.sys(),
            latch_eof: false,
            eof_marker: false,
        };
        Self {
            conn: Conn::new(h, Some(end), kind),
            mode,
            direction,
        }
    }

    /// Connects to a duplex byte-mode pipe; see [`PipeClientOptions::connect`].
    ///
    /// ```
    /// use localipc::os::windows::named_pipe::{PipeListener, PipeStream};
    /// use std::io::{Read, Write};
    ///
    /// let name = format!("localipc-doc-np-connect-{}", std::process::id());
    /// let listener = PipeListener::create(&name)?;
    /// let client = PipeStream::connect(&name)?;
    /// let server = listener.accept()?;
    /// (&server).write_all(b"hi")?; // `Read`/`Write` on `&PipeStream` too
    /// let mut buf = [0; 2];
    /// (&client).read_exact(&mut buf)?;
    /// assert_eq!(&buf, b"hi");
    /// assert_eq!(client.peer_pid()?, std::process::id());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn connect(name: impl AsRef<OsStr>) -> io::Result<Self> {
        PipeClientOptions::new().connect(name)
    }

    /// Receives into `buf`: one `ReadFile`. In message mode it returns at most one message;
    /// if the message is longer than `buf`, the bytes that fit, with `complete: false`, and
    /// the next `recv` continues the same message.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Recv> {
        let (len, more) = self.conn.recv(buf)?;
        Ok(Recv {
            len,
            complete: !more,
        })
    }

    /// Sends all of `msg`: in message mode as one message, with one `WriteFile` (an empty
    /// `msg` is an empty message); in byte mode with as many `WriteFile` calls as it takes
    /// (an empty `msg` sends nothing).
    pub fn send(&self, msg: &[u8]) -> io::Result<()> {
        if self.mode == PipeMode::Messages {
            let n = self.conn.write_message(msg)?;
            if n != msg.len() {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!(
                        "only {n} of the {} bytes of the message were sent",
                        msg.len()
                    ),
                ));
            }
            return Ok(());
        }
        (&*self).write_all(msg)
    }

    /// The process id of the peer: `GetNamedPipeClientProcessId` on the server end,
    /// `GetNamedPipeServerProcessId` on the client end.
    pub fn peer_pid(&self) -> io::Result<u32> {
        self.conn.peer_creds()?.pid_or_unsupported()
    }

    /// Whether this is the server end (`GetNamedPipeInfo` if the stream was made from a
    /// handle).
    pub fn is_server(&self) -> io::Result<bool> {
        Ok(self.conn.end()? == End::Server)
    }

    /// Byte or message mode.
    pub fn mode(&self) -> PipeMode {
        self.mode
    }

    /// Duplex or one-way (`Duplex` for a stream made from a handle).
    pub fn direction(&self) -> PipeDirection {
        self.direction
    }

    /// Moves the stream into or out of nonblocking mode: I/O that cannot complete at once is
    /// cancelled (`CancelIoEx`) and fails with `WouldBlock`. No other OS call.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.conn.set_nonblocking(nonblocking)
    }

    /// Bounds how long a read may wait (`None`: forever); then the `ReadFile` is cancelled
    /// (`CancelIoEx`) and the read fails with `TimedOut`.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.conn.set_read_timeout(timeout)
    }

    /// Bounds how long a write may wait (`None`: forever); then the `WriteFile` is cancelled
    /// (`CancelIoEx`) and fails with `TimedOut`. Windows does not say how much of a
    /// cancelled write the reader had taken already.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.conn.set_write_timeout(timeout)
    }

    /// A second handle to the same pipe end (`DuplicateHandle`), sharing its modes.
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            conn: self.conn.try_clone()?,
            mode: self.mode,
            direction: self.direction,
        })
    }
}

impl Read for &PipeStream {
    /// `ReadFile` (overlapped). In message mode, the bytes of (part of) one message.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.conn.read(buf)
    }
    /// `ReadFile` into the first non-empty buffer.
    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.conn.read_vectored(bufs)
    }
}

impl Write for &PipeStream {
    /// `WriteFile` (overlapped). In message mode, one message.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.conn.write(buf)
    }
    /// One `WriteFile`, small buffers copied into one.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.conn.write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.conn.flush()
    }
}

crate::forward::read_via_ref!(PipeStream);
crate::forward::write_via_ref!(PipeStream);

impl AsHandle for PipeStream {
    fn as_handle(&self) -> BorrowedHandle<'_> {
        self.conn.as_handle()
    }
}

impl AsRawHandle for PipeStream {
    fn as_raw_handle(&self) -> RawHandle {
        self.conn.as_handle().as_raw_handle()
    }
}

impl From<PipeStream> for OwnedHandle {
    fn from(s: PipeStream) -> Self {
        s.conn.into_handle()
    }
}

/// The handle must be a connected named pipe end, best overlapped (else its reads and writes
/// from two threads wait for each other). The mode is the handle's read mode
/// (`GetNamedPipeHandleStateW`); the direction is taken as duplex (the OS refuses what the
/// handle may not do); which end it is, is asked with `GetNamedPipeInfo`.
impl From<OwnedHandle> for PipeStream {
    fn from(h: OwnedHandle) -> Self {
        let mode = match read_mode(h.as_handle()) {
            Ok(ReadMode::Messages) => PipeMode::Messages,
            Ok(ReadMode::Bytes) | Err(_) => PipeMode::Bytes,
        };
        let end = query_end(h.as_handle()).ok();
        let kind = Kind {
            direction: PipeDirection::Duplex.sys(),
            latch_eof: false,
            eof_marker: false,
        };
        Self {
            conn: Conn::new(h, end, kind),
            mode,
            direction: PipeDirection::Duplex,
        }
    }
}
