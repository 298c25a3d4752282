//! The async twin of [`ShmStream`](super::ShmStream) without tokio (feature `async-io`,
//! Unix): on async-io's reactor, the one behind smol and async-std, with
//! `futures_io::AsyncRead`/`AsyncWrite`; any executor, and no tokio runtime anywhere.
//!
//! It waits as the tokio twin (`shm::tokio`, same wire protocol) does: where
//! a sync call would sleep, it marks the ring's wake flag "async" and returns `Pending`, and
//! the peer, sync, tokio or async-io, then sends one byte on the socket instead of a futex
//! wake (the *doorbell*, only when the flag asks for it). The same socket tells of the
//! peer's death at once (end of file). The data path is the sync stream's: copies into and
//! out of the shared rings, no system call while bytes or room are there.
//!
//! # How it waits
//! The socket (a duplicate of its descriptor) is registered with the reactor as an
//! `async_io::Async` (epoll/kqueue through `polling`, one-shot, level-triggered). Where the
//! ring makes it wait, a task arms the ring's flag, re-checks the ring, then drains the
//! socket with `recv(MSG_DONTWAIT)` until `EAGAIN`, and only then asks the reactor for
//! readability (`Async::poll_readable`, which re-arms the registration: a byte that came
//! after the `EAGAIN` is reported). Every wake-up starts with the `recv` again, as
//! async-io's own `Async` I/O does: `poll_readable` is `Ready` only for an event of a
//! reactor tick later than the one the task registered in, so a task that waited for
//! `Ready` before reading could be woken, find `Pending`, register again in the next tick
//! and miss the event for ever (it did, with every thread on one CPU).
//!
//! The socket's one readiness is shared by the reading and the writing task: the
//! registration holds a fan-out waker that wakes both (async-io keeps one waker per
//! direction and wakes the one a poll replaces, so two tasks' own wakers would wake each
//! other without end), and a task that drains doorbells wakes the other (the doorbell may
//! have been its). A poll makes at most 16 `recv` calls, then yields, so a peer flooding
//! the socket holds no executor thread.
//!
//! The handshake (`create`/`join`) is the sync one, run on the `blocking` crate's thread
//! pool (`blocking::unblock`, the pool smol uses for files and DNS) with the socket's read
//! timeout set to [`HANDSHAKE_TIMEOUT`]: it is a few blocking calls (`memfd_create`, `mmap`,
//! `sendmsg` of the descriptor, a `read` of the acknowledgement) that the sync code already
//! gets right, and async-io has no blocking pool of its own; a nonblocking rewrite would
//! duplicate the handshake's checks for one thread hop per connection.
//!
//! # Example
//! On smol's executor (`async-executor`; `smol::Executor` is the same type):
//!
//! ```
//! use async_executor::Executor;
//! use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
//! use localipc::local_socket::async_io::{LocalSocketListener, LocalSocketStream};
//! use localipc::shm::{async_io::ShmStream, ShmOptions};
//!
//! # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
//! #     format!("@localipc-doc-shm-aio-{}", std::process::id())
//! # } else { format!("/tmp/localipc-doc-shm-aio-{}.sock", std::process::id()) };
//! let ex = Executor::new();
//! future::block_on(ex.run(async {
//!     let listener = LocalSocketListener::bind(name.as_str())?;
//!     let server = ex.spawn(async move {
//!         let mut s = ShmStream::join(listener.accept().await?).await?;
//!         let mut buf = [0; 5];
//!         s.read_exact(&mut buf).await?;
//!         s.write_all(&buf).await?; // echo
//!         std::io::Result::Ok(())
//!     });
//!     let conn = LocalSocketStream::connect(name.as_str()).await?;
//!     let mut s = ShmStream::create(conn, &ShmOptions::new()).await?;
//!     s.write_all(b"hello").await?;
//!     let mut reply = [0; 5];
//!     s.read_exact(&mut reply).await?;
//!     assert_eq!(&reply, b"hello");
//!     server.await?;
//!     assert_eq!(s.read(&mut reply).await?, 0); // the server dropped its stream: end of file
//!     std::io::Result::Ok(())
//! }))?;
//! # std::io::Result::Ok(())
//! ```

use super::async_core::{self, AsyncShm, Doorbells};
use super::ShmOptions;
use crate::local_socket::{self, PeerCreds};
use ::async_io::Async;
use futures_io::{AsyncRead, AsyncWrite};
use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// The longest [`ShmStream::create`]/[`join`](ShmStream::join) waits for the peer's half of
/// the handshake (a peer that never answers holds a `blocking` pool thread for this long).
pub const HANDSHAKE_TIMEOUT: Duration = async_core::HANDSHAKE_TIMEOUT;

/// An async byte stream to another process through shared memory: the twin of the sync
/// [`ShmStream`](super::ShmStream), on async-io's reactor (no tokio).
///
/// `AsyncRead` and `AsyncWrite` (`futures_io`) are implemented on `ShmStream` and on
/// `&ShmStream`: one task may read while another writes. Two tasks reading at once (or
/// writing at once) take turns on a lock, and only the last one to wait is woken.
///
/// # Cancel safety
/// `read` and `write` (`futures_lite::AsyncReadExt`/`AsyncWriteExt`, or `futures`') are
/// cancel-safe: a `poll_read` that returns `Pending` has taken nothing from the ring, a
/// `poll_write` that returns `Pending` has put nothing into it, so dropping such a future
/// loses nothing. `read_exact` and `write_all` are not (as for any stream): a dropped one may
/// have moved part of its buffer.
pub struct ShmStream {
    /// The stream with its socket's readiness (a duplicate of its descriptor, registered
    /// with the reactor) and the fan-out of that readiness to the reading and writing task.
    core: AsyncShm<Async<OwnedFd>>,
}

