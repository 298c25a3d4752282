//! What the soak prints: a line per interval, and the closing summary with its verdicts on
//! memory and descriptors.

use super::counters::Totals;
use super::procstat::ProcStat;
use super::server::ServerStats;
use crate::bench::table::{self, Unit};
use std::time::Duration;

/// Allowed growth of resident memory from the first interval after warm-up to the last third
/// of the run: 10 %, but at least this much (allocator noise with tens of clients).
const RSS_SLACK_KIB: u64 = 4 * 1024;

/// One interval's measurements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Sample {
    /// Since the clients started.
    pub elapsed: Duration,
    /// The clients' counters.
    pub client: Totals,
    /// The clients' process.
    pub client_proc: ProcStat,
    /// The server's counters and process.
    pub server: ServerStats,
}

/// Resources of one process while nothing was connected: before the clients started and
/// after they all ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Quiet {
    /// Before the clients started.
    pub before: ProcStat,
    /// After they ended.
    pub after: ProcStat,
}

/// The interval line for `sample`, with rates over the interval since `prev`.
pub(super) fn line(prev: Option<&Sample>, sample: &Sample) -> String {
    let (t0, c0, b0) = prev.map_or((Duration::ZERO, 0, 0), |p| {
        (p.elapsed, p.client.connections, p.client.bytes)
    });
    let secs = (sample.elapsed.saturating_sub(t0)).as_secs_f64().max(1e-9);
    let c = &sample.client;
    format!(
        "{:7.1} s  {} connections ({}), {} echoed ({}), errors {}  |  client {}  |  server {}",
        sample.elapsed.as_secs_f64(),
        c.connections,
        table::format(Unit::PerSec, (c.connections - c0) as f64 / secs),
        size(c.bytes),
        table::format(Unit::BytesPerSec, (c.bytes - b0) as f64 / secs),
        c.errors + sample.server.totals.errors,
        resources(sample.client_proc),
        resources(sample.server.proc),
    )
}

/// `rss 12.3 MiB, 41 fds`, with `?` for what the OS does not show.
fn resources(proc: ProcStat) -> String {
    let rss = proc.rss_kib.map_or("?".into(), |kib| size(kib * 1024));
    let fds = proc.fds.map_or("?".into(), |n| n.to_string());
    format!("rss {rss}, {fds} fds")
}

/// A byte count with three significant digits in a binary unit, e.g. `7.51 GiB`.
pub(super) fn size(bytes: u64) -> String {
    let b = bytes as f64;
    if bytes < 1 << 10 {
        format!("{bytes} B")
    } else if bytes < 1 << 20 {
        format!("{} KiB", three(b / 1024.0))
    } else if bytes < 1 << 30 {
        format!("{} MiB", three(b / 1048576.0))
    } else {
        format!("{} GiB", three(b / 1073741824.0))
    }
}

/// Three significant digits.
fn three(v: f64) -> String {
    match v {
        v if v >= 100.0 => format!("{v:.0}"),
        v if v >= 10.0 => format!("{v:.1}"),
        v => format!("{v:.2}"),
    }
}

/// A verdict on one resource of one process: `Some(true)` flat, `Some(false)` grew, `None`
/// unknown (not shown by the OS, or too few intervals), with the figures behind it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Verdict {
    /// Flat, grew or unknown.
    pub flat: Option<bool>,
    /// The figures, for the summary.
    pub text: String,
}

/// Resident memory: the largest value in the last third of the intervals against the first
/// interval after the warm-up one. Needs at least three intervals.
pub(super) fn rss_verdict(rss: &[Option<u64>]) -> Verdict {
    let known: Option<Vec<u64>> = rss.iter().copied().collect();
    let Some(rss) = known.filter(|v| v.len() >= 3) else {
        return Verdict {
            flat: None,
            text: "RSS not judged (not shown by the OS, or fewer than 3 intervals)".into(),
        };
    };
    let baseline = rss[1];
    let last_max = rss[rss.len() - rss.len() / 3..]
        .iter()
        .copied()
        .max()
        .unwrap_or(baseline);
    let allowed = (baseline / 10).max(RSS_SLACK_KIB);
    let change = (last_max as f64 / baseline.max(1) as f64 - 1.0) * 100.0;
    Verdict {
        flat: Some(last_max <= baseline + allowed),
        text: format!(
            "RSS {} after warm-up, at most {} in the last third ({change:+.1} %, allowed +{})",
            size(baseline * 1024),
            size(last_max * 1024),
            size(allowed * 1024)
        ),
    }
}

