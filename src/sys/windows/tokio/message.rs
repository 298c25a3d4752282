//! Async message pipes on Windows: the sync message pipes, their blocking calls run on
//! tokio's blocking pool.
//!
//! Why not tokio's named pipes: mio (1.2.5) keeps one overlapped `ReadFile` of its own in
//! flight and hands its bytes out as a byte stream. It takes `ERROR_MORE_DATA` as success
//! and `ERROR_BROKEN_PIPE` as a 0-byte read, so neither the end of a message nor an empty
//! message versus end of file can be seen through it. The sync pipes see both.
//!
//! Each call that may wait (`accept`, `connect`, `send`, `recv`) runs the sync call on a
//! blocking-pool thread. The task of a call whose future was dropped is kept in a slot, and
//! the next call of the same kind takes it over: a message (or a client) it got is handed to
//! that next call, never lost. A receive in flight wakes every [`POLL`] to see whether the
//! stream was dropped (the read timeout of the sync pipe; a timeout inside a message keeps
//! what was read), so a dropped stream closes its pipe within that time; a listener's accept
//! in flight is stopped at once (its `AcceptStopper`). The cost: a thread hop per call (and
//! one blocking-pool thread per receive waiting).

use super::super::message as sync;
use super::super::Stopper;
use crate::local_socket::{ConnectOptions, ListenerOptions, LocalSocketName, PeerCreds};
use crate::sys::in_runtime;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex as AsyncMutex;
use tokio::task::{spawn_blocking, JoinHandle};

/// How often a receive in flight looks whether its stream was dropped.
const POLL: Duration = Duration::from_millis(100);

/// A blocking call in flight, kept when the future that started it is dropped.
#[derive(Debug)]
struct Slot<T>(AsyncMutex<Option<JoinHandle<io::Result<T>>>>);

impl<T: Send + 'static> Slot<T> {
    fn new() -> Self {
        Self(AsyncMutex::new(None))
    }

    /// The result of the call in flight, or else of `start()`. Cancel-safe: dropped while
    /// waiting, the call stays in the slot for the next `take_or_start`.
    async fn take_or_start(
        &self,
        start: impl FnOnce() -> JoinHandle<io::Result<T>>,
    ) -> io::Result<T> {
        let mut slot = self.0.lock().await;
        let task = slot.get_or_insert_with(start);
        let r = task.await;
        *slot = None;
        joined(r)
    }

    /// Waits for the call in flight (its result is dropped: its future was), then runs
    /// `start()` to its end. Dropped while waiting, the call stays in the slot.
    async fn after_previous(
        &self,
        start: impl FnOnce() -> JoinHandle<io::Result<T>>,
    ) -> io::Result<T> {
        let mut slot = self.0.lock().await;
        if let Some(previous) = slot.as_mut() {
            let _ = previous.await;
            *slot = None;
        }
        let task = slot.insert(start());
        let r = task.await;
        *slot = None;
        joined(r)
    }
}

fn joined<T>(r: Result<io::Result<T>, tokio::task::JoinError>) -> io::Result<T> {
    r.unwrap_or_else(|e| {
        Err(io::Error::other(format!(
            "the blocking-pool task of a message pipe call failed: {e}"
        )))
    })
}

/// A listening message pipe name, its accepts on the blocking pool.
#[derive(Debug)]
pub(crate) struct MessageListener {
    inner: Arc<sync::MessageListener>,
    stopper: Stopper,
    accepting: Slot<sync::MessageStream>,
}

impl MessageListener {
    /// The sync `bind` (`CreateNamedPipeW` with `PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE`).
    pub(crate) fn bind(name: &LocalSocketName<'_>, opts: &ListenerOptions) -> io::Result<Self> {
        in_runtime("binding a tokio message socket")?;
        Self::from_sync(sync::MessageListener::bind(name, opts)?)
    }

    /// Back to blocking mode (no OS call); nothing is registered anywhere.
    pub(crate) fn from_sync(l: sync::MessageListener) -> io::Result<Self> {
        in_runtime("converting to a tokio message listener")?;
        l.set_nonblocking(false)?;
        Ok(Self {
            stopper: l.stopper(),
            inner: Arc::new(l),
            accepting: Slot::new(),
        })
    }

    /// The sync `accept` (`ConnectNamedPipe`, `CreateNamedPipeW` for the next instance) on
    /// the blocking pool; a client accepted for a dropped future goes to the next call.
    pub(crate) async fn accept(&self) -> io::Result<MessageStream> {
        let l = Arc::clone(&self.inner);
        let s = self
            .accepting
            .take_or_start(|| spawn_blocking(move || l.accept()))
            .await?;
        MessageStream::new(s)
    }

    pub(crate) fn max_message_size(&self) -> usize {
        self.inner.max_message_size()
    }

