//! Async message pipes for async-io executors: the sync message calls on the `blocking`
//! pool, as the streams in the parent module. One receive and one send in flight per
//! stream; callers queue on async locks, and a receive whose future was dropped stays in
//! flight for the next caller, so no message is lost.

use super::super::{MessageListener as SyncListener, MessageStream as SyncStream};
use super::{cancel_read, Accepting};
use crate::local_socket::{ConnectOptions, ListenerOptions, LocalSocketName, PeerCreds};
use blocking::{unblock, Task};
use std::io;
use std::sync::Arc;

/// A listening message pipe name whose accepts run on the pool.
#[derive(Debug)]
pub(crate) struct MessageListener(Accepting<SyncListener, SyncStream>);

impl MessageListener {
    /// The sync `bind` (`CreateNamedPipeW`, message type and read mode).
    pub(crate) fn bind(name: &LocalSocketName<'_>, opts: &ListenerOptions) -> io::Result<Self> {
        Self::from_sync(SyncListener::bind(name, opts)?)
    }

    /// No OS call.
    pub(crate) fn from_sync(l: SyncListener) -> io::Result<Self> {
        let stopper = l.stopper();
        Ok(Self(Accepting::new(l, stopper)))
    }

    /// The sync `accept` on a pool thread, one at a time (see the stream listener).
    pub(crate) async fn accept(&self) -> io::Result<MessageStream> {
        Ok(MessageStream::new(
            self.0.accept_with(|l| l.accept()).await?,
        ))
    }

    pub(crate) fn name(&self) -> &LocalSocketName<'static> {
        self.0.inner.name()
    }

    pub(crate) fn max_message_size(&self) -> usize {
        self.0.inner.max_message_size()
    }

    pub(crate) fn set_max_message_size(&self, max: usize) {
        self.0.inner.set_max_message_size(max);
    }
}

/// The slot of an operation in flight on the pool.
type Slot<T> = async_lock::Mutex<Option<Task<io::Result<T>>>>;

/// A connected message pipe end whose receives and sends run on the pool.
#[derive(Debug)]
pub(crate) struct MessageStream {
    io: Arc<SyncStream>,
    recv: Slot<Option<Vec<u8>>>,
    send: Slot<()>,
}

impl MessageStream {
    fn new(s: SyncStream) -> Self {
        Self {
            io: Arc::new(s),
            recv: async_lock::Mutex::new(None),
            send: async_lock::Mutex::new(None),
        }
    }

    /// No OS call.
    pub(crate) fn from_sync(s: SyncStream) -> io::Result<Self> {
        Ok(Self::new(s))
    }

    /// The sync connect (`CreateFileW`, `WaitNamedPipeW`, `SetNamedPipeHandleState`) on a
    /// pool thread.
    pub(crate) async fn connect(
        name: &LocalSocketName<'_>,
        opts: &ConnectOptions,
    ) -> io::Result<Self> {
        let (name, opts) = (name.clone().into_owned(), opts.clone());
        Ok(Self::new(
            unblock(move || SyncStream::connect(&name, &opts)).await?,
        ))
    }

    /// The sync `send` (one `WriteFile`) on a pool thread, after any send whose future was
    /// dropped has ended. Over the limit: `InvalidInput` at once.
    pub(crate) async fn send(&self, msg: &[u8]) -> io::Result<()> {
        let max = self.io.max_message_size();
        if msg.len() > max {
            // The sync send's own check, without a copy or a thread hop.
            return self.io.send(msg);
        }
        let mut slot = self.send.lock().await;
        if let Some(earlier) = slot.as_mut() {
            let _ = earlier.await; // its caller is gone; it ran to its end
            *slot = None;
        }
        let (io, msg) = (Arc::clone(&self.io), msg.to_vec());
        let task = slot.insert(unblock(move || io.send(&msg)));
        let r = task.await;
        *slot = None;
        r
    }

    /// The sync `recv_vec` on a pool thread; the receive of a dropped future is taken over.
    pub(crate) async fn recv_vec(&self) -> io::Result<Option<Vec<u8>>> {
        let mut slot = self.recv.lock().await;
        let task = slot.get_or_insert_with(|| {
            let io = Arc::clone(&self.io);
            unblock(move || io.recv_vec())
        });
        let r = task.await;
        *slot = None;
        r
    }

    pub(crate) fn peer_creds(&self) -> io::Result<PeerCreds> {
        self.io.peer_creds()
    }

    pub(crate) fn max_message_size(&self) -> usize {
        self.io.max_message_size()
    }

    pub(crate) fn set_max_message_size(&self, max: usize) {
        self.io.set_max_message_size(max);
    }
}

impl Drop for MessageStream {
    /// As the stream's drop: a receive in flight is cancelled once any send has ended.
    fn drop(&mut self) {
        let send = self.send.get_mut().take();
        match self.recv.get_mut().take() {
            Some(recv) => cancel_read(Arc::clone(&self.io), recv, send),
            None => {
                if let Some(s) = send {
                    s.detach();
                }
            }
        }
    }
}
