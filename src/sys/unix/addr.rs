//! `LocalSocketName` → `sockaddr_un`.

use crate::local_socket::LocalSocketName;
use std::io;
use std::mem;
use std::os::unix::ffi::OsStrExt;

const SUN_PATH_LEN: usize = {
    // SAFETY: sockaddr_un is plain old data; the zeroed value is only used for its size.
    let a: libc::sockaddr_un = unsafe { mem::zeroed() };
    a.sun_path.len()
};

/// Longest path (without its terminating NUL) that fits in `sun_path`: 107 bytes on Linux,
/// 103 on macOS and the BSDs.
pub(crate) const MAX_PATH_LEN: usize = SUN_PATH_LEN - 1;

/// A `sockaddr_un` and its length, built from a checked name.
pub(crate) struct SockAddr {
    pub(crate) storage: libc::sockaddr_un,
    pub(crate) len: libc::socklen_t,
}

/// Where an address lives.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Space {
    /// A path in the file system (a socket file).
    FileSystem,
    /// Linux's abstract namespace (a namespaced name).
    Abstract,
}

impl SockAddr {
    /// Checks that the OS takes `name` (kind supported, length within `sun_path`) and builds
    /// the address: a NUL-terminated path, or on Linux a leading NUL then the abstract name.
    pub(crate) fn new(name: &LocalSocketName<'_>) -> io::Result<Self> {
        name.check_supported()?;
        let bytes = name.inner().as_bytes();
        if bytes.len() > MAX_PATH_LEN {
            let what = if name.is_namespaced() {
                "namespaced name"
            } else {
                "path"
            };
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "local socket {what} \"{name}\" is {} bytes long; the limit on {} is {MAX_PATH_LEN} bytes",
                    bytes.len(),
                    std::env::consts::OS
                ),
            ));
        }
        let space = if name.is_namespaced() {
            Space::Abstract
        } else {
            Space::FileSystem
        };
        Ok(Self::build(bytes, space))
    }

    /// The address of a file system path, or `None` if it does not fit in `sun_path`.
    pub(crate) fn for_path(bytes: &[u8]) -> Option<Self> {
        (bytes.len() <= MAX_PATH_LEN).then(|| Self::build(bytes, Space::FileSystem))
    }

    /// `bytes` (at most [`MAX_PATH_LEN`] long) as a NUL-terminated path, or (abstract)
    /// after a leading NUL as an abstract name.
    fn build(bytes: &[u8], space: Space) -> Self {
        // SAFETY: sockaddr_un is plain old data; all-zero is a valid (empty) value.
        let mut storage: libc::sockaddr_un = unsafe { mem::zeroed() };
        #[allow(clippy::cast_possible_truncation)] // AF_UNIX is 1
        let family = libc::AF_UNIX as libc::sa_family_t;
        storage.sun_family = family;
        // Abstract names start with a NUL byte and are not NUL-terminated.
        let offset = usize::from(space == Space::Abstract);
        for (dst, &src) in storage.sun_path[offset..].iter_mut().zip(bytes) {
            *dst = libc::c_char::from_ne_bytes([src]);
        }
        let path_offset = mem::offset_of!(libc::sockaddr_un, sun_path);
        let len = if space == Space::Abstract {
            path_offset + 1 + bytes.len()
        } else {
            path_offset + bytes.len() + 1
        };
        #[cfg(any(
            target_vendor = "apple",
            target_os = "freebsd",
            target_os = "openbsd",
            target_os = "netbsd",
            target_os = "dragonfly"
        ))]
        #[allow(clippy::cast_possible_truncation)] // len <= size_of::<sockaddr_un>() (106)
        {
            storage.sun_len = len as u8;
        }
        Self {
            storage,
            #[allow(clippy::cast_possible_truncation)] // len <= size_of::<sockaddr_un>()
            len: len as libc::socklen_t,
        }
    }

    pub(crate) fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const libc::sockaddr_un).cast()
    }
}
