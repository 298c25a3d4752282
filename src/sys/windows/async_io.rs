//! Async local sockets for async-io executors on Windows: the sync calls on the `blocking`
//! thread pool.
//!
//! async-io's reactor has no completion port, and a named pipe gives no readiness to wait
//! for: only completions. So each operation is the crate's own sync call (overlapped I/O
//! waited for on the pool thread's event, see `overlapped.rs`) run on a thread of the
//! `blocking` pool, the pool smol uses for files. The cost is a thread hop per operation
//! (a queue push, a thread wake-up and a task wake-up: tens of microseconds), and one pool
//! thread per operation in flight.
//!
//! State kept here makes dropped futures harmless: the read in flight and the bytes it got
//! stay with the stream for the next read; a write is accepted whole, its bytes copied
//! (write-behind, as `blocking::Unblock` does), and waited for by the next write, flush or
//! shutdown; the accept in flight stays with the listener for the next accept.

use crate::local_socket::{ConnectOptions, ListenerOptions, LocalSocketName, PeerCreds};
use blocking::{unblock, Task};
use std::future::Future;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::Shutdown;
use std::os::windows::io::{AsHandle, AsRawHandle};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};
use std::time::Duration;
use windows_sys::Win32::System::IO::CancelIoEx;

/// The most one pool read asks for, and the most one `poll_write` takes.
const CHUNK: usize = 64 * 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

mod message;
pub(crate) use message::{MessageListener, MessageStream};

/// A sync listener whose accepts run on the pool, one at a time: shared by the stream and
/// message listeners.
#[derive(Debug)]
pub(super) struct Accepting<L, S> {
    pub(super) inner: Arc<L>,
    /// The accept in flight, if any. Waiters queue on the async lock (each is woken in
    /// turn); a waiter dropped mid-way leaves the task here for the next one.
    pending: async_lock::Mutex<Option<Task<io::Result<S>>>>,
    /// Stops the accept in flight when the listener goes, so that its pool thread lets go
    /// of the pipe instance and the name is released.
    stopper: super::Stopper,
}

impl<L: Send + Sync + 'static, S: Send + 'static> Accepting<L, S> {
    pub(super) fn new(inner: L, stopper: super::Stopper) -> Self {
        Self {
            inner: Arc::new(inner),
            pending: async_lock::Mutex::new(None),
            stopper,
        }
    }

    /// `accept` (the sync one) on a pool thread, or the result of the one in flight.
    pub(super) async fn accept_with(&self, accept: fn(&L) -> io::Result<S>) -> io::Result<S> {
        let mut slot = self.pending.lock().await;
        let task = slot.get_or_insert_with(|| {
            let l = Arc::clone(&self.inner);
            unblock(move || accept(&l))
        });
        let r = task.await;
        *slot = None;
        r
    }
}

impl<L, S> Drop for Accepting<L, S> {
    /// Stops the accept in flight (`SetEvent` on the stop event) and waits for its pool
    /// thread to let go (at once: the stopped wait returns, or a task not started yet is
    /// cancelled), so that the name is free when `drop` returns, as with the sync listener.
    fn drop(&mut self) {
        self.stopper.stop();
        if let Some(task) = self.pending.get_mut().take() {
            drop(::async_io::block_on(task.cancel()));
        }
    }
}

/// A listening pipe name whose accepts run on the pool.
#[derive(Debug)]
pub(crate) struct Listener(Accepting<super::Listener, super::Stream>);

impl Listener {
    /// The sync `bind`: `CreateNamedPipeW` for the first instance.
    pub(crate) fn bind(name: &LocalSocketName<'_>, opts: &ListenerOptions) -> io::Result<Self> {
        Self::from_sync(super::Listener::bind(name, opts)?)
    }

    /// No OS call.
    pub(crate) fn from_sync(l: super::Listener) -> io::Result<Self> {
        let stopper = l.stopper();
        Ok(Self(Accepting::new(l, stopper)))
    }

    /// The sync `accept` (`ConnectNamedPipe`, then `CreateNamedPipeW` for the next
    /// instance) on a pool thread; one at a time, the other callers queued.
    pub(crate) async fn accept(&self) -> io::Result<Stream> {
        Ok(Stream::new(self.0.accept_with(|l| l.accept()).await?))
    }

