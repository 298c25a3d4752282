//! Who may connect: file modes keep other users out of socket files; the abstract namespace
//! keeps nobody out, and `peer_creds` is the check a server makes there.
#![cfg(unix)]

mod util;

use localipc::local_socket::{ListenerOptions, LocalSocketListener, LocalSocketStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use util::{bounded, peer_role, Peer, TestDir, LIMIT};

const NOBODY: u32 = 65534;

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Child role: try to connect, print the outcome as `RESULT ok` or `RESULT <ErrorKind>`.
fn run_role() -> bool {
    let Some((role, name)) = peer_role() else {
        return false;
    };
    if role == "bindloop" {
        // The server under umask 0: every file it creates is 0777 unless it sets a mode.
        // SAFETY: umask cannot fail; this process runs only this role.
        unsafe { libc::umask(0) };
        let deadline = std::time::Instant::now() + HAMMER_TIME;
        let mut binds = 0;
        while std::time::Instant::now() < deadline {
            if let Ok(l) =
                LocalSocketListener::bind_with(name.as_str(), ListenerOptions::new().mode(0o600))
            {
                binds += 1;
                drop(l);
            }
        }
        println!("RESULT {binds}");
        return true;
    }
    if role == "hammer" {
        let deadline = std::time::Instant::now() + HAMMER_TIME;
        let (mut attempts, mut connected) = (0, 0);
        while std::time::Instant::now() < deadline {
            attempts += 1;
            if std::os::unix::net::UnixStream::connect(&name).is_ok() {
                connected += 1;
            }
        }
        println!("RESULT {connected} {attempts}");
        return true;
    }
    if role == "bind" {
        match LocalSocketListener::bind(name.as_str()) {
            Ok(_) => println!("RESULT ok"),
            Err(e) => println!("RESULT {:?} {e}", e.kind()),
        }
        return true;
    }
    assert_eq!(role, "connect");
    match LocalSocketStream::connect(name.as_str()) {
        Ok(mut s) => {
            use std::io::Read;
            let _ = s.read(&mut [0; 1]); // wait until the server has looked at us
            println!("RESULT ok")
        }
        Err(e) => println!("RESULT {:?}", e.kind()),
    }
    true
}

/// How long the binder and the hammering client of the umask test run.
const HAMMER_TIME: std::time::Duration = std::time::Duration::from_secs(3);

/// Runs the `connect` role as user `nobody` and returns what it printed after `RESULT `.
fn connect_as_nobody(test: &str, name: &str) -> String {
    let mut peer = Peer::spawn_with(test, "connect", name, |cmd| {
        cmd.uid(NOBODY).gid(NOBODY);
    });
    let result = peer.expect("RESULT ");
    peer.wait();
    result
}

#[test]
fn mode_0600_keeps_other_users_out() {
    if run_role() {
        return;
    }
    bounded(LIMIT, || {
        let dir = TestDir::new("perm");
        // The directory must let `nobody` reach the socket file, so only its mode decides.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let private = dir.join("private.sock");
        let open = dir.join("open.sock");
        let l_private =
            LocalSocketListener::bind_with(private.as_path(), ListenerOptions::new().mode(0o600))
                .unwrap();
        let l_open =
            LocalSocketListener::bind_with(open.as_path(), ListenerOptions::new().mode(0o666))
                .unwrap();
        // The mode is in place when bind returns.
        let mode = std::fs::metadata(&private).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        if !is_root() {
            // Cannot switch users here: the mode bits above are what this run can show.
            eprintln!("note: not root, so no second user to try; checked the mode bits only");
            return;
        }
        let test = "mode_0600_keeps_other_users_out";
        assert_eq!(
            connect_as_nobody(test, private.to_str().unwrap()),
            "PermissionDenied"
        );
        // Control: with 0666 the same user gets in, so the refusal above was the mode's doing.
        l_open.set_nonblocking(false).unwrap();
        let server = std::thread::spawn(move || {
            let s = l_open.accept().unwrap();
            let uid = s.peer_creds().unwrap().uid();
            drop(s);
            uid
        });
        assert_eq!(connect_as_nobody(test, open.to_str().unwrap()), "ok");
        assert_eq!(server.join().unwrap(), Some(NOBODY));
        drop(l_private);
    });
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
fn abstract_names_admit_any_user_and_peer_creds_tells_who() {
    if run_role() {
        return;
    }
    if !is_root() {
        eprintln!("note: not root, so no second user to try");
        return;
    }
    bounded(LIMIT, || {
        let name = util::namespaced("abs").unwrap();
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let server = std::thread::spawn(move || {
            let s = listener.accept().unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .unwrap();
            // The check a server on an abstract name makes: who is this?
            let uid = s.peer_creds().unwrap().uid();
            drop(s);
            uid
        });
        let result = connect_as_nobody(
            "abstract_names_admit_any_user_and_peer_creds_tells_who",
            &name,
        );
        assert_eq!(
            result, "ok",
            "abstract sockets have no permissions: anyone can connect"
        );
        assert_eq!(server.join().unwrap(), Some(NOBODY));
    });
}

#[test]
fn bind_in_a_directory_without_write_permission_is_permission_denied() {
    if run_role() {
        return;
    }
    bounded(LIMIT, || {
        let dir = TestDir::new("rodir");
        let ro = dir.join("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        let path = ro.join("s.sock");
        let path = path.to_str().unwrap();
        let result = if is_root() {
            // root ignores directory permissions: try as `nobody`.
            let mut peer = Peer::spawn_with(
                "bind_in_a_directory_without_write_permission_is_permission_denied",
                "bind",
                path,
                |cmd| {
                    cmd.uid(NOBODY).gid(NOBODY);
                },
            );
            let r = peer.expect("RESULT ");
            peer.wait();
            r
        } else {
            match LocalSocketListener::bind(path) {
                Ok(_) => "ok".into(),
                Err(e) => format!("{:?} {e}", e.kind()),
            }
        };
        assert!(result.starts_with("PermissionDenied "), "{result}");
        assert!(
            result.contains(path),
            "error does not name the path: {result}"
        );
    });
}

/// Issue 10.1: under umask 0 the socket file used to exist with mode 0777 between `bind` and
/// `chmod`, and a client that passed the permission check then got in once `listen` ran. Now
/// the file is bound in a private directory and published with its final mode only.
#[test]
fn mode_0600_has_no_window_under_umask_0() {
    if run_role() {
        return;
    }
    if !is_root() {
        eprintln!("note: not root, so no second user to try");
        return;
    }
    let test = "mode_0600_has_no_window_under_umask_0";
    bounded(LIMIT, move || {
        let dir = TestDir::new("umask0");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = dir.join("s.sock");
        let path = path.to_str().unwrap();
        let mut binder = Peer::spawn(test, "bindloop", path);
        let mut hammer = Peer::spawn_with(test, "hammer", path, |cmd| {
            cmd.uid(NOBODY).gid(NOBODY);
        });
        let binds: u64 = binder.expect("RESULT ").trim().parse().unwrap();
        let result = hammer.expect("RESULT ");
        binder.wait();
        hammer.wait();
        let mut fields = result.split_whitespace().map(|f| f.parse::<u64>().unwrap());
        let (connected, attempts) = (fields.next().unwrap(), fields.next().unwrap());
        eprintln!("{binds} binds, {attempts} connects as nobody, {connected} got in");
        assert!(binds > 0 && attempts > 0);
        assert_eq!(connected, 0, "nobody got into a mode 0600 socket");
    });
}

/// Issue 10.2: whoever can write the directory swaps the socket path for a symlink to a
/// victim file while servers bind there with a mode: the victim's mode never changes (the
/// mode is set inside the private directory, never through the public path).
#[test]
fn mode_is_never_applied_through_a_swapped_in_symlink() {
    bounded(LIMIT, || {
        let dir = TestDir::new("swap");
        let path = dir.join("s.sock");
        let victim = dir.join("victim");
        std::fs::write(&victim, b"secret").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
        let stop = std::sync::atomic::AtomicBool::new(false);
        let (binds, changed) = std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = std::fs::remove_file(&path);
                    let _ = std::os::unix::fs::symlink(&victim, &path);
                }
            });
            let (mut binds, mut changed) = (0, 0);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
            while std::time::Instant::now() < deadline {
                if let Ok(l) = LocalSocketListener::bind_with(
                    path.as_path(),
                    ListenerOptions::new().mode(0o666),
                ) {
                    binds += 1;
                    drop(l);
                }
                let mode = std::fs::metadata(&victim).unwrap().permissions().mode() & 0o777;
                if mode != 0o600 {
                    changed += 1;
                    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600))
                        .unwrap();
                }
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            (binds, changed)
        });
        let _ = std::fs::remove_file(&path);
        eprintln!("{binds} binds succeeded; victim's mode changed {changed} times");
        assert_eq!(changed, 0, "the victim's mode was changed {changed} times");
    });
}

