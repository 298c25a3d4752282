//! The soak's echo servers, one per API: every connection gets its bytes back until it
//! half-closes, then is closed. Failures are counted, never fatal.

use super::counters::Counters;
use super::Api;
use crate::error::Context;
use localipc::local_socket::tokio::{
    LocalSocketListener as TokioListener, LocalSocketStream as TokioStream,
};
use localipc::local_socket::{LocalSocketListener, LocalSocketName, LocalSocketStream};
use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

/// Echo buffer per connection.
const BUF_SIZE: usize = 16 * 1024;

/// Pause after a failed `accept`, so that a persistent failure (e.g. out of descriptors)
/// does not spin.
const ACCEPT_PAUSE: Duration = Duration::from_millis(10);

/// How long stopping waits for the tokio server's tasks.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// A running echo server; [`stop`](Self::stop) ends it and removes its socket file, if any.
#[derive(Debug)]
pub(super) enum Server {
    /// Accept loop and connections as tasks on a multi-thread runtime.
    Tokio(Runtime),
    /// Accept loop on a thread, a thread per connection.
    Sync {
        /// Set to end the accept loop.
        stopping: Arc<AtomicBool>,
        /// The bound name, to wake the accept loop with a connection.
        name: LocalSocketName<'static>,
        /// The accept loop; it owns the listener.
        accepting: JoinHandle<()>,
    },
}

impl Server {
    /// Binds `name` with `api` and starts serving.
    pub(super) fn start(api: Api, name: &OsStr, counters: &Arc<Counters>) -> io::Result<Self> {
        match api {
            Api::Tokio => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()
                    .context(|| "starting a tokio runtime")?;
                let listener = {
                    let _context = runtime.enter();
                    TokioListener::bind(name)?
                };
                runtime.spawn(accept_tokio(listener, Arc::clone(counters)));
                Ok(Self::Tokio(runtime))
            }
            Api::Sync => {
                let listener = LocalSocketListener::bind(name)?;
                let stopping = Arc::new(AtomicBool::new(false));
                let name = listener.local_name().into_owned();
                let accepting = std::thread::spawn({
                    let (stopping, counters) = (Arc::clone(&stopping), Arc::clone(counters));
                    move || accept_sync(&listener, &stopping, &counters)
                });
                Ok(Self::Sync {
                    stopping,
                    name,
                    accepting,
                })
            }
        }
    }

    /// Stops accepting and drops the listener (removing its socket file, if any).
    pub(super) fn stop(self) {
        match self {
            Self::Tokio(runtime) => runtime.shutdown_timeout(SHUTDOWN_TIMEOUT),
            Self::Sync {
                stopping,
                name,
                accepting,
            } => {
                stopping.store(true, Ordering::SeqCst);
                // Wakes the accept loop, which then sees `stopping`.
                if LocalSocketStream::connect(name).is_ok() {
                    let _ = accepting.join();
                }
            }
        }
    }
}

/// Accepts connections and echoes each in its own task, until the runtime shuts down.
async fn accept_tokio(listener: TokioListener, counters: Arc<Counters>) {
    let mut id = 0_u64;
    loop {
        match listener.accept().await {
            Ok(stream) => {
                id += 1;
                let counters = Arc::clone(&counters);
                tokio::spawn(async move {
                    let _open = counters.open();
                    match echo_tokio(stream).await {
                        Ok(bytes) => counters.done(bytes),
                        Err(e) => counters.error(format_args!("connection {id}"), e),
                    }
                });
            }
            Err(e) => {
                counters.error("accept", e);
                tokio::time::sleep(ACCEPT_PAUSE).await;
            }
        }
    }
}

/// Echoes until the client half-closes; returns the bytes echoed.
async fn echo_tokio(mut stream: TokioStream) -> io::Result<u64> {
    let mut buf = vec![0; BUF_SIZE];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        stream.write_all(&buf[..n]).await?;
        total += n as u64;
    }
}

/// Accepts connections and echoes each on its own thread, until `stopping` is set.
fn accept_sync(listener: &LocalSocketListener, stopping: &AtomicBool, counters: &Arc<Counters>) {
    let mut id = 0_u64;
    for accepted in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        match accepted {
            Ok(stream) => {
                id += 1;
                let counters = Arc::clone(counters);
                std::thread::spawn(move || {
                    let _open = counters.open();
                    match echo_sync(&stream) {
                        Ok(bytes) => counters.done(bytes),
                        Err(e) => counters.error(format_args!("connection {id}"), e),
                    }
                });
            }
            Err(e) => {
                counters.error("accept", e);
                std::thread::sleep(ACCEPT_PAUSE);
            }
        }
    }
}

/// Echoes until the client half-closes; returns the bytes echoed.
fn echo_sync(mut stream: &LocalSocketStream) -> io::Result<u64> {
    let mut buf = vec![0; BUF_SIZE];
    let mut total = 0;
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        stream.write_all(&buf[..n])?;
        total += n as u64;
    }
}
