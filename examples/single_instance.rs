//! A single-instance application: the first start serves a name; a second start hands its
//! command-line arguments to the first and exits (like an editor asked to open another file).
//!
//! ```text
//! cargo run --example single_instance -- a.txt        # the first instance: keeps running
//! cargo run --example single_instance -- b.txt c.txt  # hands "b.txt", "c.txt" over, exits
//! cargo run --example single_instance -- --quit       # hands "--quit" over: the first exits
//! cargo run --example single_instance -- demo         # all of that in one run, then exits
//! ```
//!
//! The arguments travel over a message socket, one argument per message, so no quoting or
//! separator is needed; the first instance confirms with a message. Who is first is decided
//! by `bind` alone: of two starts at the same moment exactly one binds, and the other gets
//! `AddrInUse` and becomes a client. A name left by a crashed first instance is no obstacle:
//! namespaced names vanish with their process, and a stale socket file is reclaimed at bind.

use localipc::local_socket::message::{MessageListener, MessageStream};
use localipc::local_socket::{ConnectOptions, NameTypeSupport};
use std::io::{self, ErrorKind};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

/// One name per application (and, for a per-user application, per user: add the user id).
fn app_name(tag: &str) -> String {
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
    let mut name = app_name("single-instance");
    if args.first().map(String::as_str) == Some("--name") && args.len() >= 2 {
        name = args.remove(1);
        args.remove(0);
    }
    let result = if args.first().map(String::as_str) == Some("demo") {
        demo()
    } else {
        start(&name, args, |args| println!("opened: {args:?}")).map(|_| ())
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("single_instance: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What [`start`] did.
#[derive(Debug, PartialEq)]
enum Role {
    /// We were first; we served until `--quit`.
    First,
    /// Another instance runs; it has our arguments.
    HandedOver,
}

/// Becomes the first instance (calling `open` with our arguments and with every later
/// instance's) or hands `args` to the one that runs.
fn start(name: &str, args: Vec<String>, mut open: impl FnMut(Vec<String>)) -> io::Result<Role> {
    // Three rounds: the first instance may be exiting just as we start (its name is taken,
    // but nobody answers any more), then binding again succeeds.
    for _ in 0..3 {
        match MessageListener::bind(name) {
            Ok(listener) => {
                serve(&listener, args, &mut open)?;
                return Ok(Role::First);
            }
            Err(e) if e.kind() == ErrorKind::AddrInUse => match hand_over(name, &args) {
                Ok(()) => return Ok(Role::HandedOver),
                Err(e)
                    if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) =>
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(e),
            },
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "{name}: taken, but the instance holding it does not answer"
    )))
}

/// The first instance: opens its own arguments, then those of every later start, until one
/// of them is `--quit`.
fn serve(
    listener: &MessageListener,
    args: Vec<String>,
    open: &mut impl FnMut(Vec<String>),
) -> io::Result<()> {
    eprintln!(
        "first instance (pid {}): serving {}",
        std::process::id(),
        listener.local_name()
    );
    open(args);
    for conn in listener.incoming() {
        let conn = match conn {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("accept: {e}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        // A namespaced name on Linux has no permissions: take arguments only from our user.
        #[cfg(unix)]
        {
            // SAFETY: geteuid has no preconditions and cannot fail.
            let me = unsafe { libc::geteuid() };
            if conn.peer_creds()?.uid() != Some(me) {
                continue;
            }
        }
        conn.set_read_timeout(Some(Duration::from_secs(5)))?; // no client can hang us
        let mut args = Vec::new();
        let received = (|| -> io::Result<()> {
            while let Some(msg) = conn.recv_vec()? {
                if msg.is_empty() {
                    break; // the end of the list
                }
                args.push(String::from_utf8_lossy(&msg).into_owned());
            }
            conn.send(b"ok") // the client waits for this before it exits
        })();
        if let Err(e) = received {
            eprintln!("a later instance: {e}");
            continue;
        }
        let quit = args.iter().any(|a| a == "--quit");
        open(args);
        if quit {
            return Ok(());
        }
    }
    Ok(())
}

/// A later instance: sends each argument as one message, an empty message to end, and
/// waits for the confirmation.
fn hand_over(name: &str, args: &[String]) -> io::Result<()> {
    let conn =
        MessageStream::connect_with(name, ConnectOptions::new().timeout(Duration::from_secs(2)))?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    for arg in args {
        if !arg.is_empty() {
            conn.send(arg.as_bytes())?;
        }
    }
    conn.send(b"")?;
    match conn.recv_vec()? {
        Some(reply) if reply == b"ok" => {
            eprintln!("handed {args:?} to the running instance");
            Ok(())
        }
        _ => Err(io::Error::new(
            ErrorKind::ConnectionAborted,
            "the running instance did not confirm",
        )),
    }
}

/// The first instance here, two later starts as child processes, then a third with
/// `--quit`; checks what the first one received.
fn demo() -> io::Result<()> {
    let name = app_name(&format!("single-instance-demo-{}", std::process::id()));
    let exe = std::env::current_exe()?;
    // The later starts begin once we serve the name (our first `open`), or one of them
    // would be first.
    let (serving_tx, serving_rx) = std::sync::mpsc::channel::<()>();
    let spawner = std::thread::spawn({
        let name = name.clone();
        move || -> io::Result<()> {
            if serving_rx.recv_timeout(Duration::from_secs(20)).is_err() {
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    "the first instance did not start",
                ));
            }
            for args in [&["b.txt", "c.txt"][..], &["d.txt"], &["--quit"]] {
                let mut child = Command::new(&exe)
                    .arg("--name")
                    .arg(&name)
                    .args(args)
                    .spawn()?;
                let status = wait_bounded(&mut child, Duration::from_secs(20))?;
                if !status.success() {
                    return Err(io::Error::other(format!(
                        "a later instance exited with {status}"
                    )));
                }
            }
            Ok(())
        }
    });
    let mut opened = Vec::new();
    let role = start(&name, vec!["a.txt".to_owned()], |args| {
        println!("opened: {args:?}");
        opened.push(args);
        let _ = serving_tx.send(());
    })?;
    spawner.join().expect("the spawner thread")?;
    assert_eq!(role, Role::First);
    assert_eq!(
        opened,
        [
            vec!["a.txt"],
            vec!["b.txt", "c.txt"],
            vec!["d.txt"],
            vec!["--quit"]
        ]
    );
    println!("demo: one instance got every start's arguments");
    Ok(())
}

fn wait_bounded(
    child: &mut std::process::Child,
    limit: Duration,
) -> io::Result<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            child.kill()?;
            child.wait()?;
            return Err(io::Error::new(ErrorKind::TimedOut, "a later instance hung"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
