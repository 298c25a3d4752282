//! Peer credentials of a connected Unix domain socket.

use crate::local_socket::PeerCreds;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// `getsockopt(SOL_SOCKET, SO_PEERCRED)`: pid, uid and gid of the peer at `connect`/`listen`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn peer_creds(fd: BorrowedFd<'_>) -> io::Result<PeerCreds> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
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
    Ok(PeerCreds::new(
        u32::try_from(cred.pid).ok().filter(|&p| p != 0),
        Some(cred.uid),
        Some(cred.gid),
    ))
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
    let mut len = std::mem::size_of::<libc::pid_t>() as libc::socklen_t;
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
    (ret == 0).then_some(pid as u32).filter(|&p| p != 0)
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
