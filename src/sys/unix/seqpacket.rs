//! Message sockets on Linux: `SOCK_SEQPACKET`, one `send` per message, boundaries kept by
//! the kernel.
//!
//! An empty message and end of file both make `recv` return 0. To tell them apart every
//! socket gets `SO_PASSCRED`: the kernel then attaches an `SCM_CREDENTIALS` control message
//! to every message received (whoever sent it, however), and never to end of file.
//!
//! Size: a message must fit the sender's `SO_SNDBUF` (the kernel's limit) and the
//! `max_message_size` of both ends. A received message over the receiver's limit is taken
//! off the socket whole (never copied into a buffer of its size) and reported as
//! `InvalidData`; the next receive gets the next message.

use super::ancillary::creds::set_passcred;
use super::SocketType;
use crate::sys::message_too_large as too_large;
use rustix::net::{recvmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
use std::io::{self, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The socket type message listeners and streams use here.
pub(crate) const SOCK_TYPE: SocketType = SocketType::SeqPacket;

/// A connected `SOCK_SEQPACKET` socket (held in std's `UnixStream`, which is only a holder
/// for the descriptor here).
#[derive(Debug)]
pub(crate) struct SeqPacket {
    sock: UnixStream,
    /// Shared with the [`try_clone`](Self::try_clone)s: the state is the connection's.
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// `max_message_size`.
    max: AtomicUsize,
    /// Held by `recv`/`recv_vec`, so `recv_vec`'s peek and its receive see the same message.
    recv_lock: Mutex<()>,
}

impl SeqPacket {
    /// Wraps a connected socket and turns on `SO_PASSCRED` (see the module docs; on a socket
    /// with no name this makes Linux autobind it to an abstract address when it connects or
    /// sends, as for any socket with `SO_PASSCRED`).
    pub(crate) fn new(sock: UnixStream, max: usize) -> io::Result<Self> {
        set_passcred(sock.as_fd(), true)?;
        Ok(Self {
            sock,
            shared: Arc::new(Shared {
                max: AtomicUsize::new(max),
                recv_lock: Mutex::new(()),
            }),
        })
    }

    /// `fcntl(F_DUPFD_CLOEXEC)`; the copy shares the limit and the receive lock.
    pub(crate) fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            sock: self.sock.try_clone()?,
            shared: Arc::clone(&self.shared),
        })
    }

    pub(crate) fn max_message_size(&self) -> usize {
        self.shared.max.load(Ordering::Relaxed)
    }

    pub(crate) fn set_max_message_size(&self, max: usize) {
        self.shared.max.store(max, Ordering::Relaxed);
    }

    /// `send(MSG_NOSIGNAL)`: the whole message or nothing. A message over the limit (no OS
    /// call then) or one larger than the send buffer allows (`EMSGSIZE`) is `InvalidInput`.
    pub(crate) fn send(&self, msg: &[u8]) -> io::Result<()> {
        let max = self.max_message_size();
        if msg.len() > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a message of {} bytes is larger than the {}-byte limit (max_message_size)",
                    msg.len(),
                    max
                ),
            ));
        }
        loop {
            match super::fd_io::send(self.sock.as_fd(), msg) {
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

    /// `recvmsg(MSG_TRUNC)`: `(bytes copied, truncated)`, or `None` at end of file. A message
    /// over the limit is `InvalidData` (and gone).
    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<Option<(usize, bool)>> {
        let _guard = self
            .shared
            .recv_lock
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let max = self.max_message_size();
        let flags = RecvFlags::TRUNC | RecvFlags::CMSG_CLOEXEC;
        match self.recv_once(buf, flags)? {
            Some(len) if len > max => Err(too_large(len, max)),
            got => Ok(got.map(|len| (len.min(buf.len()), len > buf.len()))),
        }
    }

    /// `recvmsg(MSG_PEEK | MSG_TRUNC)` with an empty buffer for the length of the next
    /// message, then `recvmsg` into a buffer of that size (`try_reserve_exact`: a failed
    /// allocation is `OutOfMemory` and leaves the message queued); `None` at end of file. A
    /// message over the limit is taken off with an empty buffer and is `InvalidData`.
    pub(crate) fn recv_vec(&self) -> io::Result<Option<Vec<u8>>> {
        let _guard = self
            .shared
            .recv_lock
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let max = self.max_message_size();
        let peek = RecvFlags::PEEK | RecvFlags::TRUNC | RecvFlags::CMSG_CLOEXEC;
        let Some(len) = self.recv_once(&mut [], peek)? else {
            return Ok(None);
        };
        if len > max {
            self.recv_once(&mut [], RecvFlags::TRUNC | RecvFlags::CMSG_CLOEXEC)?;
            return Err(too_large(len, max));
        }
        let mut msg = Vec::new();
        msg.try_reserve_exact(len).map_err(|e| {
            io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!("cannot allocate a buffer for a message of {len} bytes: {e}"),
            )
        })?;
        msg.resize(len, 0);
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
            // Drained to the end, not with `any`: rustix 1.1 resumes a drain left half-way
            // (in the buffer's `Drop`) at a misaligned offset (see `ancillary::creds::recv`).
            let mut is_message = false;
            for m in cmsg.drain() {
                is_message |= matches!(m, RecvAncillaryMessage::ScmCredentials(_));
            }
            return Ok((is_message || msg.bytes > 0).then_some(msg.bytes));
        }
    }

    pub(crate) fn sock(&self) -> &UnixStream {
        &self.sock
    }

    pub(crate) fn into_sock(self) -> UnixStream {
        self.sock
    }
}

impl AsFd for SeqPacket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}
