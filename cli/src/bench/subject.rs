//! What a bench round measures: a way to bind, accept and connect ([`Subject`]), and the two
//! subjects compared.
//!
//! Both subjects run the very same measurement code (`cases.rs`, generic over [`Subject`]),
//! so the only difference measured is the library. The raw subject is `raw_unix.rs` or
//! `raw_windows.rs`; `dispatch.rs` picks one or the other.

use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
use std::io::{self, Read, Write};
use std::path::Path;

/// A way to make local socket connections.
pub(super) trait Subject {
    /// The listening side.
    type Listener;
    /// A connected stream.
    type Stream: Read + Write;
    /// Binds a listener at `endpoint` (see `workdir::endpoint`).
    fn bind(endpoint: &Path) -> io::Result<Self::Listener>;
    /// Waits for the next client.
    fn accept(listener: &Self::Listener) -> io::Result<Self::Stream>;
    /// Connects to the listener at `endpoint`.
    fn connect(endpoint: &Path) -> io::Result<Self::Stream>;
}

/// The subjects, as named on the command line of the peer and in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SubjectKind {
    /// This crate: [`LocalSocketListener`] and [`LocalSocketStream`].
    Localipc,
    /// The OS primitive used directly (Unix: `std::os::unix::net`; Windows: Win32 named
    /// pipes).
    Raw,
}

impl SubjectKind {
    /// Both subjects, localipc first.
    pub(super) const ALL: [Self; 2] = [Self::Localipc, Self::Raw];

    /// The short name.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Localipc => "localipc",
            Self::Raw => "raw",
        }
    }

    /// The position in [`Self::ALL`].
    pub(super) fn index(self) -> usize {
        match self {
            Self::Localipc => 0,
            Self::Raw => 1,
        }
    }

    /// The subject called `name`.
    pub(super) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The other subject.
    pub(super) fn other(self) -> Self {
        match self {
            Self::Localipc => Self::Raw,
            Self::Raw => Self::Localipc,
        }
    }
}

/// This crate's portable local sockets, used as an application would.
#[derive(Debug)]
pub(super) struct Localipc;

impl Subject for Localipc {
    type Listener = LocalSocketListener;
    type Stream = LocalSocketStream;

    fn bind(endpoint: &Path) -> io::Result<LocalSocketListener> {
        LocalSocketListener::bind(name(endpoint))
    }

    fn accept(listener: &LocalSocketListener) -> io::Result<LocalSocketStream> {
        listener.accept()
    }

    fn connect(endpoint: &Path) -> io::Result<LocalSocketStream> {
        LocalSocketStream::connect(name(endpoint))
    }
}

/// Whether `localipc::shm` (and so [`Shm`]) exists on this platform.
pub(super) const SHM_AVAILABLE: bool = cfg!(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_vendor = "apple",
    windows
));

/// This crate's shared-memory stream, set up as an application would: a local socket
/// connection, then `ShmStream::create` on the connecting side and `join` on the accepting
/// one, with the default options.
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_vendor = "apple",
    windows
))]
#[derive(Debug)]
pub(super) struct Shm;

#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_vendor = "apple",
    windows
))]
impl Subject for Shm {
    type Listener = LocalSocketListener;
    type Stream = localipc::shm::ShmStream;

    fn bind(endpoint: &Path) -> io::Result<LocalSocketListener> {
        LocalSocketListener::bind(name(endpoint))
    }

    fn accept(listener: &LocalSocketListener) -> io::Result<localipc::shm::ShmStream> {
        localipc::shm::ShmStream::join(listener.accept()?)
    }

    fn connect(endpoint: &Path) -> io::Result<localipc::shm::ShmStream> {
        let conn = LocalSocketStream::connect(name(endpoint))?;
        localipc::shm::ShmStream::create(conn, &localipc::shm::ShmOptions::new())
    }
}

/// The local socket name for `endpoint`: a socket file path on Unix.
#[cfg(unix)]
pub(super) fn name(endpoint: &Path) -> &Path {
    endpoint
}

/// The local socket name for `endpoint`: a full pipe path (`\\.\pipe\…`) on Windows, which
/// a string names verbatim.
#[cfg(windows)]
pub(super) fn name(endpoint: &Path) -> &std::ffi::OsStr {
    endpoint.as_os_str()
}
