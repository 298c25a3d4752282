//! A tokio server with graceful shutdown: on Ctrl-C or a `shutdown` request it stops
//! accepting, lets every request in flight finish (closing idle connections), and exits.
//!
//! ```text
//! cargo run --features tokio --example tokio_server -- serve     # until Ctrl-C or `shutdown`
//! cargo run --features tokio --example tokio_server -- demo      # server and clients, then exits
//! ```
//!
//! The protocol is one line per request, one line per reply: `slow MS` answers after MS
//! milliseconds (a request in flight), `shutdown` starts the shutdown, anything else is
//! echoed in capitals.

use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
use localipc::local_socket::NameTypeSupport;
use std::io;
use std::process::ExitCode;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How long in-flight requests may take to finish once shutdown has begun.
const GRACE: Duration = Duration::from_secs(10);

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

#[tokio::main]
async fn main() -> ExitCode {
    let result = match std::env::args().nth(1).as_deref() {
        Some("serve") => serve(&name("tokio-server")).await,
        Some("demo") => demo().await,
        _ => {
            eprintln!("usage: tokio_server serve | demo");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokio_server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(name: &str) -> io::Result<()> {
    let listener = LocalSocketListener::bind(name)?;
    eprintln!("server: listening on {name}; Ctrl-C or a `shutdown` request stops it");
    run(listener).await
}

/// The accept loop. Shutdown is a `watch` channel: a request sets it, Ctrl-C sets it, and
/// every connection task watches it.
async fn run(listener: LocalSocketListener) -> io::Result<()> {
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            conn = listener.accept() => match conn {
                Ok(conn) => {
                    connections.spawn(serve_connection(conn, stop_tx.clone()));
                }
                Err(e) => {
                    // Out of descriptors and the like recur until something is freed:
                    // back off rather than spin.
                    eprintln!("server: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = stop_rx.changed() => break,
            _ = &mut ctrl_c => {
                eprintln!("server: Ctrl-C");
                let _ = stop_tx.send(true);
                break;
            }
            // Reap finished connections as we go, so the set does not grow.
            Some(done) = connections.join_next(), if !connections.is_empty() => report(done),
        }
    }
    drop(listener); // no new connections from here on: clients get "not found"/refused
    eprintln!(
        "server: shutting down; waiting for {} connection(s)",
        connections.len()
    );
    let drained = tokio::time::timeout(GRACE, async {
        while let Some(done) = connections.join_next().await {
            report(done);
        }
    })
    .await;
    if drained.is_err() {
        eprintln!("server: grace period over; dropping the rest");
        connections.shutdown().await;
    }
    eprintln!("server: stopped");
    Ok(())
}

fn report(done: Result<io::Result<()>, tokio::task::JoinError>) {
    match done {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("server: connection: {e}"),
        Err(e) => eprintln!("server: connection task: {e}"),
    }
}

/// Serves one client. Between requests it also watches for shutdown and then closes the
/// connection; a request already being handled is finished first.
async fn serve_connection(conn: LocalSocketStream, stop: watch::Sender<bool>) -> io::Result<()> {
    let mut stopping = stop.subscribe();
    let (read, mut write) = conn.into_split();
    let mut lines = BufReader::new(read).lines();
    loop {
        let line = tokio::select! {
            line = lines.next_line() => line?,
            _ = stopping.wait_for(|stop| *stop) => return Ok(()), // idle: close
        };
        let Some(request) = line else {
            return Ok(()); // the client closed its end
        };
        // In flight: this finishes even if shutdown begins meanwhile.
        let reply = if let Some(ms) = request.strip_prefix("slow ") {
            let ms = ms.trim().parse().unwrap_or(0u64).min(5_000);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            format!("done after {ms} ms")
        } else if request == "shutdown" {
            let _ = stop.send(true);
            "shutting down".to_owned()
        } else {
            request.to_uppercase()
        };
        write.write_all(format!("{reply}\n").as_bytes()).await?;
    }
}

/// One request on a new connection, bounded in time.
async fn ask(name: &str, request: &str) -> io::Result<String> {
    tokio::time::timeout(Duration::from_secs(10), async {
        let conn = LocalSocketStream::connect(name).await?;
        let (read, mut write) = conn.into_split();
        write.write_all(format!("{request}\n").as_bytes()).await?;
        let reply = BufReader::new(read).lines().next_line().await?;
        reply.ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "no reply"))
    })
    .await
    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no reply in 10 s"))?
}

/// The server and three clients in one process: a slow request is in flight when another
/// client asks for shutdown; it still gets its answer, an idle client is closed, and after
/// that the name is free.
async fn demo() -> io::Result<()> {
    let name = name(&format!("tokio-server-demo-{}", std::process::id()));
    let listener = LocalSocketListener::bind(name.as_str())?;
    let server = tokio::spawn(run(listener));

    println!("ask \"hello\" -> {:?}", ask(&name, "hello").await?);
    // An idle client: connected, never asks anything. Shutdown closes it.
    let idle = LocalSocketStream::connect(name.as_str()).await?;
    let slow = tokio::spawn({
        let name = name.clone();
        async move { ask(&name, "slow 500").await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await; // let the slow request start
    println!("ask \"shutdown\" -> {:?}", ask(&name, "shutdown").await?);
    println!(
        "the slow request, in flight during the shutdown -> {:?}",
        slow.await.expect("the slow client")?
    );
    let mut rest = String::new();
    let n = tokio::time::timeout(
        Duration::from_secs(10),
        BufReader::new(idle).read_line(&mut rest),
    )
    .await
    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "idle client not closed"))??;
    println!("the idle client was closed: read {n} bytes");

    tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "the server did not stop"))?
        .expect("the server task")?;
    // The listener is gone: nobody serves the name any more.
    assert!(LocalSocketStream::connect(name.as_str()).await.is_err());
    println!("demo: the server stopped gracefully");
    Ok(())
}
