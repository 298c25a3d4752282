//! `localipc bench --json`: one JSON document on stdout, with the table's figures. The run is
//! a `LineChild` (`child/`): every wait is bounded, and it is killed and reaped on any exit.

use localipc_child::LineChild;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// How long the smallest bench may take (Wine is slow to start processes).
const LIMIT: Duration = Duration::from_secs(60);

/// Removes a directory tree on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn bench_json_is_one_document_with_every_group_and_positive_ratios() {
    let tmp = std::env::temp_dir().join(format!("localipc-cli-json-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let tmp = TempDir(tmp);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_localipc"));
    cmd.args([
        "bench", "--json", "--quick", "--rounds", "2", "--iters", "50",
    ])
    .args(["--bytes", "256K", "--conns", "10"]);
    // The bench's work directory goes here, so that what it leaves behind can be seen.
    for var in ["TMPDIR", "TMP", "TEMP"] {
        cmd.env(var, &tmp.0);
    }
    let bench = LineChild::spawn("localipc bench --json", cmd).unwrap();
    let (status, lines) = bench.output(LIMIT).unwrap();
    let stdout = lines.join("\n");
    assert!(status.success(), "{status}: {stdout}");
    // All of stdout is the one document: nothing before or after it.
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));

    assert_eq!(doc["os"], std::env::consts::OS);
    assert_eq!(doc["rounds"], 2);
    assert_eq!(doc["work"]["round_trip"]["iters"], 50);
    let groups = doc["groups"].as_array().expect("groups");
    let tags: Vec<&str> = groups.iter().filter_map(|g| g["group"].as_str()).collect();
    // The shm group where `localipc::shm` exists.
    let shm = cfg!(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_vendor = "apple",
        windows
    ));
    let mut want = vec!["sync"];
    if shm {
        want.push("shm");
    }
    want.extend(["tokio-ct", "tokio-mt"]);
    if cfg!(unix) {
        want.push("async-io"); // no raw async-io pipe type on Windows
    }
    assert_eq!(tags, want);
    for group in groups {
        let cases = group["cases"].as_array().expect("cases");
        let tags: Vec<&str> = cases.iter().filter_map(|c| c["case"].as_str()).collect();
        let want: &[&str] = if group["group"] == "shm" {
            &["roundtrip", "throughput"]
        } else {
            &["roundtrip", "throughput", "connections"]
        };
        assert_eq!(tags, want, "{group}");
        for case in cases {
            let metrics = case["metrics"].as_array().expect("metrics");
            let keys: Vec<&str> = metrics
                .iter()
                .filter_map(|m| m["metric"].as_str())
                .collect();
            let want: &[&str] = match case["case"].as_str() {
                Some("roundtrip") => &["latency_median", "latency_p99"],
                Some("throughput") => &["bytes_per_sec"],
                _ => &["connections_per_sec"],
            };
            assert_eq!(keys, want, "{case}");
            for metric in metrics {
                for field in ["localipc", "raw", "ratio", "ratio_min", "ratio_max"] {
                    let value = metric[field].as_f64();
                    assert!(
                        value.is_some_and(|v| v.is_finite() && v > 0.0),
                        "{field} is not a positive number in {metric}"
                    );
                }
                assert!(["ns", "B/s", "1/s"].contains(&metric["unit"].as_str().unwrap_or("")));
                for subject in ["localipc", "raw"] {
                    let rounds = metric["rounds"][subject].as_array().expect("rounds");
                    assert_eq!(rounds.len(), 2, "{metric}");
                }
                // The async round trips count system calls per round trip (null where the
                // tracepoint cannot be counted: not Linux, not root).
                let is_async = group["group"]
                    .as_str()
                    .is_some_and(|g| g.starts_with("tokio") || g == "async-io");
                let syscalls = &metric["syscalls_per_round_trip"];
                if is_async && metric["metric"] == "latency_median" {
                    for subject in ["localipc", "raw"] {
                        let n = &syscalls[subject];
                        assert!(
                            n.is_null() || n.as_f64().is_some_and(|n| n > 0.0),
                            "{subject}: {metric}"
                        );
                        if cfg!(target_os = "linux") && is_root() {
                            assert!(n.as_f64().is_some(), "counted as root: {metric}");
                        }
                    }
                } else {
                    assert!(syscalls.is_null(), "{metric}");
                }
            }
        }
    }
    // The bench's directory and socket files are gone.
    let left: Vec<_> = std::fs::read_dir(&tmp.0).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// `--split` puts the peer on another CPU than this process (Linux, with two CPUs or more)
/// and says which in the document.
#[cfg(target_os = "linux")]
#[test]
fn split_pins_the_peer_to_another_cpu() {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        eprintln!("SKIPPED: --split needs two CPUs, this machine offers one");
        return;
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_localipc"));
    cmd.args([
        "bench", "--json", "--quick", "--split", "--group", "shm", "--rounds", "2",
    ])
    .args(["--iters", "50", "--bytes", "256K"]);
    let bench = LineChild::spawn("localipc bench --split", cmd).unwrap();
    let (status, lines) = bench.output(LIMIT).unwrap();
    let stdout = lines.join("\n");
    assert!(status.success(), "{status}: {stdout}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let (mine, peer) = (&doc["pinned_cpu"], &doc["peer_cpu"]);
    assert!(mine.is_u64() && peer.is_u64(), "{doc}");
    assert_ne!(mine, peer, "{doc}");
}

/// Whether this runs as root (who may count tracepoints).
fn is_root() -> bool {
    #[cfg(unix)]
    // SAFETY: geteuid has no preconditions.
    return unsafe { libc::geteuid() } == 0;
    #[cfg(not(unix))]
    false
}
