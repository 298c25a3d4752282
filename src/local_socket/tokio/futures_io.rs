//! `futures_io::AsyncRead`/`AsyncWrite` for the async streams (feature `futures-io`), so tasks
//! on other executors (smol, async-std, `futures::executor`) can use them.
//!
//! [`close`](futures_io::AsyncWrite::poll_close) on a [`LocalSocketStream`] shuts down both
//! directions, as `interprocess` 1.2.1 did: the peer reads end of file, and so do reads here
//! (on Unix once what had already arrived is read). On `&LocalSocketStream`, [`WriteHalf`]
//! and [`OwnedWriteHalf`] it shuts down only the write direction (a half-close, as tokio's
//! `shutdown`), so that the reply can still be read.
//!
//! Cancel safety is that of the tokio traits (see
//! [`LocalSocketStream`](super::LocalSocketStream#cancel-safety)): `read` and `write` are
//! cancel-safe, `read_exact` and `write_all` are not; `close` completes at once.
//!
//! The streams stay registered with tokio's reactor: create them inside a tokio runtime and
//! keep that runtime alive (a multi-thread runtime drives its reactor on its own threads).
//! The tasks that read and write may run on any executor.

use super::{LocalSocketStream, OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::ReadBuf;

macro_rules! futures_read {
    ($($ty:ty),*) => {$(
        impl futures_io::AsyncRead for $ty {
            fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
                let mut buf = ReadBuf::new(buf);
                match tokio::io::AsyncRead::poll_read(self, cx, &mut buf) {
                    Poll::Ready(Ok(())) => Poll::Ready(Ok(buf.filled().len())),
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    )*};
}

macro_rules! futures_write {
    ($($ty:ty => |$s:ident| $close:expr;)*) => {$(
        impl futures_io::AsyncWrite for $ty {
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                tokio::io::AsyncWrite::poll_write(self, cx, buf)
            }
            fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
                tokio::io::AsyncWrite::poll_write_vectored(self, cx, bufs)
            }
            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                tokio::io::AsyncWrite::poll_flush(self, cx)
            }
            fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                ready!(tokio::io::AsyncWrite::poll_shutdown(self.as_mut(), cx))?;
                let $s = &*self;
                Poll::Ready($close)
            }
        }
    )*};
}

futures_read!(
    LocalSocketStream,
    &LocalSocketStream,
    ReadHalf<'_>,
    OwnedReadHalf
);

// `close` on the stream itself ends both directions, as in interprocess 1.2.1 (Unix:
// `shutdown(SHUT_RDWR)`); on a shared reference or a write half it is a half-close, as
// tokio's `poll_shutdown`, so that another task can go on reading the reply.
futures_write! {
    LocalSocketStream => |s| s.inner.shutdown_read();
    &LocalSocketStream => |_s| Ok(());
    WriteHalf<'_> => |_s| Ok(());
    OwnedWriteHalf => |_s| Ok(());
}
