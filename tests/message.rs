//! Message-framed local sockets: boundaries, order, empty messages, truncation, end of
//! stream, and the stream sockets' name, option and reclaim rules. Unix and Windows; the
//! socket-file tests are Unix-only.

mod util;

use localipc::local_socket::message::{MessageListener, MessageStream, DEFAULT_MAX_MESSAGE_SIZE};
use localipc::local_socket::{ConnectOptions, ListenerOptions};
use std::io::ErrorKind;
#[cfg(unix)]
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
        usize::try_from(rng.next() % MAX as u64).unwrap()
    };
    let seed = i.to_le_bytes()[0].wrapping_mul(31);
    (0..len)
        .map(|j| seed.wrapping_add(j.to_le_bytes()[0]))
        .collect()
}

#[test]
fn ten_thousand_messages_of_random_sizes_arrive_intact_in_order() {
    // About 320 MiB in all. Under Wine every byte goes through wineserver: 35-60 s measured.
    let limit = Duration::from_secs(if cfg!(windows) { 240 } else { 120 });
    bounded(limit, || {
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
    let long = if cfg!(windows) {
        format!("@{}", "x".repeat(300))
    } else {
        format!("/tmp/{}.sock", "x".repeat(200))
    };
    assert_err(
        MessageListener::bind(long.as_str()).unwrap_err(),
        ErrorKind::InvalidInput,
        &long,
    );
}

#[test]
fn connect_without_a_server_fails_or_times_out_naming_it() {
    bounded(LIMIT, || {
        let dir = TestDir::new("msg-noserver");
        let missing = any_name(&dir, "nobody");
        let err = MessageStream::connect(missing.as_str()).unwrap_err();
        // Linux's abstract names refuse (ECONNREFUSED); socket files and pipes are missing.
        assert!(
            matches!(
                err.kind(),
                ErrorKind::NotFound | ErrorKind::ConnectionRefused
            ),
            "{err}"
        );
        assert!(err.to_string().contains(&missing), "{err}");
        let mut opts = ConnectOptions::new();
        opts.timeout(Duration::from_millis(50));
        let started = std::time::Instant::now();
        let err = MessageStream::connect_with(missing.as_str(), &opts).unwrap_err();
        assert_err(err, ErrorKind::TimedOut, &missing);
        assert!(started.elapsed() >= Duration::from_millis(50));
    });
}

#[test]
fn options_name_and_a_taken_name() {
    bounded(LIMIT, || {
        let dir = TestDir::new("msg-opts");
        let name = any_name(&dir, "opts");
        let l = MessageListener::bind_with(name.as_str(), &ListenerOptions::new()).unwrap();
        l.set_nonblocking(true).unwrap();
        assert_eq!(l.local_name().to_string(), name);
        assert_eq!(l.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
        let err = MessageListener::bind(name.as_str()).unwrap_err();
        assert_err(err, ErrorKind::AddrInUse, &name);
        let c = MessageStream::connect(name.as_str()).unwrap();
        l.set_nonblocking(false).unwrap();
        let s = l.accept().unwrap();
        c.send(b"still served").unwrap();
        assert_eq!(s.recv_vec().unwrap().unwrap(), b"still served");
    });
}

#[cfg(unix)]
#[test]
fn socket_file_paths_in_errors() {
    let dir = TestDir::new("msg-badname");
    let missing = dir.join("nobody.sock");
    let err = MessageStream::connect(missing.as_path()).unwrap_err();
    assert_err(err, ErrorKind::NotFound, missing.to_str().unwrap());
    let mut opts = ConnectOptions::new();
    opts.timeout(Duration::from_millis(50));
    let err = MessageStream::connect_with(missing.as_path(), &opts).unwrap_err();
    assert_err(err, ErrorKind::TimedOut, missing.to_str().unwrap());
}

#[cfg(unix)]
#[test]
fn reclaim_and_mode_options_apply() {
    bounded(LIMIT, || {
        let dir = TestDir::new("msg-reclaim");
        let path = dir.join("m.sock");
        // A stale socket file (a crashed server's) is replaced...
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let mut opts = ListenerOptions::new();
        opts.mode(0o600);
        let l = MessageListener::bind_with(path.as_path(), &opts).unwrap();
        l.set_nonblocking(true).unwrap();
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

#[test]
fn an_empty_buffer_tells_an_empty_message_from_a_longer_one() {
    bounded(LIMIT, || {
        let dir = TestDir::new("msg-emptybuf");
        let (_l, client, server) = pair(&dir, "emptybuf");
        client.send(b"").unwrap();
        client.send(b"not empty").unwrap();
        client.send(b"after").unwrap();
        let got = server.recv(&mut []).unwrap().unwrap();
        assert_eq!((got.len, got.truncated), (0, false), "the empty message");
        let got = server.recv(&mut []).unwrap().unwrap();
        assert_eq!((got.len, got.truncated), (0, true), "a longer one, dropped");
        assert_eq!(server.recv_vec().unwrap().unwrap(), b"after");
    });
}

#[test]
fn concurrent_senders_never_interleave() {
    bounded(Duration::from_secs(60), || {
        const SENDERS: usize = 4;
        const EACH: usize = 500;
        let dir = TestDir::new("msg-conc");
        let (_l, client, server) = pair(&dir, "conc");
        let client = std::sync::Arc::new(client);
        let senders: Vec<_> = (0..SENDERS)
            .map(|t| {
                let client = std::sync::Arc::clone(&client);
                std::thread::spawn(move || {
                    for i in 0..EACH {
                        // Sizes up to 20 KiB, every byte the sender's tag.
                        let len = 1 + (i * 7919 + t * 104_729) % (20 * 1024);
                        client.send(&vec![u8::try_from(t).unwrap(); len]).unwrap();
                    }
                })
            })
            .collect();
        let mut seen = [0; SENDERS];
        for _ in 0..SENDERS * EACH {
            let msg = server.recv_vec().unwrap().expect("message");
            let t = msg[0] as usize;
            assert!(msg.iter().all(|&b| b as usize == t), "interleaved message");
            let want = 1 + (seen[t] * 7919 + t * 104_729) % (20 * 1024);
            assert_eq!(msg.len(), want, "sender {t}, message {}", seen[t]);
            seen[t] += 1;
        }
        for s in senders {
            s.join().unwrap();
        }
    });
}

/// Windows: a message is not limited by the pipe's 64 KiB buffer (a quota): one of 1 MiB
/// arrives whole (`recv_vec` grows to it) and one cut to a small buffer is dropped whole.
#[cfg(windows)]
#[test]
fn windows_messages_larger_than_the_pipe_buffer() {
    bounded(LIMIT, || {
        let dir = TestDir::new("msg-big");
        let (_l, client, server) = pair(&dir, "big");
        let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        let sent = big.clone();
        let sender = std::thread::spawn(move || {
            client.send(&sent).unwrap();
            client.send(&sent).unwrap();
            client.send(b"next").unwrap();
            client
        });
        assert!(server.recv_vec().unwrap().unwrap() == big, "1 MiB message");
        let mut small = [0; 100];
        let got = server.recv(&mut small).unwrap().unwrap();
        assert_eq!((got.len, got.truncated), (100, true));
        assert_eq!(small[..], big[..100]);
        assert_eq!(server.recv_vec().unwrap().unwrap(), b"next");
        drop(sender.join().unwrap());
        assert_eq!(server.recv_vec().unwrap(), None);
    });
}

/// Windows: a send that would wait for the receiver (here a message over the pipe's 64 KiB
/// buffer, with nobody reading) fails with `WouldBlock` in nonblocking mode and `TimedOut`
/// past a write timeout, and the receiver sees no part of it.
#[cfg(windows)]
#[test]
fn windows_a_send_that_cannot_complete_is_withdrawn_whole() {
    bounded(LIMIT, || {
        let dir = TestDir::new("msg-withdrawn");
        let (_l, client, server) = pair(&dir, "withdrawn");
        let big = vec![9; 1 << 20];
        client.set_nonblocking(true).unwrap();
        assert_eq!(client.send(&big).unwrap_err().kind(), ErrorKind::WouldBlock);
        client.send(b"small fits").unwrap();
        client.set_nonblocking(false).unwrap();
        client
            .set_write_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        assert_eq!(client.send(&big).unwrap_err().kind(), ErrorKind::TimedOut);
        client.send(b"").unwrap();
        assert_eq!(server.recv_vec().unwrap().unwrap(), b"small fits");
        assert_eq!(server.recv_vec().unwrap().unwrap(), b"");
        server.set_nonblocking(true).unwrap();
        assert_eq!(server.recv_vec().unwrap_err().kind(), ErrorKind::WouldBlock);
    });
}

/// Windows: nothing refuses a byte-stream client at a message listener (or the reverse):
/// both are named pipes of message type, only the read mode differs. What each end sees:
/// every `write` of the stream client is one message; the message server's messages reach
/// the stream client as bytes run together, and an empty message as end of file.
#[cfg(windows)]
#[test]
fn windows_stream_client_at_a_message_listener() {
    use localipc::local_socket::LocalSocketStream;
    use std::io::{Read, Write};
    bounded(LIMIT, || {
        let dir = TestDir::new("msg-mismatch");
        let name = any_name(&dir, "mismatch");
        let l = MessageListener::bind(name.as_str()).unwrap();
        let mut c = LocalSocketStream::connect(name.as_str()).unwrap();
        let s = l.accept().unwrap();
        c.write_all(b"one").unwrap();
        c.write_all(b"two").unwrap();
        assert_eq!(s.recv_vec().unwrap().unwrap(), b"one");
        assert_eq!(s.recv_vec().unwrap().unwrap(), b"two");
        s.send(b"ab").unwrap();
        s.send(b"cd").unwrap();
        let mut got = [0; 4];
        c.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"abcd");
        s.send(b"").unwrap();
        assert_eq!(
            c.read(&mut got).unwrap(),
            0,
            "an empty message is end of file"
        );
    });
}

/// Whether message sockets use the length-prefixed framing here (macOS, the BSDs, and Linux
/// built with `--cfg localipc_framed_messages`), where the OS keeps no message boundaries.
const FRAMED: bool = cfg!(all(
    unix,
    not(all(
        any(target_os = "linux", target_os = "android"),
        not(localipc_framed_messages)
    ))
));

/// `max_message_size` set on both ends (the server's inherited from its listener): a send over the sender's limit is
/// `InvalidInput` (nothing sent); a received message over the receiver's limit is
/// `InvalidData` naming its size and the limit, for `recv` and `recv_vec` alike. Where the
/// OS keeps boundaries the message is discarded whole and the next one arrives; with framing
/// the connection is out of step and every later receive returns that same error.
#[test]
fn messages_over_the_limit_are_refused_both_ways() {
    bounded(LIMIT, || {
        let dir = TestDir::new("msg-limit");
        let name = any_name(&dir, "limit");
        let l = MessageListener::bind(name.as_str()).unwrap();
        assert_eq!(l.max_message_size(), DEFAULT_MAX_MESSAGE_SIZE);
        l.set_max_message_size(1000);
        assert_eq!(l.max_message_size(), 1000);
        let client = MessageStream::connect(name.as_str()).unwrap();
        assert_eq!(client.max_message_size(), DEFAULT_MAX_MESSAGE_SIZE);
        client.set_max_message_size(5000);
        assert_eq!(client.max_message_size(), 5000);
        let server = l.accept().unwrap();
        assert_eq!(
            server.max_message_size(),
            1000,
            "inherited from the listener"
        );

        assert_err(
            server.send(&[1; 1001]).unwrap_err(),
            ErrorKind::InvalidInput,
            "1001 bytes",
        );
        assert_err(
            client.send(&[1; 5001]).unwrap_err(),
            ErrorKind::InvalidInput,
            "5000-byte limit",
        );
        server.send(&[2; 1000]).unwrap();
        assert_eq!(client.recv_vec().unwrap().unwrap(), [2; 1000]);
        client.send(&[3; 1000]).unwrap();
        assert_eq!(server.recv_vec().unwrap().unwrap(), [3; 1000]);

        client.send(&[4; 1500]).unwrap();
        client.send(b"next").unwrap();
        client.send(&[5; 1001]).unwrap();
        client.send(b"last").unwrap();
        let err = server.recv_vec().unwrap_err();
        let text = err.to_string();
        assert_err(err, ErrorKind::InvalidData, "1500 bytes");
        assert!(text.contains("1000-byte limit"), "{text}");
        if FRAMED {
            for _ in 0..3 {
                let e = server.recv(&mut [0; 10]).unwrap_err();
                assert_eq!(
                    (e.kind(), e.to_string()),
                    (ErrorKind::InvalidData, text.clone())
                );
                let e = server.recv_vec().unwrap_err();
                assert_eq!(
                    (e.kind(), e.to_string()),
                    (ErrorKind::InvalidData, text.clone())
                );
            }
            return;
        }
        assert_eq!(server.recv_vec().unwrap().unwrap(), b"next");
        // recv into a small buffer: refused too, not delivered truncated.
        let mut small = [0; 10];
        assert_err(
            server.recv(&mut small).unwrap_err(),
            ErrorKind::InvalidData,
            "1001 bytes",
        );
        let got = server.recv(&mut small).unwrap().unwrap();
        assert_eq!(&small[..got.len], b"last");
    });
}

/// The default limit (16 MiB, the same everywhere) applies where a message can exceed it
/// (Windows message pipes, framing): one byte over is refused without being delivered.
#[cfg(not(all(
    any(target_os = "linux", target_os = "android"),
    not(localipc_framed_messages)
)))]
#[test]
fn a_message_over_the_default_limit_is_refused() {
    bounded(Duration::from_secs(60), || {
        assert_eq!(DEFAULT_MAX_MESSAGE_SIZE, 16 << 20);
        let dir = TestDir::new("msg-default-limit");
        let name = any_name(&dir, "deflimit");
        let l = MessageListener::bind(name.as_str()).unwrap();
        let client = MessageStream::connect(name.as_str()).unwrap();
        client.set_max_message_size(DEFAULT_MAX_MESSAGE_SIZE + 1);
        let server = l.accept().unwrap();
        let sender = std::thread::spawn(move || {
            let big = client.send(&vec![7; DEFAULT_MAX_MESSAGE_SIZE + 1]);
            let next = client.send(b"next");
            (big, next, client)
        });
        let err = server.recv_vec().unwrap_err();
        let text = err.to_string();
        assert_err(err, ErrorKind::InvalidData, "16777217 bytes");
        assert!(text.contains("16777216-byte limit"), "{text}");
        if FRAMED {
            // The sender may be stuck in the frame's body: closing our end frees it.
            drop(server);
            drop(sender.join().unwrap());
            return;
        }
        assert_eq!(server.recv_vec().unwrap().unwrap(), b"next");
        let (big, next, _client) = sender.join().unwrap();
        big.unwrap();
        next.unwrap();
    });
}

/// Framing: after a framing error (a header over the limit, end of file inside a frame)
/// from a raw byte-stream peer, every later receive returns that same error: no phantom
/// empty message, and the bytes after it are never parsed as frames.
#[cfg(all(
    unix,
    not(all(
        any(target_os = "linux", target_os = "android"),
        not(localipc_framed_messages)
    ))
))]
#[test]
fn framed_errors_are_sticky() {
    use localipc::local_socket::LocalSocketStream;
    use std::io::Write;
    bounded(LIMIT, || {
        let dir = TestDir::new("msg-sticky");
        let name = any_name(&dir, "sticky");
        let l = MessageListener::bind(name.as_str()).unwrap();
        let mut cases = vec![];
        // A header over the 16 MiB limit, then a valid frame.
        let mut bytes = (16u32 << 20 | 1).to_le_bytes().to_vec();
        bytes.extend([2, 0, 0, 0, b'o', b'k']);
        cases.push((bytes, ErrorKind::InvalidData, "16777217 bytes"));
        // A frame cut by end of file.
        cases.push((
            vec![9, 0, 0, 0, 1, 2],
            ErrorKind::UnexpectedEof,
            "6 of 13 bytes",
        ));
        for (bytes, kind, needle) in cases {
            let mut raw = LocalSocketStream::connect(name.as_str()).unwrap();
            let server = l.accept().unwrap();
            raw.write_all(&bytes).unwrap();
            // End of file for the cut frame; the other peer stays connected.
            let _raw = (kind != ErrorKind::UnexpectedEof).then_some(raw);
            let first = server.recv_vec().unwrap_err();
            let text = first.to_string();
            assert_err(first, kind, needle);
            for _ in 0..3 {
                let e = server.recv_vec().unwrap_err();
                assert_eq!((e.kind(), e.to_string()), (kind, text.clone()));
                let e = server.recv(&mut [0; 4]).unwrap_err();
                assert_eq!((e.kind(), e.to_string()), (kind, text.clone()));
            }
        }
    });
}
