//! Handle conversions for the local socket types.
//!
//! The sync stream has the full set: `AsHandle`, `AsRawHandle`, `From<OwnedHandle>`,
//! `Into<OwnedHandle>`, and `IntoRawHandle`/`FromRawHandle` as `interprocess` 1.x had them.
//! The listener has none, on Windows as in 1.x: it is not one handle but a name and a
//! pipe instance that is replaced by a new one at every `accept`.

use crate::local_socket::LocalSocketStream;
use crate::sys;
use std::os::windows::io::{
    AsHandle, AsRawHandle, BorrowedHandle, FromRawHandle, IntoRawHandle, OwnedHandle, RawHandle,
};

impl AsHandle for LocalSocketStream {
    fn as_handle(&self) -> BorrowedHandle<'_> {
        self.inner.as_handle()
    }
}

impl AsRawHandle for LocalSocketStream {
    fn as_raw_handle(&self) -> RawHandle {
        self.inner.as_handle().as_raw_handle()
    }
}

impl From<LocalSocketStream> for OwnedHandle {
    fn from(s: LocalSocketStream) -> Self {
        s.inner.into_handle()
    }
}

/// The handle must be a connected named pipe end (client or server), best opened with
/// `FILE_FLAG_OVERLAPPED` so that reads and writes from two threads do not wait for each
/// other; anything else makes later I/O fail (it is not undefined behaviour). Which end it
/// is, is asked of the OS (`GetNamedPipeInfo`) when needed.
impl From<OwnedHandle> for LocalSocketStream {
    fn from(h: OwnedHandle) -> Self {
        Self {
            inner: sys::Stream::from_handle(h, None),
        }
    }
}

impl IntoRawHandle for LocalSocketStream {
    /// Gives up the handle without closing it; the caller must close it (`CloseHandle`).
    fn into_raw_handle(self) -> RawHandle {
        OwnedHandle::from(self).into_raw_handle()
    }
}

impl FromRawHandle for LocalSocketStream {
    /// Takes ownership of `handle`, as `From<OwnedHandle>`.
    ///
    /// # Safety
    /// `handle` must be an open handle that nothing else owns (it is closed on drop); it
    /// should be a connected named pipe end.
    unsafe fn from_raw_handle(handle: RawHandle) -> Self {
        // SAFETY: the caller hands over an open handle that nothing else owns.
        Self::from(unsafe { OwnedHandle::from_raw_handle(handle) })
    }
}

/// `AsHandle`/`AsRawHandle` on the async stream, as tokio's own pipe types have (and as
/// `interprocess` 1.x's tokio stream had `AsRawHandle`).
#[cfg(feature = "tokio")]
mod tokio_conv {
    use crate::local_socket::tokio::LocalSocketStream;
    use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle, RawHandle};

    impl AsHandle for LocalSocketStream {
        fn as_handle(&self) -> BorrowedHandle<'_> {
            self.inner.as_handle()
        }
    }

    impl AsRawHandle for LocalSocketStream {
        fn as_raw_handle(&self) -> RawHandle {
            self.inner.as_handle().as_raw_handle()
        }
    }
}
