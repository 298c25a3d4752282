//! Test helpers: unique names, a leak-checking temp dir, bounded waits.
#![allow(dead_code)] // each test binary uses a different subset

pub(crate) mod handles;
pub(crate) mod race;
#[cfg(any(target_os = "linux", target_os = "android", windows))]
pub(crate) mod shm;
#[cfg(target_os = "linux")]
pub(crate) mod syscalls;
use localipc::local_socket::NameTypeSupport;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A string unique to this call: `localipc-test-<pid>-<nonce>-<tag>-<n>`. The nonce (start
/// time of this process, in nanoseconds) matters under Wine, which reuses small pids across
/// processes while its temp directory persists.
pub(crate) fn unique(tag: &str) -> String {
    static NONCE: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let nonce = NONCE.get_or_init(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        (t.as_nanos() % 1_000_000_007) as u32
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("localipc-test-{}-{nonce:x}-{tag}-{n}", std::process::id())
}

/// A namespaced name (`@…`) where the platform has them, else `None`.
pub(crate) fn namespaced(tag: &str) -> Option<String> {
    NameTypeSupport::query()
        .namespace_supported()
        .then(|| format!("@{}", unique(tag)))
}

/// A fresh directory under the system temp dir that must hold no socket file when dropped:
/// a leftover socket file fails the test. Everything in it is removed afterwards.
pub(crate) struct TestDir {
    path: PathBuf,
}

impl TestDir {
    pub(crate) fn new(tag: &str) -> Self {
        let path = std::env::temp_dir().join(unique(tag));
        std::fs::create_dir(&path).expect("create test dir");
        Self { path }
    }

    /// A path inside the directory.
    pub(crate) fn join(&self, file: &str) -> PathBuf {
        self.path.join(file)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        #[cfg_attr(not(unix), allow(unused_mut))] // only Unix has socket files to find
        let mut leaked: Vec<PathBuf> = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&self.path) {
            for e in entries.flatten() {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::FileTypeExt;
                    if e.file_type().map(|t| t.is_socket()).unwrap_or(false) {
                        leaked.push(e.path());
                    }
                }
                let _ =
                    std::fs::remove_dir_all(e.path()).or_else(|_| std::fs::remove_file(e.path()));
            }
        }
        let _ = std::fs::remove_dir(&self.path);
        if !leaked.is_empty() && !std::thread::panicking() {
            panic!("socket files left behind: {leaked:?}");
        }
    }
}

/// A name for a listener: namespaced where supported, else a socket path in `dir`.
pub(crate) fn any_name(dir: &TestDir, tag: &str) -> String {
    namespaced(tag).unwrap_or_else(|| {
        dir.join(&format!("{tag}.sock"))
            .to_string_lossy()
            .into_owned()
    })
}

/// Runs `f` on a thread and fails the test if it takes longer than `limit`: a hung IPC test
/// fails in seconds instead of hanging CI.
pub(crate) fn bounded<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => {
            let _ = handle.join();
            v
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("sender dropped without sending"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("test body did not finish within {limit:?}"),
    }
}

/// The default bound for one test body.
pub(crate) const LIMIT: Duration = Duration::from_secs(20);

/// Asserts that `err` has `kind` and that its message contains `needle` (the offending input).
#[track_caller]
pub(crate) fn assert_err(err: std::io::Error, kind: std::io::ErrorKind, needle: &str) {
    assert_eq!(err.kind(), kind, "wrong kind for error: {err}");
    let msg = err.to_string();
    assert!(
        msg.contains(needle),
        "error message {msg:?} does not name {needle:?}"
    );
}

/// Waits up to `limit` for `child` to exit; past that, kills and reaps it and fails the test.
pub(crate) fn wait_child(
    child: &mut std::process::Child,
    limit: Duration,
) -> std::process::ExitStatus {
    localipc_child::wait_bounded(child, limit).unwrap_or_else(|e| panic!("{e}"))
}

