//! Zero-copy grants: space in the ring filled in place, bytes in the ring read in place.
//! Neither hands out a Rust reference into the shared pages (the peer may change them at any
//! time): bytes go in and out through copying methods.

use super::stream::{RxEnd, ShmStream, TxEnd};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::MutexGuard;

fn beyond(what: &str, offset: usize, n: usize, len: u32) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("shared memory {what}: bytes {offset}..{offset}+{n} beyond the grant's {len}"),
    )
}

/// Checks `offset..offset + n` lies within a grant of `len` bytes; the offset as `u32`.
fn within(what: &str, offset: usize, n: usize, len: u32) -> io::Result<u32> {
    let end = offset.checked_add(n);
    match (
        u32::try_from(offset),
        end.and_then(|e| u32::try_from(e).ok()),
    ) {
        (Ok(off), Some(end)) if end <= len => Ok(off),
        _ => Err(beyond(what, offset, n, len)),
    }
}

/// Space for `len` bytes in the outgoing ring, from
/// [`ShmStream::reserve`](super::ShmStream::reserve): fill it with
/// [`write_at`](Self::write_at), then [`commit`](Self::commit) it. Until then the peer sees
/// nothing; dropping the grant without committing sends nothing. Holds the stream's write
/// side: other writes wait for it.
#[derive(Debug)]
pub struct WriteGrant<'a> {
    pub(super) tx: MutexGuard<'a, TxEnd>,
    /// The stream's `shutdown(Write)` flag.
    pub(super) shut: &'a AtomicBool,
    /// The stream, for its waiters.
    pub(super) stream: &'a ShmStream,
    pub(super) len: u32,
}

impl WriteGrant<'_> {
    /// The reserved length.
    pub fn len(&self) -> usize {
        usize::try_from(self.len).unwrap_or(usize::MAX)
    }

    /// Whether the grant is empty (never: `reserve(0)` is refused).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies `bytes` into the grant at `offset` (relaxed atomic stores into the shared
    /// pages; no OS call). `InvalidInput` if they do not fit in the grant.
    pub fn write_at(&mut self, offset: usize, bytes: &[u8]) -> io::Result<()> {
        let off = within("write grant", offset, bytes.len(), self.len)?;
        self.tx.ring.stage(off, bytes)
    }

    /// Sends the whole grant: publishes its `len()` bytes (bytes never written hold whatever
    /// the ring held there) and wakes the peer if it sleeps (Linux `futex(FUTEX_WAKE)`,
    /// FreeBSD `_umtx_op(UMTX_OP_WAKE)`, macOS `__ulock_wake`, Windows `SetEvent`, only when
    /// the peer sleeps).
    pub fn commit(self) -> io::Result<()> {
        let n = self.len;
        self.commit_first(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// Sends the first `n` bytes of the grant only (as [`commit`](Self::commit)).
    /// `InvalidInput` if `n` is over the grant's length; `BrokenPipe` (nothing sent) if the
    /// stream's writing side was shut down meanwhile.
    pub fn commit_first(mut self, n: usize) -> io::Result<()> {
        within("write grant", 0, n, self.len)?;
        if self.shut.load(Ordering::SeqCst) {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "shared memory write grant: the stream's writing side was shut down",
            ));
        }
        let n = u32::try_from(n).map_err(|_| beyond("write grant", 0, n, self.len))?;
        let w = self.stream.tx_waiter();
        self.tx.ring.commit(n, &w)
    }
}

/// The bytes waiting in the incoming ring, from
/// [`ShmStream::read_grant`](super::ShmStream::read_grant): copy them out with
/// [`read_at`](Self::read_at), then [`consume`](Self::consume) what you used. Empty at end of
/// file. Dropping the grant consumes nothing. Holds the stream's read side.
#[derive(Debug)]
pub struct ReadGrant<'a> {
    pub(super) rx: MutexGuard<'a, RxEnd>,
    /// The stream, for its waiters.
    pub(super) stream: &'a ShmStream,
    pub(super) len: u32,
}

impl ReadGrant<'_> {
    /// The bytes available (0 only at end of file).
    pub fn len(&self) -> usize {
        usize::try_from(self.len).unwrap_or(usize::MAX)
    }

    /// Whether this is end of file.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies `dst.len()` bytes at `offset` into `dst` (relaxed atomic loads from the shared
    /// pages; no OS call). `InvalidInput` if they lie beyond the grant.
    pub fn read_at(&self, offset: usize, dst: &mut [u8]) -> io::Result<()> {
        let off = within("read grant", offset, dst.len(), self.len)?;
        self.rx.ring.peek(off, dst)
    }

    /// Releases the first `n` bytes of the grant to the peer, which may then overwrite them,
    /// and wakes it if it waits for room (as [`WriteGrant::commit`]). `InvalidInput` if `n`
    /// is over the grant's length.
    pub fn consume(mut self, n: usize) -> io::Result<()> {
        within("read grant", 0, n, self.len)?;
        let n = u32::try_from(n).map_err(|_| beyond("read grant", 0, n, self.len))?;
        let w = self.stream.rx_waiter();
        self.rx.ring.consume(n, &w)
    }
}
