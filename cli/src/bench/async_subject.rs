//! The async twin of [`Subject`](super::subject::Subject): a way to bind, accept and connect
//! on tokio, and localipc's tokio sockets as one such way.
//!
//! Both async subjects run the very same measurement code (`async_cases.rs`, generic over
//! [`AsyncSubject`]), so the only difference measured is the library. The raw one is
//! `raw_tokio_unix.rs` or `raw_tokio_windows.rs`; `dispatch.rs` picks one or the other.

use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
use std::future::Future;
use std::io;
use std::path::Path;
use tokio::io::{AsyncRead, AsyncWrite};

/// A connected async stream that can move between tasks and threads.
pub(super) trait AsyncStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> AsyncStream for T {}

/// A way to make local socket connections on tokio.
pub(super) trait AsyncSubject: 'static {
    /// The listening side.
    type Listener: Send + Sync + 'static;
    /// A stream from [`accept`](Self::accept).
    type Accepted: AsyncStream;
    /// A stream from [`connect`](Self::connect).
    type Connected: AsyncStream;
    /// Binds a listener at `endpoint` (see `workdir::endpoint`); called within a runtime.
    fn bind(endpoint: &Path) -> io::Result<Self::Listener>;
    /// Waits for the next client.
    fn accept(listener: &Self::Listener)
        -> impl Future<Output = io::Result<Self::Accepted>> + Send;
    /// Connects to the listener at `endpoint`.
    fn connect(endpoint: &Path) -> impl Future<Output = io::Result<Self::Connected>> + Send;
}

/// This crate's tokio local sockets, used as an application would.
#[derive(Debug)]
pub(super) struct TokioLocalipc;

impl AsyncSubject for TokioLocalipc {
    type Listener = LocalSocketListener;
    type Accepted = LocalSocketStream;
    type Connected = LocalSocketStream;

    fn bind(endpoint: &Path) -> io::Result<LocalSocketListener> {
        LocalSocketListener::bind(super::subject::name(endpoint))
    }

    async fn accept(listener: &LocalSocketListener) -> io::Result<LocalSocketStream> {
        listener.accept().await
    }

    async fn connect(endpoint: &Path) -> io::Result<LocalSocketStream> {
        LocalSocketStream::connect(super::subject::name(endpoint)).await
    }
}
