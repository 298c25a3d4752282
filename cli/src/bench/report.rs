//! The bench report: settings, the comparison table, and how to read it.

use super::cases::Work;
use super::figures::figures;
use super::group::Group;
use super::plan::{CaseResult, Outcome};
use super::runtime;
use super::stats;
use super::syscalls;
use super::table;
use std::io::{self, Write};

/// Prints the report to stdout.
pub(super) fn print(run: &Outcome<'_>) -> io::Result<()> {
    let config = run.config;
    let mut rows = Vec::new();
    for figure in figures(&run.results) {
        let (c, unit) = (&figure.comparison, figure.metric.unit);
        rows.push(vec![
            figure.group.label().to_owned(),
            figure.metric.label,
            table::format(unit, c.localipc),
            table::format(unit, c.raw),
            table::ratio(c.ratio),
            format!(
                "{}–{}",
                table::ratio(c.ratio_min),
                table::ratio(c.ratio_max)
            ),
            figure.syscalls.map_or(String::new(), |(l, r)| {
                format!("{} vs {}", syscall_count(l), syscall_count(r))
            }),
        ]);
    }
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "localipc bench on {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )?;
    writeln!(out, "  {}", describe_work(config))?;
    writeln!(
        out,
        "  {} measured rounds per case after a warm-up round; the subjects alternate (A B, B A, …)",
        config.rounds
    )?;
    for line in describe_groups(&config.groups) {
        writeln!(out, "  {line}")?;
    }
    match (run.cpu, run.peer_cpu) {
        (Some(cpu), Some(peer)) => {
            writeln!(
                out,
                "  this process pinned to CPU {cpu}, the peer to CPU {peer} (--split)"
            )?;
        }
        (Some(cpu), None) => writeln!(out, "  both processes pinned to CPU {cpu}")?,
        (None, _) if config.pin => {
            writeln!(out, "  not pinned to a CPU (not supported on this OS)")?;
        }
        (None, _) => writeln!(out, "  not pinned to a CPU (--no-pin)")?,
    }
    writeln!(out, "  endpoints: {}", run.endpoints.display())?;
    writeln!(out)?;
    let header = [
        "group",
        "case",
        "localipc",
        "raw",
        "localipc vs raw",
        "per round",
        "syscalls/rt",
    ];
    out.write_all(table::render(&header, 2, &rows).as_bytes())?;
    writeln!(out)?;
    writeln!(
        out,
        "localipc vs raw: median of the per-round ratios, >1.00x = localipc better (faster, lower latency);"
    )?;
    writeln!(
        out,
        "per round: lowest and highest per-round ratio. Values: medians over rounds. Took {:.1} s.",
        run.elapsed.as_secs_f64()
    )?;
    if run.results.iter().any(|r| {
        matches!(
            r.group,
            Group::TokioCurrentThread | Group::TokioMultiThread | Group::AsyncIo
        )
    }) {
        let how = match syscalls::availability() {
            Ok(()) => "counted with the raw_syscalls:sys_enter tracepoint".to_owned(),
            Err(why) => format!("n/a: {why}"),
        };
        writeln!(
            out,
            "syscalls/rt: system calls per round trip of both processes, localipc vs raw, async groups ({how})."
        )?;
    }
    out.flush()
}

/// Prints every round's values and ratio, metric by metric (for `-v`).
pub(super) fn print_rounds(results: &[CaseResult]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    for figure in figures(results) {
        let metric = &figure.metric;
        let rows: Vec<Vec<String>> = figure
            .localipc
            .iter()
            .zip(&figure.raw)
            .enumerate()
            .map(|(i, (&l, &r))| {
                let c = stats::compare(&[l], &[r], metric.higher_is_better);
                let first = if i % 2 == 0 { "raw" } else { "localipc" };
                vec![
                    format!("{} ({first} first)", i + 1),
                    table::format(metric.unit, l),
                    table::format(metric.unit, r),
                    table::ratio(c.ratio),
                ]
            })
            .collect();
        writeln!(out, "\n{}: {}", figure.group.label(), metric.label)?;
        let header = ["round", "localipc", "raw", "localipc vs raw"];
        out.write_all(table::render(&header, 1, &rows).as_bytes())?;
    }
    out.flush()
}

/// What one round of each case does.
fn describe_work(config: &super::plan::Config) -> String {
    let parts: Vec<String> = config
        .works
        .iter()
        .map(|work| match *work {
            Work::RoundTrip {
                msg_size,
                iters,
                warmup,
            } => format!(
                "round trip: {iters} × {} (+{warmup} warm-up)",
                table::bytes(msg_size as u64)
            ),
            Work::Throughput { chunk, bytes } => format!(
                "throughput: {} in {} writes",
                table::bytes(bytes),
                table::bytes(chunk as u64)
            ),
            Work::Connections { count } => format!("connections: {count} sequential"),
        })
        .collect();
    format!("per round: {}", parts.join("; "))
}

/// One line per kind of group run: what "localipc" and "raw" are, and how the runtimes run.
fn describe_groups(groups: &[Group]) -> Vec<String> {
    let mut lines = Vec::new();
    if groups.contains(&Group::Sync) {
        lines.push(format!(
            "sync: localipc = local_socket::LocalSocketListener/LocalSocketStream; raw = {RAW}"
        ));
    }
    if groups.contains(&Group::Shm) {
        lines.push(format!(
            "shm: localipc = shm::ShmStream (create/join over a LocalSocketStream, default \
             ShmOptions: 1 MiB rings, adaptive spin up to 50 µs); raw = {RAW}"
        ));
    }
    if groups
        .iter()
        .any(|group| matches!(group, Group::TokioCurrentThread | Group::TokioMultiThread))
    {
        lines.push(format!(
            "tokio: localipc = local_socket::tokio::LocalSocketListener/LocalSocketStream; \
             raw = {RAW_TOKIO}"
        ));
    }
    if groups.contains(&Group::AsyncIo) {
        lines.push(format!(
            "async-io: localipc = local_socket::async_io::LocalSocketListener/LocalSocketStream; \
             raw = {}; the code runs in async_io::block_on, no tokio runtime, in both processes",
            super::aio::DESCRIPTION
        ));
    }
    if groups.contains(&Group::TokioCurrentThread) {
        lines.push("tokio current-thread: the code runs in block_on, in both processes".into());
    }
    if groups.contains(&Group::TokioMultiThread) {
        lines.push(format!(
            "tokio multi-thread: the code runs in a spawned task, {} worker threads, in both \
             processes",
            runtime::multi_thread_workers()
        ));
    }
    lines
}

/// What "raw" is in the sync group on this platform.
#[cfg(unix)]
const RAW: &str = super::raw_unix::DESCRIPTION;
/// What "raw" is in the sync group on this platform.
#[cfg(windows)]
const RAW: &str = super::raw_windows::DESCRIPTION;
/// What "raw" is in the tokio groups on this platform.
#[cfg(unix)]
const RAW_TOKIO: &str = super::raw_tokio_unix::DESCRIPTION;
/// What "raw" is in the tokio groups on this platform.
#[cfg(windows)]
const RAW_TOKIO: &str = super::raw_tokio_windows::DESCRIPTION;

/// A syscalls-per-round-trip count with one decimal, or "n/a".
fn syscall_count(n: f64) -> String {
    if n.is_finite() {
        format!("{n:.1}")
    } else {
        "n/a".to_owned()
    }
}
