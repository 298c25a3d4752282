//! Handing an accepted connection to a child process: the parent accepts, starts a worker
//! process with `ChildHandoff` and forgets the connection; the worker serves it. Only that
//! connection is inherited by the worker (besides stdin, stdout and stderr): on Unix the
//! other descriptors are close-on-exec in the child; on Windows the worker is started with
//! `CreateProcessW` and a `PROC_THREAD_ATTRIBUTE_HANDLE_LIST` (see `ChildHandoff::spawn`).
//!
//! ```text
//! cargo run --example handoff_child -- demo    # parent, worker and a client in one run
//! ```

use localipc::local_socket::{
    ChildHandoff, LocalSocketListener, LocalSocketStream, NameTypeSupport,
};
use std::io::{self, BufRead, BufReader, Write};
use std::process::{Command, ExitCode};
use std::time::Duration;

/// The variable that tells the worker where its connection is.
const ENV: &str = "HANDOFF_CONN";

fn main() -> ExitCode {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let result = match mode.as_str() {
        "demo" => demo(),
        "worker" => worker(),
        _ => {
            eprintln!("usage: handoff_child demo");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("handoff_child: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The worker: takes the connection, answers one line, exits (closing it).
fn worker() -> io::Result<()> {
    let conn = LocalSocketStream::from_parent(ENV)?;
    let mut line = String::new();
    BufReader::new(&conn).read_line(&mut line)?;
    writeln!(
        &conn,
        "worker {} got: {}",
        std::process::id(),
        line.trim_end()
    )
}

/// A name for this run: in the namespace where there is one (Linux, Windows), else a
/// socket file in the temporary directory.
fn name() -> String {
    let tag = format!("localipc-handoff-{}", std::process::id());
    if NameTypeSupport::query().namespace_supported() {
        format!("@{tag}")
    } else {
        let path = std::env::temp_dir().join(format!("{tag}.sock"));
        path.display().to_string()
    }
}

fn demo() -> io::Result<()> {
    let name = name();
    let listener = LocalSocketListener::bind(name.as_str())?;
    let client = std::thread::spawn({
        let name = name.clone();
        move || -> io::Result<String> {
            let conn = LocalSocketStream::connect(name.as_str())?;
            conn.set_read_timeout(Some(Duration::from_secs(10)))?;
            writeln!(&conn, "hello")?;
            let mut reply = String::new();
            BufReader::new(&conn).read_line(&mut reply)?;
            Ok(reply)
        }
    });
    let conn = listener.accept()?;
    let mut handoff = ChildHandoff::new();
    handoff.stream(&conn, ENV)?;
    drop(conn); // the worker owns the connection from now on
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("worker");
    let mut worker = handoff.spawn(&mut cmd)?;
    drop(cmd); // on Unix, the Command holds a duplicate until dropped
    let status = worker.wait()?;
    let reply = client.join().expect("client thread")?;
    print!("demo: client got {reply}");
    if !status.success() || !reply.contains("got: hello") {
        return Err(io::Error::other(format!(
            "worker {status}, reply {reply:?}"
        )));
    }
    println!("demo: done");
    Ok(())
}
