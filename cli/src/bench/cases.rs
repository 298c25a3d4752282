//! The measurements, both sides, generic over [`Subject`] so that localipc and the raw
//! primitive run exactly the same code.
//!
//! The peer process binds and serves ([`serve`]); this process connects and times
//! ([`measure`]).

use super::stats;
use super::subject::Subject;
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// The cases, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Case {
    /// Ping-pong of fixed-size messages on one connection.
    RoundTrip,
    /// One-way bulk transfer on one connection.
    Throughput,
    /// Sequential connect + accept + 1-byte exchange + close (the client closes first).
    Connections,
}

impl Case {
    /// All cases, in order.
    pub(super) const ALL: [Self; 3] = [Self::RoundTrip, Self::Throughput, Self::Connections];

    /// The name used in the peer protocol, file names and progress.
    pub(super) fn tag(self) -> &'static str {
        match self {
            Self::RoundTrip => "roundtrip",
            Self::Throughput => "throughput",
            Self::Connections => "connections",
        }
    }

    /// The case called `tag`.
    pub(super) fn from_tag(tag: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|case| case.tag() == tag)
    }
}

/// One round's work, with its sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Work {
    /// `warmup` untimed then `iters` timed round trips of `msg_size` bytes.
    RoundTrip {
        /// Bytes per message, each way.
        msg_size: usize,
        /// Timed round trips.
        iters: usize,
        /// Untimed round trips first.
        warmup: usize,
    },
    /// `bytes` in writes of `chunk` bytes, then a 1-byte acknowledgement.
    Throughput {
        /// Bytes per write.
        chunk: usize,
        /// Bytes in all.
        bytes: u64,
    },
    /// `count` connections, one after the other.
    Connections {
        /// Connections in the round.
        count: usize,
    },
}

impl Work {
    /// Which case this is.
    pub(super) fn case(&self) -> Case {
        match self {
            Self::RoundTrip { .. } => Case::RoundTrip,
            Self::Throughput { .. } => Case::Throughput,
            Self::Connections { .. } => Case::Connections,
        }
    }

    /// A generous bound on one round: past it the peer is taken as hung and killed
    /// (10 s, plus 1 ms per round trip, 20 ns per byte, 10 ms per connection).
    pub(super) fn deadline(&self) -> Duration {
        let extra = match *self {
            Self::RoundTrip { iters, warmup, .. } => Duration::from_millis((iters + warmup) as u64),
            Self::Throughput { bytes, .. } => Duration::from_nanos(bytes.saturating_mul(20)),
            Self::Connections { count } => Duration::from_millis(count as u64 * 10),
        };
        Duration::from_secs(10) + extra
    }
}

/// Peer side of a round: binds `endpoint`, calls `ready`, then serves `work`.
pub(super) fn serve<S: Subject>(
    endpoint: &Path,
    work: &Work,
    ready: impl FnOnce() -> io::Result<()>,
) -> io::Result<()> {
    let listener = S::bind(endpoint)?;
    ready()?;
    match *work {
        Work::RoundTrip { msg_size, .. } => echo_messages(&mut S::accept(&listener)?, msg_size),
        Work::Throughput { chunk, bytes } => sink(&mut S::accept(&listener)?, chunk, bytes),
        Work::Connections { count } => {
            for _ in 0..count {
                let mut stream = S::accept(&listener)?;
                let mut byte = [0];
                stream.read_exact(&mut byte)?;
                stream.write_all(&byte)?;
                wait_for_close(&mut stream)?;
            }
            Ok(())
        }
    }
}

/// Measuring side of a round: connects to `endpoint` and times `work`. Returns the round's
/// metric values: `[median, p99]` round trip in ns, `[bytes/s]`, or `[connections/s]`.
pub(super) fn measure<S: Subject>(endpoint: &Path, work: &Work) -> io::Result<Vec<f64>> {
    match *work {
        Work::RoundTrip {
            msg_size,
            iters,
            warmup,
        } => {
            let mut samples = round_trips::<S>(endpoint, msg_size, warmup, iters)?;
            samples.sort_by(f64::total_cmp);
            Ok(vec![
                stats::median_sorted(&samples),
                stats::percentile_sorted(&samples, 99.0),
            ])
        }
        Work::Throughput { chunk, bytes } => Ok(vec![throughput::<S>(endpoint, chunk, bytes)?]),
        Work::Connections { count } => Ok(vec![connections::<S>(endpoint, count)?]),
    }
}

