//! Runs the 1.2.1-style program in `src/lib.rs`, each part under a time bound.

use localipc_compat as port;
use std::time::Duration;

/// Runs `f` on a thread; fails the test if it takes more than 20 s.
fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(v) => v,
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(worker.join().unwrap_err())
        }
        Err(e) => panic!("the ported program did not finish: {e}"),
    }
}

#[test]
fn names() {
    let (namespaced, supported, inner) = port::names("@svc").unwrap();
    assert!(namespaced);
    assert_eq!(inner, "svc");
    assert_eq!(
        supported,
        cfg!(any(windows, target_os = "linux", target_os = "android"))
    );
}

#[test]
fn sync_server_and_client() {
    let name = port::pick_name("sync");
    let (answer, client_saw, server_saw) = bounded(move || port::sync_round_trip(&name)).unwrap();
    assert_eq!(answer, "Hello from server!\n");
    assert_eq!(
        (client_saw, server_saw),
        (std::process::id(), std::process::id())
    );
}

#[cfg(unix)]
#[test]
fn raw_fd_dup_and_round_trip() {
    let name = port::pick_name("rawfd");
    let answer = bounded(move || port::raw_fd_round_trip(&name)).unwrap();
    assert_eq!(answer, "SHOUT\n");
}

#[cfg(windows)]
#[test]
fn raw_handle_round_trip() {
    let name = port::pick_name("rawh");
    let answer = bounded(move || port::raw_handle_round_trip(&name)).unwrap();
    assert_eq!(answer, "SHOUT\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_server_and_client() {
    let name = port::pick_name("tokio");
    let (answer, client_saw, server_saw) =
        tokio::time::timeout(Duration::from_secs(20), port::tokio_round_trip(&name))
            .await
            .expect("the ported program did not finish")
            .unwrap();
    assert_eq!(answer, "Hello from server!\n");
    assert_eq!(
        (client_saw, server_saw),
        (std::process::id(), std::process::id())
    );
}
