//! A supervisor that hands a listening socket and an open file to a worker process it
//! spawns: the worker serves the supervisor's clients and writes to the supervisor's log,
//! without knowing the socket's name or the log's path, and without permission to open
//! either (a common pattern for privilege separation and restarts without downtime).
//!
//! ```text
//! cargo run --example supervisor -- demo     # supervisor, worker and three clients; exits
//! ```
//!
//! The handles travel over a private local socket to the worker with
//! [`send_with_handles`](localipc::local_socket::LocalSocketStream::send_with_handles):
//!
//! - the log file, once;
//! - on Unix, the **listening socket** itself: from then on the worker accepts the clients;
//! - on Windows a listener is not one handle (it is a pipe name and a pending pipe instance
//!   that every `accept` replaces), so the supervisor accepts each client and hands the
//!   **accepted connection** to the worker, which then serves it alone.
//!
//! The worker stops when the supervisor closes the private socket.

use localipc::handle::OwnedHandle;
use localipc::local_socket::NameTypeSupport;
use localipc::local_socket::{ConnectOptions, LocalSocketListener, LocalSocketStream};
use std::fs::File;
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Seek, Write};
use std::process::{Child, Command, ExitCode};
use std::thread;
use std::time::{Duration, Instant};

fn name(tag: &str) -> String {
    if NameTypeSupport::query().namespace_supported() {
        format!("@localipc-example-{tag}")
    } else {
        std::env::temp_dir()
            .join(format!("localipc-example-{tag}.sock"))
            .display()
            .to_string()
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(),
        Some("worker") if args.len() == 2 => worker(&args[1]),
        _ => {
            eprintln!("usage: supervisor demo");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("supervisor: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------
// The supervisor.

fn demo() -> io::Result<()> {
    let pid = std::process::id();
    let public = name(&format!("supervisor-demo-{pid}"));
    let listener = LocalSocketListener::bind(public.as_str())?;
    let log_path = std::env::temp_dir().join(format!("localipc-example-supervisor-{pid}.log"));
    let mut log = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&log_path)?;

    // The private channel to the worker: the worker connects to it at start.
    let private = name(&format!("supervisor-demo-{pid}-ctl"));
    let control_listener = LocalSocketListener::bind(private.as_str())?;
    let mut worker = Command::new(std::env::current_exe()?)
        .args(["worker", &private])
        .spawn()?;
    let result = (|| -> io::Result<()> {
        let control = accept_bounded(&control_listener, &mut worker)?;
        drop(control_listener);

        control.send_with_handles(b"log", &[borrow(&log)])?;
        #[cfg(unix)]
        control.send_with_handles(b"listener", &[borrow(&listener)])?;
        #[cfg(windows)]
        let acceptor = {
            // Accept here, serve there: each connection goes to the worker.
            let control = control.try_clone()?;
            thread::spawn(move || -> io::Result<()> {
                for _ in 0..3 {
                    let conn = listener.accept()?;
                    control.send_with_handles(b"connection", &[borrow(&conn)])?;
                    // Our copy closes; the worker's stays open. (The supervisor must live
                    // until the worker has pulled the handle: see `send_with_handles`.)
                }
                Ok(())
            })
        };

        // Three clients, as anyone would connect: they never see the worker.
        for i in 1..=3 {
            let reply = ask(&public, &format!("request {i}"))?;
            println!("client {i} got {reply:?}");
        }
        #[cfg(windows)]
        acceptor.join().expect("the acceptor thread")?;
        drop(control); // the worker's signal to stop
        let status = wait_bounded(&mut worker, Duration::from_secs(20))?;
        if !status.success() {
            return Err(io::Error::other(format!("the worker exited with {status}")));
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = worker.kill();
        let _ = worker.wait();
    }
    result?;

    // The worker wrote into our open file: the same file, the same offset.
    let mut text = String::new();
    log.rewind()?;
    log.read_to_string(&mut text)?;
    drop(log);
    std::fs::remove_file(&log_path)?;
    print!("the log the worker wrote:\n{text}");
    assert_eq!(text.lines().count(), 3);
    println!("demo: the worker served every client through the handed-over handles");
    Ok(())
}

fn ask(name: &str, request: &str) -> io::Result<String> {
    let conn = LocalSocketStream::connect_with(
        name,
        ConnectOptions::new().timeout(Duration::from_secs(10)),
    )?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    writeln!(&mut &conn, "{request}")?;
    let mut reply = String::new();
    BufReader::new(&conn).read_line(&mut reply)?;
    Ok(reply.trim_end().to_owned())
}

/// Accepts the worker's connection, unless the worker dies first or takes over 20 s.
fn accept_bounded(
    listener: &LocalSocketListener,
    worker: &mut Child,
) -> io::Result<LocalSocketStream> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match listener.accept() {
            Ok(conn) => return Ok(conn),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        if let Some(status) = worker.try_wait()? {
            return Err(io::Error::other(format!(
                "the worker exited at start: {status}"
            )));
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                "the worker did not connect",
            ));
        }
        thread::sleep(Duration::from_millis(10));
    }
}

fn wait_bounded(child: &mut Child, limit: Duration) -> io::Result<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            child.kill()?;
            child.wait()?;
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                "the worker did not stop",
            ));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// A portable borrowed handle: a descriptor on Unix, a `HANDLE` on Windows.
