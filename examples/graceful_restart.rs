//! Graceful restart (Unix): a new server process takes the listening socket over from the
//! old one, which then finishes its connections and exits, without refusing one client.
//!
//! ```text
//! cargo run --example graceful_restart -- demo    # old, new, and a client loop throughout
//! ```
//!
//! How: each server also listens on a control socket (`<name>.ctl`). A new server connects
//! there and asks for the listener; the old one sends its descriptor over the control
//! connection (`send_with_handles`: `SCM_RIGHTS`) and stops accepting (`AcceptStopper`).
//! Both processes hold the same listening socket meanwhile, so clients that connect in
//! between wait in its backlog and are accepted by the new server: nobody is refused, and
//! the socket file never goes away. The old server serves the connections it already
//! accepted to the end, then exits. Windows has no such handover (a named pipe listener is
//! a name and a pipe instance replaced at every accept, not one handle); there the demo
//! says so.

#[cfg(unix)]
fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => unix::demo(),
        Some("serve") if args.len() == 4 => unix::serve(&args[1], &args[2], args[3] == "takeover"),
        _ => {
            eprintln!("usage: graceful_restart demo | serve NAME GENERATION fresh|takeover");
            return std::process::ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("graceful_restart: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(unix))]
fn main() {
    println!("graceful restart by handing over the listening socket is Unix-only");
}

#[cfg(unix)]
mod unix {
    use localipc::local_socket::{ListenerOptions, LocalSocketListener, LocalSocketStream};
    use std::io::{self, BufRead, BufReader, Write};
    use std::os::fd::{AsFd, OwnedFd};
    use std::path::Path;
    use std::process::{Child, Command};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    use std::thread;
    use std::time::{Duration, Instant};

    fn control_name(name: &str) -> String {
        format!("{name}.ctl")
    }

    /// A server: binds `name` (or takes it over from the running one), serves each
    /// connection one line (`gen <generation>: <line>`) on a thread, and answers its
    /// control socket: `takeover` hands the listener over and ends this server once its
    /// connections are done; `quit` ends it.
    pub(crate) fn serve(name: &str, generation: &str, takeover: bool) -> io::Result<()> {
        let listener = if takeover {
            take_over(name)?
        } else {
            // reclaim(false): the socket file must outlive this process when a successor
            // holds the socket; the last one's owner removes it.
            LocalSocketListener::bind_with(name, ListenerOptions::new().reclaim(false))?
        };
        let control = bind_retrying(&control_name(name))?;
        println!("READY gen {generation}");
        let listener = Arc::new(listener);
        let stopper = listener.stopper();
        let handed_over = Arc::new(AtomicBool::new(false));
        let control_thread = {
            let (listener, handed_over) = (Arc::clone(&listener), Arc::clone(&handed_over));
            thread::spawn(move || -> io::Result<()> {
                let conn = control.accept()?;
                let mut line = String::new();
                BufReader::new(&conn).read_line(&mut line)?;
                if line.trim_end() == "takeover" {
                    stopper.stop(); // blocked accepts return; clients wait in the backlog
                    conn.send_with_handles(b"L", &[listener.as_fd()])?;
                    handed_over.store(true, Ordering::SeqCst);
                } else {
                    stopper.stop();
                }
                drop(control); // frees the control name for the successor
                Ok(())
            })
        };
        let mut workers = Vec::new();
        for conn in listener.incoming() {
            let conn = conn?;
            let generation = generation.to_owned();
            workers.push(thread::spawn(move || -> io::Result<()> {
                let mut line = String::new();
                BufReader::new(&conn).read_line(&mut line)?;
                writeln!(&conn, "gen {generation}: {}", line.trim_end())
            }));
        }
        // Stopped: drain, then go.
        for w in workers {
            let _ = w.join();
        }
        control_thread.join().expect("control thread")?;
        println!(
            "EXIT gen {generation} (handed over: {})",
            handed_over.load(Ordering::SeqCst)
        );
        Ok(())
    }

    /// Asks the running server for its listener over its control socket.
    fn take_over(name: &str) -> io::Result<LocalSocketListener> {
        let conn = LocalSocketStream::connect(control_name(name).as_str())?;
        conn.set_read_timeout(Some(Duration::from_secs(10)))?;
        writeln!(&conn, "takeover")?;
        let mut buf = [0; 1];
        let mut fds: Vec<OwnedFd> = Vec::with_capacity(1);
        conn.recv_with_handles(&mut buf, &mut fds)?;
        let fd = fds
            .pop()
            .ok_or_else(|| io::Error::other("no listener received"))?;
        LocalSocketListener::try_from_fd(fd) // checks it is a listening socket
    }

    /// Binds the control name, waiting (bounded) while the predecessor still has it.
    fn bind_retrying(name: &str) -> io::Result<LocalSocketListener> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match LocalSocketListener::bind(name) {
                Err(e) if e.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(5));
                }
                r => return r,
            }
        }
    }

    /// Starts `serve` and waits for its `READY` line.
    fn start(
        name: &str,
        generation: u32,
        mode: &str,
    ) -> io::Result<(Child, BufReader<std::process::ChildStdout>)> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["serve", name, &generation.to_string(), mode])
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        let mut out = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        out.read_line(&mut line)?;
        if !line.starts_with("READY") {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other(format!(
                "server {generation} did not start: {line:?}"
            )));
        }
        Ok((child, out))
    }

    pub(crate) fn demo() -> io::Result<()> {
        let dir = std::env::temp_dir().join(format!("localipc-restart-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let result = run_demo(&dir.join("svc.sock"));
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    fn run_demo(path: &Path) -> io::Result<()> {
        let name = path.to_str().expect("temp path is UTF-8").to_owned();
        let (mut old, _old_out) = start(&name, 1, "fresh")?;
        // The client loop: a new connection per request, every failure counted.
        let stop = Arc::new(AtomicBool::new(false));
        let (ok, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let gens = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let client = {
            let (stop, ok, errors, gens, name) = (
                Arc::clone(&stop),
                Arc::clone(&ok),
                Arc::clone(&errors),
                Arc::clone(&gens),
                name.clone(),
            );
            thread::spawn(move || {
                let mut n = 0_u64;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    match request(&name, n) {
                        Ok(reply) => {
                            ok.fetch_add(1, Ordering::SeqCst);
                            let generation = reply.split(':').next().unwrap_or("").to_owned();
                            let mut g = gens.lock().unwrap();
                            if g.last() != Some(&generation) {
                                g.push(generation);
                            }
                        }
                        Err(e) => {
                            eprintln!("demo: request {n} failed: {e}");
                            errors.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            })
        };
        thread::sleep(Duration::from_millis(300));
        let (mut new, _new_out) = start(&name, 2, "takeover")?;
        let status = old.wait()?; // the old one exits once its connections are done
        thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::SeqCst);
        client.join().expect("client thread");
        // Tell the new one to quit.
        let ctl = LocalSocketStream::connect(control_name(&name).as_str())?;
        writeln!(&ctl, "quit")?;
        let new_status = new.wait()?;
        let _ = std::fs::remove_file(path);
        let (ok, errors) = (ok.load(Ordering::SeqCst), errors.load(Ordering::SeqCst));
        let gens = gens.lock().unwrap().clone();
        println!("demo: {ok} requests answered, {errors} failed; served by {gens:?}");
        if errors != 0 || !status.success() || !new_status.success() || gens != ["gen 1", "gen 2"] {
            return Err(io::Error::other("the restart was not seamless"));
        }
        println!("demo: done");
        Ok(())
    }

    fn request(name: &str, n: u64) -> io::Result<String> {
        let conn = LocalSocketStream::connect(name)?;
        conn.set_read_timeout(Some(Duration::from_secs(10)))?;
        writeln!(&conn, "request {n}")?;
        let mut reply = String::new();
        BufReader::new(&conn).read_line(&mut reply)?;
        if reply.is_empty() {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no reply"));
        }
        Ok(reply)
    }
}
