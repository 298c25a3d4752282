//! The raw async primitive on Unix: `tokio::net::UnixListener`/`UnixStream`, used directly,
//! with nothing of localipc in between.

use super::async_subject::AsyncSubject;
use std::io;
use std::path::{Path, PathBuf};
use tokio::net::{UnixListener, UnixStream};

/// Unix domain sockets through `tokio::net`.
#[derive(Debug)]
pub(super) struct TokioRaw;

/// A `UnixListener` that removes its socket file when dropped (tokio leaves it in place).
#[derive(Debug)]
pub(super) struct TokioRawListener {
    /// The listening socket.
    listener: UnixListener,
    /// Its socket file.
    path: PathBuf,
}

impl Drop for TokioRawListener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl AsyncSubject for TokioRaw {
    type Listener = TokioRawListener;
    type Accepted = UnixStream;
    type Connected = UnixStream;

    fn bind(endpoint: &Path) -> io::Result<TokioRawListener> {
        Ok(TokioRawListener {
            listener: UnixListener::bind(endpoint)?,
            path: endpoint.to_owned(),
        })
    }

    async fn accept(listener: &TokioRawListener) -> io::Result<UnixStream> {
        listener.listener.accept().await.map(|(stream, _)| stream)
    }

    async fn connect(endpoint: &Path) -> io::Result<UnixStream> {
        UnixStream::connect(endpoint).await
    }
}

/// What "raw" is in the tokio groups, for the report.
pub(super) const DESCRIPTION: &str = "tokio::net::UnixListener/UnixStream used directly";
