//! `localipc bench`: localipc against the raw OS primitive, side by side in one run.
//!
//! The method, meant to make a few-percent difference visible on a noisy machine:
//! - a second process (this executable, `bench-peer`) serves; this one connects and times;
//! - both processes share one CPU (Linux; see `affinity.rs`), unless `--no-pin`;
//! - both subjects run the same generic code (`cases.rs`) on the same kind of endpoint
//!   (Unix: a socket file in a fresh private directory; Windows: a pipe name unique to the
//!   run), so only the library differs;
//! - per case, a warm-up round of each subject, then rounds in which the two subjects run
//!   back to back, alternating which goes first (A B, B A, …) so that drift hits both;
//! - each metric's ratio is the median over rounds of the per-round ratio; many short rounds
//!   rather than a few long ones, so that a burst of load from other processes spoils a few
//!   pairs, which the median then ignores.

mod affinity;
mod cases;
pub mod peer;
mod process;
mod progress;
#[cfg(unix)]
mod raw_unix;
#[cfg(windows)]
mod raw_windows;
mod report;
mod stats;
mod subject;
mod table;
mod workdir;

use cases::{Case, Work};
use process::PeerProcess;
use progress::Progress;
use std::io;
use std::path::Path;
use std::time::Instant;
use subject::{Localipc, Raw, SubjectKind};

/// Options of `localipc bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Small counts, so that the whole run takes under 5 s (explicit options still apply).
    #[arg(long)]
    quick: bool,
    /// Measured rounds per case, each running both subjects [default: 21; --quick: 11].
    #[arg(long, value_name = "N", value_parser = crate::parse::count)]
    rounds: Option<usize>,
    /// Timed round trips per round [default: 10000; --quick: 2000].
    #[arg(long, value_name = "N", value_parser = crate::parse::count)]
    iters: Option<usize>,
    /// Bytes per round-trip message, each way.
    #[arg(long, value_name = "BYTES", value_parser = crate::parse::buf_size, default_value = "64")]
    msg_size: usize,
    /// Bytes per write in the throughput case.
    #[arg(long, value_name = "BYTES", value_parser = crate::parse::buf_size, default_value = "64K")]
    chunk: usize,
    /// Bytes sent per throughput round, e.g. 256M [default: 128M; --quick: 32M].
    #[arg(long, value_name = "N", value_parser = crate::parse::size)]
    bytes: Option<u64>,
    /// Connections per round [default: 1000; --quick: 500].
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
        let iters = pick(args.iters, 10_000, 2_000);
        let bytes = args
            .bytes
            .unwrap_or(if args.quick { 32 << 20 } else { 128 << 20 });
        Self {
            rounds: pick(args.rounds, 21, 11),
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
                    count: pick(args.conns, 1_000, 500),
                },
            ],
            pin: !args.no_pin,
            cpu: args.cpu,
        }
    }
}

/// The per-round metric values of one case: `[subject][round][metric]`, subjects in
/// [`SubjectKind::ALL`] order.
#[derive(Debug)]
pub struct CaseResult {
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
    let mut progress = Progress::new(Case::ALL.len() * (config.rounds + 1) * 2);
    let mut seq = 0;
    let mut results = Vec::new();
    for work in config.works {
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
                progress.step(&format!("{} {} {what}", work.case().tag(), kind.name()));
                seq += 1;
                let measured = run_round(peer, dir, kind, &work, seq)?;
                if round > 0 {
                    values[kind.index()].push(measured);
                }
            }
        }
        results.push(CaseResult { work, values });
    }
    progress.clear();
    Ok(results)
}

/// One round of `work` with subject `kind`, at a fresh endpoint.
fn run_round(
    peer: &mut PeerProcess,
    dir: &Path,
    kind: SubjectKind,
    work: &Work,
    seq: usize,
) -> io::Result<Vec<f64>> {
    let job = peer::Job {
        subject: kind,
        // The same length for both subjects: path lookups cost alike.
        file: format!("{seq:06}.sock"),
        work: *work,
    };
    let endpoint = workdir::endpoint(dir, &job.file);
    peer.round(&job, work.deadline(), || match kind {
        SubjectKind::Localipc => cases::measure::<Localipc>(&endpoint, work),
        SubjectKind::Raw => cases::measure::<Raw>(&endpoint, work),
    })
}
