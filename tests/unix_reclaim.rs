//! Unix socket files: stale-socket reclaim, never removing what is not ours, file mode.
#![cfg(unix)]

mod util;

use localipc::local_socket::{ListenerOptions, LocalSocketListener, LocalSocketStream};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use util::{assert_err, bounded, TestDir, LIMIT};

fn is_socket(p: &std::path::Path) -> bool {
    std::fs::symlink_metadata(p)
        .map(|m| m.file_type().is_socket())
        .unwrap_or(false)
}

#[test]
fn socket_file_is_removed_when_listener_drops() {
    let dir = TestDir::new("drop");
    let path = dir.join("s.sock");
    let l = LocalSocketListener::bind(path.as_path()).unwrap();
    assert!(is_socket(&path));
    drop(l);
    assert!(!path.exists(), "socket file left behind");
}

#[test]
fn stale_socket_file_is_replaced() {
    bounded(LIMIT, || {
        let dir = TestDir::new("stale");
        let path = dir.join("s.sock");
        drop(UnixListener::bind(&path).unwrap()); // std leaves the file: a crashed server's
        assert!(is_socket(&path));
        let l = LocalSocketListener::bind(path.as_path()).unwrap();
        let mut c = LocalSocketStream::connect(path.as_path()).unwrap();
        c.write_all(b"new").unwrap();
        let mut buf = [0; 3];
        l.accept().unwrap().read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"new");
    });
}

#[test]
fn live_server_socket_is_never_removed() {
    bounded(LIMIT, || {
        let dir = TestDir::new("live");
        let path = dir.join("s.sock");
        let live = UnixListener::bind(&path).unwrap();
        let err = LocalSocketListener::bind(path.as_path()).unwrap_err();
        assert_err(err, ErrorKind::AddrInUse, path.to_str().unwrap());
        assert!(is_socket(&path));
        // The live server still gets its clients.
        let _c = LocalSocketStream::connect(path.as_path()).unwrap();
        live.accept().unwrap();
        drop(live);
        std::fs::remove_file(&path).unwrap();
    });
}

#[test]
fn regular_file_at_path_is_never_removed() {
    let dir = TestDir::new("regular");
    let path = dir.join("data.sock");
    std::fs::write(&path, b"precious").unwrap();
    let err = LocalSocketListener::bind(path.as_path()).unwrap_err();
    assert_err(err, ErrorKind::AlreadyExists, path.to_str().unwrap());
    assert!(err_mentions(&path, "a regular file"));
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
}

fn err_mentions(path: &std::path::Path, what: &str) -> bool {
    LocalSocketListener::bind(path)
        .unwrap_err()
        .to_string()
        .contains(what)
}

#[test]
fn directory_at_path_is_never_removed() {
    let dir = TestDir::new("dir");
    let path = dir.join("sub");
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("keep"), b"x").unwrap();
    let err = LocalSocketListener::bind(path.as_path()).unwrap_err();
    assert_err(err, ErrorKind::AlreadyExists, path.to_str().unwrap());
    assert!(path.join("keep").exists());
}

#[test]
fn reclaim_off_keeps_file_and_refuses_existing() {
    let dir = TestDir::new("noreclaim");
    let path = dir.join("s.sock");
    let l = LocalSocketListener::bind_with(path.as_path(), ListenerOptions::new().reclaim(false))
        .unwrap();
    drop(l);
    assert!(is_socket(&path), "reclaim(false) must leave the file");
    let err = LocalSocketListener::bind_with(path.as_path(), ListenerOptions::new().reclaim(false))
        .unwrap_err();
    assert_err(err, ErrorKind::AddrInUse, path.to_str().unwrap());
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn drop_does_not_remove_a_successors_socket() {
    let dir = TestDir::new("succ");
    let path = dir.join("s.sock");
    let first = LocalSocketListener::bind(path.as_path()).unwrap();
    std::fs::remove_file(&path).unwrap(); // someone removed it ...
    let second = UnixListener::bind(&path).unwrap(); // ... and another server took the path
    drop(first);
    assert!(
        is_socket(&path),
        "the first listener removed a file it did not create"
    );
    drop(second);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn mode_is_applied_before_bind_returns() {
    let dir = TestDir::new("mode");
    for mode in [0o600, 0o660, 0o777] {
        let path = dir.join(&format!("m{mode:o}.sock"));
        let l = LocalSocketListener::bind_with(path.as_path(), ListenerOptions::new().mode(mode))
            .unwrap();
        let got = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(got, mode, "mode of {}", path.display());
        drop(l);
    }
}

#[test]
fn mode_with_namespaced_name_is_invalid_input() {
    if let Some(name) = util::namespaced("modens") {
        let err = LocalSocketListener::bind_with(name.as_str(), ListenerOptions::new().mode(0o600))
            .unwrap_err();
        assert_err(err, ErrorKind::InvalidInput, &name);
    }
}

#[test]
fn missing_directory_is_not_found_naming_path() {
    let dir = TestDir::new("nodir");
    let path = dir.join("no/such/dir/s.sock");
    assert_err(
        LocalSocketListener::bind(path.as_path()).unwrap_err(),
        ErrorKind::NotFound,
        path.to_str().unwrap(),
    );
}

#[test]
fn fd_conversions_round_trip() {
    use std::os::fd::{AsFd, AsRawFd, OwnedFd};
    use std::os::unix::net::UnixStream;
    bounded(LIMIT, || {
        let (a, b) = UnixStream::pair().unwrap();
        let mut a = LocalSocketStream::from(a);
        let raw = a.as_raw_fd();
        assert_eq!(a.as_fd().as_raw_fd(), raw);
        let fd: OwnedFd = a.into();
        assert_eq!(fd.as_raw_fd(), raw);
        a = LocalSocketStream::from(fd);
        a.write_all(b"fd").unwrap();
        let mut b = LocalSocketStream::from(OwnedFd::from(b));
        let mut buf = [0; 2];
        b.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"fd");

        let dir = TestDir::new("lfd");
        let path = dir.join("l.sock");
        let l = LocalSocketListener::bind(path.as_path()).unwrap();
        assert!(l.as_raw_fd() >= 0);
        let fd: OwnedFd = l.into(); // gives up reclaim: the file stays
        assert!(is_socket(&path));
        drop(fd);
        std::fs::remove_file(&path).unwrap();
    });
}
