//! Blocking calls made of overlapped I/O, at the cost of plain synchronous I/O.
//!
//! Every pipe handle this crate opens is overlapped (`FILE_FLAG_OVERLAPPED`), because Windows
//! serialises synchronous I/O on one file object: a `ReadFile` blocked on a synchronous
//! handle holds up a `WriteFile` from another thread until data arrives. With overlapped
//! handles a read and a write run at the same time.
//!
//! The price usually paid for that is an event per call (`CreateEventW` + `CloseHandle`:
//! two extra kernel requests on every read and write). Here each thread owns one
//! manual-reset event, created on its first I/O and reused for every later call on every
//! handle: a thread waits for one operation at a time, so one event per thread is enough.
//! The OVERLAPPED lives on the caller's stack, and [`run`] never returns while the
//! operation is still in flight, so no allocation happens either. What is left per call is
//! exactly what synchronous I/O does: the `ReadFile`/`WriteFile` request and, when it has
//! to wait, one wait on the event.

use std::cell::Cell;
use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::ptr;
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{
    GetLastError, ERROR_IO_PENDING, ERROR_OPERATION_ABORTED, HANDLE, STATUS_PENDING, WAIT_OBJECT_0,
    WAIT_TIMEOUT,
};
use windows_sys::Win32::System::Threading::{
    CreateEventW, ResetEvent, WaitForSingleObject, INFINITE,
};
use windows_sys::Win32::System::IO::{CancelIoEx, GetOverlappedResult, OVERLAPPED};

/// How long [`run`] lets an operation take before cancelling it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Wait {
    /// Until it completes.
    Forever,
    /// Up to this long, then cancel (`CancelIoEx`).
    Timeout(Duration),
    /// Not at all: nonblocking mode. If it cannot complete at once, cancel it.
    No,
}

/// Win32 error reported by [`run`] when it cancelled the operation itself because the
/// [`Wait`] ran out: `WAIT_TIMEOUT`. Callers turn it into `WouldBlock` or `TimedOut`.
pub(crate) const EXPIRED: u32 = WAIT_TIMEOUT;

/// How an operation ended: bytes transferred, and the Win32 error (0 for success). A few
/// errors come with bytes (`ERROR_MORE_DATA` from a message read that stopped early).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Done {
    pub(crate) bytes: u32,
    pub(crate) error: u32,
}

/// The calling thread's event; closed when the thread exits.
struct ThreadEvent(Cell<HANDLE>);

impl Drop for ThreadEvent {
    fn drop(&mut self) {
        let h = self.0.get();
        if !h.is_null() {
            // SAFETY: the event was created by this thread-local and is closed only here.
            drop(unsafe { OwnedHandle::from_raw_handle(h) });
        }
    }
}

thread_local! {
    // Clippy 1.96 flags this initializer as not const although it is (a false positive of
    // `missing_const_for_thread_local` with the `const { }` form).
    #[allow(clippy::missing_const_for_thread_local)]
    static EVENT: ThreadEvent = const { ThreadEvent(Cell::new(ptr::null_mut())) };
}

/// `CreateEventW`: unnamed, manual reset, not signalled.
pub(crate) fn new_event() -> io::Result<OwnedHandle> {
    // SAFETY: no security attributes, no name: plain constant arguments.
    let h = unsafe { CreateEventW(ptr::null(), 1, 0, ptr::null()) };
    if h.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `h` is a fresh handle owned by nobody else.
    Ok(unsafe { OwnedHandle::from_raw_handle(h) })
}

/// The calling thread's event, or (while thread-locals are being torn down) a fresh one
/// that `keep` holds for the duration of the call.
fn event(keep: &mut Option<OwnedHandle>) -> io::Result<HANDLE> {
    let cached = EVENT.try_with(|e| -> io::Result<HANDLE> {
        if e.0.get().is_null() {
            let ev = new_event()?;
            e.0.set(ev.as_raw_handle());
            std::mem::forget(ev); // owned by the thread-local from now on
        }
        Ok(e.0.get())
    });
    match cached {
        Ok(r) => r,
        Err(_) => {
            let ev = new_event()?;
            let h = ev.as_raw_handle();
            *keep = Some(ev);
            Ok(h)
        }
    }
}

/// The `hEvent` to put in an OVERLAPPED for `event`: the handle with its low bit set, which
/// tells Windows not to queue a completion packet even if the file is associated with an
/// I/O completion port (as after a handle is given to tokio): the operations of this module
/// are waited for here, and a packet naming a stack OVERLAPPED must never reach a port.
/// Kernel handles are multiples of 4, so the tagged value still names the event for waits.
pub(crate) fn tagged(event: HANDLE) -> HANDLE {
    (event as usize | 1) as HANDLE
}

