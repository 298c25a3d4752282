//! [`AcceptStopper`]: ending a listener's blocking `accept`s from another thread.

use super::LocalSocketName;
use crate::sys;
use std::error::Error;
use std::fmt;
use std::io;

/// A handle that stops a listener from another thread: every `accept` blocked on it returns
/// the stop error, every later `accept` fails the same way, and its `incoming()` iterator
/// ends. Made by [`LocalSocketListener::stopper`](super::LocalSocketListener::stopper) and
/// [`MessageListener::stopper`](super::message::MessageListener::stopper); cheap to clone
/// (an `Arc`), `Send` and `Sync`, and it may outlive the listener (stopping a dropped
/// listener does nothing).
///
/// The stop error has kind [`io::ErrorKind::Other`] and is recognised by
/// [`AcceptStopper::is_stop_error`]; its message names the listener. A stopped listener
/// keeps its name (and socket file) until it is dropped: clients still connect into the
/// backlog (Unix) or to the waiting pipe instance (Windows) but are never accepted, and see
/// the connection end when the listener is dropped. Stopping cannot be undone.
///
/// Unix: the first blocking `accept` makes a `socketpair` whose one end `stop` shuts down
/// (`shutdown(SHUT_WR)`); from then on the listening socket is kept in nonblocking mode
/// (`fcntl(F_SETFL, O_NONBLOCK)`, the blocking mode the caller chose is emulated) and a
/// blocking `accept` waits in `poll` on both. Windows: `stop` signals an event
/// (`SetEvent`) that a blocking `accept` waits on together with its overlapped
/// `ConnectNamedPipe` (`WaitForMultipleObjects`); the `ConnectNamedPipe` stays in flight
/// until the listener is dropped.
///
/// ```
/// use localipc::local_socket::LocalSocketListener;
///
/// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
/// #     format!("@localipc-doc-stopper-{}", std::process::id())
/// # } else { format!("/tmp/localipc-doc-stopper-{}.sock", std::process::id()) };
/// let listener = LocalSocketListener::bind(name.as_str())?;
/// let stopper = listener.stopper();
/// let server = std::thread::spawn(move || {
///     for conn in listener.incoming() {
///         let _conn = conn?; // ... serve it
///     }
///     std::io::Result::Ok(()) // `incoming` ended: stopped
/// });
/// stopper.stop(); // from any thread, e.g. a signal handler thread
/// server.join().unwrap()?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Clone, Debug)]
pub struct AcceptStopper {
    pub(crate) inner: sys::Stopper,
}

impl AcceptStopper {
    /// Stops the listener: blocked `accept`s return the stop error promptly, later ones at
    /// once. Idempotent. Unix: `shutdown(SHUT_WR)` on the wake-up `socketpair` (if a
    /// blocking `accept` made it). Windows: `SetEvent`.
    pub fn stop(&self) {
        self.inner.stop();
    }

    /// Whether [`stop`](Self::stop) has been called on this listener (through any handle).
    /// No OS call.
    pub fn is_stopped(&self) -> bool {
        self.inner.is_stopped()
    }

    /// Whether `err` is the error an `accept` of a stopped listener returns.
    ///
    /// ```
    /// use localipc::local_socket::{AcceptStopper, LocalSocketListener};
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-stop-err-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-stop-err-{}.sock", std::process::id()) };
    /// let listener = LocalSocketListener::bind(name.as_str())?;
    /// listener.stopper().stop();
    /// let err = listener.accept().unwrap_err();
    /// assert!(AcceptStopper::is_stop_error(&err));
    /// assert_eq!(err.kind(), std::io::ErrorKind::Other);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn is_stop_error(err: &io::Error) -> bool {
        err.get_ref().is_some_and(|e| e.is::<Stopped>())
    }
}

/// The payload of the stop error. The backends return it bare ([`stopped`]); the
/// listeners' error mapping names the listener ([`stopped_error`]).
#[derive(Debug)]
struct Stopped(String);

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Stopped {}

/// The stop error without a name, as the backends return it.
pub(crate) fn stopped() -> io::Error {
    io::Error::other(Stopped(
        "the listener was stopped (AcceptStopper::stop)".into(),
    ))
}

/// The stop error naming the listener.
pub(crate) fn stopped_error(name: &LocalSocketName<'_>) -> io::Error {
    io::Error::other(Stopped(format!(
        "accepting on local socket \"{name}\": the listener was stopped (AcceptStopper::stop)"
    )))
}

impl super::LocalSocketListener {
    /// A handle that stops this listener from another thread: see [`AcceptStopper`]. No OS
    /// call (the wake-up it needs is made by the first blocking `accept`).
    pub fn stopper(&self) -> AcceptStopper {
        AcceptStopper {
            inner: self.inner.stopper(),
        }
    }
}

impl super::message::MessageListener {
    /// A handle that stops this listener from another thread, as
    /// [`LocalSocketListener::stopper`](super::LocalSocketListener::stopper): see
    /// [`AcceptStopper`]. No OS call.
    pub fn stopper(&self) -> AcceptStopper {
        AcceptStopper {
            inner: self.inner.stopper(),
        }
    }
}
