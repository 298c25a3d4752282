//! `localipc soak`: many clients connecting, echoing a random payload (every byte checked)
//! and disconnecting, for minutes on end, with a report line per interval and a closing
//! verdict on whether memory and descriptors stayed flat.
//!
//! A subcommand of its own rather than a `bench` option: it shares nothing of the bench's
//! method (no A/B subjects, rounds or CPU pinning) and has its own options. The server runs
//! in a second process (this executable, `soak-server`) so that each side's memory and
//! descriptors are measured apart — a leak on the accept side cannot hide in the connect
//! side's figures — as a daemon and its clients would run.

mod client;
mod counters;
mod interrupt;
mod payload;
mod procstat;
mod report;
mod serve;
pub(crate) mod server;
mod server_process;
mod summary;

use client::{Clients, Shared};
use counters::Counters;
use localipc::local_socket::NameTypeSupport;
use procstat::ProcStat;
use report::{Quiet, Sample};
use server::ServerStats;
use server_process::ServerProcess;
use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use summary::Outcome;

/// How long the clients may take to finish their last connection once told to stop.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the server may take to close its last connections after the clients ended.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Options of `localipc soak`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// How long to run, in minutes (fractions allowed) [default: 1].
    #[arg(long, value_name = "N", value_parser = crate::parse::minutes)]
    minutes: Option<Duration>,
    /// How long to run, in seconds, instead of --minutes (for short runs).
    #[arg(long, value_name = "SECS", value_parser = crate::parse::positive_seconds, conflicts_with = "minutes")]
    seconds: Option<Duration>,
    /// Clients running at once, each making one connection after the other.
    #[arg(long, value_name = "N", value_parser = crate::parse::count, default_value = "32")]
    clients: usize,
    /// The server's name [default: a fresh namespaced name where supported, else a socket
    /// file in the temp directory].
    #[arg(long)]
    name: Option<OsString>,
    /// Seconds between report lines (the first interval is the warm-up).
    #[arg(long, value_name = "SECS", value_parser = crate::parse::positive_seconds, default_value = "10")]
    interval: Duration,
    /// Largest payload; each connection sends a random size from 1 byte up to this.
    #[arg(long, value_name = "BYTES", value_parser = crate::parse::buf_size, default_value = "64K")]
    max_size: usize,
    /// The API both sides use.
    #[arg(long, value_enum, default_value_t = Api::Tokio)]
    api: Api,
}

/// Which of localipc's APIs the soak uses, on both sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Api {
    /// `local_socket::tokio`: clients are tasks on a multi-thread runtime, as is the server.
    Tokio,
    /// `local_socket`: a thread per client, and per connection in the server.
    Sync,
}

impl Api {
    /// The name on the command line.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Tokio => "tokio",
            Self::Sync => "sync",
        }
    }
}

/// Runs the soak, prints its report, and fails if there were errors or growth.
pub(crate) fn run(args: Args) -> io::Result<()> {
    let duration = args
        .seconds
        .or(args.minutes)
        .unwrap_or(Duration::from_secs(60));
    let (name, _file) = match args.name {
        Some(name) => (name, None),
        None => default_name(),
    };
    interrupt::catch();
    let mut server = ServerProcess::start(args.api, &name)?;
    let mut clients = Clients::new(args.api)?;
    let server_before = server.stats()?;
    let client_before = ProcStat::now();
    let shared = Arc::new(Shared {
        name: name.clone(),
        max_size: args.max_size,
        counters: Counters::new("soak"),
        stop: AtomicBool::new(false),
    });
    println!(
        "soak: {} {} clients, payloads of 1 B to {}, on {}, for {:.0} s, a line every {:.1} s \
         (the first is the warm-up)",
        args.clients,
        args.api.name(),
        crate::bench::table::bytes(args.max_size as u64),
        name.to_string_lossy(),
        duration.as_secs_f64(),
        args.interval.as_secs_f64(),
    );
    let start = Instant::now();
    clients.start(args.clients, &shared);
    let run = sample_until(&mut server, &shared, start, duration, args.interval);
    shared.stop.store(true, Ordering::SeqCst);
    let stuck = clients.wait(STOP_TIMEOUT);
    let client_after = ProcStat::now();
    let server_after = settle(&mut server);
    drop(clients);
    let finished = server.finish();
    let outcome = Outcome {
        samples: run.samples,
        ended: run.ended,
        elapsed: start.elapsed(),
        clients: args.clients,
        totals: shared.counters.totals(),
        client: Quiet {
            before: client_before,
            after: client_after,
        },
        server_before,
        server_after: server_after.as_ref().ok().copied(),
        problems: [
            run.failure.map(|e| format!("server stats: {e}")),
            (stuck > 0).then(|| format!("{stuck} clients did not stop within {STOP_TIMEOUT:?}")),
            server_after
                .err()
                .map(|e| format!("server stats at the end: {e}")),
            finished.err().map(|e| e.to_string()),
        ]
        .into_iter()
        .flatten()
        .collect(),
    };
    outcome.print()
}

/// What the sampling loop ended with.
struct Run {
    /// One per interval.
    samples: Vec<Sample>,
    /// Why it ended before the deadline, if it did.
    ended: Option<&'static str>,
    /// The server failure that ended it, if any.
    failure: Option<io::Error>,
}

/// Prints a line per interval until `duration` has passed since `start`, Ctrl-C is pressed,
/// or the server stops answering.
fn sample_until(
    server: &mut ServerProcess,
    shared: &Shared,
    start: Instant,
    duration: Duration,
    interval: Duration,
) -> Run {
    let end = start + duration;
    let mut next = start + interval.min(duration);
    let mut run = Run {
        samples: Vec::new(),
        ended: None,
        failure: None,
    };
    loop {
        if interrupt::interrupted() {
            run.ended = Some("interrupted");
            return run;
        }
        let now = Instant::now();
        if now >= next {
            let server_stats = match server.stats() {
                Ok(stats) => stats,
                Err(e) => {
                    run.ended = Some("the server stopped answering");
                    run.failure = Some(e);
                    return run;
                }
            };
            let sample = Sample {
                elapsed: now - start,
                client: shared.counters.totals(),
                client_proc: ProcStat::now(),
                server: server_stats,
            };
            println!("{}", report::line(run.samples.last(), &sample));
            let _ = io::stdout().flush();
            run.samples.push(sample);
            if now >= end {
                return run;
            }
            while next <= now {
                next += interval;
            }
            next = next.min(end);
        }
        let nap = next.saturating_duration_since(Instant::now());
        std::thread::sleep(nap.min(Duration::from_millis(100)));
    }
}

/// The server's stats once its last connection has closed (or [`SETTLE_TIMEOUT`] passed).
fn settle(server: &mut ServerProcess) -> io::Result<ServerStats> {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    loop {
        let stats = server.stats()?;
        if stats.totals.open == 0 || Instant::now() >= deadline {
            return Ok(stats);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A fresh name for this run: namespaced where supported (nothing to clean up), else a socket
/// file in the temp directory, with a guard that removes it if the server leaves it behind.
fn default_name() -> (OsString, Option<RemoveOnDrop>) {
    let base = format!("localipc-soak-{}", std::process::id());
    if NameTypeSupport::query().namespace_supported() {
        return (format!("@{base}").into(), None);
    }
    let path = std::env::temp_dir().join(format!("{base}.sock"));
    (path.clone().into_os_string(), Some(RemoveOnDrop(path)))
}

/// Removes a file when dropped, if it is still there.
#[derive(Debug)]
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
