//! Message sockets on Linux: `SOCK_SEQPACKET`, one `send` per message, boundaries kept by
//! the kernel.
//!
//! An empty message and end of file both make `recv` return 0. To tell them apart every
//! socket gets `SO_PASSCRED`: the kernel then attaches an `SCM_CREDENTIALS` control message
//! to every message received (whoever sent it, however), and never to end of file.

use super::ancillary::creds::set_passcred;
use rustix::net::{recvmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
use std::io::{self, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::Mutex;

/// The socket type message listeners and streams use here.
pub(crate) const SOCK_TYPE: libc::c_int = libc::SOCK_SEQPACKET;

/// A connected `SOCK_SEQPACKET` socket (held in std's `UnixStream`, which is only a holder
/// for the descriptor here).
#[derive(Debug)]
pub(crate) struct SeqPacket {
    sock: UnixStream,
    /// Held by `recv`/`recv_vec`, so `recv_vec`'s peek and its receive see the same message.
    recv_lock: Mutex<()>,
}

impl SeqPacket {
    /// Wraps a connected socket and turns on `SO_PASSCRED` (see the module docs; on a socket
    /// with no name this makes Linux autobind it to an abstract address when it connects or
    /// sends, as for any socket with `SO_PASSCRED`).
    pub(crate) fn new(sock: UnixStream) -> io::Result<Self> {
        set_passcred(sock.as_fd(), true)?;
        Ok(Self {
            sock,
            recv_lock: Mutex::new(()),
        })
    }

    /// `send(MSG_NOSIGNAL)`: the whole message or nothing. `EMSGSIZE` (larger than the send
    /// buffer allows) becomes `InvalidInput`.
    pub(crate) fn send(&self, msg: &[u8]) -> io::Result<()> {
        loop {
            match super::io::send(self.sock.as_fd(), msg) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(libc::EMSGSIZE) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "a message of {} bytes is larger than this socket's send buffer \
                             (SO_SNDBUF) allows: {e}",
                            msg.len()
                        ),
                    ))
                }
                Err(e) => return Err(e),
                Ok(_) => return Ok(()),
            }
        }
    }

    /// `recvmsg(MSG_TRUNC)`: `(bytes copied, truncated)`, or `None` at end of file.
    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<Option<(usize, bool)>> {
        let _guard = self.recv_lock.lock().unwrap_or_else(|e| e.into_inner());
        let flags = RecvFlags::TRUNC | RecvFlags::CMSG_CLOEXEC;
        Ok(self
            .recv_once(buf, flags)?
            .map(|len| (len.min(buf.len()), len > buf.len())))
    }

    /// `recvmsg(MSG_PEEK | MSG_TRUNC)` with an empty buffer for the length of the next
    /// message, then `recvmsg` into a buffer of that size; `None` at end of file.
    pub(crate) fn recv_vec(&self) -> io::Result<Option<Vec<u8>>> {
        let _guard = self.recv_lock.lock().unwrap_or_else(|e| e.into_inner());
        let peek = RecvFlags::PEEK | RecvFlags::TRUNC | RecvFlags::CMSG_CLOEXEC;
        let Some(len) = self.recv_once(&mut [], peek)? else {
            return Ok(None);
        };
        let mut msg = vec![0; len];
        let got = self.recv_once(&mut msg, RecvFlags::TRUNC | RecvFlags::CMSG_CLOEXEC)?;
        // Under the lock nobody else takes the peeked message.
        debug_assert_eq!(got, Some(len));
        Ok(Some(msg))
    }

    /// One `recvmsg` with room for `SCM_CREDENTIALS`, retried on `EINTR`: the message's full
    /// length, or `None` for end of file (0 bytes and no credentials).
    fn recv_once(&self, buf: &mut [u8], flags: RecvFlags) -> io::Result<Option<usize>> {
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmCredentials(1))];
        loop {
            let mut cmsg = RecvAncillaryBuffer::new(&mut space);
            let msg = match recvmsg(&self.sock, &mut [IoSliceMut::new(buf)], &mut cmsg, flags) {
                Err(rustix::io::Errno::INTR) => continue,
                r => r?,
            };
            let is_message = cmsg
                .drain()
                .any(|m| matches!(m, RecvAncillaryMessage::ScmCredentials(_)));
            return Ok((is_message || msg.bytes > 0).then_some(msg.bytes));
        }
    }

    pub(crate) fn sock(&self) -> &UnixStream {
        &self.sock
    }
}

impl AsFd for SeqPacket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}
