//! Name rules on Windows: every local socket is a named pipe.
//!
//! - `@name` and a plain `name` are namespaced and become `\\.\pipe\name` (the `@` stripped).
//! - A full pipe path, `\\.\pipe\…` or `\\server\pipe\…` (any case, either slash), is
//!   namespaced too and used verbatim: it is never prefixed a second time.
//! - A string that looks like a filesystem path (`C:\x`, `\x`, `/tmp/x`, `.\x`, a UNC share) is
//!   a path, which Windows local sockets do not support (`Unsupported`, from
//!   `LocalSocketName::check_supported`).

use crate::local_socket::{LocalSocketName, NameTypeSupport};
use std::borrow::Cow;
use std::ffi::{CStr, OsStr};
use std::io;
use std::os::windows::ffi::OsStrExt;

/// The prefix of local pipe paths.
pub(crate) const LOCAL_PREFIX: &str = r"\\.\pipe\";

/// Longest full pipe path, in UTF-16 code units: "The entire pipe name string can be up to
/// 256 characters long" (`CreateNamedPipeW`).
pub(crate) const MAX_PIPE_PATH_LEN: usize = 256;

pub(crate) const NAME_TYPE_ALWAYS_AVAILABLE: NameTypeSupport = NameTypeSupport::OnlyNamespaced;

/// Same as [`NAME_TYPE_ALWAYS_AVAILABLE`]: every Windows has named pipes and no local socket
/// files (AF_UNIX on Windows 10 is not used by this crate).
pub(crate) fn name_type_support() -> NameTypeSupport {
    NAME_TYPE_ALWAYS_AVAILABLE
}

/// Splits a user string into the name and whether it is namespaced; see the module docs.
pub(crate) fn classify(s: Cow<'_, OsStr>) -> (Cow<'_, OsStr>, bool) {
    let bytes = s.as_encoded_bytes();
    if bytes.first() == Some(&b'@') {
        let rest = match s {
            // SAFETY: the slice starts right after an ASCII byte of a valid encoded string,
            // so it is itself a valid encoded string (OsStr's documented split rule).
            Cow::Borrowed(b) => Cow::Borrowed(unsafe {
                OsStr::from_encoded_bytes_unchecked(&b.as_encoded_bytes()[1..])
            }),
            Cow::Owned(o) => {
                // SAFETY: as above.
                let rest =
                    unsafe { OsStr::from_encoded_bytes_unchecked(&o.as_encoded_bytes()[1..]) };
                Cow::Owned(rest.to_owned())
            }
        };
        return (rest, true);
    }
    if pipe_prefix_len(bytes).is_some() {
        return (s, true);
    }
    let namespaced = !looks_like_fs_path(bytes);
    (s, namespaced)
}

/// Whether a namespaced name is already a full pipe path (`\\<server>\pipe\…`), shown as
/// it is rather than with an `@`.
pub(crate) fn is_full_path(inner: &OsStr) -> bool {
    pipe_prefix_len(inner.as_encoded_bytes()).is_some()
}

fn is_sep(b: u8) -> bool {
    b == b'\\' || b == b'/'
}

/// If `s` starts with `\\<server>\pipe` followed by a separator or the end, the length of
/// that prefix including the separator (so `s[len..]` is the pipe's own name).
fn pipe_prefix_len(s: &[u8]) -> Option<usize> {
    if s.len() < 2 || !is_sep(s[0]) || !is_sep(s[1]) {
        return None;
    }
    let server_len = s[2..].iter().position(|&b| is_sep(b))?;
    if server_len == 0 {
        return None;
    }
    let after_server = 2 + server_len + 1;
    let rest = &s[after_server..];
    if rest.len() < 4 || !rest[..4].eq_ignore_ascii_case(b"pipe") {
        return None;
    }
    match rest.get(4) {
        None => Some(after_server + 4),
        Some(&b) if is_sep(b) => Some(after_server + 5),
        Some(_) => None,
    }
}

