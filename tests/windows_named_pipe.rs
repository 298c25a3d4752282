//! `os::windows::named_pipe`: byte and message mode, duplex and both one-way directions,
//! run under Wine in CI. Every test arms a watchdog so that a hang fails within seconds.
#![cfg(windows)]

mod util;

use localipc::os::windows::named_pipe::{
    PipeClientOptions, PipeDirection, PipeListener, PipeListenerOptions, PipeMode, PipeStream, Recv,
};
use std::io::{ErrorKind, Read, Write};
use std::os::windows::io::OwnedHandle;
use std::thread;
use std::time::{Duration, Instant};
use util::{unique, watchdog};

/// A listener and a connected (server, client) pair of the given mode and direction.
fn pair(test: &str, mode: PipeMode, dir: PipeDirection) -> (PipeListener, PipeStream, PipeStream) {
    let name = unique(test);
    let listener = PipeListenerOptions::new()
        .mode(mode)
        .direction(dir)
        .create(&name)
        .unwrap();
    assert_eq!(listener.path(), format!(r"\\.\pipe\{name}"));
    let client = PipeClientOptions::new()
        .mode(mode)
        .direction(dir)
        .connect(&name)
        .unwrap();
    let server = listener.accept().unwrap();
    assert!(server.is_server().unwrap());
    assert!(!client.is_server().unwrap());
    (listener, server, client)
}

const DIRECTIONS: [PipeDirection; 3] = [
    PipeDirection::Duplex,
    PipeDirection::ClientToServer,
    PipeDirection::ServerToClient,
];

/// (writer, reader) ends for a direction; duplex is tried both ways by the callers.
fn ends<'a>(
    dir: PipeDirection,
    server: &'a PipeStream,
    client: &'a PipeStream,
) -> (&'a PipeStream, &'a PipeStream) {
    match dir {
        PipeDirection::ServerToClient => (server, client),
        _ => (client, server),
    }
}

#[test]
fn byte_mode_in_all_directions() {
    let _w = watchdog("byte_mode_in_all_directions", 30);
    for dir in DIRECTIONS {
        let (_l, server, client) = pair("bytes", PipeMode::Bytes, dir);
        let (w, r) = ends(dir, &server, &client);
        // Writes run together in byte mode; 256 KiB is four times the buffer.
        let data: Vec<u8> = (0..256 * 1024usize)
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect();
        thread::scope(|s| {
            s.spawn(|| {
                for chunk in data.chunks(1000) {
                    let mut w = w;
                    w.write_all(chunk).unwrap();
                }
            });
            let mut got = vec![0; data.len()];
            let mut r = r;
            r.read_exact(&mut got).unwrap();
            assert!(got == data, "{dir:?}: data changed");
        });
        if dir == PipeDirection::Duplex {
            (&server).write_all(b"back").unwrap();
            let mut b = [0; 4];
            (&client).read_exact(&mut b).unwrap();
            assert_eq!(&b, b"back");
        } else {
            // The other way is refused, on both ends.
            let err = (&*r).write(b"x").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unsupported, "{dir:?}: {err}");
            let err = (&*w).read(&mut [0; 1]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unsupported, "{dir:?}: {err}");
        }
        // Writer gone: the reader gets end of file.
        if dir != PipeDirection::ServerToClient {
            drop(client);
            assert_eq!((&server).read(&mut [0; 8]).unwrap(), 0, "{dir:?}");
        } else {
            drop(server);
            assert_eq!((&client).read(&mut [0; 8]).unwrap(), 0, "{dir:?}");
        }
    }
}

#[test]
fn message_mode_in_all_directions() {
    let _w = watchdog("message_mode_in_all_directions", 30);
    for dir in DIRECTIONS {
        let (_l, server, client) = pair("messages", PipeMode::Messages, dir);
        let mut cases = vec![ends(dir, &server, &client)];
        if dir == PipeDirection::Duplex {
            cases.push((&server, &client));
        }
        for (w, r) in cases {
            let big = vec![7u8; 100_000]; // larger than the 64 KiB buffer
            thread::scope(|s| {
                s.spawn(|| {
                    w.send(b"first").unwrap();
                    w.send(b"").unwrap(); // a zero-length message is a message
                    w.send(b"third message").unwrap();
                    w.send(&big).unwrap();
                });
                let mut buf = [0; 64];
                let got = r.recv(&mut buf).unwrap();
                assert_eq!(
                    got,
                    Recv {
                        len: 5,
                        complete: true
                    },
                    "{dir:?}"
                );
                assert_eq!(&buf[..5], b"first");
                assert_eq!(
                    r.recv(&mut buf).unwrap(),
                    Recv {
                        len: 0,
                        complete: true
                    }
                );
                // A buffer smaller than the message: the bytes so far, then the rest.
                let got = r.recv(&mut buf[..5]).unwrap();
                assert_eq!(
                    got,
                    Recv {
                        len: 5,
                        complete: false
                    },
                    "{dir:?}"
                );
                assert_eq!(&buf[..5], b"third");
                let got = r.recv(&mut buf).unwrap();
                assert_eq!(
                    got,
                    Recv {
                        len: 8,
                        complete: true
                    },
                    "{dir:?}"
                );
                assert_eq!(&buf[..8], b" message");
                let mut whole = vec![0; 200_000];
                let mut len = 0;
                loop {
                    let got = r.recv(&mut whole[len..]).unwrap();
                    len += got.len;
                    if got.complete {
                        break;
                    }
                }
                assert_eq!(len, big.len(), "{dir:?}");
                assert!(whole[..len] == big[..]);
            });
            // `Read` in message mode gives the parts of a message in order.
            w.send(b"abcdef").unwrap();
            let mut b = [0; 4];
            assert_eq!((&*r).read(&mut b).unwrap(), 4);
            assert_eq!(&b, b"abcd");
            assert_eq!((&*r).read(&mut b).unwrap(), 2);
            assert_eq!(&b[..2], b"ef");
        }
    }
}

