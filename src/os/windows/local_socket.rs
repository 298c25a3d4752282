//! Handle conversions for the local socket types.

use crate::local_socket::LocalSocketStream;
use crate::sys;
use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle, OwnedHandle, RawHandle};

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
