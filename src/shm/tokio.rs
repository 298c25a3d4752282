//! The async twin of [`ShmStream`](super::ShmStream) on tokio (feature `tokio`; Unix and
//! Windows).
//!
//! A task cannot sleep on the ring's index word as a thread does, so an async stream waits on
//! its socket instead: where a sync call would sleep, it marks the ring's wake flag "async"
//! and returns `Pending`, and the peer, sync or async, then sends one byte on the socket
//! instead of a futex wake or `SetEvent` (the *doorbell*, only when the flag asks for it).
//! The same socket tells of the peer's death at once (end of file), with no wait slices.
//! Windows: the socket is the named pipe, read through tokio (mio keeps an overlapped
//! `ReadFile` in flight on it, so a doorbell makes it readable); a sync or tokio peer sends
//! its doorbells with a nonblocking 1-byte `WriteFile`. The data path is the
//! same as the sync stream's: copies into and out of the shared rings, no system call while
//! bytes or room are there. What does not depend on the runtime (the fan-out of the
//! socket's readiness to the reading and the writing task, the drain of doorbells with its
//! budget, the read and write loops) is shared with `shm::async_io`
//! (feature `async-io`, Unix); this module gives it tokio's `AsyncFd` (Unix) or the tokio
//! named pipe (Windows).
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
#[cfg(unix)]
use ::tokio::io::{unix::AsyncFd, Interest};
use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use std::fmt;
use std::io;
use std::net::Shutdown;
#[cfg(unix)]
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
    /// The stream with its socket's readiness (Unix: a duplicate of its descriptor,
    /// registered with the reactor; Windows: the tokio pipe) and the fan-out of that
    /// readiness to the reading and writing task.
    core: AsyncShm<Ready>,
}

/// The reactor's side of the connection.
#[cfg(unix)]
type Ready = AsyncFd<OwnedFd>;
#[cfg(windows)]
type Ready = sys::tokio::Stream;

/// tokio's side of the doorbells: readiness kept by the registration until a `recv` fails
/// with `EAGAIN` (`AsyncFd::try_io` clears it then, unless a newer event came).
#[cfg(unix)]
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

/// tokio's named pipe: readable once mio's overlapped `ReadFile` completed; `try_read`
/// takes what it brought in (`WouldBlock`, readiness cleared, when nothing is left, and mio
/// issues the next `ReadFile`). End of file or a broken pipe is 0: the peer is gone.
#[cfg(windows)]
impl Doorbells for sys::tokio::Stream {
    fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_doorbells_ready(cx)
    }

    fn try_recv(&self, scratch: &mut [u8]) -> io::Result<usize> {
        self.try_read_doorbells(scratch)
    }
}

/// Which half of the handshake this side runs, with its options.
enum Side {
    Create(ShmOptions),
    Join(ShmOptions),
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
    /// Windows: the same handshake (`CreateFileMappingW`, `CreateEventW`, the section and
    /// events sent with the tokio stream's
    /// [`send_with_handles`](local_socket::tokio::LocalSocketStream::send_with_handles), the
    /// acknowledgement read through tokio) on a blocking-pool thread that drives each call
    /// of the tokio stream with `Handle::block_on`, under a `tokio::time::timeout` of
    /// [`HANDSHAKE_TIMEOUT`] each (the runtime needs its time driver, as `enable_all` gives);
    /// the stream keeps the tokio pipe for its doorbells and a duplicate of its handle
    /// (`DuplicateHandle`) for the peer's liveness (`PeekNamedPipe`), its own doorbells
    /// (`WriteFile`) and credentials, never for reading.
    ///
    /// Not cancel-safe: `conn` is consumed at the first poll, and dropping the future then
    /// loses it (the handshake finishes on the blocking pool and its result is dropped:
    /// memory unmapped, socket closed; the peer's `join` fails or reads end of file).
    pub async fn create(
        conn: local_socket::tokio::LocalSocketStream,
        options: &ShmOptions,
    ) -> io::Result<ShmStream> {
        Self::set_up(conn, Side::Create(options.clone())).await
    }

