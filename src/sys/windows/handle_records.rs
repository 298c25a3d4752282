//! Passing handles over local-socket streams. Pipes carry bytes only, so the sender
//! duplicates each handle within its own process and writes those values, with the data,
//! as one *record*; the receiver parses records and pulls the values out of the sender's
//! process (`handoff`: `OpenProcess(PROCESS_DUP_HANDLE)`, `DuplicateHandle` with
//! `DUPLICATE_CLOSE_SOURCE`), so that it only ever owns handles it really received.
//!
//! # Wire format
//! A record is a 16-byte header, the handle values, then the data: see `sys::record`, where
//! the format is parsed and built (and unit-tested on every platform).
//!
//! The sync stream writes the header and values (the *head*) in one `WriteFile` and the
//! data in a second: the receiver pulls the values only once it has read the whole head,
//! so if the head write fails, the values are still unseen and the sender closes its
//! copies. Records without handles go in one write (two above 64 KiB, to avoid the copy).
//! Record writes wait as long as it takes, whatever the timeout or nonblocking mode: a
//! cancelled pipe write does not say how much of it was read, and a cut record would put
//! the stream out of step. (The tokio stream writes a record in one mio write instead:
//! `tokio::handles`.)
//!
//! The receiving state (a head read in part, data still to come) lives in [`Records`],
//! shared by the clones of a stream, so a read that times out (or, on the tokio stream,
//! finds no bytes, or whose future is dropped) loses nothing, and plain reads can take the
//! rest of a record's data. The decoder is the same for both streams: it reads through a
//! [`RecordPipe`].

use super::conn::Conn;
use super::ends::End;
use super::handoff::{self, Peer, Source};
use super::Stream;
use crate::sys::record::{self, Header, HEADER};
use std::io;
use std::os::windows::io::{AsHandle, BorrowedHandle, OwnedHandle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// The most handles one call sends or receives: Linux's `SCM_MAX_FD`, the same on every
/// platform so programs stay portable.
pub(crate) const MAX_HANDLES: usize = record::MAX_HANDLES;
/// Records without handles up to this much data are copied into one write.
const ONE_WRITE: usize = 64 * 1024;

/// Handle-record state of one stream, shared by its clones.
#[derive(Debug, Default)]
pub(crate) struct Records {
    /// Data of a received record is still to be read (`RecvState::left > 0`).
    in_record: AtomicBool,
    recv: Mutex<RecvState>,
    /// Serialises the sync stream's record writes, so that a head and its data stay
    /// together.
    send: Mutex<()>,
    /// Which process opened the other end (this one: sending parks the copies), asked on
    /// the first send with handles.
    peer: OnceLock<Peer>,
    /// Where received handles come from, found on the first record with handles; an opened
    /// process stays open, so that its id cannot be reused meanwhile.
    source: OnceLock<Source>,
}

#[derive(Debug, Default)]
struct RecvState {
    /// Bytes of the next record's head read so far.
    head: Vec<u8>,
    /// Handles of the current record not handed out yet (its data read failed or found
    /// nothing yet).
    handles: Vec<OwnedHandle>,
    /// Data bytes of the current record still to be read.
    left: u32,
    /// Why the stream is out of step (a malformed record was read).
    broken: Option<String>,
}

/// The pipe end records are read from and written to: the sync [`Conn`], or the tokio
/// stream's pipe (`tokio`).
pub(super) trait RecordPipe {
    /// Some bytes of the stream into `buf` (never empty): 0 at end of file. An error
    /// (`WouldBlock` when nothing is there, a timeout) leaves the decoder's state as it
    /// was before the read, so the next call resumes.
    fn read_some(&self, buf: &mut [u8]) -> io::Result<usize>;
    /// The pipe handle, for finding the peer process.
    fn pipe(&self) -> BorrowedHandle<'_>;
    /// Which end of the pipe this is.
    fn end(&self) -> io::Result<End>;
}

/// The sync stream reads with its `ReadFile` (which waits as the stream's timeout and
/// nonblocking mode say).
impl RecordPipe for Conn {
    fn read_some(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.read(buf)
    }
    fn pipe(&self) -> BorrowedHandle<'_> {
        self.as_handle()
    }
    fn end(&self) -> io::Result<End> {
        Conn::end(self)
    }
}

