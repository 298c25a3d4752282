//! The listening side of a pipe, shared by local sockets and `os::windows::named_pipe`:
//! one instance always pending, `ConnectNamedPipe` kept in flight across nonblocking calls.
//!
//! The acceptor holds an instance at every moment of its life, so the pipe — and with it the
//! name — exists as long as the listener does: nobody else can create a pipe of that name
//! meanwhile, and an instance this acceptor adds (`CreateNamedPipeW` without
//! `FILE_FLAG_FIRST_PIPE_INSTANCE`) is always one of its own pipe, never of a squatter's.

use super::instance::{create_instance, Instance, PipeSpec};
use super::overlapped::{self, in_flight};
use super::stop::{self, StopState, Stopper};
use std::fmt;
use std::io;
use std::os::windows::io::{AsRawHandle, OwnedHandle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use windows_sys::Win32::Foundation::{
    GetLastError, ERROR_IO_PENDING, ERROR_NO_DATA, ERROR_PIPE_CONNECTED,
};
use windows_sys::Win32::System::Pipes::{ConnectNamedPipe, DisconnectNamedPipe};
use windows_sys::Win32::System::IO::OVERLAPPED;

/// A pipe name being served.
pub(crate) struct Acceptor {
    /// NUL-terminated UTF-16.
    path: Vec<u16>,
    spec: PipeSpec,
    nonblocking: AtomicBool,
    state: Mutex<State>,
    /// `AcceptStopper`'s state: see [`stop`].
    stop: Arc<StopState>,
}

/// The instance clients connect to next, and the `ConnectNamedPipe` call on it.
struct State {
    /// Always present: an accepted instance is handed out only once its successor exists.
    instance: OwnedHandle,
    /// A client is connected on `instance`, but creating the next instance failed: the
    /// next `accept` creates it and then hands this one out.
    connected: bool,
    /// Boxed so its address stays put while the kernel holds it; `hEvent` is `event`.
    ov: Box<OVERLAPPED>,
    /// Owns the event `ov.hEvent` names; closed after the OVERLAPPED is done with.
    _event: OwnedHandle,
    /// `ConnectNamedPipe` with `ov` is in flight on `instance`.
    listening: bool,
}

// SAFETY: the raw pointers in State (the event handle inside OVERLAPPED) are process-wide
// handles, and the OVERLAPPED is only touched under the mutex.
unsafe impl Send for State {}

impl fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acceptor")
            .field("path", &super::name::show_path(&self.path))
            .field("spec", &self.spec)
            .field("nonblocking", &self.nonblocking)
            .finish_non_exhaustive()
    }
}

enum Step {
    Connected,
    Pending,
    /// A client connected and left before we saw it: recycle the instance.
    Gone,
}

impl Acceptor {
    /// Creates the first instance (`CreateNamedPipeW` with `FILE_FLAG_FIRST_PIPE_INSTANCE`:
    /// `AddrInUse` if the name is taken) and the event for `ConnectNamedPipe`
    /// (`CreateEventW`), and the stop event (`CreateEventW`). Clients can connect from this
    /// moment on.
    pub(crate) fn bind(path: Vec<u16>, spec: PipeSpec) -> io::Result<Self> {
        let instance = create_instance(&path, &spec, Instance::First)?;
        let event = overlapped::new_event()?;
        let stop = StopState::new()?;
        let ov = Box::new(OVERLAPPED {
            hEvent: overlapped::tagged(event.as_raw_handle()),
            ..OVERLAPPED::default()
        });
        Ok(Self {
            path,
            spec,
            nonblocking: AtomicBool::new(false),
            state: Mutex::new(State {
                instance,
                connected: false,
                ov,
                _event: event,
                listening: false,
            }),
            stop,
        })
    }

    pub(crate) fn path(&self) -> &[u16] {
        &self.path
    }

    pub(crate) fn spec(&self) -> &PipeSpec {
        &self.spec
    }

    /// A handle that stops this acceptor. No OS call.
    pub(crate) fn stopper(&self) -> Stopper {
        self.stop.stopper()
    }

    /// No OS call: a nonblocking accept leaves its `ConnectNamedPipe` in flight and checks
    /// it again next time.
    pub(crate) fn set_nonblocking(&self, nonblocking: bool) {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
    }

