//! Test helpers: unique names, a leak-checking temp dir, bounded waits.
#![allow(dead_code)] // each test binary uses a different subset

use localipc::local_socket::NameTypeSupport;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A string unique to this process and call: `localipc-test-<pid>-<tag>-<n>`.
pub fn unique(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("localipc-test-{}-{tag}-{n}", std::process::id())
}

/// A namespaced name (`@…`) where the platform has them, else `None`.
pub fn namespaced(tag: &str) -> Option<String> {
    NameTypeSupport::query()
        .namespace_supported()
        .then(|| format!("@{}", unique(tag)))
}

/// A fresh directory under the system temp dir that must hold no socket file when dropped:
/// a leftover socket file fails the test. Everything in it is removed afterwards.
pub struct TestDir {
    path: PathBuf,
}

impl TestDir {
    pub fn new(tag: &str) -> Self {
        let path = std::env::temp_dir().join(unique(tag));
        std::fs::create_dir(&path).expect("create test dir");
        Self { path }
    }

    /// A path inside the directory.
    pub fn join(&self, file: &str) -> PathBuf {
        self.path.join(file)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let mut leaked = Vec::new();
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
pub fn any_name(dir: &TestDir, tag: &str) -> String {
    namespaced(tag).unwrap_or_else(|| {
        dir.join(&format!("{tag}.sock"))
            .to_string_lossy()
            .into_owned()
    })
}

/// Runs `f` on a thread and fails the test if it takes longer than `limit`: a hung IPC test
/// fails in seconds instead of hanging CI.
pub fn bounded<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
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
pub const LIMIT: Duration = Duration::from_secs(20);

/// Asserts that `err` has `kind` and that its message contains `needle` (the offending input).
#[track_caller]
pub fn assert_err(err: std::io::Error, kind: std::io::ErrorKind, needle: &str) {
    assert_eq!(err.kind(), kind, "wrong kind for error: {err}");
    let msg = err.to_string();
    assert!(
        msg.contains(needle),
        "error message {msg:?} does not name {needle:?}"
    );
}
