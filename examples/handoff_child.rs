//! Handing an accepted connection to a child process (Unix): the parent accepts, starts a
//! worker process with `ChildHandoff` and forgets the connection; the worker serves it.
//! Only that socket is inherited by the worker (besides stdin, stdout and stderr).
//!
//! ```text
//! cargo run --example handoff_child -- demo    # parent, worker and a client in one run
//! ```
//!
//! Windows is not supported yet (see `ChildHandoff`); there the demo says so and exits.

#[cfg(unix)]
fn main() -> std::process::ExitCode {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let result = match mode.as_str() {
        "demo" => unix::demo(),
        "worker" => unix::worker(),
        _ => {
            eprintln!("usage: handoff_child demo");
            return std::process::ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("handoff_child: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(unix))]
fn main() {
    println!("handing a connection to a child process is not supported on Windows yet");
}

#[cfg(unix)]
mod unix {
    use localipc::local_socket::{ChildHandoff, LocalSocketListener, LocalSocketStream};
    use std::io::{self, BufRead, BufReader, Write};
    use std::process::Command;
    use std::time::Duration;

    /// The variable that tells the worker where its connection is.
    const ENV: &str = "HANDOFF_CONN";

    /// The worker: takes the connection, answers one line, exits (closing it).
    pub(crate) fn worker() -> io::Result<()> {
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

    pub(crate) fn demo() -> io::Result<()> {
        let name =
            std::env::temp_dir().join(format!("localipc-handoff-{}.sock", std::process::id()));
        let listener = LocalSocketListener::bind(name.as_path())?;
        let client = std::thread::spawn({
            let name = name.clone();
            move || -> io::Result<String> {
                let conn = LocalSocketStream::connect(name.as_path())?;
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
        handoff.apply(&mut cmd)?;
        let status = cmd.status()?;
        drop(cmd); // closes the Command's duplicate
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
}
