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
/// (unknown ones `None`, see [`from_kernel`]); then `SO_PEERGROUPS`, `SO_PEERSEC` and
/// `SO_PEERPIDFD`, each `None` where the kernel does not give it.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn peer_creds(fd: BorrowedFd<'_>) -> io::Result<PeerCreds> {
    let mut creds = peer_ucred(fd)?;
    if creds.uid.is_some() {
        creds.groups = peer_groups(fd);
        creds.label = peer_label(fd);
        creds.pidfd = peer_pidfd(fd).map(std::sync::Arc::new);
    }
    Ok(creds)
}

/// The peer's pid alone: `getsockopt(SOL_SOCKET, SO_PEERCRED)`, one system call (what
/// [`peer_creds`] adds, a pidfd among it, is not made).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn peer_pid(fd: BorrowedFd<'_>) -> io::Result<u32> {
    peer_ucred(fd)?.pid_or_unsupported()
}

/// `getsockopt(SOL_SOCKET, SO_PEERCRED)`: pid, uid and gid (unknown ones `None`).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn peer_ucred(fd: BorrowedFd<'_>) -> io::Result<PeerCreds> {
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

/// `getsockopt(SO_PEERGROUPS)` (Linux 4.13+): the peer's supplementary groups; `None` where
/// the kernel does not report them.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn peer_groups(fd: BorrowedFd<'_>) -> Option<Vec<u32>> {
    let mut groups = vec![0 as libc::gid_t; 64];
    for _ in 0..4 {
        let mut len = libc::socklen_t::try_from(std::mem::size_of_val(groups.as_slice())).ok()?;
        // SAFETY: `groups` is valid for writes of `len` bytes; `len` is valid for writes.
        let ret = unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERGROUPS,
                groups.as_mut_ptr().cast(),
                &mut len,
            )
        };
        let n = len as usize / std::mem::size_of::<libc::gid_t>();
        if ret == 0 {
            groups.truncate(n);
            return Some(groups);
        }
        if io::Error::last_os_error().raw_os_error() != Some(libc::ERANGE) || n <= groups.len() {
            return None;
        }
        groups.resize(n, 0); // the kernel said how many there are
    }
    None
}

/// `getsockopt(SO_PEERSEC)`: the peer's LSM security label; `None` if it has none
/// (`ENOPROTOOPT`) or it cannot be read.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn peer_label(fd: BorrowedFd<'_>) -> Option<String> {
    let mut buf = vec![0u8; 256];
    for _ in 0..4 {
        let mut len = libc::socklen_t::try_from(buf.len()).ok()?;
        // SAFETY: `buf` is valid for writes of `len` bytes; `len` is valid for writes.
        let ret = unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERSEC,
                buf.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if ret == 0 {
            buf.truncate(len as usize);
            while buf.last() == Some(&0) {
                buf.pop();
            }
            return (!buf.is_empty()).then(|| String::from_utf8_lossy(&buf).into_owned());
        }
        if io::Error::last_os_error().raw_os_error() != Some(libc::ERANGE)
            || len as usize <= buf.len()
        {
            return None;
        }
        buf.resize(len as usize, 0);
    }
    None
}

/// `getsockopt(SO_PEERPIDFD)` (Linux 6.5+): a pidfd (close-on-exec) of the peer process;
/// `None` on older kernels or if the kernel refuses (e.g. the peer is gone).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn peer_pidfd(fd: BorrowedFd<'_>) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let mut pidfd: libc::c_int = -1;
    let mut len = super::socklen_of::<libc::c_int>();
    // SAFETY: `pidfd` and `len` are valid for writes and `len` holds the size of `pidfd`.
    let ret = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERPIDFD,
            (&mut pidfd as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    // SAFETY: on success the kernel installed `pidfd` as a new descriptor owned by nobody else.
    (ret == 0 && pidfd >= 0).then(|| unsafe { std::os::fd::OwnedFd::from_raw_fd(pidfd) })
}

/// `getpeereid` for uid and gid; on macOS also `getsockopt(SOL_LOCAL, LOCAL_PEERPID)`, on
/// FreeBSD `getsockopt(LOCAL_PEERCRED)` for the pid.
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
    Ok(PeerCreds::new(local_peer_pid(fd), Some(uid), Some(gid)))
}

/// The peer's pid alone (`LOCAL_PEERPID` on macOS, `LOCAL_PEERCRED` on FreeBSD; no
/// `getpeereid`), `Unsupported` where the OS does not say it.
#[cfg(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly"
))]
pub(crate) fn peer_pid(fd: BorrowedFd<'_>) -> io::Result<u32> {
    PeerCreds::new(local_peer_pid(fd), None, None).pid_or_unsupported()
}

#[cfg(target_vendor = "apple")]
fn local_peer_pid(fd: BorrowedFd<'_>) -> Option<u32> {
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

/// `getsockopt(0 /* SOL_LOCAL */, LOCAL_PEERCRED)`: `cr_pid` of the `xucred` (FreeBSD 13+;
/// older kernels leave it zero, which is `None`).
#[cfg(target_os = "freebsd")]
fn local_peer_pid(fd: BorrowedFd<'_>) -> Option<u32> {
    // SAFETY: an all-zero xucred is a valid value of this plain C struct.
    let mut cred: libc::xucred = unsafe { std::mem::zeroed() };
    let mut len = super::socklen_of::<libc::xucred>();
    // SAFETY: `cred` and `len` are valid for writes and `len` holds the size of `cred`.
    let ret = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            0,
            libc::LOCAL_PEERCRED,
            (&mut cred as *mut libc::xucred).cast(),
            &mut len,
        )
    };
    if ret != 0 || cred.cr_version != libc::XUCRED_VERSION {
        return None;
    }
    // SAFETY: the kernel wrote the pid member of the union (FreeBSD 13+) or zeroed it.
    let pid = unsafe { cred.cr_pid__c_anonymous_union.cr_pid };
    u32::try_from(pid).ok().filter(|&p| p != 0)
}

#[cfg(any(target_os = "openbsd", target_os = "netbsd", target_os = "dragonfly"))]
fn local_peer_pid(_fd: BorrowedFd<'_>) -> Option<u32> {
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

/// No credential call known for this OS: `Unsupported`, as [`peer_creds`].
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "dragonfly"
)))]
pub(crate) fn peer_pid(fd: BorrowedFd<'_>) -> io::Result<u32> {
    peer_creds(fd)?.pid_or_unsupported()
}
