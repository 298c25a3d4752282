//! Ancillary data on stream sockets: `SCM_RIGHTS` (passing descriptors) and, on Linux,
//! `SCM_CREDENTIALS`. The control buffers are rustix's, which get `cmsghdr` alignment right.

use super::Stream;
use rustix::net::{
    recvmsg, sendmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags,
    SendAncillaryBuffer, SendAncillaryMessage, SendFlags,
};
use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// The most descriptors one call sends or receives: Linux's `SCM_MAX_FD`. (macOS and the
/// BSDs take more, but one portable limit keeps programs portable.)
pub(crate) const MAX_HANDLES: usize = 253;

/// `MSG_NOSIGNAL` where it exists; Apple sockets carry `SO_NOSIGPIPE` instead.
fn send_flags() -> SendFlags {
    #[cfg(not(target_vendor = "apple"))]
    return SendFlags::NOSIGNAL;
    #[cfg(target_vendor = "apple")]
    return SendFlags::empty();
}

/// `MSG_CMSG_CLOEXEC` where it exists.
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
const RECV_FLAGS: RecvFlags = RecvFlags::CMSG_CLOEXEC;

/// No `MSG_CMSG_CLOEXEC` here (macOS and others): the descriptors get `FD_CLOEXEC` after.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
)))]
const RECV_FLAGS: RecvFlags = RecvFlags::empty();

/// Room for the `SCM_CREDENTIALS` that Linux puts ahead of `SCM_RIGHTS` (on every message
/// while the socket has `SO_PASSCRED` on): without it, those credentials would take the
/// descriptors' room and cut them off (`MSG_CTRUNC`).
#[cfg(any(target_os = "linux", target_os = "android"))]
const CREDS_SPACE: usize = rustix::cmsg_space!(ScmCredentials(1));
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const CREDS_SPACE: usize = 0;

/// Room for the `SCM_INQ` (one int, sized as one descriptor) that Linux 6.17 and later add
/// to every read of a socket with `SO_INQ` on, which the tokio stream turns on (`inq`):
/// without it the count would not fit, and `MSG_CTRUNC` would read as descriptors cut off.
/// Plus the bytes rustix may skip to align the buffer's start for `cmsghdr`.
#[cfg(any(target_os = "linux", target_os = "android"))]
const INQ_SPACE: usize = rustix::cmsg_space!(ScmRights(1)) + std::mem::align_of::<libc::cmsghdr>();
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const INQ_SPACE: usize = 0;

/// Whether `recvmsg` can make the received descriptors close-on-exec atomically.
const HAS_CMSG_CLOEXEC: bool = !RECV_FLAGS.is_empty();

/// `sendmsg`, retried on `EINTR`.
fn sendmsg_retry(
    fd: BorrowedFd<'_>,
    data: &[u8],
    cmsg: &mut SendAncillaryBuffer<'_, '_, '_>,
) -> io::Result<usize> {
    loop {
        match sendmsg(fd, &[IoSlice::new(data)], cmsg, send_flags()) {
            Err(rustix::io::Errno::INTR) => continue,
            r => return r.map_err(io::Error::from),
        }
    }
}

