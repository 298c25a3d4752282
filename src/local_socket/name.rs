//! Local socket names: [`LocalSocketName`], [`ToLocalSocketName`] and [`NameTypeSupport`].
//!
//! The rules for turning a string into a name live here and in `sys::name` (the part that
//! differs per OS), and nowhere else: the sync API, the async API and the CLI all go through
//! [`ToLocalSocketName`].

use crate::sys;
use std::borrow::Cow;
use std::ffi::{CStr, CString, OsStr, OsString};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The name of a local socket: either a filesystem path or a name in a namespace that is
/// separate from the filesystem.
///
/// | platform | namespaced name | path |
/// |---|---|---|
/// | Linux, Android | abstract-namespace Unix socket | Unix socket file |
/// | macOS, BSDs, other Unix | *unsupported* | Unix socket file |
/// | Windows | named pipe `\\.\pipe\<name>` | *unsupported* |
///
/// Build one with [`ToLocalSocketName`]: a string starting with `@` is namespaced (the `@` is
/// not part of the name), `Path` and `PathBuf` are always paths.
///
/// ```
/// use localipc::local_socket::ToLocalSocketName;
///
/// let ns = "@my-daemon".to_local_socket_name()?;
/// assert!(ns.is_namespaced());
/// assert_eq!(ns.inner(), "my-daemon");
/// assert_eq!(ns.to_string(), "@my-daemon");
///
/// let path = std::path::Path::new("/run/my-daemon.sock").to_local_socket_name()?;
/// assert!(path.is_path());
/// # std::io::Result::Ok(())
/// ```
///
/// Namespaced names on Linux are reachable by any local process that can name them, whatever
/// its user: they have no file permissions. Check the peer with
/// [`LocalSocketStream::peer_creds`](super::LocalSocketStream::peer_creds) where that matters,
/// or use a path in a directory with the permissions you need.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LocalSocketName<'a> {
    inner: Cow<'a, OsStr>,
    namespaced: bool,
}

