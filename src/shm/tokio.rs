//! The async twin of [`ShmStream`](super::ShmStream) on tokio (feature `tokio`, Unix).
//!
//! A task cannot sleep on the ring's index word as a thread does, so an async stream waits on
//! its socket instead: where a sync call would sleep, it marks the ring's wake flag "async"
//! and returns `Pending`, and the peer, sync or async, then sends one byte on the socket
//! instead of a futex wake (the *doorbell*, only when the flag asks for it). The same socket
//! tells of the peer's death at once (end of file), with no wait slices. The data path is the
//! same as the sync stream's: copies into and out of the shared rings, no system call while
//! bytes or room are there. What does not depend on the runtime (the fan-out of the
//! socket's readiness to the reading and the writing task, the drain of doorbells with its
//! budget, the read and write loops) is shared with `shm::async_io`
//! (feature `async-io`); this module gives it tokio's `AsyncFd`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
//! use localipc::local_socket::NameTypeSupport;
//! use localipc::shm::{tokio::ShmStream, ShmOptions};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # let name = if NameTypeSupport::query().namespace_supported() {
//! #     format!("@localipc-doc-shm-tokio-{}", std::process::id())
//! # } else { format!("/tmp/localipc-doc-shm-tokio-{}.sock", std::process::id()) };
//! let listener = LocalSocketListener::bind(name.as_str())?;
//! let server = tokio::spawn(async move {
//!     let mut s = ShmStream::join(listener.accept().await?).await?;
//!     let mut buf = [0; 5];
//!     s.read_exact(&mut buf).await?;
//!     s.write_all(&buf).await?; // echo
//!     std::io::Result::Ok(())
//! });
//! let conn = LocalSocketStream::connect(name.as_str()).await?;
//! let mut s = ShmStream::create(conn, &ShmOptions::new()).await?;
//! s.write_all(b"hello").await?;
//! let mut reply = [0; 5];
//! s.read_exact(&mut reply).await?;
//! assert_eq!(&reply, b"hello");
//! server.await.unwrap()?;
//! assert_eq!(s.read(&mut reply).await?, 0); // the server dropped its stream: end of file
//! # Ok(())
//! # }
//! ```

use super::async_core::{self, AsyncShm, Doorbells};
use super::ShmOptions;
use crate::local_socket::{self, PeerCreds};
use crate::sys;
use ::tokio::io::unix::AsyncFd;
use ::tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

/// The longest [`ShmStream::create`]/[`join`](ShmStream::join) waits for the peer's half of
/// the handshake (a peer that never answers costs a blocking thread for this long).
pub const HANDSHAKE_TIMEOUT: Duration = async_core::HANDSHAKE_TIMEOUT;

/// An async byte stream to another process through shared memory: the twin of the sync
/// [`ShmStream`](super::ShmStream), on tokio's reactor.
///
/// `AsyncRead` and `AsyncWrite` are implemented on `ShmStream` and on `&ShmStream`: one task
/// may read while another writes. Two tasks reading at once (or writing at once) take turns
/// on a lock, and only the last one to wait is woken, as with tokio's own `poll_read`.
///
/// # Cancel safety
/// `read` and `write` (tokio's `AsyncReadExt`/`AsyncWriteExt`) are cancel-safe: a
/// `poll_read` that returns `Pending` has taken nothing from the ring, a `poll_write` that
/// returns `Pending` has put nothing into it, so dropping such a future loses nothing.
/// `read_exact` and `write_all` are not (as for any tokio stream): a dropped one may have
/// moved part of its buffer.
pub struct ShmStream {
    /// The stream with its socket's readiness (a duplicate of its descriptor, registered
    /// with the reactor) and the fan-out of that readiness to the reading and writing task.
    core: AsyncShm<AsyncFd<OwnedFd>>,
}

/// tokio's side of the doorbells: readiness kept by the registration until a `recv` fails
/// with `EAGAIN` (`AsyncFd::try_io` clears it then, unless a newer event came).
impl Doorbells for AsyncFd<OwnedFd> {
    fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // The guard is dropped without clearing: the readiness stays until `try_recv`.
        let _guard = ready!(self.poll_read_ready(cx))?;
        Poll::Ready(Ok(()))
    }

    fn try_recv(&self, scratch: &mut [u8]) -> io::Result<usize> {
        self.try_io(Interest::READABLE, |fd| {
            async_core::recv_doorbells(fd, scratch)
        })
    }
}