#[test]
fn wrong_direction_client_is_refused() {
    let _w = watchdog("wrong_direction_client_is_refused", 20);
    let name = unique("wrongdir");
    let _l = PipeListenerOptions::new()
        .direction(PipeDirection::ServerToClient)
        .create(&name)
        .unwrap();
    // Asks for write access to a pipe the server only writes to.
    let err = PipeClientOptions::new()
        .direction(PipeDirection::ClientToServer)
        .connect(&name)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains(&name), "{err}");
}

#[test]
fn listener_keeps_an_instance_pending_and_accepts_many() {
    let _w = watchdog("listener_keeps_an_instance_pending_and_accepts_many", 30);
    let name = unique("many");
    let listener = PipeListener::create(&name).unwrap();
    // Clients connect one after the other while the server accepts: each finds the
    // instance the previous accept created (or waits for it while it is taken).
    let clients = thread::spawn({
        let name = name.clone();
        move || {
            (0..8u8)
                .map(|i| {
                    let c = PipeClientOptions::new()
                        .timeout(Duration::from_secs(10))
                        .connect(&name)
                        .unwrap();
                    (&c).write_all(&[i]).unwrap();
                    c
                })
                .collect::<Vec<_>>()
        }
    });
    let mut seen = Vec::new();
    for _ in 0..8 {
        let s = listener.accept().unwrap();
        let mut b = [0; 1];
        (&s).read_exact(&mut b).unwrap();
        seen.push(b[0]);
        assert_eq!(s.peer_pid().unwrap(), std::process::id());
    }
    seen.sort();
    assert_eq!(seen, (0..8).collect::<Vec<u8>>());
    drop(clients.join().unwrap());
}

#[test]
fn nonblocking_accept_and_bind_twice() {
    let _w = watchdog("nonblocking_accept_and_bind_twice", 20);
    let name = unique("nb");
    let listener = PipeListenerOptions::new()
        .nonblocking(true)
        .create(&name)
        .unwrap();
    assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
    let err = PipeListener::create(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
    assert!(err.to_string().contains(&name), "{err}");
    let _c = PipeStream::connect(&name).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match listener.accept() {
            Ok(_) => break,
            Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(5))
            }
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn bad_names_and_security_descriptors() {
    let _w = watchdog("bad_names_and_security_descriptors", 20);
    for (name, kind) in [
        (r"\\.\pipe\", ErrorKind::InvalidInput),
        (r"C:\pipe\x", ErrorKind::Unsupported),
        ("x\0y", ErrorKind::InvalidInput),
    ] {
        let err = PipeListener::create(name).unwrap_err();
        assert_eq!(err.kind(), kind, "{name:?}: {err}");
        let err = PipeStream::connect(name).unwrap_err();
        assert_eq!(err.kind(), kind, "{name:?}: {err}");
    }
    let err = PipeListenerOptions::new()
        .security_descriptor("D:(bogus)")
        .create(unique("sddl"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("D:(bogus)"), "{err}");
}

#[test]
fn handle_conversions_keep_the_mode() {
    let _w = watchdog("handle_conversions_keep_the_mode", 20);
    let (_l, server, client) = pair("handles", PipeMode::Messages, PipeDirection::Duplex);
    let h: OwnedHandle = server.into();
    let server = PipeStream::from(h);
    assert_eq!(server.mode(), PipeMode::Messages);
    assert!(server.is_server().unwrap());
    client.send(b"hello").unwrap();
    let mut b = [0; 2];
    assert_eq!(
        server.recv(&mut b).unwrap(),
        Recv {
            len: 2,
            complete: false
        }
    );
    let h: OwnedHandle = client.into();
    let client = PipeStream::from(h);
    assert!(!client.is_server().unwrap());
    assert_eq!(client.peer_pid().unwrap(), std::process::id());
}

#[test]
fn concurrent_read_and_write_in_message_mode() {
    let _w = watchdog("concurrent_read_and_write_in_message_mode", 30);
    let (_l, server, client) = pair("concurrent", PipeMode::Messages, PipeDirection::Duplex);
    let run = |me: &PipeStream| {
        thread::scope(|s| {
            let reader = s.spawn(|| {
                let mut buf = vec![0; 70_000];
                for i in 0..50u32 {
                    let got = me.recv(&mut buf).unwrap();
                    assert!(got.complete);
                    assert_eq!(got.len, 60_000 + i as usize);
                }
            });
            thread::sleep(Duration::from_millis(20));
            for i in 0..50u32 {
                me.send(&vec![1; 60_000 + i as usize]).unwrap();
            }
            reader.join().unwrap();
        })
    };
    thread::scope(|s| {
        s.spawn(|| run(&server));
        s.spawn(|| run(&client));
    });
}
