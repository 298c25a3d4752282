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
//!
//! The figures (`figures.rs`) are shown as a table (`report.rs`) or, with `--json`, as one
//! JSON document on stdout (`json.rs`).

mod affinity;
mod aio;
mod async_cases;
mod async_subject;
mod cases;
mod dispatch;
mod figures;
mod group;
mod job;
mod json;
pub(crate) mod peer;
mod plan;
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
mod syscalls;
pub(crate) mod table;
mod workdir;

pub(crate) use plan::Args;
use plan::{CaseResult, Config, Outcome};
use process::PeerProcess;
use progress::Progress;
use runtime::Runtimes;
use std::io;
use std::path::Path;
use std::time::Instant;
use subject::SubjectKind;

/// Runs the bench and prints the report (with `verbose`, also every round's values), or
/// with `--json` one JSON document of the same figures.
pub(crate) fn run(args: Args, verbose: bool) -> io::Result<()> {
    let config = Config::new(&args);
    let started = Instant::now();
    // Before any thread or process is started, so that all of them inherit it.
    let (cpu, peer_cpu) = if config.split {
        let (mine, theirs) = affinity::pin_split()?;
        (Some(mine), Some(theirs))
    } else if config.pin {
        let cpu = affinity::pin(config.cpu)
            .map_err(|e| io::Error::new(e.kind(), format!("pinning the bench to one CPU: {e}")))?;
        (cpu, None)
    } else {
        (None, None)
    };
    let dir = workdir::WorkDir::create()?;
    let mut peer = PeerProcess::spawn(dir.path())?;
    if let Some(theirs) = peer_cpu {
        // Before the first job: the peer's threads start per job and inherit this.
        affinity::pin_process(peer.id(), theirs)
            .map_err(|e| io::Error::new(e.kind(), format!("pinning the bench peer: {e}")))?;
    }
    let results = measure_all(&mut peer, dir.path(), &config)?;
    peer.finish()?;
    let endpoints = workdir::endpoint(dir.path(), "*.sock");
    drop(dir);
    let run = Outcome {
        config: &config,
        results,
        cpu,
        peer_cpu,
        endpoints,
        elapsed: started.elapsed(),
    };
    if args.json {
        return json::print(&run);
    }
    report::print(&run)?;
    if verbose {
        report::print_rounds(&run.results)?;
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
    let pid = peer.id();
    peer.round(job, job.work.deadline(), |done| {
        dispatch::measure(runtimes, job, &endpoint, pid, done)
    })
}
