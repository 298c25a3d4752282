//! Listener and stream behaviour common to every platform.

mod util;

use localipc::local_socket::{ConnectOptions, LocalSocketListener, LocalSocketStream};
use std::io::{ErrorKind, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::thread;
use std::time::{Duration, Instant};
use util::{any_name, assert_err, bounded, TestDir, LIMIT};

const T: Option<Duration> = Some(Duration::from_secs(5));

fn pair(dir: &TestDir, tag: &str) -> (LocalSocketListener, LocalSocketStream, LocalSocketStream) {
    let name = any_name(dir, tag);
    let listener = LocalSocketListener::bind(name.as_str()).unwrap();
    let client = LocalSocketStream::connect(name.as_str()).unwrap();
    let server = listener.accept().unwrap();
    for s in [&client, &server] {
        s.set_read_timeout(T).unwrap();
        s.set_write_timeout(T).unwrap();
    }
    (listener, client, server)
}

#[test]
fn echo_many_clients_through_incoming() {
    bounded(LIMIT, || {
        let dir = TestDir::new("echo");
        let name = any_name(&dir, "echo");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        assert_eq!(listener.local_name().to_string(), name);
        const CLIENTS: usize = 24;
        let server = thread::spawn(move || {
            let mut handlers = Vec::new();
            for conn in listener.incoming().take(CLIENTS) {
                let mut conn = conn.unwrap();
                handlers.push(thread::spawn(move || {
                    let mut buf = Vec::new();
                    conn.read_to_end(&mut buf).unwrap(); // until the client's half-close
                    conn.write_all(&buf).unwrap();
                }));
            }
            handlers.into_iter().for_each(|h| h.join().unwrap());
            listener
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let name = name.clone();
                thread::spawn(move || {
                    let mut c = LocalSocketStream::connect(name.as_str()).unwrap();
                    let msg: Vec<u8> = (0..100_000u32)
                        .map(|b| (b as usize * 7 + i).to_le_bytes()[0])
                        .collect();
                    c.write_all(&msg).unwrap();
                    c.shutdown(Shutdown::Write).unwrap();
                    let mut back = Vec::new();
                    c.read_to_end(&mut back).unwrap();
                    assert!(
                        back == msg,
                        "client {i} got {} bytes back, not its own",
                        back.len()
                    );
                })
            })
            .collect();
        clients.into_iter().for_each(|c| c.join().unwrap());
        drop(server.join().unwrap());
    });
}

#[test]
fn concurrent_read_and_write_through_shared_reference() {
    bounded(LIMIT, || {
        let dir = TestDir::new("shared");
        let (_l, client, server) = pair(&dir, "shared");
        // Both sides write 4 MiB while reading 4 MiB: with one thread per direction through
        // `&Stream`, this only finishes if reads and writes run at the same time.
        const N: usize = 4 << 20;
        let run = |s: LocalSocketStream| {
            thread::spawn(move || {
                thread::scope(|sc| {
                    sc.spawn(|| (&s).write_all(&vec![0xA5; N]).unwrap());
                    let mut got = vec![0; N];
                    (&s).read_exact(&mut got).unwrap();
                    assert!(got.iter().all(|&b| b == 0xA5));
                });
            })
        };
        let (a, b) = (run(client), run(server));
        a.join().unwrap();
        b.join().unwrap();
    });
}

#[test]
fn vectored_io() {
    bounded(LIMIT, || {
        let dir = TestDir::new("vec");
        let (_l, mut client, mut server) = pair(&dir, "vec");
        let n = client
            .write_vectored(&[
                IoSlice::new(b"hello "),
                IoSlice::new(b"vectored "),
                IoSlice::new(b"world"),
            ])
            .unwrap();
        assert_eq!(n, 20);
        let (mut a, mut b) = ([0u8; 6], [0u8; 14]);
        let mut got = 0;
        while got < 20 {
            let mut bufs = [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)];
            let mut rest = &mut bufs[..];
            IoSliceMut::advance_slices(&mut rest, got);
            got += server.read_vectored(rest).unwrap();
        }
        assert_eq!(&a, b"hello ");
        assert_eq!(&b, b"vectored world");
    });
}

#[test]
fn shutdown_write_gives_peer_eof_and_reverse_direction_still_works() {
    bounded(LIMIT, || {
        let dir = TestDir::new("half");
        let (_l, mut client, mut server) = pair(&dir, "half");
        client.write_all(b"request").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let mut req = Vec::new();
        server.read_to_end(&mut req).unwrap();
        assert_eq!(req, b"request");
        server.write_all(b"response").unwrap();
        drop(server);
        let mut resp = Vec::new();
        client.read_to_end(&mut resp).unwrap();
        assert_eq!(resp, b"response");
    });
}