/// async-io's side of the doorbells: `poll_readable` is `Ready` once per event the reactor
/// delivered after the registration, which the next poll re-arms (one-shot, level: a byte
/// still queued then is reported again), so an `EAGAIN` needs no clearing.
impl Doorbells for Async<OwnedFd> {
    fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Async::poll_readable(self, cx)
    }

    fn try_recv(&self, scratch: &mut [u8]) -> io::Result<usize> {
        async_core::recv_doorbells(self.get_ref(), scratch)
    }
}

impl ShmStream {
    /// Sets up shared memory over `conn` (consumed) for the peer, which calls
    /// [`join`](Self::join) (or the sync [`ShmStream::join`](super::ShmStream::join), or the
    /// tokio twin's) on its end: `conn` is deregistered and made blocking (`epoll_ctl`/
    /// `kevent`, `fcntl`), then the sync [`create`](super::ShmStream::create)
    /// (`memfd_create`, `mmap`, `sendmsg` with `SCM_RIGHTS`, `read` of the acknowledgement)
    /// runs on the `blocking` pool with the socket's read timeout set to
    /// [`HANDSHAKE_TIMEOUT`]; then the socket is made nonblocking again and a duplicate of it
    /// is registered with the reactor (`fcntl(F_DUPFD_CLOEXEC)`, `epoll_ctl`/`kevent`).
    /// Errors as for the sync `create`. Needs no runtime: async-io's reactor starts on first
    /// use.
    ///
    /// Not cancel-safe: `conn` is consumed at the first poll, and dropping the future then
    /// loses it (the handshake finishes on the pool and its result is dropped: memory
    /// unmapped, socket closed; the peer's `join` fails or reads end of file).
    pub async fn create(
        conn: local_socket::async_io::LocalSocketStream,
        options: &ShmOptions,
    ) -> io::Result<ShmStream> {
        let options = options.clone();
        Self::set_up(conn, move |c| super::ShmStream::create(c, &options)).await
    }

    /// Joins the shared memory the peer set up with `create` on its end of `conn`
    /// (consumed), with the default wait policy: the sync [`join`](super::ShmStream::join)
    /// on the `blocking` pool (the read timeout as for [`create`](Self::create)), then
    /// registered with the reactor. Not cancel-safe, as `create`.
    pub async fn join(conn: local_socket::async_io::LocalSocketStream) -> io::Result<ShmStream> {
        Self::set_up(conn, super::ShmStream::join).await
    }

    /// As [`join`](Self::join), with this side's own options (the capacities are the
    /// creator's; see [`ShmStream::join_with`](super::ShmStream::join_with)). Not
    /// cancel-safe, as `create`.
    pub async fn join_with(
        conn: local_socket::async_io::LocalSocketStream,
        options: &ShmOptions,
    ) -> io::Result<ShmStream> {
        let options = options.clone();
        Self::set_up(conn, move |c| super::ShmStream::join_with(c, &options)).await
    }

    async fn set_up(
        conn: local_socket::async_io::LocalSocketStream,
        handshake: impl FnOnce(local_socket::LocalSocketStream) -> io::Result<super::ShmStream>
            + Send
            + 'static,
    ) -> io::Result<ShmStream> {
        let conn = local_socket::LocalSocketStream::try_from(conn)?;
        conn.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
        let inner = blocking::unblock(move || handshake(conn)).await?;
        let core = AsyncShm::new(inner, Async::new_nonblocking)?;
        Ok(ShmStream { core })
    }

    /// The capacity of the outgoing ring in bytes. No OS call.
    pub fn write_capacity(&self) -> usize {
        self.core.inner().write_capacity()
    }

    /// The capacity of the incoming ring in bytes. No OS call.
    pub fn read_capacity(&self) -> usize {
        self.core.inner().read_capacity()
    }

    /// Shuts down one or both directions, as the sync
    /// [`shutdown`](super::ShmStream::shutdown) (a doorbell or wake-up if the peer waits;
    /// `AsyncWrite::poll_close` is `shutdown(Write)`).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.core.inner().shutdown(how)
    }

    /// The peer's credentials, from the socket (see the sync
    /// [`peer_creds`](super::ShmStream::peer_creds)).
    pub fn peer_creds(&self) -> io::Result<PeerCreds> {
        self.core.inner().peer_creds()
    }
}

impl fmt::Debug for ShmStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShmStream")
            .field("inner", self.core.inner())
            .finish_non_exhaustive()
    }
}

/// Copies out of the incoming ring; where it is empty, arms the ring's flag and waits for the
/// socket to be readable (`epoll`/`kqueue` through async-io's reactor): a doorbell, or end of
/// file once the peer is gone. End of file after everything published was read, as for the
/// sync stream. Cancel-safe.
impl AsyncRead for &ShmStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.core.poll_read(cx, buf)
    }
}

/// As for `&ShmStream`.
impl AsyncRead for ShmStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.core.poll_read(cx, buf)
    }
}

/// Copies into the outgoing ring (as much as fits) and wakes the peer if it waits (futex
/// wake or doorbell); a full ring waits as a read does. `BrokenPipe` once the peer shut down
/// its reading side or is gone. Nothing to flush; `poll_close` is
/// [`shutdown(Write)`](ShmStream::shutdown). Cancel-safe.
impl AsyncWrite for &ShmStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.core.poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(Shutdown::Write))
    }
}

/// As for `&ShmStream`.
impl AsyncWrite for ShmStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.core.poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(Shutdown::Write))
    }
}
