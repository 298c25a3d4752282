//! The async-io group: `localipc::local_socket::async_io` against async-io's own
//! `Async<UnixStream>`, on `async_io::block_on` (the reactor driven on the calling thread,
//! as smol's single-threaded use does), with no tokio runtime in play. The cases are step
//! for step those of `async_cases.rs`, with the `futures_io` traits in place of tokio's.
//!
//! Unix only: async-io has no named pipes, so there is no raw subject on Windows (the group
//! is never planned there, `Group::available`).

#[cfg(unix)]
pub(super) use imp::{measure, serve, DESCRIPTION};

#[cfg(unix)]
mod imp {
    use super::super::cases::Work;
    use super::super::{stats, syscalls};
    use async_io::Async;
    use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
    use localipc::local_socket::async_io::{LocalSocketListener, LocalSocketStream};
    use std::future::Future;
    use std::io;
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::path::{Path, PathBuf};
    use std::time::Instant;

    /// What "raw" is in this group, for the report.
    pub(in super::super) const DESCRIPTION: &str =
        "async_io::Async<std::os::unix::net::UnixListener/UnixStream> used directly";

    /// A connected stream with the `futures_io` traits.
    trait AioStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
    impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> AioStream for T {}

    /// A way to make local socket connections on async-io.
    trait AioSubject: 'static {
        type Listener: Send + Sync + 'static;
        type Stream: AioStream;
        fn bind(endpoint: &Path) -> io::Result<Self::Listener>;
        fn accept(l: &Self::Listener) -> impl Future<Output = io::Result<Self::Stream>> + Send;
        fn connect(endpoint: &Path) -> impl Future<Output = io::Result<Self::Stream>> + Send;
    }

    /// This crate's async-io local sockets, used as an application would.
    struct Localipc;

    impl AioSubject for Localipc {
        type Listener = LocalSocketListener;
        type Stream = LocalSocketStream;
        fn bind(endpoint: &Path) -> io::Result<LocalSocketListener> {
            LocalSocketListener::bind(super::super::subject::name(endpoint))
        }
        async fn accept(l: &LocalSocketListener) -> io::Result<LocalSocketStream> {
            l.accept().await
        }
        async fn connect(endpoint: &Path) -> io::Result<LocalSocketStream> {
            LocalSocketStream::connect(super::super::subject::name(endpoint)).await
        }
    }

    /// async-io's own type; removes its socket file when dropped.
    struct Raw;

    struct RawListener(Async<UnixListener>, PathBuf);

    impl Drop for RawListener {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.1);
        }
    }

    impl AioSubject for Raw {
        type Listener = RawListener;
        type Stream = Async<UnixStream>;
        fn bind(endpoint: &Path) -> io::Result<RawListener> {
            Ok(RawListener(
                Async::<UnixListener>::bind(endpoint)?,
                endpoint.to_owned(),
            ))
        }
        async fn accept(l: &RawListener) -> io::Result<Async<UnixStream>> {
            l.0.accept().await.map(|(s, _)| s)
        }
        async fn connect(endpoint: &Path) -> io::Result<Async<UnixStream>> {
            Async::<UnixStream>::connect(endpoint).await
        }
    }

    /// Peer side of a round: binds `endpoint` (localipc's subject or the raw one), calls
    /// `ready`, then serves `work`.
    pub(in super::super) fn serve(
        localipc: bool,
        endpoint: &Path,
        work: Work,
        ready: impl FnOnce() -> io::Result<()>,
    ) -> io::Result<()> {
        fn run<S: AioSubject>(
            endpoint: &Path,
            work: Work,
            ready: impl FnOnce() -> io::Result<()>,
        ) -> io::Result<()> {
            let listener = S::bind(endpoint)?;
            ready()?;
            async_io::block_on(serve_on::<S>(listener, work))
        }
        if localipc {
            run::<Localipc>(endpoint, work, ready)
        } else {
            run::<Raw>(endpoint, work, ready)
        }
    }

    /// Measuring side of a round: the same metric values as the sync `cases::measure`, and
    /// for round trips the system calls per round trip of both processes (`peer` serves), as
    /// the tokio groups (`async_cases::measure`).
    pub(in super::super) fn measure(
        localipc: bool,
        endpoint: &Path,
        work: Work,
        peer: u32,
    ) -> io::Result<Vec<f64>> {
        if localipc {
            async_io::block_on(measure_on::<Localipc>(endpoint, work, peer))
        } else {
            async_io::block_on(measure_on::<Raw>(endpoint, work, peer))
        }
    }

    async fn serve_on<S: AioSubject>(listener: S::Listener, work: Work) -> io::Result<()> {
        match work {
            Work::RoundTrip { msg_size, .. } => {
                let mut stream = S::accept(&listener).await?;
                let mut msg = vec![0; msg_size];
                while read_message(&mut stream, &mut msg).await? {
                    stream.write_all(&msg).await?;
                }
                Ok(())
            }
            Work::Throughput { chunk, bytes } => {
                let mut stream = S::accept(&listener).await?;
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
                wait_for_close(&mut stream).await
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

    async fn measure_on<S: AioSubject>(
        endpoint: &Path,
        work: Work,
        peer: u32,
    ) -> io::Result<Vec<f64>> {
        match work {
            Work::RoundTrip {
                msg_size,
                iters,
                warmup,
            } => {
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
                let calls = counter.map(|c| c.read()).transpose()?;
                samples.sort_by(f64::total_cmp);
                Ok(vec![
                    stats::median_sorted(&samples),
                    stats::percentile_sorted(&samples, 99.0),
                    calls.map_or(f64::NAN, |n| n as f64 / iters as f64),
                ])
            }
            Work::Throughput { chunk, bytes } => {
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
                Ok(vec![bytes as f64 / start.elapsed().as_secs_f64()])
            }
            Work::Connections { count } => {
                let start = Instant::now();
                for _ in 0..count {
                    let mut stream = S::connect(endpoint).await?;
                    let mut byte = [1];
                    stream.write_all(&byte).await?;
                    stream.read_exact(&mut byte).await?;
                }
                Ok(vec![count as f64 / start.elapsed().as_secs_f64()])
            }
        }
    }

    /// Waits for the client to close, which it does first in every case.
    async fn wait_for_close(stream: &mut (impl AsyncRead + Unpin)) -> io::Result<()> {
        let mut rest = [0];
        match stream.read(&mut rest).await? {
            0 => Ok(()),
            _ => Err(io::Error::other("the client sent more than asked")),
        }
    }

    /// Fills `msg`; `Ok(false)` at a clean end of stream before its first byte.
    async fn read_message(
        stream: &mut (impl AsyncRead + Unpin),
        msg: &mut [u8],
    ) -> io::Result<bool> {
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
}

/// Where the group is never planned (no raw async-io pipe type on Windows).
#[cfg(not(unix))]
mod stub {
    use super::super::cases::Work;
    use std::io;
    use std::path::Path;

    pub(in super::super) const DESCRIPTION: &str = "(none: async-io has no named pipes)";

    fn unsupported() -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "the async-io group runs on Unix only",
        )
    }

    pub(in super::super) fn serve(
        _: bool,
        _: &Path,
        _: Work,
        _: impl FnOnce() -> io::Result<()>,
    ) -> io::Result<()> {
        Err(unsupported())
    }

    pub(in super::super) fn measure(_: bool, _: &Path, _: Work, _: u32) -> io::Result<Vec<f64>> {
        Err(unsupported())
    }
}
#[cfg(not(unix))]
pub(super) use stub::{measure, serve, DESCRIPTION};
