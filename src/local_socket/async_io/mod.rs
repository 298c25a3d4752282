//! Async local sockets without tokio (feature `async-io`): on the reactor behind smol and
//! async-std, with `futures_io::AsyncRead`/`AsyncWrite`. No tokio runtime is needed, or
//! started, anywhere in the process; any executor works (smol's `async-executor`,
//! `futures_lite::future::block_on`, async-std's), and the reactor runs on its own
//! thread, started on first use, or inside `async_io::block_on`.
//!
//! Same names, options, access rules and errors as the sync API; the sync types do the
//! binding and connecting logic.
//!
//! # How it waits
//! - **Unix**: the sockets are registered with async-io's reactor (`async_io::Async`,
//!   epoll/kqueue through `polling`). Every call is tried first, and only when it would
//!   block does the task wait for readiness: no thread of its own, and the same system
//!   calls as async-io's own `Async<UnixStream>`. `connect` is a nonblocking `connect` plus
//!   a wait for writability (not the sync connect on a thread: that would hold a pool
//!   thread per pending connect and could not be cancelled).
//! - **Windows**: named pipes only do completion-based I/O, and async-io has no completion
//!   port (its `Waitable` waits on a handle through the Win32 thread pool, one registration
//!   per wait). So each operation runs the crate's own sync call (overlapped I/O waited on
//!   a per-thread event) on a thread of the `blocking` pool, the one smol uses for files:
//!   a thread hop per operation, tens of microseconds, but nothing new to get wrong in the
//!   overlapped bookkeeping. What that means for a dropped future:
//!   - a read keeps going; the bytes it gets are kept and returned by the next read, so
//!     nothing is lost (reads are cancel-safe);
//!   - a write is accepted whole into the stream's buffer (`poll_write` returns at once
//!     with all of it, or waits for the previous write); `flush` and `close` wait for it
//!     to reach the pipe, and its error, if any, comes from the next write, flush or close.
//!     Nothing is duplicated or lost by a dropped write future;
//!   - `accept` keeps one `ConnectNamedPipe` in flight for the listener; a client it gets
//!     after its future was dropped goes to the next `accept` (cancel-safe);
//!   - dropping the stream cancels a read still in flight (`CancelIoEx`) once any write in
//!     flight has completed, so the pipe closes and no pool thread is left blocked.
//!
//! # Examples
//! On smol's executor (`async-executor`; `smol::Executor` is the same type):
//!
//! ```
//! use async_executor::Executor;
//! use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
//! use localipc::local_socket::async_io::{LocalSocketListener, LocalSocketStream};
//!
//! # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
//! #     format!("@localipc-doc-aio-smol-{}", std::process::id())
//! # } else { format!("/tmp/localipc-doc-aio-smol-{}.sock", std::process::id()) };
//! let ex = Executor::new();
//! future::block_on(ex.run(async {
//!     let listener = LocalSocketListener::bind(name.as_str())?;
//!     let server = ex.spawn(async move {
//!         let mut conn = listener.accept().await?;
//!         let mut req = Vec::new();
//!         conn.read_to_end(&mut req).await?; // until the client's half-close
//!         conn.write_all(&req).await?;
//!         std::io::Result::Ok(())
//!     });
//!     let mut conn = LocalSocketStream::connect(name.as_str()).await?;
//!     conn.write_all(b"ping").await?;
//!     conn.close().await?; // half-close: the server reads end of file
//!     let mut reply = Vec::new();
//!     conn.read_to_end(&mut reply).await?;
//!     assert_eq!(reply, b"ping");
//!     server.await
//! }))?;
//! # std::io::Result::Ok(())
//! ```
//!
//! With no executor at all, on `futures_lite::future::block_on` (or `async_io::block_on`,
//! which also drives the reactor on the calling thread):
//!
//! ```
//! use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
//! use localipc::local_socket::async_io::{LocalSocketListener, LocalSocketStream};
//!
//! # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
//! #     format!("@localipc-doc-aio-lite-{}", std::process::id())
//! # } else { format!("/tmp/localipc-doc-aio-lite-{}.sock", std::process::id()) };
//! future::block_on(async {
//!     let listener = LocalSocketListener::bind(name.as_str())?;
//!     let (accepted, connected) =
//!         future::zip(listener.accept(), LocalSocketStream::connect(name.as_str())).await;
//!     let (mut server, mut client) = (accepted?, connected?);
//!     client.write_all(b"hi").await?;
//!     let mut buf = [0; 2];
//!     server.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"hi");
//!     std::io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```

mod listener;
pub mod message;
mod stream;

pub use listener::LocalSocketListener;
pub use stream::LocalSocketStream;