fn invalid_input(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Marks the stream out of step and returns the error for it.
fn malformed(st: &mut RecvState, why: String) -> io::Error {
    let err = io::Error::new(
        io::ErrorKind::InvalidData,
        format!("cannot receive handles: malformed handle record: {why}"),
    );
    st.broken = Some(why);
    err
}

/// The checks of a send, before anything is made or written: at most [`MAX_HANDLES`]
/// handles, and handles only with data. The data that one record carries (cut to
/// `u32::MAX` bytes); empty only if there is nothing to send (then send nothing, `Ok(0)`).
pub(super) fn check_send<'d>(
    data: &'d [u8],
    handles: &[BorrowedHandle<'_>],
) -> io::Result<&'d [u8]> {
    if handles.len() > MAX_HANDLES {
        return Err(invalid_input(format!(
            "cannot send {} handles in one call: the limit is {MAX_HANDLES}",
            handles.len()
        )));
    }
    if data.is_empty() && !handles.is_empty() {
        return Err(invalid_input(format!(
            "cannot send {} handles without data: handles travel with at least one byte",
            handles.len()
        )));
    }
    Ok(&data[..data.len().min(u32::MAX as usize)])
}

/// The check of a receive: a buffer to put at least one byte in.
pub(super) fn check_recv(buf: &[u8]) -> io::Result<()> {
    if buf.is_empty() {
        return Err(invalid_input(
            "cannot receive into an empty buffer: handles travel with at least one byte".into(),
        ));
    }
    Ok(())
}

/// A record's head, ready to write, and the duplicates its values name.
#[derive(Debug)]
pub(super) struct Head {
    /// The header and the values.
    pub(super) bytes: Vec<u8>,
    /// The duplicates given up (empty without handles).
    values: Vec<u64>,
    peer: Peer,
}

impl Head {
    /// How many handles the record carries.
    pub(super) fn count(&self) -> usize {
        self.values.len()
    }

    /// The head did not reach the pipe (no write of it was submitted, or it was cut before
    /// its end), so nobody can have pulled its values: closes the duplicates
    /// (`handoff::take_back`). Never after the head may have been read.
    pub(super) fn take_back(self) {
        if !self.values.is_empty() {
            handoff::take_back(&self.values, self.peer);
        }
    }

    /// The error of a head write that failed, its duplicates closed (`take_back`).
    pub(super) fn failed(self, e: io::Error) -> io::Error {
        if self.values.is_empty() {
            return e;
        }
        self.take_back();
        io::Error::new(
            e.kind(),
            format!("cannot send handles: {e} (the duplicates were closed)"),
        )
    }
}

impl Records {
    /// Whether a received record's data is still to be read.
    pub(super) fn in_record(&self) -> bool {
        self.in_record.load(Ordering::Acquire)
    }

