//! `localipc bench`: localipc against the raw OS primitive, side by side in one run, in
//! groups: the sync API against `std`'s sockets, and the tokio API against tokio's own type on
//! a current-thread and on a multi-thread runtime (`group.rs`).
//!
//! The method, meant to make a few-percent difference visible on a noisy machine:
//! - a second process (this executable, `bench-peer`) serves; this one connects and times;
//! - both processes share one CPU (Linux; see `affinity.rs`), unless `--no-pin`;
//! - both subjects of a group run the same generic code (`cases.rs`; async: `async_cases.rs`,
//!   with the same tokio runtime flavour in both processes) on the same kind of endpoint
//!   (Unix: a socket file in a fresh private directory; Windows: a pipe name unique to the
//!   run), so only the library differs;
//! - per case, a warm-up round of each subject, then rounds in which the two subjects run
//!   back to back, alternating which goes first (A B, B A, …) so that drift hits both;
//! - each metric's ratio is the median over rounds of the per-round ratio; many short rounds
//!   rather than a few long ones, so that a burst of load from other processes spoils a few
//!   pairs, which the median then ignores.

mod affinity;
mod async_cases;
mod async_subject;
mod cases;
mod dispatch;
mod group;
mod job;
pub mod peer;
mod process;
mod progress;
#[cfg(unix)]
mod raw_tokio_unix;
#[cfg(windows)]
mod raw_tokio_windows;
#[cfg(unix)]
mod raw_unix;
#[cfg(windows)]
mod raw_windows;
mod report;
mod runtime;
mod stats;
mod subject;
pub mod table;
mod workdir;

use cases::{Case, Work};
use group::{Group, Selection};
use process::PeerProcess;
use progress::Progress;
use runtime::Runtimes;
use std::io;
use std::path::Path;
use std::time::Instant;
use subject::SubjectKind;

/// Options of `localipc bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
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
}

/// What one run does, options and defaults resolved.
#[derive(Debug)]
pub struct Config {
    /// The groups to run, in order.
    groups: Vec<Group>,
    /// Measured rounds per case.
    rounds: usize,
    /// One round's work for each case, in [`Case::ALL`] order.
    works: [Work; 3],
    /// Whether to pin both processes to one CPU.
    pin: bool,
    /// The CPU to pin to, if chosen by the user.
    cpu: Option<usize>,
}

impl Config {
    /// Resolves `args` against the full or `--quick` defaults.
    fn new(args: &Args) -> Self {
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
            pin: !args.no_pin,
            cpu: args.cpu,
        }
    }

    /// One round's work for `case`.
    fn work(&self, case: Case) -> Work {
        let index = Case::ALL.iter().position(|c| *c == case).unwrap_or(0);
        self.works[index]
    }

    /// The (group, work) pairs of the run, in order.
    fn plan(&self) -> Vec<(Group, Work)> {
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
/// subjects in [`SubjectKind::ALL`] order.
#[derive(Debug)]
pub struct CaseResult {
    /// The group the case ran in.
    group: Group,
    /// The work of each round.
    work: Work,
    /// Values by subject, then round, then metric.
    values: [Vec<Vec<f64>>; 2],
}

/// Runs the bench and prints the report (with `verbose`, also every round's values).
pub fn run(args: Args, verbose: bool) -> io::Result<()> {
    let config = Config::new(&args);
    let started = Instant::now();
    // Before any thread or process is started, so that all of them inherit it.
    let cpu = if config.pin {
        affinity::pin(config.cpu)
            .map_err(|e| io::Error::new(e.kind(), format!("pinning the bench to one CPU: {e}")))?
    } else {
        None
    };
    let dir = workdir::WorkDir::create()?;
    let mut peer = PeerProcess::spawn(dir.path())?;
    let results = measure_all(&mut peer, dir.path(), &config)?;
    peer.finish()?;
    let endpoint_example = workdir::endpoint(dir.path(), "*.sock");
    drop(dir);
    report::print(&config, &results, cpu, &endpoint_example, started.elapsed())?;
    if verbose {
        report::print_rounds(&results)?;
    }
    Ok(())
}

/// Runs every case: a warm-up round of each subject, then `rounds` measured rounds with the
/// subjects back to back, alternating which goes first.
fn measure_all(peer: &mut PeerProcess, dir: &Path, config: &Config) -> io::Result<Vec<CaseResult>> {
    let plan = config.plan();
    let mut progress = Progress::new(plan.len() * (config.rounds + 1) * 2);
    let mut runtimes = Runtimes::default();
    let mut seq = 0;
    let mut results = Vec::new();
    for (group, work) in plan {
        let mut values: [Vec<Vec<f64>>; 2] = Default::default();
        for round in 0..=config.rounds {
            let first = if round % 2 == 0 {
                SubjectKind::Localipc
            } else {
                SubjectKind::Raw
            };
            for kind in [first, first.other()] {
                let what = match round {
                    0 => "warm-up".to_owned(),
                    r => format!("round {r}/{}", config.rounds),
                };
                let (group_tag, case_tag) = (group.tag(), work.case().tag());
                progress.step(&format!("{group_tag} {case_tag} {} {what}", kind.name()));
                seq += 1;
                let job = job::Job {
                    group,
                    subject: kind,
                    // The same length for both subjects: path lookups cost alike.
                    file: format!("{seq:06}.sock"),
                    work,
                };
                let measured = run_round(peer, &mut runtimes, dir, &job)?;
                if round > 0 {
                    values[kind.index()].push(measured);
                }
            }
        }
        results.push(CaseResult {
            group,
            work,
            values,
        });
    }
    progress.clear();
    Ok(results)
}

/// One round of `job`, at a fresh endpoint.
fn run_round(
    peer: &mut PeerProcess,
    runtimes: &mut Runtimes,
    dir: &Path,
    job: &job::Job,
) -> io::Result<Vec<f64>> {
    let endpoint = workdir::endpoint(dir, &job.file);
    peer.round(job, job.work.deadline(), |done| {
        dispatch::measure(runtimes, job, &endpoint, done)
    })
}
