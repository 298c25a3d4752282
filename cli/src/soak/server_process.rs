//! The soak server process, seen from the soak: a [`LineChild`] running this executable as
//! `soak-server`, asked for its stats, then stopped. Every wait is bounded; it is killed and
//! reaped on every exit path.

use super::server::ServerStats;
use super::Api;
use localipc_child::LineChild;
use std::ffi::OsStr;
use std::io;
use std::time::Duration;

/// How long the server may take to bind, to answer, or to exit once told to.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A running `localipc soak-server`; killed and reaped when dropped.
#[derive(Debug)]
pub(super) struct ServerProcess(LineChild);

impl ServerProcess {
    /// Starts this executable as `soak-server` on `name` and waits until it has bound.
    pub(super) fn start(api: Api, name: &OsStr) -> io::Result<Self> {
        const WHAT: &str = "the soak server";
        let mut command = LineChild::this_executable(WHAT)?;
        command.arg("soak-server").arg("--api").arg(api.name());
        command.arg("--name").arg(name);
        let mut server = LineChild::spawn(WHAT, command)?;
        server.expect("ready", Some(TIMEOUT))?;
        Ok(Self(server))
    }

    /// Asks for the server's counters, memory and descriptors.
    pub(super) fn stats(&mut self) -> io::Result<ServerStats> {
        self.0.send("stats")?;
        let line = self.0.reply(Some(TIMEOUT))?;
        ServerStats::from_line(&line)
            .ok_or_else(|| io::Error::other(format!("the soak server answered {line:?}")))
    }

    /// Closes its stdin so that it stops, and waits for its exit (killed if late).
    pub(super) fn finish(self) -> io::Result<()> {
        self.0.finish(TIMEOUT)
    }
}