impl<'a> LocalSocketName<'a> {
    /// Makes a name from its parts, checking it: the name must not be empty and must not
    /// contain a NUL byte (`ErrorKind::InvalidInput` otherwise, naming the input).
    ///
    /// No `@` is stripped here: `inner` is the name as the OS will see it.
    ///
    /// ```
    /// use localipc::local_socket::LocalSocketName;
    /// use std::ffi::OsStr;
    ///
    /// let ns = LocalSocketName::new(OsStr::new("my-daemon"), true)?;
    /// assert_eq!(ns.to_string(), "@my-daemon");
    /// let path = LocalSocketName::new(OsStr::new("/run/my-daemon.sock"), false)?;
    /// assert!(path.is_path());
    ///
    /// let err = LocalSocketName::new(OsStr::new("a\0b"), true).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn new(inner: impl Into<Cow<'a, OsStr>>, namespaced: bool) -> io::Result<Self> {
        let name = Self {
            inner: inner.into(),
            namespaced,
        };
        name.validate()?;
        Ok(name)
    }

    /// A name as the OS reported it (a bound socket's address), taken as it is, unchecked.
    #[cfg(unix)]
    pub(crate) fn from_os(inner: std::ffi::OsString, namespaced: bool) -> LocalSocketName<'static> {
        LocalSocketName {
            inner: Cow::Owned(inner),
            namespaced,
        }
    }

    fn validate(&self) -> io::Result<()> {
        let bytes = self.inner.as_encoded_bytes();
        if bytes.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid local socket name \"{self}\": the name is empty"),
            ));
        }
        if let Some(at) = bytes.iter().position(|&b| b == 0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "invalid local socket name {:?}: it contains a NUL byte at offset {at}",
                    self.to_string()
                ),
            ));
        }
        Ok(())
    }

    /// Whether this is a namespaced name (not a filesystem path). A `const fn`, as in
    /// `interprocess` 1.x.
    pub const fn is_namespaced(&self) -> bool {
        self.namespaced
    }

    /// Whether this is a filesystem path. A `const fn`, as in `interprocess` 1.x.
    pub const fn is_path(&self) -> bool {
        !self.namespaced
    }

    /// The name as the OS sees it (for a namespaced name, without the `@`).
    pub fn inner(&self) -> &OsStr {
        &self.inner
    }

    /// The name as the OS sees it, as an owned string.
    pub fn into_inner(self) -> OsString {
        self.inner.into_owned()
    }

    /// The name as the OS sees it, as the [`Cow`] it is kept in (borrowed where it was
    /// borrowed).
    ///
    /// ```
    /// use localipc::local_socket::ToLocalSocketName;
    /// use std::borrow::Cow;
    ///
    /// let name = "@my-daemon".to_local_socket_name()?;
    /// assert!(matches!(name.inner_cow(), Cow::Borrowed(s) if *s == "my-daemon"));
    /// # std::io::Result::Ok(())
    /// ```
    pub const fn inner_cow(&self) -> &Cow<'a, OsStr> {
        &self.inner
    }

    /// The name as the OS sees it, borrowed where it was borrowed.
    pub fn into_inner_cow(self) -> Cow<'a, OsStr> {
        self.inner
    }

    /// A copy that owns its data.
    pub fn into_owned(self) -> LocalSocketName<'static> {
        LocalSocketName {
            inner: Cow::Owned(self.inner.into_owned()),
            namespaced: self.namespaced,
        }
    }

    /// A copy that borrows from `self`.
    pub fn borrow(&self) -> LocalSocketName<'_> {
        LocalSocketName {
            inner: Cow::Borrowed(&self.inner),
            namespaced: self.namespaced,
        }
    }

    /// Whether this kind of name can be used on this system ([`NameTypeSupport::query`]).
    pub fn is_supported(&self) -> bool {
        self.is_supported_in_nts_type(NameTypeSupport::query())
    }

    /// Whether this kind of name can be used on every system of this OS family
    /// ([`NameTypeSupport::ALWAYS_AVAILABLE`]). A `const fn`, as in `interprocess` 1.x.
    pub const fn is_always_supported(&self) -> bool {
        self.is_supported_in_nts_type(NameTypeSupport::ALWAYS_AVAILABLE)
    }

    /// Whether this kind of name is one that `support` includes (the name `interprocess` 1.x
    /// gave this check).
    ///
    /// ```
    /// use localipc::local_socket::{NameTypeSupport, ToLocalSocketName};
    ///
    /// let name = "@my-daemon".to_local_socket_name()?;
    /// assert!(name.is_supported_in_nts_type(NameTypeSupport::Both));
    /// assert!(!name.is_supported_in_nts_type(NameTypeSupport::OnlyPaths));
    /// # std::io::Result::Ok(())
    /// ```
    pub const fn is_supported_in_nts_type(&self, support: NameTypeSupport) -> bool {
        if self.namespaced {
            support.namespace_supported()
        } else {
            support.paths_supported()
        }
    }

    /// `Ok(())` if this kind of name is supported here, else `ErrorKind::Unsupported` with a
    /// message that names the input and says what the platform takes instead.
    pub(crate) fn check_supported(&self) -> io::Result<()> {
        self.check_supported_by(NameTypeSupport::query())
    }

    fn check_supported_by(&self, support: NameTypeSupport) -> io::Result<()> {
        if self.is_supported_in_nts_type(support) {
            return Ok(());
        }
        let (what, instead) = if self.namespaced {
            ("namespaced names", "use a filesystem path")
        } else {
            ("filesystem paths", "use a namespaced name like \"@name\"")
        };
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "local socket name \"{self}\": {what} are not supported on {}; {instead}",
                std::env::consts::OS
            ),
        ))
    }
}

