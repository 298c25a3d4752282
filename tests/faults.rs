//! Faults: a peer process killed mid-transfer, a listener dropped under live clients, a
//! server gone mid-handshake, a slow reader, nonblocking partial I/O.

mod util;

use localipc::local_socket::{ConnectOptions, LocalSocketListener, LocalSocketStream};
use std::io::{ErrorKind, Read, Write};
use std::thread;
use std::time::{Duration, Instant};
use util::{any_name, bounded, peer_role, Peer, TestDir, LIMIT};

/// How quickly the survivor must learn that its peer died.
const NOTICE: Duration = Duration::from_secs(1);

/// Child roles shared by the tests below. Returns true if this process is such a child.
fn run_role() -> bool {
    let Some((role, name)) = peer_role() else {
        return false;
    };
    match role.as_str() {
        // Connects and writes until killed.
        "writer" => {
            let mut s = LocalSocketStream::connect(name.as_str()).unwrap();
            println!("READY");
            loop {
                if s.write_all(&[0x5A; 65536]).is_err() {
                    break;
                }
            }
        }
        // Connects and reads until killed.
        "reader" => {
            let mut s = LocalSocketStream::connect(name.as_str()).unwrap();
            println!("READY");
            let mut buf = vec![0; 65536];
            while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
        }
        // Binds, never accepts, waits to be killed.
        "mute-server" => {
            let _l = LocalSocketListener::bind(name.as_str()).unwrap();
            println!("READY");
            thread::sleep(Duration::from_secs(60));
        }
        other => panic!("unknown role {other}"),
    }
    true
}

#[test]
fn reader_survives_writer_killed_mid_transfer() {
    if run_role() {
        return;
    }
    bounded(LIMIT, || {
        let dir = TestDir::new("killw");
        let name = any_name(&dir, "killw");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let mut peer = Peer::spawn(
            "reader_survives_writer_killed_mid_transfer",
            "writer",
            &name,
        );
        let mut conn = listener.accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        peer.expect("READY");
        let mut buf = vec![0; 65536];
        let mut got = 0;
        while got < 1 << 20 {
            got += conn.read(&mut buf).unwrap();
        }
        peer.kill();
        let killed = Instant::now();
        // Drain what was in flight; then end of file (or a reset), never a hang or a panic.
        loop {
            match conn.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
                Err(e) => panic!("unexpected error after the writer died: {e}"),
            }
        }
        assert!(killed.elapsed() < NOTICE, "EOF took {:?}", killed.elapsed());
    });
}

#[test]
fn writer_survives_reader_killed_mid_transfer() {
    if run_role() {
        return;
    }
    // The default SIGPIPE action kills the process: prove the library never raises it.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition; this test binary writes only through
    // localipc sockets, which use MSG_NOSIGNAL.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    bounded(LIMIT, || {
        let dir = TestDir::new("killr");
        let name = any_name(&dir, "killr");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let mut peer = Peer::spawn(
            "writer_survives_reader_killed_mid_transfer",
            "reader",
            &name,
        );
        let mut conn = listener.accept().unwrap();
        conn.set_write_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        peer.expect("READY");
        for _ in 0..16 {
            conn.write_all(&[1; 65536]).unwrap();
        }
        peer.kill();
        let killed = Instant::now();
        let err = loop {
            if let Err(e) = conn.write_all(&[2; 65536]) {
                break e;
            }
        };
        assert!(
            matches!(
                err.kind(),
                ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
            ),
            "{err}"
        );
        assert!(
            killed.elapsed() < NOTICE,
            "error took {:?}",
            killed.elapsed()
        );
    });
}

#[test]
fn server_killed_before_accepting_gives_client_eof_or_reset() {
    if run_role() {
        return;
    }
    bounded(LIMIT, || {
        let dir = TestDir::new("mute");
        let name = any_name(&dir, "mute");
        let mut peer = Peer::spawn(
            "server_killed_before_accepting_gives_client_eof_or_reset",
            "mute-server",
            &name,
        );
        peer.expect("READY");
        // Connected (queued, never accepted), then the server dies mid-handshake.
        let mut conn = LocalSocketStream::connect(name.as_str()).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        peer.kill();
        let killed = Instant::now();
        match conn.read(&mut [0; 16]) {
            Ok(0) => {}
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => {}
            other => panic!("expected EOF or a reset, got {other:?}"),
        }
        assert!(killed.elapsed() < NOTICE, "took {:?}", killed.elapsed());
    });
}

