//! `localipc soak-server` (hidden): the listening side of a soak, in a process of its own so
//! that its memory and descriptors are measured apart from the clients'.
//!
//! Protocol on stdin/stdout, one line each: once bound it prints `ready` (or `error <why>`
//! and exits); to each `stats` it answers
//! `stats <connections> <bytes> <errors> <open> <rss KiB|-> <fds|->`. At the end of stdin it
//! stops serving, drops the listener (removing its socket file, if any) and exits.
//! Ctrl-C is ignored: the soak's own process handles it and then closes this one's stdin.

use super::counters::{Counters, Totals};
use super::interrupt;
use super::procstat::ProcStat;
use super::serve::Server;
use super::Api;
use localipc_child::{reply, reply_error};
use std::ffi::OsString;
use std::io::{self, BufRead};
use std::sync::Arc;

/// Options of `localipc soak-server`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The name to bind.
    #[arg(long)]
    name: OsString,
    /// The API to serve with.
    #[arg(long, value_enum)]
    api: Api,
}

/// The server's answer to `stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ServerStats {
    /// Its counters.
    pub totals: Totals,
    /// Its memory and descriptors.
    pub proc: ProcStat,
}

impl ServerStats {
    /// The `stats …` reply line.
    pub(crate) fn to_line(self) -> String {
        let t = &self.totals;
        format!(
            "stats {} {} {} {} {}",
            t.connections,
            t.bytes,
            t.errors,
            t.open,
            self.proc.to_words()
        )
    }

    /// Parses a `stats …` reply line.
    pub(crate) fn from_line(line: &str) -> Option<Self> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let ["stats", connections, bytes, errors, open, rss, fds] = words[..] else {
            return None;
        };
        Some(Self {
            totals: Totals {
                connections: connections.parse().ok()?,
                bytes: bytes.parse().ok()?,
                errors: errors.parse().ok()?,
                open: open.parse().ok()?,
            },
            proc: ProcStat::from_words(rss, fds)?,
        })
    }
}

/// Serves until stdin ends.
pub(crate) fn run(args: Args) -> io::Result<()> {
    interrupt::ignore();
    let counters = Arc::new(Counters::new("soak server"));
    let mut out = io::stdout().lock();
    let server = match Server::start(args.api, &args.name, &counters) {
        Ok(server) => server,
        Err(e) => {
            // Told to the soak's process, which reports it as its one error line.
            let _ = reply_error(&mut out, &e);
            std::process::exit(1);
        }
    };
    let mut result = reply(&mut out, "ready");
    for line in io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let answer = match line.trim() {
            "stats" => ServerStats {
                totals: counters.totals(),
                proc: ProcStat::now(),
            }
            .to_line(),
            other => format!("error unknown command {other:?}"),
        };
        result = result.and_then(|()| reply(&mut out, &answer));
        if result.is_err() {
            break; // nobody reads the answers any more
        }
    }
    server.stop();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_lines_round_trip() {
        let stats = ServerStats {
            totals: Totals {
                connections: 5,
                bytes: 1234,
                errors: 1,
                open: 2,
            },
            proc: ProcStat {
                rss_kib: Some(9000),
                fds: None,
            },
        };
        assert_eq!(ServerStats::from_line(&stats.to_line()), Some(stats));
        assert_eq!(ServerStats::from_line("stats 1 2"), None);
        assert_eq!(ServerStats::from_line("ready"), None);
    }
}
