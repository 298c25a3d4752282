//! A connected pipe end, shared by local sockets and `os::windows::named_pipe`: reads and
//! writes through `&self` that run concurrently (see `overlapped.rs`), timeouts, nonblocking
//! mode, half-close (with the end-of-file marker of `ends`).

use super::ends::{duplicate, query_end, End, EofMarker};
use super::instance::Direction;
use super::overlapped::{self, Wait, EXPIRED};
use crate::local_socket::PeerCreds;
use std::io;
use std::mem::ManuallyDrop;
use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle, OwnedHandle};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use windows_sys::Win32::Foundation::{
    ERROR_BROKEN_PIPE, ERROR_MORE_DATA, ERROR_NO_DATA, ERROR_PIPE_NOT_CONNECTED, HANDLE,
};
use windows_sys::Win32::Storage::FileSystem::{ReadFile, WriteFile};

/// What kind of stream a connected end carries; fixed when it is made.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Kind {
    pub(crate) direction: Direction,
    /// A zero-byte read is end of file, and every later read returns 0 at once (local
    /// sockets). Off for message pipes, where a zero-length message is just a message.
    pub(crate) latch_eof: bool,
    /// `shutdown(Write)` sends a zero-length message once the peer has read everything
    /// sent before (local sockets; the pipe must be of message type).
    pub(crate) eof_marker: bool,
}

/// State of a pipe end shared by all its clones (as a socket's state is shared by its
/// duplicated descriptors).
#[derive(Debug)]
struct Shared {
    kind: Kind,
    end: OnceLock<End>,
    nonblocking: AtomicBool,
    /// Nanoseconds; 0 means none.
    read_timeout: AtomicU64,
    write_timeout: AtomicU64,
    read_shut: AtomicBool,
    write_shut: AtomicBool,
    /// End of file seen (latched) or the pipe broken.
    eof: AtomicBool,
    /// Handles of this end held by `Conn`s.
    handles: AtomicUsize,
    /// Sent by `shutdown(Write)`; stopped when the last handle goes.
    marker: EofMarker,
}

impl AsRef<EofMarker> for Shared {
    fn as_ref(&self) -> &EofMarker {
        &self.marker
    }
}

/// One handle to a connected pipe end.
#[derive(Debug)]
pub(crate) struct Conn {
    handle: OwnedHandle,
    shared: Arc<Shared>,
}

/// What [`Conn::check_direction`] is asked about.
#[derive(Clone, Copy)]
enum Op {
    Read,
    Write,
}

fn would_block() -> io::Error {
    io::ErrorKind::WouldBlock.into()
}

fn timeout_nanos(t: Option<Duration>) -> io::Result<u64> {
    match t {
        None => Ok(0),
        Some(d) if d.is_zero() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "cannot set a 0 duration timeout",
        )),
        Some(d) => Ok(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
    }
}

fn nanos_timeout(n: u64) -> Option<Duration> {
    (n != 0).then(|| Duration::from_nanos(n))
}

impl Conn {
    /// Wraps a connected pipe handle. `end` may be `None` (then asked of the OS when
    /// needed). The handle should be overlapped; a synchronous one works, but then its
    /// reads and writes are serialised by Windows.
    pub(crate) fn new(handle: OwnedHandle, end: Option<End>, kind: Kind) -> Self {
        let end_cell = OnceLock::new();
        if let Some(end) = end {
            let _ = end_cell.set(end);
        }
        Self {
            handle,
            shared: Arc::new(Shared {
                kind,
                end: end_cell,
                nonblocking: AtomicBool::new(false),
                read_timeout: AtomicU64::new(0),
                write_timeout: AtomicU64::new(0),
                read_shut: AtomicBool::new(false),
                write_shut: AtomicBool::new(false),
                eof: AtomicBool::new(false),
                handles: AtomicUsize::new(1),
                marker: EofMarker::default(),
            }),
        }
    }

    fn raw(&self) -> HANDLE {
        self.handle.as_raw_handle()
    }

    /// Which end this is (`GetNamedPipeInfo` the first time, if not known).
    pub(crate) fn end(&self) -> io::Result<End> {
        if let Some(e) = self.shared.end.get() {
            return Ok(*e);
        }
        let e = query_end(self.handle.as_handle())?;
        Ok(*self.shared.end.get_or_init(|| e))
    }

    fn wait(&self, timeout: &AtomicU64) -> Wait {
        if self.shared.nonblocking.load(Ordering::Relaxed) {
            return Wait::No;
        }
        match nanos_timeout(timeout.load(Ordering::Relaxed)) {
            None => Wait::Forever,
            Some(t) => Wait::Timeout(t),
        }
    }

    /// The error for an operation that ran out of time: `WouldBlock` in nonblocking mode,
    /// else `TimedOut`.
    pub(crate) fn expired(&self) -> io::Error {
        if self.shared.nonblocking.load(Ordering::Relaxed) {
            would_block()
        } else {
            io::Error::new(io::ErrorKind::TimedOut, "the pipe operation timed out")
        }
    }

