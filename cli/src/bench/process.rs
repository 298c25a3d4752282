//! The peer process, seen from the measuring side: spawning it, talking to it, bounding
//! every wait on it, and killing and reaping it on every exit path.

use super::peer::Job;
use crate::error;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How long the peer may take to exit once told to.
const EXIT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a failed round waits for the peer to say what went wrong on its side.
const PEER_ERROR_WAIT: Duration = Duration::from_millis(200);

/// Waits for the peer to report the round done (blocking; bounded by the round's deadline).
pub type WaitDone<'a> = dyn FnMut() -> io::Result<()> + Send + 'a;

/// A running `localipc bench-peer`; killed and reaped when dropped.
#[derive(Debug)]
pub struct PeerProcess {
    /// The child, shared with the watchdog thread.
    child: Arc<Mutex<Child>>,
    /// Where jobs go; `None` once closed.
    stdin: Option<ChildStdin>,
    /// Reply lines, read by a thread; disconnected when the peer's stdout closes.
    replies: Receiver<io::Result<String>>,
    /// Arms (`Some(deadline)`) and disarms (`None`) the watchdog.
    watchdog: Option<Sender<Option<Instant>>>,
    /// Set when the watchdog killed the peer.
    fired: Arc<AtomicBool>,
}

impl PeerProcess {
    /// Starts this executable as `bench-peer --dir <dir>`.
    pub fn spawn(dir: &Path) -> io::Result<Self> {
        let exe = std::env::current_exe().map_err(|e| {
            error::other(format!(
                "finding this executable to start the bench peer: {e}"
            ))
        })?;
        let mut child = Command::new(&exe)
            .arg("bench-peer")
            .arg("--dir")
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("starting the bench peer {}: {e}", exe.display()),
                )
            })?;
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
        let child = Arc::new(Mutex::new(child));
        let (Some(stdin), Some(stdout)) = (stdin, stdout) else {
            return Err(error::other("the bench peer has no stdin or stdout"));
        };
        let (reply_tx, replies) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if reply_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let fired = Arc::new(AtomicBool::new(false));
        let (watchdog, deadlines) = mpsc::channel();
        std::thread::spawn({
            let (child, fired) = (Arc::clone(&child), Arc::clone(&fired));
            move || watch(&deadlines, &child, &fired)
        });
        Ok(Self {
            child,
            stdin: Some(stdin),
            replies,
            watchdog: Some(watchdog),
            fired,
        })
    }

    /// Runs one round: sends `job`, waits for the peer to be ready, runs `measure`, waits for
    /// the peer to be done. If it all takes longer than `deadline`, the peer is killed, which
    /// ends every blocked wait on either side, and the round fails.
    ///
    /// `measure` gets the wait for the peer's "done" to call once its side is closed, so that
    /// it can keep its runtime running meanwhile (see `Flavoured::run`); if it returns
    /// without calling it, the wait happens after it.
    pub fn round<T>(
        &mut self,
        job: &Job,
        deadline: Duration,
        measure: impl FnOnce(&mut WaitDone<'_>) -> io::Result<T>,
    ) -> io::Result<T> {
        self.arm(Some(Instant::now() + deadline));
        let result = self.send(job).and_then(|()| self.expect("ready"));
        let result = result.and_then(|()| {
            let mut waited = false;
            let measured = measure(&mut || {
                waited = true;
                self.expect("done")
            });
            match measured {
                Ok(value) if waited => Ok(value),
                Ok(value) => self.expect("done").map(|()| value),
                // The peer's own account of what went wrong, if it has one, explains more.
                Err(e) => Err(self.peer_error().unwrap_or(e)),
            }
        });
        self.arm(None);
        if self.fired.load(Ordering::SeqCst) {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the bench peer did not finish a {} {} round within {:.0} s and was killed",
                    job.group.tag(),
                    job.work.case().tag(),
                    deadline.as_secs_f64()
                ),
            ));
        }
        result.map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "{} {} round ({}): {e}",
                    job.group.tag(),
                    job.work.case().tag(),
                    job.subject.name()
                ),
            )
        })
    }

    /// Closes the peer's stdin so it exits, and waits for that (bounded; killed if late).
    pub fn finish(mut self) -> io::Result<()> {
        drop(self.stdin.take());
        let deadline = Instant::now() + EXIT_TIMEOUT;
        loop {
            if let Some(status) = lock(&self.child).try_wait()? {
                if status.success() {
                    return Ok(());
                }
                return Err(error::other(format!("the bench peer failed: {status}")));
            }
            if Instant::now() >= deadline {
                return Err(error::other(format!(
                    "the bench peer did not exit within {EXIT_TIMEOUT:?} and was killed"
                ))); // Drop kills it
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sets or clears the watchdog's deadline.
    fn arm(&self, deadline: Option<Instant>) {
        if let Some(watchdog) = &self.watchdog {
            let _ = watchdog.send(deadline);
        }
    }

    /// Writes `job` as one line.
    fn send(&mut self, job: &Job) -> io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| error::other("the bench peer's stdin is closed"))?;
        stdin
            .write_all(format!("{job}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .map_err(|e| self.gone(e))
    }

    /// Waits for the reply `want`; an `error …` reply becomes an error.
    fn expect(&mut self, want: &str) -> io::Result<()> {
        match self.replies.recv() {
            Ok(Ok(line)) if line == want => Ok(()),
            Ok(Ok(line)) => match line.strip_prefix("error ") {
                Some(msg) => Err(error::other(format!("bench peer: {msg}"))),
                None => Err(error::other(format!(
                    "the bench peer answered {line:?} instead of {want:?}"
                ))),
            },
            Ok(Err(e)) => Err(self.gone(e)),
            Err(_) => Err(self.gone(io::ErrorKind::UnexpectedEof.into())),
        }
    }

    /// The peer's side of a failed round, if it has one: an `error …` reply, or its exit
    /// (both may take a moment to show after the connection broke).
    fn peer_error(&self) -> Option<io::Error> {
        match self.replies.recv_timeout(PEER_ERROR_WAIT) {
            Ok(Ok(line)) => {
                let msg = line.strip_prefix("error ")?;
                return Some(error::other(format!("bench peer: {msg}")));
            }
            Err(RecvTimeoutError::Timeout) => return None,
            Ok(Err(_)) | Err(RecvTimeoutError::Disconnected) => {} // its stdout closed
        }
        let deadline = Instant::now() + PEER_ERROR_WAIT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = lock(&self.child).try_wait() {
                return Some(error::other(format!(
                    "the bench peer exited unexpectedly ({status})"
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }

    /// The error for a peer that stopped talking: its exit status if it has exited.
    fn gone(&self, err: io::Error) -> io::Error {
        match lock(&self.child).try_wait() {
            Ok(Some(status)) => {
                error::other(format!("the bench peer exited unexpectedly ({status})"))
            }
            _ => error::other(format!("lost contact with the bench peer: {err}")),
        }
    }
}

impl Drop for PeerProcess {
    /// Stops the watchdog, then kills the peer if it still runs, and reaps it.
    fn drop(&mut self) {
        drop(self.watchdog.take());
        drop(self.stdin.take());
        let mut child = lock(&self.child);
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
        }
        let _ = child.wait();
    }
}

/// Watchdog thread: kills the child when an armed deadline passes; ends when the sender
/// is dropped.
fn watch(deadlines: &Receiver<Option<Instant>>, child: &Mutex<Child>, fired: &AtomicBool) {
    let mut armed: Option<Instant> = None;
    loop {
        let next = match armed {
            None => deadlines.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(at) => deadlines.recv_timeout(at.saturating_duration_since(Instant::now())),
        };
        match next {
            Ok(deadline) => armed = deadline,
            Err(RecvTimeoutError::Timeout) => {
                fired.store(true, Ordering::SeqCst);
                let _ = lock(child).kill();
                armed = None;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Locks `mutex`, ignoring poisoning.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