/// A child process running one test of the current test binary in a given role; killed and
/// reaped when dropped, so no test leaves a process behind (a `LineChild`, see `child/`).
pub(crate) struct Peer(localipc_child::LineChild);

const ROLE_ENV: &str = "LOCALIPC_TEST_ROLE";
const ARG_ENV: &str = "LOCALIPC_TEST_ARG";

/// How long a peer may take to print an expected line or to exit.
const PEER_LIMIT: Duration = Duration::from_secs(10);

/// In a child started by [`Peer::spawn`]: its role and argument.
pub(crate) fn peer_role() -> Option<(String, String)> {
    Some((
        std::env::var(ROLE_ENV).ok()?,
        std::env::var(ARG_ENV).unwrap_or_default(),
    ))
}

impl Peer {
    /// Re-runs this test binary for the single test `test`, with `role` and `arg` in its
    /// environment (see [`peer_role`]); its stdout lines arrive through [`Peer::expect`].
    pub(crate) fn spawn(test: &str, role: &str, arg: &str) -> Self {
        Self::spawn_with(test, role, arg, |_| {})
    }

    /// As [`Peer::spawn`], letting the caller adjust the command (e.g. the user to run as).
    pub(crate) fn spawn_with(
        test: &str,
        role: &str,
        arg: &str,
        adjust: impl FnOnce(&mut std::process::Command),
    ) -> Self {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(ROLE_ENV, role)
            .env(ARG_ENV, arg);
        adjust(&mut cmd);
        let what = format!("peer process {test} ({role})");
        Self(localipc_child::LineChild::spawn(&what, cmd).unwrap_or_else(|e| panic!("{e}")))
    }

    /// Waits (bounded) for a stdout line containing `prefix` (the test harness may print its
    /// `test name ... ` before it); returns the rest of the line after it.
    pub(crate) fn expect(&mut self, prefix: &str) -> String {
        let deadline = std::time::Instant::now() + PEER_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.0.next_line(Some(left)) {
                Ok(line) => {
                    if let Some(at) = line.find(prefix) {
                        return line[at + prefix.len()..].to_string();
                    }
                }
                Err(e) => panic!("peer process did not print {prefix:?}: {e}"),
            }
        }
    }

    /// The process id of the peer.
    pub(crate) fn id(&self) -> u32 {
        self.0.id()
    }

    /// Kills the process (SIGKILL / TerminateProcess) and reaps it.
    pub(crate) fn kill(&mut self) {
        self.0.kill();
    }

    /// Waits (bounded) for the process to exit and returns its status.
    pub(crate) fn wait(&mut self) -> std::process::ExitStatus {
        self.0.wait(PEER_LIMIT).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Ends the whole test process (exit 101, with a message) if the guard is not dropped within
/// `secs`: for tests whose hang would otherwise block the test binary forever.
pub(crate) struct Watchdog(std::sync::Arc<std::sync::atomic::AtomicBool>);

/// Arms a [`Watchdog`] for `test`.
pub(crate) fn watchdog(test: &'static str, secs: u64) -> Watchdog {
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&done);
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        while std::time::Instant::now() < deadline {
            if flag.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Straight to stderr: libtest captures `eprintln!` of test threads.
        let _ = writeln!(
            std::io::stderr(),
            "watchdog: test `{test}` still running after {secs} s: hung"
        );
        std::process::exit(101);
    });
    Watchdog(done)
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// `setsockopt(SOL_SOCKET, SO_INQ, 1)` on `fd` (84 on x86 and arm; Linux 6.17 and later give
/// Unix stream sockets the count of bytes left with each `recvmsg`): whether it was taken.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn set_so_inq(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: `on` is a valid int for the call, its size given.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            84,
            (&raw const on).cast(),
            4,
        )
    };
    r == 0
}

/// Whether this kernel has `SO_INQ` for Unix stream sockets (Linux 6.17 and later).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn kernel_has_so_inq() -> bool {
    use std::os::fd::AsFd;
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    set_so_inq(a.as_fd())
}