impl fmt::Display for LocalSocketName<'_> {
    /// Shows a namespaced name with its `@`, a path as a path (lossily if not UTF-8). A full
    /// Windows pipe path (`\\.\pipe\name`) is shown as given, without the `@`. Either way,
    /// converting the text back gives the same name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespaced && !sys::name::is_full_path(&self.inner) {
            f.write_str("@")?;
        }
        write!(f, "{}", self.inner.to_string_lossy())
    }
}

/// Types that can be turned into a [`LocalSocketName`].
///
/// For strings (`&str`, `String`, `&OsStr`, `OsString`, `&CStr`, `CString`): a leading `@`
/// makes the name namespaced (the `@` is stripped). Without it, on Unix the string is a path;
/// on Windows it is namespaced too (a pipe name), unless it is a full pipe path
/// (`\\.\pipe\…`, used verbatim) or looks like a filesystem path (`C:\…`, `/…`), which is
/// a path and so unsupported there. `&Path` and `PathBuf` are always paths.
///
/// The conversion fails with `ErrorKind::InvalidInput` for an empty name or one containing a
/// NUL byte, with a message naming the input.
pub trait ToLocalSocketName<'a> {
    /// Performs the conversion.
    ///
    /// ```
    /// use localipc::local_socket::ToLocalSocketName;
    /// use std::path::PathBuf;
    ///
    /// let ns = "@my-daemon".to_local_socket_name()?; // &str, String, OsStr, CStr...
    /// assert!(ns.is_namespaced());
    /// let owned = String::from("@my-daemon").to_local_socket_name()?; // 'static
    /// assert_eq!(owned, ns);
    /// let path = PathBuf::from("/run/my-daemon.sock").to_local_socket_name()?; // always a path
    /// assert!(path.is_path());
    /// #[cfg(windows)] // a bare name is a pipe name there
    /// assert!("my-daemon".to_local_socket_name()?.is_namespaced());
    /// #[cfg(unix)] // and a (relative) path on Unix
    /// assert!("my-daemon".to_local_socket_name()?.is_path());
    ///
    /// assert_eq!("".to_local_socket_name().unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    /// # std::io::Result::Ok(())
    /// ```
    fn to_local_socket_name(self) -> io::Result<LocalSocketName<'a>>;
}

impl<'a> ToLocalSocketName<'a> for LocalSocketName<'a> {
    fn to_local_socket_name(self) -> io::Result<LocalSocketName<'a>> {
        Ok(self)
    }
}

impl<'a> ToLocalSocketName<'a> for &'a LocalSocketName<'_> {
    fn to_local_socket_name(self) -> io::Result<LocalSocketName<'a>> {
        Ok(self.borrow())
    }
}

fn from_cow(s: Cow<'_, OsStr>) -> io::Result<LocalSocketName<'_>> {
    let (inner, namespaced) = sys::name::classify(s);
    LocalSocketName::new(inner, namespaced)
}

impl<'a> ToLocalSocketName<'a> for &'a OsStr {
    fn to_local_socket_name(self) -> io::Result<LocalSocketName<'a>> {
        from_cow(Cow::Borrowed(self))
    }
}

impl ToLocalSocketName<'static> for OsString {
    fn to_local_socket_name(self) -> io::Result<LocalSocketName<'static>> {
        from_cow(Cow::Owned(self)).map(LocalSocketName::into_owned)
    }
}

impl<'a> ToLocalSocketName<'a> for &'a str {
    fn to_local_socket_name(self) -> io::Result<LocalSocketName<'a>> {
        OsStr::new(self).to_local_socket_name()
    }
}

impl ToLocalSocketName<'static> for String {
    fn to_local_socket_name(self) -> io::Result<LocalSocketName<'static>> {
        OsString::from(self).to_local_socket_name()
    }
}

impl<'a> ToLocalSocketName<'a> for &'a String {
    fn to_local_socket_name(self) -> io::Result<LocalSocketName<'a>> {
        self.as_str().to_local_socket_name()
    }
}

