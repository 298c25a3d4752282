//! The fd-passing receive path (SCM_RIGHTS decoding), driven with real kernel control
//! messages: the input picks, per operation, the sender (the crate's `send_with_handles`,
//! or a hostile `sendmsg` built with libc: several control messages in one call,
//! `SCM_CREDENTIALS` next to `SCM_RIGHTS`, control data cut short), how many descriptors and
//! bytes it carries, and how much room the receive offers. Checks: data arrives intact;
//! descriptors arrive exactly, in order (the very files sent, by inode) or the call fails
//! (never invented; fewer only when the sender's control data was cut); no descriptor leaks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use localipc::local_socket::LocalSocketStream;
use localipc::os::unix::credentials::CredentialsExt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// `(st_dev, st_ino)`: which file a descriptor is.
fn id(fd: BorrowedFd<'_>) -> (u64, u64) {
    // SAFETY: an all-zero stat is valid; fstat writes it for an open descriptor.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is open and `st` is valid for writes.
    assert_eq!(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) }, 0);
    (st.st_dev, st.st_ino)
}

/// One control message to put in a hostile `sendmsg`.
enum Cmsg<'a> {
    Rights(&'a [BorrowedFd<'a>]),
    Creds,
}

/// `sendmsg(MSG_NOSIGNAL)` of `data` with `cmsgs` laid out by hand, the control length then
/// cut by `cut` bytes. Returns what the kernel said.
fn raw_sendmsg(fd: BorrowedFd<'_>, data: &[u8], cmsgs: &[Cmsg<'_>], cut: usize) -> isize {
    let mut control = vec![0u64; 64]; // 512 bytes, 8-aligned
    let base = control.as_mut_ptr().cast::<u8>();
    let mut off = 0usize;
    for c in cmsgs {
        let (ty, payload): (libc::c_int, Vec<u8>) = match c {
            Cmsg::Rights(fds) => (
                libc::SCM_RIGHTS,
                fds.iter()
                    .flat_map(|f| f.as_raw_fd().to_ne_bytes())
                    .collect(),
            ),
            Cmsg::Creds => {
                // SAFETY: these calls have no preconditions.
                let cred = unsafe {
                    libc::ucred {
                        pid: libc::getpid(),
                        uid: libc::geteuid(),
                        gid: libc::getegid(),
                    }
                };
                let mut p = cred.pid.to_ne_bytes().to_vec();
                p.extend(cred.uid.to_ne_bytes());
                p.extend(cred.gid.to_ne_bytes());
                (libc::SCM_CREDENTIALS, p)
            }
        };
        let payload_len = u32::try_from(payload.len()).unwrap();
        // SAFETY: CMSG_LEN/CMSG_SPACE are pure arithmetic.
        let (len, space) = unsafe {
            (
                libc::CMSG_LEN(payload_len) as usize,
                libc::CMSG_SPACE(payload_len) as usize,
            )
        };
        assert!(off + space <= 512);
        let hdr = libc::cmsghdr {
            cmsg_len: len as _,
            cmsg_level: libc::SOL_SOCKET,
            cmsg_type: ty,
        };
        // SAFETY: `off` is 8-aligned (a sum of CMSG_SPACEs) and `off + space` is inside the
        // 512-byte buffer; the header and payload fit in `space`.
        unsafe {
            std::ptr::write(base.add(off).cast::<libc::cmsghdr>(), hdr);
            let data_off = len - payload.len();
            std::ptr::copy_nonoverlapping(
                payload.as_ptr(),
                base.add(off + data_off),
                payload.len(),
            );
        }
        off += space;
    }
    let iov = libc::iovec {
        iov_base: data.as_ptr() as *mut _,
        iov_len: data.len(),
    };
    // SAFETY: msghdr is plain old data; all-zero means no name.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &iov as *const _ as *mut _;
    msg.msg_iovlen = 1;
    let controllen = off.saturating_sub(cut);
    if controllen > 0 {
        msg.msg_control = base.cast();
        msg.msg_controllen = controllen as _;
    }
    // SAFETY: `msg` points at one valid iovec and `controllen` bytes of control data, all
    // alive during the call.
    unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) }
}

