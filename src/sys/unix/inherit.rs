//! Handing descriptors to a child process (`std::process::Command`): each at a chosen
//! number, inheritable in the child only, every other descriptor from 3 up close-on-exec in
//! the child; and the child's side, which takes one back from an environment variable.

use super::cvt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt as _;
use std::process::Command;

/// `fstat`: the `(device, inode)` that identifies the open file behind `fd`.
pub(crate) fn identity(fd: BorrowedFd<'_>) -> io::Result<(u64, u64)> {
    Ok(file_id(&rustix::fs::fstat(fd)?))
}

/// `(st_dev, st_ino)` as `u64`s: opaque identifiers, compared only with values made the same
/// way on the same system (`st_dev` is signed on Apple systems, hence the bit-preserving
/// casts).
#[allow(
    clippy::useless_conversion,
    clippy::unnecessary_cast,
    clippy::cast_sign_loss
)]
fn file_id(st: &rustix::fs::Stat) -> (u64, u64) {
    (st.st_dev as u64, st.st_ino as u64)
}

/// Descriptors to put at chosen numbers in the child.
#[derive(Debug)]
pub(crate) struct ChildFds {
    /// `(our duplicate, close-on-exec, above every target; the number in the child)`.
    fds: Vec<(OwnedFd, RawFd)>,
}

impl ChildFds {
    /// Duplicates each `(fd, target)`: `fcntl(F_DUPFD_CLOEXEC)` at a number above every
    /// target, so that putting one in place never overwrites another's source. Targets must
    /// be 3 or more and distinct (`InvalidInput`).
    pub(crate) fn new(items: &[(BorrowedFd<'_>, RawFd)]) -> io::Result<Self> {
        let max = items.iter().map(|&(_, t)| t).max().unwrap_or(2);
        for (i, &(_, t)) in items.iter().enumerate() {
            if t < 3 || items[..i].iter().any(|&(_, u)| u == t) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("descriptor number {t} for the child: must be 3 or more, and each used once"),
                ));
            }
        }
        let mut fds = Vec::with_capacity(items.len());
        for &(fd, target) in items {
            // SAFETY: F_DUPFD_CLOEXEC on an open descriptor (borrowed) makes a new one.
            let dup = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, max + 1) })?;
            // SAFETY: `dup` is a fresh descriptor owned by nobody else.
            fds.push((unsafe { OwnedFd::from_raw_fd(dup) }, target));
        }
        Ok(Self { fds })
    }

    /// Adds the `pre_exec` step to `cmd`. In the child, between `fork` and `exec`: every
    /// descriptor from 3 up gets close-on-exec (`close_range(3, ~0, CLOSE_RANGE_CLOEXEC)` on
    /// Linux 5.11+; elsewhere, or if that fails, `fcntl(F_SETFD, FD_CLOEXEC)` on each number
    /// below the `RLIMIT_NOFILE` soft limit (read here, with `getrlimit`, capped at 65 536)),
    /// then `dup2` puts each duplicate at its number, without close-on-exec. Only those
    /// (and 0, 1, 2) survive the `exec`. The parent's descriptors are not touched.
    pub(crate) fn install(self, cmd: &mut Command) {
        let limit = open_limit();
        let fds = self.fds;
        let step = move || -> io::Result<()> {
            mark_all_cloexec(limit);
            for (src, target) in &fds {
                // SAFETY: both are descriptor numbers; `src` is open in this (child)
                // process, `target` is replaced. dup2 is async-signal-safe.
                cvt(unsafe { libc::dup2(src.as_raw_fd(), *target) })?;
            }
            Ok(())
        };
        // SAFETY: the closure only makes async-signal-safe calls (syscall, fcntl, dup2) and
        // allocates nothing; `fds` was built before the fork.
        unsafe { cmd.pre_exec(step) };
    }
}

/// The `RLIMIT_NOFILE` soft limit (`getrlimit`), capped at 65 536.
fn open_limit() -> RawFd {
    // SAFETY: all-zero is a valid rlimit, filled in by getrlimit.
    let mut rl: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: `rl` is writable.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } == 0;
    let cur = if ok { rl.rlim_cur } else { 1024 };
    RawFd::try_from(cur.min(65_536)).unwrap_or(65_536)
}

/// In the child after `fork`: close-on-exec on every descriptor from 3 up.
fn mark_all_cloexec(limit: RawFd) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
        // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets a flag; a raw syscall is
        // async-signal-safe.
        let r = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                3 as libc::c_uint,
                libc::c_uint::MAX,
                CLOSE_RANGE_CLOEXEC,
            )
        };
        if r == 0 {
            return;
        }
    }
    for fd in 3..limit {
        // SAFETY: fcntl on any number is harmless (EBADF for closed ones).
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

/// The environment variable's value for a descriptor at `target` in the child: its number
/// and the identity of its file, `"<fd>:<dev>:<ino>"`, so that the child takes nothing else.
pub(crate) fn env_value(fd: BorrowedFd<'_>, target: RawFd) -> io::Result<String> {
    let (dev, ino) = identity(fd)?;
    Ok(format!("{target}:{dev}:{ino}"))
}

/// The child's side: reads `var` (`"<fd>:<dev>:<ino>"`), removes it from the environment,
/// checks with `fstat` that the descriptor is open and is that very file (`InvalidData`
/// otherwise: a stale variable inherited from further up), and takes it with close-on-exec
/// set (`fcntl(F_SETFD, FD_CLOEXEC)`). `NotFound` if the variable is not set.
pub(crate) fn take_inherited(var: &str) -> io::Result<OwnedFd> {
    let value = std::env::var_os(var).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("no descriptor was passed: the environment variable {var} is not set"),
        )
    })?;
    std::env::remove_var(var);
    let bad = |why: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{var}={value:?}: {why}"),
        )
    };
    let parts: Vec<u64> = value
        .to_str()
        .map(|s| s.split(':').filter_map(|p| p.parse().ok()).collect())
        .unwrap_or_default();
    let [fd, dev, ino] = parts[..] else {
        return Err(bad("not <fd>:<dev>:<ino>".into()));
    };
    let fd = RawFd::try_from(fd).map_err(|_| bad("descriptor number out of range".into()))?;
    // SAFETY: the number is only borrowed for fstat, which fails with EBADF if it is not
    // open; it is not taken over unless it is the file the parent named.
    let st = rustix::fs::fstat(unsafe { BorrowedFd::borrow_raw(fd) })
        .map_err(|e| bad(format!("descriptor {fd} is not open ({e})")))?;
    if file_id(&st) != (dev, ino) {
        return Err(bad(format!(
            "descriptor {fd} is another file than the one passed (a variable left over from a \
             parent process?)"
        )));
    }
    // SAFETY: as above; setting a flag.
    cvt(unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) })?;
    // SAFETY: the descriptor is open and is the file the parent passed to this process for
    // it to own (the variable says so, and is removed so that nothing takes it twice).
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
