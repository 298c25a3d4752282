//! Message-framed local sockets on Windows: the local socket pipes (`listener`, `stream`),
//! read in message mode on both ends.
//!
//! The pipes are of message type already (see [`local_socket_spec`]); here the server's
//! instances are also created with `PIPE_READMODE_MESSAGE` and the client switches to it with
//! `SetNamedPipeHandleState` (`ends::set_message_reads`), so that a `ReadFile` returns (part of) one message. An empty
//! message reads as 0 bytes with success; end of file is `ERROR_BROKEN_PIPE` (or
//! `ERROR_PIPE_NOT_CONNECTED`), so the two never mix.
//!
//! A message longer than the buffer makes `ReadFile` fail with `ERROR_MORE_DATA` after
//! filling it; the rest of the message stays at the head of the pipe. `recv` then reads and
//! drops that rest (Unix semantics: the rest of a truncated message is discarded);
//! `recv_vec` asks `PeekNamedPipe` how much is left and reads it into the grown `Vec`. If
//! one of these follow-up reads is cut short (timeout, nonblocking), what is left to do is
//! remembered and done first by the next `recv`/`recv_vec`, so the stream never
//! desynchronises.
//!
//! Size: a message over `max_message_size` is refused by `send`; received, it is dropped
//! like the rest of a truncated message and reported as `InvalidData`. `recv_vec` checks the
//! size `PeekNamedPipe` reports against the limit before it allocates, and allocates with
//! `try_reserve_exact`; without an answer from `PeekNamedPipe` it grows geometrically, never
//! past the limit.

use super::acceptor::Acceptor;
use super::conn::{Conn, Kind};
use super::ends::{End, ReadMode};
use super::instance::{open_client, Direction};
#[cfg(doc)]
use super::listener::local_socket_spec;
use super::listener::{accept_error, bind_acceptor};
use super::name::pipe_path;
use crate::local_socket::message::DEFAULT_MAX_MESSAGE_SIZE;
use crate::local_socket::{ConnectOptions, ListenerOptions, LocalSocketName};
// `too_large(size, max)`: size is the message's, or as much of it as was seen.
use crate::sys::message_too_large as too_large;
use std::io;
use std::ops::Deref;
use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle, OwnedHandle};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use windows_sys::Win32::System::Pipes::PeekNamedPipe;

/// Duplex; a zero-byte read is an empty message, not end of file; no end-of-file marker.
const KIND: Kind = Kind {
    direction: Direction::Duplex,
    latch_eof: false,
    eof_marker: false,
};

/// The first read of `recv_vec` goes to a buffer of this size on the stack; a longer message
/// is continued in a `Vec` of its size.
const HEAD: usize = 4 * 1024;

/// Bytes read per `ReadFile` while dropping the rest of a truncated message.
const SKIP_CHUNK: usize = 64 * 1024;

/// A listening message pipe name.
#[derive(Debug)]
pub(crate) struct MessageListener {
    acceptor: Acceptor,
    name: LocalSocketName<'static>,
    /// `max_message_size` of the streams accepted from now on.
    max: AtomicUsize,
}

impl MessageListener {
    /// As the stream listener's `bind`, with `PIPE_READMODE_MESSAGE` added to the instances.
    pub(crate) fn bind(name: &LocalSocketName<'_>, opts: &ListenerOptions) -> io::Result<Self> {
        Ok(Self {
            acceptor: bind_acceptor(name, opts, ReadMode::Messages)?,
            name: name.clone().into_owned(),
            max: AtomicUsize::new(DEFAULT_MAX_MESSAGE_SIZE),
        })
    }

    /// `ConnectNamedPipe`, then `CreateNamedPipeW` for the next instance.
    pub(crate) fn accept(&self) -> io::Result<MessageStream> {
        let h = self
            .acceptor
            .accept()
            .map_err(|e| accept_error(e, &self.name))?;
        Ok(MessageStream::new(
            Conn::new(h, Some(End::Server), KIND),
            self.max_message_size(),
        ))
    }

    pub(crate) fn max_message_size(&self) -> usize {
        self.max.load(Ordering::Relaxed)
    }

    pub(crate) fn set_max_message_size(&self, max: usize) {
        self.max.store(max, Ordering::Relaxed);
    }

    /// A handle that stops this listener's accepts. No OS call.
    pub(crate) fn stopper(&self) -> super::Stopper {
        self.acceptor.stopper()
    }

    /// No OS call.
    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.acceptor.set_nonblocking(nonblocking);
        Ok(())
    }

    pub(crate) fn name(&self) -> &LocalSocketName<'static> {
        &self.name
    }
}

/// What a receive must finish before it reads a new message.
#[derive(Debug)]
enum Rest {
    /// Nothing: the next `ReadFile` starts a message.
    None,
    /// The rest of a truncated message is to be dropped.
    Skip,
    /// The start of a message `recv_vec` was reading; its rest is unread.
    Keep(Vec<u8>),
}