/// `recvmsg`, retried on `EINTR`: `(bytes, return flags)`.
fn recvmsg_retry(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    cmsg: &mut RecvAncillaryBuffer<'_>,
    flags: RecvFlags,
) -> io::Result<(usize, ReturnFlags)> {
    loop {
        match recvmsg(fd, &mut [IoSliceMut::new(buf)], cmsg, flags) {
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(m) => return Ok((m.bytes, m.flags)),
        }
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

impl Stream {
    /// `sendmsg` with one `SCM_RIGHTS` message (`MSG_NOSIGNAL`); plain `send` without fds.
    pub(crate) fn send_with_handles(
        &self,
        data: &[u8],
        fds: &[BorrowedFd<'_>],
    ) -> io::Result<usize> {
        check_send(data, fds)?;
        send_fds(self.as_fd(), data, fds)
    }

    /// See [`recv_fds`].
    pub(crate) fn recv_with_handles(
        &self,
        buf: &mut [u8],
        fds: &mut Vec<OwnedFd>,
    ) -> io::Result<usize> {
        check_recv(buf)?;
        recv_fds(self.as_fd(), buf, fds)
    }
}

/// The argument checks of [`send_fds`], made before any OS call (and, for the async
/// stream, before waiting): more than [`MAX_HANDLES`], or handles without data, is
/// `InvalidInput`.
pub(crate) fn check_send(data: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    if fds.len() > MAX_HANDLES {
        return Err(invalid(format!(
            "cannot send {} handles in one call: the limit is {MAX_HANDLES}",
            fds.len()
        )));
    }
    if data.is_empty() && !fds.is_empty() {
        return Err(invalid(format!(
            "cannot send {} handles without data: on a stream socket handles travel with \
             at least one byte",
            fds.len()
        )));
    }
    Ok(())
}

/// The argument check of [`recv_fds`]: an empty buffer is `InvalidInput`.
pub(crate) fn check_recv(buf: &[u8]) -> io::Result<()> {
    if buf.is_empty() {
        return Err(invalid(
            "cannot receive into an empty buffer: handles travel with at least one byte".into(),
        ));
    }
    Ok(())
}

/// `sendmsg` on `fd` with one `SCM_RIGHTS` message (`MSG_NOSIGNAL`); plain `send` without
/// fds. The arguments must have passed [`check_send`].
pub(crate) fn send_fds(
    fd: BorrowedFd<'_>,
    data: &[u8],
    fds: &[BorrowedFd<'_>],
) -> io::Result<usize> {
    if fds.is_empty() {
        return super::fd_io::send(fd, data);
    }
    let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(fds.len()))];
    let mut cmsg = SendAncillaryBuffer::new(&mut space);
    let pushed = cmsg.push(SendAncillaryMessage::ScmRights(fds));
    debug_assert!(pushed, "control buffer sized with cmsg_space");
    sendmsg_retry(fd, data, &mut cmsg)
}

/// `recvmsg(MSG_CMSG_CLOEXEC)` on `fd` with room for as many descriptors as `fds` has spare
/// capacity (at most [`MAX_HANDLES`]), and on Linux for the `SCM_CREDENTIALS` that
/// `SO_PASSCRED` adds (ignored here); `fcntl(F_SETFD, FD_CLOEXEC)` on each where there is
/// no `MSG_CMSG_CLOEXEC`. More descriptors than that room (`MSG_CTRUNC`, or the kernel
/// using alignment padding for extra ones) is an error, and every descriptor that did
/// arrive is closed. `buf` must have passed [`check_recv`].
pub(crate) fn recv_fds(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    fds: &mut Vec<OwnedFd>,
) -> io::Result<usize> {
    let room = (fds.capacity() - fds.len()).min(MAX_HANDLES);
    let len = if room == 0 {
        0
    } else {
        rustix::cmsg_space!(ScmRights(room))
    } + CREDS_SPACE
        + INQ_SPACE;
    let mut space = vec![MaybeUninit::uninit(); len];
    let mut cmsg = RecvAncillaryBuffer::new(&mut space);
    let (n, flags) = recvmsg_retry(fd, buf, &mut cmsg, RECV_FLAGS)?;
    let mut received = Vec::new();
    for msg in cmsg.drain() {
        if let RecvAncillaryMessage::ScmRights(it) = msg {
            received.extend(it);
        }
    }
    if flags.contains(ReturnFlags::CTRUNC) || received.len() > room {
        let got = received.len();
        drop(received); // closes them: nothing leaks
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "received {n} bytes with more handles than the {room} the handles vector had \
                 spare capacity for ({got} arrived, the rest were dropped by the OS); all \
                 were closed. Reserve capacity (Vec::with_capacity) for the handles expected"
            ),
        ));
    }
    if !HAS_CMSG_CLOEXEC {
        for fd in &received {
            set_cloexec(fd.as_fd())?;
        }
    }
    fds.extend(received);
    Ok(n)
}

/// `fcntl(F_SETFD, FD_CLOEXEC)`.
fn set_cloexec(fd: BorrowedFd<'_>) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: `fd` is open; FD_CLOEXEC is a valid flag for F_SETFD.
    super::cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) }).map(drop)
}

/// Credentials passing (Linux): `SO_PASSCRED`, `SCM_CREDENTIALS`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) mod creds {
    use super::{recvmsg_retry, sendmsg_retry, INQ_SPACE};
    use crate::local_socket::PeerCreds;
    use rustix::net::{
        sockopt, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
        SendAncillaryMessage, UCred,
    };
    use std::io;
    use std::mem::MaybeUninit;
    use std::os::fd::BorrowedFd;

    /// `setsockopt(SO_PASSCRED)`.
    pub(crate) fn set_passcred(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
        sockopt::set_socket_passcred(fd, on).map_err(io::Error::from)
    }

    /// `sendmsg` with `SCM_CREDENTIALS` holding `getpid()`, `geteuid()`, `getegid()`.
    pub(crate) fn send(fd: BorrowedFd<'_>, data: &[u8]) -> io::Result<usize> {
        use rustix::process::{getegid, geteuid, getpid};
        let ucred = UCred {
            pid: getpid(),
            uid: geteuid(),
            gid: getegid(),
        };
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmCredentials(1))];
        let mut cmsg = SendAncillaryBuffer::new(&mut space);
        let pushed = cmsg.push(SendAncillaryMessage::ScmCredentials(ucred));
        debug_assert!(pushed, "control buffer sized with cmsg_space");
        sendmsg_retry(fd, data, &mut cmsg)
    }

    /// `recvmsg` with room for one `SCM_CREDENTIALS`: the bytes and the credentials that came
    /// with them (`None` if none did: `SO_PASSCRED` is off; every field `None` for bytes sent
    /// while it was off).
    pub(crate) fn recv(
        fd: BorrowedFd<'_>,
        buf: &mut [u8],
    ) -> io::Result<(usize, Option<PeerCreds>)> {
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmCredentials(1)) + INQ_SPACE];
        let mut cmsg = RecvAncillaryBuffer::new(&mut space);
        let (n, _) = recvmsg_retry(fd, buf, &mut cmsg, RecvFlags::CMSG_CLOEXEC)?;
        // Every message drained here, not `find_map`: a drain stopped after the credentials
        // is finished by the buffer's `Drop`, which in rustix 1.1 resumes at a misaligned
        // offset when another message (the `SCM_INQ`) follows.
        let mut creds = None;
        for m in cmsg.drain() {
            if let RecvAncillaryMessage::ScmCredentials(c) = m {
                creds = Some(from_ucred(c));
            }
        }
        Ok((n, creds))
    }

    /// Credentials the kernel filled in, unknown ones `None` (see
    /// [`creds::from_kernel`](crate::sys::unix::creds::from_kernel)).
    pub(crate) fn from_ucred(c: UCred) -> PeerCreds {
        crate::sys::unix::creds::from_kernel(c.pid.as_raw_pid(), c.uid.as_raw(), c.gid.as_raw())
    }
}