/// `C:…`, a leading slash or backslash (rooted paths, UNC shares, `\\?\` paths), `.\`, `..\`.
fn looks_like_fs_path(s: &[u8]) -> bool {
    match s {
        [l, b':', ..] if l.is_ascii_alphabetic() => true,
        [b, ..] if is_sep(*b) => true,
        [b'.', b, ..] if is_sep(*b) => true,
        [b'.', b'.', b, ..] if is_sep(*b) => true,
        [b'.'] | [b'.', b'.'] => true,
        _ => false,
    }
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
/// (paths give `Unsupported`), a pipe name that is not empty, at most
/// [`MAX_PIPE_PATH_LEN`] code units in all. Errors are `InvalidInput` naming the input.
pub(crate) fn pipe_path(name: &LocalSocketName<'_>) -> io::Result<Vec<u16>> {
    name.check_supported()?;
    pipe_path_of(name.inner(), &name.to_string())
}

/// [`pipe_path`] for a string already classified as namespaced; `shown` is how errors name it.
pub(crate) fn pipe_path_of(inner: &OsStr, shown: &str) -> io::Result<Vec<u16>> {
    let bytes = inner.as_encoded_bytes();
    let mut path: Vec<u16> = match pipe_prefix_len(bytes) {
        Some(prefix) => {
            if prefix == bytes.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("invalid pipe name \"{shown}\": the pipe's own name after the \\pipe\\ prefix is empty"),
                ));
            }
            inner.encode_wide().collect()
        }
        None => LOCAL_PREFIX
            .encode_utf16()
            .chain(inner.encode_wide())
            .collect(),
    };
    if path.len() > MAX_PIPE_PATH_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "pipe name \"{shown}\" is too long: the full pipe path is {} UTF-16 code units; Windows allows at most {MAX_PIPE_PATH_LEN}",
                path.len(),
            ),
        ));
    }
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

    fn cls(s: &str) -> (String, bool) {
        let (n, ns) = classify(Cow::Borrowed(OsStr::new(s)));
        (n.to_string_lossy().into_owned(), ns)
    }

    #[test]
    fn classify_rules() {
        assert_eq!(cls("@x"), ("x".into(), true));
        assert_eq!(cls("x"), ("x".into(), true));
        assert_eq!(cls(r"\\.\pipe\x"), (r"\\.\pipe\x".into(), true));
        assert_eq!(cls(r"\\.\PIPE\x"), (r"\\.\PIPE\x".into(), true));
        assert_eq!(cls(r"\\srv\pipe\x"), (r"\\srv\pipe\x".into(), true));
        assert_eq!(cls(r"//./pipe/x"), (r"//./pipe/x".into(), true));
        assert_eq!(cls(r"\\.\pipe\"), (r"\\.\pipe\".into(), true));
        assert_eq!(cls(r"C:\x"), (r"C:\x".into(), false));
        assert_eq!(cls("/tmp/x"), ("/tmp/x".into(), false));
        assert_eq!(cls(r"\\srv\share\x"), (r"\\srv\share\x".into(), false));
        assert_eq!(cls(r".\x"), (r".\x".into(), false));
        assert_eq!(cls(r"\\.\pipework"), (r"\\.\pipework".into(), false));
    }

    #[test]
    fn paths() {
        let p = pipe_path_of(OsStr::new("x"), "x").unwrap();
        assert_eq!(show_path(&p), r"\\.\pipe\x");
        let p = pipe_path_of(OsStr::new(r"\\.\pipe\y"), "y").unwrap();
        assert_eq!(show_path(&p), r"\\.\pipe\y");
        assert!(pipe_path_of(OsStr::new(r"\\.\pipe\"), "").is_err());
        assert!(pipe_path_of(OsStr::new(r"\\.\pipe"), "").is_err());
        let long = "a".repeat(MAX_PIPE_PATH_LEN - LOCAL_PREFIX.len());
        assert!(pipe_path_of(OsStr::new(&long), "").is_ok());
        let long = "a".repeat(MAX_PIPE_PATH_LEN - LOCAL_PREFIX.len() + 1);
        assert!(pipe_path_of(OsStr::new(&long), "").is_err());
    }
}
