//! The async ends on Windows: a one-way named pipe that nobody else can join, on tokio's
//! reactor (`tokio::net::windows::named_pipe`).
//!
//! `CreatePipe` makes synchronous handles, which cannot be registered with an I/O completion
//! port, so the async pair is one instance of a named pipe instead, made and connected in
//! one go:
//! - the name `\\.\pipe\localipc-anon-<pid>-<counter>-<random>` is fresh;
//! - the read end: `CreateNamedPipeW(PIPE_ACCESS_INBOUND | FILE_FLAG_OVERLAPPED |
//!   FILE_FLAG_FIRST_PIPE_INSTANCE, PIPE_TYPE_BYTE | PIPE_REJECT_REMOTE_CLIENTS, 1 instance)`
//!   (through [`create_instance`]);
//! - at once the write end: `CreateFileW(GENERIC_WRITE | FILE_READ_ATTRIBUTES,
//!   FILE_FLAG_OVERLAPPED)` (through [`try_open_client`]). With a single instance, this open
//!   succeeding means nobody else holds the pipe; if somebody did (or took the name first),
//!   the pair is discarded and made again under a new name (see `pair.rs`).
//!
//! The name lasts until the read end is closed; with its only instance taken, nobody else
//! can open it meanwhile. Security is the named-pipe default, as for `CreatePipe`.
//!
//! There are no conversions between sync and async ends on Windows (the public ones are
//! `cfg(unix)`): a sync end is a `CreatePipe` handle (see above), and tokio does not give its
//! handles back.

use super::super::tokio::{is_gone, read_unfilled};
use super::pair::named_pair;
use crate::sys::in_runtime;
use std::io::{self, IoSlice};
use std::os::windows::io::{AsHandle, BorrowedHandle, IntoRawHandle, OwnedHandle};
use std::task::{ready, Context, Poll};
use tokio::io::ReadBuf;
use tokio::net::windows::named_pipe::{NamedPipeClient, NamedPipeServer};

/// [`named_pair`], registered with the current runtime: `(write end, read end)`.
pub(crate) fn pipe() -> io::Result<(Sender, Recver)> {
    in_runtime("creating a tokio unnamed pipe")?;
    let (client, server) = named_pair("tokio unnamed pipe")?;
    // SAFETY: both are open, overlapped pipe handles that we own; tokio takes them over
    // (and closes them if registration fails).
    let (tx, rx) = unsafe {
        (
            NamedPipeClient::from_raw_handle(client.into_raw_handle()),
            NamedPipeServer::from_raw_handle(server.into_raw_handle()),
        )
    };
    Ok((Sender(tx?), Recver(rx?)))
}

/// The async write end: the client of the named pipe.
#[derive(Debug)]
pub(crate) struct Sender(NamedPipeClient);

impl Sender {
    /// `WriteFile` through tokio; no reader left gives `BrokenPipe`. An empty write returns
    /// 0 without touching the pipe (a zero-length write would reach a waiting reader as a
    /// 0-byte read, end of file to it).
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.poll_send(cx, |p| p.try_write(buf))
    }

    /// `WriteFile` of the gathered buffers through tokio; all empty: 0, as `poll_write`.
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if bufs.iter().all(|b| b.is_empty()) {
            return Poll::Ready(Ok(0));
        }
        self.poll_send(cx, |p| p.try_write_vectored(bufs))
    }

    /// `send` once the pipe is writable; a closed read end gives `BrokenPipe`.
    fn poll_send(
        &self,
        cx: &mut Context<'_>,
        mut send: impl FnMut(&NamedPipeClient) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match send(&self.0) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) if is_gone(&e) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        format!("writing to an unnamed pipe whose read end is closed: {e}"),
                    )))
                }
                r => return Poll::Ready(r),
            }
        }
    }
}

impl Sender {
    /// Registers a pipe handle (overlapped, writable) with the current runtime
    /// (`CreateIoCompletionPort`).
    pub(crate) fn from_handle(h: OwnedHandle) -> io::Result<Self> {
        in_runtime("converting to a tokio pipe sender")?;
        // SAFETY: `h` is an open handle that we own; tokio takes it over.
        Ok(Self(unsafe {
            NamedPipeClient::from_raw_handle(h.into_raw_handle())
        }?))
    }
}

impl AsHandle for Sender {
    fn as_handle(&self) -> BorrowedHandle<'_> {
        self.0.as_handle()
    }
}

/// The async read end: the server of the named pipe.
#[derive(Debug)]
pub(crate) struct Recver(NamedPipeServer);

impl Recver {
    /// `ReadFile` through tokio; the writer gone (`ERROR_BROKEN_PIPE`) is end of file.
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            ready!(self.0.poll_read_ready(cx))?;
            match read_unfilled(buf, |dst| self.0.try_read_buf(dst)) {
                Ok(_) => return Poll::Ready(Ok(())),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) if is_gone(&e) => return Poll::Ready(Ok(())),
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl Recver {
    /// Registers a pipe handle (overlapped, readable) with the current runtime
    /// (`CreateIoCompletionPort`).
    pub(crate) fn from_handle(h: OwnedHandle) -> io::Result<Self> {
        in_runtime("converting to a tokio pipe receiver")?;
        // SAFETY: `h` is an open handle that we own; tokio takes it over.
        Ok(Self(unsafe {
            NamedPipeServer::from_raw_handle(h.into_raw_handle())
        }?))
    }
}

impl AsHandle for Recver {
    fn as_handle(&self) -> BorrowedHandle<'_> {
        self.0.as_handle()
    }
}
