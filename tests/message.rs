//! Message-framed local sockets: boundaries, order, empty messages, truncation, end of
//! stream, and the stream sockets' name, option and reclaim rules.
#![cfg(unix)]

mod util;

use localipc::local_socket::message::{MessageListener, MessageStream};
use localipc::local_socket::{ConnectOptions, ListenerOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::time::Duration;
use util::{any_name, assert_err, bounded, TestDir, LIMIT};

fn pair(dir: &TestDir, tag: &str) -> (MessageListener, MessageStream, MessageStream) {
    let name = any_name(dir, tag);
    let listener = MessageListener::bind(name.as_str()).unwrap();
    let client = MessageStream::connect(name.as_str()).unwrap();
    let server = listener.accept().unwrap();
    (listener, client, server)
}

/// xorshift64*: reproducible sizes without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

const COUNT: usize = 10_000;
const MAX: usize = 64 * 1024;

/// Message `i`: its size from the generator (every 10th one empty), its bytes from `i`.
fn message(i: usize, rng: &mut Rng) -> Vec<u8> {
    let len = if i % 10 == 0 {
        0
    } else {
        (rng.next() % MAX as u64) as usize
    };
    let seed = (i as u8).wrapping_mul(31);
    (0..len).map(|j| seed.wrapping_add(j as u8)).collect()
}

#[test]
fn ten_thousand_messages_of_random_sizes_arrive_intact_in_order() {
    bounded(Duration::from_secs(120), || {
        let dir = TestDir::new("msg-many");
        let (_l, client, server) = pair(&dir, "many");
        let sender = std::thread::spawn(move || {
            let mut rng = Rng(0x5eed);
            for i in 0..COUNT {
                client.send(&message(i, &mut rng)).unwrap();
            }
        });
        let mut rng = Rng(0x5eed);
        let mut buf = vec![0; MAX];
        for i in 0..COUNT {
            let want = message(i, &mut rng);
            // Alternate the two receiving calls.
            if i % 2 == 0 {
                let got = server.recv_vec().unwrap().expect("message, not end");
                assert!(
                    got == want,
                    "message {i}: {} bytes, want {}",
                    got.len(),
                    want.len()
                );
            } else {
                let got = server.recv(&mut buf).unwrap().expect("message, not end");
                assert!(!got.truncated, "message {i} truncated");
                assert!(buf[..got.len] == want[..], "message {i} differs");
            }
        }
        sender.join().unwrap();
        assert_eq!(
            server.recv_vec().unwrap(),
            None,
            "end after the sender dropped"
        );
    });
}

#[test]
fn truncation_is_reported_and_the_next_message_is_intact() {
    bounded(LIMIT, || {
        let dir = TestDir::new("msg-trunc");
        let (_l, client, server) = pair(&dir, "trunc");
        client.send(&[7; 100]).unwrap();
        client.send(b"next").unwrap();
        client.send(b"").unwrap();
        client.send(b"fits").unwrap();
        let mut small = [0; 10];
        let got = server.recv(&mut small).unwrap().unwrap();
        assert_eq!((got.len, got.truncated), (10, true));
        assert_eq!(small, [7; 10]);
        let got = server.recv(&mut small).unwrap().unwrap();
        assert_eq!((got.len, got.truncated), (4, false));
        assert_eq!(&small[..4], b"next");
        let got = server.recv(&mut small).unwrap().unwrap();
        assert_eq!((got.len, got.truncated), (0, false), "empty message");
        let mut exact = [0; 4];
        let got = server.recv(&mut exact).unwrap().unwrap();
        assert_eq!((got.len, got.truncated), (4, false));
        drop(client);
        assert_eq!(server.recv(&mut small).unwrap(), None, "end of stream");
        assert_eq!(server.recv_vec().unwrap(), None, "still the end");
    });
}

#[test]
fn both_directions_and_peer_gone() {
    bounded(LIMIT, || {
        let dir = TestDir::new("msg-both");
        let (_l, client, server) = pair(&dir, "both");
        server.send(b"hello client").unwrap();
        assert_eq!(client.recv_vec().unwrap().unwrap(), b"hello client");
        assert_eq!(server.peer_creds().unwrap().pid(), Some(std::process::id()));
        drop(server);
        assert_eq!(client.recv_vec().unwrap(), None);
        let err = (0..100).find_map(|_| client.send(b"x").err()).unwrap();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    });
}

#[test]
fn timeouts_and_nonblocking() {
    bounded(LIMIT, || {
        let dir = TestDir::new("msg-nb");
        let (_l, client, server) = pair(&dir, "nb");
        server.set_nonblocking(true).unwrap();
        assert_eq!(server.recv_vec().unwrap_err().kind(), ErrorKind::WouldBlock);
        server.set_nonblocking(false).unwrap();
        server
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let err = server.recv(&mut [0; 4]).unwrap_err();
        assert!(matches!(
            err.kind(),
            ErrorKind::WouldBlock | ErrorKind::TimedOut
        ));
        client.send(b"late").unwrap();
        assert_eq!(server.recv_vec().unwrap().unwrap(), b"late");
        client.set_write_timeout(Some(LIMIT)).unwrap();
    });
}

#[test]
fn bad_names_are_rejected_naming_the_input() {
    let err = MessageListener::bind("").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let long = format!("/tmp/{}.sock", "x".repeat(200));
    assert_err(
        MessageListener::bind(long.as_str()).unwrap_err(),
        ErrorKind::InvalidInput,
        &long,
    );
    let dir = TestDir::new("msg-badname");
    let missing = dir.join("nobody.sock");
    let err = MessageStream::connect(missing.as_path()).unwrap_err();
    assert_err(err, ErrorKind::NotFound, missing.to_str().unwrap());
    let mut opts = ConnectOptions::new();
    opts.timeout(Duration::from_millis(50));
    let err = MessageStream::connect_with(missing.as_path(), &opts).unwrap_err();
    assert_err(err, ErrorKind::TimedOut, missing.to_str().unwrap());
}

#[test]
fn reclaim_mode_and_nonblocking_options_apply() {
    bounded(LIMIT, || {
        let dir = TestDir::new("msg-reclaim");
        let path = dir.join("m.sock");
        // A stale socket file (a crashed server's) is replaced...
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let mut opts = ListenerOptions::new();
        opts.mode(0o600).nonblocking(true);
        let l = MessageListener::bind_with(path.as_path(), &opts).unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(l.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
        assert_eq!(l.local_name().to_string(), path.to_str().unwrap());
        // ...a live one is not...
        let err = MessageListener::bind(path.as_path()).unwrap_err();
        assert_err(err, ErrorKind::AddrInUse, path.to_str().unwrap());
        let c = MessageStream::connect(path.as_path()).unwrap();
        l.set_nonblocking(false).unwrap();
        // The liveness probe of that bind (a connect) is the first in the backlog.
        let probe = l.accept().unwrap();
        assert_eq!(probe.recv_vec().unwrap(), None);
        let s = l.accept().unwrap();
        c.send(b"still served").unwrap();
        assert_eq!(s.recv_vec().unwrap().unwrap(), b"still served");
        // ...and dropping the listener removes its file.
        drop(l);
        assert!(!path.exists(), "socket file left behind");

        // A regular file is never replaced.
        std::fs::write(&path, b"precious").unwrap();
        let err = MessageListener::bind(path.as_path()).unwrap_err();
        assert_err(err, ErrorKind::AlreadyExists, path.to_str().unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    });
}

/// Linux: a message listener is `SOCK_SEQPACKET`, so a byte-stream client is refused, and
/// a message larger than the send buffer is `InvalidInput`.
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    not(localipc_framed_messages)
))]
#[test]
fn linux_uses_seqpacket() {
    bounded(LIMIT, || {
        let dir = TestDir::new("msg-seqpacket");
        let (l, client, _server) = pair(&dir, "seq");
        let name = l.local_name().to_string();
        assert!(localipc::local_socket::LocalSocketStream::connect(name.as_str()).is_err());
        let err = client.send(&vec![0; 4 << 20]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    });
}
