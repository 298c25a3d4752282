//! Name rules on Unix: `@name` is namespaced, anything else is a path.

use crate::local_socket::NameTypeSupport;
use std::borrow::Cow;
use std::ffi::{CStr, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;

/// Splits off a leading `@`: `@name` is namespaced, everything else is a path.
pub(crate) fn classify(s: Cow<'_, OsStr>) -> (Cow<'_, OsStr>, bool) {
    match s.as_bytes().first() {
        Some(b'@') => {
            let rest = match s {
                Cow::Borrowed(b) => Cow::Borrowed(OsStr::from_bytes(&b.as_bytes()[1..])),
                Cow::Owned(o) => Cow::Owned(OsStr::from_bytes(&o.as_bytes()[1..]).to_owned()),
            };
            (rest, true)
        }
        _ => (s, false),
    }
}

/// On Unix any byte string is an `OsStr`.
/// Whether a namespaced name is shown without its `@`: never on Unix.
pub(crate) fn is_full_path(_inner: &OsStr) -> bool {
    false
}

pub(crate) fn cstr_to_os_str(s: &CStr) -> io::Result<&OsStr> {
    Ok(OsStr::from_bytes(s.to_bytes()))
}

#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const NAME_TYPE_ALWAYS_AVAILABLE: NameTypeSupport = NameTypeSupport::Both;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) const NAME_TYPE_ALWAYS_AVAILABLE: NameTypeSupport = NameTypeSupport::OnlyPaths;

/// Same as [`NAME_TYPE_ALWAYS_AVAILABLE`]: every Linux since 2.2 has the abstract namespace.
pub(crate) fn name_type_support() -> NameTypeSupport {
    NAME_TYPE_ALWAYS_AVAILABLE
}

/// Limits worth knowing on this platform, for `localipc probe`.
pub(crate) fn limits() -> Vec<(&'static str, String)> {
    vec![
        (
            "max path length",
            format!("{} bytes", super::addr::MAX_PATH_LEN),
        ),
        (
            "max namespaced name length",
            if NAME_TYPE_ALWAYS_AVAILABLE.namespace_supported() {
                format!("{} bytes", super::addr::MAX_PATH_LEN)
            } else {
                "n/a".into()
            },
        ),
        ("listen backlog", libc::SOMAXCONN.to_string()),
    ]
}
