//! `localipc list` on Windows: the names under `\\.\pipe\`.

use super::Entry;
use std::io;
use windows_sys::Win32::Foundation::{
    GetLastError, ERROR_FILE_NOT_FOUND, ERROR_NO_MORE_FILES, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    FindClose, FindFirstFileW, FindNextFileW, WIN32_FIND_DATAW,
};

/// `FindFirstFileW(\\.\pipe\*)` and `FindNextFileW` until `ERROR_NO_MORE_FILES`, then
/// `FindClose`. Each named pipe is shown as `@name` (what `localipc connect` takes for
/// `\\.\pipe\name`); the pipe file system reports its current instance count in the
/// size field (`instances` in the JSON output).
pub(super) fn list() -> io::Result<Vec<Entry>> {
    let pattern: Vec<u16> = r"\\.\pipe\*".encode_utf16().chain([0]).collect();
    // SAFETY: all-zero bytes are a valid WIN32_FIND_DATAW.
    let mut data: WIN32_FIND_DATAW = unsafe { std::mem::zeroed() };
    // SAFETY: `pattern` is NUL-terminated; `data` is writable.
    let h = unsafe { FindFirstFileW(pattern.as_ptr(), &mut data) };
    if h == INVALID_HANDLE_VALUE {
        // SAFETY: reads the thread's last-error value.
        let e = unsafe { GetLastError() };
        if e == ERROR_FILE_NOT_FOUND {
            return Ok(Vec::new());
        }
        return Err(io::Error::from_raw_os_error(
            i32::try_from(e).unwrap_or(i32::MAX),
        ));
    }
    let mut out = Vec::new();
    loop {
        let len = data
            .cFileName
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(data.cFileName.len());
        let name = String::from_utf16_lossy(&data.cFileName[..len]);
        out.push(Entry {
            name: format!("@{name}"),
            kind: "pipe",
            detail: Some(("instances", u64::from(data.nFileSizeLow))),
            ..Entry::default()
        });
        // SAFETY: `h` is an open find handle; `data` is writable.
        if unsafe { FindNextFileW(h, &mut data) } == 0 {
            // SAFETY: reads the thread's last-error value.
            let e = unsafe { GetLastError() };
            // SAFETY: `h` is open and closed only here.
            unsafe { FindClose(h) };
            if e == ERROR_NO_MORE_FILES {
                return Ok(out);
            }
            return Err(io::Error::from_raw_os_error(
                i32::try_from(e).unwrap_or(i32::MAX),
            ));
        }
    }
}