impl ShmStream {
    /// Sets up shared memory over `conn` (consumed) for the peer, which calls
    /// [`join`](Self::join) (or the sync [`ShmStream::join`](super::ShmStream::join)) on its
    /// end: the sync [`create`](super::ShmStream::create) (`memfd_create`, `mmap`, `sendmsg`
    /// with `SCM_RIGHTS`, `read` of the acknowledgement) on tokio's blocking pool, with the
    /// socket's read timeout set to [`HANDSHAKE_TIMEOUT`]; then the socket is registered with
    /// the reactor twice (`fcntl(F_DUPFD_CLOEXEC)`, `epoll_ctl`/`kevent`). Errors as for the
    /// sync `create`; must be called within a tokio runtime.
    ///
    /// Not cancel-safe: `conn` is consumed at the first poll, and dropping the future then
    /// loses it (the handshake finishes on the blocking pool and its result is dropped:
    /// memory unmapped, socket closed; the peer's `join` fails or reads end of file).
    pub async fn create(
        conn: local_socket::tokio::LocalSocketStream,
        options: &ShmOptions,
    ) -> io::Result<ShmStream> {
        let options = options.clone();
        Self::set_up(conn, move |c| super::ShmStream::create(c, &options)).await
    }

    /// Joins the shared memory the peer set up with `create` on its end of `conn`
    /// (consumed), with the default wait policy: the sync
    /// [`join`](super::ShmStream::join) on tokio's blocking pool (the read timeout as for
    /// [`create`](Self::create)), then registered with the reactor. Not cancel-safe, as
    /// `create`.
    pub async fn join(conn: local_socket::tokio::LocalSocketStream) -> io::Result<ShmStream> {
        Self::set_up(conn, super::ShmStream::join).await
    }

    /// As [`join`](Self::join), with this side's own options (the capacities are the
    /// creator's; see [`ShmStream::join_with`](super::ShmStream::join_with)). Not
    /// cancel-safe, as `create`.
    pub async fn join_with(
        conn: local_socket::tokio::LocalSocketStream,
        options: &ShmOptions,
    ) -> io::Result<ShmStream> {
        let options = options.clone();
        Self::set_up(conn, move |c| super::ShmStream::join_with(c, &options)).await
    }

    async fn set_up(
        conn: local_socket::tokio::LocalSocketStream,
        handshake: impl FnOnce(local_socket::LocalSocketStream) -> io::Result<super::ShmStream>
            + Send
            + 'static,
    ) -> io::Result<ShmStream> {
        sys::in_runtime("localipc::shm::tokio::ShmStream::create/join")?;
        let conn = local_socket::LocalSocketStream::try_from(conn)?;
        conn.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
        let inner = ::tokio::task::spawn_blocking(move || handshake(conn))
            .await
            .map_err(|e| io::Error::other(format!("shared memory handshake task: {e}")))??;
        Self::from_sync(inner)
    }

    /// Registers a set-up sync stream (its socket made nonblocking: only `MSG_DONTWAIT`
    /// calls are made on it afterwards).
    fn from_sync(inner: super::ShmStream) -> io::Result<ShmStream> {
        let core = AsyncShm::new(inner, |fd| sys::tokio::register(fd, Interest::READABLE))?;
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
    /// `AsyncWrite::poll_shutdown` is `shutdown(Write)`).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.core.inner().shutdown(how)
    }

    /// The peer's credentials, from the socket (see the sync
    /// [`peer_creds`](super::ShmStream::peer_creds)).
    pub fn peer_creds(&self) -> io::Result<PeerCreds> {
        self.core.inner().peer_creds()
    }

    /// Reads into the unfilled part of `buf` (see `async_core`).
    fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let n = ready!(self.core.poll_read(cx, buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }

    /// Writes from `buf` (see `async_core`).
    fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.core.poll_write(cx, buf)
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
/// socket to be readable (`epoll`/`kqueue` through tokio): a doorbell, or end of file once
/// the peer is gone. End of file after everything published was read, as for the sync
/// stream. Cancel-safe.
impl AsyncRead for &ShmStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().poll_read_priv(cx, buf)
    }
}

/// As for `&ShmStream`.
impl AsyncRead for ShmStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().poll_read_priv(cx, buf)
    }
}

/// Copies into the outgoing ring (as much as fits) and wakes the peer if it waits (futex
/// wake or doorbell); a full ring waits as a read does. `BrokenPipe` once the peer shut down
/// its reading side or is gone. Nothing to flush; `poll_shutdown` is
/// [`shutdown(Write)`](ShmStream::shutdown). Cancel-safe.
impl AsyncWrite for &ShmStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_priv(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.get_mut().shutdown(Shutdown::Write))
    }
}

/// As for `&ShmStream`.
impl AsyncWrite for ShmStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_priv(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.get_mut().shutdown(Shutdown::Write))
    }
}
