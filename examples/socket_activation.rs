//! A socket-activated service (systemd), sync API. Unix only (the listener comes from
//! systemd's `LISTEN_FDS`); elsewhere it says so and exits.
//!
//! ```text
//! cargo run --example socket_activation -- demo     # runs `serve` under systemd-socket-activate
//! cargo run --example socket_activation -- serve    # as a service: needs LISTEN_FDS
//! ```
//!
//! As a systemd unit pair, `serve` would run from `mydaemon.service` with a
//! `mydaemon.socket` holding `ListenStream=/run/mydaemon.sock` and
//! `FileDescriptorName=control`. The demo does the same with `systemd-socket-activate` (in
//! Debian's `systemd` package): it binds the socket, starts `serve` on the first
//! connection and hands it the listening socket, named `control`. `serve` answers one
//! line per connection and stops (with an `AcceptStopper`) after `quit`.

#[cfg(unix)]
fn main() -> std::process::ExitCode {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let result = match mode.as_str() {
        "serve" => unix::serve(),
        "demo" => unix::demo(),
        _ => {
            eprintln!("usage: socket_activation serve|demo");
            return std::process::ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("socket_activation: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(unix))]
fn main() {
    println!("socket activation (systemd, launchd) is for Unix; nothing to show here");
}

#[cfg(unix)]
mod unix {
    use localipc::local_socket::{LocalSocketStream, SystemdSockets};
    use std::io::{self, BufRead, BufReader, Write};
    use std::process::Command;
    use std::time::{Duration, Instant};

    /// The service: takes the listener named `control` from systemd and answers each
    /// connection's line until one says `quit`.
    pub(crate) fn serve() -> io::Result<()> {
        let mut sockets = SystemdSockets::take()?; // first thing: it edits the environment
        let listener = sockets.listener("control")?;
        let stopper = listener.stopper();
        for conn in listener.incoming() {
            let conn = conn?;
            let mut line = String::new();
            BufReader::new(&conn).read_line(&mut line)?;
            let line = line.trim_end();
            writeln!(&conn, "served by pid {}: {line}", std::process::id())?;
            if line == "quit" {
                stopper.stop(); // ends `incoming`
            }
        }
        Ok(())
    }

    /// Runs `serve` under `systemd-socket-activate` and talks to it.
    pub(crate) fn demo() -> io::Result<()> {
        let tool = "/usr/bin/systemd-socket-activate";
        if !std::path::Path::new(tool).exists() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{tool} is missing (Debian: apt-get install systemd)"),
            ));
        }
        let dir = std::env::temp_dir().join(format!("localipc-activation-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("control.sock");
        let mut child = Command::new(tool)
            .arg("-l")
            .arg(&path)
            .arg("--fdname=control")
            .arg(std::env::current_exe()?)
            .arg("serve")
            .spawn()?;
        let result = talk(&path);
        if result.is_err() {
            let _ = child.kill();
        }
        let status = child.wait()?;
        let _ = std::fs::remove_dir_all(&dir); // systemd-socket-activate leaves the file
        result?;
        if !status.success() {
            return Err(io::Error::other(format!("serve exited with {status}")));
        }
        println!("demo: done");
        Ok(())
    }

    fn talk(path: &std::path::Path) -> io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !path.exists() {
            if Instant::now() > deadline {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "no socket file"));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        for request in ["hello", "again", "quit"] {
            // The first connection is what makes systemd-socket-activate start `serve`.
            let conn = LocalSocketStream::connect(path)?;
            conn.set_read_timeout(Some(Duration::from_secs(10)))?;
            writeln!(&conn, "{request}")?;
            let mut reply = String::new();
            BufReader::new(&conn).read_line(&mut reply)?;
            print!("demo: {request} -> {reply}");
        }
        Ok(())
    }
}