    pub(crate) fn set_max_message_size(&self, max: usize) {
        self.inner.set_max_message_size(max);
    }

    pub(crate) fn name(&self) -> &LocalSocketName<'static> {
        self.inner.name()
    }
}

impl Drop for MessageListener {
    /// Stops an accept left in flight (`SetEvent`), so that its thread lets the pipe go.
    fn drop(&mut self) {
        self.stopper.stop();
    }
}

/// A connected message pipe, its blocking calls on the blocking pool.
#[derive(Debug)]
pub(crate) struct MessageStream {
    inner: Arc<sync::MessageStream>,
    /// Set on drop: a receive in flight gives up at its next [`POLL`].
    dropped: Arc<AtomicBool>,
    receiving: Slot<Option<Vec<u8>>>,
    sending: Slot<()>,
}

impl MessageStream {
    /// Blocking mode with a read timeout of [`POLL`] (no OS call).
    fn new(s: sync::MessageStream) -> io::Result<Self> {
        s.set_nonblocking(false)?;
        s.set_write_timeout(None)?;
        s.set_read_timeout(Some(POLL))?;
        Ok(Self {
            inner: Arc::new(s),
            dropped: Arc::new(AtomicBool::new(false)),
            receiving: Slot::new(),
            sending: Slot::new(),
        })
    }

    pub(crate) fn from_sync(s: sync::MessageStream) -> io::Result<Self> {
        in_runtime("converting to a tokio message stream")?;
        Self::new(s)
    }

    /// The sync `connect` (`CreateFileW`, `WaitNamedPipeW` while every instance is busy,
    /// `SetNamedPipeHandleState(PIPE_READMODE_MESSAGE)`) on the blocking pool.
    pub(crate) async fn connect(
        name: &LocalSocketName<'_>,
        opts: &ConnectOptions,
    ) -> io::Result<Self> {
        in_runtime("connecting a tokio message socket")?;
        let (name, opts) = (name.clone().into_owned(), opts.clone());
        let s = joined(spawn_blocking(move || sync::MessageStream::connect(&name, &opts)).await)?;
        Self::new(s)
    }

    pub(crate) fn max_message_size(&self) -> usize {
        self.inner.max_message_size()
    }

    pub(crate) fn set_max_message_size(&self, max: usize) {
        self.inner.set_max_message_size(max);
    }

    /// The sync `send` (one overlapped `WriteFile`, waited for) on the blocking pool, after
    /// a send left in flight by a dropped future.
    pub(crate) async fn send(&self, msg: &[u8]) -> io::Result<()> {
        let max = self.max_message_size();
        if msg.len() > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a message of {} bytes is larger than the {max}-byte limit (max_message_size)",
                    msg.len()
                ),
            ));
        }
        let (s, msg) = (Arc::clone(&self.inner), msg.to_vec());
        self.sending
            .after_previous(|| spawn_blocking(move || s.send(&msg)))
            .await
    }

    /// The sync `recv_vec` (`ReadFile`; on `ERROR_MORE_DATA`, `PeekNamedPipe` and one more
    /// `ReadFile`) on the blocking pool, or the message a receive of a dropped future got.
    pub(crate) async fn recv_vec(&self) -> io::Result<Option<Vec<u8>>> {
        let (s, dropped) = (Arc::clone(&self.inner), Arc::clone(&self.dropped));
        self.receiving
            .take_or_start(|| spawn_blocking(move || recv_until_dropped(&s, &dropped)))
            .await
    }

    /// [`recv_vec`](Self::recv_vec), cut to `buf` (the rest of a longer message dropped).
    pub(crate) async fn recv(&self, buf: &mut [u8]) -> io::Result<Option<(usize, bool)>> {
        Ok(self.recv_vec().await?.map(|msg| {
            let n = msg.len().min(buf.len());
            buf[..n].copy_from_slice(&msg[..n]);
            (n, msg.len() > buf.len())
        }))
    }

    /// As the sync stream's (`GetNamedPipeClientProcessId`/`GetNamedPipeServerProcessId`).
    pub(crate) fn peer_creds(&self) -> io::Result<PeerCreds> {
        self.inner.peer_creds()
    }
}

impl Drop for MessageStream {
    /// No OS call: a receive in flight sees the flag at its next timeout and ends, and with
    /// it the last handle to the pipe; a send in flight completes first.
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::Relaxed);
    }
}

/// `recv_vec` again after each read timeout, until a message, end of file, an error, or
/// the stream is dropped (then `ConnectionAborted`).
fn recv_until_dropped(
    s: &sync::MessageStream,
    dropped: &AtomicBool,
) -> io::Result<Option<Vec<u8>>> {
    loop {
        match s.recv_vec() {
            Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                if dropped.load(Ordering::Relaxed) {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "the message stream was dropped",
                    ));
                }
            }
            r => return r,
        }
    }
}
