//! Ctrl-C during a soak: the first one ends the run early but cleanly (summary included); a
//! second one kills as usual. The server process ignores it and exits when its stdin closes.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the `SIGINT` handler.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether Ctrl-C has been pressed since [`catch`].
pub(super) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Makes the first Ctrl-C set [`interrupted`] instead of killing the process.
#[cfg(unix)]
pub(super) fn catch() {
    extern "C" fn on_sigint(_: libc::c_int) {
        INTERRUPTED.store(true, Ordering::SeqCst);
        // SAFETY: signal(2) is async-signal-safe; the next Ctrl-C gets the default action.
        unsafe {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
        }
    }
    let handler: extern "C" fn(libc::c_int) = on_sigint;
    // SAFETY: the handler only stores to an atomic and calls signal(2).
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
    }
}

/// Ctrl-C keeps its default action on this OS.
#[cfg(not(unix))]
pub(super) fn catch() {}

/// Ignores `SIGINT`, so that a Ctrl-C in the terminal reaches only the soak's own process.
#[cfg(unix)]
pub(super) fn ignore() {
    // SAFETY: installing SIG_IGN runs no handler code.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
}

/// Ctrl-C keeps its default action on this OS.
#[cfg(not(unix))]
pub(super) fn ignore() {}
