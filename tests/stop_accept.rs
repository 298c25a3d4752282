//! `AcceptStopper`: a stop from another thread ends every blocked `accept` and `incoming()`
//! promptly, and every later `accept` fails the same way (issue 16, item 2).

mod util;

use localipc::local_socket::message::{MessageListener, MessageStream};
use localipc::local_socket::{AcceptStopper, LocalSocketListener, LocalSocketStream};
use std::sync::Arc;
use std::time::Duration;
use util::{any_name, bounded, TestDir, LIMIT};

/// Threads blocked in `accept` and in `incoming()` all return after `stop`, within the
/// bound (a missed wake-up hangs one of them: the test then fails in `bounded`).
#[test]
fn blocked_accepts_and_incoming_end_after_stop() {
    bounded(LIMIT, || {
        let dir = TestDir::new("stop");
        let name = any_name(&dir, "stop");
        let listener = Arc::new(LocalSocketListener::bind(name.as_str()).unwrap());
        let stopper = listener.stopper();
        let mut threads = Vec::new();
        for _ in 0..4 {
            let l = Arc::clone(&listener);
            threads.push(std::thread::spawn(move || {
                let err = l.accept().unwrap_err();
                assert!(
                    AcceptStopper::is_stop_error(&err),
                    "not the stop error: {err}"
                );
                assert_eq!(err.kind(), std::io::ErrorKind::Other);
                assert!(err.to_string().contains("stopped"), "{err}");
            }));
        }
        let l = Arc::clone(&listener);
        threads.push(std::thread::spawn(move || {
            assert_eq!(l.incoming().count(), 0);
        }));
        std::thread::sleep(Duration::from_millis(200)); // let them block
        assert!(!stopper.is_stopped());
        stopper.clone().stop();
        assert!(stopper.is_stopped());
        for t in threads {
            t.join().unwrap();
        }
        // Later accepts fail the same way, even with a client waiting, in either mode.
        let _client = LocalSocketStream::connect(name.as_str()).unwrap();
        assert!(AcceptStopper::is_stop_error(
            &listener.accept().unwrap_err()
        ));
        listener.set_nonblocking(true).unwrap();
        assert!(AcceptStopper::is_stop_error(
            &listener.accept().unwrap_err()
        ));
        assert!(listener.incoming().next().is_none());
    });
}

/// A stop racing with a thread just entering `accept`, many rounds: the wake-up is never
/// lost (the flag and the wake-up pair are ordered under one lock).
#[test]
fn stop_racing_with_accept_is_never_lost() {
    let rounds: u64 = if cfg!(windows) { 300 } else { 3000 };
    bounded(LIMIT * 3, move || {
        let dir = TestDir::new("stoprace");
        for i in 0..rounds {
            let name = any_name(&dir, &format!("r{i}"));
            let listener = Arc::new(LocalSocketListener::bind(name.as_str()).unwrap());
            let stopper = listener.stopper();
            let l = Arc::clone(&listener);
            let t = std::thread::spawn(move || l.accept().map(drop));
            // Stop at a different moment each round: before, while and after the thread
            // enters `accept` (thread start-up takes some tens of microseconds).
            let spin = std::time::Instant::now();
            while spin.elapsed() < Duration::from_micros((i % 100) * 2) {
                std::hint::spin_loop();
            }
            stopper.stop();
            let err = t.join().unwrap().unwrap_err();
            assert!(AcceptStopper::is_stop_error(&err), "round {i}: {err}");
        }
    });
}

/// Accepting threads competing for a stream of clients all end after `stop` (a thread
/// that lost a client to another goes back to waiting where the stop reaches it), and
/// everything accepted before works.
#[test]
fn competing_accepts_with_clients_end_after_stop() {
    bounded(LIMIT, || {
        let dir = TestDir::new("stopbusy");
        let name = any_name(&dir, "stopbusy");
        let listener = Arc::new(LocalSocketListener::bind(name.as_str()).unwrap());
        let stopper = listener.stopper();
        let mut threads = Vec::new();
        for _ in 0..3 {
            let l = Arc::clone(&listener);
            threads.push(std::thread::spawn(move || {
                let mut accepted = 0_u32;
                for conn in l.incoming() {
                    let _conn = conn.unwrap();
                    accepted += 1;
                }
                accepted
            }));
        }
        let clients: u32 = 50;
        for _ in 0..clients {
            let _c = LocalSocketStream::connect(name.as_str()).unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
        stopper.stop();
        let total: u32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert!(total <= clients);
    });
}

/// The message listener stops likewise.
#[test]
fn message_listener_stops() {
    bounded(LIMIT, || {
        let dir = TestDir::new("stopmsg");
        let name = any_name(&dir, "stopmsg");
        let listener = Arc::new(MessageListener::bind(name.as_str()).unwrap());
        let stopper = listener.stopper();
        // One accepted connection first: the listener works before the stop.
        let client = MessageStream::connect(name.as_str()).unwrap();
        let conn = listener.accept().unwrap();
        client.send(b"hi").unwrap();
        assert_eq!(conn.recv_vec().unwrap().as_deref(), Some(&b"hi"[..]));
        let l = Arc::clone(&listener);
        let t = std::thread::spawn(move || l.incoming().count());
        let l = Arc::clone(&listener);
        let t2 = std::thread::spawn(move || l.accept().map(drop));
        std::thread::sleep(Duration::from_millis(100));
        stopper.stop();
        assert_eq!(t.join().unwrap(), 0);
        assert!(AcceptStopper::is_stop_error(
            &t2.join().unwrap().unwrap_err()
        ));
    });
}

/// The stopper's emulation of blocking mode keeps `set_nonblocking` working after a
/// blocking accept has switched the socket to nonblocking (Unix), and gives the descriptor
/// back in blocking mode.
#[test]
fn nonblocking_mode_still_works_after_a_blocking_accept() {
    bounded(LIMIT, || {
        let dir = TestDir::new("stopnb");
        let name = any_name(&dir, "stopnb");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let _stopper = listener.stopper();
        let _c = LocalSocketStream::connect(name.as_str()).unwrap();
        let _s = listener.accept().unwrap(); // blocking
        listener.set_nonblocking(true).unwrap();
        let err = listener.accept().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
        listener.set_nonblocking(false).unwrap();
        let _c2 = LocalSocketStream::connect(name.as_str()).unwrap();
        let _s2 = listener.accept().unwrap();
        #[cfg(unix)]
        {
            let fd = std::os::fd::OwnedFd::from(listener);
            // SAFETY: F_GETFL on an open descriptor.
            let fl = unsafe { libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&fd), libc::F_GETFL) };
            assert_eq!(
                fl & libc::O_NONBLOCK,
                0,
                "descriptor given back nonblocking"
            );
            if !name.starts_with('@') {
                let _ = std::fs::remove_file(&name);
            }
        }
    });
}