fuzz_target!(|data: &[u8]| {
    let before = open_fds();
    let (a, b) = UnixStream::pair().unwrap();
    let (a, b) = (LocalSocketStream::from(a), LocalSocketStream::from(b));
    // Twelve distinct files (socket ends) to pass around.
    let files: Vec<OwnedFd> = (0..6)
        .flat_map(|_| {
            let (x, y) = UnixStream::pair().unwrap();
            [OwnedFd::from(x), OwnedFd::from(y)]
        })
        .collect();
    let fds: Vec<BorrowedFd<'_>> = files.iter().map(|f| f.as_fd()).collect();
    let mut passcred = false;
    for op in data.chunks(4) {
        let get = |i: usize| op.get(i).copied().unwrap_or(0);
        let kind = get(0) % 4;
        let len = 1 + get(1) as usize;
        let room = (get(2) % 8) as usize;
        let p = get(3) as usize;
        let (n1, n2, n3) = (p % 5, (p / 5) % 5, (p / 25) % 5);
        let payload: Vec<u8> = (0..len).map(|i| i.to_le_bytes()[0] ^ get(0)).collect();
        let (s1, rest) = fds.split_at(n1);
        let (s2, rest) = rest.split_at(n2);
        let s3 = &rest[..n3];
        // What is sent, and whether the sender's control data may have been cut.
        let (res, sent_fds, cut) = match kind {
            0 => {
                let r = a
                    .send_with_handles(&payload, s1)
                    .map(|n| isize::try_from(n).unwrap());
                (r.unwrap_or(-1), s1.to_vec(), false)
            }
            1 => {
                // Two or three SCM_RIGHTS messages in one call.
                let mut cm = vec![Cmsg::Rights(s1), Cmsg::Rights(s2)];
                if get(0) & 4 != 0 {
                    cm.push(Cmsg::Rights(s3));
                }
                let all: Vec<_> = cm
                    .iter()
                    .flat_map(|c| match c {
                        Cmsg::Rights(f) => f.to_vec(),
                        Cmsg::Creds => vec![],
                    })
                    .collect();
                (raw_sendmsg(a.as_fd(), &payload, &cm, 0), all, false)
            }
            2 => {
                // SCM_CREDENTIALS before or after SCM_RIGHTS, credentials reception toggled.
                let want = get(0) & 8 != 0;
                if want != passcred {
                    b.set_pass_credentials(want).unwrap();
                    passcred = want;
                }
                let cm = if get(0) & 4 != 0 {
                    vec![Cmsg::Creds, Cmsg::Rights(s1)]
                } else {
                    vec![Cmsg::Rights(s1), Cmsg::Creds]
                };
                (raw_sendmsg(a.as_fd(), &payload, &cm, 0), s1.to_vec(), false)
            }
            _ => {
                // Control data cut short by 1..=40 bytes.
                let cut = 1 + (get(0) as usize / 4) % 40;
                let cm = [Cmsg::Rights(s1), Cmsg::Rights(s2)];
                let all = [s1, s2].concat();
                (raw_sendmsg(a.as_fd(), &payload, &cm, cut), all, true)
            }
        };
        if res < 0 {
            // Refused by the kernel (EINVAL for malformed control data, empty rights
            // messages...) or by the crate: nothing was sent.
            continue;
        }
        let sent = usize::try_from(res).unwrap();
        assert!(sent > 0 && sent <= len);
        let want_ids: Vec<_> = sent_fds.iter().map(|f| id(*f)).collect();
        let mut got = Vec::with_capacity(room);
        let room = got.capacity();
        let mut buf = vec![0u8; 512];
        match b.recv_with_handles(&mut buf, &mut got) {
            Ok(n) => {
                assert!(n > 0 && n <= sent, "received {n} of {sent} bytes");
                assert_eq!(&buf[..n], &payload[..n]);
                assert!(
                    got.len() <= room,
                    "accepted {} fds with room for {room}",
                    got.len()
                );
                let got_ids: Vec<_> = got.iter().map(|f| id(f.as_fd())).collect();
                if cut {
                    // Fewer may arrive (the kernel ignores a cut-off last header), never others.
                    assert!(
                        want_ids.starts_with(&got_ids) || want_ids.ends_with(&got_ids),
                        "kind {kind}: {got_ids:?} not among {want_ids:?}"
                    );
                } else {
                    assert_eq!(
                        got_ids, want_ids,
                        "kind {kind}: descriptors lost or invented"
                    );
                }
                // Drain the rest of this send's bytes (stream socket: it may arrive split).
                let mut rest = sent - n;
                while rest > 0 {
                    let mut none = Vec::new();
                    let k = b
                        .recv_with_handles(&mut buf[..rest.min(512)], &mut none)
                        .unwrap();
                    assert!(none.is_empty());
                    rest -= k;
                }
            }
            Err(e) => {
                assert!(
                    want_ids.len() > room,
                    "kind {kind}: error although there was room for {} fds: {e}",
                    want_ids.len()
                );
                break; // the stream state after a refused message is the caller's to reset
            }
        }
    }
    drop(fds);
    drop((a, b, files));
    assert_eq!(open_fds(), before, "descriptors leaked");
});
