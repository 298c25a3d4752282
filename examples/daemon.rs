//! A daemon and its command-line client, in one program (sync API).
//!
//! ```text
//! cargo run --example daemon -- serve                 # the daemon, in the foreground
//! cargo run --example daemon -- ask hello there       # a client: prints the daemon's answer
//! cargo run --example daemon -- ask shutdown          # asks the daemon to stop
//! cargo run --example daemon -- demo                  # both: spawns `serve`, asks, stops it
//! ```
//!
//! `--name NAME` (before the mode) picks another socket name. The protocol is one line per
//! request and one line per reply; a client may send several requests on one connection.
//! The daemon serves each connection on a thread of its own and stops accepting on
//! `shutdown`.

use localipc::local_socket::NameTypeSupport;
use localipc::local_socket::{ConnectOptions, LocalSocketListener, LocalSocketStream};
use std::io::{self, BufRead, BufReader, ErrorKind, Write};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// The daemon's default name: namespaced where the platform has them (Linux, Windows), a
/// socket file in the temp directory elsewhere. A real daemon would put the user in it, or
/// use a path in a directory only that user can reach (`$XDG_RUNTIME_DIR`).
fn default_name(tag: &str) -> String {
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
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut name = default_name("daemon");
    if args.first().map(String::as_str) == Some("--name") && args.len() >= 2 {
        name = args.remove(1);
        args.remove(0);
    }
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve(&name),
        Some("ask") if args.len() > 1 => {
            ask(&name, &args[1..].join(" ")).map(|reply| println!("{reply}"))
        }
        Some("demo") => demo(),
        _ => {
            eprintln!("usage: daemon [--name NAME] serve | ask WORDS... | demo");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("daemon: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Serves until a client asks for `shutdown`.
fn serve(name: &str) -> io::Result<()> {
    // `AddrInUse` here means another daemon is serving this name: say so and stop.
    let listener = LocalSocketListener::bind(name)?;
    eprintln!("daemon {}: listening on {name}", std::process::id());
    let stop = Arc::new(AtomicBool::new(false));
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break; // the connection that woke us up is the one `shutdown` made
        }
        let conn = match conn {
            Ok(conn) => conn,
            // One client's trouble: accept the next at once.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionAborted | ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            // Out of descriptors or memory: this recurs until something is freed, so back
            // off instead of spinning.
            Err(e) => {
                eprintln!("daemon: accept: {e}");
                thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let (stop, name) = (Arc::clone(&stop), name.to_owned());
        thread::spawn(move || {
            if let Err(e) = handle(&conn, &stop, &name) {
                eprintln!("daemon: client: {e}");
            }
        });
    }
    eprintln!("daemon {}: stopped", std::process::id());
    Ok(()) // dropping the listener frees the name (and removes a socket file)
}

/// Answers each line of one client until it closes its end.
fn handle(conn: &LocalSocketStream, stop: &AtomicBool, name: &str) -> io::Result<()> {
    // A client that connects and goes silent must not hold a thread forever.
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut lines = BufReader::new(conn); // `Read` and `Write` work on `&LocalSocketStream`
    let mut line = String::new();
    while lines.read_line(&mut line)? > 0 {
        let request = line.trim_end();
        let reply = if request == "shutdown" {
            "bye".to_owned()
        } else {
            let words = request.split_whitespace().count();
            format!("{words} word(s); shouted: {}", request.to_uppercase())
        };
        writeln!(&mut &*conn, "{reply}")?;
        if request == "shutdown" {
            stop.store(true, Ordering::SeqCst);
            // Wake the accept loop, which is blocked in `accept`, so that it sees `stop`.
            let _ = LocalSocketStream::connect(name);
            return Ok(());
        }
        line.clear();
    }
    Ok(())
}

/// Sends one request and returns the reply. Waits up to 5 s for the daemon to come up.
fn ask(name: &str, request: &str) -> io::Result<String> {
    let conn = LocalSocketStream::connect_with(
        name,
        ConnectOptions::new().timeout(Duration::from_secs(5)),
    )
    .map_err(|e| io::Error::new(e.kind(), format!("is the daemon running? {e}")))?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    writeln!(&mut &conn, "{request}")?;
    let mut reply = String::new();
    BufReader::new(&conn).read_line(&mut reply)?;
    Ok(reply.trim_end().to_owned())
}

/// Starts this program as the daemon in a child process, asks it two questions, stops it.
fn demo() -> io::Result<()> {
    let name = default_name(&format!("daemon-demo-{}", std::process::id()));
    let mut daemon = Command::new(std::env::current_exe()?)
        .args(["--name", &name, "serve"])
        .spawn()?;
    let result = (|| -> io::Result<()> {
        for question in ["hello there", "how are you today"] {
            println!("ask {question:?} -> {:?}", ask(&name, question)?);
        }
        println!("ask \"shutdown\" -> {:?}", ask(&name, "shutdown")?);
        Ok(())
    })();
    // Every wait bounded: a daemon that does not stop within 10 s is killed.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = daemon.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            daemon.kill()?;
            daemon.wait()?;
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                "the daemon did not stop",
            ));
        }
        thread::sleep(Duration::from_millis(20));
    };
    result?;
    if !status.success() {
        return Err(io::Error::other(format!("the daemon exited with {status}")));
    }
    println!("demo: the daemon stopped cleanly");
    Ok(())
}
