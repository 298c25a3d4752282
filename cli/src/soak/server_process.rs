//! The soak server process, seen from the soak: starting it, asking for its stats, stopping
//! it. Every wait is bounded; it is killed and reaped on every exit path.

use super::server::ServerStats;
use super::Api;
use crate::error;
use std::ffi::OsStr;
use std::io::{self, BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long the server may take to bind, to answer, or to exit once told to.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A running `localipc soak-server`; killed and reaped when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    /// The child.
    child: Child,
    /// Where commands go; `None` once closed.
    stdin: Option<ChildStdin>,
    /// Its stdout, line by line, read by a thread.
    lines: Receiver<io::Result<String>>,
}

impl ServerProcess {
    /// Starts this executable as `soak-server` on `name` and waits until it has bound.
    pub fn start(api: Api, name: &OsStr) -> io::Result<Self> {
        let exe = std::env::current_exe().map_err(|e| {
            error::other(format!(
                "finding this executable to start the soak server: {e}"
            ))
        })?;
        let mut child = Command::new(&exe)
            .arg("soak-server")
            .arg("--api")
            .arg(api.name())
            .arg("--name")
            .arg(name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("starting the soak server: {e}")))?;
        let stdout = child.stdout.take();
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
        let mut server = Self {
            stdin: child.stdin.take(),
            child,
            lines,
        };
        match server.next_line()?.as_str() {
            "ready" => Ok(server),
            line => Err(error::other(match line.strip_prefix("error ") {
                Some(why) => why.to_owned(),
                None => format!("the soak server said {line:?} instead of \"ready\""),
            })),
        }
    }

    /// Asks for the server's counters, memory and descriptors.
    pub fn stats(&mut self) -> io::Result<ServerStats> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| error::other("the soak server's stdin is closed"))?;
        stdin
            .write_all(b"stats\n")
            .and_then(|()| stdin.flush())
            .map_err(|e| self.gone(e))?;
        let line = self.next_line()?;
        ServerStats::from_line(&line)
            .ok_or_else(|| error::other(format!("the soak server answered {line:?}")))
    }

    /// Closes its stdin so that it stops, and waits for its exit (killed if late).
    pub fn finish(mut self) -> io::Result<()> {
        drop(self.stdin.take());
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return match status.success() {
                    true => Ok(()),
                    false => Err(error::other(format!("the soak server failed: {status}"))),
                };
            }
            if Instant::now() >= deadline {
                return Err(error::other(format!(
                    "the soak server did not exit within {TIMEOUT:?} and was killed"
                ))); // Drop kills it
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The next line of its stdout, waiting at most [`TIMEOUT`].
    fn next_line(&mut self) -> io::Result<String> {
        match self.lines.recv_timeout(TIMEOUT) {
            Ok(Ok(line)) => Ok(line),
            Ok(Err(e)) => Err(self.gone(e)),
            Err(RecvTimeoutError::Disconnected) => {
                Err(self.gone(io::ErrorKind::UnexpectedEof.into()))
            }
            Err(RecvTimeoutError::Timeout) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the soak server did not answer within {TIMEOUT:?}"),
            )),
        }
    }

    /// The error for a server that stopped talking: its exit status if it has exited.
    fn gone(&mut self, err: io::Error) -> io::Error {
        // Give an exiting server a moment to be reaped, so that the status can be told.
        let deadline = Instant::now() + Duration::from_millis(200);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return error::other(format!("the soak server exited unexpectedly ({status})"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        error::other(format!("lost contact with the soak server: {err}"))
    }
}

impl Drop for ServerProcess {
    /// Kills the server if it still runs, and reaps it.
    fn drop(&mut self) {
        drop(self.stdin.take());
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