#[test]
fn peer_gone_gives_eof_then_broken_pipe() {
    bounded(LIMIT, || {
        let dir = TestDir::new("gone");
        let (_l, mut client, server) = pair(&dir, "gone");
        drop(server);
        let mut buf = [0; 8];
        assert_eq!(client.read(&mut buf).unwrap(), 0);
        let err = (0..100)
            .find_map(|_| client.write_all(&[1; 4096]).err())
            .unwrap();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
    });
}

#[test]
fn nonblocking_stream_and_listener_would_block() {
    bounded(LIMIT, || {
        let dir = TestDir::new("nb");
        let (listener, client, server) = pair(&dir, "nb");
        listener.set_nonblocking(true).unwrap();
        assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
        server.set_nonblocking(true).unwrap();
        let mut buf = [0; 16];
        assert_eq!(
            (&server).read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        (&client).write_all(b"now").unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let n = loop {
            match (&server).read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(1))
                }
                Err(e) => panic!("{e}"),
            }
        };
        assert_eq!(&buf[..n], b"now");
        // Fill the send buffer: a nonblocking write eventually says WouldBlock, never garbage.
        client.set_nonblocking(true).unwrap();
        let err = (0..100_000)
            .find_map(|_| (&client).write(&[0; 65536]).err())
            .unwrap();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
    });
}

#[test]
fn nonblocking_listener_and_accepted_streams_block() {
    bounded(LIMIT, || {
        let dir = TestDir::new("nbopt");
        let name = any_name(&dir, "nbopt");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        listener.set_nonblocking(true).unwrap();
        assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
        let client = LocalSocketStream::connect(name.as_str()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let server = loop {
            match listener.accept() {
                Ok(s) => break s,
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(1))
                }
                Err(e) => panic!("{e}"),
            }
        };
        // The accepted stream blocks: a read waits for data rather than failing.
        server
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let start = Instant::now();
        let err = (&server).read(&mut [0; 4]).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "{err}"
        );
        assert!(
            start.elapsed() >= Duration::from_millis(50),
            "read did not block"
        );
        drop(client);
    });
}

#[test]
fn timeouts_round_trip_and_bound_reads() {
    bounded(LIMIT, || {
        let dir = TestDir::new("timeo");
        let (_l, client, _server) = pair(&dir, "timeo");
        client
            .set_read_timeout(Some(Duration::from_millis(150)))
            .unwrap();
        client
            .set_write_timeout(Some(Duration::from_millis(250)))
            .unwrap();
        let r = client.read_timeout().unwrap().unwrap();
        assert!(
            r >= Duration::from_millis(150) && r < Duration::from_millis(200),
            "{r:?}"
        );
        assert!(client.write_timeout().unwrap().is_some());
        let err = (&client).read(&mut [0; 1]).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "{err}"
        );
        client.set_read_timeout(None).unwrap();
        assert_eq!(client.read_timeout().unwrap(), None);
    });
}

#[test]
fn try_clone_shares_the_connection() {
    bounded(LIMIT, || {
        let dir = TestDir::new("clone");
        let (_l, client, mut server) = pair(&dir, "clone");
        let mut other = client.try_clone().unwrap();
        drop(client);
        other.write_all(b"via clone").unwrap();
        let mut buf = [0; 9];
        server.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"via clone");
    });
}

#[test]
fn peer_pid_and_creds_name_this_process() {
    bounded(LIMIT, || {
        let dir = TestDir::new("creds");
        let (_l, client, server) = pair(&dir, "creds");
        #[cfg(not(any(target_os = "freebsd", target_os = "openbsd", target_os = "netbsd")))]
        {
            assert_eq!(client.peer_pid().unwrap(), std::process::id());
            assert_eq!(server.peer_pid().unwrap(), std::process::id());
        }
        // The BSDs other than macOS do not say: a clear Unsupported, not a made-up pid.
        #[cfg(any(target_os = "freebsd", target_os = "openbsd", target_os = "netbsd"))]
        for pid in [client.peer_pid(), server.peer_pid()] {
            assert_eq!(pid.unwrap_err().kind(), std::io::ErrorKind::Unsupported);
        }
        let creds = server.peer_creds().unwrap();
        #[cfg(unix)]
        {
            // SAFETY: getuid/getgid cannot fail.
            let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
            assert_eq!(creds.uid(), Some(uid));
            assert_eq!(creds.gid(), Some(gid));
        }
        #[cfg(windows)]
        assert_eq!(creds.uid(), None);
    });
}

