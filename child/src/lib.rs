//! A child process spoken to in lines, with every wait bounded: [`LineChild`].
//!
//! One helper for the three places in this workspace that start a second process and talk
//! to it over its stdin and stdout: the bench peer and the soak server of `localipc-cli`
//! (the same executable, started as a hidden subcommand) and the peer processes of
//! localipc's integration tests (the same test binary, started for one test in a role).
//! What they share, and what lives here, is the process side: start it with stdin and
//! stdout piped, read its stdout line by line on a thread so that any wait for a line can
//! be bounded, write lines to it, kill it when a deadline passes (the watchdog, for waits
//! that block elsewhere, e.g. in socket I/O with the child), wait a bounded time for its
//! exit, and kill and reap it on every exit path; and, for the child, [`reply`] and
//! [`reply_error`]. What each says in its lines (bench jobs, soak stats, test markers) stays
//! with each.
//!
//! Standard library only, so that both the CLI and the library's dev-dependencies can use
//! it at no cost.

use std::io::{self, BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How long a child whose pipes broke is given to exit, so that its status can be told.
const EXIT_GRACE: Duration = Duration::from_millis(200);

/// How often a bounded wait for an exit looks again.
const POLL: Duration = Duration::from_millis(5);

/// A running child process with piped stdin and stdout (stderr inherited), spoken to in
/// lines; killed and reaped when dropped, so that it never outlives its handle.
///
/// Errors name the child as given to [`spawn`](Self::spawn) (e.g. "the bench peer").
#[derive(Debug)]
pub struct LineChild {
    /// What the child is, for messages: "the soak server".
    what: String,
    /// The child, shared with the watchdog thread.
    child: Arc<Mutex<Child>>,
    /// Where lines go; `None` once closed.
    stdin: Option<ChildStdin>,
    /// Its stdout lines, read by a thread; disconnected when its stdout closes.
    lines: Receiver<io::Result<String>>,
    /// Arms (`Some(deadline)`) and disarms (`None`) the watchdog; `None` once dropped.
    watchdog: Option<Sender<Option<Instant>>>,
    /// Set when the watchdog killed the child.
    fired: Arc<AtomicBool>,
}

/// `Command::spawn`, tried again (at most 3 more times, 100 ms apart) when it fails with
/// `ERROR_INTERNAL_ERROR` (1359) on Windows: Wine's `CreateProcess` answers that now and then
/// when both cores are busy (seen in a full Windows suite under Wine while other builds ran),
/// and a peer process that fails to start fails the whole test or bench round. Any other
/// error, and every error elsewhere, is returned at once.
fn spawn_retrying_wine_internal_errors(command: &mut Command) -> io::Result<Child> {
    const ERROR_INTERNAL_ERROR: i32 = 1359;
    let mut retries = 0;
    loop {
        match command.spawn() {
            Err(e)
                if cfg!(windows)
                    && e.raw_os_error() == Some(ERROR_INTERNAL_ERROR)
                    && retries < 3 =>
            {
                retries += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            result => return result,
        }
    }
}

impl LineChild {
    /// A [`Command`] for this very executable (`std::env::current_exe`), to start as `what`.
    pub fn this_executable(what: &str) -> io::Result<Command> {
        let exe = std::env::current_exe().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("finding this executable to start {what}: {e}"),
            )
        })?;
        Ok(Command::new(exe))
    }

    /// Starts `command` with stdin and stdout piped and stderr inherited, and a thread that
    /// reads its stdout line by line. `what` names it in errors.
    pub fn spawn(what: &str, mut command: Command) -> io::Result<Self> {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = spawn_retrying_wine_internal_errors(&mut command).map_err(|e| {
            let program = command.get_program().to_string_lossy();
            io::Error::new(e.kind(), format!("starting {what} ({program}): {e}"))
        })?;
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
        let child = Arc::new(Mutex::new(child));
        let (tx, lines) = mpsc::channel();
        if let Some(stdout) = stdout {
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let fired = Arc::new(AtomicBool::new(false));
        let (watchdog, deadlines) = mpsc::channel();
        std::thread::spawn({
            let (child, fired) = (Arc::clone(&child), Arc::clone(&fired));
            move || watch(&deadlines, &child, &fired)
        });
        Ok(Self {
            what: what.to_owned(),
            child,
            stdin,
            lines,
            watchdog: Some(watchdog),
            fired,
        })
    }

    /// What the child is, as given to [`spawn`](Self::spawn).
    pub fn what(&self) -> &str {
        &self.what
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        lock(&self.child).id()
    }

    /// Writes `line` and a line break to the child's stdin, and flushes.
    pub fn send(&mut self, line: &str) -> io::Result<()> {
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                format!("{}'s stdin is closed", self.what),
            ));
        };
        let written = stdin
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| stdin.flush());
        written.map_err(|e| self.gone(e))
    }

    /// The next line of the child's stdout, waiting at most `timeout`; `None` waits until a
    /// line comes or the stdout closes, for use only while the [watchdog](Self::kill_at) is
    /// armed. A closed stdout, or a child that has exited, is an error naming its status.
    pub fn next_line(&mut self, timeout: Option<Duration>) -> io::Result<String> {
        let next = match timeout {
            Some(timeout) => self.lines.recv_timeout(timeout),
            None => self
                .lines
                .recv()
                .map_err(|_| RecvTimeoutError::Disconnected),
        };
        match next {
            Ok(Ok(line)) => Ok(line),
            Ok(Err(e)) => Err(self.gone(e)),
            Err(RecvTimeoutError::Disconnected) => {
                Err(self.gone(io::ErrorKind::UnexpectedEof.into()))
            }
            Err(RecvTimeoutError::Timeout) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{} did not answer within {:?}",
                    self.what,
                    timeout.unwrap_or_default()
                ),
            )),
        }
    }

    /// The next line as a reply in the line protocol the CLI's children speak: a line
    /// `error <message>` becomes an error with that message, any other line is returned.
    pub fn reply(&mut self, timeout: Option<Duration>) -> io::Result<String> {
        let line = self.next_line(timeout)?;
        match line.strip_prefix("error ") {
            Some(msg) => Err(self.error_line(msg)),
            None => Ok(line),
        }
    }

    /// Waits for the reply `want` (see [`reply`](Self::reply)); any other is an error.
    pub fn expect(&mut self, want: &str, timeout: Option<Duration>) -> io::Result<()> {
        match self.reply(timeout)? {
            line if line == want => Ok(()),
            line => Err(io::Error::other(format!(
                "{} answered {line:?} instead of {want:?}",
                self.what
            ))),
        }
    }

    /// The child's own account of a failure on its side, if it gives one within `wait`:
    /// an `error <message>` line, or its exit (both may take a moment to show after a
    /// connection with it broke).
    pub fn account(&mut self, wait: Duration) -> Option<io::Error> {
        match self.lines.recv_timeout(wait) {
            Ok(Ok(line)) => return Some(self.error_line(line.strip_prefix("error ")?)),
            Err(RecvTimeoutError::Timeout) => return None,
            Ok(Err(_)) | Err(RecvTimeoutError::Disconnected) => {} // its stdout closed
        }
        let status = poll_exit(wait, || lock(&self.child).try_wait()).ok()??;
        Some(self.exited(status))
    }

    /// Kills the child once `deadline` passes, which ends every wait on it, here or in
    /// another thread (a blocked read of a pipe or socket it holds the other end of);
    /// `None` disarms. [`fired`](Self::fired) tells whether it did.
    pub fn kill_at(&self, deadline: Option<Instant>) {
        if let Some(watchdog) = &self.watchdog {
            let _ = watchdog.send(deadline);
        }
    }

    /// Whether the deadline of [`kill_at`](Self::kill_at) passed and the child was killed.
    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }

    /// Closes the child's stdin, which tells a child that serves until end of input to exit.
    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// Waits at most `timeout` for the child to exit; past that, kills and reaps it and
    /// fails with [`io::ErrorKind::TimedOut`].
    pub fn wait(&mut self, timeout: Duration) -> io::Result<ExitStatus> {
        let exited = poll_exit(timeout, || lock(&self.child).try_wait())?;
        exited.ok_or_else(|| {
            self.kill();
            late(&self.what, timeout)
        })
    }

    /// Closes the child's stdin and waits at most `timeout` for it to exit (killed if late);
    /// an exit status other than success is an error.
    pub fn finish(mut self, timeout: Duration) -> io::Result<()> {
        self.close_stdin();
        let status = self.wait(timeout)?;
        match status.success() {
            true => Ok(()),
            false => Err(io::Error::other(format!("{} failed: {status}", self.what))),
        }
    }

    /// Closes the child's stdin, then collects its stdout lines until it closes and waits
    /// for its exit, all within `timeout` (killed if late): for a child run as a command.
    pub fn output(mut self, timeout: Duration) -> io::Result<(ExitStatus, Vec<String>)> {
        self.close_stdin();
        let deadline = Instant::now() + timeout;
        let mut lines = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(Ok(line)) => lines.push(line),
                Ok(Err(e)) => return Err(self.gone(e)),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    self.kill();
                    return Err(late(&self.what, timeout));
                }
            }
        }
        let status = self.wait(deadline.saturating_duration_since(Instant::now()))?;
        Ok((status, lines))
    }

    /// Kills the child if it still runs, and reaps it.
    pub fn kill(&mut self) {
        let mut child = lock(&self.child);
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
        }
        let _ = child.wait();
    }

    /// The error for an `error <msg>` line.
    fn error_line(&self, msg: &str) -> io::Error {
        io::Error::other(format!("{}: {msg}", self.what))
    }

    /// The error for a child that exited with `status` while spoken to.
    fn exited(&self, status: ExitStatus) -> io::Error {
        io::Error::other(format!("{} exited unexpectedly ({status})", self.what))
    }

    /// The error for a child that stopped talking (`err`): its exit status if it exits
    /// within [`EXIT_GRACE`].
    fn gone(&self, err: io::Error) -> io::Error {
        match poll_exit(EXIT_GRACE, || lock(&self.child).try_wait()) {
            Ok(Some(status)) => self.exited(status),
            _ => io::Error::new(
                err.kind(),
                format!("lost contact with {}: {err}", self.what),
            ),
        }
    }
}