/// A connected message pipe end.
#[derive(Debug)]
pub(crate) struct MessageStream {
    conn: Conn,
    /// Shared with the [`try_clone`](Self::try_clone)s: the state is the connection's.
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// `max_message_size`.
    max: AtomicUsize,
    /// Held by `recv`/`recv_vec` for a whole message.
    rest: Mutex<Rest>,
}

impl MessageStream {
    fn new(conn: Conn, max: usize) -> Self {
        Self {
            conn,
            shared: Arc::new(Shared {
                max: AtomicUsize::new(max),
                rest: Mutex::new(Rest::None),
            }),
        }
    }

    /// `DuplicateHandle`; the copy shares the connection's state (modes, timeouts, limit,
    /// what is left of a message).
    pub(crate) fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            conn: self.conn.try_clone()?,
            shared: Arc::clone(&self.shared),
        })
    }

    pub(crate) fn max_message_size(&self) -> usize {
        self.shared.max.load(Ordering::Relaxed)
    }

    pub(crate) fn set_max_message_size(&self, max: usize) {
        self.shared.max.store(max, Ordering::Relaxed);
    }

    /// `CreateFileW` as the stream `connect` (same waits and timeout), then
    /// `SetNamedPipeHandleState(PIPE_READMODE_MESSAGE)`.
    pub(crate) fn connect(name: &LocalSocketName<'_>, opts: &ConnectOptions) -> io::Result<Self> {
        let path = pipe_path(name)?;
        let what = format!("message local socket \"{name}\"");
        let h = open_client(
            &path,
            Direction::Duplex,
            ReadMode::Messages,
            opts.timeout,
            &what,
        )?;
        Ok(Self::new(
            Conn::new(h, Some(End::Client), KIND),
            DEFAULT_MAX_MESSAGE_SIZE,
        ))
    }

    /// One `WriteFile` of the whole message (an empty one included). A message over the
    /// limit (or over 4 GiB - 1 bytes) is `InvalidInput`, with no OS call.
    pub(crate) fn send(&self, msg: &[u8]) -> io::Result<()> {
        let max = self.max_message_size();
        if msg.len() > max || u32::try_from(msg.len()).is_err() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a message of {} bytes is larger than the {}-byte limit \
                     (max_message_size, and at most 4 GiB - 1 bytes for a named pipe message)",
                    msg.len(),
                    max
                ),
            ));
        }
        let n = self.conn.write_message(msg)?;
        if n == msg.len() {
            return Ok(());
        }
        // Only a write cancelled by its timeout (or nonblocking mode) after the reader had
        // taken part of it ends early.
        let e = self.conn.expired();
        Err(io::Error::new(
            e.kind(),
            format!(
                "the send of a {}-byte message was cut short ({e}) after {n} bytes had gone: \
                 the receiver may get them as a shorter message",
                msg.len()
            ),
        ))
    }

    fn lock(&self) -> MutexGuard<'_, Rest> {
        self.shared.rest.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One `ReadFile` into `buf` (after finishing what an earlier call left); on
    /// `ERROR_MORE_DATA`, `PeekNamedPipe` for the size of the rest and more `ReadFile`s to
    /// drop it. A message over the limit is `InvalidData`.
    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<Option<(usize, bool)>> {
        let max = self.max_message_size();
        let mut rest = self.lock();
        match std::mem::replace(&mut *rest, Rest::None) {
            Rest::None => {}
            Rest::Skip => self.skip(&mut rest)?,
            Rest::Keep(head) => {
                let msg = self.finish(&mut rest, head)?;
                let n = msg.len().min(buf.len());
                buf[..n].copy_from_slice(&msg[..n]);
                return Ok(Some((n, msg.len() > n)));
            }
        }
        let Some((n, more)) = self.conn.recv_message(buf)? else {
            return Ok(None);
        };
        let size = if more {
            n.saturating_add(self.bytes_left_in_message())
        } else {
            n
        };
        if more {
            // An error here leaves `Rest::Skip` for the next call, which reports it then;
            // this message was received (or refused).
            let _ = self.skip(&mut rest);
        }
        if size > max {
            return Err(too_large(size, max));
        }
        Ok(Some((n, more)))
    }

    /// `ReadFile` into a stack buffer; if the message is longer, `PeekNamedPipe` for the
    /// size of its rest and `ReadFile` into a `Vec` grown to fit.
    pub(crate) fn recv_vec(&self) -> io::Result<Option<Vec<u8>>> {
        let max = self.max_message_size();
        let mut rest = self.lock();
        let head = match std::mem::replace(&mut *rest, Rest::None) {
            Rest::None => None,
            Rest::Skip => {
                self.skip(&mut rest)?;
                None
            }
            Rest::Keep(head) => Some(head),
        };
        let head = match head {
            Some(head) => head,
            None => {
                let mut first = [0; HEAD];
                let Some((n, more)) = self.conn.recv_message(&mut first)? else {
                    return Ok(None);
                };
                if !more {
                    if n > max {
                        return Err(too_large(n, max));
                    }
                    return Ok(Some(first[..n].to_vec()));
                }
                first[..n].to_vec()
            }
        };
        self.finish(&mut rest, head).map(Some)
    }

    /// Reads and drops the rest of a truncated message. On an error, `rest` says to go on
    /// next time.
    fn skip(&self, rest: &mut Rest) -> io::Result<()> {
        *rest = Rest::Skip;
        let mut scratch = vec![0; SKIP_CHUNK];
        // Until the message ends (or, which cannot happen with data still queued, the pipe).
        while let Some((_, true)) = self.conn.recv_message(&mut scratch)? {}
        *rest = Rest::None;
        Ok(())
    }

    /// Reads the rest of the message that `msg` starts, checking its size (`PeekNamedPipe`)
    /// against the limit before growing `msg` (`try_reserve_exact`). A message over the limit
    /// is dropped (`skip`) and is `InvalidData`. On any other error, `rest` keeps `msg` for
    /// the next call.
    fn finish(&self, rest: &mut Rest, mut msg: Vec<u8>) -> io::Result<Vec<u8>> {
        let max = self.max_message_size();
        loop {
            let start = msg.len();
            let left = self.bytes_left_in_message();
            if start.saturating_add(left) > max {
                let _ = self.skip(rest);
                return Err(too_large(start.saturating_add(left), max));
            }
            // Without an answer from PeekNamedPipe, grow geometrically, to one byte past the
            // limit at most (to see whether the message is over it).
            let grow = if left > 0 {
                left
            } else {
                start.max(HEAD).min((max - start).saturating_add(1))
            };
            if let Err(e) = msg.try_reserve_exact(grow) {
                let e = io::Error::new(
                    io::ErrorKind::OutOfMemory,
                    format!(
                        "cannot grow the buffer of a message past {start} bytes by {grow}: {e}"
                    ),
                );
                *rest = Rest::Keep(msg);
                return Err(e);
            }
            msg.resize(start + grow, 0);
            match self.conn.recv_message(&mut msg[start..]) {
                Ok(Some((n, more))) => {
                    msg.truncate(start + n);
                    if msg.len() > max {
                        if more {
                            let _ = self.skip(rest);
                        }
                        return Err(too_large(msg.len(), max));
                    }
                    if !more {
                        return Ok(msg);
                    }
                }
                Ok(None) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the pipe closed in the middle of a message, after {start} bytes"),
                    ))
                }
                Err(e) => {
                    msg.truncate(start);
                    *rest = Rest::Keep(msg);
                    return Err(e);
                }
            }
        }
    }

    /// `PeekNamedPipe`: the unread bytes of the message at the head of the pipe (0 if there
    /// is none or the call fails).
    fn bytes_left_in_message(&self) -> usize {
        let mut left = 0u32;
        // SAFETY: the handle is an open pipe handle; no buffer is passed (size 0) and `left`
        // is valid for writes; the other outputs are not wanted.
        let ok = unsafe {
            PeekNamedPipe(
                self.conn.as_handle().as_raw_handle(),
                ptr::null_mut(),
                0,
                ptr::null_mut(),
                ptr::null_mut(),
                &mut left,
            )
        };
        if ok == 0 {
            0
        } else {
            left as usize
        }
    }

    /// Takes over a connected pipe end made elsewhere:
    /// `SetNamedPipeHandleState(PIPE_READMODE_MESSAGE)`, which fails (`InvalidInput` here) on
    /// a pipe of byte type or a handle that is no pipe. The default `max_message_size`.
    pub(crate) fn from_handle(h: OwnedHandle) -> io::Result<Self> {
        super::ends::set_message_reads(h.as_handle()).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a message stream needs an end of a named pipe of message type: \
                     SetNamedPipeHandleState(PIPE_READMODE_MESSAGE): {e}"
                ),
            )
        })?;
        Ok(Self::new(
            Conn::new(h, None, KIND),
            crate::local_socket::message::DEFAULT_MAX_MESSAGE_SIZE,
        ))
    }

    /// Gives up the handle; the rest of a message partly received by then stays in the pipe.
    pub(crate) fn into_handle(self) -> OwnedHandle {
        self.conn.into_handle()
    }
}

/// The connection, for nonblocking mode, the timeouts and their getters, and `peer_creds`
/// (`GetNamedPipeClientProcessId` / `GetNamedPipeServerProcessId`: the pid only).
impl Deref for MessageStream {
    type Target = Conn;
    #[inline]
    fn deref(&self) -> &Conn {
        &self.conn
    }
}

impl AsHandle for MessageStream {
    fn as_handle(&self) -> BorrowedHandle<'_> {
        self.conn.as_handle()
    }
}
