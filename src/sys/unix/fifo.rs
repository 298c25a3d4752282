//! FIFOs: `mkfifo(3)`, for `os::unix::fifo`.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// `mkfifo(path, mode)`. Errors name the path: `AlreadyExists` (`EEXIST`),
/// `PermissionDenied` (`EACCES`/`EPERM`, said to be about the directory), `NotFound`, and
/// `InvalidInput` for a path containing a NUL byte or a `mode` that does not fit in `mode_t`
/// (16 bits on Apple) (no OS call then).
pub(crate) fn create_fifo(path: &Path, mode: u32) -> io::Result<()> {
    let mode_t = super::mode_t(mode).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot create FIFO \"{}\": {e}", path.display()),
        )
    })?;
    let c_path = CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "cannot create FIFO \"{}\": the path contains a NUL byte",
                path.display()
            ),
        )
    })?;
    // SAFETY: `c_path` is a valid NUL-terminated string for the duration of the call.
    let ret = unsafe { libc::mkfifo(c_path.as_ptr(), mode_t) };
    if ret == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    let why = match err.raw_os_error() {
        Some(libc::EEXIST) => "a file already exists there".to_string(),
        Some(libc::EACCES) | Some(libc::EPERM) => {
            format!("permission denied (the directory may not be written to or searched: {err})")
        }
        _ => err.to_string(),
    };
    Err(io::Error::new(
        err.kind(),
        format!("cannot create FIFO \"{}\": {why}", path.display()),
    ))
}
