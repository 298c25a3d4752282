//! The bench's figures: a row per metric of each case, its values compared over rounds. The
//! text report and the JSON document both show these, so they show the same numbers.

use super::cases::Work;
use super::group::Group;
use super::plan::CaseResult;
use super::stats::{self, Comparison};
use super::subject::SubjectKind;
use super::table::{self, Unit};

/// One metric of a case: which, and how to show and compare it.
#[derive(Debug)]
pub(super) struct Metric {
    /// The key in the JSON document, e.g. `latency_p99`.
    pub key: &'static str,
    /// The row label in the table.
    pub label: String,
    /// Index into a round's metric values.
    index: usize,
    /// How to format values.
    pub unit: Unit,
    /// Whether a higher value is better (rates) or worse (latencies).
    pub higher_is_better: bool,
}

/// One row of the report: a metric of a case of a group, compared over the rounds.
#[derive(Debug)]
pub(super) struct Figure {
    /// The group the case ran in.
    pub group: Group,
    /// The case's work.
    pub work: Work,
    /// The metric.
    pub metric: Metric,
    /// Medians and ratios over rounds.
    pub comparison: Comparison,
    /// The metric's value in each measured round, localipc.
    pub localipc: Vec<f64>,
    /// The metric's value in each measured round, raw.
    pub raw: Vec<f64>,
    /// On the median round trip rows of the async groups: system calls per round trip of
    /// both processes, median over rounds, localipc and raw (NaN where not counted).
    pub syscalls: Option<(f64, f64)>,
}

/// Every figure of `results`, in the order of the table.
pub(super) fn figures(results: &[CaseResult]) -> Vec<Figure> {
    let mut figures = Vec::new();
    for result in results {
        for metric in metrics(&result.work) {
            let localipc = series(result, &metric, SubjectKind::Localipc);
            let raw = series(result, &metric, SubjectKind::Raw);
            let syscalls = (metric.key == "latency_median").then(|| syscalls(result));
            figures.push(Figure {
                group: result.group,
                work: result.work,
                comparison: stats::compare(&localipc, &raw, metric.higher_is_better),
                metric,
                localipc,
                raw,
                syscalls: syscalls.flatten(),
            });
        }
    }
    figures
}

/// The metrics of one case's work.
fn metrics(work: &Work) -> Vec<Metric> {
    let metric = |key, label: String, index, unit, higher_is_better| Metric {
        key,
        label,
        index,
        unit,
        higher_is_better,
    };
    match *work {
        Work::RoundTrip { msg_size, .. } => {
            let size = table::bytes(msg_size as u64);
            vec![
                metric(
                    "latency_median",
                    format!("round trip {size}, median"),
                    0,
                    Unit::Nanos,
                    false,
                ),
                metric(
                    "latency_p99",
                    format!("round trip {size}, p99"),
                    1,
                    Unit::Nanos,
                    false,
                ),
            ]
        }
        Work::Throughput { chunk, .. } => vec![metric(
            "bytes_per_sec",
            format!("throughput, {} writes", table::bytes(chunk as u64)),
            0,
            Unit::BytesPerSec,
            true,
        )],
        Work::Connections { .. } => vec![metric(
            "connections_per_sec",
            "connections (+1 B each way)".into(),
            0,
            Unit::PerSec,
            true,
        )],
    }
}

/// One metric of one subject, round by round.
fn series(result: &CaseResult, metric: &Metric, kind: SubjectKind) -> Vec<f64> {
    result.values[kind.index()]
        .iter()
        .map(|round| round[metric.index])
        .collect()
}

/// The median system calls per round trip of each subject, if the case counted them (the
/// async round trips: their third value).
fn syscalls(result: &CaseResult) -> Option<(f64, f64)> {
    let median = |kind: SubjectKind| {
        let rounds = &result.values[kind.index()];
        let counts: Option<Vec<f64>> = rounds.iter().map(|r| r.get(2).copied()).collect();
        counts.map(|c| stats::median(&c))
    };
    Some((median(SubjectKind::Localipc)?, median(SubjectKind::Raw)?))
}
