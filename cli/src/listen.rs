//! `localipc listen`: serve a local socket, one thread per connection.
//!
//! Without `--echo`, what clients send goes to stdout and stdin goes to the newest client
//! still open; with `--echo`, each client gets its own bytes back.
//!
//! SIGINT and SIGTERM (Unix) stop the server cleanly: the listener is dropped, which removes
//! its socket file, and the process then ends by the same signal. An `accept` that fails for
//! a reason other than one client's (out of descriptors or memory, say) is retried every
//! 100 ms, with at most one line a second on stderr, instead of in a busy loop.

use crate::error::{self, Context};
use localipc::local_socket::{
    AcceptStopper, ListenerOptions, LocalSocketListener, LocalSocketStream,
};
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The pause after an accept error that does not concern one client only.
const BACKOFF: Duration = Duration::from_millis(100);
/// At most one back-off message per this interval.
const BACKOFF_LOG_EVERY: Duration = Duration::from_secs(1);

/// Size of the relay buffers.
const BUF_SIZE: usize = 64 * 1024;

/// Options of `localipc listen`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The name to bind: `@name` (namespaced) or a socket file path.
    name: OsString,
    /// Send each client its own bytes back, closing once it closes its write half.
    #[arg(long)]
    echo: bool,
    /// Permission bits of the socket file, in octal (e.g. 600); path names only.
    #[cfg(unix)]
    #[arg(long, value_name = "OCTAL", value_parser = crate::parse::octal_mode)]
    mode: Option<u32>,
    /// Exit once the first connection has ended.
    #[arg(long)]
    once: bool,
    /// Who may connect (repeatable); others are refused (Unix: closed at accept and logged;
    /// Windows: by the pipe's DACL).
    #[arg(long, value_name = "WHO", long_help = crate::access::WHO_HELP)]
    allow: Vec<String>,
}

/// Binds the name and serves clients until `--once` is met or a fatal error occurs.
pub(crate) fn run(args: Args, verbose: bool) -> io::Result<()> {
    // Before any thread starts, so that only the signal thread takes SIGINT/SIGTERM.
    let blocked = crate::signals::block();
    let mut opts = ListenerOptions::new();
    if let Some(policy) = crate::access::policy(&args.allow, "--allow")? {
        opts.access(policy).on_refused(crate::access::log_refused);
    }
    #[cfg(unix)]
    if let Some(mode) = args.mode {
        opts.mode(mode);
    }
    let listener = LocalSocketListener::bind_with(args.name.as_os_str(), &opts)?;
    let server = Arc::new(Server {
        stopper: listener.stopper(),
        verbose,
        once: args.once,
        stopping: AtomicBool::new(false),
        signal: AtomicI32::new(0),
        failure: Mutex::new(None),
        clients: Mutex::new(Clients::default()),
        client_added: Condvar::new(),
    });
    if verbose {
        error::log(&format!("listening on {}", listener.local_name()));
    }
    {
        let server = Arc::clone(&server);
        crate::signals::on_first(&blocked, move |sig| {
            server.signal.store(sig, Ordering::SeqCst);
            server.stop(None);
        });
    }
    if !args.echo {
        let server = Arc::clone(&server);
        std::thread::spawn(move || server.stdin_to_clients());
    }
    let mut next_id = 0_u64;
    let mut backoff = Backoff::default();
    while !server.stopping.load(Ordering::SeqCst) {
        let accepted = listener.accept();
        if server.stopping.load(Ordering::SeqCst) {
            break;
        }
        let stream = match accepted {
            Ok(stream) => stream,
            Err(e) if AcceptStopper::is_stop_error(&e) => break,
            Err(e) if transient(&e) => continue,
            Err(e) => {
                backoff.pause(&e);
                continue;
            }
        };
        next_id += 1;
        let id = next_id;
        if verbose {
            let who = crate::access::describe(stream.peer_creds());
            error::log(&format!("client {id} connected ({who})"));
        }
        let server = Arc::clone(&server);
        if args.echo {
            std::thread::spawn(move || server.finish(id, echo(&stream)));
        } else {
            let stream = Arc::new(stream);
            server.add_client(id, Arc::clone(&stream));
            std::thread::spawn(move || {
                let result = to_stdout(&stream);
                server.remove_client(id);
                // Close now, even if the stdin thread still holds the stream.
                let _ = stream.shutdown(Shutdown::Both);
                server.finish(id, result);
            });
        }
    }
    drop(listener); // removes the socket file, if any
    let sig = server.signal.load(Ordering::SeqCst);
    if sig != 0 {
        crate::signals::reraise(sig);
    }
    let failure = lock(&server.failure).take();
    failure.map_or(Ok(()), Err)
}

/// The back-off after accept errors that recur until something is freed (out of
/// descriptors, `EMFILE`/`ENFILE`; out of memory, `ENOBUFS`/`ENOMEM`): retrying at once would
/// spin, so the loop sleeps [`BACKOFF`] each time and says so on stderr at most once every
/// [`BACKOFF_LOG_EVERY`]. Clients meanwhile wait in the backlog.
#[derive(Default)]
struct Backoff {
    /// When the last message was printed.
    logged: Option<Instant>,
    /// Failures since then.
    unreported: u64,
}

impl Backoff {
    fn pause(&mut self, err: &io::Error) {
        if self
            .logged
            .is_none_or(|at| at.elapsed() >= BACKOFF_LOG_EVERY)
        {
            let more = match self.unreported {
                0 => String::new(),
                n => format!(" ({n} more failures since the last message)"),
            };
            error::log(&format!(
                "{err}; retrying every {} ms{more}",
                BACKOFF.as_millis()
            ));
            self.logged = Some(Instant::now());
            self.unreported = 0;
        } else {
            self.unreported += 1;
        }
        std::thread::sleep(BACKOFF);
    }
}