#[test]
fn dropping_the_listener_keeps_existing_streams_working() {
    bounded(LIMIT, || {
        let dir = TestDir::new("ldrop");
        let name = any_name(&dir, "ldrop");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let mut c = LocalSocketStream::connect(name.as_str()).unwrap();
        let mut s = listener.accept().unwrap();
        drop(listener);
        for i in 0..100u32 {
            c.write_all(&i.to_le_bytes()).unwrap();
            let mut b = [0; 4];
            s.read_exact(&mut b).unwrap();
            s.write_all(&b).unwrap();
            c.read_exact(&mut b).unwrap();
            assert_eq!(u32::from_le_bytes(b), i);
        }
        // New clients are turned away once the listener is gone (Unix: refused or not found;
        // Windows: the pipe name lives on with the connected instance, all of whose
        // instances are busy, so a connect with a timeout times out).
        let err = LocalSocketStream::connect_with(
            name.as_str(),
            ConnectOptions::new().timeout(Duration::from_millis(300)),
        )
        .unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::NotFound | ErrorKind::ConnectionRefused | ErrorKind::TimedOut
            ),
            "{err}"
        );
    });
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i * 31 + i / 977).to_le_bytes()[0])
        .collect()
}

#[test]
fn slow_reader_blocks_the_writer_and_nothing_is_lost() {
    bounded(LIMIT, || {
        let dir = TestDir::new("slow");
        let name = any_name(&dir, "slow");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let mut c = LocalSocketStream::connect(name.as_str()).unwrap();
        let mut s = listener.accept().unwrap();
        const LEN: usize = 8 << 20;
        let writer = thread::spawn(move || {
            let start = Instant::now();
            c.write_all(&pattern(LEN)).unwrap();
            (c, start.elapsed())
        });
        // Slow at first, so the writer fills the buffer and blocks; then read the rest.
        let mut got = Vec::with_capacity(LEN);
        let mut buf = vec![0; 4096];
        for _ in 0..50 {
            thread::sleep(Duration::from_millis(4));
            let n = s.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
        }
        assert!(
            !writer.is_finished(),
            "the writer should be blocked on the full buffer"
        );
        while got.len() < LEN {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "EOF after {} bytes", got.len());
            got.extend_from_slice(&buf[..n]);
        }
        let (_c, took) = writer.join().unwrap();
        assert!(
            took >= Duration::from_millis(150),
            "writer never blocked ({took:?})"
        );
        assert!(got == pattern(LEN), "data differs");
    });
}

#[test]
fn nonblocking_reads_see_exactly_what_was_written() {
    bounded(LIMIT, || {
        let dir = TestDir::new("nbx");
        let name = any_name(&dir, "nbx");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let mut c = LocalSocketStream::connect(name.as_str()).unwrap();
        let s = listener.accept().unwrap();
        s.set_nonblocking(true).unwrap();
        const LEN: usize = 2 << 20;
        let writer = thread::spawn(move || {
            let data = pattern(LEN);
            for (i, chunk) in data.chunks(7919).enumerate() {
                c.write_all(chunk).unwrap();
                if i % 50 == 0 {
                    thread::sleep(Duration::from_millis(1));
                }
            }
        });
        let mut got = Vec::with_capacity(LEN);
        let mut buf = vec![0; 5000];
        let mut would_block = 0;
        while got.len() < LEN {
            match (&s).read(&mut buf) {
                Ok(0) => panic!("EOF after {} bytes", got.len()),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    would_block += 1;
                    thread::yield_now();
                }
                Err(e) => panic!("{e}"),
            }
        }
        writer.join().unwrap();
        assert!(would_block > 0, "the reader never outran the writer");
        assert!(got == pattern(LEN), "data differs");
    });
}