    pub(crate) fn name(&self) -> &LocalSocketName<'static> {
        self.0.inner.name()
    }
}

/// The read side's state.
#[derive(Debug)]
enum Read {
    /// Nothing in flight; the buffer to read into next.
    Idle(Vec<u8>),
    /// A `ReadFile` on the pool, with the buffer it fills.
    Busy(Task<(Vec<u8>, io::Result<usize>)>),
    /// Bytes read and not yet taken, from `pos`.
    Ready { buf: Vec<u8>, pos: usize },
}

/// What a pipe end read and written through the pool gives: its sync calls (the overlapped
/// `ReadFile`/`WriteFile` of the crate, waited for on the calling thread) and its handle (for
/// `CancelIoEx`). A one-way end fails the other direction's call; nothing calls it.
pub(crate) trait PoolIo: AsHandle + Send + Sync + 'static {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize>;
    fn write(&self, buf: &[u8]) -> io::Result<usize>;
}

impl PoolIo for super::Stream {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        super::Stream::read(self, buf)
    }
    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        (**self).write(buf)
    }
}

/// A pipe end whose reads and writes run on the pool.
#[derive(Debug)]
pub(crate) struct Pooled<T: PoolIo> {
    io: Arc<T>,
    read: Mutex<Read>,
    /// The write in flight: all of a buffer that `poll_write` accepted.
    write: Mutex<Option<Task<io::Result<()>>>>,
}

/// A connected local socket whose reads and writes run on the pool.
pub(crate) type Stream = Pooled<super::Stream>;

impl Stream {
    /// No OS call.
    pub(crate) fn from_sync(s: super::Stream) -> io::Result<Self> {
        Ok(Self::new(s))
    }

    /// The sync connect (`CreateFileW`, `WaitNamedPipeW` while the instances are busy, and
    /// with a timeout retried until the deadline) on a pool thread. If the future is
    /// dropped, the connection still made is closed at once (the server's accept skips a
    /// client that came and left).
    pub(crate) async fn connect(
        name: &LocalSocketName<'_>,
        opts: &ConnectOptions,
    ) -> io::Result<Self> {
        let (name, opts) = (name.clone().into_owned(), opts.clone());
        let s = unblock(move || super::Stream::connect(&name, &opts)).await?;
        Ok(Self::new(s))
    }

    /// After the write in flight, the sync `shutdown` (no blocking call: the end-of-file
    /// marker is sent by a thread of its own, see `Conn::shutdown`).
    pub(crate) fn poll_shutdown(
        &self,
        cx: &mut Context<'_>,
        how: Shutdown,
    ) -> Poll<io::Result<()>> {
        ready!(self.poll_flush(cx))?;
        Poll::Ready(self.io.shutdown(how))
    }

    /// `GetNamedPipeClientProcessId`/`GetNamedPipeServerProcessId` and the token calls of
    /// the sync `peer_creds`; no pool thread (they do not wait).
    pub(crate) fn peer_creds(&self) -> io::Result<PeerCreds> {
        self.io.peer_creds()
    }

    /// `GetNamedPipeClientProcessId`/`GetNamedPipeServerProcessId` alone.
    pub(crate) fn peer_pid(&self) -> io::Result<u32> {
        self.io.peer_pid()
    }
}

impl<T: PoolIo> Pooled<T> {
    pub(crate) fn new(io: T) -> Self {
        Self {
            io: Arc::new(io),
            read: Mutex::new(Read::Idle(Vec::new())),
            write: Mutex::new(None),
        }
    }