/// A directory its user may write and search but not read (`0300`) cannot be opened for
/// the `flock` that serialises reclaim: binding a fresh path there works, but an existing
/// (even stale) socket file is never replaced, and no temporary directory is left behind.
#[test]
fn unreadable_directory_binds_but_never_replaces() {
    if run_role() {
        return;
    }
    if !is_root() {
        eprintln!("note: not root, so no second user to try");
        return;
    }
    let test = "unreadable_directory_binds_but_never_replaces";
    bounded(LIMIT, move || {
        let dir = TestDir::new("wxdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let wx = dir.join("wx");
        std::fs::create_dir(&wx).unwrap();
        std::os::unix::fs::chown(&wx, Some(NOBODY), Some(NOBODY)).unwrap();
        std::fs::set_permissions(&wx, std::fs::Permissions::from_mode(0o300)).unwrap();
        let as_nobody = |path: &std::path::Path| {
            let mut peer = Peer::spawn_with(test, "bind", path.to_str().unwrap(), |cmd| {
                cmd.uid(NOBODY).gid(NOBODY);
            });
            let r = peer.expect("RESULT ");
            peer.wait();
            r
        };
        assert_eq!(as_nobody(&wx.join("fresh.sock")), "ok");
        let stale = wx.join("stale.sock");
        drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
        let result = as_nobody(&stale);
        assert!(result.starts_with("AddrInUse "), "{result}");
        assert!(result.contains("without a lock"), "{result}");
        let left: Vec<_> = std::fs::read_dir(&wx)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, [std::ffi::OsString::from("stale.sock")]);
        std::fs::remove_file(&stale).unwrap();
    });
}
