//! The handshake's [`Channel`] over a tokio stream on Windows, for `shm::tokio`.
//!
//! On Unix the tokio twin turns its stream back into a sync one and runs the sync handshake
//! on the blocking pool. A Windows tokio stream cannot become sync (tokio never gives the
//! pipe handle back, and mio always has a read in flight on it, so a sync read through a
//! duplicate handle would race mio for the bytes). So the one handshake runs on a
//! blocking-pool thread over the tokio stream itself, each of its calls driven to its end
//! with [`Handle::block_on`], under a [`tokio::time::timeout`] of [`HANDSHAKE_TIMEOUT`].
//!
//! `Handle::block_on` may be called from a `spawn_blocking` thread on either runtime
//! flavour: on a multi-thread runtime the workers drive the reactor and the timers; on a
//! current-thread runtime only the runtime's own `block_on` can, and it does, since the
//! caller awaits the blocking task within it (`shm::tokio`'s `create`/`join` are awaited in
//! the runtime, as every tokio future is). The time driver must be enabled
//! (`enable_time`/`enable_all`, as `#[tokio::main]` does), as for any `tokio::time` use.

use super::async_core::HANDSHAKE_TIMEOUT;
use super::handshake::Channel;
use crate::handle::{BorrowedHandle, OwnedHandle};
use crate::local_socket::tokio::LocalSocketStream;
use ::tokio::io::{AsyncReadExt, AsyncWriteExt};
use ::tokio::runtime::Handle;
use std::future::Future;
use std::io;

/// A tokio stream whose calls block the calling thread (a `spawn_blocking` one).
pub(super) struct BlockOn<'a> {
    pub(super) conn: &'a LocalSocketStream,
    pub(super) runtime: Handle,
}

impl BlockOn<'_> {
    /// `Handle::block_on(timeout(HANDSHAKE_TIMEOUT, call))`; `TimedOut` when it runs out
    /// (the call's future is dropped: the stream is given up anyway).
    fn run<T>(&self, call: impl Future<Output = io::Result<T>>) -> io::Result<T> {
        self.runtime.block_on(async {
            ::tokio::time::timeout(HANDSHAKE_TIMEOUT, call)
                .await
                .unwrap_or_else(|_| {
                    Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "shared memory handshake: no answer from the peer within {HANDSHAKE_TIMEOUT:?}"
                        ),
                    ))
                })
        })
    }
}

/// The tokio stream's own async calls, blocked on.
impl Channel for BlockOn<'_> {
    fn send_with_handles(&self, data: &[u8], handles: &[BorrowedHandle<'_>]) -> io::Result<usize> {
        self.run(self.conn.send_with_handles(data, handles))
    }
    fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        self.run(async {
            let mut w = self.conn;
            w.write_all(buf).await
        })
    }
    fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        self.run(async {
            let mut r = self.conn;
            r.read_exact(buf).await.map(drop)
        })
    }
    fn recv_with_handles(&self, buf: &mut [u8], out: &mut Vec<OwnedHandle>) -> io::Result<usize> {
        self.run(self.conn.recv_with_handles(buf, out))
    }
}