    fn recv_state(&self) -> MutexGuard<'_, RecvState> {
        self.recv.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The head of a record of `len` bytes of data (checked with [`check_send`]) with
    /// `handles`: each handle duplicated within this process (`DuplicateHandle`), the
    /// duplicates given up for the peer (`handoff::give_up`; the peer's process asked once,
    /// `GetNamedPipeClientProcessId`/`GetNamedPipeServerProcessId`), their values after the
    /// header. The caller writes it, and on failure before any of it may have been read,
    /// calls [`Head::failed`].
    pub(super) fn head(
        &self,
        pipe: &impl RecordPipe,
        len: usize,
        handles: &[BorrowedHandle<'_>],
    ) -> io::Result<Head> {
        let mut header = Header {
            count: handles.len(),
            len: u32::try_from(len).unwrap_or(u32::MAX), // checked by `check_send`
            pid: 0,
        };
        if handles.is_empty() {
            return Ok(Head {
                bytes: header.encode().to_vec(),
                values: Vec::new(),
                peer: Peer::OtherProcess,
            });
        }
        header.pid = handoff::this_process();
        let copies = handoff::duplicate_all(handles)?;
        let peer = self.peer(pipe)?;
        let values = handoff::give_up(copies, peer);
        let mut bytes = header.encode().to_vec();
        bytes.extend(record::encode_values(&values));
        Ok(Head {
            bytes,
            values,
            peer,
        })
    }

    /// Which process opened the other end of the pipe (asked once):
    /// `GetNamedPipeClientProcessId`/`GetNamedPipeServerProcessId`.
    fn peer(&self, pipe: &impl RecordPipe) -> io::Result<Peer> {
        if let Some(&peer) = self.peer.get() {
            return Ok(peer);
        }
        let peer = handoff::peer(pipe.pipe(), pipe.end()?).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot pass handles: the peer's process id is unknown \
                     (GetNamedPipeClientProcessId/GetNamedPipeServerProcessId): {e}"
                ),
            )
        })?;
        Ok(*self.peer.get_or_init(|| peer))
    }

    /// Where this end receives handles from (found once): see `handoff::Source::find`.
    fn source(&self, pipe: &impl RecordPipe) -> io::Result<&Source> {
        if let Some(source) = self.source.get() {
            return Ok(source);
        }
        let source = Source::find(pipe.pipe(), pipe.end()?)?;
        Ok(self.source.get_or_init(|| source))
    }

    /// Reads one record, or the rest of one, from `pipe` (module docs); see
    /// `LocalSocketStream::recv_with_handles`. `buf` is not empty ([`check_recv`]). A read
    /// error (`WouldBlock`, a timeout) leaves what was read so far here, for the next call.
    pub(super) fn recv(
        &self,
        pipe: &impl RecordPipe,
        buf: &mut [u8],
        out: &mut Vec<OwnedHandle>,
    ) -> io::Result<usize> {
        check_recv(buf)?;
        let room = (out.capacity() - out.len()).min(MAX_HANDLES);
        let mut st = self.recv_state();
        if let Some(why) = &st.broken {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("cannot receive handles: the stream is out of step since a handle record that could not be received ({why})"),
            ));
        }
        if st.left == 0 && !self.read_head(pipe, &mut st)? {
            return Ok(0);
        }
        if st.handles.len() > room {
            let got = st.handles.len();
            st.handles.clear(); // CloseHandle on each: nothing leaks
            let n = self.read_data(pipe, &mut st, buf).unwrap_or(0);
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "received {n} bytes with more handles than the {room} the handles vector had \
                     spare capacity for ({got} arrived); all were closed. Reserve capacity \
                     (Vec::with_capacity) for the handles expected"
                ),
            ));
        }
        let n = self.read_data(pipe, &mut st, buf)?;
        out.append(&mut st.handles);
        Ok(n)
    }

    /// Reads the next record's head (resuming one read in part) and adopts its handles.
    /// `Ok(false)`: end of file before the record.
    fn read_head(&self, pipe: &impl RecordPipe, st: &mut RecvState) -> io::Result<bool> {
        let header = loop {
            let mut want = HEADER;
            if st.head.len() >= HEADER {
                let header = Header::parse(&st.head).map_err(|why| malformed(st, why))?;
                want = header.head_len();
                if st.head.len() == want {
                    break header;
                }
            }
            let have = st.head.len();
            st.head.resize(want, 0);
            let read = pipe.read_some(&mut st.head[have..]);
            st.head.truncate(have + *read.as_ref().unwrap_or(&0));
            match read? {
                0 if have == 0 => return Ok(false),
                0 => {
                    st.head.clear();
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("cannot receive handles: the stream ended inside a handle record's head ({have} of {want} bytes)"),
                    ));
                }
                _ => {}
            }
        };
        let values = record::parse_values(&st.head[HEADER..]).map_err(|why| malformed(st, why))?;
        st.head.clear();
        if !values.is_empty() {
            st.handles = self.take_handles(pipe, st, header.pid, &values)?;
        }
        st.left = header.len;
        self.in_record.store(true, Ordering::Release);
        Ok(true)
    }

    /// Pulls a record's handles from the pipe's peer process (module `handoff`): all or
    /// none. Any failure leaves the stream out of step (the record's data is not read).
    fn take_handles(
        &self,
        pipe: &impl RecordPipe,
        st: &mut RecvState,
        sender: u32,
        values: &[usize],
    ) -> io::Result<Vec<OwnedHandle>> {
        let source = match self.source(pipe) {
            Ok(source) => source,
            Err(e) => {
                st.broken = Some(e.to_string());
                return Err(e);
            }
        };
        if sender != source.pid() {
            return Err(malformed(
                st,
                format!(
                    "it says its handles are in process {sender}, but the process at the other \
                     end of the pipe is {}",
                    source.pid()
                ),
            ));
        }
        source.take(values).map_err(|why| malformed(st, why))
    }

    /// One read of the current record's data, at most `buf.len()` bytes.
    fn read_data(
        &self,
        pipe: &impl RecordPipe,
        st: &mut RecvState,
        buf: &mut [u8],
    ) -> io::Result<usize> {
        let want = buf.len().min(st.left as usize);
        let n = pipe.read_some(&mut buf[..want])?;
        if n == 0 {
            let left = st.left;
            st.left = 0;
            st.handles.clear();
            self.in_record.store(false, Ordering::Release);
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the stream ended {left} bytes before the end of a handle record's data"),
            ));
        }
        st.left -= u32::try_from(n).unwrap_or(st.left); // n <= want <= st.left
        if st.left == 0 {
            self.in_record.store(false, Ordering::Release);
        }
        Ok(n)
    }

    /// A plain read while a record's data is still to come: from that data only. Handles of
    /// that record not handed out yet cannot be returned here, and are closed. Once the
    /// record is over (another reader finished it meanwhile), a plain read of `pipe`.
    pub(super) fn read_rest(&self, pipe: &impl RecordPipe, buf: &mut [u8]) -> io::Result<usize> {
        let mut st = self.recv_state();
        if st.left == 0 {
            drop(st);
            return if buf.is_empty() {
                Ok(0)
            } else {
                pipe.read_some(buf)
            };
        }
        st.handles.clear();
        if buf.is_empty() {
            return Ok(0);
        }
        self.read_data(pipe, &mut st, buf)
    }
}

