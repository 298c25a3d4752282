//! FIFOs: created with `create_fifo`, used by a reader and a writer in two processes.
#![cfg(unix)]

mod util;

use localipc::os::unix::fifo::create_fifo;
use localipc::unnamed_pipe::{Recver, Sender};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::process::Command;
use std::time::Duration;
use util::{assert_err, bounded, TestDir, LIMIT};

const CHILD_ENV: &str = "LOCALIPC_FIFO_CHILD";
const LEN: usize = 256 * 1024; // several pipe buffers' worth

fn pattern() -> Vec<u8> {
    (0..LEN).map(|i| u8::try_from(i % 253).unwrap()).collect()
}

fn spawn_child(test: &str, role: &str, path: &std::path::Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{role}:{}", path.display()))
        .spawn()
        .unwrap()
}

fn wait_ok(mut child: std::process::Child) {
    let status = util::wait_child(&mut child, Duration::from_secs(20));
    assert!(status.success(), "child failed: {status}");
}

/// `Some((role, path))` in a child process.
fn child_role() -> Option<(String, String)> {
    let v = std::env::var(CHILD_ENV).ok()?;
    let (role, path) = v.split_once(':')?;
    Some((role.to_owned(), path.to_owned()))
}

/// The child writes into the FIFO; this process reads everything until end of file.
#[test]
fn writer_process_to_reader_process() {
    if let Some((role, path)) = child_role() {
        assert_eq!(role, "writer");
        let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
        let mut tx = Sender::from(OwnedFd::from(file));
        tx.write_all(&pattern()).unwrap();
        return;
    }
    bounded(LIMIT, || {
        let dir = TestDir::new("fifo-w2r");
        let path = dir.join("fifo");
        create_fifo(&path, 0o600).unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_fifo());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let child = spawn_child("writer_process_to_reader_process", "writer", &path);
        // Opening for reading waits for the writer to open its end.
        let mut rx = Recver::from(OwnedFd::from(std::fs::File::open(&path).unwrap()));
        let mut got = Vec::new();
        rx.read_to_end(&mut got).unwrap();
        wait_ok(child);
        assert!(got == pattern(), "got {} bytes", got.len());
    });
}

/// This process writes; the child reads and checks (its exit status says whether the data
/// arrived intact).
#[test]
fn reader_process_from_writer_process() {
    if let Some((role, path)) = child_role() {
        assert_eq!(role, "reader");
        let mut got = Vec::new();
        std::fs::File::open(path)
            .unwrap()
            .read_to_end(&mut got)
            .unwrap();
        assert!(got == pattern(), "child got {} bytes", got.len());
        return;
    }
    bounded(LIMIT, || {
        let dir = TestDir::new("fifo-r2w");
        let path = dir.join("fifo");
        create_fifo(&path, 0o644).unwrap();
        let child = spawn_child("reader_process_from_writer_process", "reader", &path);
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let mut tx = Sender::from(OwnedFd::from(file));
        tx.write_all(&pattern()).unwrap();
        drop(tx);
        wait_ok(child);
    });
}

#[test]
fn existing_path_is_already_exists_naming_it() {
    let dir = TestDir::new("fifo-exists");
    let path = dir.join("taken");
    std::fs::write(&path, b"x").unwrap();
    let err = create_fifo(&path, 0o600).unwrap_err();
    assert_err(err, ErrorKind::AlreadyExists, path.to_str().unwrap());
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"x",
        "existing file untouched"
    );

    let fifo = dir.join("fifo");
    create_fifo(&fifo, 0o600).unwrap();
    let err = create_fifo(&fifo, 0o600).unwrap_err();
    assert_err(err, ErrorKind::AlreadyExists, fifo.to_str().unwrap());
}

#[test]
fn no_permission_is_permission_denied_naming_the_path() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let dir = TestDir::new("fifo-perm");
    let path = if root {
        // Root may write anywhere on ordinary filesystems; sysfs refuses new nodes (EPERM).
        std::path::PathBuf::from("/sys/localipc-test-fifo")
    } else {
        let ro = dir.join("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o500)).unwrap();
        ro.join("fifo")
    };
    let err = create_fifo(&path, 0o600).unwrap_err();
    assert_err(err, ErrorKind::PermissionDenied, path.to_str().unwrap());
}

#[test]
fn missing_directory_is_not_found_and_nul_is_invalid_input() {
    let dir = TestDir::new("fifo-missing");
    let path = dir.join("no-such-dir").join("fifo");
    let err = create_fifo(&path, 0o600).unwrap_err();
    assert_err(err, ErrorKind::NotFound, path.to_str().unwrap());

    let err = create_fifo("bad\0name", 0o600).unwrap_err();
    assert_err(err, ErrorKind::InvalidInput, "bad");
}

/// Apple's `mode_t` has 16 bits: a mode beyond them is `InvalidInput` naming the mode and the
/// path, and no FIFO is made (it used to be cut to its low bits: `0o200600` made a FIFO with
/// mode `0o600`).
#[cfg(target_vendor = "apple")]
#[test]
fn mode_wider_than_mode_t_is_invalid_input_naming_it() {
    let dir = TestDir::new("fifo-wide-mode");
    let path = dir.join("fifo");
    let err = create_fifo(&path, 0o200600).unwrap_err();
    assert_err(err, ErrorKind::InvalidInput, "0o200600");
    assert!(std::fs::symlink_metadata(&path).is_err(), "a FIFO was made");
    let err = create_fifo(&path, 0o200600).unwrap_err();
    assert_err(err, ErrorKind::InvalidInput, path.to_str().unwrap());
}
