//! Async local sockets on Windows, on tokio's reactor (`tokio::net::windows::named_pipe`).
//!
//! Same pipes and wire rules as the sync backend, from the same code: instances come from
//! [`create_instance`] with [`local_socket_spec`] (message type read in byte mode, first
//! instance, remote clients rejected, the listener's security descriptor), clients from a
//! `CreateFileW` like [`open_client`]'s, and `shutdown(Write)` is the sync `Conn`'s
//! end-of-file marker ([`EofMarker`]: a zero-length message once the peer has read
//! everything), so sync and async ends talk to each other. Handle records (`handle_records`)
//! are decoded by the sync decoder, reading through tokio (`handles`), so they pass between
//! sync and async ends too.

use super::ends::{End, EofMarker, ReadMode};
use super::handle_records::{RecordPipe, Records};
use super::instance::{create_instance, open_client, Direction, Instance, PipeSpec};
use super::listener::{bind_error, local_socket_spec};
use super::name::pipe_path;
use crate::local_socket::{ConnectOptions, ListenerOptions, LocalSocketName, PeerCreds};
use crate::sys::{err_with_name, in_runtime};
use std::ffi::OsString;
use std::future::Future;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::os::windows::ffi::OsStringExt;
use std::os::windows::io::{AsHandle, BorrowedHandle, IntoRawHandle, OwnedHandle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use tokio::io::ReadBuf;
use tokio::net::windows::named_pipe::{ClientOptions, NamedPipeClient, NamedPipeServer};
use tokio::runtime::Handle;

pub(crate) mod message;
use windows_sys::Win32::Foundation::{ERROR_BROKEN_PIPE, ERROR_NO_DATA, ERROR_PIPE_NOT_CONNECTED};

/// A listening pipe name with one instance always pending.
#[derive(Debug)]
pub(crate) struct Listener {
    path: Vec<u16>,
    spec: PipeSpec,
    name: LocalSocketName<'static>,
    /// The instance clients connect to next (locked only within one poll).
    pending: Mutex<NamedPipeServer>,
    /// Held by `accept` while it polls: concurrent `accept`s wait in line, each polling with
    /// its own waker in turn (`poll_write_ready` keeps only the latest waker).
    turn: tokio::sync::Mutex<()>,
    runtime: Handle,
}

/// Registers an overlapped server handle with the reactor.
fn server(h: OwnedHandle) -> io::Result<NamedPipeServer> {
    // SAFETY: `h` is an open, overlapped pipe handle that we own; tokio takes it over.
    unsafe { NamedPipeServer::from_raw_handle(h.into_raw_handle()) }
}

impl Listener {
    /// As the sync `bind`: `CreateNamedPipeW(FILE_FLAG_FIRST_PIPE_INSTANCE | …)`, then
    /// registration with tokio.
    pub(crate) fn bind(name: &LocalSocketName<'_>, opts: &ListenerOptions) -> io::Result<Self> {
        let runtime = in_runtime("binding a tokio local socket")?;
        let path = pipe_path(name)?;
        let spec = local_socket_spec(name, opts, ReadMode::Bytes)?;
        let first =
            create_instance(&path, &spec, Instance::First).map_err(|e| bind_error(e, name))?;
        Ok(Self {
            pending: Mutex::new(server(first)?),
            turn: tokio::sync::Mutex::new(()),
            path,
            spec,
            name: name.clone().into_owned(),
            runtime,
        })
    }

    /// Takes over a sync listener's pipe name: our instance is created while the sync one
    /// still holds the name, so nobody can take it in between.
    pub(crate) fn from_sync(l: super::Listener) -> io::Result<Self> {
        let runtime = in_runtime("converting to a tokio local socket listener")?;
        let name = l.name().clone();
        let path = pipe_path(&name)?;
        let spec = l.spec().clone();
        let pending = server(create_instance(&path, &spec, Instance::Another)?)?;
        drop(l);
        Ok(Self {
            pending: Mutex::new(pending),
            turn: tokio::sync::Mutex::new(()),
            path,
            spec,
            name,
            runtime,
        })
    }

    /// Waits for a client (see [`poll_accept`](Self::poll_accept)), in line with the other
    /// tasks in `accept`. Cancel-safe: the client stays on the pending instance.
    pub(crate) async fn accept(&self) -> io::Result<Stream> {
        let _turn = self.turn.lock().await;
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// `ConnectNamedPipe` on the pending instance (a client that came and already left is
    /// skipped), then `CreateNamedPipeW` for the next one; only the waker of the latest call
    /// is kept.
    pub(crate) fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Stream>> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match ready!(poll_connect(&pending, cx)) {
                Ok(()) => {}
                Err(e) if super::error_code(&e) == Some(ERROR_NO_DATA) => {
                    *pending = self.instance()?;
                    continue;
                }
                Err(e) => return Poll::Ready(Err(err_with_name(e, "accepting on", &self.name))),
            }
            let next = self.instance()?;
            let conn = std::mem::replace(&mut *pending, next);
            return Poll::Ready(Ok(Stream::new(Pipe::Server(conn), End::Server)));
        }
    }

    /// `CreateNamedPipeW` for one more instance, registered with the listener's runtime
    /// (which `accept` may be polled outside of).
    fn instance(&self) -> io::Result<NamedPipeServer> {
        let _runtime = self.runtime.enter();
        server(create_instance(&self.path, &self.spec, Instance::Another)?)
    }

    pub(crate) fn name(&self) -> &LocalSocketName<'static> {
        &self.name
    }
}