    fn check_direction(&self, op: Op) -> io::Result<()> {
        let dir = self.shared.kind.direction;
        if dir == Direction::Duplex {
            return Ok(());
        }
        let end = self.end()?;
        let ok = match op {
            Op::Read => dir.reads(end),
            Op::Write => dir.writes(end),
        };
        if ok {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "this {} end of a one-way pipe ({dir:?}) cannot {}",
                if end == End::Server {
                    "server"
                } else {
                    "client"
                },
                match op {
                    Op::Read => "read",
                    Op::Write => "write",
                }
            ),
        ))
    }

    /// One `ReadFile`. Returns the bytes read and whether the current message goes on
    /// (`ERROR_MORE_DATA`, message reads only). A broken or disconnected pipe reads as end
    /// of file: `Ok((0, false))`; so does an empty `buf`, without an OS call.
    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, bool)> {
        if buf.is_empty() {
            return Ok((self.read(buf)?, false));
        }
        Ok(self.recv_message(buf)?.unwrap_or((0, false)))
    }

    /// One `ReadFile`, even into an empty `buf` (on a message pipe in message-read mode that
    /// tells an empty message, `Some((0, false))`, from a longer one, `Some((0, true))`).
    /// `None` is end of file: the pipe is broken or disconnected, or was seen so before.
    pub(crate) fn recv_message(&self, buf: &mut [u8]) -> io::Result<Option<(usize, bool)>> {
        self.check_direction(Op::Read)?;
        let s = &self.shared;
        if s.eof.load(Ordering::Relaxed) || s.read_shut.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let h = self.raw();
        let ptr = buf.as_mut_ptr();
        let done = overlapped::run(h, self.wait(&s.read_timeout), |ov| {
            // SAFETY: `ptr` is valid for writes of `len` bytes until `run` returns, and `run`
            // returns only once the read has ended.
            unsafe { ReadFile(h, ptr, len, ptr::null_mut(), ov) }
        })?;
        match done.error {
            0 => {
                if done.bytes == 0 && s.kind.latch_eof {
                    s.eof.store(true, Ordering::Relaxed);
                    return Ok(None);
                }
                Ok(Some((done.bytes as usize, false)))
            }
            ERROR_MORE_DATA => Ok(Some((done.bytes as usize, true))),
            ERROR_BROKEN_PIPE | ERROR_PIPE_NOT_CONNECTED | ERROR_NO_DATA => {
                s.eof.store(true, Ordering::Relaxed);
                Ok(None)
            }
            EXPIRED => Err(self.expired()),
            e => Err(super::os_error(e)),
        }
    }

    /// [`recv`](Self::recv) without the message flag: one `ReadFile`; end of file (and an
    /// empty `buf`, without an OS call) reads 0.
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            self.check_direction(Op::Read)?;
            return Ok(0);
        }
        Ok(self.recv_message(buf)?.map_or(0, |(n, _)| n))
    }

    /// Reads into the first non-empty buffer.
    pub(crate) fn read_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        match bufs.iter_mut().find(|b| !b.is_empty()) {
            Some(b) => self.read(b),
            None => Ok(0),
        }
    }

    /// One `WriteFile` of up to 4 GiB - 1 bytes (one message on a message pipe). A peer that
    /// has gone gives `BrokenPipe`; so does a write after `shutdown(Write)`.
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        if self.shared.write_shut.load(Ordering::Relaxed) {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "cannot write: the write half of this pipe was shut down",
            ));
        }
        if buf.is_empty() {
            // A zero-length write would be a zero-length message: end of file to the peer.
            return Ok(0);
        }
        self.write_with(buf, self.wait(&self.shared.write_timeout))
    }

    /// One `WriteFile`, even of 0 bytes (on a message pipe, an empty message).
    pub(crate) fn write_message(&self, buf: &[u8]) -> io::Result<usize> {
        self.write_with(buf, self.wait(&self.shared.write_timeout))
    }

    /// One `WriteFile` that waits as long as it takes, whatever the write timeout and
    /// nonblocking mode say: for writes that must not be cut short, since a cancelled pipe
    /// write does not say how much of it the reader already took (handle records,
    /// `handle_records`). Fails after `shutdown(Write)` like [`write`](Self::write).
    pub(crate) fn write_unbounded(&self, buf: &[u8]) -> io::Result<usize> {
        if self.shared.write_shut.load(Ordering::Relaxed) {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "cannot write: the write half of this pipe was shut down",
            ));
        }
        self.write_with(buf, Wait::Forever)
    }

    fn write_with(&self, buf: &[u8], wait: Wait) -> io::Result<usize> {
        self.check_direction(Op::Write)?;
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let h = self.raw();
        let ptr = buf.as_ptr();
        let done = overlapped::run(h, wait, |ov| {
            // SAFETY: `ptr` is valid for reads of `len` bytes until `run` returns, and `run`
            // returns only once the write has ended.
            unsafe { WriteFile(h, ptr, len, ptr::null_mut(), ov) }
        })?;
        match done.error {
            0 => Ok(done.bytes as usize),
            ERROR_NO_DATA | ERROR_BROKEN_PIPE | ERROR_PIPE_NOT_CONNECTED => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                format!(
                    "cannot write: the peer has closed the pipe ({})",
                    super::os_error(done.error)
                ),
            )),
            EXPIRED if done.bytes > 0 => Ok(done.bytes as usize),
            EXPIRED => Err(self.expired()),
            e => Err(super::os_error(e)),
        }
    }

    /// Several small buffers are copied into one write (one message, one kernel call); a
    /// large first buffer is written on its own.
    pub(crate) fn write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        const COALESCE: usize = 8 * 1024;
        let mut nonempty = bufs.iter().filter(|b| !b.is_empty());
        let Some(first) = nonempty.next() else {
            return Ok(0);
        };
        if first.len() >= COALESCE || nonempty.next().is_none() {
            return self.write(first);
        }
        let mut stack = [0u8; COALESCE];
        let mut len = 0;
        for b in bufs {
            let take = b.len().min(COALESCE - len);
            stack[len..len + take].copy_from_slice(&b[..take]);
            len += take;
            if len == COALESCE {
                break;
            }
        }
        self.write(&stack[..len])
    }

    /// `shutdown`: `Read` makes later reads return 0 here; `Write` makes later writes fail
    /// and, on a pipe of message type, delivers end of file to the peer.
    ///
    /// That half-close on a pipe, which has none, is the end-of-file marker ([`EofMarker`]:
    /// a zero-length message once the peer has read everything sent before, from a helper
    /// thread, so `shutdown` does not block). Dropping the last handle of this end stops the
    /// helper (see `Drop`); the peer then sees end of file when the pipe closes, after
    /// reading what is buffered.
    pub(crate) fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        use std::net::Shutdown;
        let s = &self.shared;
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            s.read_shut.store(true, Ordering::Relaxed);
        }
        let write = matches!(how, Shutdown::Write | Shutdown::Both);
        if write && !s.write_shut.swap(true, Ordering::AcqRel) && s.kind.eof_marker {
            EofMarker::start(&self.shared, self.handle.as_handle())?;
        }
        Ok(())
    }

    /// Nothing to flush: every write has reached the pipe when it returns.
    pub(crate) fn flush(&self) -> io::Result<()> {
        Ok(())
    }

    /// `DuplicateHandle`; the copy shares this end's state (timeouts, nonblocking mode,
    /// shutdown).
    pub(crate) fn try_clone(&self) -> io::Result<Self> {
        let handle = duplicate(self.handle.as_handle())?;
        self.shared.handles.fetch_add(1, Ordering::AcqRel);
        Ok(Self {
            handle,
            shared: Arc::clone(&self.shared),
        })
    }

    /// No OS call: nonblocking I/O is an overlapped call cancelled (`CancelIoEx`) if it
    /// cannot complete at once.
    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.shared
            .nonblocking
            .store(nonblocking, Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        let n = timeout_nanos(t)?;
        self.shared.read_timeout.store(n, Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        let n = timeout_nanos(t)?;
        self.shared.write_timeout.store(n, Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(nanos_timeout(
            self.shared.read_timeout.load(Ordering::Relaxed),
        ))
    }

    pub(crate) fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(nanos_timeout(
            self.shared.write_timeout.load(Ordering::Relaxed),
        ))
    }

    /// See [`identity::peer_creds`](super::identity::peer_creds): the pid, session id, user
    /// SID and integrity level of the peer.
    pub(crate) fn peer_creds(&self) -> io::Result<PeerCreds> {
        super::identity::peer_creds(self.handle.as_handle(), self.end()?.other())
    }

    /// The peer's pid alone: `GetNamedPipeClientProcessId`/`GetNamedPipeServerProcessId`
    /// (no token query).
    pub(crate) fn peer_pid(&self) -> io::Result<u32> {
        super::ends::opener_pid(self.handle.as_handle(), self.end()?.other())
    }

    /// Gives up the handle; this end's shared state goes with the last `Conn`.
    pub(crate) fn into_handle(self) -> OwnedHandle {
        self.shared.handles.fetch_sub(1, Ordering::AcqRel);
        let me = ManuallyDrop::new(self);
        // SAFETY: `me` is never used or dropped again, and each field is moved out once.
        let (handle, shared) = unsafe { (ptr::read(&me.handle), ptr::read(&me.shared)) };
        drop(shared);
        handle
    }
}

impl AsHandle for Conn {
    fn as_handle(&self) -> BorrowedHandle<'_> {
        self.handle.as_handle()
    }
}

impl Drop for Conn {
    /// `CloseHandle` (by `OwnedHandle`), and nothing else: no `FlushFileBuffers`, no
    /// `DisconnectNamedPipe`. Data written before is not lost: a write returns only once the
    /// pipe holds its data, and closing one end leaves the data queued for the other end
    /// readable until it is read (only `DisconnectNamedPipe` discards it). So dropping never
    /// blocks for long. If the end-of-file helper of [`Conn::shutdown`] is still
    /// waiting for the peer to read, the last handle stops it ([`EofMarker::stop`]), so that
    /// the pipe closes now.
    fn drop(&mut self) {
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.marker.stop(self.handle.as_handle());
        }
    }
}
