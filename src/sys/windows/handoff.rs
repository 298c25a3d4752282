//! Moving the handles of a handle record (`handle_records`) from the sender's process to the
//! receiver's: the sender gives up duplicates in its own process, the receiver pulls them.
//!
//! # Why the receiver pulls
//! A safe `recv_with_handles` must never adopt a handle value it did not really receive.
//! A value the peer says it put into the receiver's process cannot be checked (it may name
//! a handle the receiver already owns), so nothing is put there: the sender duplicates each
//! handle into its *own* process (`DuplicateHandle`, not inheritable) and sends those
//! values; the receiver opens the process at the other end of the pipe — the id from
//! `GetNamedPipeClientProcessId`/`GetNamedPipeServerProcessId`, never from the record —
//! with `PROCESS_DUP_HANDLE` and pulls each value with
//! `DuplicateHandle(DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE)`. Whatever it gets is a
//! new handle in its own table, to an object the sender really had open; a value that is
//! not open in the sender fails (and then none is kept).
//!
//! Both ends in one process: a pull could then take one of the receiver's own handles, so
//! the sender instead parks its duplicates in a process-wide list and the receiver takes
//! them from there; a value not in the list is refused.
//!
//! # Who closes the sender's duplicates
//! The pull does (`DUPLICATE_CLOSE_SOURCE` closes the source even when the pull fails), or,
//! in one process, taking them from the list. The sender closes them itself only if the
//! record's head never reached the pipe whole (then nobody can have seen the values). It
//! does not close them later, e.g. when the stream is dropped: it cannot know whether the
//! receiver pulled them (the data may still be in the pipe, or taken a moment ago), and
//! once pulled the value can be reused by this process for another handle, which a late
//! close would hit. So the duplicates of a record that is never received stay open in the
//! sender until it exits (with both ends in one process: in the list). Likewise, handles
//! still in the pipe when the sender exits go with it: the receiver's pull then fails.
//!
//! # Who can pull
//! The receiver needs `PROCESS_DUP_HANDLE` on the sender's process, which a less privileged
//! process does not get on a more privileged one (or on another user's): then receiving
//! fails with the `OpenProcess` error. (That access is full power over the sender: a peer
//! that can pull could take any of its handles anyway.) The pipe names the processes that
//! opened its ends; an end passed on to another process cannot receive handles there.

use super::ends::{self, opener_pid, End};
use std::io;
use std::os::windows::io::{
    AsRawHandle, BorrowedHandle, FromRawHandle, IntoRawHandle, OwnedHandle,
};
use std::ptr;
use std::sync::Mutex;
use windows_sys::Win32::Foundation::{
    DuplicateHandle, DUPLICATE_CLOSE_SOURCE, DUPLICATE_SAME_ACCESS, HANDLE, STILL_ACTIVE,
};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, GetCurrentProcessId, GetExitCodeProcess, OpenProcess, PROCESS_DUP_HANDLE,
    PROCESS_QUERY_LIMITED_INFORMATION,
};

/// Duplicates given up for records to a receiver in this process, not taken yet.
static PARKED: Mutex<Vec<OwnedHandle>> = Mutex::new(Vec::new());

fn parked() -> std::sync::MutexGuard<'static, Vec<OwnedHandle>> {
    PARKED.lock().unwrap_or_else(|p| p.into_inner())
}

/// `GetCurrentProcessId`.
pub(super) fn this_process() -> u32 {
    // SAFETY: no preconditions.
    unsafe { GetCurrentProcessId() }
}

/// Sender: `DuplicateHandle(DUPLICATE_SAME_ACCESS)` of each handle within this process,
/// not inheritable. An error names the handle's position; the copies made so far close.
pub(super) fn duplicate_all(handles: &[BorrowedHandle<'_>]) -> io::Result<Vec<OwnedHandle>> {
    handles
        .iter()
        .enumerate()
        .map(|(i, h)| {
            ends::duplicate(*h).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot send handle #{i}: DuplicateHandle: {e}"),
                )
            })
        })
        .collect()
}

/// Which process opened the other end of a pipe, for a sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Peer {
    /// This one: a record's handles are parked for the receiver to take.
    ThisProcess,
    /// Another one: a record's handles are left open for that process to pull.
    OtherProcess,
}

/// Sender: gives up `copies` for a record, before its head is written: parked for a receiver
/// in this process, or left open for the peer process to pull. The values to send.
pub(super) fn give_up(copies: Vec<OwnedHandle>, peer: Peer) -> Vec<u64> {
    let values = copies
        .iter()
        .map(|c| c.as_raw_handle() as usize as u64)
        .collect();
    if peer == Peer::ThisProcess {
        parked().extend(copies);
    } else {
        for c in copies {
            let _ = c.into_raw_handle(); // the peer's pull closes it
        }
    }
    values
}

/// Sender: the head carrying `values` did not reach the pipe whole, so nobody saw them:
/// closes them (`CloseHandle`), from the parked list if the peer is in this process.
pub(super) fn take_back(values: &[u64], peer: Peer) {
    if peer == Peer::ThisProcess {
        parked().retain(|h| !values.contains(&(h.as_raw_handle() as usize as u64)));
        return;
    }
    for &v in values {
        let Ok(v) = usize::try_from(v) else {
            continue; // over usize::MAX: not a handle this process made (32-bit Windows)
        };
        // SAFETY: `v` is a duplicate this process made and gave up (`give_up`) for a record
        // whose head no peer has read whole, so nobody else uses or closes it.
        drop(unsafe { OwnedHandle::from_raw_handle(v as HANDLE) });
    }
}

