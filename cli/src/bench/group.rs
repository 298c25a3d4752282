//! Groups of bench rows: the API (sync or tokio) and, for tokio, the runtime flavour. Each
//! group compares localipc with the raw primitive of the same kind.

use super::cases::Case;

/// One API and runtime, run as its own pair of subjects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Group {
    /// Blocking I/O: `localipc::local_socket` vs `std::os::unix::net` (Windows: Win32 pipes).
    Sync,
    /// `localipc::shm::ShmStream` (set up over a local socket) vs the same raw stream as in
    /// `Sync`: shared memory against the kernel's socket.
    Shm,
    /// `localipc::local_socket::tokio` vs tokio's own type, on a current-thread runtime.
    TokioCurrentThread,
    /// The same on a multi-thread runtime, the measured code running in a spawned task.
    TokioMultiThread,
    /// `localipc::local_socket::async_io` vs async-io's `Async<UnixStream>`, on
    /// `async_io::block_on`, no tokio (Unix).
    AsyncIo,
}

impl Group {
    /// All groups, in the order they run and are shown.
    pub(super) const ALL: [Self; 5] = [
        Self::Sync,
        Self::Shm,
        Self::TokioCurrentThread,
        Self::TokioMultiThread,
        Self::AsyncIo,
    ];

    /// The name used in the peer protocol and the progress line.
    pub(super) fn tag(self) -> &'static str {
        match self {
            Self::Sync => "sync",
            Self::Shm => "shm",
            Self::TokioCurrentThread => "tokio-ct",
            Self::TokioMultiThread => "tokio-mt",
            Self::AsyncIo => "async-io",
        }
    }

    /// The group called `tag`.
    pub(super) fn from_tag(tag: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|group| group.tag() == tag)
    }

    /// The name in the table's first column.
    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Sync => "sync",
            Self::Shm => "shm",
            Self::TokioCurrentThread => "tokio current-thread",
            Self::TokioMultiThread => "tokio multi-thread",
            Self::AsyncIo => "async-io",
        }
    }

    /// The cases this group runs.
    pub(super) fn cases(self) -> &'static [Case] {
        match self {
            // Connection setup is the socket's plus a handshake: not what shm is for.
            Self::Shm => &[Case::RoundTrip, Case::Throughput],
            _ => &Case::ALL,
        }
    }

    /// Whether this build can run the group (`localipc::shm` exists on this platform).
    pub(super) fn available(self) -> bool {
        match self {
            Self::Shm => super::subject::SHM_AVAILABLE,
            Self::AsyncIo => cfg!(unix),
            _ => true,
        }
    }
}

/// The groups to run, as chosen with `bench --group`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Selection {
    /// Blocking I/O only.
    Sync,
    /// Shared memory (`localipc::shm`) vs the raw socket.
    Shm,
    /// tokio only, on both runtime flavours.
    Tokio,
    /// async-io (smol's reactor) only, no tokio (Unix).
    AsyncIo,
    /// Every group.
    #[default]
    All,
}

impl Selection {
    /// The groups selected, in running order.
    pub(super) fn groups(self) -> Vec<Group> {
        Group::ALL
            .into_iter()
            .filter(|group| group.available())
            .filter(|group| match self {
                Self::Sync => *group == Group::Sync,
                Self::Shm => *group == Group::Shm,
                Self::Tokio => matches!(group, Group::TokioCurrentThread | Group::TokioMultiThread),
                Self::AsyncIo => *group == Group::AsyncIo,
                Self::All => true,
            })
            .collect()
    }
}
