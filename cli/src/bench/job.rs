//! The line protocol between the measuring process and the bench peer (`peer.rs`): the
//! wire types, apart from both sides so that neither imports the other.
//!
//! The measuring process writes one [`Job`] per line to the peer's stdin. For each, the peer
//! binds the endpoint and answers [`READY`], serves the round, then answers [`DONE`]; any
//! failure is answered with `error <message>` instead.

use super::cases::{Case, Work};
use super::group::Group;
use super::subject::SubjectKind;
use std::fmt;
use std::io;
use std::str::FromStr;

/// The peer's reply once it has bound the round's endpoint.
pub(super) const READY: &str = "ready";

/// The peer's reply once it has served the round.
pub(super) const DONE: &str = "done";

/// Waits for the peer to report the round [`DONE`] (blocking; bounded by the round's
/// deadline).
pub(super) type WaitDone<'a> = dyn FnMut() -> io::Result<()> + Send + 'a;

/// One round for the peer to serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Job {
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
