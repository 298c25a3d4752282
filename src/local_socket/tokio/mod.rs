//! Async local sockets for tokio (feature `tokio`): the twin of the sync API, with the same
//! names, options and error rules.
//!
//! Built on tokio's own `UnixListener`/`UnixStream` (and on Windows its named pipes), so it
//! runs on tokio's reactor with no thread of its own (except the Windows half-close, below).
//! Constructors must be called from within a tokio runtime with I/O enabled (and the time
//! driver, for [`ConnectOptions::timeout`](super::ConnectOptions::timeout)); outside one they
//! return an error instead of panicking.
//!
//! With the feature `futures-io` (or its 1.x-style alias `tokio_support`), the streams and
//! their halves also implement `futures_io::AsyncRead`/`AsyncWrite`, for tasks on other
//! executors (smol, async-std); the streams still need a tokio runtime alive somewhere for
//! their reactor. There, `close()` on a [`LocalSocketStream`] shuts down both directions (as
//! `interprocess` 1.2.1 did), while on `&LocalSocketStream` and the write halves it shuts
//! down writing only, like tokio's `shutdown()`. Importing both families' extension traits in
//! one module makes their methods ambiguous; see [`LocalSocketStream`] for the fix.
//!
//! # Windows: when a dropped stream really closes
//! tokio's named pipes always keep an overlapped read in flight, into a buffer of their own.
//! Dropping a stream cancels that read, but the pipe handle is closed only when the runtime's
//! I/O driver collects the cancellation. On a multi-thread runtime that happens at once; on a
//! current-thread runtime, only the next time something runs it (`block_on`). So after the
//! last `block_on` returns, a stream dropped there stays open, and the peer does not see end
//! of file until the runtime runs again (or is dropped). To signal the end regardless, call
//! `shutdown().await` (tokio's `AsyncWriteExt`) first: the half-close is sent by a
//! thread of its own, after the peer has read everything written before; that thread (with a
//! handle to the pipe) lasts until the peer has read it all or closed its end, even if the
//! stream is dropped. Writes are never lost on drop: a write still in flight completes first.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
//! #     format!("@localipc-doc-tokio-{}", std::process::id())
//! # } else { format!("/tmp/localipc-doc-tokio-{}.sock", std::process::id()) };
//! let listener = LocalSocketListener::bind(name.as_str())?;
//! let server = tokio::spawn(async move {
//!     let mut conn = listener.accept().await?;
//!     let mut req = Vec::new();
//!     conn.read_to_end(&mut req).await?; // until the client's half-close
//!     conn.write_all(&req).await?;
//!     std::io::Result::Ok(())
//! });
//! let mut conn = LocalSocketStream::connect(name.as_str()).await?;
//! conn.write_all(b"ping").await?;
//! conn.shutdown().await?; // half-close: the server reads end of file
//! let mut reply = Vec::new();
//! conn.read_to_end(&mut reply).await?;
//! assert_eq!(reply, b"ping");
//! server.await.unwrap()?;
//! # Ok(())
//! # }
//! ```

#[cfg(any(target_os = "linux", target_os = "android"))]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
mod credentials;
#[cfg(feature = "futures-io")]
mod futures_io;
mod handle_passing;
mod listener;
pub mod message;
mod split;
mod stream;

pub use listener::{Incoming, LocalSocketListener};
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use stream::LocalSocketStream;
