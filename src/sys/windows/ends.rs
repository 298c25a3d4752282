//! A pipe end as such, whoever owns it (local sockets, `os::windows::named_pipe`, the tokio
//! streams): which end it is ([`End`]), copies of its handle, its read mode, the ids of the
//! processes that opened the two ends, and the end-of-file marker ([`EofMarker`]) that
//! stands in for a half-close.

use super::overlapped::{self, Wait};
use std::io;
use std::os::windows::io::{AsRawHandle, BorrowedHandle, FromRawHandle, OwnedHandle};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{DuplicateHandle, DUPLICATE_SAME_ACCESS, HANDLE};
use windows_sys::Win32::Storage::FileSystem::{FlushFileBuffers, WriteFile};
use windows_sys::Win32::System::Pipes::{
    GetNamedPipeClientProcessId, GetNamedPipeHandleStateW, GetNamedPipeInfo,
    GetNamedPipeServerProcessId, SetNamedPipeHandleState, PIPE_READMODE_MESSAGE, PIPE_SERVER_END,
};
use windows_sys::Win32::System::Threading::GetCurrentProcess;
use windows_sys::Win32::System::IO::CancelIoEx;

/// Which end of a pipe a handle is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    Server,
    Client,
}

impl End {
    /// The end across the pipe.
    pub(crate) fn other(self) -> Self {
        match self {
            Self::Server => Self::Client,
            Self::Client => Self::Server,
        }
    }
}

