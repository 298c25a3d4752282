//! `bench --json`: the report's figures as one JSON document on stdout, for machines.
//!
//! ```text
//! { "os": "linux", "arch": "x86_64", "rounds": 9, "pinned_cpu": 1, "elapsed_s": 2.3,
//!   "endpoints": "/tmp/localipc-bench-…/*.sock",
//!   "work": { "round_trip": {…}, "throughput": {…}, "connections": {…} },
//!   "groups": [ { "group": "sync", "label": "sync", "cases": [
//!       { "case": "roundtrip", "metrics": [
//!           { "metric": "latency_median", "label": "round trip 64 B, median", "unit": "ns",
//!             "higher_is_better": false, "localipc": 7490.0, "raw": 7410.0,
//!             "ratio": 0.99, "ratio_min": 0.98, "ratio_max": 1.0,
//!             "rounds": { "localipc": [ … ], "raw": [ … ] } },
//!           (async groups' latency_median also: "syscalls_per_round_trip":
//!            { "localipc": 5.9, "raw": 8.0 }, both processes, null where not counted)
//!           { "metric": "latency_p99", … } ] }, … ] }, … ] }
//! ```
//!
//! Values are unrounded, in the metric's `unit` (`ns`, `B/s`, `1/s`); `localipc` and `raw`
//! are medians over the measured rounds, `ratio` the median of the per-round ratios (above 1:
//! localipc did better), exactly as in the table. A value that could not be computed is `null`.

use super::cases::{Case, Work};
use super::figures::{figures, Figure};
use super::plan::Outcome;
use serde_json::{json, Value};
use std::io::{self, Write};

/// Prints the document to stdout.
pub(super) fn print(run: &Outcome<'_>) -> io::Result<()> {
    let doc = document(run, &figures(&run.results));
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &doc)?;
    writeln!(out)?;
    out.flush()
}

/// The whole document.
fn document(run: &Outcome<'_>, figures: &[Figure]) -> Value {
    let config = run.config;
    let groups: Vec<Value> = config
        .groups
        .iter()
        .map(|&group| {
            let cases: Vec<Value> = group
                .cases()
                .iter()
                .map(|&case| {
                    let metrics: Vec<Value> = figures
                        .iter()
                        .filter(|f| f.group == group && f.work.case() == case)
                        .map(metric)
                        .collect();
                    json!({ "case": case.tag(), "metrics": metrics })
                })
                .collect();
            json!({ "group": group.tag(), "label": group.label(), "cases": cases })
        })
        .collect();
    json!({
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "rounds": config.rounds,
        "pinned_cpu": run.cpu,
        "peer_cpu": run.peer_cpu,
        "elapsed_s": run.elapsed.as_secs_f64(),
        "endpoints": run.endpoints.to_string_lossy(),
        "work": {
            "round_trip": work(config.work(Case::RoundTrip)),
            "throughput": work(config.work(Case::Throughput)),
            "connections": work(config.work(Case::Connections)),
        },
        "groups": groups,
    })
}

/// One metric: its medians, ratios and every round's values.
fn metric(figure: &Figure) -> Value {
    let (m, c) = (&figure.metric, &figure.comparison);
    let mut value = json!({
        "metric": m.key,
        "label": m.label,
        "unit": m.unit.symbol(),
        "higher_is_better": m.higher_is_better,
        "localipc": c.localipc,
        "raw": c.raw,
        "ratio": c.ratio,
        "ratio_min": c.ratio_min,
        "ratio_max": c.ratio_max,
        "rounds": { "localipc": figure.localipc, "raw": figure.raw },
    });
    if let Some((localipc, raw)) = figure.syscalls {
        value["syscalls_per_round_trip"] = json!({ "localipc": localipc, "raw": raw });
    }
    value
}

/// One round's work, with its sizes.
fn work(work: Work) -> Value {
    match work {
        Work::RoundTrip {
            msg_size,
            iters,
            warmup,
        } => json!({ "msg_size": msg_size, "iters": iters, "warmup": warmup }),
        Work::Throughput { chunk, bytes } => json!({ "chunk": chunk, "bytes": bytes }),
        Work::Connections { count } => json!({ "count": count }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::group::Group;
    use crate::bench::plan::CaseResult;

    #[test]
    fn figures_as_json_values() {
        let result = |values| CaseResult {
            group: Group::Sync,
            work: Work::Connections { count: 3 },
            values,
        };
        let measured = figures(&[result([
            vec![vec![200.0], vec![300.0]],
            vec![vec![100.0]; 2],
        ])]);
        let m = metric(&measured[0]);
        assert_eq!(m["metric"], "connections_per_sec");
        assert_eq!(m["unit"], "1/s");
        assert_eq!(
            (&m["localipc"], &m["raw"], &m["ratio"]),
            (&json!(250.0), &json!(100.0), &json!(2.5))
        );
        assert_eq!(m["rounds"]["localipc"], json!([200.0, 300.0]));
        // No rounds: nothing to compute, and JSON has no NaN.
        let empty = figures(&[result(Default::default())]);
        assert_eq!(metric(&empty[0])["ratio"], Value::Null);
    }
}
