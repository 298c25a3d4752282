//! `SO_INQ` (Linux 6.17 and later): with it on, each `recvmsg` on a stream socket also says how
//! many bytes the socket still holds (an `SCM_INQ` control message). The async stream uses it
//! to stop asking after a read that drained the socket: without it, the only way to learn
//! that is one more read failing with `EAGAIN`, once per message (see
//! [`tokio::Stream`](super::tokio)).
//!
//! Older kernels refuse the option (`ENOPROTOOPT`); then a short read is taken for a drained
//! socket, unless control data came with it (a read stops at a message carrying
//! descriptors, bytes still queued behind it).

use super::cvt_len;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `SO_INQ`, and `SCM_INQ` (the same number): 84, but 93 on SPARC (the kernel's
/// `asm/socket.h`; libc does not export it yet).
#[cfg(not(any(target_arch = "sparc", target_arch = "sparc64")))]
const SO_INQ: libc::c_int = 84;
#[cfg(any(target_arch = "sparc", target_arch = "sparc64"))]
const SO_INQ: libc::c_int = 93;

/// Room for what a `recvmsg` may bring on a local stream socket besides the `SCM_INQ`:
/// `SCM_CREDENTIALS` (with `SO_PASSCRED` on) and a few `SCM_RIGHTS` descriptors, which
/// [`recv`] closes, as `read(2)` would have. More descriptors than fit are closed by the
/// kernel (`MSG_CTRUNC`), and the count may be cut off with them (then `None`).
const CONTROL: usize = 256;

/// `setsockopt(SOL_SOCKET, SO_INQ, 1)`: whether the kernel has it (older ones refuse it with
/// `ENOPROTOOPT`; nothing changes then).
pub(crate) fn enable(fd: BorrowedFd<'_>) -> bool {
    set(fd, true)
}

/// `setsockopt(SOL_SOCKET, SO_INQ, on)`: whether it succeeded.
pub(crate) fn set(fd: BorrowedFd<'_>, on: bool) -> bool {
    let on = libc::c_int::from(on);
    // SAFETY: `on` is a valid int for the duration of the call, its size given.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_INQ,
            (&raw const on).cast(),
            super::socklen_of::<libc::c_int>(),
        )
    };
    r == 0
}

/// What one [`recv`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recv {
    /// Bytes read.
    pub(crate) n: usize,
    /// Bytes the socket still holds after them; `None` if the kernel did not say (`SO_INQ`
    /// off, or the count cut off).
    pub(crate) left: Option<usize>,
    /// Control data other than the count came along (descriptors, credentials): the read
    /// may have stopped early at that message's edge, with bytes still queued.
    pub(crate) control: bool,
}

impl Recv {
    /// Whether the socket is drained after this read: as the kernel says, or, if it did not,
    /// guessed from a short read that no control data cut short.
    pub(crate) fn drained(&self, asked: usize) -> bool {
        match self.left {
            Some(left) => self.n > 0 && left == 0,
            None => self.n > 0 && self.n < asked && !self.control,
        }
    }
}

/// `recvmsg(MSG_CMSG_CLOEXEC)` into `buf`, with room for control data. Descriptors that
/// came along (the peer sent them with `SCM_RIGHTS`; a plain read does not take them) are
/// closed at once, as `read(2)` would have.
pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [MaybeUninit<u8>]) -> io::Result<Recv> {
    let mut control = [0u64; CONTROL / 8]; // u64: aligned for cmsghdr
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain old data; all-zero means no name and no control data.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = CONTROL as _;
    let n = loop {
        // SAFETY: `msg` points at one iovec over `buf` (valid for writes of its length) and
        // at `control` (valid for writes of CONTROL bytes), both alive during the call.
        let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        match cvt_len(n) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => break r?,
        }
    };
    let mut left = None;
    let mut control = msg.msg_flags & libc::MSG_CTRUNC != 0;
    // SAFETY: `msg` is the header the kernel just filled in; CMSG_FIRSTHDR/CMSG_NXTHDR stay
    // within its `msg_controllen` bytes of `control`, and each header they return is valid.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: as above: `cmsg` is a complete header within the control data.
        let (level, kind, len) =
            unsafe { ((*cmsg).cmsg_level, (*cmsg).cmsg_type, (*cmsg).cmsg_len) };
        // SAFETY: CMSG_DATA of a valid header points at its payload.
        let data = unsafe { libc::CMSG_DATA(cmsg) };
        // SAFETY: CMSG_LEN(0) is the header's size, a constant computation.
        let header = unsafe { libc::CMSG_LEN(0) } as usize;
        #[allow(clippy::unnecessary_cast)] // size_t with glibc, socklen_t with musl
        let payload = (len as usize).saturating_sub(header);
        if level == libc::SOL_SOCKET && kind == SO_INQ && payload >= 4 {
            // SAFETY: the payload holds at least one int; it may be unaligned.
            let count = unsafe { data.cast::<libc::c_int>().read_unaligned() };
            left = usize::try_from(count).ok();
        } else if level == libc::SOL_SOCKET && kind == libc::SCM_RIGHTS {
            control = true;
            for i in 0..payload / 4 {
                // SAFETY: the payload is `payload / 4` ints, each a descriptor the kernel
                // just installed in this process for us (close-on-exec): ours to close.
                drop(unsafe {
                    OwnedFd::from_raw_fd(data.cast::<libc::c_int>().add(i).read_unaligned())
                });
            }
        } else {
            control = true;
        }
        // SAFETY: `cmsg` is a valid header within `msg`'s control data.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    Ok(Recv { n, left, control })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn the_count_is_what_is_left_after_the_read() {
        let (mut a, b) = UnixStream::pair().unwrap();
        if !enable(b.as_fd()) {
            eprintln!("SO_INQ: not on this kernel (before Linux 6.17); nothing to check");
            return;
        }
        a.write_all(&[7; 100]).unwrap();
        let mut buf = [MaybeUninit::uninit(); 64];
        let first = recv(b.as_fd(), &mut buf).unwrap();
        assert_eq!((first.n, first.left, first.control), (64, Some(36), false));
        assert!(!first.drained(64));
        let second = recv(b.as_fd(), &mut buf).unwrap();
        assert_eq!(
            (second.n, second.left, second.control),
            (36, Some(0), false)
        );
        assert!(second.drained(64));
    }

    #[test]
    fn descriptors_sent_along_are_closed_not_leaked() {
        use crate::sys::unix::ancillary::send_fds;
        let (a, b) = UnixStream::pair().unwrap();
        let inq = enable(b.as_fd());
        let (x, y) = UnixStream::pair().unwrap();
        send_fds(a.as_fd(), b"ab", &[y.as_fd()]).unwrap();
        drop(y);
        let mut buf = [MaybeUninit::uninit(); 8];
        let got = recv(b.as_fd(), &mut buf).unwrap();
        assert_eq!((got.n, got.left, got.control), (2, inq.then_some(0), true));
        // The only other copy of `y` was in flight and is closed now: `x` reads end of file.
        // (A leaked copy would keep it open: the bounded read fails instead of hanging.)
        x.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut end = [0u8; 1];
        assert_eq!(std::io::Read::read(&mut &x, &mut end).unwrap(), 0);
    }
}
