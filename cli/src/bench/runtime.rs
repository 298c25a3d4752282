//! The tokio runtimes of the async groups, built once per process on first use and kept for
//! every later round (so that no round pays for starting threads).

use super::group::Group;
use super::job::WaitDone;
use std::future::Future;
use std::io;
use tokio::runtime::{Builder, Runtime};

/// A current-thread and a multi-thread runtime, each built when first needed.
#[derive(Debug, Default)]
pub(super) struct Runtimes {
    /// For [`Group::TokioCurrentThread`].
    current_thread: Option<Runtime>,
    /// For [`Group::TokioMultiThread`].
    multi_thread: Option<Runtime>,
}

/// One runtime and how to run the measured code on it.
#[derive(Debug)]
pub(super) struct Flavoured<'a> {
    /// The runtime.
    pub runtime: &'a Runtime,
    /// Whether the code runs in a spawned task (multi-thread: on a worker thread) rather than
    /// in `block_on` on the calling thread.
    spawn: bool,
}

impl Runtimes {
    /// The runtime of an async `group` (built now if this is its first use).
    pub(super) fn get(&mut self, group: Group) -> io::Result<Flavoured<'_>> {
        let (slot, mut builder, spawn) = match group {
            Group::TokioCurrentThread => (
                &mut self.current_thread,
                Builder::new_current_thread(),
                false,
            ),
            Group::TokioMultiThread => {
                let mut builder = Builder::new_multi_thread();
                builder.worker_threads(multi_thread_workers());
                (&mut self.multi_thread, builder, true)
            }
            Group::Sync | Group::Shm | Group::AsyncIo => {
                return Err(io::Error::other(
                    "only the tokio groups have a tokio runtime",
                ))
            }
        };
        let runtime =
            match slot {
                Some(runtime) => runtime,
                None => slot.insert(builder.enable_all().build().map_err(|e| {
                    io::Error::new(e.kind(), format!("starting a tokio runtime: {e}"))
                })?),
            };
        Ok(Flavoured { runtime, spawn })
    }
}

impl Flavoured<'_> {
    /// Runs `future` to completion: in `block_on` on a current-thread runtime, in a spawned
    /// task on a multi-thread one (where `block_on` would run it off the worker threads).
    pub(super) fn run<T: Send + 'static>(
        &self,
        future: impl Future<Output = io::Result<T>> + Send + 'static,
    ) -> io::Result<T> {
        if !self.spawn {
            return self.runtime.block_on(future);
        }
        let task = self.runtime.spawn(future);
        self.runtime
            .block_on(task)
            .map_err(|e| io::Error::other(format!("the measuring task failed: {e}")))?
    }

    /// Runs the runtime (its I/O driver) until `wait`, called on another thread, returns.
    ///
    /// Needed after the measured side drops its streams: on Windows a dropped tokio pipe is
    /// closed only once the I/O driver has collected its cancelled read (mio keeps the handle
    /// until then), so on a current-thread runtime that nobody runs, the peer would wait for
    /// end of file forever. (On Unix the socket closes at once; this costs nothing there.)
    pub(super) fn drive_while(&self, wait: &mut WaitDone<'_>) -> io::Result<()> {
        std::thread::scope(|scope| {
            let (tx, rx) = tokio::sync::oneshot::channel();
            scope.spawn(move || {
                let _ = tx.send(wait());
            });
            self.runtime
                .block_on(rx)
                .unwrap_or_else(|_| Err(io::Error::other("the wait for the bench peer panicked")))
        })
    }
}

/// Worker threads of the multi-thread runtime: tokio's default (the CPUs this process may
/// use), but at least 2, so that even when pinned to one CPU tasks are woken across threads
/// as on any multi-core machine.
pub(super) fn multi_thread_workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .max(2)
}
