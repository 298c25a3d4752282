//! What a side of the soak has done so far, shared by all its connections: counts, an
//! open-connection gauge, and errors (the first few printed, every one counted).

use crate::error;
use std::fmt::Display;
use std::sync::atomic::{AtomicU64, Ordering};

/// Errors printed in full before they are only counted.
const PRINTED_ERRORS: u64 = 5;

/// Counts shared by the connections of one side.
#[derive(Debug)]
pub(super) struct Counters {
    /// Who is counting, at the start of error lines (`soak`, `soak server`).
    side: &'static str,
    /// Connections completed without error.
    connections: AtomicU64,
    /// Payload bytes echoed and verified (counted once, not per direction).
    bytes: AtomicU64,
    /// Errors of any kind.
    errors: AtomicU64,
    /// Connections open right now.
    open: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    /// Connections completed without error.
    pub connections: u64,
    /// Payload bytes echoed.
    pub bytes: u64,
    /// Errors.
    pub errors: u64,
    /// Connections open at the moment of the snapshot.
    pub open: u64,
}

impl Counters {
    /// Zeroed counters for `side`.
    pub(super) const fn new(side: &'static str) -> Self {
        Self {
            side,
            connections: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            open: AtomicU64::new(0),
        }
    }

    /// Counts one connection completed, with `bytes` echoed.
    pub(super) fn done(&self, bytes: u64) {
        self.connections.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts an error by `who`; prints it if it is one of the first few.
    pub(super) fn error(&self, who: impl Display, err: impl Display) {
        let n = self.errors.fetch_add(1, Ordering::Relaxed) + 1;
        if n <= PRINTED_ERRORS {
            error::log(&format!("{}: {who}: {err}", self.side));
        }
        if n == PRINTED_ERRORS {
            error::log(&format!("{}: further errors are only counted", self.side));
        }
    }

    /// Marks a connection open until the guard is dropped.
    pub(super) fn open(&self) -> OpenGuard<'_> {
        self.open.fetch_add(1, Ordering::Relaxed);
        OpenGuard(&self.open)
    }

    /// The counts now.
    pub(super) fn totals(&self) -> Totals {
        Totals {
            connections: self.connections.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            open: self.open.load(Ordering::Relaxed),
        }
    }
}

/// Keeps a connection counted as open; see [`Counters::open`].
#[derive(Debug)]
pub(super) struct OpenGuard<'a>(&'a AtomicU64);

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
