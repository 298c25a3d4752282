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
        // Wine's FindFirstFileW refuses the pipe device (ERROR_BAD_DEV_TYPE): read the
        // directory through a handle instead.
        let first = io::Error::from_raw_os_error(i32::try_from(e).unwrap_or(i32::MAX));
        return by_handle().map_err(|e2| {
            if under_wine() {
                return io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!(
                        r"listing \\.\pipe\ is not supported under Wine (FindFirstFileW: {first})"
                    ),
                );
            }
            io::Error::new(
                e2.kind(),
                format!(
                    r"listing \\.\pipe\: FindFirstFileW: {first}; reading it as a directory: {e2}"
                ),
            )
        });
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

/// `CreateFileW(\\.\pipe\, FILE_LIST_DIRECTORY, FILE_FLAG_BACKUP_SEMANTICS)` and
/// `GetFileInformationByHandleEx(FileFullDirectoryInfo)` until `ERROR_NO_MORE_FILES`.
fn by_handle() -> io::Result<Vec<Entry>> {
    use std::os::windows::io::{FromRawHandle, OwnedHandle};
    use windows_sys::Win32::Storage::FileSystem::{
        CreateFileW, FileFullDirectoryInfo, GetFileInformationByHandleEx,
        FILE_FLAG_BACKUP_SEMANTICS, FILE_FULL_DIR_INFO, FILE_LIST_DIRECTORY, FILE_SHARE_READ,
        FILE_SHARE_WRITE, OPEN_EXISTING,
    };
    let dir: Vec<u16> = r"\\.\pipe\".encode_utf16().chain([0]).collect();
    // SAFETY: `dir` is NUL-terminated; no security attributes or template.
    let h = unsafe {
        CreateFileW(
            dir.as_ptr(),
            FILE_LIST_DIRECTORY,
            FILE_SHARE_READ | FILE_SHARE_WRITE,
            std::ptr::null(),
            OPEN_EXISTING,
            FILE_FLAG_BACKUP_SEMANTICS,
            std::ptr::null_mut(),
        )
    };
    if h == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh handle owned by nobody else.
    let h = unsafe { OwnedHandle::from_raw_handle(h) };
    let mut out = Vec::new();
    let mut buf = vec![0_u64; 8192]; // 64 KiB, 8-aligned
    loop {
        let len = u32::try_from(buf.len() * 8).unwrap_or(u32::MAX);
        // SAFETY: `buf` is writable for `len` bytes and suitably aligned.
        let ok = unsafe {
            GetFileInformationByHandleEx(
                std::os::windows::io::AsRawHandle::as_raw_handle(&h),
                FileFullDirectoryInfo,
                buf.as_mut_ptr().cast(),
                len,
            )
        };
        if ok == 0 {
            // SAFETY: reads the thread's last-error value.
            let e = unsafe { GetLastError() };
            if e == ERROR_NO_MORE_FILES {
                return Ok(out);
            }
            return Err(io::Error::from_raw_os_error(
                i32::try_from(e).unwrap_or(i32::MAX),
            ));
        }
        let base = buf.as_ptr().cast::<u8>();
        let mut off = 0_usize;
        loop {
            // SAFETY: the OS filled `buf` with FILE_FULL_DIR_INFO records chained by
            // NextEntryOffset, each 8-aligned and within the buffer.
            let rec = unsafe { &*base.add(off).cast::<FILE_FULL_DIR_INFO>() };
            let n = rec.FileNameLength as usize / 2;
            // SAFETY: the name is FileNameLength bytes long, starting at FileName.
            let name = unsafe { std::slice::from_raw_parts(rec.FileName.as_ptr(), n) };
            out.push(Entry {
                name: format!("@{}", String::from_utf16_lossy(name)),
                kind: "pipe",
                detail: Some(("instances", u64::try_from(rec.EndOfFile).unwrap_or(0))),
                ..Entry::default()
            });
            if rec.NextEntryOffset == 0 {
                break;
            }
            off += rec.NextEntryOffset as usize;
        }
    }
}

/// Whether this is Wine: its `ntdll` exports `wine_get_version` (`GetModuleHandleW`,
/// `GetProcAddress`).
fn under_wine() -> bool {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
    let ntdll: Vec<u16> = "ntdll.dll".encode_utf16().chain([0]).collect();
    // SAFETY: NUL-terminated name; ntdll is loaded in every process.
    let module = unsafe { GetModuleHandleW(ntdll.as_ptr()) };
    if module.is_null() {
        return false;
    }
    // SAFETY: a loaded module and a NUL-terminated name.
    unsafe { GetProcAddress(module, c"wine_get_version".as_ptr().cast()) }.is_some()
}
