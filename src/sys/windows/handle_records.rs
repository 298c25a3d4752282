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
//! With handles, the header and values (the *head*) go in one `WriteFile` and the data in
//! a second: the receiver pulls the values only once it has read the whole head, so if
//! the head write fails, the values are still unseen and the sender closes its copies.
//! Records without handles go in one write (two above 64 KiB, to avoid the copy). Record
//! writes wait as long as it takes, whatever the timeout or nonblocking mode: a cancelled
//! pipe write does not say how much of it was read, and a cut record would put the stream
//! out of step.
//!
//! The receiving state (a head read in part, data still to come) lives in [`Records`],
//! shared by the clones of a stream, so a read that times out loses nothing, and plain
//! reads can take the rest of a record's data.

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
    /// Serialises record writes, so that a head and its data stay together.
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
    /// Handles of the current record not handed out yet (its data read failed).
    handles: Vec<OwnedHandle>,
    /// Data bytes of the current record still to be read.
    left: u32,
    /// Why the stream is out of step (a malformed record was read).
    broken: Option<String>,
}

impl Records {
    /// Whether a received record's data is still to be read.
    pub(super) fn in_record(&self) -> bool {
        self.in_record.load(Ordering::Acquire)
    }

    fn recv_state(&self) -> MutexGuard<'_, RecvState> {
        self.recv.lock().unwrap_or_else(|p| p.into_inner())
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

impl Stream {
    /// Writes one record (module docs); see `LocalSocketStream::send_with_handles`.
    pub(crate) fn send_with_handles(
        &self,
        data: &[u8],
        handles: &[BorrowedHandle<'_>],
    ) -> io::Result<usize> {
        if handles.len() > MAX_HANDLES {
            return Err(invalid_input(format!(
                "cannot send {} handles in one call: the limit is {MAX_HANDLES}",
                handles.len()
            )));
        }
        if data.is_empty() {
            if handles.is_empty() {
                return Ok(0);
            }
            return Err(invalid_input(format!(
                "cannot send {} handles without data: handles travel with at least one byte",
                handles.len()
            )));
        }
        let data = &data[..data.len().min(u32::MAX as usize)];
        let _one_at_a_time = self.records.send.lock().unwrap_or_else(|p| p.into_inner());
        let mut header = Header {
            count: handles.len(),
            len: u32::try_from(data.len()).unwrap_or(u32::MAX), // cut to that above
            pid: 0,
        };
        if handles.is_empty() {
            let mut head = header.encode().to_vec();
            if data.len() <= ONE_WRITE {
                head.extend_from_slice(data);
                self.write_whole(&head)?;
            } else {
                self.write_whole(&head)?;
                self.write_whole(data)?;
            }
            return Ok(data.len());
        }
        header.pid = handoff::this_process();
        let copies = handoff::duplicate_all(handles)?;
        let peer = self.peer()?;
        let values = handoff::give_up(copies, peer);
        let mut head = header.encode().to_vec();
        head.extend(record::encode_values(&values));
        if let Err(e) = self.write_whole(&head) {
            // The head did not reach the pipe whole: the peer cannot have taken the values.
            handoff::take_back(&values, peer);
            return Err(io::Error::new(
                e.kind(),
                format!("cannot send handles: {e} (the duplicates were closed)"),
            ));
        }
        self.write_whole(data).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot send the data of a handle record: {e}; its {} handles went ahead \
                     and are the peer's; the stream is out of step",
                    values.len()
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

    /// Which process opened the other end of the pipe (asked once):
    /// `GetNamedPipeClientProcessId`/`GetNamedPipeServerProcessId`.
    fn peer(&self) -> io::Result<Peer> {
        if let Some(&peer) = self.records.peer.get() {
            return Ok(peer);
        }
        let peer = handoff::peer(self.conn.as_handle(), self.conn.end()?).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot pass handles: the peer's process id is unknown \
                     (GetNamedPipeClientProcessId/GetNamedPipeServerProcessId): {e}"
                ),
            )
        })?;
        Ok(*self.records.peer.get_or_init(|| peer))
    }

    /// Where this end receives handles from (found once): see `handoff::Source::find`.
    fn source(&self) -> io::Result<&Source> {
        if let Some(source) = self.records.source.get() {
            return Ok(source);
        }
        let source = Source::find(self.conn.as_handle(), self.conn.end()?)?;
        Ok(self.records.source.get_or_init(|| source))
    }

    /// Reads one record, or the rest of one (module docs); see
    /// `LocalSocketStream::recv_with_handles`.
    pub(crate) fn recv_with_handles(
        &self,
        buf: &mut [u8],
        out: &mut Vec<OwnedHandle>,
    ) -> io::Result<usize> {
        if buf.is_empty() {
            return Err(invalid_input(
                "cannot receive into an empty buffer: handles travel with at least one byte".into(),
            ));
        }
        let room = (out.capacity() - out.len()).min(MAX_HANDLES);
        let mut st = self.records.recv_state();
        if let Some(why) = &st.broken {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("cannot receive handles: the stream is out of step since a handle record that could not be received ({why})"),
            ));
        }
        if st.left == 0 && !self.read_head(&mut st)? {
            return Ok(0);
        }
        if st.handles.len() > room {
            let got = st.handles.len();
            st.handles.clear(); // CloseHandle on each: nothing leaks
            let n = self.read_data(&mut st, buf).unwrap_or(0);
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "received {n} bytes with more handles than the {room} the handles vector had \
                     spare capacity for ({got} arrived); all were closed. Reserve capacity \
                     (Vec::with_capacity) for the handles expected"
                ),
            ));
        }
        let n = self.read_data(&mut st, buf)?;
        out.append(&mut st.handles);
        Ok(n)
    }

    /// Reads the next record's head (resuming one read in part) and adopts its handles.
    /// `Ok(false)`: end of file before the record.
    fn read_head(&self, st: &mut RecvState) -> io::Result<bool> {
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
            let read = self.conn.read(&mut st.head[have..]);
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
            st.handles = self.take_handles(st, header.pid, &values)?;
        }
        st.left = header.len;
        self.records.in_record.store(true, Ordering::Release);
        Ok(true)
    }

    /// Pulls a record's handles from the pipe's peer process (module `handoff`): all or
    /// none. Any failure leaves the stream out of step (the record's data is not read).
    fn take_handles(
        &self,
        st: &mut RecvState,
        sender: u32,
        values: &[usize],
    ) -> io::Result<Vec<OwnedHandle>> {
        let source = match self.source() {
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

    /// One `ReadFile` of the current record's data, at most `buf.len()` bytes.
    fn read_data(&self, st: &mut RecvState, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min(st.left as usize);
        let n = self.conn.read(&mut buf[..want])?;
        if n == 0 {
            let left = st.left;
            st.left = 0;
            st.handles.clear();
            self.records.in_record.store(false, Ordering::Release);
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the stream ended {left} bytes before the end of a handle record's data"),
            ));
        }
        st.left -= u32::try_from(n).unwrap_or(st.left); // n <= want <= st.left
        if st.left == 0 {
            self.records.in_record.store(false, Ordering::Release);
        }
        Ok(n)
    }

    /// A plain read while a record's data is still to come: from that data only. Handles of
    /// that record not handed out yet cannot be returned here, and are closed.
    pub(super) fn read_record_rest(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut st = self.records.recv_state();
        if st.left == 0 {
            drop(st);
            return self.conn.read(buf);
        }
        st.handles.clear();
        if buf.is_empty() {
            return Ok(0);
        }
        self.read_data(&mut st, buf)
    }
}