/// Whether the operation of `ov` is still in flight.
pub(crate) fn in_flight(ov: &OVERLAPPED) -> bool {
    // SAFETY: `ov` is a valid OVERLAPPED; the kernel may write `Internal` concurrently,
    // hence the volatile read (what HasOverlappedIoCompleted does).
    let internal = unsafe { ptr::read_volatile(&ov.Internal) };
    // The NTSTATUS is the low 32 bits, as HasOverlappedIoCompleted's `(DWORD)` cast takes them.
    #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
    let status = internal as i32;
    status == STATUS_PENDING
}

/// Waits until the operation of `ov` (signalling `ov.hEvent`) is no longer in flight, or
/// `timeout` runs out (then `false`). `WaitForSingleObject`; `ResetEvent` only if the event
/// was left signalled by an earlier operation (defensive: Windows resets it when an
/// operation starts).
pub(crate) fn wait_done(ov: &OVERLAPPED, timeout: Option<Duration>) -> bool {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        if !in_flight(ov) {
            return true;
        }
        let ms = match deadline {
            None => INFINITE,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                // Round up so that a short timeout still waits.
                let ms = left.as_nanos().div_ceil(1_000_000);
                u32::try_from(ms).unwrap_or(u32::MAX).min(INFINITE - 1)
            }
        };
        // SAFETY: `hEvent` is a valid event handle for the duration of the operation.
        match unsafe { WaitForSingleObject(ov.hEvent, ms) } {
            WAIT_OBJECT_0 => {
                if in_flight(ov) {
                    // A stale signal. Reset, then look again before waiting: a completion
                    // that sets the event after the reset is not lost.
                    // SAFETY: as above.
                    unsafe { ResetEvent(ov.hEvent) };
                }
            }
            WAIT_TIMEOUT => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return !in_flight(ov);
                }
            }
            _ => {
                // Cannot happen with a valid event; never return while the kernel may still
                // write to `ov`: poll instead.
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

/// Cancels the operation of `ov` on `handle` (`CancelIoEx`) and waits until it has ended,
/// one way or the other.
pub(crate) fn cancel(handle: HANDLE, ov: &OVERLAPPED) {
    // SAFETY: `ov` identifies an operation started on `handle`. If it has completed
    // meanwhile, CancelIoEx fails with ERROR_NOT_FOUND, which is fine.
    unsafe { CancelIoEx(handle, ov) };
    wait_done(ov, None);
}

/// The result of a completed operation (`GetOverlappedResult` without waiting: no kernel
/// call, it reads `ov`).
pub(crate) fn result(handle: HANDLE, ov: &OVERLAPPED) -> Done {
    let mut bytes = 0;
    // SAFETY: `ov` belongs to a completed operation on `handle`; bWait is FALSE.
    let ok = unsafe { GetOverlappedResult(handle, ov, &mut bytes, 0) };
    let error = if ok != 0 {
        0
    } else {
        // SAFETY: reads the thread's last-error value.
        unsafe { GetLastError() }
    };
    Done { bytes, error }
}

/// Runs one overlapped operation to its end and reports how it ended.
///
/// `start` issues the call (`ReadFile`, `WriteFile`, …) with the given OVERLAPPED, whose
/// `hEvent` is the calling thread's event ([`tagged`]: no completion-port packet). If it is
/// pending, `run` waits as `wait` says; if the wait runs out it cancels the call
/// (`CancelIoEx`) and waits for the cancellation, then reports [`EXPIRED`] unless the call
/// completed meanwhile. The OVERLAPPED lives on this stack frame, which is safe because
/// `run` never returns before the operation has ended.
///
/// The only `Err` is a failure to create the thread's event.
pub(crate) fn run(
    handle: HANDLE,
    wait: Wait,
    start: impl FnOnce(*mut OVERLAPPED) -> i32,
) -> io::Result<Done> {
    let mut keep = None;
    let mut ov = OVERLAPPED {
        hEvent: tagged(event(&mut keep)?),
        ..OVERLAPPED::default()
    };
    let ok = start(&mut ov);
    if ok != 0 {
        return Ok(result(handle, &ov));
    }
    // SAFETY: reads the thread's last-error value, set by the failed call just made.
    let err = unsafe { GetLastError() };
    if err != ERROR_IO_PENDING {
        // Completed at once with an error (or a warning such as ERROR_MORE_DATA, whose byte
        // count the kernel stored in `ov`), or failed before starting (then 0 bytes).
        let bytes = if in_flight(&ov) {
            0
        } else {
            // At most the u32 length the operation was given.
            u32::try_from(ov.InternalHigh).unwrap_or(u32::MAX)
        };
        return Ok(Done { bytes, error: err });
    }
    let expired = match wait {
        Wait::Forever => !wait_done(&ov, None),
        Wait::Timeout(t) => !wait_done(&ov, Some(t)),
        Wait::No => in_flight(&ov),
    };
    if expired {
        cancel(handle, &ov);
        let done = result(handle, &ov);
        if done.error == ERROR_OPERATION_ABORTED {
            return Ok(Done {
                bytes: done.bytes,
                error: EXPIRED,
            });
        }
        return Ok(done);
    }
    Ok(result(handle, &ov))
}
