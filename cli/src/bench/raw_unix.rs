//! The raw OS primitive on Unix: `std::os::unix::net::UnixListener`/`UnixStream`, used
//! directly, with nothing of localipc in between.

use super::subject::Subject;
use std::io;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// Unix domain sockets through `std::os::unix::net`.
#[derive(Debug)]
pub(super) struct Raw;

/// A `UnixListener` that removes its socket file when dropped (std leaves it in place).
#[derive(Debug)]
pub(super) struct RawListener {
    /// The listening socket.
    listener: UnixListener,
    /// Its socket file.
    path: PathBuf,
}

impl Drop for RawListener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Subject for Raw {
    type Listener = RawListener;
    type Stream = UnixStream;

    fn bind(endpoint: &Path) -> io::Result<RawListener> {
        Ok(RawListener {
            listener: UnixListener::bind(endpoint)?,
            path: endpoint.to_owned(),
        })
    }

    fn accept(listener: &RawListener) -> io::Result<UnixStream> {
        listener.listener.accept().map(|(stream, _)| stream)
    }

    fn connect(endpoint: &Path) -> io::Result<UnixStream> {
        UnixStream::connect(endpoint)
    }
}

/// What "raw" is, for the report.
pub(super) const DESCRIPTION: &str = "std::os::unix::net::UnixListener/UnixStream used directly";
