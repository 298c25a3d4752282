//! Every stream type here implements its I/O traits on `&T` (so a shared reference can read
//! and write); these macros give `T` the same traits by forwarding to `&T`, once. The
//! forwards are `#[inline]`: an owned stream costs no call more than a reference.

/// `std::io::Read` for `$t`, forwarded to `&$t`.
macro_rules! read_via_ref {
    ($($t:ty),*) => {$(
        impl std::io::Read for $t {
            #[inline]
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                std::io::Read::read(&mut &*self, buf)
            }
            #[inline]
            fn read_vectored(&mut self, bufs: &mut [std::io::IoSliceMut<'_>]) -> std::io::Result<usize> {
                std::io::Read::read_vectored(&mut &*self, bufs)
            }
        }
    )*};
}

/// `std::io::Write` for `$t`, forwarded to `&$t`.
macro_rules! write_via_ref {
    ($($t:ty),*) => {$(
        impl std::io::Write for $t {
            #[inline]
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                std::io::Write::write(&mut &*self, buf)
            }
            #[inline]
            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                std::io::Write::write_vectored(&mut &*self, bufs)
            }
            #[inline]
            fn flush(&mut self) -> std::io::Result<()> {
                std::io::Write::flush(&mut &*self)
            }
        }
    )*};
}

/// tokio's `AsyncRead` for `$t`, forwarded to `&$t`.
#[cfg(feature = "tokio")]
macro_rules! async_read_via_ref {
    ($($t:ty),*) => {$(
        impl tokio::io::AsyncRead for $t {
            #[inline]
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                tokio::io::AsyncRead::poll_read(std::pin::Pin::new(&mut &*self), cx, buf)
            }
        }
    )*};
}

/// tokio's `AsyncWrite` for `$t`, forwarded to `&$t`.
#[cfg(feature = "tokio")]
macro_rules! async_write_via_ref {
    ($($t:ty),*) => {$(
        impl tokio::io::AsyncWrite for $t {
            #[inline]
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                tokio::io::AsyncWrite::poll_write(std::pin::Pin::new(&mut &*self), cx, buf)
            }
            #[inline]
            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                tokio::io::AsyncWrite::poll_write_vectored(std::pin::Pin::new(&mut &*self), cx, bufs)
            }
            #[inline]
            fn is_write_vectored(&self) -> bool {
                tokio::io::AsyncWrite::is_write_vectored(&self)
            }
            #[inline]
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                tokio::io::AsyncWrite::poll_flush(std::pin::Pin::new(&mut &*self), cx)
            }
            #[inline]
            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                tokio::io::AsyncWrite::poll_shutdown(std::pin::Pin::new(&mut &*self), cx)
            }
        }
    )*};
}

#[cfg(feature = "tokio")]
pub(crate) use {async_read_via_ref, async_write_via_ref};
pub(crate) use {read_via_ref, write_via_ref};