    /// Joins the shared memory the peer set up with `create` on its end of `conn`
    /// (consumed), with the default wait policy: the sync
    /// [`join`](super::ShmStream::join) on tokio's blocking pool (the read timeout as for
    /// [`create`](Self::create); Windows: the handshake over the tokio stream as there,
    /// receiving with [`recv_with_handles`](local_socket::tokio::LocalSocketStream::recv_with_handles)),
    /// then registered with the reactor. Not cancel-safe, as `create`.
    pub async fn join(conn: local_socket::tokio::LocalSocketStream) -> io::Result<ShmStream> {
        Self::set_up(conn, Side::Join(ShmOptions::new())).await
    }

    /// As [`join`](Self::join), with this side's own options (the capacities are the
    /// creator's; see [`ShmStream::join_with`](super::ShmStream::join_with)). Not
    /// cancel-safe, as `create`.
    pub async fn join_with(
        conn: local_socket::tokio::LocalSocketStream,
        options: &ShmOptions,
    ) -> io::Result<ShmStream> {
        Self::set_up(conn, Side::Join(options.clone())).await
    }

    /// Unix: the sync stream's handshake on the blocking pool, then its socket registered.
    #[cfg(unix)]
    async fn set_up(
        conn: local_socket::tokio::LocalSocketStream,
        side: Side,
    ) -> io::Result<ShmStream> {
        sys::in_runtime("localipc::shm::tokio::ShmStream::create/join")?;
        let conn = local_socket::LocalSocketStream::try_from(conn)?;
        conn.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
        let inner = ::tokio::task::spawn_blocking(move || match side {
            Side::Create(o) => super::ShmStream::create(conn, &o),
            Side::Join(o) => super::ShmStream::join_with(conn, &o),
        })
        .await
        .map_err(handshake_task)??;
        // Its socket made nonblocking: only `MSG_DONTWAIT` calls are made on it afterwards.
        let core = AsyncShm::new(inner, |fd| sys::tokio::register(fd, Interest::READABLE))?;
        Ok(ShmStream { core })
    }

    /// Windows: the one handshake over the tokio stream, driven from the blocking pool
    /// (`shm::block_on`); the sync stream inside gets a duplicate of the pipe handle, which
    /// is never read through (see `sys::windows::tokio::Stream::duplicate`).
    #[cfg(windows)]
    async fn set_up(
        conn: local_socket::tokio::LocalSocketStream,
        side: Side,
    ) -> io::Result<ShmStream> {
        use super::{block_on::BlockOn, handshake};
        let runtime = sys::in_runtime("localipc::shm::tokio::ShmStream::create/join")?;
        let dup = local_socket::LocalSocketStream {
            inner: conn.inner.duplicate()?,
        };
        let (conn, inner) = ::tokio::task::spawn_blocking(move || {
            let chan = BlockOn {
                conn: &conn,
                runtime,
            };
            let inner = match side {
                Side::Create(o) => o.checked_capacity().and_then(|cap| {
                    let parts = handshake::create(&chan, cap)?;
                    Ok(super::ShmStream::from_parts(dup, parts, o.spin))
                }),
                Side::Join(o) => handshake::join(&chan)
                    .map(|parts| super::ShmStream::from_parts(dup, parts, o.spin)),
            };
            (conn, inner)
        })
        .await
        .map_err(handshake_task)?;
        Ok(ShmStream {
            core: AsyncShm::with_doorbells(inner?, conn.inner),
        })
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

/// The error of a handshake task that panicked or was cancelled (runtime shutting down).
fn handshake_task(e: ::tokio::task::JoinError) -> io::Error {
    io::Error::other(format!("shared memory handshake task: {e}"))
}

impl fmt::Debug for ShmStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShmStream")
            .field("inner", self.core.inner())
            .finish_non_exhaustive()
    }
}

/// Copies out of the incoming ring; where it is empty, arms the ring's flag and waits for the
/// socket to be readable (`epoll`/`kqueue` through tokio; Windows: mio's overlapped
/// `ReadFile` on the pipe): a doorbell, or end of file once the peer is gone. End of file after everything published was read, as for the sync
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
/// wake, Windows `SetEvent`, or a doorbell); a full ring waits as a read does. `BrokenPipe` once the peer shut down
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