/// Sends `msg_size`-byte messages and waits for each echo; returns each timed round trip
/// in nanoseconds.
fn round_trips<S: Subject>(
    endpoint: &Path,
    msg_size: usize,
    warmup: usize,
    iters: usize,
) -> io::Result<Vec<f64>> {
    let mut stream = S::connect(endpoint)?;
    let msg = vec![0x5a; msg_size];
    let mut reply = vec![0; msg_size];
    for _ in 0..warmup {
        stream.write_all(&msg)?;
        stream.read_exact(&mut reply)?;
    }
    let mut samples = Vec::with_capacity(iters);
    for _ in 0..iters {
        let start = Instant::now();
        stream.write_all(&msg)?;
        stream.read_exact(&mut reply)?;
        samples.push(start.elapsed().as_nanos() as f64);
    }
    Ok(samples)
}

/// Sends `bytes` in `chunk`-byte writes and waits for the peer's 1-byte acknowledgement that
/// it has read them all; returns bytes per second.
fn throughput<S: Subject>(endpoint: &Path, chunk: usize, bytes: u64) -> io::Result<f64> {
    let mut stream = S::connect(endpoint)?;
    let data = vec![0xa5; chunk];
    let mut ack = [0];
    let start = Instant::now();
    let mut left = bytes;
    while left > 0 {
        let n = usize::try_from(left).map_or(chunk, |left| left.min(chunk));
        stream.write_all(&data[..n])?;
        left -= n as u64;
    }
    stream.read_exact(&mut ack)?;
    Ok(bytes as f64 / start.elapsed().as_secs_f64())
}

/// Makes `count` connections one after the other, each sending and receiving one byte;
/// returns connections per second.
fn connections<S: Subject>(endpoint: &Path, count: usize) -> io::Result<f64> {
    let start = Instant::now();
    for _ in 0..count {
        let mut stream = S::connect(endpoint)?;
        let mut byte = [1];
        stream.write_all(&byte)?;
        stream.read_exact(&mut byte)?;
    }
    Ok(count as f64 / start.elapsed().as_secs_f64())
}

/// Echoes `msg_size`-byte messages until the client closes.
fn echo_messages(stream: &mut impl ReadWrite, msg_size: usize) -> io::Result<()> {
    let mut msg = vec![0; msg_size];
    while read_message(stream, &mut msg)? {
        stream.write_all(&msg)?;
    }
    Ok(())
}

/// Reads `bytes` in `chunk`-byte reads, acknowledges with one byte, then waits for the client
/// to close.
fn sink(stream: &mut impl ReadWrite, chunk: usize, bytes: u64) -> io::Result<()> {
    let mut buf = vec![0; chunk];
    let mut left = bytes;
    while left > 0 {
        let want = usize::try_from(left).map_or(chunk, |left| left.min(chunk));
        match stream.read(&mut buf[..want]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => left -= n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    stream.write_all(&[1])?;
    wait_for_close(stream)
}

/// Waits for the client to close, which it does first in every case: a server closing first
/// could discard a reply not yet read (Windows pipes).
fn wait_for_close(stream: &mut impl Read) -> io::Result<()> {
    let mut rest = [0];
    match stream.read(&mut rest)? {
        0 => Ok(()),
        _ => Err(io::Error::other("the client sent more than asked")),
    }
}

/// `Read + Write`, for brevity.
trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// Fills `msg` completely; `Ok(false)` at a clean end of stream before its first byte.
fn read_message(stream: &mut impl Read, msg: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < msg.len() {
        match stream.read(&mut msg[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}
