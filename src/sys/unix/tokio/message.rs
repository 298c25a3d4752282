//! Async message sockets on tokio's reactor: the sync message stream (`SOCK_SEQPACKET` on
//! Linux, else framing) in nonblocking mode inside an `AsyncFd`.
//!
//! Every receive and every `SOCK_SEQPACKET` send is one system call made in the poll that
//! returns `Ready`: a future dropped before that has done nothing, which is what makes them
//! cancel-safe. Framed receives keep a frame's progress in the decoder across `WouldBlock`.
//! A framed send may need several `send`s for one frame: once the first byte is out, the
//! rest of the frame is kept here and goes out ahead of anything else, so a dropped send
//! never cuts a frame (but its message counts as sent).

use super::super::addr::SockAddr;
use super::super::connect::{start_connect, Connecting, Retry};
use super::super::message::{self as sync, SOCK_TYPE};
use super::{register, Listener};
use crate::local_socket::message::DEFAULT_MAX_MESSAGE_SIZE;
use crate::local_socket::{ConnectOptions, ListenerOptions, LocalSocketName, PeerCreds};
use crate::sys::{err_with_name, in_runtime};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// A listening message socket registered with tokio's reactor.
#[derive(Debug)]
pub(crate) struct MessageListener {
    inner: Listener,
    /// `max_message_size` of the streams accepted from now on.
    max: AtomicUsize,
}

impl MessageListener {
    /// The sync message `bind` (`socket(SOCK_SEQPACKET)` or `SOCK_STREAM`, same reclaim and
    /// mode rules), then registration with tokio (`epoll_ctl`/`kevent`).
    pub(crate) fn bind(name: &LocalSocketName<'_>, opts: &ListenerOptions) -> io::Result<Self> {
        in_runtime("binding a tokio message socket")?;
        Self::from_sync(sync::MessageListener::bind(name, opts)?)
    }

    /// Nonblocking mode (`fcntl`) and registration with the current runtime.
    pub(crate) fn from_sync(l: sync::MessageListener) -> io::Result<Self> {
        in_runtime("converting to a tokio message listener")?;
        let (l, max) = l.into_parts();
        Ok(Self {
            inner: Listener::from_sync(l)?,
            max: AtomicUsize::new(max),
        })
    }

    /// `accept4(SOCK_CLOEXEC | SOCK_NONBLOCK)` when tokio reports readiness (any number of
    /// tasks may wait), then as the sync accept (Linux: `setsockopt(SO_PASSCRED)`); the
    /// stream joins the listener's runtime.
    pub(crate) async fn accept(&self) -> io::Result<MessageStream> {
        let l = &self.inner;
        let sock = loop {
            let mut guard = l.sock.readable().await?;
            if let Ok(r) = guard.try_io(|s| l.accept_admitted(s.get_ref())) {
                break r.map_err(|e| super::super::listener::accept_error(e, &l.name))?;
            }
        };
        let _runtime = l.runtime.enter();
        MessageStream::from_nonblocking(sock, self.max_message_size())
    }

    pub(crate) fn max_message_size(&self) -> usize {
        self.max.load(Ordering::Relaxed)
    }

    pub(crate) fn set_max_message_size(&self, max: usize) {
        self.max.store(max, Ordering::Relaxed);
    }

    pub(crate) fn name(&self) -> &LocalSocketName<'static> {
        self.inner.name()
    }
}

/// The sync message stream, with the `AsRawFd` that `AsyncFd` needs.
#[derive(Debug)]
struct Sock(sync::MessageStream);

impl AsRawFd for Sock {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// A connected message socket registered with tokio's reactor.
#[derive(Debug)]
pub(crate) struct MessageStream {
    sock: AsyncFd<Sock>,
    /// Framing: the rest of a frame whose first bytes are out, sent ahead of anything else.
    #[cfg(not(all(
        any(target_os = "linux", target_os = "android"),
        not(localipc_framed_messages)
    )))]
    rest: std::sync::Mutex<Vec<u8>>,
}

impl MessageStream {
    /// Wraps a nonblocking connected socket (Linux: `setsockopt(SO_PASSCRED)`; Apple:
    /// `SO_NOSIGPIPE`) and registers it with the current runtime.
    fn from_nonblocking(sock: UnixStream, max: usize) -> io::Result<Self> {
        super::super::set_nosigpipe(&sock)?;
        Self::register(sync::MessageStream::new(sock, max)?)
    }

