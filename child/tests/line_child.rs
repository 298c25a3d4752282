//! `LineChild` against real children: this test binary re-run in a role (the role in
//! `LINE_CHILD_ROLE`), so that the tests need no program of their own on any platform.

use localipc_child::{wait_bounded, LineChild};
use std::io::{self, BufRead, Write};
use std::process::Command;
use std::time::{Duration, Instant};

/// The environment variable that names a child's role.
const ROLE: &str = "LINE_CHILD_ROLE";

/// The child's side: runs the role named in the environment, then exits; `false` in the
/// parent. Each test calls it first, so a child runs only the role it was started for.
fn child_role() -> bool {
    let Ok(role) = std::env::var(ROLE) else {
        return false;
    };
    let mut out = io::stdout().lock();
    match role.as_str() {
        // Echoes each line back, `ready` first; `fail` gets an `error` line; exits at end of
        // input.
        "echo" => {
            let _ = writeln!(out, "ready");
            for line in io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                let _ = match line.as_str() {
                    "fail" => writeln!(out, "error it failed"),
                    _ => writeln!(out, "{line}"),
                };
                let _ = out.flush();
            }
        }
        // Says nothing and never ends on its own.
        _ => loop {
            std::thread::sleep(Duration::from_secs(1));
        },
    }
    std::process::exit(0)
}

/// Starts this test binary for `test` in `role`.
fn start(test: &str, role: &str) -> LineChild {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--test-threads=1", "--nocapture"])
        .env(ROLE, role);
    LineChild::spawn("the child", cmd).unwrap()
}

/// Skips the lines libtest prints before a child's own (`running 1 test`, …).
fn expect_skipping(child: &mut LineChild, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = child.next_line(Some(left)).unwrap();
        if line.ends_with(want) {
            return;
        }
    }
}

#[test]
fn lines_replies_and_error_lines() {
    if child_role() {
        return;
    }
    let mut child = start("lines_replies_and_error_lines", "echo");
    expect_skipping(&mut child, "ready");
    child.send("hello").unwrap();
    child
        .expect("hello", Some(Duration::from_secs(20)))
        .unwrap();
    child.send("fail").unwrap();
    let err = child.reply(Some(Duration::from_secs(20))).unwrap_err();
    assert_eq!(err.to_string(), "the child: it failed");
    child.send("other").unwrap();
    let err = child
        .expect("hello", Some(Duration::from_secs(20)))
        .unwrap_err();
    assert!(err.to_string().contains("instead of"), "{err}");
    child.finish(Duration::from_secs(20)).unwrap();
}

#[test]
fn a_silent_child_times_out_and_is_killed() {
    if child_role() {
        return;
    }
    let mut child = start("a_silent_child_times_out_and_is_killed", "silent");
    let started = Instant::now();
    // Skip whatever libtest prints; the child's own silence then times out.
    let err = loop {
        match child.next_line(Some(Duration::from_millis(500))) {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    let err = child.wait(Duration::from_millis(100)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
    // Killed and reaped by `wait`: the next wait reports its exit at once.
    assert!(!child.wait(Duration::ZERO).unwrap().success());
}

#[test]
fn the_watchdog_kills_at_its_deadline_and_ends_the_wait() {
    if child_role() {
        return;
    }
    let mut child = start(
        "the_watchdog_kills_at_its_deadline_and_ends_the_wait",
        "silent",
    );
    child.kill_at(Some(Instant::now() + Duration::from_millis(300)));
    // The watchdog's kill closes the child's stdout, which ends this long before its bound.
    while child.next_line(Some(Duration::from_secs(20))).is_ok() {}
    assert!(child.fired());
    assert!(!child.wait(Duration::from_secs(20)).unwrap().success());
}

#[test]
fn a_disarmed_watchdog_does_not_fire() {
    if child_role() {
        return;
    }
    let mut child = start("a_disarmed_watchdog_does_not_fire", "echo");
    child.kill_at(Some(Instant::now() + Duration::from_millis(200)));
    child.kill_at(None);
    std::thread::sleep(Duration::from_millis(400));
    assert!(!child.fired());
    expect_skipping(&mut child, "ready");
    child.finish(Duration::from_secs(20)).unwrap();
}

#[test]
fn dropping_kills_and_reaps() {
    if child_role() {
        return;
    }
    let child = start("dropping_kills_and_reaps", "silent");
    let id = child.id();
    drop(child);
    assert!(!alive(id), "process {id} outlived its LineChild");
}

#[test]
fn wait_bounded_kills_a_late_child() {
    if child_role() {
        return;
    }
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "wait_bounded_kills_a_late_child",
        "--test-threads=1",
    ])
    .env(ROLE, "silent")
    .stdout(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let err = wait_bounded(&mut child, Duration::from_millis(200)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    assert!(child.try_wait().unwrap().is_some(), "not reaped");
}

/// Whether process `id` still exists (a zombie counts: it was not reaped).
#[cfg(unix)]
fn alive(id: u32) -> bool {
    std::path::Path::new(&format!("/proc/{id}")).exists()
        || Command::new("kill")
            .args(["-0", &id.to_string()])
            .status()
            .is_ok_and(|s| s.success())
}

/// Whether process `id` still exists: not checked on Windows (no portable way in std).
#[cfg(not(unix))]
fn alive(_id: u32) -> bool {
    false
}
