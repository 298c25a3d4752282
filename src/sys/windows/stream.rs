//! Local socket streams on Windows: a [`Conn`] on a local socket pipe (reached through
//! `Deref`), with the handle-record state.

use super::conn::{Conn, Kind};
use super::ends::{End, ReadMode};
use super::handle_records::Records;
use super::instance::{open_client, Direction};
use super::name::pipe_path;
use crate::local_socket::{ConnectOptions, LocalSocketName};
use std::io::{self, IoSliceMut};
use std::ops::Deref;
use std::os::windows::io::{AsHandle, BorrowedHandle, OwnedHandle};
use std::sync::Arc;

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

    /// `DuplicateHandle`.
    pub(crate) fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            conn: self.conn.try_clone()?,
            records: Arc::clone(&self.records),
        })
    }

    /// The handle, which end it is, and the handle-record state (a record may be partly
    /// received), for the async stream.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn into_parts(self) -> io::Result<(OwnedHandle, End, Arc<Records>)> {
        let end = self.conn.end()?;
        Ok((self.conn.into_handle(), end, self.records))
    }

    pub(crate) fn into_handle(self) -> OwnedHandle {
        self.conn.into_handle()
    }
}

/// The connection, for everything but reads (which see the handle records first), `try_clone`
/// and the conversions: writes (`WriteFile`), `shutdown`, nonblocking mode, the timeouts and
/// their getters, and `peer_creds` (`GetNamedPipeClientProcessId` /
/// `GetNamedPipeServerProcessId`: the pid only).
impl Deref for Stream {
    type Target = Conn;
    #[inline]
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl AsHandle for Stream {
    fn as_handle(&self) -> BorrowedHandle<'_> {
        self.conn.as_handle()
    }
}