/// `DuplicateHandle(DUPLICATE_SAME_ACCESS)` within this process, not inheritable.
pub(crate) fn duplicate(h: BorrowedHandle<'_>) -> io::Result<OwnedHandle> {
    let mut new: HANDLE = ptr::null_mut();
    // SAFETY: `h` is open; GetCurrentProcess is a pseudo-handle, valid as source and
    // target; `new` is valid for writes.
    let ok = unsafe {
        DuplicateHandle(
            GetCurrentProcess(),
            h.as_raw_handle(),
            GetCurrentProcess(),
            &mut new,
            0,
            0,
            DUPLICATE_SAME_ACCESS,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` is a fresh handle in this process, owned by nobody else.
    Ok(unsafe { OwnedHandle::from_raw_handle(new) })
}

/// `GetNamedPipeInfo`: which end `h` is.
pub(crate) fn query_end(h: BorrowedHandle<'_>) -> io::Result<End> {
    let mut flags = 0;
    // SAFETY: `flags` is valid for writes; the other outputs are not wanted.
    let ok = unsafe {
        GetNamedPipeInfo(
            h.as_raw_handle(),
            &mut flags,
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(if flags & PIPE_SERVER_END != 0 {
        End::Server
    } else {
        End::Client
    })
}

/// How a `ReadFile` on a handle divides the data (set per handle).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadMode {
    /// `PIPE_READMODE_BYTE`: as much as there is, across message boundaries.
    Bytes,
    /// `PIPE_READMODE_MESSAGE`: (part of) one message; `ERROR_MORE_DATA` if it goes on. Only
    /// on a pipe of message type.
    Messages,
}

/// `GetNamedPipeHandleStateW`: the read mode of `h`.
pub(crate) fn read_mode(h: BorrowedHandle<'_>) -> io::Result<ReadMode> {
    let mut state = 0;
    // SAFETY: `state` is valid for writes; the other outputs are not wanted.
    let ok = unsafe {
        GetNamedPipeHandleStateW(
            h.as_raw_handle(),
            &mut state,
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
            0,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(if state & PIPE_READMODE_MESSAGE != 0 {
        ReadMode::Messages
    } else {
        ReadMode::Bytes
    })
}

/// `SetNamedPipeHandleState(PIPE_READMODE_MESSAGE)`: `h` reads (part of) one message per
/// `ReadFile` from now on. Fails on a pipe of byte type (`ERROR_INVALID_PARAMETER`) and on a
/// handle that is no pipe.
pub(crate) fn set_message_reads(h: BorrowedHandle<'_>) -> io::Result<()> {
    let mode = PIPE_READMODE_MESSAGE;
    // SAFETY: `h` is an open pipe handle; `mode` is a valid u32; the other inputs are not
    // given.
    let ok = unsafe { SetNamedPipeHandleState(h.as_raw_handle(), &mode, ptr::null(), ptr::null()) };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The id of the process that opened the `end` end of the pipe that `h` is an end of:
/// `GetNamedPipeServerProcessId` for the server end, `GetNamedPipeClientProcessId` for the
/// client end. The peer of the end `h` is: `opener_pid(h, end.other())`.
pub(crate) fn opener_pid(h: BorrowedHandle<'_>, end: End) -> io::Result<u32> {
    let mut pid = 0;
    // SAFETY: the handle is an open pipe handle; `pid` is valid for writes.
    let ok = unsafe {
        match end {
            End::Server => GetNamedPipeServerProcessId(h.as_raw_handle(), &mut pid),
            End::Client => GetNamedPipeClientProcessId(h.as_raw_handle(), &mut pid),
        }
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(pid)
}

/// The end-of-file marker: half-close on a pipe, which has none.
///
/// The marker is a zero-length message, which a reader in byte mode sees as a 0-byte read
/// (end of file) — but only if it is the only thing queued: a byte-mode read that finds data
/// first takes the data and skips the empty message. So it is written only once the peer
/// has read everything sent before: `FlushFileBuffers` (which waits for exactly that), then
/// `WriteFile` of 0 bytes, on a helper thread with a duplicate handle, so that the caller
/// does not block. The pipe must be of message type (`PIPE_TYPE_MESSAGE`), or the empty
/// write is no message at all.
#[derive(Debug, Default)]
pub(crate) struct EofMarker {
    /// The helper thread is running.
    sending: AtomicBool,
    /// The helper must give up.
    stop: AtomicBool,
}

impl EofMarker {
    /// Starts the helper thread (`localipc-eof`) on a duplicate of `h` (`DuplicateHandle`),
    /// which writes the marker; `owner` keeps the marker's state alive for it. The helper
    /// gives up quietly if the pipe broke, if its flush was cancelled, or if told to
    /// [`stop`](Self::stop).
    pub(crate) fn start<S>(owner: &Arc<S>, h: BorrowedHandle<'_>) -> io::Result<()>
    where
        S: AsRef<EofMarker> + Send + Sync + 'static,
    {
        let dup = duplicate(h)?;
        let marker: &EofMarker = (**owner).as_ref();
        marker.sending.store(true, Ordering::Release);
        let owner = Arc::clone(owner);
        let spawned = std::thread::Builder::new()
            .name("localipc-eof".into())
            .spawn(move || {
                let marker: &EofMarker = (*owner).as_ref();
                write_marker(&dup, &marker.stop);
                drop(dup);
                marker.sending.store(false, Ordering::Release);
            });
        if let Err(e) = spawned {
            marker.sending.store(false, Ordering::Release);
            return Err(e);
        }
        Ok(())
    }

    /// Stops a running helper, so that the pipe closes now: sets the stop flag and cancels
    /// the helper's `FlushFileBuffers` on `h`'s file object (`CancelIoEx`), again every
    /// millisecond until the helper has exited (it may not have issued the flush yet when the
    /// first cancel comes), for at most 100 ms. For when the last handle of the end goes:
    /// the cancel hits all I/O on the file object.
    pub(crate) fn stop(&self, h: BorrowedHandle<'_>) {
        if !self.sending.load(Ordering::Acquire) {
            return;
        }
        self.stop.store(true, Ordering::Release);
        let deadline = Instant::now() + Duration::from_millis(100);
        while self.sending.load(Ordering::Acquire) && Instant::now() < deadline {
            // SAFETY: the handle is open; NULL cancels all I/O on this file object, of which
            // only the helper's can be in flight now.
            unsafe { CancelIoEx(h.as_raw_handle(), ptr::null()) };
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

impl AsRef<EofMarker> for EofMarker {
    fn as_ref(&self) -> &EofMarker {
        self
    }
}

/// The helper's work: `FlushFileBuffers` (returns once the peer has read everything), then a
/// zero-length `WriteFile`. Gives up quietly if told to stop, if the pipe broke or if the
/// flush was cancelled.
fn write_marker(h: &OwnedHandle, stop: &AtomicBool) {
    let raw = h.as_raw_handle();
    if stop.load(Ordering::Acquire) {
        return;
    }
    // SAFETY: `h` is an open pipe handle owned by this thread.
    if unsafe { FlushFileBuffers(raw) } == 0 || stop.load(Ordering::Acquire) {
        return;
    }
    let _ = overlapped::run(raw, Wait::Forever, |ov| {
        // SAFETY: a zero-length write reads no memory; `run` waits for it to end.
        unsafe {
            WriteFile(
                raw,
                ptr::NonNull::<u8>::dangling().as_ptr(),
                0,
                ptr::null_mut(),
                ov,
            )
        }
    });
}