    fn register(s: sync::MessageStream) -> io::Result<Self> {
        Ok(Self {
            sock: register(Sock(s), Interest::READABLE | Interest::WRITABLE)?,
            #[cfg(not(all(
                any(target_os = "linux", target_os = "android"),
                not(localipc_framed_messages)
            )))]
            rest: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// `fcntl(F_SETFL, O_NONBLOCK)`, then registration with the current runtime. The limit
    /// and (with framing) a frame partly received come along; sync clones made before keep
    /// sharing them.
    pub(crate) fn from_sync(s: sync::MessageStream) -> io::Result<Self> {
        in_runtime("converting to a tokio message stream")?;
        s.set_nonblocking(true)?;
        Self::register(s)
    }

    /// Nonblocking `socket(SOCK_SEQPACKET)` (or `SOCK_STREAM`) + `connect`, waiting for
    /// writability if in progress; with a timeout, retried (tokio timer) while the server is
    /// not up yet, until the deadline.
    pub(crate) async fn connect(
        name: &LocalSocketName<'_>,
        opts: &ConnectOptions,
    ) -> io::Result<Self> {
        in_runtime("connecting a tokio message socket")?;
        let addr = SockAddr::new(name)?;
        let mut retry = opts.timeout.map(Retry::new);
        loop {
            let err = match Self::connect_once(&addr).await {
                Ok(s) => return Ok(s),
                Err(e) => e,
            };
            match &mut retry {
                None => return Err(err_with_name(err, "connecting to", name)),
                Some(r) => tokio::time::sleep(r.after(err, name)?).await,
            }
        }
    }

    async fn connect_once(addr: &SockAddr) -> io::Result<Self> {
        let (std, state) = start_connect(addr, SOCK_TYPE)?;
        let s = Self::from_nonblocking(std, DEFAULT_MAX_MESSAGE_SIZE)?;
        if state == Connecting::InProgress {
            let _ready = s.sock.writable().await?;
            if let Some(e) = s.sock.get_ref().0.take_error()? {
                return Err(e);
            }
        }
        Ok(s)
    }

    pub(crate) fn max_message_size(&self) -> usize {
        self.sock.get_ref().0.max_message_size()
    }

    pub(crate) fn set_max_message_size(&self, max: usize) {
        self.sock.get_ref().0.set_max_message_size(max);
    }

    /// `send(MSG_NOSIGNAL)` when tokio reports writability (the sync send: whole message or
    /// nothing, same errors).
    #[cfg(all(
        any(target_os = "linux", target_os = "android"),
        not(localipc_framed_messages)
    ))]
    pub(crate) async fn send(&self, msg: &[u8]) -> io::Result<()> {
        let max = self.max_message_size();
        if msg.len() > max {
            return Err(too_long(msg.len(), max));
        }
        self.sock
            .async_io(Interest::WRITABLE, |s| s.0.send(msg))
            .await
    }

    /// `sendmsg(MSG_NOSIGNAL)` of length + message when tokio reports writability; if only
    /// part of the frame went out, its rest is kept and sent (`send`) ahead of anything else,
    /// by this call or, if it is dropped, by the next one.
    #[cfg(not(all(
        any(target_os = "linux", target_os = "android"),
        not(localipc_framed_messages)
    )))]
    pub(crate) async fn send(&self, msg: &[u8]) -> io::Result<()> {
        use super::super::fd_io;
        use std::io::IoSlice;
        let max = self.max_message_size();
        let Some(len) = u32::try_from(msg.len()).ok().filter(|_| msg.len() <= max) else {
            return Err(too_long(msg.len(), max));
        };
        let header = len.to_le_bytes();
        let mut started = false;
        self.sock
            .async_io(Interest::WRITABLE, |s| {
                let fd = s.0.as_fd();
                let mut rest = self.rest.lock().unwrap_or_else(|e| e.into_inner());
                send_rest(fd, &mut rest)?;
                if !started {
                    let bufs = [IoSlice::new(&header), IoSlice::new(msg)];
                    let n = loop {
                        match fd_io::send_vectored(fd, &bufs) {
                            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                            r => break r?,
                        }
                    };
                    started = true;
                    rest.extend_from_slice(&header[n.min(header.len())..]);
                    rest.extend_from_slice(&msg[n.saturating_sub(header.len()).min(msg.len())..]);
                    send_rest(fd, &mut rest)?;
                }
                Ok(())
            })
            .await
    }

    /// `recvmsg(MSG_TRUNC)` (framing: `read(2)` until a frame is in) when tokio reports
    /// readability: the sync `recv`.
    pub(crate) async fn recv(&self, buf: &mut [u8]) -> io::Result<Option<(usize, bool)>> {
        self.sock
            .async_io(Interest::READABLE, |s| s.0.recv(buf))
            .await
    }

    /// `recvmsg(MSG_PEEK | MSG_TRUNC)` then `recvmsg` (framing: `read(2)` until a frame is
    /// in) when tokio reports readability: the sync `recv_vec`.
    pub(crate) async fn recv_vec(&self) -> io::Result<Option<Vec<u8>>> {
        self.sock
            .async_io(Interest::READABLE, |s| s.0.recv_vec())
            .await
    }

    /// `SO_PEERCRED` on Linux, `getpeereid` (+ `LOCAL_PEERPID`) on BSDs.
    pub(crate) fn peer_creds(&self) -> io::Result<PeerCreds> {
        self.sock.get_ref().0.peer_creds()
    }

    /// Deregisters (`epoll_ctl`/`kevent`) and gives up the descriptor, still nonblocking.
    #[allow(dead_code)]
    pub(crate) fn into_fd(self) -> OwnedFd {
        self.sock.into_inner().0.into_fd()
    }
}

impl AsFd for MessageStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.get_ref().0.as_fd()
    }
}

fn too_long(len: usize, max: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("a message of {len} bytes is larger than the {max}-byte limit (max_message_size)"),
    )
}

/// `send(MSG_NOSIGNAL)` until `rest` is out (`WouldBlock` keeps what is left).
#[cfg(not(all(
    any(target_os = "linux", target_os = "android"),
    not(localipc_framed_messages)
)))]
fn send_rest(fd: BorrowedFd<'_>, rest: &mut Vec<u8>) -> io::Result<()> {
    while !rest.is_empty() {
        match super::super::fd_io::send(fd, rest) {
            Ok(n) => drop(rest.drain(..n)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
