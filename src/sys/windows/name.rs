//! Name rules on Windows: every local socket is a named pipe `\\.\pipe\<name>`. The rules
//! themselves are pure code in `sys::pipe_name` (compiled, tested and fuzzed on every
//! platform); this module applies them to `OsStr`s and builds the UTF-16 paths.
//!
//! - `@name` and a plain `name` are namespaced and become `\\.\pipe\name` (the `@` stripped).
//! - A full pipe path `\\.\pipe\…` (any case, either slash) is namespaced too and used as
//!   it is. Any other server part (`\\host\pipe\x`, `@\\host\pipe\x`) is refused with
//!   `InvalidInput`: local sockets never leave the machine.
//! - The pipe's own name must not be empty or `.`, nor contain `\`, `/` or `..`
//!   (`InvalidInput`).
//! - A string that looks like a filesystem path (`C:\x`, `\x`, `/tmp/x`, `.\x`, a UNC share) is
//!   a path, which Windows local sockets do not support (`Unsupported`, from
//!   `LocalSocketName::check_supported`).

use crate::local_socket::{LocalSocketName, NameTypeSupport};
use crate::sys::pipe_name;
use std::borrow::Cow;
use std::ffi::{CStr, OsStr};
use std::io;
use std::os::windows::ffi::OsStrExt;

pub(crate) use pipe_name::{LOCAL_PREFIX, MAX_PIPE_PATH_LEN};

pub(crate) const NAME_TYPE_ALWAYS_AVAILABLE: NameTypeSupport = NameTypeSupport::OnlyNamespaced;

/// Same as [`NAME_TYPE_ALWAYS_AVAILABLE`]: every Windows has named pipes and no local socket
/// files (AF_UNIX on Windows 10 is not used by this crate).
pub(crate) fn name_type_support() -> NameTypeSupport {
    NAME_TYPE_ALWAYS_AVAILABLE
}

/// Splits a user string into the name and whether it is namespaced (`pipe_name::classify`).
pub(crate) fn classify(s: Cow<'_, OsStr>) -> (Cow<'_, OsStr>, bool) {
    let (skip, namespaced) = pipe_name::classify(s.as_encoded_bytes());
    if skip == 0 {
        return (s, namespaced);
    }
    let rest = match s {
        // SAFETY: `skip` bytes are the ASCII `@`; a slice that starts right after an ASCII
        // byte of a valid encoded string is itself a valid encoded string (OsStr's
        // documented split rule).
        Cow::Borrowed(b) => Cow::Borrowed(unsafe {
            OsStr::from_encoded_bytes_unchecked(&b.as_encoded_bytes()[skip..])
        }),
        Cow::Owned(o) => {
            // SAFETY: as above.
            let rest =
                unsafe { OsStr::from_encoded_bytes_unchecked(&o.as_encoded_bytes()[skip..]) };
            Cow::Owned(rest.to_owned())
        }
    };
    (rest, namespaced)
}

/// Whether a namespaced name is already a full pipe path (`\\<server>\pipe\…`), shown as
/// it is rather than with an `@`.
pub(crate) fn is_full_path(inner: &OsStr) -> bool {
    pipe_name::is_full_path(inner.as_encoded_bytes())
}

/// Names reach Windows as UTF-16, so a C string must be UTF-8.
pub(crate) fn cstr_to_os_str(s: &CStr) -> io::Result<&OsStr> {
    s.to_str().map(OsStr::new).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "invalid local socket name {:?}: not valid UTF-8 ({e}); Windows pipe names are Unicode",
                s.to_string_lossy()
            ),
        )
    })
}

/// Limits worth knowing on this platform, for `localipc probe`.
pub(crate) fn limits() -> Vec<(&'static str, String)> {
    vec![
        (
            "max pipe path length",
            format!("{MAX_PIPE_PATH_LEN} UTF-16 code units, including {LOCAL_PREFIX}"),
        ),
        (
            "max namespaced name length",
            format!(
                "{} UTF-16 code units (after {LOCAL_PREFIX})",
                MAX_PIPE_PATH_LEN - LOCAL_PREFIX.len()
            ),
        ),
        ("max path length", "n/a (no socket files)".into()),
        (
            "pipe buffer size",
            format!("{} bytes each way", super::instance::DEFAULT_BUFFER_SIZE),
        ),
        (
            "instances per name",
            "unlimited (PIPE_UNLIMITED_INSTANCES)".into(),
        ),
    ]
}

/// The NUL-terminated UTF-16 pipe path for a local socket name, checked: a namespaced name
/// (paths give `Unsupported`) that obeys the rules of `sys::pipe_name` (a local pipe, a
/// pipe name that is not empty and has no separators or `..`, at most
/// [`MAX_PIPE_PATH_LEN`] code units in all). Errors are `InvalidInput` naming the input.
pub(crate) fn pipe_path(name: &LocalSocketName<'_>) -> io::Result<Vec<u16>> {
    name.check_supported()?;
    namespaced_pipe_path(name.inner(), &name.to_string())
}

/// [`pipe_path`] for a string already classified as namespaced; `shown` is how errors name it.
fn namespaced_pipe_path(inner: &OsStr, shown: &str) -> io::Result<Vec<u16>> {
    let bytes = inner.as_encoded_bytes();
    let name = pipe_name::local_name(bytes).map_err(|why| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid pipe name \"{shown}\": {why}"),
        )
    })?;
    // The pipe's own name is the end of `inner`, after an ASCII prefix (if any): as many
    // UTF-16 code units to skip as bytes.
    let skip = bytes.len() - name.len();
    let mut path: Vec<u16> = LOCAL_PREFIX
        .encode_utf16()
        .chain(inner.encode_wide().skip(skip))
        .collect();
    debug_assert!(path.len() <= MAX_PIPE_PATH_LEN);
    path.push(0);
    Ok(path)
}

/// A pipe path for display: the UTF-16 path without its NUL.
pub(crate) fn show_path(path: &[u16]) -> String {
    let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
    String::from_utf16_lossy(&path[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let p = namespaced_pipe_path(OsStr::new("x"), "x").unwrap();
        assert_eq!(show_path(&p), r"\\.\pipe\x");
        let p = namespaced_pipe_path(OsStr::new(r"\\.\PIPE\yé"), "y").unwrap();
        assert_eq!(show_path(&p), r"\\.\pipe\yé");
        for bad in [r"\\.\pipe\", r"\\host\pipe\x", r"\\.\pipe\a\..\b", "a/b"] {
            let err = namespaced_pipe_path(OsStr::new(bad), bad).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
            assert!(err.to_string().contains(bad), "{err}");
        }
    }
}
