//! End-to-end tests of the `localipc` binary. Every wait is bounded: a child still running at
//! its deadline is killed, and every child is killed and reaped when its handle drops.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long any one step may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(10);

/// A name no other test (or test run) uses: namespaced where supported, else a socket path.
fn unique_name(tag: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let base = format!("localipc-cli-test-{}-{n}-{tag}", std::process::id());
    if cfg!(any(target_os = "linux", target_os = "android", windows)) {
        format!("@{base}")
    } else {
        unique_dir(tag).join("s.sock").display().to_string()
    }
}

/// A fresh empty directory under the temp directory (removed by the caller via `TempDir`).
fn unique_dir(tag: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!(
        "localipc-cli-test-{}-{n}-{tag}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Removes a directory tree on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `localipc`, killed and reaped on drop; its output is collected by threads.
struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout_chunks: Receiver<Vec<u8>>,
    stdout_seen: Vec<u8>,
    stdout_done: Option<JoinHandle<()>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
}

/// What a finished `localipc` left.
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Running {
    /// Starts `localipc args…` with piped stdin, stdout and stderr.
    fn start(args: &[&str]) -> Self {
        Self::start_in(args, None)
    }

    /// Like [`start`](Self::start), with `TMPDIR` set to `tmp` if given.
    fn start_in(args: &[&str], tmp: Option<&Path>) -> Self {
        Self::start_with(args, |cmd| {
            if let Some(tmp) = tmp {
                cmd.env("TMPDIR", tmp);
            }
        })
    }

    /// Like [`start`](Self::start), letting `adjust` change the command first.
    fn start_with(args: &[&str], adjust: impl FnOnce(&mut Command)) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_localipc"));
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("RUST_BACKTRACE");
        adjust(&mut cmd);
        let mut child = cmd.spawn().expect("starting localipc");
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (tx, stdout_chunks) = mpsc::channel();
        let stdout_done = std::thread::spawn(move || {
            let mut buf = [0; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut buf) {
                if tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut all = Vec::new();
            let _ = stderr.read_to_end(&mut all);
            all
        });
        Self {
            stdin: child.stdin.take(),
            child,
            stdout_chunks,
            stdout_seen: Vec::new(),
            stdout_done: Some(stdout_done),
            stderr: Some(stderr),
        }
    }

    /// Writes `data` to its stdin.
    fn send(&mut self, data: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(data).unwrap();
        stdin.flush().unwrap();
    }

    /// Closes its stdin.
    fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// Waits until its stdout so far contains `want`; panics at the deadline.
    fn wait_for_stdout(&mut self, want: &str) {
        let deadline = Instant::now() + DEADLINE;
        while !String::from_utf8_lossy(&self.stdout_seen).contains(want) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout_chunks.recv_timeout(left) {
                Ok(chunk) => self.stdout_seen.extend(chunk),
                Err(_) => panic!(
                    "stdout never contained {want:?}; got {:?}",
                    String::from_utf8_lossy(&self.stdout_seen)
                ),
            }
        }
    }

    /// Closes stdin and waits for the exit (killing it at the deadline and panicking).
    fn finish(mut self) -> Finished {
        self.close_stdin();
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("localipc did not exit within {DEADLINE:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        // The process has exited; its pipes end with it (bounded unless it left children).
        self.stdout_done.take().unwrap().join().unwrap();
        while let Ok(chunk) = self.stdout_chunks.try_recv() {
            self.stdout_seen.extend(chunk);
        }
        let stderr = self.stderr.take().unwrap().join().unwrap();
        Finished {
            status,
            stdout: String::from_utf8_lossy(&self.stdout_seen).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Runs `localipc args…` with `input` on stdin to completion (bounded).
fn run(args: &[&str], input: &[u8]) -> Finished {
    let mut running = Running::start(args);
    running.send(input);
    running.finish()
}

/// Asserts that `out` failed with exactly one `localipc: …` line on stderr, and returns it.
fn one_line_error(out: &Finished) -> &str {
    assert!(
        !out.status.success(),
        "expected a failure; stdout {:?}",
        out.stdout
    );
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "stderr should be one line: {:?}",
        out.stderr
    );
    assert!(lines[0].starts_with("localipc: "), "{:?}", lines[0]);
    assert!(!out.stderr.contains("panicked"), "{:?}", out.stderr);
    lines[0]
}

#[test]
fn echo_demo_round_trips() {
    let name = unique_name("echo");
    let listener = Running::start(&["listen", &name, "--echo", "--once"]);
    let client = run(&["connect", &name, "--timeout", "5"], b"hi\n");
    assert!(client.status.success(), "client failed: {}", client.stderr);
    assert_eq!(client.stdout, "hi\n");
    let listener = listener.finish();
    assert!(listener.status.success(), "listener: {}", listener.stderr);
    assert_eq!(listener.stdout, "");
}

#[test]
fn echo_serves_several_clients_and_large_input() {
    let name = unique_name("echo-many");
    let listener = Running::start(&["listen", &name, "--echo"]);
    let big: Vec<u8> = (0..1_000_000usize)
        .map(|i| u8::try_from(i % 251).unwrap())
        .collect();
    let first = run(&["connect", &name, "--timeout", "5"], &big);
    assert!(first.status.success(), "{}", first.stderr);
    assert_eq!(first.stdout.len(), String::from_utf8_lossy(&big).len());
    let second = run(&["connect", &name], b"again");
    assert_eq!(second.stdout, "again");
    drop(listener); // killed: it serves until stopped
}

#[cfg(unix)]
#[test]
fn path_name_with_mode_is_removed_after_exit() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let dir = TempDir(unique_dir("path"));
    let path = dir.0.join("echo.sock");
    let path_str = path.to_str().unwrap();
    let listener = Running::start(&["listen", path_str, "--echo", "--once", "--mode", "600"]);
    let deadline = Instant::now() + DEADLINE;
    while !path.exists() {
        assert!(Instant::now() < deadline, "the socket file never appeared");
        std::thread::sleep(Duration::from_millis(10));
    }
    let meta = std::fs::metadata(&path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let client = run(&["connect", path_str, "--timeout", "5"], b"path\n");
    assert_eq!(client.stdout, "path\n", "{}", client.stderr);
    let listener = listener.finish();
    assert!(listener.status.success(), "{}", listener.stderr);
    assert!(!path.exists(), "the socket file was left behind");
}

/// Issue 16.2: `listen --once` ends its accept loop with an `AcceptStopper`, not by
/// connecting to itself: it exits cleanly even when its socket file was removed meanwhile
/// (the old self-connection then failed: "could not stop the server cleanly", exit 1).
#[cfg(unix)]
#[test]
fn listen_once_exits_cleanly_after_its_socket_file_is_removed() {
    let dir = TempDir(unique_dir("once-gone"));
    let path = dir.0.join("s.sock");
    let path_str = path.to_str().unwrap();
    let listener = Running::start(&["listen", path_str, "--echo", "--once"]);
    wait_for_file(&path);
    let mut client = Running::start(&["connect", path_str, "--timeout", "5"]);
    client.send(b"a\n");
    client.wait_for_stdout("a\n");
    std::fs::remove_file(&path).unwrap();
    let client = client.finish();
    assert!(client.status.success(), "{}", client.stderr);
    let listener = listener.finish();
    assert!(listener.status.success(), "{}", listener.stderr);
}

/// Waits (bounded) until `path` exists: `listen` puts its socket there once it listens.
#[cfg(unix)]
fn wait_for_file(path: &Path) {
    let deadline = Instant::now() + DEADLINE;
    while !path.exists() {
        assert!(Instant::now() < deadline, "the socket file never appeared");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Issue 10.7: stopped by SIGINT or SIGTERM, `listen` removes its socket file (and leaves
/// nothing else in the directory), then ends by that signal.
#[cfg(unix)]
#[test]
fn listen_removes_its_socket_file_on_sigint_and_sigterm() {
    use std::os::unix::process::ExitStatusExt;
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let dir = TempDir(unique_dir("signal"));
        let path = dir.0.join("s.sock");
        let listener = Running::start(&["listen", path.to_str().unwrap(), "--echo"]);
        wait_for_file(&path);
        let pid = libc::pid_t::try_from(listener.child.id()).unwrap();
        // SAFETY: plain syscall; the child is ours and not yet reaped.
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
        let out = listener.finish(); // bounded
        assert_eq!(
            out.status.signal(),
            Some(sig),
            "{:?} {}",
            out.status,
            out.stderr
        );
        let left: Vec<_> = std::fs::read_dir(&dir.0).unwrap().flatten().collect();
        assert!(left.is_empty(), "signal {sig} left {left:?}");
    }
}

/// CPU time (user + system, in clock ticks) the process `pid` has used so far.
#[cfg(target_os = "linux")]
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses): state is field 3, utime 14,
    // stime 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Issue 10.6: out of descriptors, `listen` backs off instead of spinning on `accept` (and
/// instead of exiting): over two seconds of failing accepts it uses well under a fifth of a
/// CPU second (a busy loop uses nearly all of it), says so on stderr naming the socket at
/// most about once a second, and serves again once descriptors are free.
#[cfg(target_os = "linux")]
#[test]
fn listen_backs_off_when_out_of_descriptors() {
    use std::os::unix::net::UnixStream;
    use std::os::unix::process::CommandExt;
    let dir = TempDir(unique_dir("emfile"));
    let path = dir.0.join("s.sock");
    let path_str = path.to_str().unwrap();
    let mut listener = Running::start_with(&["listen", path_str, "--echo"], |cmd| {
        // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let lim = libc::rlimit {
                    rlim_cur: 16,
                    rlim_max: 16,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    });
    wait_for_file(&path);
    // More clients than it has descriptors for: the rest wait in the backlog.
    let clients: Vec<UnixStream> = (0..40)
        .map(|_| UnixStream::connect(&path).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300)); // it accepts what it can, then fails
    let pid = listener.child.id();
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_ticks(pid) - before;
    eprintln!("listen used {used} ticks in 2 s of failing accepts");
    // SAFETY: sysconf has no preconditions.
    let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap();
    assert!(
        matches!(listener.child.try_wait(), Ok(None)),
        "listen exited instead of backing off"
    );
    assert!(
        used * 5 < hz,
        "listen used {used} ticks (of {hz} a second) in 2 s of failing accepts: spinning"
    );
    // Descriptors come back as the clients leave: it serves again.
    drop(clients);
    let mut c = UnixStream::connect(&path).unwrap();
    c.set_read_timeout(Some(DEADLINE)).unwrap();
    c.write_all(b"back").unwrap();
    let mut buf = [0; 4];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"back");
    drop(c);
    let pid = libc::pid_t::try_from(pid).unwrap();
    // SAFETY: plain syscall; the child is ours and not yet reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    listener.close_stdin();
    let out = listener.finish();
    let backoffs = out
        .stderr
        .lines()
        .filter(|l| l.contains("retrying every"))
        .collect::<Vec<_>>();
    assert!(!backoffs.is_empty(), "no back-off message: {}", out.stderr);
    assert!(backoffs[0].contains(path_str), "{}", backoffs[0]);
    assert!(
        backoffs.len() <= 5,
        "{} back-off messages in ~2.5 s",
        backoffs.len()
    );
    assert!(!path.exists(), "the socket file was left behind");
}

#[test]
fn listen_prints_what_clients_send() {
    let name = unique_name("print");
    let mut listener = Running::start(&["listen", &name, "--once"]);
    let client = run(
        &["connect", &name, "--timeout", "5"],
        b"hello from client\n",
    );
    assert!(client.status.success(), "{}", client.stderr);
    listener.wait_for_stdout("hello from client\n");
    let listener = listener.finish();
    assert!(listener.status.success(), "{}", listener.stderr);
    assert_eq!(listener.stdout, "hello from client\n");
}

#[test]
fn listen_sends_stdin_to_the_client() {
    let name = unique_name("stdin");
    let mut listener = Running::start(&["listen", &name, "--once"]);
    listener.send(b"from server\n");
    let mut client = Running::start(&["connect", &name, "--timeout", "5"]);
    client.wait_for_stdout("from server\n");
    let client = client.finish(); // closing its stdin ends the connection
    assert!(client.status.success(), "{}", client.stderr);
    assert_eq!(client.stdout, "from server\n");
    let listener = listener.finish();
    assert!(listener.status.success(), "{}", listener.stderr);
}

#[test]
fn connect_timeout_waits_for_a_late_server() {
    let name = unique_name("late");
    let mut client = Running::start(&["connect", &name, "--timeout", "8"]);
    client.send(b"late\n");
    client.close_stdin();
    std::thread::sleep(Duration::from_millis(300)); // the client is retrying meanwhile
    let listener = Running::start(&["listen", &name, "--echo", "--once"]);
    let client = client.finish();
    assert!(client.status.success(), "{}", client.stderr);
    assert_eq!(client.stdout, "late\n");
    assert!(listener.finish().status.success());
}

#[test]
fn verbose_logs_go_to_stderr() {
    let name = unique_name("verbose");
    let listener = Running::start(&["-v", "listen", &name, "--echo", "--once"]);
    let client = run(&["connect", &name, "--timeout", "5"], b"x");
    assert_eq!(client.stdout, "x");
    let listener = listener.finish();
    assert_eq!(listener.stdout, "");
    assert!(listener.stderr.contains("connected"), "{}", listener.stderr);
    assert!(
        listener.stderr.contains("disconnected"),
        "{}",
        listener.stderr
    );
}

#[test]
fn probe_shows_platform_and_name_types() {
    let out = run(&["probe"], b"");
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.contains(std::env::consts::OS), "{}", out.stdout);
    assert!(out.stdout.contains("name types"), "{}", out.stdout);
    assert!(out.stdout.contains("paths") || out.stdout.contains("namespaced"));
    if cfg!(target_os = "linux") {
        assert!(out.stdout.contains("Both"), "{}", out.stdout);
        assert!(out.stdout.contains("107 bytes"), "{}", out.stdout);
    }
}

#[test]
fn empty_name_is_a_one_line_error() {
    let out = run(&["connect", ""], b"");
    assert!(one_line_error(&out).contains("empty"), "{}", out.stderr);
    let out = run(&["listen", ""], b"");
    assert!(one_line_error(&out).contains("empty"), "{}", out.stderr);
}

#[cfg(unix)]
#[test]
fn too_long_path_is_a_one_line_error() {
    let long = format!("/tmp/{}", "x".repeat(300));
    let out = run(&["connect", &long], b"");
    assert!(one_line_error(&out).contains("limit"), "{}", out.stderr);
    let out = run(&["listen", &long, "--echo"], b"");
    assert!(one_line_error(&out).contains("limit"), "{}", out.stderr);
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
fn mode_with_namespaced_name_is_refused() {
    let name = unique_name("mode");
    let out = run(&["listen", &name, "--mode", "600"], b"");
    assert!(one_line_error(&out).contains("mode"), "{}", out.stderr);
}

#[test]
fn connect_without_server_fails_at_once() {
    let name = unique_name("nobody");
    let out = run(&["connect", &name], b"");
    let line = one_line_error(&out);
    assert!(line.contains(&name), "{line}");
    assert!(line.contains("listening"), "{line}");
}

#[test]
fn connect_timeout_expires_with_a_clear_error() {
    let name = unique_name("never");
    let out = run(&["connect", &name, "--timeout", "0.2"], b"");
    assert!(one_line_error(&out).contains("no server"), "{}", out.stderr);
}

#[test]
fn usage_errors_are_one_line_with_status_2() {
    for args in [
        &["listen"][..],
        &["frobnicate"],
        &["bench", "--rounds", "0"],
        &["bench", "--group", "async"],
        &["soak", "--seconds", "0"],
        &["soak", "--minutes", "1", "--seconds", "1"],
    ] {
        let out = run(args, b"");
        one_line_error(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn help_hides_the_bench_peer() {
    let out = run(&["--help"], b"");
    assert!(out.status.success());
    assert!(out.stdout.contains("bench"));
    assert!(out.stdout.contains("soak"));
    assert!(!out.stdout.contains("bench-peer"));
    assert!(!out.stdout.contains("soak-server"));
}

#[test]
fn bench_quick_prints_the_comparison_table() {
    let tmp = TempDir(unique_dir("bench"));
    let args = [
        "bench", "--quick", "--rounds", "2", "--iters", "50", "--bytes", "256K", "--conns", "10",
    ];
    let out = Running::start_in(&args, Some(&tmp.0)).finish();
    assert!(out.status.success(), "{}", out.stderr);
    assert!(out.stdout.contains("localipc vs raw"), "{}", out.stdout);
    for group in ["sync", "tokio current-thread", "tokio multi-thread"] {
        for row in [
            "round trip 64 B, median",
            "round trip 64 B, p99",
            "throughput",
            "connections",
        ] {
            let line = out
                .stdout
                .lines()
                .find(|l| l.starts_with(&format!("{group}  ")) && l.contains(row))
                .unwrap_or_else(|| panic!("no {group:?} {row:?} row in {}", out.stdout));
            assert!(line.contains('x'), "no ratio in {line:?}");
        }
    }
    // Shared memory against the raw socket, where `localipc::shm` exists.
    if cfg!(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_vendor = "apple",
        windows
    )) {
        for row in [
            "round trip 64 B, median",
            "round trip 64 B, p99",
            "throughput",
        ] {
            let line = out
                .stdout
                .lines()
                .find(|l| l.starts_with("shm  ") && l.contains(row))
                .unwrap_or_else(|| panic!("no shm {row:?} row in {}", out.stdout));
            assert!(line.contains('x'), "no ratio in {line:?}");
        }
    }
    // The bench's directory and socket files are gone.
    let left: Vec<_> = std::fs::read_dir(&tmp.0).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn bench_peer_exits_and_cleans_up_when_its_parent_closes_stdin() {
    let tmp = TempDir(unique_dir("peer"));
    // A work directory with a socket file left in it, and one that is not a work directory.
    let work = tmp.0.join("localipc-bench-test");
    let other = tmp.0.join("not-a-bench-dir");
    for dir in [&work, &other] {
        std::fs::create_dir(dir).unwrap();
        std::fs::write(dir.join("000001.sock"), b"").unwrap();
    }
    for dir in [&work, &other] {
        let peer = Running::start(&["bench-peer", "--dir", dir.to_str().unwrap()]);
        assert!(peer.finish().status.success());
    }
    assert!(!work.exists(), "the work directory was left behind");
    assert!(
        other.join("000001.sock").exists(),
        "a foreign directory was touched"
    );
}

#[test]
fn bench_peer_reports_bad_jobs() {
    let tmp = TempDir(unique_dir("peer-bad"));
    let mut peer = Running::start(&["bench-peer", "--dir", tmp.0.to_str().unwrap()]);
    peer.send(b"nonsense\n");
    peer.wait_for_stdout("\n"); // stdin stays open until the reply is in
    let out = peer.finish();
    assert!(out.stdout.starts_with("error bad job"), "{}", out.stdout);
}

#[test]
fn bench_group_selects_rows() {
    let tmp = TempDir(unique_dir("bench-group"));
    let args = [
        "bench", "--quick", "--group", "tokio", "--rounds", "1", "--iters", "20", "--bytes", "64K",
        "--conns", "5",
    ];
    let out = Running::start_in(&args, Some(&tmp.0)).finish();
    assert!(out.status.success(), "{}", out.stderr);
    assert!(
        out.stdout.contains("tokio current-thread"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("tokio multi-thread"), "{}", out.stdout);
    assert!(
        !out.stdout.lines().any(|l| l.starts_with("sync ")),
        "{}",
        out.stdout
    );
}

/// Runs a short soak with `args` and checks its summary: present, with no errors.
fn short_soak(args: &[&str], tmp: &Path) -> Finished {
    let mut all = vec![
        "soak",
        "--seconds",
        "2",
        "--interval",
        "0.5",
        "--clients",
        "8",
    ];
    all.extend_from_slice(args);
    let out = Running::start_in(&all, Some(tmp)).finish();
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    let summary = out
        .stdout
        .lines()
        .find(|l| l.starts_with("summary: "))
        .unwrap_or_else(|| panic!("no summary in {:?}; stderr {:?}", out.stdout, out.stderr));
    assert!(summary.contains(" errors=0,"), "{summary}; {}", out.stderr);
    assert!(out.stdout.contains("  client: "), "{}", out.stdout);
    assert!(out.stdout.contains("  server: "), "{}", out.stdout);
    out
}

#[test]
fn soak_runs_and_summarises() {
    let tmp = TempDir(unique_dir("soak"));
    let out = short_soak(&[], &tmp.0);
    assert!(out.stdout.contains(" connections ("), "{}", out.stdout);
}

#[cfg(unix)]
#[test]
fn soak_sync_on_a_path_leaves_nothing_behind() {
    let tmp = TempDir(unique_dir("soak-sync"));
    let sock = tmp.0.join("soak.sock");
    short_soak(&["--api", "sync", "--name", sock.to_str().unwrap()], &tmp.0);
    let left: Vec<_> = std::fs::read_dir(&tmp.0).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Issue 16.5: `localipc list` shows listeners this test made: on Linux a namespaced one and
/// a socket file (found at its public path although localipc bound it in a private
/// directory), each with this process's pid and user; on Windows the pipe name. `--json`
/// and the table agree.
#[cfg(any(target_os = "linux", windows))]
#[test]
fn list_shows_listeners_made_by_this_test() {
    use localipc::local_socket::LocalSocketListener;
    let ns = unique_name("list");
    let mut names = vec![ns.clone()];
    let dir = TempDir(unique_dir("list"));
    if cfg!(unix) {
        names.push(dir.0.join("l.sock").display().to_string());
    }
    let _listeners: Vec<LocalSocketListener> = names
        .iter()
        .map(|n| LocalSocketListener::bind(n.as_str()).unwrap())
        .collect();
    let out = run(&["list", "--json"], b"");
    if cfg!(windows) && out.stderr.contains("not supported under Wine") {
        // Wine has no directory queries on the pipe file system; real Windows has. The
        // message comes only where ntdll exports wine_get_version.
        return;
    }
    assert!(out.status.success(), "{}", out.stderr);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let entries = doc.as_array().unwrap();
    for name in &names {
        let e = entries
            .iter()
            .find(|e| e["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} not listed: {}", out.stdout));
        if cfg!(windows) {
            assert_eq!(e["type"], "pipe");
            assert!(e["instances"].as_u64().unwrap() >= 1, "{e}");
        } else {
            assert_eq!(e["type"], "stream");
            let pids = e["pids"].as_array().unwrap();
            assert!(pids.contains(&std::process::id().into()), "{e}");
            #[cfg(unix)]
            // SAFETY: geteuid cannot fail.
            assert_eq!(e["uid"], unsafe { libc::geteuid() });
        }
    }
    let table = run(&["list"], b"");
    assert!(table.status.success(), "{}", table.stderr);
    for name in &names {
        assert!(
            table.stdout.lines().any(|l| l.ends_with(name.as_str())),
            "{}",
            table.stdout
        );
    }
}
