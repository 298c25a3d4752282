//! Stoppable `accept` (the backend of `AcceptStopper`): a manual-reset event that a
//! blocking accept waits on together with its overlapped `ConnectNamedPipe`.

use super::overlapped::{self, in_flight};
use std::io;
use std::os::windows::io::{AsRawHandle, OwnedHandle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use windows_sys::Win32::Foundation::{WAIT_OBJECT_0, WAIT_TIMEOUT};
use windows_sys::Win32::System::Threading::{
    ResetEvent, SetEvent, WaitForMultipleObjects, INFINITE,
};
use windows_sys::Win32::System::IO::OVERLAPPED;

/// The stop state of one acceptor, shared with its [`Stopper`]s.
#[derive(Debug)]
pub(crate) struct StopState {
    stopped: AtomicBool,
    /// Manual reset: once set, it stays signalled for every waiter.
    event: OwnedHandle,
}

/// A handle on an acceptor's [`StopState`]: `AcceptStopper`'s backend.
#[derive(Clone, Debug)]
pub(crate) struct Stopper(Arc<StopState>);

impl Stopper {
    /// Sets the flag, then `SetEvent`.
    pub(crate) fn stop(&self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        // SAFETY: the event is open while the Arc lives.
        unsafe { SetEvent(self.0.event.as_raw_handle()) };
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.0.is_stopped()
    }
}

impl StopState {
    /// `CreateEventW` (manual reset, not signalled).
    pub(crate) fn new() -> io::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            stopped: AtomicBool::new(false),
            event: overlapped::new_event()?,
        }))
    }

    pub(crate) fn stopper(self: &Arc<Self>) -> Stopper {
        Stopper(Arc::clone(self))
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Waits until the operation of `ov` is no longer in flight (`true`) or the acceptor is
    /// stopped (`false`; the operation is left in flight). `WaitForMultipleObjects` on
    /// `ov.hEvent` and the stop event; `ResetEvent` on a stale signal of `ov.hEvent`, as
    /// `overlapped::wait_done` does.
    pub(crate) fn wait_done(&self, ov: &OVERLAPPED) -> bool {
        let handles = [ov.hEvent, self.event.as_raw_handle()];
        loop {
            if !in_flight(ov) {
                return true;
            }
            if self.is_stopped() {
                return false;
            }
            // SAFETY: both handles are valid events for the duration of the wait (`hEvent`
            // tagged with its low bit, which still names the event, as for
            // `WaitForSingleObject` in `overlapped`).
            let r = unsafe { WaitForMultipleObjects(2, handles.as_ptr(), 0, INFINITE) };
            match r {
                WAIT_OBJECT_0 => {
                    if in_flight(ov) {
                        // SAFETY: as above.
                        unsafe { ResetEvent(ov.hEvent) };
                    }
                }
                x if x == WAIT_OBJECT_0 + 1 => {} // the flag is checked at the top
                WAIT_TIMEOUT => {}
                _ => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    }
}

/// The bare stop error, for the listeners' error mapping to name.
pub(crate) fn stopped() -> io::Error {
    crate::local_socket::stopper::stopped()
}
