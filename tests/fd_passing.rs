//! Passing descriptors over local-socket streams: to a peer process that uses them, a
//! listening socket accepting in the peer, too little room (no leak), credentials.
#![cfg(unix)]

mod util;

use localipc::local_socket::{LocalSocketListener, LocalSocketStream, MAX_HANDLES};
use std::io::{ErrorKind, Read, Seek, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::Command;
use std::time::Duration;
use util::{any_name, bounded, TestDir, LIMIT};

const CHILD_ENV: &str = "LOCALIPC_FD_PASSING_CHILD";

fn spawn_child(test: &str, arg: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, arg)
        .spawn()
        .unwrap()
}

fn wait_ok(mut child: std::process::Child) {
    let status = util::wait_child(&mut child, Duration::from_secs(20));
    assert!(status.success(), "child failed: {status}");
}

/// Receives exactly one handle with the message `tag`.
fn recv_one(conn: &LocalSocketStream, tag: &[u8]) -> OwnedFd {
    let mut buf = vec![0; tag.len()];
    let mut fds = Vec::with_capacity(1);
    let n = conn.recv_with_handles(&mut buf, &mut fds).unwrap();
    assert_eq!(&buf[..n], tag);
    assert_eq!(fds.len(), 1);
    fds.pop().unwrap()
}

fn is_cloexec(fd: &impl AsRawFd) -> bool {
    // SAFETY: F_GETFD on an open descriptor.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) & libc::FD_CLOEXEC != 0 }
}

/// The child gets an open file over the socket, writes through it, and says so; this
/// process then reads the child's words back from its own descriptor of the same file.
#[test]
fn file_passed_to_peer_process_is_written_there() {
    if let Ok(name) = std::env::var(CHILD_ENV) {
        let conn = LocalSocketStream::connect(name.as_str()).unwrap();
        let fd = recv_one(&conn, b"file");
        assert!(is_cloexec(&fd), "received descriptor is not close-on-exec");
        let mut file = std::fs::File::from(fd);
        write!(file, "written by process {}", std::process::id()).unwrap();
        (&conn).write_all(b"done").unwrap();
        return;
    }
    bounded(LIMIT, || {
        let dir = TestDir::new("fdpass-file");
        let name = any_name(&dir, "ctl");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let child = spawn_child("file_passed_to_peer_process_is_written_there", &name);
        let child_pid = child.id();
        let conn = listener.accept().unwrap();
        let mut file = std::fs::File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.join("shared.txt"))
            .unwrap();
        assert_eq!(conn.send_with_handles(b"file", &[file.as_fd()]).unwrap(), 4);
        let mut ack = [0; 4];
        (&conn).read_exact(&mut ack).unwrap();
        assert_eq!(&ack, b"done");
        wait_ok(child);
        let mut text = String::new();
        file.rewind().unwrap();
        file.read_to_string(&mut text).unwrap();
        assert_eq!(text, format!("written by process {child_pid}"));
    });
}

