//! The peer process of `localipc bench` (hidden subcommand `bench-peer`) and the line
//! protocol between it and the measuring process.
//!
//! The measuring process writes one [`Job`] per line to the peer's stdin. For each, the peer
//! binds the endpoint and answers `ready`, serves the round, then answers `done`; any failure
//! is answered with `error <message>` instead. At end of stdin the peer removes what is
//! left in the work directory and exits at once, so it never outlives the measuring process.
//! It ignores Ctrl-C (Unix) for that reason: a Ctrl-C ends the measuring process, whose end
//! the peer then sees and cleans up after.

use super::cases::{Case, Work};
use super::dispatch;
use super::group::Group;
use super::runtime::Runtimes;
use super::subject::SubjectKind;
use super::workdir;
use crate::error;
use std::fmt;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::mpsc;

/// Options of `localipc bench-peer`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The directory (or name prefix) the endpoints live in.
    #[arg(long)]
    dir: PathBuf,
}

/// One round for the peer to serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Which API (and runtime) serves it.
    pub group: Group,
    /// Which library serves it.
    pub subject: SubjectKind,
    /// The endpoint's file name within the work directory (no whitespace).
    pub file: String,
    /// What to do.
    pub work: Work,
}

impl fmt::Display for Job {
    /// `<group> <case> <subject> <file> <numbers…>`, e.g.
    /// `tokio-ct throughput raw 000003.sock 65536 1048576`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (group, case) = (self.group.tag(), self.work.case().tag());
        let (subject, file) = (self.subject.name(), &self.file);
        write!(f, "{group} {case} {subject} {file}")?;
        match self.work {
            Work::RoundTrip {
                msg_size,
                iters,
                warmup,
            } => write!(f, " {msg_size} {iters} {warmup}"),
            Work::Throughput { chunk, bytes } => write!(f, " {chunk} {bytes}"),
            Work::Connections { count } => write!(f, " {count}"),
        }
    }
}

impl FromStr for Job {
    type Err = String;

    fn from_str(line: &str) -> Result<Self, String> {
        let bad = || format!("bad job line {line:?}");
        let words: Vec<&str> = line.split_whitespace().collect();
        let [group, case, subject, file, ref numbers @ ..] = words[..] else {
            return Err(bad());
        };
        let numbers: Vec<u64> = numbers
            .iter()
            .map(|n| n.parse().map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        let size = |n: u64| usize::try_from(n).map_err(|_| bad());
        let work = match (Case::from_tag(case).ok_or_else(bad)?, numbers.as_slice()) {
            (Case::RoundTrip, &[msg_size, iters, warmup]) => Work::RoundTrip {
                msg_size: size(msg_size)?,
                iters: size(iters)?,
                warmup: size(warmup)?,
            },
            (Case::Throughput, &[chunk, bytes]) => Work::Throughput {
                chunk: size(chunk)?,
                bytes,
            },
            (Case::Connections, &[count]) => Work::Connections {
                count: size(count)?,
            },
            _ => return Err(bad()),
        };
        Ok(Self {
            group: Group::from_tag(group).ok_or_else(bad)?,
            subject: SubjectKind::from_name(subject).ok_or_else(bad)?,
            file: file.to_owned(),
            work,
        })
    }
}

/// Runs the peer: serves jobs read from stdin until it ends.
pub fn run(args: Args) -> io::Result<()> {
    ignore_interrupts();
    let (lines, jobs) = mpsc::channel::<String>();
    let dir = args.dir.clone();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
        measurer_gone(&dir);
    });
    let mut out = io::stdout().lock();
    let mut runtimes = Runtimes::default();
    for line in jobs {
        let result = line
            .parse::<Job>()
            .map_err(error::other)
            .and_then(|job| serve(&mut runtimes, &args.dir, &job, &mut out));
        let replied = match result {
            Ok(()) => reply(&mut out, "done"),
            Err(e) => reply(
                &mut out,
                &format!("error {}", error::one_line(&e.to_string())),
            ),
        };
        if replied.is_err() {
            measurer_gone(&args.dir); // nobody reads the replies any more
        }
    }
    Ok(())
}

/// The measuring process is done or gone: removes what is left in the work directory and
/// exits, even if a round is blocked.
fn measurer_gone(dir: &Path) -> ! {
    workdir::remove_leftovers(dir);
    std::process::exit(0)
}

/// Ignores `SIGINT`, so that a Ctrl-C in the terminal ends only the measuring process.
#[cfg(unix)]
fn ignore_interrupts() {
    // SAFETY: installing SIG_IGN runs no handler code; nothing else here uses SIGINT.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
}

/// On Windows the peer shares the console's Ctrl-C; nothing to do.
#[cfg(not(unix))]
fn ignore_interrupts() {}

/// Serves one job with the group and subject it names.
fn serve(runtimes: &mut Runtimes, dir: &Path, job: &Job, out: &mut impl Write) -> io::Result<()> {
    let endpoint = workdir::endpoint(dir, &job.file);
    let ready = || reply(out, "ready");
    dispatch::serve(runtimes, job, &endpoint, ready)
}

/// Writes one reply line and flushes it.
fn reply(out: &mut impl Write, line: &str) -> io::Result<()> {
    writeln!(out, "{line}")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_lines_round_trip() {
        let works = [
            Work::RoundTrip {
                msg_size: 64,
                iters: 10,
                warmup: 2,
            },
            Work::Throughput {
                chunk: 65536,
                bytes: 1 << 20,
            },
            Work::Connections { count: 5 },
        ];
        for group in Group::ALL {
            for work in works {
                let job = Job {
                    group,
                    subject: SubjectKind::Raw,
                    file: "x-1.sock".into(),
                    work,
                };
                assert_eq!(job.to_string().parse::<Job>(), Ok(job));
            }
        }
        assert!("sync roundtrip raw x.sock 1 2".parse::<Job>().is_err());
        assert!("nothing".parse::<Job>().is_err());
        assert!("sync connections other x.sock 3".parse::<Job>().is_err());
        assert!("async connections raw x.sock 3".parse::<Job>().is_err());
        assert!("roundtrip raw x.sock 1 2 3".parse::<Job>().is_err());
    }
}