impl Stream {
    /// Writes one record (module docs); see `LocalSocketStream::send_with_handles`.
    pub(crate) fn send_with_handles(
        &self,
        data: &[u8],
        handles: &[BorrowedHandle<'_>],
    ) -> io::Result<usize> {
        let data = check_send(data, handles)?;
        if data.is_empty() {
            return Ok(0);
        }
        let _one_at_a_time = self.records.send.lock().unwrap_or_else(|p| p.into_inner());
        let mut head = self.records.head(&self.conn, data.len(), handles)?;
        if head.count() == 0 {
            if data.len() <= ONE_WRITE {
                head.bytes.extend_from_slice(data);
                self.write_whole(&head.bytes)?;
            } else {
                self.write_whole(&head.bytes)?;
                self.write_whole(data)?;
            }
            return Ok(data.len());
        }
        if let Err(e) = self.write_whole(&head.bytes) {
            // The head did not reach the pipe whole: the peer cannot have taken the values.
            return Err(head.failed(e));
        }
        let count = head.count();
        self.write_whole(data).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot send the data of a handle record: {e}; its {count} handles went \
                     ahead and are the peer's; the stream is out of step"
                ),
            )
        })?;
        Ok(data.len())
    }

    /// `WriteFile` until all of `buf` is in the pipe, ignoring timeouts.
    fn write_whole(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.conn.write_unbounded(buf)? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    /// Reads one record, or the rest of one (module docs): `ReadFile`s of the pipe; see
    /// `LocalSocketStream::recv_with_handles`.
    pub(crate) fn recv_with_handles(
        &self,
        buf: &mut [u8],
        out: &mut Vec<OwnedHandle>,
    ) -> io::Result<usize> {
        self.records.recv(&self.conn, buf, out)
    }

    /// A plain read while a handle record's data is still to come: [`Records::read_rest`].
    pub(super) fn read_record_rest(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.records.read_rest(&self.conn, buf)
    }
}