impl Drop for LineChild {
    /// Stops the watchdog, closes stdin, then kills the child if it still runs, and reaps it.
    fn drop(&mut self) {
        drop(self.watchdog.take());
        self.close_stdin();
        self.kill();
    }
}

/// The child's side of the line protocol: writes `line` and a line break to `out` (its
/// stdout), and flushes, so that the parent sees it at once.
pub fn reply(out: &mut impl Write, line: &str) -> io::Result<()> {
    writeln!(out, "{line}")?;
    out.flush()
}

/// The child's side: replies `error <message>`, `err`'s message on one line, which
/// [`LineChild::reply`] turns back into an error.
pub fn reply_error(out: &mut impl Write, err: &dyn std::fmt::Display) -> io::Result<()> {
    reply(out, &format!("error {}", one_line(&err.to_string())))
}

/// `msg` on one line: line breaks become spaces, surrounding blanks are trimmed.
pub fn one_line(msg: &str) -> String {
    msg.split(['\n', '\r'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Waits at most `timeout` for `child` to exit; past that, kills and reaps it and fails with
/// [`io::ErrorKind::TimedOut`]. For children not spoken to in lines.
pub fn wait_bounded(child: &mut Child, timeout: Duration) -> io::Result<ExitStatus> {
    poll_exit(timeout, || child.try_wait())?.ok_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        late("the child process", timeout)
    })
}

/// Calls `try_wait` until it reports an exit or `timeout` has passed (then `Ok(None)`).
fn poll_exit(
    timeout: Duration,
    mut try_wait: impl FnMut() -> io::Result<Option<ExitStatus>>,
) -> io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(POLL);
    }
}

/// The error for a child that did not exit within `timeout` and was killed.
fn late(what: &str, timeout: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("{what} did not exit within {timeout:?} and was killed"),
    )
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
