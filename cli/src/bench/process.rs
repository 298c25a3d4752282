//! The peer process, seen from the measuring side: a [`LineChild`] running this executable
//! as `bench-peer`, spoken to a [`Job`] at a time, every round bounded by its deadline.

use super::job::{Job, WaitDone, DONE, READY};
use localipc_child::LineChild;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long the peer may take to exit once told to.
const EXIT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a failed round waits for the peer to say what went wrong on its side.
const PEER_ERROR_WAIT: Duration = Duration::from_millis(200);

/// A running `localipc bench-peer`; killed and reaped when dropped.
#[derive(Debug)]
pub(super) struct PeerProcess(LineChild);

impl PeerProcess {
    /// Starts this executable as `bench-peer --dir <dir>`.
    pub(super) fn spawn(dir: &Path) -> io::Result<Self> {
        const WHAT: &str = "the bench peer";
        let mut command = LineChild::this_executable(WHAT)?;
        command.arg("bench-peer").arg("--dir").arg(dir);
        LineChild::spawn(WHAT, command).map(Self)
    }

    /// Runs one round: sends `job`, waits for the peer to be ready, runs `measure`, waits for
    /// the peer to be done. If it all takes longer than `deadline`, the peer is killed, which
    /// ends every blocked wait on either side, and the round fails.
    ///
    /// `measure` gets the wait for the peer's "done" to call once its side is closed, so that
    /// it can keep its runtime running meanwhile (see `Flavoured::run`); if it returns
    /// without calling it, the wait happens after it.
    /// The peer's process id.
    pub(super) fn id(&self) -> u32 {
        self.0.id()
    }

    pub(super) fn round<T>(
        &mut self,
        job: &Job,
        deadline: Duration,
        measure: impl FnOnce(&mut WaitDone<'_>) -> io::Result<T>,
    ) -> io::Result<T> {
        let peer = &mut self.0;
        // The waits below are unbounded by themselves: the armed watchdog bounds them.
        peer.kill_at(Some(Instant::now() + deadline));
        let result = peer
            .send(&job.to_string())
            .and_then(|()| peer.expect(READY, None));
        let result = result.and_then(|()| {
            let mut waited = false;
            let measured = measure(&mut || {
                waited = true;
                peer.expect(DONE, None)
            });
            match measured {
                Ok(value) if waited => Ok(value),
                Ok(value) => peer.expect(DONE, None).map(|()| value),
                // The peer's own account of what went wrong, if it has one, explains more.
                Err(e) => Err(peer.account(PEER_ERROR_WAIT).unwrap_or(e)),
            }
        });
        peer.kill_at(None);
        let (group, case) = (job.group.tag(), job.work.case().tag());
        if peer.fired() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the bench peer did not finish a {group} {case} round within {:.0} s and \
                     was killed",
                    deadline.as_secs_f64()
                ),
            ));
        }
        result.map_err(|e| {
            let subject = job.subject.name();
            io::Error::new(e.kind(), format!("{group} {case} round ({subject}): {e}"))
        })
    }

    /// Closes the peer's stdin so it exits, and waits for that (bounded; killed if late).
    pub(super) fn finish(self) -> io::Result<()> {
        self.0.finish(EXIT_TIMEOUT)
    }
}