/// Accept errors that concern one client only.
fn transient(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
    )
}

/// How a connection ended badly.
enum ConnError {
    /// The connection failed: only this client is affected.
    Socket(io::Error),
    /// Stdout failed: the whole server stops.
    Stdout(io::Error),
}

/// Sends everything the client sends back to it, until it closes its write half.
/// Returns the number of bytes echoed.
fn echo(stream: &LocalSocketStream) -> Result<u64, ConnError> {
    let mut buf = vec![0; BUF_SIZE];
    let mut total = 0;
    loop {
        let n = match (&*stream).read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ConnError::Socket(e)),
        };
        (&*stream).write_all(&buf[..n]).map_err(ConnError::Socket)?;
        total += n as u64;
    }
}

/// Copies what the client sends to stdout, a whole chunk at a time under the stdout lock.
/// Returns the number of bytes received.
fn to_stdout(stream: &LocalSocketStream) -> Result<u64, ConnError> {
    let mut buf = vec![0; BUF_SIZE];
    let mut total = 0;
    loop {
        let n = match (&*stream).read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ConnError::Socket(e)),
        };
        let mut out = io::stdout().lock();
        out.write_all(&buf[..n])
            .and_then(|()| out.flush())
            .context(|| "writing to stdout")
            .map_err(ConnError::Stdout)?;
        total += n as u64;
    }
}

/// State shared by the accept loop, the connection threads and the stdin thread.
struct Server {
    /// Ends a blocked `accept` of the accept loop.
    stopper: AcceptStopper,
    /// Log connects and disconnects.
    verbose: bool,
    /// Stop after the first connection ends.
    once: bool,
    /// Set once the accept loop should end.
    stopping: AtomicBool,
    /// The signal (SIGINT/SIGTERM) that stopped the server, or 0.
    signal: AtomicI32,
    /// The error to exit with, if any.
    failure: Mutex<Option<io::Error>>,
    /// Clients that stdin may go to.
    clients: Mutex<Clients>,
    /// Signalled when a client is added.
    client_added: Condvar,
}

/// The open clients, newest last, and whether stdin has ended.
#[derive(Default)]
struct Clients {
    /// Open connections in the order they were accepted.
    open: Vec<(u64, Arc<LocalSocketStream>)>,
    /// Stdin reached end of file: every client's write half gets shut down.
    stdin_done: bool,
}

impl Server {
    /// Logs how connection `id` ended; stops the server on a stdout failure or with `--once`.
    fn finish(&self, id: u64, result: Result<u64, ConnError>) {
        match result {
            Ok(bytes) if self.verbose => {
                error::log(&format!(
                    "client {id} disconnected ({bytes} bytes received)"
                ));
            }
            Ok(_) => {}
            Err(ConnError::Socket(e)) => {
                if self.verbose {
                    error::log(&format!("client {id} failed: {e}"));
                }
            }
            Err(ConnError::Stdout(e)) => return self.stop(Some(e)),
        }
        if self.once {
            self.stop(None);
        }
    }

    /// Ends the accept loop (with `failure` as the exit error, if given) by setting the flag
    /// and stopping the listener ([`AcceptStopper::stop`]), which makes a blocked `accept`
    /// return.
    fn stop(&self, failure: Option<io::Error>) {
        if let Some(e) = failure {
            lock(&self.failure).get_or_insert(e);
        }
        if self.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        self.stopper.stop();
    }

    /// Makes `stream` the newest client for stdin (shutting its write half at once if stdin
    /// has already ended).
    fn add_client(&self, id: u64, stream: Arc<LocalSocketStream>) {
        let mut clients = lock(&self.clients);
        if clients.stdin_done {
            let _ = stream.shutdown(Shutdown::Write);
        }
        clients.open.push((id, stream));
        self.client_added.notify_all();
    }

    /// Forgets client `id`.
    fn remove_client(&self, id: u64) {
        lock(&self.clients).open.retain(|(i, _)| *i != id);
    }

    /// The newest open client, waiting for one if there is none.
    fn newest_client(&self) -> (u64, Arc<LocalSocketStream>) {
        let mut clients = lock(&self.clients);
        loop {
            if let Some((id, stream)) = clients.open.last() {
                return (*id, Arc::clone(stream));
            }
            clients = self
                .client_added
                .wait(clients)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Stdin thread: waits for a client, reads a chunk of stdin, sends it to the newest client
    /// still open; at end of input shuts down every client's write half.
    fn stdin_to_clients(&self) {
        let mut buf = vec![0; BUF_SIZE];
        let mut stdin = io::stdin().lock();
        loop {
            drop(self.newest_client()); // read only once someone can take it
            let n = match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return self.stop(Some(io::Error::new(
                        e.kind(),
                        format!("reading stdin: {e}"),
                    )))
                }
            };
            loop {
                let (id, stream) = self.newest_client();
                match (&*stream).write_all(&buf[..n]) {
                    Ok(()) => break,
                    Err(e) => {
                        if self.verbose {
                            error::log(&format!("client {id}: sending stdin failed: {e}"));
                        }
                        self.remove_client(id);
                    }
                }
            }
        }
        let mut clients = lock(&self.clients);
        clients.stdin_done = true;
        for (_, stream) in &clients.open {
            let _ = stream.shutdown(Shutdown::Write);
        }
    }
}

/// Locks `mutex`, ignoring poisoning (no lock is held across code that can panic).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