/// tokio's `NamedPipeServer::connect` as a poll. Its future is polled once and dropped: the
/// `ConnectNamedPipe` it started stays in flight (mio keeps it, and answers a new `connect`
/// with `WouldBlock` until it completes, then with its result). Dropping the future drops
/// its place in tokio's waiter list, so `poll_write_ready`, which the completion makes ready
/// and which keeps the latest waker, holds `cx`'s; if it is ready already, try again (the
/// future clears a readiness that did not come from the completion, so this ends).
fn poll_connect(server: &NamedPipeServer, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    loop {
        let connect = std::pin::pin!(server.connect());
        if let Poll::Ready(r) = connect.poll(cx) {
            return Poll::Ready(r);
        }
        ready!(server.poll_write_ready(cx))?;
    }
}

/// One end of a connected pipe.
#[derive(Debug)]
enum Pipe {
    Server(NamedPipeServer),
    Client(NamedPipeClient),
}

macro_rules! on_pipe {
    ($pipe:expr, |$p:ident| $e:expr) => {
        match $pipe {
            Pipe::Server($p) => $e,
            Pipe::Client($p) => $e,
        }
    };
}

mod handles;
mod shm;

/// A connected pipe registered with tokio's reactor.
#[derive(Debug)]
pub(crate) struct Stream {
    pipe: Pipe,
    end: End,
    /// Handle-record state (`handle_records`): a record received in part, its data still
    /// to come; taken over from the sync stream by `from_sync`.
    records: Arc<Records>,
    /// A 0-byte read was seen: end of file, for good (the sync rule).
    eof: AtomicBool,
    /// Set by `poll_shutdown`: writing is over, the end-of-file marker is on its way.
    write_shut: AtomicBool,
}

impl Stream {
    fn new(pipe: Pipe, end: End) -> Self {
        Self::with_records(pipe, end, Arc::default())
    }

    fn with_records(pipe: Pipe, end: End, records: Arc<Records>) -> Self {
        Self {
            pipe,
            end,
            records,
            eof: AtomicBool::new(false),
            write_shut: AtomicBool::new(false),
        }
    }

