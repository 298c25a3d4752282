//! The soak's clients: each, until told to stop, connects, sends a payload of random size and
//! content, half-closes, reads the echo to the end, checks every byte, and disconnects.
//! Failures are counted (see [`Counters`]), never fatal.

use super::counters::Counters;
use super::payload::{self, Rng};
use super::Api;
use crate::error::Context;
use localipc::local_socket::tokio::LocalSocketStream as TokioStream;
use localipc::local_socket::{ConnectOptions, LocalSocketStream};
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

/// How long a connect may keep retrying while the server is busy (backlog full).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one whole connection may take before it counts as hung (an error).
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// Pause after a failed connection, so that a persistent failure does not spin.
const ERROR_PAUSE: Duration = Duration::from_millis(10);

/// Bytes written before the sync client reads their echo: it cannot read and write at once,
/// and this much always fits in the socket buffers, so neither side can block the other.
const SYNC_STEP: usize = 16 * 1024;

/// What every client shares.
#[derive(Debug)]
pub(super) struct Shared {
    /// The server's name.
    pub name: OsString,
    /// Largest payload, in bytes (≥ 1).
    pub max_size: usize,
    /// Counts and errors.
    pub counters: Counters,
    /// Set to make every client stop after its current connection.
    pub stop: AtomicBool,
}

/// The running clients.
#[derive(Debug)]
pub(super) enum Clients {
    /// Tasks on a multi-thread runtime (kept until dropped, so that descriptor counts taken
    /// before and after the clients include the same runtime).
    Tokio {
        /// The runtime.
        runtime: Runtime,
        /// One task per client.
        tasks: Vec<tokio::task::JoinHandle<()>>,
    },
    /// One thread per client.
    Sync(Vec<std::thread::JoinHandle<()>>),
}

impl Clients {
    /// Prepares clients of `api` (for tokio, starts the runtime); none runs yet.
    pub(super) fn new(api: Api) -> io::Result<Self> {
        Ok(match api {
            Api::Tokio => Self::Tokio {
                runtime: tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                    .context(|| "starting a tokio runtime")?,
                tasks: Vec::new(),
            },
            Api::Sync => Self::Sync(Vec::new()),
        })
    }

    /// Starts `count` clients.
    pub(super) fn start(&mut self, count: usize, shared: &Arc<Shared>) {
        for id in 1..=count {
            let shared = Arc::clone(shared);
            match self {
                Self::Tokio { runtime, tasks } => {
                    tasks.push(runtime.spawn(tokio_client(id, shared)))
                }
                Self::Sync(threads) => {
                    threads.push(std::thread::spawn(move || sync_client(id, &shared)))
                }
            }
        }
    }

    /// Waits up to `timeout` for every client to end (once [`Shared::stop`] is set); returns
    /// how many did not.
    pub(super) fn wait(&mut self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        match self {
            Self::Tokio { runtime, tasks } => {
                let all_ended = async {
                    for task in tasks.iter_mut() {
                        let _ = task.await;
                    }
                };
                // The timer is made inside the runtime, whose context it needs.
                let waited =
                    runtime.block_on(async { tokio::time::timeout(timeout, all_ended).await });
                match waited {
                    Ok(()) => 0,
                    Err(_) => tasks.iter().filter(|task| !task.is_finished()).count(),
                }
            }
            Self::Sync(threads) => {
                while Instant::now() < deadline && threads.iter().any(|t| !t.is_finished()) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                threads.iter().filter(|t| !t.is_finished()).count()
            }
        }
    }
}

/// Tokio client `id`: connections until told to stop.
async fn tokio_client(id: usize, shared: Arc<Shared>) {
    let mut rng = Rng::new(id as u64);
    let (mut sent, mut echo) = (Vec::new(), Vec::new());
    let mut opts = ConnectOptions::new();
    opts.timeout(CONNECT_TIMEOUT);
    while !shared.stop.load(Ordering::Relaxed) {
        let len = rng.size(shared.max_size);
        rng.fill(&mut sent, len);
        let once = tokio_connection(&shared, &opts, &sent, &mut echo);
        let result = match tokio::time::timeout(CONNECTION_TIMEOUT, once).await {
            Ok(result) => result,
            Err(_) => Err(hung()),
        };
        match result {
            Ok(()) => shared.counters.done(len as u64),
            Err(e) => {
                shared.counters.error(format_args!("client {id}"), e);
                tokio::time::sleep(ERROR_PAUSE).await;
            }
        }
    }
}

/// One tokio connection: writes `sent` and reads the echo at the same time (split halves).
async fn tokio_connection(
    shared: &Shared,
    opts: &ConnectOptions,
    sent: &[u8],
    echo: &mut Vec<u8>,
) -> io::Result<()> {
    let mut stream = TokioStream::connect_with(shared.name.as_os_str(), opts).await?;
    let _open = shared.counters.open();
    let (mut reader, mut writer) = stream.split();
    echo.clear();
    let write = async {
        writer.write_all(sent).await?;
        writer.shutdown().await // half-close: the server sees the end, then closes
    };
    let (written, read) = tokio::join!(write, reader.read_to_end(echo));
    written?;
    read?;
    payload::check(sent, echo)
}

/// Sync client `id`: connections until told to stop.
fn sync_client(id: usize, shared: &Shared) {
    let mut rng = Rng::new(id as u64);
    let (mut sent, mut echo) = (Vec::new(), Vec::new());
    let mut opts = ConnectOptions::new();
    opts.timeout(CONNECT_TIMEOUT);
    while !shared.stop.load(Ordering::Relaxed) {
        let len = rng.size(shared.max_size);
        rng.fill(&mut sent, len);
        match sync_connection(shared, &opts, &sent, &mut echo) {
            Ok(()) => shared.counters.done(len as u64),
            Err(e) => {
                shared.counters.error(format_args!("client {id}"), e);
                std::thread::sleep(ERROR_PAUSE);
            }
        }
    }
}

/// One sync connection: writes `sent` a step at a time, reading each step's echo, then
/// half-closes and expects the end of the stream.
fn sync_connection(
    shared: &Shared,
    opts: &ConnectOptions,
    sent: &[u8],
    echo: &mut Vec<u8>,
) -> io::Result<()> {
    let mut stream = LocalSocketStream::connect_with(shared.name.as_os_str(), opts)?;
    let _open = shared.counters.open();
    stream.set_read_timeout(Some(CONNECTION_TIMEOUT))?;
    stream.set_write_timeout(Some(CONNECTION_TIMEOUT))?;
    echo.clear();
    echo.resize(sent.len(), 0);
    for (out, back) in sent.chunks(SYNC_STEP).zip(echo.chunks_mut(SYNC_STEP)) {
        stream.write_all(out)?;
        stream.read_exact(back)?;
    }
    stream.shutdown(Shutdown::Write)?;
    let mut extra = [0];
    if read_retrying(&mut stream, &mut extra)? != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the echo is longer than what was sent",
        ));
    }
    payload::check(sent, echo)
}

/// `read`, retried on `Interrupted`.
fn read_retrying(stream: &mut LocalSocketStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match stream.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}

/// The error for a connection that took longer than [`CONNECTION_TIMEOUT`].
fn hung() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("the connection did not finish within {CONNECTION_TIMEOUT:?}"),
    )
}
