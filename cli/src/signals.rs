//! SIGINT and SIGTERM for `localipc listen`: taken by one thread (`sigwait`) that asks the
//! server to stop, so that the accept loop ends and the listener's drop removes its socket
//! file; then the signal is raised again so the exit status says what ended the process.
//! A second signal while stopping ends the process at once.

/// The signals handled, blocked in the thread that called [`block`] and in every thread it
/// starts afterwards.
#[cfg(unix)]
pub(crate) struct Blocked(libc::sigset_t);

/// Blocks SIGINT and SIGTERM (`pthread_sigmask`). Call before starting any thread.
#[cfg(unix)]
pub(crate) fn block() -> Blocked {
    // SAFETY: the set is initialised by sigemptyset before use; the calls only read and
    // write it and this thread's signal mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        Blocked(set)
    }
}

/// Starts a thread that waits (`sigwait`) for one of the blocked signals and calls
/// `on_signal` with it; a second one exits at once with status 128 + its number.
#[cfg(unix)]
pub(crate) fn on_first(blocked: &Blocked, on_signal: impl FnOnce(i32) + Send + 'static) {
    let set = blocked.0;
    std::thread::spawn(move || {
        let mut sig = 0;
        // SAFETY: `set` is an initialised signal set and `sig` a valid out-pointer.
        if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
            return;
        }
        on_signal(sig);
        // SAFETY: as above.
        if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
            std::process::exit(128 + sig);
        }
    });
}

/// Ends the process by `sig` with its default action (`signal(SIG_DFL)`, unblock, `raise`),
/// once the cleanup is done.
#[cfg(unix)]
pub(crate) fn reraise(sig: i32) -> ! {
    // SAFETY: plain calls on an initialised signal set; the default action runs no code here.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(sig);
    }
    std::process::exit(128 + sig)
}

/// Nothing is blocked on this OS: Ctrl-C keeps its default action.
#[cfg(not(unix))]
pub(crate) struct Blocked;

/// No-op on this OS.
#[cfg(not(unix))]
pub(crate) fn block() -> Blocked {
    Blocked
}

/// No-op on this OS.
#[cfg(not(unix))]
pub(crate) fn on_first(_blocked: &Blocked, _on_signal: impl FnOnce(i32) + Send + 'static) {}

/// Not reached on this OS (no signal is ever taken).
#[cfg(not(unix))]
pub(crate) fn reraise(sig: i32) -> ! {
    std::process::exit(128 + sig)
}