/// Sender: which process opened the other end of the pipe (this one: the record's handles
/// are parked rather than left for a pull).
pub(super) fn peer(h: BorrowedHandle<'_>, end: End) -> io::Result<Peer> {
    Ok(if opener_pid(h, end.other())? == this_process() {
        Peer::ThisProcess
    } else {
        Peer::OtherProcess
    })
}

/// Where the receiving end of a pipe takes a record's handles from.
#[derive(Debug)]
pub(super) enum Source {
    /// The other end was opened by this process: from the parked list.
    Here { pid: u32 },
    /// From the process that opened the other end, opened with `PROCESS_DUP_HANDLE`.
    Process { process: OwnedHandle, pid: u32 },
}

impl Source {
    /// The pipe's peer process, for the receiving end `h`: `GetNamedPipe*ProcessId` for the
    /// other end (and this end), then `OpenProcess(PROCESS_DUP_HANDLE |
    /// PROCESS_QUERY_LIMITED_INFORMATION)` and `GetExitCodeProcess` (a process that has
    /// exited has no handles left, and its id may be reused: refused).
    pub(super) fn find(h: BorrowedHandle<'_>, end: End) -> io::Result<Self> {
        let what = "cannot receive handles";
        let pid = opener_pid(h, end.other()).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("{what}: the peer's process id is unknown (GetNamedPipe{{Client,Server}}ProcessId): {e}"),
            )
        })?;
        let me = this_process();
        if pid == me {
            return Ok(Self::Here { pid });
        }
        let own = opener_pid(h, end)?;
        if own == pid {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "{what}: both ends of this pipe were opened by process {pid} and this end was \
                     passed to this process ({me}); handles pass only between the processes \
                     that opened the two ends"
                ),
            ));
        }
        // SAFETY: plain arguments; a null result is checked.
        let raw = unsafe {
            OpenProcess(
                PROCESS_DUP_HANDLE | PROCESS_QUERY_LIMITED_INFORMATION,
                0,
                pid,
            )
        };
        if raw.is_null() {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!(
                    "{what} from process {pid}: OpenProcess(PROCESS_DUP_HANDLE): {e}; the \
                     receiver needs PROCESS_DUP_HANDLE access to the sending process"
                ),
            ));
        }
        // SAFETY: `raw` is a fresh handle owned by nobody else.
        let process = unsafe { OwnedHandle::from_raw_handle(raw) };
        let mut code = 0u32;
        // SAFETY: `process` is open with PROCESS_QUERY_LIMITED_INFORMATION; `code` is
        // valid for writes.
        let ok = unsafe { GetExitCodeProcess(process.as_raw_handle(), &mut code) };
        if ok == 0 || code != STILL_ACTIVE as u32 {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                format!("{what} from process {pid}: it has exited, and its handles with it"),
            ));
        }
        Ok(Self::Process { process, pid })
    }

    /// The sending process's id.
    pub(super) fn pid(&self) -> u32 {
        match self {
            Self::Here { pid } | Self::Process { pid, .. } => *pid,
        }
    }

    /// Receiver: takes the handles a record names, all or none. `Here`: out of the parked
    /// list. `Process`: `DuplicateHandle(process, value, this process,
    /// DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE)` for each value (every value is
    /// pulled even after a failure, so the sender's copies close). The error says which
    /// value was not there, for an `InvalidData` message.
    pub(super) fn take(&self, values: &[usize]) -> Result<Vec<OwnedHandle>, String> {
        match self {
            Self::Here { pid } => {
                let mut list = parked();
                let mut taken = Vec::with_capacity(values.len());
                for &v in values {
                    match list.iter().position(|h| h.as_raw_handle() as usize == v) {
                        Some(at) => taken.push(list.swap_remove(at)),
                        None => {
                            list.append(&mut taken); // put back: all or none
                            return Err(format!(
                                "handle value {v:#x} was not given up for a record by this \
                                 process ({pid}, where both ends are), or it is named twice; \
                                 none was taken"
                            ));
                        }
                    }
                }
                Ok(taken)
            }
            Self::Process { process, pid } => {
                let mut got = Vec::with_capacity(values.len());
                let mut failed = None;
                for &v in values {
                    match pull(process.as_raw_handle(), v) {
                        Ok(h) => got.push(h),
                        Err(e) => {
                            failed.get_or_insert((v, e));
                        }
                    }
                }
                match failed {
                    None => Ok(got),
                    Some((v, e)) => Err(format!(
                        "handle value {v:#x} is not an open handle in the sending process {pid} \
                         (DuplicateHandle: {e}); none of the record's {} handles was kept",
                        values.len()
                    )),
                }
            }
        }
    }
}

/// `DuplicateHandle(process, value, this process, DUPLICATE_SAME_ACCESS |
/// DUPLICATE_CLOSE_SOURCE)`, not inheritable.
fn pull(process: HANDLE, value: usize) -> io::Result<OwnedHandle> {
    let mut new: HANDLE = ptr::null_mut();
    // SAFETY: `process` is open with PROCESS_DUP_HANDLE and is another process, so `value`
    // is looked up (and closed) in its table, never in ours; `new` is valid for writes.
    let ok = unsafe {
        DuplicateHandle(
            process,
            value as HANDLE,
            GetCurrentProcess(),
            &mut new,
            0,
            0,
            DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` is a fresh handle in this process, owned by nobody else.
    Ok(unsafe { OwnedHandle::from_raw_handle(new) })
}