    /// `CreateFileW` on the async thread (it never waits); when every instance is busy, or the
    /// pipe is not there yet and a timeout allows waiting, the sync [`open_client`]
    /// (`WaitNamedPipeW`, backoff) on a blocking-pool thread, so no polling loop runs here.
    pub(crate) async fn connect(
        name: &LocalSocketName<'_>,
        opts: &ConnectOptions,
    ) -> io::Result<Self> {
        in_runtime("connecting a tokio local socket")?;
        let path = pipe_path(name)?;
        let shown = OsString::from_wide(&path[..path.len() - 1]);
        if let Ok(client) = ClientOptions::new().open(&shown) {
            return Ok(Self::new(Pipe::Client(client), End::Client));
        }
        let what = format!("local socket \"{name}\"");
        let timeout = opts.timeout;
        let h = tokio::task::spawn_blocking(move || {
            open_client(&path, Direction::Duplex, ReadMode::Bytes, timeout, &what)
        })
        .await
        .map_err(io::Error::other)??;
        // SAFETY: `h` is an open, overlapped pipe handle that we own; tokio takes it over.
        let client = unsafe { NamedPipeClient::from_raw_handle(h.into_raw_handle()) }?;
        Ok(Self::new(Pipe::Client(client), End::Client))
    }

    /// `ReadFile` through tokio, into the caller's buffer without zeroing it first; a 0-byte
    /// read, a broken or disconnected pipe are end of file. While a handle record is partly
    /// received, only from the rest of its data, as the sync stream's read
    /// (`Records::read_rest`: the record's handles not handed out yet are closed).
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.eof.load(Ordering::Relaxed) || buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            ready!(self.poll_read_ready(cx))?;
            let read = if self.records.in_record() {
                // Rare: zeroing the unfilled part costs nothing worth avoiding here.
                let n = self.records.read_rest(self, buf.initialize_unfilled());
                if let Ok(n) = n {
                    buf.advance(n);
                }
                n
            } else {
                read_unfilled(buf, |dst| on_pipe!(&self.pipe, |p| p.try_read_buf(dst)))
            };
            match read {
                Ok(0) => {
                    self.eof.store(true, Ordering::Relaxed);
                    return Poll::Ready(Ok(()));
                }
                Ok(_) => return Poll::Ready(Ok(())),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) if is_gone(&e) => {
                    self.eof.store(true, Ordering::Relaxed);
                    return Poll::Ready(Ok(()));
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// `WriteFile` through tokio.
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_send(cx, |p| on_pipe!(p, |p| p.try_write(buf)))
    }

    /// `WriteFile` of the gathered buffers through tokio.
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_send(cx, |p| on_pipe!(p, |p| p.try_write_vectored(bufs)))
    }

    /// tokio's `poll_read_ready`: mio's overlapped `ReadFile` has completed.
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        on_pipe!(&self.pipe, |p| p.poll_read_ready(cx))
    }

    /// tokio's `poll_write_ready`: no mio write in flight.
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        on_pipe!(&self.pipe, |p| p.poll_write_ready(cx))
    }

    /// The error of a write after `poll_shutdown`.
    fn check_write_shut(&self) -> io::Result<()> {
        if self.write_shut.load(Ordering::Acquire) {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the local socket was shut down for writing",
            ));
        }
        Ok(())
    }

    fn poll_send(
        &self,
        cx: &mut Context<'_>,
        mut send: impl FnMut(&Pipe) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.check_write_shut()?;
        loop {
            ready!(self.poll_write_ready(cx))?;
            match send(&self.pipe) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                r => return Poll::Ready(r),
            }
        }
    }

    /// Half-close: the sync end-of-file marker ([`EofMarker`]: `FlushFileBuffers`, then a
    /// zero-length `WriteFile`) on a helper thread with a duplicate handle
    /// (`DuplicateHandle`).
    ///
    /// tokio's last write may still be in flight when this is called (mio completes
    /// `poll_write` as soon as its overlapped `WriteFile` is issued). The pipe keeps writes in
    /// order and the flush waits for the peer to read all of them, so the marker comes last.
    /// Unlike the sync `Conn`, dropping the stream does not stop the helper: stopping it means
    /// `CancelIoEx` on the pipe's file object, which would also cancel mio's pending write and
    /// lose its data. The helper ends when the peer has read everything or closes its end, as
    /// mio's pending write does.
    pub(crate) fn poll_shutdown(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.write_shut.load(Ordering::Acquire) {
            return Poll::Ready(Ok(()));
        }
        // A marker of its own, never stopped (see above).
        EofMarker::start(&Arc::new(EofMarker::default()), self.as_handle())?;
        self.write_shut.store(true, Ordering::Release);
        Poll::Ready(Ok(()))
    }

    /// No OS call (named pipes have no half-close): later reads return end of file, as the
    /// sync `shutdown(Shutdown::Read)`.
    #[cfg(feature = "futures-io")]
    pub(crate) fn shutdown_read(&self) -> io::Result<()> {
        self.eof.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// As the sync stream's: [`identity::peer_creds`](super::identity::peer_creds).
    pub(crate) fn peer_creds(&self) -> io::Result<PeerCreds> {
        super::identity::peer_creds(self.as_handle(), self.end.other())
    }

    /// As the sync stream's: `GetNamedPipeClientProcessId`/`GetNamedPipeServerProcessId`.
    pub(crate) fn peer_pid(&self) -> io::Result<u32> {
        super::ends::opener_pid(self.as_handle(), self.end.other())
    }

    pub(crate) fn from_sync(s: super::Stream) -> io::Result<Self> {
        in_runtime("converting to a tokio local socket stream")?;
        let (h, end, records) = s.into_parts()?;
        // SAFETY: `h` is an open, overlapped pipe handle that we own; tokio takes it over.
        let pipe = unsafe {
            match end {
                End::Server => Pipe::Server(NamedPipeServer::from_raw_handle(h.into_raw_handle())?),
                End::Client => Pipe::Client(NamedPipeClient::from_raw_handle(h.into_raw_handle())?),
            }
        };
        Ok(Self::with_records(pipe, end, records))
    }
}