#[cfg(unix)]
fn borrow(x: &impl std::os::fd::AsFd) -> localipc::handle::BorrowedHandle<'_> {
    x.as_fd()
}
#[cfg(windows)]
fn borrow(x: &impl std::os::windows::io::AsHandle) -> localipc::handle::BorrowedHandle<'_> {
    x.as_handle()
}

// ---------------------------------------------------------------------------------------
// The worker.

/// Receives one record: its words and the handles that came with it.
fn receive(control: &LocalSocketStream) -> io::Result<Option<(String, Vec<OwnedHandle>)>> {
    let mut buf = [0; 64];
    let mut handles = Vec::with_capacity(4);
    let n = control.recv_with_handles(&mut buf, &mut handles)?;
    if n == 0 {
        return Ok(None); // the supervisor closed the channel
    }
    Ok(Some((
        String::from_utf8_lossy(&buf[..n]).into_owned(),
        handles,
    )))
}

fn worker(private: &str) -> io::Result<()> {
    let control = LocalSocketStream::connect_with(
        private,
        ConnectOptions::new().timeout(Duration::from_secs(10)),
    )?;
    let pid = std::process::id();
    let Some((what, mut handles)) = receive(&control)? else {
        return Err(io::Error::new(ErrorKind::UnexpectedEof, "no log file"));
    };
    let log = match (what.as_str(), handles.pop()) {
        ("log", Some(h)) => File::from(h),
        _ => {
            return Err(io::Error::new(
                ErrorKind::InvalidData,
                format!("expected the log, got {what:?}"),
            ))
        }
    };
    eprintln!("worker {pid}: got the log file");

    #[cfg(unix)]
    {
        let listener = match receive(&control)? {
            Some((what, mut handles)) if what == "listener" && handles.len() == 1 => {
                LocalSocketListener::from(handles.pop().unwrap())
            }
            _ => {
                return Err(io::Error::new(
                    ErrorKind::InvalidData,
                    "expected the listener",
                ))
            }
        };
        eprintln!("worker {pid}: got the listener; serving");
        // Until the supervisor closes the channel: a thread waits for that while this one
        // accepts, in nonblocking mode so it can look at the flag.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let watcher = thread::spawn({
            let stop = stop.clone();
            move || {
                let _ = receive(&control); // end of file (or an error): stop
                stop.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        });
        listener.set_nonblocking(true)?;
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            match listener.accept() {
                Ok(conn) => serve(conn, &log)?, // one at a time, to keep the recipe short
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    thread::sleep(Duration::from_millis(10))
                }
                Err(e) => return Err(e),
            }
        }
        watcher.join().expect("the watcher thread");
    }
    #[cfg(windows)]
    while let Some((what, mut handles)) = receive(&control)? {
        match (what.as_str(), handles.pop()) {
            ("connection", Some(h)) => serve(LocalSocketStream::from(h), &log)?,
            _ => {
                return Err(io::Error::new(
                    ErrorKind::InvalidData,
                    format!("unexpected {what:?}"),
                ))
            }
        }
    }
    eprintln!("worker {pid}: the supervisor closed the channel; stopping");
    Ok(())
}

/// One line in, one line out, one line in the log.
fn serve(conn: LocalSocketStream, mut log: &File) -> io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut line = String::new();
    BufReader::new(&conn).read_line(&mut line)?;
    let pid = std::process::id();
    writeln!(log, "worker {pid} served {:?}", line.trim_end())?;
    writeln!(&mut &conn, "handled by worker {pid}")
}
