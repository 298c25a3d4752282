//! Groups of bench rows: the API (sync or tokio) and, for tokio, the runtime flavour. Each
//! group compares localipc with the raw primitive of the same kind.

use super::cases::Case;

/// One API and runtime, run as its own pair of subjects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Group {
    /// Blocking I/O: `localipc::local_socket` vs `std::os::unix::net` (Windows: Win32 pipes).
    Sync,
    /// `localipc::local_socket::tokio` vs tokio's own type, on a current-thread runtime.
    TokioCurrentThread,
    /// The same on a multi-thread runtime, the measured code running in a spawned task.
    TokioMultiThread,
}

impl Group {
    /// All groups, in the order they run and are shown.
    pub(super) const ALL: [Self; 3] =
        [Self::Sync, Self::TokioCurrentThread, Self::TokioMultiThread];

    /// The name used in the peer protocol and the progress line.
    pub(super) fn tag(self) -> &'static str {
        match self {
            Self::Sync => "sync",
            Self::TokioCurrentThread => "tokio-ct",
            Self::TokioMultiThread => "tokio-mt",
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
            Self::TokioCurrentThread => "tokio current-thread",
            Self::TokioMultiThread => "tokio multi-thread",
        }
    }

    /// The cases this group runs.
    pub(super) fn cases(self) -> &'static [Case] {
        &Case::ALL
    }
}

/// The groups to run, as chosen with `bench --group`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Selection {
    /// Blocking I/O only.
    Sync,
    /// tokio only, on both runtime flavours.
    Tokio,
    /// Every group.
    #[default]
    All,
}

impl Selection {
    /// The groups selected, in running order.
    pub(super) fn groups(self) -> Vec<Group> {
        Group::ALL
            .into_iter()
            .filter(|group| match self {
                Self::Sync => *group == Group::Sync,
                Self::Tokio => *group != Group::Sync,
                Self::All => true,
            })
            .collect()
    }
}
