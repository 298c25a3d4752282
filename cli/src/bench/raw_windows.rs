//! The raw OS primitive on Windows: a byte-mode named pipe through `CreateNamedPipeW`,
//! `ConnectNamedPipe`, `CreateFileW`, `ReadFile` and `WriteFile` (synchronous I/O), with
//! nothing of localipc in between.
//!
//! The CLI cannot be built for Windows until localipc's Windows backend exists; this module
//! was checked on its own (cross-compiled, run under Wine).

use super::subject::Subject;
use std::io::{self, Read, Write};
use std::os::windows::ffi::OsStrExt;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::path::Path;
use std::ptr;
use std::sync::{Mutex, PoisonError};
use windows_sys::Win32::Foundation::{
    ERROR_BROKEN_PIPE, ERROR_NO_DATA, ERROR_PIPE_BUSY, ERROR_PIPE_CONNECTED, GENERIC_READ,
    GENERIC_WRITE, HANDLE, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, ReadFile, WriteFile, FILE_FLAG_FIRST_PIPE_INSTANCE, OPEN_EXISTING,
    PIPE_ACCESS_DUPLEX,
};
use windows_sys::Win32::System::Pipes::{
    ConnectNamedPipe, CreateNamedPipeW, WaitNamedPipeW, PIPE_READMODE_BYTE, PIPE_TYPE_BYTE,
    PIPE_UNLIMITED_INSTANCES, PIPE_WAIT,
};

/// In and out buffer size of each pipe instance.
const BUF_SIZE: u32 = 64 * 1024;

/// The Win32 error code (`GetLastError`) of `e`: the same 32 bits as its `raw_os_error`.
pub(super) fn win32_error(e: &io::Error) -> Option<u32> {
    e.raw_os_error()
        .map(|code| u32::from_ne_bytes(code.to_ne_bytes()))
}

/// How long a client waits for a busy pipe, per attempt, in milliseconds.
const BUSY_WAIT_MS: u32 = 1_000;

/// Attempts a client makes while every instance is busy.
const BUSY_ATTEMPTS: usize = 10;

/// What "raw" is, for the report.
pub(super) const DESCRIPTION: &str =
    "byte-mode named pipes, CreateNamedPipeW/CreateFileW/ReadFile/WriteFile";

/// Named pipes through the Win32 API.
#[derive(Debug)]
pub(super) struct Raw;

/// A pipe name and the instance waiting for the next client (one is always pending, so that
/// clients never find the name missing between two accepts).
#[derive(Debug)]
pub(super) struct RawListener {
    /// The full pipe name, NUL-terminated.
    name: Vec<u16>,
    /// The instance the next `accept` connects.
    pending: Mutex<Option<OwnedHandle>>,
}

/// One end of a connected pipe.
#[derive(Debug)]
pub(super) struct RawPipe(OwnedHandle);

impl Subject for Raw {
    type Listener = RawListener;
    type Stream = RawPipe;

    fn bind(endpoint: &Path) -> io::Result<RawListener> {
        let name = wide(endpoint);
        let first = create_instance(&name, true)?;
        Ok(RawListener {
            name,
            pending: Mutex::new(Some(first)),
        })
    }

    fn accept(listener: &RawListener) -> io::Result<RawPipe> {
        let mut pending = listener
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            let instance = match pending.take() {
                Some(instance) => instance,
                None => create_instance(&listener.name, false)?,
            };
            // SAFETY: a valid pipe handle opened for synchronous I/O, so no OVERLAPPED.
            let ok = unsafe { ConnectNamedPipe(handle(&instance), ptr::null_mut()) } != 0;
            let err = io::Error::last_os_error();
            match win32_error(&err) {
                _ if ok => {}
                Some(ERROR_PIPE_CONNECTED) => {} // the client came first
                Some(ERROR_NO_DATA) => {
                    // The client came and went: replace the instance, then drop it.
                    *pending = Some(create_instance(&listener.name, false)?);
                    continue;
                }
                _ => return Err(err),
            }
            *pending = Some(create_instance(&listener.name, false)?);
            return Ok(RawPipe(instance));
        }
    }

    fn connect(endpoint: &Path) -> io::Result<RawPipe> {
        let name = wide(endpoint);
        for _ in 0..BUSY_ATTEMPTS {
            // SAFETY: `name` is NUL-terminated; no security attributes and no template file.
            let h = unsafe {
                CreateFileW(
                    name.as_ptr(),
                    GENERIC_READ | GENERIC_WRITE,
                    0,
                    ptr::null(),
                    OPEN_EXISTING,
                    0,
                    ptr::null_mut(),
                )
            };
            if h != INVALID_HANDLE_VALUE {
                // SAFETY: a fresh handle that nothing else owns.
                return Ok(RawPipe(unsafe { OwnedHandle::from_raw_handle(h) }));
            }
            let err = io::Error::last_os_error();
            if win32_error(&err) != Some(ERROR_PIPE_BUSY) {
                return Err(err);
            }
            // SAFETY: `name` is NUL-terminated. A timeout just means: try again.
            unsafe { WaitNamedPipeW(name.as_ptr(), BUSY_WAIT_MS) };
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "every instance of the pipe stayed busy",
        ))
    }
}

impl Read for RawPipe {
    /// `ReadFile`; a closed peer (`ERROR_BROKEN_PIPE`) is end of file.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let mut done = 0;
        // SAFETY: `buf` is valid for writes of `len` bytes; synchronous handle, no OVERLAPPED.
        let ok = unsafe {
            ReadFile(
                handle(&self.0),
                buf.as_mut_ptr(),
                len,
                &mut done,
                ptr::null_mut(),
            )
        } != 0;
        if ok {
            return Ok(done as usize);
        }
        let err = io::Error::last_os_error();
        match win32_error(&err) {
            Some(ERROR_BROKEN_PIPE) => Ok(0),
            _ => Err(err),
        }
    }
}

impl Write for RawPipe {
    /// `WriteFile`.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let mut done = 0;
        // SAFETY: `buf` is valid for reads of `len` bytes; synchronous handle, no OVERLAPPED.
        let ok = unsafe {
            WriteFile(
                handle(&self.0),
                buf.as_ptr(),
                len,
                &mut done,
                ptr::null_mut(),
            )
        } != 0;
        if ok {
            Ok(done as usize)
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Nothing is buffered in this process.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Creates one byte-mode, blocking, duplex instance of the pipe `name`.
fn create_instance(name: &[u16], first: bool) -> io::Result<OwnedHandle> {
    let first_flag = if first {
        FILE_FLAG_FIRST_PIPE_INSTANCE
    } else {
        0
    };
    // SAFETY: `name` is NUL-terminated; null security attributes mean the default ones.
    let h = unsafe {
        CreateNamedPipeW(
            name.as_ptr(),
            PIPE_ACCESS_DUPLEX | first_flag,
            PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT,
            PIPE_UNLIMITED_INSTANCES,
            BUF_SIZE,
            BUF_SIZE,
            0,
            ptr::null(),
        )
    };
    if h == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh handle that nothing else owns.
    Ok(unsafe { OwnedHandle::from_raw_handle(h) })
}

/// The raw handle, as windows-sys takes it.
fn handle(h: &OwnedHandle) -> HANDLE {
    h.as_raw_handle()
}

/// `path` as a NUL-terminated UTF-16 string.
fn wide(path: &Path) -> Vec<u16> {
    path.as_os_str().encode_wide().chain(Some(0)).collect()
}
