//! The progress line on stderr, redrawn in place (only when stderr is a terminal).

use std::io::{self, IsTerminal, Write};

/// `[3/12] throughput localipc round 2`, updated in place.
#[derive(Debug)]
pub(super) struct Progress {
    /// Steps in all.
    total: usize,
    /// Steps started so far.
    started: usize,
    /// Whether to draw at all.
    enabled: bool,
}

impl Progress {
    /// A progress line for `total` steps, drawn only if stderr is a terminal.
    pub(super) fn new(total: usize) -> Self {
        Self {
            total,
            started: 0,
            enabled: io::stderr().is_terminal(),
        }
    }

    /// Shows that the next step, `what`, has started.
    pub(super) fn step(&mut self, what: &str) {
        self.started += 1;
        if self.enabled {
            let (n, total) = (self.started, self.total);
            // `\x1b[K` clears the rest of the previous, possibly longer, line.
            let _ = write!(io::stderr().lock(), "\r[{n}/{total}] {what}\x1b[K");
        }
    }

    /// Removes the line.
    pub(super) fn clear(&mut self) {
        if self.enabled {
            let _ = write!(io::stderr().lock(), "\r\x1b[K");
            self.enabled = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}
