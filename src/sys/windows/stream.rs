//! Local socket streams on Windows: a [`Conn`] on a local socket pipe.

use super::conn::{Conn, Kind};
use super::ends::{End, ReadMode};
use super::handle_records::Records;
use super::instance::{open_client, Direction};
use super::name::pipe_path;
use crate::local_socket::{ConnectOptions, LocalSocketName, PeerCreds};
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::os::windows::io::{AsHandle, BorrowedHandle, OwnedHandle};
use std::sync::Arc;
use std::time::Duration;

/// What local socket streams are: duplex; a zero-byte read is end of file and stays so;
/// `shutdown(Write)` sends the end-of-file marker.
const KIND: Kind = Kind {
    direction: Direction::Duplex,
    latch_eof: true,
    eof_marker: true,
};

/// A connected local socket: one end of a named pipe.
#[derive(Debug)]
pub(crate) struct Stream {
    pub(super) conn: Conn,
    /// Handle-record state (`handle_records`), shared by clones as the byte stream is.
    pub(super) records: Arc<Records>,
}

impl Stream {
    /// Wraps a connected pipe handle (`end` is asked of the OS when needed if `None`).
    pub(crate) fn from_handle(handle: OwnedHandle, end: Option<End>) -> Self {
        Self {
            conn: Conn::new(handle, end, KIND),
            records: Arc::default(),
        }
    }

    /// `CreateFileW` on `\\.\pipe\<name>`; `WaitNamedPipeW` while every instance is busy;
    /// with a timeout, also retried while the pipe does not exist yet.
    pub(crate) fn connect(name: &LocalSocketName<'_>, opts: &ConnectOptions) -> io::Result<Self> {
        let path = pipe_path(name)?;
        let what = format!("local socket \"{name}\"");
        let h = open_client(
            &path,
            Direction::Duplex,
            ReadMode::Bytes,
            opts.timeout,
            &what,
        )?;
        Ok(Self::from_handle(h, Some(End::Client)))
    }

    /// `ReadFile` (overlapped); while a handle record is partly received, only from the
    /// rest of its data (`handle_records`).
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        if self.records.in_record() {
            return self.read_record_rest(buf);
        }
        self.conn.read(buf)
    }

    /// `ReadFile` into the first non-empty buffer.
    pub(crate) fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        if self.records.in_record() {
            return match bufs.iter_mut().find(|b| !b.is_empty()) {
                Some(b) => self.read_record_rest(b),
                None => Ok(0),
            };
        }
        self.conn.read_vectored(bufs)
    }

    /// `WriteFile` (overlapped).
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.conn.write(buf)
    }

    /// `WriteFile`; small buffers are gathered into one call.
    pub(crate) fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.conn.write_vectored(bufs)
    }

    pub(crate) fn flush(&self) -> io::Result<()> {
        self.conn.flush()
    }

    /// `DuplicateHandle`.
    pub(crate) fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            conn: self.conn.try_clone()?,
            records: Arc::clone(&self.records),
        })
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.conn.shutdown(how)
    }

    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.conn.set_nonblocking(nonblocking)
    }

    pub(crate) fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.conn.set_read_timeout(t)
    }

    pub(crate) fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.conn.set_write_timeout(t)
    }

    pub(crate) fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.conn.read_timeout()
    }

    pub(crate) fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.conn.write_timeout()
    }

    /// `GetNamedPipeClientProcessId` / `GetNamedPipeServerProcessId`: the pid only.
    pub(crate) fn peer_creds(&self) -> io::Result<PeerCreds> {
        Ok(PeerCreds::new(Some(self.conn.peer_pid()?), None, None))
    }

    /// The handle and which end it is, for the async stream.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn into_parts(self) -> io::Result<(OwnedHandle, End)> {
        let end = self.conn.end()?;
        Ok((self.conn.into_handle(), end))
    }

    pub(crate) fn into_handle(self) -> OwnedHandle {
        self.conn.into_handle()
    }
}

impl AsHandle for Stream {
    fn as_handle(&self) -> BorrowedHandle<'_> {
        self.conn.as_handle()
    }
}
