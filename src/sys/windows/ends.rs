//! Operations on a pipe handle as such, whoever owns it: copies of it (in this process or
//! into another), which end it is, the peer's process id, and the end-of-file marker that
//! stands in for a half-close.

use super::instance::End;
use super::overlapped::{self, Wait};
use std::io;
use std::os::windows::io::{AsRawHandle, BorrowedHandle, FromRawHandle, OwnedHandle};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use windows_sys::Win32::Foundation::{DuplicateHandle, DUPLICATE_SAME_ACCESS, HANDLE};
use windows_sys::Win32::Storage::FileSystem::{FlushFileBuffers, WriteFile};
use windows_sys::Win32::System::Pipes::{
    GetNamedPipeClientProcessId, GetNamedPipeHandleStateW, GetNamedPipeInfo,
    GetNamedPipeServerProcessId, SetNamedPipeHandleState, PIPE_READMODE_MESSAGE, PIPE_SERVER_END,
};
use windows_sys::Win32::System::Threading::GetCurrentProcess;

/// `DuplicateHandle(DUPLICATE_SAME_ACCESS)` within this process, not inheritable.
pub(crate) fn duplicate(h: BorrowedHandle<'_>) -> io::Result<OwnedHandle> {
    // SAFETY: GetCurrentProcess is a pseudo-handle, valid as a duplication target.
    let new = unsafe { duplicate_into(GetCurrentProcess(), h) }?;
    // SAFETY: `new` is a fresh handle in this process, owned by nobody else.
    Ok(unsafe { OwnedHandle::from_raw_handle(new) })
}

/// `DuplicateHandle(DUPLICATE_SAME_ACCESS)` of `h` into `process`, not inheritable: the new
/// handle's value, valid in that process.
///
/// # Safety
/// `process` is an open process handle with `PROCESS_DUP_HANDLE` access (or
/// `GetCurrentProcess()`).
pub(crate) unsafe fn duplicate_into(process: HANDLE, h: BorrowedHandle<'_>) -> io::Result<HANDLE> {
    let mut new: HANDLE = ptr::null_mut();
    // SAFETY: `h` is open, `process` is valid by the caller's promise, `new` is valid for
    // writes.
    let ok = unsafe {
        DuplicateHandle(
            GetCurrentProcess(),
            h.as_raw_handle(),
            process,
            &mut new,
            0,
            0,
            DUPLICATE_SAME_ACCESS,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(new)
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

/// `GetNamedPipeHandleStateW`: whether `h` reads in message mode (`PIPE_READMODE_MESSAGE`)
/// rather than byte mode.
pub(crate) fn reads_messages(h: BorrowedHandle<'_>) -> io::Result<bool> {
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
    Ok(state & PIPE_READMODE_MESSAGE != 0)
}

/// `SetNamedPipeHandleState(PIPE_READMODE_MESSAGE)`: `h` reads in message mode from now on.
/// Fails on a pipe of byte type (`ERROR_INVALID_PARAMETER`) and on a handle that is no pipe.
pub(crate) fn set_message_reads(h: BorrowedHandle<'_>) -> io::Result<()> {
    let mode = PIPE_READMODE_MESSAGE;
    // SAFETY: `mode` is valid for reads; the other inputs are not to be changed.
    let ok = unsafe { SetNamedPipeHandleState(h.as_raw_handle(), &mode, ptr::null(), ptr::null()) };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `GetNamedPipeClientProcessId` on a server end, `GetNamedPipeServerProcessId` on a client
/// end.
pub(crate) fn peer_pid_of(h: BorrowedHandle<'_>, end: End) -> io::Result<u32> {
    let mut pid = 0;
    // SAFETY: the handle is an open pipe handle; `pid` is valid for writes.
    let ok = unsafe {
        match end {
            End::Server => GetNamedPipeClientProcessId(h.as_raw_handle(), &mut pid),
            End::Client => GetNamedPipeServerProcessId(h.as_raw_handle(), &mut pid),
        }
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(pid)
}

/// `FlushFileBuffers` (returns once the peer has read everything), then a zero-length
/// `WriteFile`. Gives up quietly if told to stop, if the pipe broke or if the flush was
/// cancelled.
pub(crate) fn send_eof_marker(h: &OwnedHandle, stop: &AtomicBool) {
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