impl<'a> ToLocalSocketName<'a> for &'a Path {
    fn to_local_socket_name(self) -> io::Result<LocalSocketName<'a>> {
        LocalSocketName::new(self.as_os_str(), false)
    }
}

impl ToLocalSocketName<'static> for PathBuf {
    fn to_local_socket_name(self) -> io::Result<LocalSocketName<'static>> {
        LocalSocketName::new(self.into_os_string(), false)
    }
}

/// The same as for `&Path`, so that `&path_buf` works where a name is taken.
impl<'a> ToLocalSocketName<'a> for &'a PathBuf {
    fn to_local_socket_name(self) -> io::Result<LocalSocketName<'a>> {
        self.as_path().to_local_socket_name()
    }
}

/// The same as for `&OsStr`, so that `&os_string` works where a name is taken.
impl<'a> ToLocalSocketName<'a> for &'a OsString {
    fn to_local_socket_name(self) -> io::Result<LocalSocketName<'a>> {
        self.as_os_str().to_local_socket_name()
    }
}

impl<'a> ToLocalSocketName<'a> for &'a CStr {
    fn to_local_socket_name(self) -> io::Result<LocalSocketName<'a>> {
        sys::name::cstr_to_os_str(self)?.to_local_socket_name()
    }
}

impl ToLocalSocketName<'static> for CString {
    fn to_local_socket_name(self) -> io::Result<LocalSocketName<'static>> {
        self.as_c_str()
            .to_local_socket_name()
            .map(LocalSocketName::into_owned)
    }
}

/// Which kinds of [`LocalSocketName`] a platform takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NameTypeSupport {
    /// Only filesystem paths (macOS, the BSDs, other Unix).
    OnlyPaths,
    /// Only namespaced names (Windows named pipes).
    OnlyNamespaced,
    /// Both (Linux and Android: the abstract namespace and socket files).
    Both,
}

impl NameTypeSupport {
    /// What every system of this OS family supports, known at compile time.
    pub const ALWAYS_AVAILABLE: Self = sys::name::NAME_TYPE_ALWAYS_AVAILABLE;

    /// What this system supports. Makes no system call: on every supported OS the answer
    /// follows from the OS family.
    ///
    /// ```
    /// use localipc::local_socket::NameTypeSupport;
    ///
    /// let support = NameTypeSupport::query();
    /// if cfg!(windows) {
    ///     assert_eq!(support, NameTypeSupport::OnlyNamespaced);
    /// } else if cfg!(any(target_os = "linux", target_os = "android")) {
    ///     assert_eq!(support, NameTypeSupport::Both);
    /// } else {
    ///     assert_eq!(support, NameTypeSupport::OnlyPaths);
    /// }
    /// ```
    pub fn query() -> Self {
        sys::name::name_type_support()
    }

    /// Whether filesystem paths are supported.
    pub const fn paths_supported(self) -> bool {
        matches!(self, Self::OnlyPaths | Self::Both)
    }

    /// Whether namespaced names are supported.
    pub const fn namespace_supported(self) -> bool {
        matches!(self, Self::OnlyNamespaced | Self::Both)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The "unsupported kind of name" error, for both kinds, whatever this platform supports.
    #[test]
    fn unsupported_kind_names_the_input() {
        let ns = LocalSocketName::new(OsStr::new("svc"), true).unwrap();
        let err = ns
            .check_supported_by(NameTypeSupport::OnlyPaths)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        assert!(err.to_string().contains("\"@svc\""), "{err}");
        assert!(
            err.to_string()
                .contains("namespaced names are not supported"),
            "{err}"
        );

        let path = LocalSocketName::new(OsStr::new("/run/x.sock"), false).unwrap();
        let err = path
            .check_supported_by(NameTypeSupport::OnlyNamespaced)
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        assert!(err.to_string().contains("\"/run/x.sock\""), "{err}");

        assert!(ns.check_supported_by(NameTypeSupport::Both).is_ok());
        assert!(path.check_supported_by(NameTypeSupport::OnlyPaths).is_ok());
    }
}
