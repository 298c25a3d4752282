//! Peer credentials of a connected Unix domain socket.

use crate::local_socket::PeerCreds;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Credentials as the Linux kernel reports them (`SO_PEERCRED`, `SCM_CREDENTIALS`), with
/// what it did not know made `None`.
///
/// For a sender it has no record of (bytes sent while the receiver had `SO_PASSCRED` off)
/// the kernel reports pid 0 and the overflow uid and gid (`/proc/sys/kernel/overflowuid`,
/// `overflowgid`, 65534 unless changed): that whole triple is unknown, so every field is
/// `None`. Otherwise only a zero pid (a sender whose pid is not visible in this pid
/// namespace) is `None`: an overflow uid with a real pid is a real sender (e.g. `nobody`).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn from_kernel(pid: i32, uid: u32, gid: u32) -> PeerCreds {
    let pid = u32::try_from(pid).ok().filter(|&p| p != 0);
    if pid.is_none() && (uid, gid) == overflow_ids() {
        return PeerCreds::new(None, None, None);
    }
    PeerCreds::new(pid, Some(uid), Some(gid))
}

/// The kernel's overflow uid and gid, read once from `/proc/sys/kernel/overflowuid` and
/// `overflowgid` (65534 each if they cannot be read).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn overflow_ids() -> (u32, u32) {
    static IDS: std::sync::OnceLock<(u32, u32)> = std::sync::OnceLock::new();
    fn read(path: &str) -> u32 {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(65534)
    }
    *IDS.get_or_init(|| {
        (
            read("/proc/sys/kernel/overflowuid"),
            read("/proc/sys/kernel/overflowgid"),
        )
    })
}

/// `getsockopt(SOL_SOCKET, SO_PEERCRED)`: pid, uid and gid of the peer at `connect`/`listen`
/// (unknown ones `None`, see [`from_kernel`]).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn peer_creds(fd: BorrowedFd<'_>) -> io::Result<PeerCreds> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = super::socklen_of::<libc::ucred>();
    // SAFETY: `cred` and `len` are valid for writes and `len` holds the size of `cred`.
    let ret = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    super::cvt(ret)?;
    Ok(from_kernel(cred.pid, cred.uid, cred.gid))
}

/// `getpeereid` for uid and gid; on macOS also `getsockopt(SOL_LOCAL, LOCAL_PEERPID)`.
#[cfg(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly"
))]
pub(crate) fn peer_creds(fd: BorrowedFd<'_>) -> io::Result<PeerCreds> {
    let (mut uid, mut gid) = (0, 0);
    // SAFETY: `uid` and `gid` are valid for writes.
    super::cvt(unsafe { libc::getpeereid(fd.as_raw_fd(), &mut uid, &mut gid) })?;
    Ok(PeerCreds::new(peer_pid(fd), Some(uid), Some(gid)))
}

#[cfg(target_vendor = "apple")]
fn peer_pid(fd: BorrowedFd<'_>) -> Option<u32> {
    let mut pid: libc::pid_t = 0;
    let mut len = super::socklen_of::<libc::pid_t>();
    // SAFETY: `pid` and `len` are valid for writes and `len` holds the size of `pid`.
    let ret = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_LOCAL,
            libc::LOCAL_PEERPID,
            (&mut pid as *mut libc::pid_t).cast(),
            &mut len,
        )
    };
    (ret == 0)
        .then(|| u32::try_from(pid).ok())
        .flatten()
        .filter(|&p| p != 0)
}

#[cfg(all(
    not(target_vendor = "apple"),
    any(
        target_os = "freebsd",
        target_os = "openbsd",
        target_os = "netbsd",
        target_os = "dragonfly"
    )
))]
fn peer_pid(_fd: BorrowedFd<'_>) -> Option<u32> {
    None
}

/// No credential call known for this OS.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly"
)))]
pub(crate) fn peer_creds(_fd: BorrowedFd<'_>) -> io::Result<PeerCreds> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "peer credentials are not supported on {}",
            std::env::consts::OS
        ),
    ))
}