    /// `ReadFile` of up to 64 KiB on a pool thread; what does not fit in `buf` is kept for
    /// the next read.
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut st = lock(&self.read);
        loop {
            match &mut *st {
                Read::Ready { buf: got, pos } => {
                    let n = buf.len().min(got.len() - *pos);
                    buf[..n].copy_from_slice(&got[*pos..*pos + n]);
                    *pos += n;
                    if *pos == got.len() {
                        *st = Read::Idle(std::mem::take(got));
                    }
                    return Poll::Ready(Ok(n));
                }
                Read::Idle(spare) => {
                    if buf.is_empty() {
                        return Poll::Ready(Ok(0));
                    }
                    let mut spare = std::mem::take(spare);
                    spare.resize(buf.len().min(CHUNK), 0);
                    let io = Arc::clone(&self.io);
                    *st = Read::Busy(unblock(move || {
                        let r = io.read(&mut spare);
                        (spare, r)
                    }));
                }
                Read::Busy(task) => {
                    let (mut got, r) = ready!(Pin::new(task).poll(cx));
                    match r {
                        Ok(n) if n > 0 => {
                            got.truncate(n);
                            *st = Read::Ready { buf: got, pos: 0 };
                        }
                        r => {
                            *st = Read::Idle(got);
                            return Poll::Ready(r);
                        }
                    }
                }
            }
        }
    }

    /// [`poll_read`](Self::poll_read) into the first non-empty buffer.
    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        match bufs.iter_mut().find(|b| !b.is_empty()) {
            Some(b) => self.poll_read(cx, b),
            None => Poll::Ready(Ok(0)),
        }
    }

    /// Waits for the write in flight (its error, if any, is returned now), then copies up to
    /// 64 KiB of `buf` and starts `WriteFile` of all of it on a pool thread: `Ready` with
    /// that many bytes at once.
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let mut st = lock(&self.write);
        ready!(poll_done(&mut st, cx))?;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let data = buf[..buf.len().min(CHUNK)].to_vec();
        let n = data.len();
        let io = Arc::clone(&self.io);
        *st = Some(unblock(move || write_all(&*io, &data)));
        Poll::Ready(Ok(n))
    }

    /// The buffers joined (up to 64 KiB), as one [`poll_write`](Self::poll_write).
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut st = lock(&self.write);
        ready!(poll_done(&mut st, cx))?;
        let mut data = Vec::new();
        for b in bufs {
            let take = b.len().min(CHUNK - data.len());
            data.extend_from_slice(&b[..take]);
            if data.len() == CHUNK {
                break;
            }
        }
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = data.len();
        let io = Arc::clone(&self.io);
        *st = Some(unblock(move || write_all(&*io, &data)));
        Poll::Ready(Ok(n))
    }

    /// Waits for the write in flight to reach the pipe.
    pub(crate) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        poll_done(&mut lock(&self.write), cx)
    }
}

/// Waits for the write task in `st`, if any, and clears it.
fn poll_done(st: &mut Option<Task<io::Result<()>>>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    if let Some(task) = st {
        let r = ready!(Pin::new(task).poll(cx));
        *st = None;
        r?;
    }
    Poll::Ready(Ok(()))
}

/// `WriteFile` until all of `data` is written.
fn write_all(io: &impl PoolIo, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match io.write(data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl<T: PoolIo> Drop for Pooled<T> {
    /// A read still in flight would hold the pipe open (and a pool thread) until the peer
    /// writes or closes: it is cancelled (see [`cancel_read`]). A write in flight is never
    /// lost: it runs to its end first.
    fn drop(&mut self) {
        let write = lock(&self.write).take();
        match std::mem::replace(&mut *lock(&self.read), Read::Idle(Vec::new())) {
            Read::Busy(read) => cancel_read(Arc::clone(&self.io), read, write),
            // Dropping the task would cancel a write not yet started.
            _ => {
                if let Some(w) = write {
                    w.detach();
                }
            }
        }
    }
}

/// On a pool thread: waits for `write` (if any) to end, then cancels `read`
/// (`CancelIoEx` on the handle, repeated every millisecond until the read has ended, in
/// case it had not started yet), so that no pool thread is left blocked and the pipe
/// closes once `io` is dropped.
pub(super) fn cancel_read<T, R, W>(io: Arc<T>, read: Task<R>, write: Option<Task<W>>)
where
    T: AsHandle + Send + Sync + 'static,
    R: Send + 'static,
    W: Send + 'static,
{
    unblock(move || {
        if let Some(w) = write {
            drop(::async_io::block_on(w));
        }
        while !read.is_finished() {
            // SAFETY: the handle is open while `io` lives; a null OVERLAPPED cancels every
            // operation on it, and only the read is left (the write has ended).
            unsafe { CancelIoEx(io.as_handle().as_raw_handle(), std::ptr::null()) };
            std::thread::sleep(Duration::from_millis(1));
        }
    })
    .detach();
}
