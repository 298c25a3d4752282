//! Name rules on Unix: `@name` is namespaced, anything else is a path.

use crate::local_socket::{LocalSocketName, NameTypeSupport};
use std::borrow::Cow;
use std::ffi::{CStr, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixListener;

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

/// The name `sock` is bound to, as the OS reports it (`getsockname`, via std): its path, or
/// on Linux and Android its abstract name. A socket with no address (or whose address
/// cannot be read) gets an empty path.
pub(crate) fn bound_name(sock: &UnixListener) -> LocalSocketName<'static> {
    let Ok(addr) = sock.local_addr() else {
        return LocalSocketName::from_os(OsStr::new("").to_owned(), false);
    };
    if let Some(path) = addr.as_pathname() {
        // A socket this crate published was bound at a temporary path, which is all the
        // descriptor knows: the name it was published under cannot be told.
        if super::sockfile::is_private_bind_path(path) {
            return LocalSocketName::from_os(OsStr::new("").to_owned(), false);
        }
        return LocalSocketName::from_os(path.as_os_str().to_owned(), false);
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        #[cfg(target_os = "android")]
        use std::os::android::net::SocketAddrExt;
        #[cfg(target_os = "linux")]
        use std::os::linux::net::SocketAddrExt;
        if let Some(name) = addr.as_abstract_name() {
            return LocalSocketName::from_os(OsStr::from_bytes(name).to_owned(), true);
        }
    }
    LocalSocketName::from_os(OsStr::new("").to_owned(), false)
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
