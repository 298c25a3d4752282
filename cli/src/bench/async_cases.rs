//! The measurements of the async groups, both sides, generic over [`AsyncSubject`] so that
//! localipc and tokio's own type run exactly the same code. Step for step the same as the
//! sync cases (`cases.rs`), with tokio's `AsyncReadExt`/`AsyncWriteExt` in place of
//! `Read`/`Write`.

use super::async_subject::{AsyncStream, AsyncSubject};
use super::cases::Work;
use super::stats;
use super::syscalls;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// Peer side of a round, once bound: serves `work` on `listener`.
pub(super) async fn serve<S: AsyncSubject>(listener: S::Listener, work: Work) -> io::Result<()> {
    match work {
        Work::RoundTrip { msg_size, .. } => {
            echo_messages(&mut S::accept(&listener).await?, msg_size).await
        }
        Work::Throughput { chunk, bytes } => {
            sink(&mut S::accept(&listener).await?, chunk, bytes).await
        }
        Work::Connections { count } => {
            for _ in 0..count {
                let mut stream = S::accept(&listener).await?;
                let mut byte = [0];
                stream.read_exact(&mut byte).await?;
                stream.write_all(&byte).await?;
                wait_for_close(&mut stream).await?;
            }
            Ok(())
        }
    }
}

/// Measuring side of a round: connects to `endpoint` and times `work`. Returns the same
/// metric values as the sync `cases::measure`.
///
/// Round trips get a third value, the system calls per round trip of both processes
/// (`peer` is the serving one), or NaN where they cannot be counted (`syscalls.rs`).
pub(super) async fn measure<S: AsyncSubject>(
    endpoint: PathBuf,
    work: Work,
    peer: u32,
) -> io::Result<Vec<f64>> {
    match work {
        Work::RoundTrip {
            msg_size,
            iters,
            warmup,
        } => {
            let (mut samples, syscalls) =
                round_trips::<S>(&endpoint, msg_size, warmup, iters, peer).await?;
            samples.sort_by(f64::total_cmp);
            Ok(vec![
                stats::median_sorted(&samples),
                stats::percentile_sorted(&samples, 99.0),
                syscalls.map_or(f64::NAN, |n| n as f64 / iters as f64),
            ])
        }
        Work::Throughput { chunk, bytes } => {
            Ok(vec![throughput::<S>(&endpoint, chunk, bytes).await?])
        }
        Work::Connections { count } => Ok(vec![connections::<S>(&endpoint, count).await?]),
    }
}

/// Sends `msg_size`-byte messages and waits for each echo; returns each timed round trip
/// in nanoseconds, and the system calls of both processes over the timed ones, if countable.
async fn round_trips<S: AsyncSubject>(
    endpoint: &Path,
    msg_size: usize,
    warmup: usize,
    iters: usize,
    peer: u32,
) -> io::Result<(Vec<f64>, Option<u64>)> {
    let mut stream = S::connect(endpoint).await?;
    let msg = vec![0x5a; msg_size];
    let mut reply = vec![0; msg_size];
    for _ in 0..warmup {
        stream.write_all(&msg).await?;
        stream.read_exact(&mut reply).await?;
    }
    let mut samples = Vec::with_capacity(iters);
    let counter = syscalls::Counter::start(peer).ok();
    for _ in 0..iters {
        let start = Instant::now();
        stream.write_all(&msg).await?;
        stream.read_exact(&mut reply).await?;
        samples.push(start.elapsed().as_nanos() as f64);
    }
    let syscalls = counter.map(|c| c.read()).transpose()?;
    Ok((samples, syscalls))
}

/// Sends `bytes` in `chunk`-byte writes and waits for the peer's 1-byte acknowledgement that
/// it has read them all; returns bytes per second.
async fn throughput<S: AsyncSubject>(endpoint: &Path, chunk: usize, bytes: u64) -> io::Result<f64> {
    let mut stream = S::connect(endpoint).await?;
    let data = vec![0xa5; chunk];
    let mut ack = [0];
    let start = Instant::now();
    let mut left = bytes;
    while left > 0 {
        let n = usize::try_from(left).map_or(chunk, |left| left.min(chunk));
        stream.write_all(&data[..n]).await?;
        left -= n as u64;
    }
    stream.read_exact(&mut ack).await?;
    Ok(bytes as f64 / start.elapsed().as_secs_f64())
}

/// Makes `count` connections one after the other, each sending and receiving one byte;
/// returns connections per second.
async fn connections<S: AsyncSubject>(endpoint: &Path, count: usize) -> io::Result<f64> {
    let start = Instant::now();
    for _ in 0..count {
        let mut stream = S::connect(endpoint).await?;
        let mut byte = [1];
        stream.write_all(&byte).await?;
        stream.read_exact(&mut byte).await?;
    }
    Ok(count as f64 / start.elapsed().as_secs_f64())
}

/// Echoes `msg_size`-byte messages until the client closes.
async fn echo_messages(stream: &mut impl AsyncStream, msg_size: usize) -> io::Result<()> {
    let mut msg = vec![0; msg_size];
    while read_message(stream, &mut msg).await? {
        stream.write_all(&msg).await?;
    }
    Ok(())
}

/// Reads `bytes` in `chunk`-byte reads, acknowledges with one byte, then waits for the client
/// to close.
async fn sink(stream: &mut impl AsyncStream, chunk: usize, bytes: u64) -> io::Result<()> {
    let mut buf = vec![0; chunk];
    let mut left = bytes;
    while left > 0 {
        let want = usize::try_from(left).map_or(chunk, |left| left.min(chunk));
        match stream.read(&mut buf[..want]).await? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => left -= n as u64,
        }
    }
    stream.write_all(&[1]).await?;
    wait_for_close(stream).await
}

/// Waits for the client to close, which it does first in every case (see `cases.rs`).
async fn wait_for_close(stream: &mut (impl AsyncRead + Unpin)) -> io::Result<()> {
    let mut rest = [0];
    match stream.read(&mut rest).await? {
        0 => Ok(()),
        _ => Err(io::Error::other("the client sent more than asked")),
    }
}

/// Fills `msg` completely; `Ok(false)` at a clean end of stream before its first byte.
async fn read_message(stream: &mut (impl AsyncRead + Unpin), msg: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < msg.len() {
        match stream.read(&mut msg[filled..]).await? {
            0 if filled == 0 => return Ok(false),
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => filled += n,
        }
    }
    Ok(true)
}
