//! What one bench run does: its options, resolved into a [`Config`], and what it measured,
//! a [`CaseResult`] per case of each group, together the [`Outcome`] that is reported.

use super::cases::{Case, Work};
use super::group::{Group, Selection};
use std::path::PathBuf;
use std::time::Duration;

/// Options of `localipc bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Small counts, so that the whole run takes under 5 s (explicit options still apply).
    #[arg(long)]
    quick: bool,
    /// Which groups to run: the sync API, the tokio API (current-thread and multi-thread
    /// runtimes), or all.
    #[arg(long, value_enum, default_value_t = Selection::All)]
    group: Selection,
    /// Measured rounds per case, each running both subjects [default: 21; --quick: 9].
    #[arg(long, value_name = "N", value_parser = crate::parse::count)]
    rounds: Option<usize>,
    /// Timed round trips per round [default: 10000; --quick: 1000].
    #[arg(long, value_name = "N", value_parser = crate::parse::count)]
    iters: Option<usize>,
    /// Bytes per round-trip message, each way.
    #[arg(long, value_name = "BYTES", value_parser = crate::parse::buf_size, default_value = "64")]
    msg_size: usize,
    /// Bytes per write in the throughput case.
    #[arg(long, value_name = "BYTES", value_parser = crate::parse::buf_size, default_value = "64K")]
    chunk: usize,
    /// Bytes sent per throughput round, e.g. 256M [default: 128M; --quick: 16M].
    #[arg(long, value_name = "N", value_parser = crate::parse::size)]
    bytes: Option<u64>,
    /// Connections per round [default: 1000; --quick: 200].
    #[arg(long, value_name = "N", value_parser = crate::parse::count)]
    conns: Option<usize>,
    /// Run both processes on CPU N [default: the highest CPU available] (Linux).
    #[arg(long, value_name = "N", conflicts_with = "no_pin")]
    cpu: Option<usize>,
    /// Let the scheduler place the two processes (noisier: cross-CPU wake-ups dominate).
    #[arg(long)]
    no_pin: bool,
    /// Pin the two processes to two different CPUs (Linux: this one on the highest, the peer
    /// on the lowest): the placement where spinning on shared memory pays off.
    #[arg(long, conflicts_with_all = ["no_pin", "cpu"])]
    split: bool,
    /// Print one JSON document on stdout instead of the report: the same figures, with
    /// units and every round's values (for machines; -v adds nothing to it).
    #[arg(long)]
    pub json: bool,
}

/// What one run does, options and defaults resolved.
#[derive(Debug)]
pub(super) struct Config {
    /// The groups to run, in order.
    pub groups: Vec<Group>,
    /// Measured rounds per case.
    pub rounds: usize,
    /// One round's work for each case, in [`Case::ALL`] order.
    pub works: [Work; 3],
    /// Whether to pin both processes to one CPU.
    pub pin: bool,
    /// The CPU to pin to, if chosen by the user.
    pub cpu: Option<usize>,
    /// Whether to pin the two processes to two different CPUs instead.
    pub split: bool,
}

impl Config {
    /// Resolves `args` against the full or `--quick` defaults.
    pub(super) fn new(args: &Args) -> Self {
        let pick = |given: Option<usize>, full: usize, quick: usize| {
            given.unwrap_or(if args.quick { quick } else { full })
        };
        let iters = pick(args.iters, 10_000, 1_000);
        let bytes = args
            .bytes
            .unwrap_or(if args.quick { 16 << 20 } else { 128 << 20 });
        Self {
            groups: args.group.groups(),
            rounds: pick(args.rounds, 21, 9),
            works: [
                Work::RoundTrip {
                    msg_size: args.msg_size,
                    iters,
                    warmup: (iters / 10).clamp(1, 1_000),
                },
                Work::Throughput {
                    chunk: args.chunk,
                    bytes,
                },
                Work::Connections {
                    count: pick(args.conns, 1_000, 200),
                },
            ],
            pin: !args.no_pin && !args.split,
            cpu: args.cpu,
            split: args.split,
        }
    }

    /// One round's work for `case`.
    pub(super) fn work(&self, case: Case) -> Work {
        let index = Case::ALL.iter().position(|c| *c == case).unwrap_or(0);
        self.works[index]
    }

    /// The (group, work) pairs of the run, in order.
    pub(super) fn plan(&self) -> Vec<(Group, Work)> {
        let pairs = self
            .groups
            .iter()
            .flat_map(|&group| group.cases().iter().map(move |&case| (group, case)));
        pairs
            .map(|(group, case)| (group, self.work(case)))
            .collect()
    }
}

/// The per-round metric values of one case of one group: `[subject][round][metric]`,
/// subjects in [`SubjectKind::ALL`](super::subject::SubjectKind::ALL) order.
#[derive(Debug)]
pub(super) struct CaseResult {
    /// The group the case ran in.
    pub group: Group,
    /// The work of each round.
    pub work: Work,
    /// Values by subject, then round, then metric.
    pub values: [Vec<Vec<f64>>; 2],
}

/// A finished run, as the report and the JSON document show it.
#[derive(Debug)]
pub(super) struct Outcome<'a> {
    /// What it did.
    pub config: &'a Config,
    /// What it measured, case by case.
    pub results: Vec<CaseResult>,
    /// The CPU both processes ran on, if pinned (with `--split`: this process's CPU).
    pub cpu: Option<usize>,
    /// With `--split`: the peer's CPU.
    pub peer_cpu: Option<usize>,
    /// Where the endpoints were, as a pattern (`…/*.sock`).
    pub endpoints: PathBuf,
    /// How long it took.
    pub elapsed: Duration,
}