/// Descriptors: back to the count from before the clients once they have all ended, and
/// never above it by more than two per client during the run (a client holds one connection
/// at a time, which either side may still hold briefly after the other closed it).
pub(super) fn fd_verdict(quiet: Quiet, during: &[Option<u64>], clients: usize) -> Verdict {
    let (Some(before), Some(after)) = (quiet.before.fds, quiet.after.fds) else {
        return Verdict {
            flat: None,
            text: "fds not judged (not shown by the OS)".into(),
        };
    };
    let most = during.iter().flatten().copied().max().unwrap_or(before);
    let limit = before + 2 * clients as u64;
    Verdict {
        flat: Some(after <= before && most <= limit),
        text: format!(
            "fds {before} before and {after} after the clients ran, at most {most} while they \
             ran (allowed {limit})"
        ),
    }
}

/// The word for several verdicts together: `grew` if any grew, else `n/a` if any is unknown,
/// else `flat`.
pub(super) fn overall(verdicts: &[&Verdict]) -> &'static str {
    if verdicts.iter().any(|v| v.flat == Some(false)) {
        "grew"
    } else if verdicts.iter().any(|v| v.flat.is_none()) {
        "n/a"
    } else {
        "flat"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size(100), "100 B");
        assert_eq!(size(64 * 1024), "64.0 KiB");
        assert_eq!(size(12_900_000), "12.3 MiB");
        assert_eq!(size(8_070_000_000), "7.52 GiB");
    }

    #[test]
    fn rss_verdicts() {
        let mib = |m: u64| Some(m * 1024);
        assert_eq!(rss_verdict(&[mib(5), mib(10)]).flat, None);
        assert_eq!(rss_verdict(&[mib(5), None, mib(10)]).flat, None);
        // Warm-up growth is ignored; small noise is allowed.
        let flat = rss_verdict(&[mib(5), mib(40), mib(41), mib(42), mib(43), mib(40)]);
        assert_eq!(flat.flat, Some(true), "{}", flat.text);
        let grew = rss_verdict(&[mib(5), mib(40), mib(45), mib(50), mib(55), mib(60)]);
        assert_eq!(grew.flat, Some(false), "{}", grew.text);
    }

    #[test]
    fn fd_verdicts() {
        let quiet = |before, after| Quiet {
            before: ProcStat {
                rss_kib: None,
                fds: Some(before),
            },
            after: ProcStat {
                rss_kib: None,
                fds: Some(after),
            },
        };
        assert_eq!(fd_verdict(quiet(9, 9), &[Some(30)], 32).flat, Some(true));
        assert_eq!(fd_verdict(quiet(9, 10), &[Some(30)], 32).flat, Some(false));
        assert_eq!(fd_verdict(quiet(9, 9), &[Some(100)], 32).flat, Some(false));
        assert_eq!(
            fd_verdict(quiet(9, 9), &[None], 32).flat,
            Some(true),
            "unknown during the run is not held against it"
        );
        let unknown = Quiet {
            before: ProcStat::default(),
            after: ProcStat::default(),
        };
        assert_eq!(fd_verdict(unknown, &[], 32).flat, None);
        let (flat, grew) = (
            fd_verdict(quiet(9, 9), &[], 1),
            fd_verdict(quiet(9, 10), &[], 1),
        );
        assert_eq!(overall(&[&flat, &flat]), "flat");
        assert_eq!(overall(&[&flat, &grew]), "grew");
        assert_eq!(overall(&[&flat, &rss_verdict(&[])]), "n/a");
    }
}