/// The record decoder reads with tokio's `try_read` (what mio's overlapped `ReadFile` has
/// brought in; `WouldBlock` if nothing), with the stream's end-of-file rules: a 0-byte
/// read, a broken or disconnected pipe are end of file, for good.
impl RecordPipe for Stream {
    fn read_some(&self, buf: &mut [u8]) -> io::Result<usize> {
        if self.eof.load(Ordering::Relaxed) {
            return Ok(0);
        }
        match on_pipe!(&self.pipe, |p| p.try_read(buf)) {
            Ok(0) => {}
            Err(e) if is_gone(&e) => {}
            r => return r,
        }
        self.eof.store(true, Ordering::Relaxed);
        Ok(0)
    }
    fn pipe(&self) -> BorrowedHandle<'_> {
        self.as_handle()
    }
    fn end(&self) -> io::Result<End> {
        Ok(self.end)
    }
}

impl AsHandle for Stream {
    fn as_handle(&self) -> BorrowedHandle<'_> {
        on_pipe!(&self.pipe, |p| p.as_handle())
    }
}

/// Reads with `try_read` (tokio's `try_read_buf`) into the unfilled part of `buf`, without
/// zeroing it first, and advances `buf` by what was read.
pub(crate) fn read_unfilled(
    buf: &mut ReadBuf<'_>,
    try_read: impl FnOnce(&mut &mut [MaybeUninit<u8>]) -> io::Result<usize>,
) -> io::Result<usize> {
    // SAFETY: the slice is only written to (`try_read_buf` never de-initializes).
    let mut unfilled = unsafe { buf.unfilled_mut() };
    let n = try_read(&mut unfilled)?;
    // SAFETY: `try_read_buf` initialized the first `n` bytes of the unfilled part (mio
    // copies what it read into them).
    unsafe { buf.assume_init(n) };
    buf.advance(n);
    Ok(n)
}

/// The peer closed or disconnected: end of file for a reader, `BrokenPipe` for a writer.
pub(crate) fn is_gone(e: &io::Error) -> bool {
    matches!(
        super::error_code(e),
        Some(ERROR_BROKEN_PIPE | ERROR_PIPE_NOT_CONNECTED | ERROR_NO_DATA)
    )
}