/// A listening socket passed to the child accepts there: the connection this process
/// makes is answered by the child.
#[test]
fn listening_socket_passed_to_peer_process_accepts_there() {
    if let Ok(name) = std::env::var(CHILD_ENV) {
        let conn = LocalSocketStream::connect(name.as_str()).unwrap();
        let listener = std::os::unix::net::UnixListener::from(recv_one(&conn, b"listener"));
        let (mut client, _) = listener.accept().unwrap();
        let mut req = [0; 4];
        client.read_exact(&mut req).unwrap();
        assert_eq!(&req, b"ping");
        write!(client, "pong from {}", std::process::id()).unwrap();
        return;
    }
    bounded(LIMIT, || {
        let dir = TestDir::new("fdpass-listener");
        let ctl_name = any_name(&dir, "ctl");
        let ctl = LocalSocketListener::bind(ctl_name.as_str()).unwrap();
        let served_name = any_name(&dir, "served");
        let served = LocalSocketListener::bind(served_name.as_str()).unwrap();
        let child = spawn_child(
            "listening_socket_passed_to_peer_process_accepts_there",
            &ctl_name,
        );
        let child_pid = child.id();
        let conn = ctl.accept().unwrap();
        conn.send_with_handles(b"listener", &[served.as_fd()])
            .unwrap();
        let mut client = LocalSocketStream::connect(served_name.as_str()).unwrap();
        client.write_all(b"ping").unwrap();
        let mut reply = String::new();
        client.read_to_string(&mut reply).unwrap();
        assert_eq!(reply, format!("pong from {child_pid}"));
        wait_ok(child);
        drop(served); // removes its socket file (if a path): TestDir checks
    });
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn open_fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Three descriptors sent, room for one: an error, and none of them left open in the
/// receiver (counted in /proc/self/fd). Runs in a child process so no other test opens or
/// closes descriptors meanwhile.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
fn too_little_room_is_an_error_and_leaks_nothing() {
    if std::env::var(CHILD_ENV).as_deref() == Ok("count") {
        return too_little_room_child();
    }
    let child = spawn_child("too_little_room_is_an_error_and_leaks_nothing", "count");
    wait_ok(child);
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn too_little_room_child() {
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let (a, b) = (LocalSocketStream::from(a), LocalSocketStream::from(b));
    let files: Vec<std::fs::File> = (0..10)
        .map(|_| std::fs::File::open("/dev/null").unwrap())
        .collect();
    let all: Vec<_> = files.iter().map(|f| f.as_fd()).collect();
    let fds = &all[..3];

    // (room, sent): the kernel truncates (MSG_CTRUNC) with none or some installed, or the
    // control buffer's alignment padding lets more than the room in.
    for (room, sent) in [(0, 3), (1, 3), (2, 3), (1, 10), (5, 10)] {
        let before = open_fd_count();
        assert_eq!(a.send_with_handles(b"abc", &all[..sent]).unwrap(), 3);
        let mut got = Vec::with_capacity(room);
        let mut buf = [0; 16];
        let err = b.recv_with_handles(&mut buf, &mut got).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
        assert!(err.to_string().contains("capacity"), "{err}");
        assert!(got.is_empty());
        assert_eq!(
            open_fd_count(),
            before,
            "descriptors leaked with room {room} for {sent}"
        );
    }

    // Enough room: all three arrive, close-on-exec, appended after what was there.
    let before = open_fd_count();
    a.send_with_handles(b"abc", fds).unwrap();
    let mut got = Vec::with_capacity(3);
    let mut buf = [0; 16];
    assert_eq!(b.recv_with_handles(&mut buf, &mut got).unwrap(), 3);
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(is_cloexec));
    assert_eq!(open_fd_count(), before + 3);
    drop(got);
    assert_eq!(open_fd_count(), before);
}

#[test]
fn bad_input_is_invalid_input() {
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let (a, b) = (LocalSocketStream::from(a), LocalSocketStream::from(b));
    let f = std::fs::File::open("/dev/null").unwrap();
    let err = a.send_with_handles(b"", &[f.as_fd()]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let many = vec![f.as_fd(); MAX_HANDLES + 1];
    let err = a.send_with_handles(b"x", &many).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains(&MAX_HANDLES.to_string()), "{err}");
    let err = b.recv_with_handles(&mut [], &mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    // The maximum goes through; plain bytes without handles too.
    assert_eq!(a.send_with_handles(b"y", &many[..MAX_HANDLES]).unwrap(), 1);
    let mut got = Vec::with_capacity(MAX_HANDLES);
    assert_eq!(b.recv_with_handles(&mut [0; 1], &mut got).unwrap(), 1);
    assert_eq!(got.len(), MAX_HANDLES);
    assert_eq!(a.send_with_handles(b"z", &[]).unwrap(), 1);
    let mut none = Vec::new();
    assert_eq!(b.recv_with_handles(&mut [0; 1], &mut none).unwrap(), 1);
    assert!(none.is_empty());
}

/// Credentials sent by a peer process arrive with its pid, uid and gid.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
fn credentials_of_peer_process_arrive() {
    use localipc::os::unix::credentials::CredentialsExt;
    if let Ok(name) = std::env::var(CHILD_ENV) {
        let conn = LocalSocketStream::connect(name.as_str()).unwrap();
        let mut go = [0; 1];
        (&conn).read_exact(&mut go).unwrap(); // the server has SO_PASSCRED on
        assert_eq!(conn.send_with_credentials(b"hello").unwrap(), 5);
        return;
    }
    bounded(LIMIT, || {
        let dir = TestDir::new("fdpass-creds");
        let name = any_name(&dir, "creds");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let child = spawn_child("credentials_of_peer_process_arrive", &name);
        let child_pid = child.id();
        let conn = listener.accept().unwrap();
        conn.set_pass_credentials(true).unwrap();
        (&conn).write_all(b"g").unwrap();
        let mut buf = [0; 5];
        let (n, creds) = conn.recv_with_credentials(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"hello");
        let creds = creds.expect("credentials with SO_PASSCRED on");
        assert_eq!(creds.pid(), Some(child_pid));
        // SAFETY: geteuid/getegid have no preconditions.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        assert_eq!((creds.uid(), creds.gid()), (Some(uid), Some(gid)));
        wait_ok(child);

        // Reception off: bytes only.
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let (a, b) = (LocalSocketStream::from(a), LocalSocketStream::from(b));
        a.send_with_credentials(b"x").unwrap();
        assert_eq!(b.recv_with_credentials(&mut buf).unwrap(), (1, None));
    });
}
