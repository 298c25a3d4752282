//! What `shm::tokio` needs of the async stream on Windows: the doorbells (bytes the peer
//! sends on the pipe when this side's task waits, see `shm::ring`, "Async sleepers") read
//! through tokio, and a sync stream over a duplicate of the pipe handle for the calls the
//! sync shared-memory stream makes on its connection.

use super::super::ends::duplicate;
use super::{is_gone, Pipe, Stream};
use std::io;
use std::os::windows::io::AsHandle;
use std::task::{Context, Poll};

impl Stream {
    /// tokio's `poll_read_ready`: mio's overlapped `ReadFile`, which it keeps in flight,
    /// has completed (a doorbell, or end of file). No OS call.
    pub(crate) fn poll_doorbells_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_read_ready(cx)
    }

    /// tokio's `try_read` of doorbells into `scratch`: what mio's overlapped `ReadFile`
    /// brought in (no OS call but the next `ReadFile` mio issues once its buffer is empty),
    /// `WouldBlock` when nothing is there (and tokio's readiness is cleared). 0 at end of
    /// file, and for a broken or disconnected pipe: the peer is gone. The bytes are taken
    /// raw, outside the handle-record decoder: after the shared-memory handshake everything
    /// on the pipe is a doorbell (or a hostile peer's noise, which is the same to us).
    pub(crate) fn try_read_doorbells(&self, scratch: &mut [u8]) -> io::Result<usize> {
        match on_pipe!(&self.pipe, |p| p.try_read(scratch)) {
            Err(e) if is_gone(&e) => Ok(0),
            r => r,
        }
    }

    /// A sync stream over a duplicate of the pipe's handle (`DuplicateHandle`), for the sync
    /// shared-memory stream that `shm::tokio` wraps: `peer_gone` (`PeekNamedPipe` and the
    /// pipe's state, no read), its doorbells (`ring_doorbell`: a 1-byte overlapped
    /// `WriteFile`, waited for with its own tagged event, so no completion reaches tokio's
    /// port) and `peer_creds`.
    ///
    /// The rule that makes a second handle safe: **nothing ever reads through it**. mio
    /// keeps an overlapped `ReadFile` in flight on the pipe at all times, so a read through
    /// the duplicate would race it for the bytes (and a doorbell taken there would never
    /// wake the task). The sync shared-memory stream reads its connection only in its
    /// handshake, which `shm::tokio` runs over the tokio stream instead; afterwards it only
    /// writes doorbells, peeks and asks for credentials. Nor is `shutdown` ever called on
    /// it: the end-of-file marker's stop would cancel all I/O on the pipe's file object,
    /// mio's read included.
    pub(crate) fn duplicate(&self) -> io::Result<super::super::Stream> {
        let dup = duplicate(self.as_handle())?;
        Ok(super::super::Stream::from_handle(dup, Some(self.end)))
    }
}
