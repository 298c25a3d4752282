//! `localipc connect`: relay stdin to a local socket and the socket to stdout.

use crate::error::{self, Context};
use localipc::local_socket::{ConnectOptions, LocalSocketStream};
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Duration;

/// Size of the relay buffers.
const BUF_SIZE: usize = 64 * 1024;

/// Options of `localipc connect`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The server's name: `@name` (namespaced) or a socket file path.
    name: OsString,
    /// Keep trying for up to SECS while the server is not up yet or busy.
    #[arg(long, value_name = "SECS", value_parser = crate::parse::seconds)]
    timeout: Option<Duration>,
    /// Whom the server must be (repeatable); any other server is refused before a byte is
    /// sent (exit status 1, "permission denied").
    #[arg(long, value_name = "WHO", long_help = crate::access::WHO_HELP)]
    expect_server: Vec<String>,
}

/// Connects, then relays stdin → socket (shutting down the write half at end of input) and
/// socket → stdout, until both directions have ended.
pub(crate) fn run(args: Args, verbose: bool) -> io::Result<()> {
    let mut opts = ConnectOptions::new();
    if let Some(timeout) = args.timeout {
        opts.timeout(timeout);
    }
    if let Some(policy) = crate::access::policy(&args.expect_server, "--expect-server")? {
        opts.expect_server(policy);
    }
    let stream =
        Arc::new(LocalSocketStream::connect_with(args.name.as_os_str(), &opts).map_err(hint)?);
    if verbose {
        let who = crate::access::describe(stream.peer_creds());
        error::log(&format!("connected (server {who})"));
    }
    let upstream = std::thread::spawn({
        let stream = Arc::clone(&stream);
        move || {
            let result = stdin_to_socket(&stream);
            if result.is_err() {
                // Wake the other direction so the error is reported at once.
                let _ = stream.shutdown(Shutdown::Both);
            }
            result
        }
    });
    // On a stdout failure the stdin thread may be blocked reading: do not wait for it.
    socket_to_stdout(&stream)?;
    if verbose {
        error::log("the server closed its side");
    }
    upstream
        .join()
        .map_err(|_| error::other("the stdin relay thread panicked"))?
}

/// Adds a hint to the errors that mean "nobody is listening".
fn hint(err: io::Error) -> io::Error {
    match err.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => io::Error::new(
            err.kind(),
            format!("{err} (is a server listening? --timeout SECS waits for one)"),
        ),
        _ => err,
    }
}

/// Copies stdin to the socket, then shuts down the socket's write half.
fn stdin_to_socket(stream: &LocalSocketStream) -> io::Result<()> {
    let mut buf = vec![0; BUF_SIZE];
    let mut stdin = io::stdin().lock();
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context(|| "reading stdin"),
        };
        (&*stream)
            .write_all(&buf[..n])
            .map_err(|e| match e.kind() {
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => {
                    error::other("the server closed the connection before all of stdin was sent")
                }
                _ => io::Error::new(e.kind(), format!("sending to the server: {e}")),
            })?;
    }
    match stream.shutdown(Shutdown::Write) {
        // The server already closed: nothing is lost, it had read everything it wanted.
        Err(e) if e.kind() != io::ErrorKind::NotConnected => {
            Err(e).context(|| "shutting down the write half")
        }
        _ => Ok(()),
    }
}

/// Copies the socket to stdout, flushing each chunk, until end of file.
fn socket_to_stdout(stream: &LocalSocketStream) -> io::Result<()> {
    let mut buf = vec![0; BUF_SIZE];
    loop {
        let n = match (&*stream).read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context(|| "receiving from the server"),
        };
        let mut out = io::stdout().lock();
        out.write_all(&buf[..n])
            .and_then(|()| out.flush())
            .context(|| "writing to stdout")?;
    }
}
