//! 20,000 sequential connections leave the open descriptor/handle count unchanged (and
//! 5,000 message connections). In its own test binary, its tests one at a time, since the
//! count is process-wide. Linux and Windows: where the count can be read (under Wine by
//! probing handle values, see `util::handles`).
#![cfg(any(target_os = "linux", windows))]

mod util;

use localipc::local_socket::message::{MessageListener, MessageStream};
use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
use std::io::{Read, Write};
use std::sync::Mutex;
use std::time::Duration;
use util::handles::open_handles;
use util::{any_name, bounded, TestDir};

/// Held by each test: the count is process-wide.
static ALONE: Mutex<()> = Mutex::new(());

#[test]
fn twenty_thousand_sequential_connections_leak_nothing() {
    let _alone = ALONE.lock().unwrap_or_else(|p| p.into_inner());
    bounded(Duration::from_secs(120), || {
        let dir = TestDir::new("seq");
        let name = any_name(&dir, "seq");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        const N: usize = 20_000;
        // The server does not count accepts: on Windows a client that connects and leaves
        // before `accept` is skipped, never accepted (Unix accepts it as a stream at EOF). It
        // serves until a connection brings the quit byte.
        let server = std::thread::spawn(move || {
            for conn in listener.incoming() {
                let mut conn = conn.unwrap();
                let mut byte = [0u8; 1];
                if conn.read(&mut byte).unwrap() == 1 && byte[0] == b'Q' {
                    break;
                }
            }
            listener
        });
        // Warm up (thread, lazily allocated runtime state) before counting.
        for _ in 0..10 {
            drop(LocalSocketStream::connect(name.as_str()).unwrap());
        }
        let before = open_handles();
        for i in 0..N {
            let c = LocalSocketStream::connect(name.as_str())
                .unwrap_or_else(|e| panic!("connection {i}: {e}"));
            drop(c);
        }
        LocalSocketStream::connect(name.as_str())
            .unwrap()
            .write_all(b"Q")
            .unwrap();
        drop(server.join().unwrap());
        let after = open_handles();
        assert!(
            after <= before,
            "open descriptors/handles grew from {before} to {after} over {N} connections"
        );
    });
}

#[test]
fn five_thousand_message_connections_leak_nothing() {
    let _alone = ALONE.lock().unwrap_or_else(|p| p.into_inner());
    bounded(Duration::from_secs(120), || {
        let dir = TestDir::new("msgseq");
        let name = any_name(&dir, "msgseq");
        let listener = MessageListener::bind(name.as_str()).unwrap();
        const N: usize = 5_000;
        // Each connection: a message cut to a small buffer (the rest dropped), an empty one,
        // a reply. Until a connection brings "Q".
        let server = std::thread::spawn(move || loop {
            let conn = listener.accept().unwrap();
            let mut small = [0u8; 8];
            let got = conn.recv(&mut small).unwrap().unwrap();
            if &small[..got.len] == b"Q" {
                break listener;
            }
            assert!(got.truncated);
            assert_eq!(conn.recv_vec().unwrap().unwrap(), b"");
            conn.send(b"ok").unwrap();
        });
        let one = |i: usize| {
            let c = MessageStream::connect(name.as_str())
                .unwrap_or_else(|e| panic!("message connection {i}: {e}"));
            c.send(&[1; 100]).unwrap();
            c.send(b"").unwrap();
            assert_eq!(c.recv_vec().unwrap().unwrap(), b"ok");
        };
        for i in 0..10 {
            one(i);
        }
        let before = open_handles();
        for i in 0..N {
            one(i);
        }
        MessageStream::connect(name.as_str())
            .unwrap()
            .send(b"Q")
            .unwrap();
        drop(server.join().unwrap());
        let after = open_handles();
        assert!(
            after <= before,
            "open descriptors/handles grew from {before} to {after} over {N} message connections"
        );
    });
}
