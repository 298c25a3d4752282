//! Unnamed pipes on Windows: `CreatePipe`, with both handles non-inheritable.
//!
//! The ends are synchronous handles, as a child process expects its standard handles to be
//! (a program that reads its stdin without an OVERLAPPED would misbehave on an overlapped
//! handle). Reads and writes still go through [`overlapped::run`], which also works on
//! synchronous handles (the call then returns when it is done) and never returns while an
//! operation is in flight: so an end made `From<OwnedHandle>` of an overlapped handle is
//! safe too.
//!
//! A write with no reader left fails with `BrokenPipe` (`ERROR_NO_DATA`, or
//! `ERROR_BROKEN_PIPE`); a read after every writer is gone returns 0 (`ERROR_BROKEN_PIPE`).
//! Zero-length writes are never sent: a pipe hands them to a waiting reader as a 0-byte
//! read, which it would take for end of file.
//!
//! The tokio ends (`pipe::tokio`) cannot use `CreatePipe`'s handles, which are not
//! overlapped and so cannot be registered with an I/O completion port: see there.

use super::instance::DEFAULT_BUFFER_SIZE;
use super::overlapped::{self, Wait};
use std::io::{self, IoSlice, IoSliceMut};
use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle, FromRawHandle, OwnedHandle};
use std::ptr;
use windows_sys::Win32::Foundation::{
    ERROR_BROKEN_PIPE, ERROR_MORE_DATA, ERROR_NO_DATA, ERROR_PIPE_NOT_CONNECTED, HANDLE,
};
use windows_sys::Win32::Storage::FileSystem::{ReadFile, WriteFile};
use windows_sys::Win32::System::Pipes::CreatePipe;

#[cfg(feature = "async-io")]
pub(crate) mod async_io;
#[cfg(any(feature = "tokio", feature = "async-io"))]
mod pair;
#[cfg(feature = "tokio")]
pub(crate) mod tokio;

/// `CreatePipe` with no security attributes (so neither handle is inheritable) and 64 KiB
/// of buffer. Returns `(write end, read end)`.
pub(crate) fn pipe() -> io::Result<(Sender, Recver)> {
    let mut read: HANDLE = ptr::null_mut();
    let mut write: HANDLE = ptr::null_mut();
    // SAFETY: both out-pointers are valid for writes; no security attributes.
    let ok = unsafe { CreatePipe(&mut read, &mut write, ptr::null(), DEFAULT_BUFFER_SIZE) };
    if ok == 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("cannot create an unnamed pipe: {e}"),
        ));
    }
    // SAFETY: both handles were just created and nothing else owns them.
    let (read, write) = unsafe {
        (
            OwnedHandle::from_raw_handle(read),
            OwnedHandle::from_raw_handle(write),
        )
    };
    Ok((Sender::from_handle(write), Recver::from_handle(read)))
}

/// The write end of a pipe.
#[derive(Debug)]
pub(crate) struct Sender {
    handle: OwnedHandle,
}

impl Sender {
    pub(crate) fn from_handle(handle: OwnedHandle) -> Self {
        Self { handle }
    }

    pub(crate) fn into_handle(self) -> OwnedHandle {
        self.handle
    }

    /// `WriteFile`; no reader left gives `BrokenPipe`. An empty `buf` makes no call.
    pub(crate) fn write(&self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX); // at most 4 GiB - 1 at once
        let h = self.handle.as_raw_handle();
        let done = overlapped::run(h, Wait::Forever, |ov| {
            // SAFETY: `buf` is valid for reads of `len` bytes, and `ov` for the whole
            // operation: `run` returns only once it has ended.
            unsafe { WriteFile(h, buf.as_ptr(), len, ptr::null_mut(), ov) }
        })?;
        match done.error {
            0 => Ok(done.bytes as usize),
            ERROR_NO_DATA | ERROR_BROKEN_PIPE | ERROR_PIPE_NOT_CONNECTED => {
                let e = super::os_error(done.error);
                Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    format!("writing to an unnamed pipe whose read end is closed: {e}"),
                ))
            }
            code => Err(super::os_error(code)),
        }
    }

    /// `WriteFile` of the first non-empty buffer (Windows has no gathering write for pipes).
    pub(crate) fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let buf = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &**b);
        self.write(buf)
    }
}

impl AsHandle for Sender {
    fn as_handle(&self) -> BorrowedHandle<'_> {
        self.handle.as_handle()
    }
}

/// The read end of a pipe.
#[derive(Debug)]
pub(crate) struct Recver {
    handle: OwnedHandle,
}

impl Recver {
    pub(crate) fn from_handle(handle: OwnedHandle) -> Self {
        Self { handle }
    }

    pub(crate) fn into_handle(self) -> OwnedHandle {
        self.handle
    }

    /// `ReadFile`; every writer gone (`ERROR_BROKEN_PIPE`) is end of file, `Ok(0)`. An
    /// empty `buf` makes no call.
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX); // at most 4 GiB - 1 at once
        let h = self.handle.as_raw_handle();
        let done = overlapped::run(h, Wait::Forever, |ov| {
            // SAFETY: `buf` is valid for writes of `len` bytes, and `ov` for the whole
            // operation: `run` returns only once it has ended.
            unsafe { ReadFile(h, buf.as_mut_ptr(), len, ptr::null_mut(), ov) }
        })?;
        match done.error {
            // ERROR_MORE_DATA: a handle in message-read mode (only if given one through
            // `From<OwnedHandle>`); the rest of the message comes with the next read.
            0 | ERROR_MORE_DATA => Ok(done.bytes as usize),
            ERROR_BROKEN_PIPE | ERROR_PIPE_NOT_CONNECTED => Ok(0),
            code => Err(super::os_error(code)),
        }
    }

    /// `ReadFile` into the first non-empty buffer (Windows has no scattering read for pipes).
    pub(crate) fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        match bufs.iter_mut().find(|b| !b.is_empty()) {
            Some(buf) => self.read(buf),
            None => Ok(0),
        }
    }
}

impl AsHandle for Recver {
    fn as_handle(&self) -> BorrowedHandle<'_> {
        self.handle.as_handle()
    }
}
