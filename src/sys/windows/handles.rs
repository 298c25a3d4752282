//! Passing handles over local-socket streams. Pipes carry bytes only, so the sender
//! duplicates each handle into the peer process (`OpenProcess(PROCESS_DUP_HANDLE)`,
//! `DuplicateHandle`) and writes the new values, with the data, as one *record*; the
//! receiver parses records and takes ownership of the values.
//!
//! # Wire format
//! A record is a 16-byte header, the handle values, then the data: see `sys::record`, where
//! the format is parsed and built (and unit-tested on every platform).
//!
//! With handles, the header and values (the *head*) go in one `WriteFile` and the data in
//! a second: the receiver adopts the values only once it has read the whole head, so if
//! the head write fails, the values are still unseen and are closed in the peer
//! (`DuplicateHandle(DUPLICATE_CLOSE_SOURCE)`). Records without handles go in one write
//! (two above 64 KiB, to avoid the copy). Record writes wait as long as it takes, whatever
//! the timeout or nonblocking mode: a cancelled pipe write does not say how much of it was
//! read, and a cut record would put the stream out of step.
//!
//! The receiving state (a head read in part, data still to come) lives in [`Records`],
//! shared by the clones of a stream, so a read that times out loses nothing, and plain
//! reads can take the rest of a record's data.

use super::Stream;
use crate::sys::record::{self, Header, HEADER};
use std::io;
use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle, FromRawHandle, OwnedHandle};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use windows_sys::Win32::Foundation::{
    DuplicateHandle, DUPLICATE_CLOSE_SOURCE, ERROR_BROKEN_PIPE, ERROR_NO_DATA,
    ERROR_PIPE_NOT_CONNECTED, HANDLE,
};
use windows_sys::Win32::System::Pipes::PeekNamedPipe;
use windows_sys::Win32::System::Threading::{GetCurrentProcessId, OpenProcess, PROCESS_DUP_HANDLE};

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
    /// The peer process (`PROCESS_DUP_HANDLE`) and its id, opened on the first send with
    /// handles and kept, so that the id cannot be reused by another process meanwhile.
    peer: OnceLock<(OwnedHandle, u32)>,
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

/// `DuplicateHandle(DUPLICATE_SAME_ACCESS)` into `peer`, not inheritable: the new value.
fn duplicate_into(peer: HANDLE, h: BorrowedHandle<'_>) -> io::Result<u64> {
    // SAFETY: `peer` was opened with PROCESS_DUP_HANDLE (`peer_process`).
    let new = unsafe { super::ends::duplicate_into(peer, h) }?;
    Ok(new as usize as u64)
}

/// `DuplicateHandle(DUPLICATE_CLOSE_SOURCE)` with no target: closes handles this process
/// duplicated into `peer` and the peer has not seen.
fn close_in_peer(peer: HANDLE, values: &[u64]) {
    for &v in values {
        // SAFETY: `v` was made by `duplicate_into` for `peer`, which does not know it (its
        // record head was never written whole), so nothing there uses or closes it.
        unsafe {
            DuplicateHandle(
                peer,
                v as usize as HANDLE,
                ptr::null_mut(),
                ptr::null_mut(),
                0,
                0,
                DUPLICATE_CLOSE_SOURCE,
            )
        };
    }
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
            len: data.len() as u32,
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
        let (peer, pid) = self.peer_process()?;
        header.pid = pid;
        let mut values = Vec::with_capacity(handles.len());
        for (i, h) in handles.iter().enumerate() {
            match duplicate_into(peer, *h) {
                Ok(v) => values.push(v),
                Err(e) => {
                    close_in_peer(peer, &values);
                    return Err(io::Error::new(
                        e.kind(),
                        format!("cannot pass handle #{i} to process {pid} (DuplicateHandle): {e}"),
                    ));
                }
            }
        }
        let mut head = header.encode().to_vec();
        head.extend(record::encode_values(&values));
        if let Err(e) = self.write_whole(&head) {
            // The head did not reach the pipe whole: the peer cannot have taken the values.
            close_in_peer(peer, &values);
            return Err(io::Error::new(
                e.kind(),
                format!("cannot send handles: {e} (the duplicates were closed in the peer)"),
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

    /// The peer process and its id (opened once): `GetNamedPipe{Client,Server}ProcessId`,
    /// `OpenProcess(PROCESS_DUP_HANDLE)`, then `PeekNamedPipe` to check the pipe is still
    /// connected, so the id was not that of a peer gone and reused meanwhile.
    fn peer_process(&self) -> io::Result<(HANDLE, u32)> {
        if let Some((h, pid)) = self.records.peer.get() {
            return Ok((h.as_raw_handle(), *pid));
        }
        let pid = self.conn.peer_pid().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot pass handles: the peer's process id is unknown \
                     (GetNamedPipeClientProcessId/GetNamedPipeServerProcessId): {e}"
                ),
            )
        })?;
        // SAFETY: plain arguments; a null result is checked.
        let raw = unsafe { OpenProcess(PROCESS_DUP_HANDLE, 0, pid) };
        if raw.is_null() {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "cannot pass handles to process {pid}: OpenProcess(PROCESS_DUP_HANDLE): {e}"
                ),
            ));
        }
        // SAFETY: `raw` is a fresh handle owned by nobody else.
        let process = unsafe { OwnedHandle::from_raw_handle(raw) };
        let mut avail = 0u32;
        // SAFETY: the pipe handle is open; `avail` is valid for writes, the rest is null.
        let ok = unsafe {
            PeekNamedPipe(
                self.conn.as_handle().as_raw_handle(),
                ptr::null_mut(),
                0,
                ptr::null_mut(),
                &mut avail,
                ptr::null_mut(),
            )
        };
        if ok == 0 {
            let e = io::Error::last_os_error();
            let gone = matches!(
                e.raw_os_error().map(|c| c as u32),
                Some(ERROR_BROKEN_PIPE | ERROR_PIPE_NOT_CONNECTED | ERROR_NO_DATA)
            );
            return Err(io::Error::new(
                if gone {
                    io::ErrorKind::BrokenPipe
                } else {
                    e.kind()
                },
                format!("cannot pass handles: the peer has closed the pipe (PeekNamedPipe: {e})"),
            ));
        }
        let (h, pid) = self.records.peer.get_or_init(|| (process, pid));
        Ok((h.as_raw_handle(), *pid))
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
                format!("cannot receive handles: the stream is out of step since a malformed handle record ({why})"),
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
        // SAFETY: GetCurrentProcessId has no preconditions.
        let me = unsafe { GetCurrentProcessId() };
        let header = loop {
            let mut want = HEADER;
            if st.head.len() >= HEADER {
                let header = Header::parse(&st.head, me).map_err(|why| malformed(st, why))?;
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
        st.handles = values
            .into_iter()
            // SAFETY: the header says the peer duplicated these into this process for this
            // record, so they are open and owned by nobody else here. A peer that lies can
            // name handles this process already owns: the documented trust model.
            .map(|v| unsafe { OwnedHandle::from_raw_handle(v as HANDLE) })
            .collect();
        st.left = header.len;
        self.records.in_record.store(true, Ordering::Release);
        Ok(true)
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
        st.left -= n as u32;
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