/// `peer_pid` is one system call (`SO_PEERCRED`), not the whole of `peer_creds` (which on
/// Linux adds `SO_PEERGROUPS`, `SO_PEERSEC` and a pidfd made and closed: 5 or more). Counted
/// by the kernel on this thread (root only, as in CI; elsewhere the test says why).
#[cfg(target_os = "linux")]
#[test]
fn peer_pid_is_one_system_call() {
    use util::syscalls::{counter_this_thread, total};
    let dir = TestDir::new("pid-calls");
    let (_l, _client, server) = pair(&dir, "pid-calls");
    let counter = match counter_this_thread() {
        Ok(c) => c,
        Err(why) => return eprintln!("not counted: {why} (needs root)"),
    };
    let before = total(&counter);
    let pid = server.peer_pid().unwrap();
    let calls = total(&counter) - before - 1; // the `read` of the counter itself
    assert_eq!(pid, std::process::id());
    assert_eq!(calls, 1, "peer_pid made {calls} system calls");
}

#[test]
fn connect_to_missing_server_fails_fast_naming_it() {
    bounded(LIMIT, || {
        let dir = TestDir::new("missing");
        let name = any_name(&dir, "missing");
        let err = LocalSocketStream::connect(name.as_str()).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::NotFound | ErrorKind::ConnectionRefused
            ),
            "{err}"
        );
        assert!(err.to_string().contains(&name), "{err}");
    });
}

#[test]
fn connect_timeout_expires_when_no_server() {
    bounded(LIMIT, || {
        let dir = TestDir::new("cto");
        let name = any_name(&dir, "cto");
        let start = Instant::now();
        let err = LocalSocketStream::connect_with(
            name.as_str(),
            ConnectOptions::new().timeout(Duration::from_millis(300)),
        )
        .unwrap_err();
        let took = start.elapsed();
        assert_err(err, ErrorKind::TimedOut, &name);
        assert!(
            took >= Duration::from_millis(300),
            "gave up early: {took:?}"
        );
        assert!(
            took < Duration::from_secs(3),
            "overran its timeout: {took:?}"
        );
    });
}

#[test]
fn connect_timeout_waits_for_a_late_server() {
    bounded(LIMIT, || {
        let dir = TestDir::new("late");
        let name = any_name(&dir, "late");
        let server = {
            let name = name.clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(300));
                let l = LocalSocketListener::bind(name.as_str()).unwrap();
                let mut s = l.accept().unwrap();
                s.write_all(b"up").unwrap();
                l
            })
        };
        let mut c = LocalSocketStream::connect_with(
            name.as_str(),
            ConnectOptions::new().timeout(Duration::from_secs(10)),
        )
        .unwrap();
        let mut buf = [0; 2];
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"up");
        drop(server.join().unwrap());
    });
}

#[test]
fn second_bind_of_a_live_name_is_addr_in_use() {
    bounded(LIMIT, || {
        let dir = TestDir::new("twice");
        let name = any_name(&dir, "twice");
        let first = LocalSocketListener::bind(name.as_str()).unwrap();
        let err = LocalSocketListener::bind(name.as_str()).unwrap_err();
        assert_err(err, ErrorKind::AddrInUse, &name);
        // The first listener still works.
        let _c = LocalSocketStream::connect(name.as_str()).unwrap();
        first.accept().unwrap();
    });
}

#[test]
fn client_that_left_before_accept_does_not_wedge_the_listener() {
    bounded(LIMIT, || {
        let dir = TestDir::new("left");
        let name = any_name(&dir, "left");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        drop(LocalSocketStream::connect(name.as_str()).unwrap());
        // Connect from another thread: on Windows there is no backlog, so this client waits
        // for the instance `accept` frees.
        let later = {
            let name = name.clone();
            thread::spawn(move || {
                let mut later = LocalSocketStream::connect(name.as_str()).unwrap();
                later.write_all(b"second").unwrap();
                later
            })
        };
        // Unix hands out the departed client as a stream that reads EOF; Windows skips it.
        // Either way the live client is reached within two accepts.
        let mut got = Vec::new();
        for _ in 0..2 {
            let mut s = listener.accept().unwrap();
            s.set_read_timeout(T).unwrap();
            let mut buf = [0; 6];
            match s.read(&mut buf).unwrap() {
                0 => continue,
                n => {
                    got.extend_from_slice(&buf[..n]);
                    s.read_exact(&mut buf[n..]).unwrap();
                    got.extend_from_slice(&buf[n..]);
                    break;
                }
            }
        }
        assert_eq!(got, b"second");
        drop(later.join().unwrap());
    });
}
