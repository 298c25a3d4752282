//! Borrowed and owned halves of an async [`LocalSocketStream`].

use super::LocalSocketStream;
use crate::local_socket::PeerCreds;
use std::error::Error;
use std::fmt;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The reading half from [`LocalSocketStream::split`]. Cancel safety as for the stream:
/// `read` is cancel-safe, `read_exact` is not (see
/// [`LocalSocketStream`](LocalSocketStream#cancel-safety)).
#[derive(Debug)]
pub struct ReadHalf<'a>(pub(super) &'a LocalSocketStream);

/// The writing half from [`LocalSocketStream::split`]. Cancel safety as for the stream:
/// `write` is cancel-safe, `write_all` is not.
#[derive(Debug)]
pub struct WriteHalf<'a>(pub(super) &'a LocalSocketStream);

/// The owned reading half from [`LocalSocketStream::into_split`]. Cancel safety as for the
/// stream: `read` is cancel-safe, `read_exact` is not.
#[derive(Debug)]
pub struct OwnedReadHalf {
    stream: Arc<LocalSocketStream>,
}

/// The owned writing half from [`LocalSocketStream::into_split`]. Dropping it shuts down the
/// write direction (the peer reads end of file), as tokio's own halves do. Cancel safety as
/// for the stream: `write` is cancel-safe, `write_all` is not.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    stream: Arc<LocalSocketStream>,
    shutdown_on_drop: bool,
}

pub(super) fn into_split(s: LocalSocketStream) -> (OwnedReadHalf, OwnedWriteHalf) {
    let stream = Arc::new(s);
    (
        OwnedReadHalf {
            stream: stream.clone(),
        },
        OwnedWriteHalf {
            stream,
            shutdown_on_drop: true,
        },
    )
}

impl OwnedReadHalf {
    /// Puts the stream back together. Fails, returning both halves, if they come from
    /// different streams.
    pub fn reunite(self, mut other: OwnedWriteHalf) -> Result<LocalSocketStream, ReuniteError> {
        if !Arc::ptr_eq(&self.stream, &other.stream) {
            return Err(ReuniteError(self, other));
        }
        other.shutdown_on_drop = false;
        drop(other);
        Ok(Arc::try_unwrap(self.stream).expect("the two halves were the only owners"))
    }

    /// The peer's process id; see [`LocalSocketStream::peer_pid`].
    pub fn peer_pid(&self) -> io::Result<u32> {
        self.stream.peer_pid()
    }

    /// The peer's credentials.
    pub fn peer_creds(&self) -> io::Result<PeerCreds> {
        self.stream.peer_creds()
    }
}

impl OwnedWriteHalf {
    /// Puts the stream back together; see [`OwnedReadHalf::reunite`].
    pub fn reunite(self, other: OwnedReadHalf) -> Result<LocalSocketStream, ReuniteError> {
        other.reunite(self)
    }

    /// The peer's process id; see [`LocalSocketStream::peer_pid`].
    pub fn peer_pid(&self) -> io::Result<u32> {
        self.stream.peer_pid()
    }

    /// The peer's credentials.
    pub fn peer_creds(&self) -> io::Result<PeerCreds> {
        self.stream.peer_creds()
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let mut cx = Context::from_waker(std::task::Waker::noop());
            let _ = self.stream.inner.poll_shutdown(&mut cx);
        }
    }
}

/// The halves given to `reunite` belong to different streams; both are handed back.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves of two different local socket streams")
    }
}

impl Error for ReuniteError {}

macro_rules! read_via_stream {
    ($($ty:ty => |$s:ident| $get:expr;)*) => {$(
        impl AsyncRead for $ty {
            fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
                let $s = self.get_mut();
                Pin::new(&mut $get).poll_read(cx, buf)
            }
        }
    )*};
}

macro_rules! write_via_stream {
    ($($ty:ty => |$s:ident| $get:expr;)*) => {$(
        impl AsyncWrite for $ty {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                let $s = self.get_mut();
                Pin::new(&mut $get).poll_write(cx, buf)
            }
            fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
                let $s = self.get_mut();
                Pin::new(&mut $get).poll_write_vectored(cx, bufs)
            }
            fn is_write_vectored(&self) -> bool {
                true
            }
            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $s = self.get_mut();
                Pin::new(&mut $get).poll_flush(cx)
            }
            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let $s = self.get_mut();
                Pin::new(&mut $get).poll_shutdown(cx)
            }
        }
    )*};
}

read_via_stream! {
    ReadHalf<'_> => |s| s.0;
    OwnedReadHalf => |s| &*s.stream;
}

write_via_stream! {
    WriteHalf<'_> => |s| s.0;
    OwnedWriteHalf => |s| &*s.stream;
}
