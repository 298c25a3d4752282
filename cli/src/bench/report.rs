//! The bench report: settings, the comparison table, and how to read it.

use super::cases::Work;
use super::group::Group;
use super::plan::{CaseResult, Config};
use super::runtime;
use super::stats;
use super::subject::SubjectKind;
use super::table::{self, Unit};
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

/// One row of the table: which metric of a case, and how to show and compare it.
struct Metric {
    /// The row label.
    label: String,
    /// Index into a round's metric values.
    index: usize,
    /// How to format values.
    unit: Unit,
    /// Whether a higher value is better (rates) or worse (latencies).
    higher_is_better: bool,
}

/// The rows for one case's work.
fn metrics(work: &Work) -> Vec<Metric> {
    let metric = |label: String, index, unit, higher_is_better| Metric {
        label,
        index,
        unit,
        higher_is_better,
    };
    match *work {
        Work::RoundTrip { msg_size, .. } => {
            let size = table::bytes(msg_size as u64);
            vec![
                metric(format!("round trip {size}, median"), 0, Unit::Nanos, false),
                metric(format!("round trip {size}, p99"), 1, Unit::Nanos, false),
            ]
        }
        Work::Throughput { chunk, .. } => vec![metric(
            format!("throughput, {} writes", table::bytes(chunk as u64)),
            0,
            Unit::BytesPerSec,
            true,
        )],
        Work::Connections { .. } => vec![metric(
            "connections (+1 B each way)".into(),
            0,
            Unit::PerSec,
            true,
        )],
    }
}

/// Prints the report to stdout.
pub fn print(
    config: &Config,
    results: &[CaseResult],
    cpu: Option<usize>,
    endpoint: &Path,
    elapsed: Duration,
) -> io::Result<()> {
    let mut rows = Vec::new();
    for result in results {
        for metric in metrics(&result.work) {
            let c = stats::compare(
                &series(result, &metric, SubjectKind::Localipc),
                &series(result, &metric, SubjectKind::Raw),
                metric.higher_is_better,
            );
            rows.push(vec![
                result.group.label().to_owned(),
                metric.label,
                table::format(metric.unit, c.localipc),
                table::format(metric.unit, c.raw),
                table::ratio(c.ratio),
                format!(
                    "{}–{}",
                    table::ratio(c.ratio_min),
                    table::ratio(c.ratio_max)
                ),
            ]);
        }
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
    match cpu {
        Some(cpu) => writeln!(out, "  both processes pinned to CPU {cpu}")?,
        None if config.pin => writeln!(out, "  not pinned to a CPU (not supported on this OS)")?,
        None => writeln!(out, "  not pinned to a CPU (--no-pin)")?,
    }
    writeln!(out, "  endpoints: {}", endpoint.display())?;
    writeln!(out)?;
    let header = [
        "group",
        "case",
        "localipc",
        "raw",
        "localipc vs raw",
        "per round",
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
        elapsed.as_secs_f64()
    )?;
    out.flush()
}

/// Prints every round's values and ratio, metric by metric (for `-v`).
pub fn print_rounds(results: &[CaseResult]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    for result in results {
        for metric in metrics(&result.work) {
            let localipc = series(result, &metric, SubjectKind::Localipc);
            let raw = series(result, &metric, SubjectKind::Raw);
            let rows: Vec<Vec<String>> = localipc
                .iter()
                .zip(&raw)
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
            writeln!(out, "\n{}: {}", result.group.label(), metric.label)?;
            let header = ["round", "localipc", "raw", "localipc vs raw"];
            out.write_all(table::render(&header, 1, &rows).as_bytes())?;
        }
    }
    out.flush()
}

/// One metric of one subject, round by round.
fn series(result: &CaseResult, metric: &Metric, kind: SubjectKind) -> Vec<f64> {
    result.values[kind.index()]
        .iter()
        .map(|round| round[metric.index])
        .collect()
}

/// What one round of each case does.
fn describe_work(config: &Config) -> String {
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
    if groups.iter().any(|group| *group != Group::Sync) {
        lines.push(format!(
            "tokio: localipc = local_socket::tokio::LocalSocketListener/LocalSocketStream; \
             raw = {RAW_TOKIO}"
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
