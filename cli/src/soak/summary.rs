//! The closing summary of a soak: totals, and verdicts on whether each process's memory and
//! descriptors stayed flat; the soak fails if anything went wrong or grew.

use super::counters::Totals;
use super::procstat::ProcStat;
use super::report::{self, Quiet, Sample};
use super::server::ServerStats;
use crate::bench::table::{self, Unit};
use crate::error;
use std::io::{self, Write};
use std::time::Duration;

/// Everything the summary needs.
pub(super) struct Outcome {
    /// One per interval.
    pub samples: Vec<Sample>,
    /// Why the run ended early, if it did.
    pub ended: Option<&'static str>,
    /// From the clients' start to the server's exit.
    pub elapsed: Duration,
    /// Clients that ran.
    pub clients: usize,
    /// The clients' final counts.
    pub totals: Totals,
    /// The clients' process before and after.
    pub client: Quiet,
    /// The server before the clients started.
    pub server_before: ServerStats,
    /// The server after they ended, if it answered.
    pub server_after: Option<ServerStats>,
    /// Failures of the soak itself (not of a connection), each an error.
    pub problems: Vec<String>,
}

impl Outcome {
    /// Prints the summary; an error if anything failed or grew.
    pub(super) fn print(&self) -> io::Result<()> {
        // At the end, or as last seen if the server stopped answering.
        let server_last = self
            .server_after
            .or_else(|| self.samples.last().map(|s| s.server));
        let server_errors = server_last.map_or(0, |s| s.totals.errors);
        let errors = self.totals.errors + server_errors + self.problems.len() as u64;
        let server_quiet = Quiet {
            before: self.server_before.proc,
            after: self.server_after.map_or(ProcStat::default(), |s| s.proc),
        };
        let rss = |f: fn(&Sample) -> ProcStat| -> Vec<Option<u64>> {
            self.samples.iter().map(|s| f(s).rss_kib).collect()
        };
        let fds = |f: fn(&Sample) -> ProcStat| -> Vec<Option<u64>> {
            self.samples.iter().map(|s| f(s).fds).collect()
        };
        let client_rss = report::rss_verdict(&rss(|s| s.client_proc));
        let server_rss = report::rss_verdict(&rss(|s| s.server.proc));
        let client_fds = report::fd_verdict(self.client, &fds(|s| s.client_proc), self.clients);
        let server_fds = report::fd_verdict(server_quiet, &fds(|s| s.server.proc), self.clients);
        let rss_word = report::overall(&[&client_rss, &server_rss]);
        let fds_word = report::overall(&[&client_fds, &server_fds]);
        for problem in &self.problems {
            error::log(&format!("soak: {problem}"));
        }
        let secs = self.elapsed.as_secs_f64();
        let ended = self.ended.map_or(String::new(), |why| format!(" ({why})"));
        let mut out = io::stdout().lock();
        writeln!(
            out,
            "summary: {secs:.1} s{ended}, {} connections, {} echoed ({}), errors={errors}, \
             rss={rss_word}, fds={fds_word}",
            self.totals.connections,
            report::size(self.totals.bytes),
            table::format(Unit::BytesPerSec, self.totals.bytes as f64 / secs.max(1e-9)),
        )?;
        writeln!(out, "  client: {}; {}", client_rss.text, client_fds.text)?;
        writeln!(out, "  server: {}; {}", server_rss.text, server_fds.text)?;
        out.flush()?;
        match (errors, rss_word, fds_word) {
            (0, "grew", _) | (0, _, "grew") => Err(error::other(
                "soak: memory or descriptors grew (see the summary)",
            )),
            (0, ..) => Ok(()),
            (n, ..) => Err(error::other(format!("soak: {n} errors"))),
        }
    }
}