    fn lock(&self, nonblocking: bool) -> io::Result<MutexGuard<'_, State>> {
        if !nonblocking {
            return Ok(self.state.lock().unwrap_or_else(|p| p.into_inner()));
        }
        match self.state.try_lock() {
            Ok(g) => Ok(g),
            Err(TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            // Another thread is in a blocking accept: nobody is waiting for us.
            Err(TryLockError::WouldBlock) => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// Waits for a client (or, nonblocking, fails with `WouldBlock` if none is waiting) and
    /// returns the connected instance, after creating the next instance so that clients can
    /// keep connecting and the name stays taken.
    ///
    /// `ConnectNamedPipe` (overlapped): `ERROR_PIPE_CONNECTED` is a success (the client came
    /// first); `ERROR_NO_DATA` means a client came and already left: that instance is
    /// discarded (replaced by a fresh one from `CreateNamedPipeW`, or failing that reset with
    /// `DisconnectNamedPipe`) and the wait goes on, with no error and no spin. Once a client
    /// is connected, `CreateNamedPipeW` makes the next instance before the connected one is
    /// handed out. If that fails, this call returns that error (naming the pipe) and keeps
    /// the connected instance, so the listener is never without one; the next call creates
    /// the next instance first and, if that works, returns the client kept.
    ///
    /// Once stopped ([`Stopper::stop`]), the bare stop error: a blocking wait (on the
    /// connect's event and the stop event, `WaitForMultipleObjects`) returns it, leaving
    /// `ConnectNamedPipe` in flight, and so does every later call, clients waiting or not.
    pub(crate) fn accept(&self) -> io::Result<OwnedHandle> {
        let nonblocking = self.nonblocking.load(Ordering::Relaxed);
        if self.stop.is_stopped() {
            // Also before the lock: a nonblocking call must not see `WouldBlock` from a
            // blocked call that is about to return the stop error.
            return Err(stop::stopped());
        }
        let mut st = self.lock(nonblocking)?;
        // Checked under the lock: threads queued behind a blocked accept see it when the
        // stopped one lets go.
        if self.stop.is_stopped() {
            return Err(stop::stopped());
        }
        while !st.connected {
            match self.step(&mut st, nonblocking)? {
                Step::Pending => return Err(io::ErrorKind::WouldBlock.into()),
                Step::Gone => self.recycle(&mut st)?,
                Step::Connected => st.connected = true,
            }
        }
        let next = create_instance(&self.path, &self.spec, Instance::Another).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "accepting on pipe \"{}\": a client is connected, but the next instance \
                     could not be created ({e}); the listener keeps the client, and the next \
                     accept hands it out once that instance exists",
                    super::name::show_path(&self.path)
                ),
            )
        })?;
        st.connected = false;
        Ok(std::mem::replace(&mut st.instance, next))
    }

    /// Discards an instance whose client already left: a fresh one first (so that one always
    /// exists), then the old one is closed. Only if that fails, the old one is reset
    /// (`DisconnectNamedPipe`); if that fails too, the error, and the old one stays.
    fn recycle(&self, st: &mut State) -> io::Result<()> {
        match create_instance(&self.path, &self.spec, Instance::Another) {
            Ok(fresh) => st.instance = fresh,
            Err(e) => {
                // SAFETY: `instance` is open; nothing is in flight on it (`step` returned).
                if unsafe { DisconnectNamedPipe(st.instance.as_raw_handle()) } == 0 {
                    return Err(self.error(e));
                }
            }
        }
        Ok(())
    }

    /// Starts `ConnectNamedPipe` if it is not in flight, then waits for it (or not).
    fn step(&self, st: &mut State, nonblocking: bool) -> io::Result<Step> {
        let h = st.instance.as_raw_handle();
        if !st.listening {
            st.ov.Internal = 0;
            st.ov.InternalHigh = 0;
            // SAFETY: `h` is an open overlapped instance and `st.ov` a boxed OVERLAPPED that
            // outlives the operation (Drop cancels and waits for it).
            let ok = unsafe { ConnectNamedPipe(h, &mut *st.ov) };
            if ok != 0 {
                return Ok(Step::Connected);
            }
            // SAFETY: reads the thread's last-error value, set by ConnectNamedPipe.
            match unsafe { GetLastError() } {
                ERROR_PIPE_CONNECTED => return Ok(Step::Connected),
                ERROR_NO_DATA => return Ok(Step::Gone),
                ERROR_IO_PENDING => st.listening = true,
                e => return Err(self.error(super::os_error(e))),
            }
        }
        if nonblocking {
            if in_flight(&st.ov) {
                return Ok(Step::Pending);
            }
        } else if !self.stop.wait_done(&st.ov) {
            return Err(stop::stopped()); // left in flight, `listening`; Drop cancels it
        }
        st.listening = false;
        let done = overlapped::result(h, &st.ov);
        match done.error {
            0 | ERROR_PIPE_CONNECTED => Ok(Step::Connected),
            ERROR_NO_DATA => Ok(Step::Gone),
            e => Err(self.error(super::os_error(e))),
        }
    }

    fn error(&self, e: io::Error) -> io::Error {
        io::Error::new(
            e.kind(),
            format!(
                "accepting on pipe \"{}\": {e}",
                super::name::show_path(&self.path)
            ),
        )
    }
}

impl State {
    /// `CancelIoEx` on an in-flight `ConnectNamedPipe`, and wait until it has ended.
    fn stop_listening(&mut self) {
        if self.listening {
            overlapped::cancel(self.instance.as_raw_handle(), &self.ov);
            self.listening = false;
        }
    }
}

impl Drop for State {
    fn drop(&mut self) {
        // The OVERLAPPED names `event`, so no operation may be left in flight before the
        // fields (instance, OVERLAPPED, event) are dropped.
        self.stop_listening();
    }
}
