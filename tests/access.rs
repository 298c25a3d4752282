//! Access policies (issue 14): who may connect (`ListenerOptions::access`, checked at accept
//! on every listener type), whom a client accepts as its server (`expect_server`), and the
//! pidfd in `PeerCreds`. The other side runs as `nobody` (or `daemon`), so most tests need
//! root (CI runs as root); without it they say so and check what they can.
#![cfg(any(target_os = "linux", target_os = "android"))]

mod util;

use localipc::identity::{AccessPolicy, UserId};
use localipc::local_socket::message::{MessageListener, MessageStream};
use localipc::local_socket::{
    ConnectOptions, ListenerOptions, LocalSocketListener, LocalSocketStream,
};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::sync::{Arc, Mutex};
use util::{bounded, peer_role, Peer, TestDir, LIMIT};

const NOBODY: u32 = 65534;
const DAEMON: u32 = 1;

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Child roles. `connect`/`mconnect`: connect (stream/message), print `CONNECTED`, then
/// wait for the server: `RESULT served` if it sends a byte, `RESULT closed` at end of file or
/// reset, `RESULT <kind>` if connect failed. `squat`: serve a stream listener at the name and
/// a message listener at name + `m`, print `READY`, and sit until killed.
fn run_role() -> bool {
    let Some((role, name)) = peer_role() else {
        return false;
    };
    let outcome = |r: std::io::Result<usize>| match r {
        Ok(0) | Err(_) => "closed",
        Ok(_) => "served",
    };
    match role.as_str() {
        "connect" => match LocalSocketStream::connect(name.as_str()) {
            Ok(mut s) => {
                println!("CONNECTED");
                println!("RESULT {}", outcome(s.read(&mut [0; 1])));
            }
            Err(e) => println!("RESULT {:?}", e.kind()),
        },
        "mconnect" => match MessageStream::connect(name.as_str()) {
            Ok(s) => {
                println!("CONNECTED");
                let r = s.recv(&mut [0; 8]).map(|m| m.map_or(0, |m| m.len.max(1)));
                println!("RESULT {}", outcome(r));
            }
            Err(e) => println!("RESULT {:?}", e.kind()),
        },
        "squat" => {
            let _l = LocalSocketListener::bind(name.as_str()).unwrap();
            let _m = MessageListener::bind(format!("{name}m").as_str()).unwrap();
            println!("READY");
            std::thread::sleep(std::time::Duration::from_secs(30));
        }
        other => panic!("unknown role {other}"),
    }
    true
}

/// Starts `role` as user `uid` (group `uid` too, no supplementary groups).
fn spawn_as(test: &str, role: &str, name: &str, uid: u32) -> Peer {
    Peer::spawn_with(test, role, name, |cmd| {
        cmd.uid(uid).gid(uid); // as root, std also drops supplementary groups
    })
}

/// The uids `on_refused` was called with.
type Log = Arc<Mutex<Vec<Option<u32>>>>;

/// Options with `policy` and an `on_refused` callback that logs to the returned log.
fn options(policy: AccessPolicy) -> (ListenerOptions, Log) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut opts = ListenerOptions::new();
    let l = log.clone();
    opts.access(policy)
        .on_refused(move |who| l.lock().unwrap().push(who.uid()));
    (opts, log)
}

/// The refusal scenario on a sync stream listener at `name`: a `nobody` client connects
/// while a nonblocking `accept` runs: that accept gives `WouldBlock` (the refused one is
/// never returned), the callback hears uid 65534, the client sees its connection closed; then
/// an allowed client (this process) is accepted by a blocking `accept`.
fn refuses_nobody_then_admits_me(test: &str, name: &str, (opts, log): &(ListenerOptions, Log)) {
    let listener = LocalSocketListener::bind_with(name, opts).unwrap();
    listener.set_nonblocking(true).unwrap();
    let mut peer = spawn_as(test, "connect", name, NOBODY);
    assert_eq!(peer.expect("CONNECTED"), "");
    let err = listener.accept().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WouldBlock, "{err}");
    assert_eq!(peer.expect("RESULT "), "closed");
    peer.wait();
    assert_eq!(*log.lock().unwrap(), [Some(NOBODY)]);
    listener.set_nonblocking(false).unwrap();
    let mut me = LocalSocketStream::connect(name).unwrap();
    let conn = listener.accept().unwrap();
    assert_eq!(conn.peer_creds().unwrap().uid(), Some(0));
    (&conn).write_all(b"x").unwrap();
    assert_eq!(me.read(&mut [0; 1]).unwrap(), 1);
}

fn need_root() -> bool {
    if !is_root() {
        eprintln!("note: not root, so no second user to try: skipped");
    }
    is_root()
}

#[test]
fn current_user_policy_refuses_nobody_on_an_abstract_name() {
    if run_role() || !need_root() {
        return;
    }
    bounded(LIMIT, || {
        let name = util::namespaced("acc-abs").unwrap();
        let opts = options(AccessPolicy::current_user());
        refuses_nobody_then_admits_me(
            "current_user_policy_refuses_nobody_on_an_abstract_name",
            &name,
            &opts,
        );
    });
}

/// On a path the policy sets mode 0600, so `nobody` cannot even connect; with an explicit
/// `mode(0o666)` (which wins for the file bits) it connects and the accept check refuses it.
#[test]
fn current_user_policy_refuses_nobody_on_a_path() {
    if run_role() || !need_root() {
        return;
    }
    let test = "current_user_policy_refuses_nobody_on_a_path";
    bounded(LIMIT, move || {
        let dir = TestDir::new("acc-path");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let private = dir.join("p.sock");
        let private = private.to_str().unwrap();
        let _l = LocalSocketListener::bind_with(
            private,
            ListenerOptions::new().access(AccessPolicy::current_user()),
        )
        .unwrap();
        let mode = std::fs::metadata(private).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let mut peer = spawn_as(test, "connect", private, NOBODY);
        assert_eq!(peer.expect("RESULT "), "PermissionDenied");
        peer.wait();

        let open = dir.join("o.sock");
        let mut opts = options(AccessPolicy::current_user());
        opts.0.mode(0o666);
        refuses_nobody_then_admits_me(test, open.to_str().unwrap(), &opts);
    });
}

#[test]
fn current_user_policy_refuses_nobody_on_a_message_listener() {
    if run_role() || !need_root() {
        return;
    }
    let test = "current_user_policy_refuses_nobody_on_a_message_listener";
    bounded(LIMIT, move || {
        let name = util::namespaced("acc-msg").unwrap();
        let (opts, log) = options(AccessPolicy::current_user());
        let listener = MessageListener::bind_with(name.as_str(), &opts).unwrap();
        listener.set_nonblocking(true).unwrap();
        let mut peer = spawn_as(test, "mconnect", &name, NOBODY);
        assert_eq!(peer.expect("CONNECTED"), "");
        assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
        assert_eq!(peer.expect("RESULT "), "closed");
        peer.wait();
        assert_eq!(*log.lock().unwrap(), [Some(NOBODY)]);
        listener.set_nonblocking(false).unwrap();
        let _me = MessageStream::connect(name.as_str()).unwrap();
        assert_eq!(
            listener.accept().unwrap().peer_creds().unwrap().uid(),
            Some(0)
        );
    });
}

#[cfg(feature = "tokio")]
#[test]
fn current_user_policy_refuses_nobody_on_a_tokio_listener() {
    use localipc::local_socket::tokio as lt;
    if run_role() || !need_root() {
        return;
    }
    let test = "current_user_policy_refuses_nobody_on_a_tokio_listener";
    bounded(LIMIT, move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let name = util::namespaced("acc-tokio").unwrap();
            let (opts, log) = options(AccessPolicy::current_user());
            let listener = lt::LocalSocketListener::bind_with(name.as_str(), &opts).unwrap();
            let mut peer = spawn_as(test, "connect", &name, NOBODY);
            assert_eq!(peer.expect("CONNECTED"), "");
            // The refused connection is pending: accept must not return it.
            let early =
                tokio::time::timeout(std::time::Duration::from_millis(300), listener.accept())
                    .await;
            assert!(early.is_err(), "accept returned a refused connection");
            assert_eq!(peer.expect("RESULT "), "closed");
            peer.wait();
            assert_eq!(*log.lock().unwrap(), [Some(NOBODY)]);
            let _me = lt::LocalSocketStream::connect(name.as_str()).await.unwrap();
            let conn = listener.accept().await.unwrap();
            assert_eq!(conn.peer_creds().unwrap().uid(), Some(0));
        });
    });
}

/// `users([nobody])` admits exactly nobody: root (this process) and `daemon` are refused.
#[test]
fn list_policy_admits_exactly_its_members() {
    if run_role() || !need_root() {
        return;
    }
    let test = "list_policy_admits_exactly_its_members";
    bounded(LIMIT, move || {
        let name = util::namespaced("acc-list").unwrap();
        let (opts, log) = options(AccessPolicy::users([UserId::from_uid(NOBODY)]));
        let listener = LocalSocketListener::bind_with(name.as_str(), &opts).unwrap();
        listener.set_nonblocking(true).unwrap();
        let mut me = LocalSocketStream::connect(name.as_str()).unwrap();
        let mut daemon = spawn_as(test, "connect", &name, DAEMON);
        assert_eq!(daemon.expect("CONNECTED"), "");
        assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
        assert_eq!(daemon.expect("RESULT "), "closed");
        daemon.wait();
        assert_eq!(me.read(&mut [0; 1]).unwrap(), 0, "root was not refused");
        assert_eq!(*log.lock().unwrap(), [Some(0), Some(DAEMON)]);

        let mut nobody = spawn_as(test, "connect", &name, NOBODY);
        assert_eq!(nobody.expect("CONNECTED"), "");
        listener.set_nonblocking(false).unwrap();
        let conn = listener.accept().unwrap();
        assert_eq!(conn.peer_creds().unwrap().uid(), Some(NOBODY));
        (&conn).write_all(b"x").unwrap();
        assert_eq!(nobody.expect("RESULT "), "served");
        nobody.wait();
    });
}

/// A `nobody` squatter holds the names first: `expect_server(current user)` refuses it with
/// `PermissionDenied` naming its uid, for the sync, message and tokio streams; a server of
/// the expected user is accepted.
#[test]
fn expect_server_refuses_a_nobody_squatter() {
    if run_role() || !need_root() {
        return;
    }
    let test = "expect_server_refuses_a_nobody_squatter";
    bounded(LIMIT, move || {
        let name = util::namespaced("acc-squat").unwrap();
        let mut squatter = spawn_as(test, "squat", &name, NOBODY);
        assert_eq!(squatter.expect("READY"), "");
        let mut opts = ConnectOptions::new();
        opts.expect_server(AccessPolicy::current_user());
        let check = |r: std::io::Result<()>| {
            let e = r.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
            let msg = e.to_string();
            assert!(msg.contains("user 65534") && msg.contains(&name), "{msg}");
        };
        check(LocalSocketStream::connect_with(name.as_str(), &opts).map(drop));
        let mname = format!("{name}m");
        check(MessageStream::connect_with(mname.as_str(), &opts).map(drop));
        #[cfg(feature = "tokio")]
        {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            check(rt.block_on(async {
                localipc::local_socket::tokio::LocalSocketStream::connect_with(name.as_str(), &opts)
                    .await
                    .map(drop)
            }));
        }
        // Without the expectation the squatter is reached: the check above made the difference.
        assert!(LocalSocketStream::connect(name.as_str()).is_ok());
        squatter.kill();
        // A server of this user passes.
        let mine = util::namespaced("acc-mine").unwrap();
        let _l = LocalSocketListener::bind(mine.as_str()).unwrap();
        LocalSocketStream::connect_with(mine.as_str(), &opts).unwrap();
        let nobody_only = {
            let mut o = ConnectOptions::new();
            o.expect_server(AccessPolicy::users([UserId::from_uid(NOBODY)]));
            o
        };
        let e = LocalSocketStream::connect_with(mine.as_str(), &nobody_only).unwrap_err();
        assert!(e.to_string().contains("user 0"), "{e}");
    });
}

/// `pidfd_send_signal(pidfd, 0)`: `Ok` while the process the pidfd names lives.
fn pidfd_alive(pidfd: std::os::fd::BorrowedFd<'_>) -> std::io::Result<()> {
    // SAFETY: plain syscall on an open pidfd with a null siginfo.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            0,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The pidfd of `PeerCreds` keeps naming the peer after it exited and its pid went to a new
/// process (made with `ns_last_pid`): the pid reaches the new process, the pidfd does not.
#[test]
fn pidfd_still_names_the_peer_after_its_pid_was_recycled() {
    if run_role() {
        return;
    }
    let test = "pidfd_still_names_the_peer_after_its_pid_was_recycled";
    bounded(LIMIT, move || {
        let name = util::namespaced("acc-pidfd").unwrap();
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let mut peer = Peer::spawn(test, "connect", &name);
        let conn = listener.accept().unwrap();
        let creds = conn.peer_creds().unwrap();
        let pid = creds.pid().unwrap();
        assert_eq!(pid, peer.id());
        let Some(pidfd) = creds.pidfd() else {
            eprintln!("SKIPPED: this kernel gives no SO_PEERPIDFD (Linux 6.5+)");
            return;
        };
        pidfd_alive(pidfd).expect("the peer is alive");
        drop(conn);
        assert_eq!(peer.expect("RESULT "), "closed");
        peer.wait(); // exited and reaped: its pid is free
        let mut recycled = None;
        for _ in 0..200 {
            if std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()).is_err() {
                eprintln!("SKIPPED: cannot write /proc/sys/kernel/ns_last_pid to recycle a pid");
                return;
            }
            let mut child = std::process::Command::new("sleep")
                .arg("20")
                .process_group(0)
                .spawn()
                .unwrap();
            if child.id() == pid {
                recycled = Some(child);
                break;
            }
            child.kill().unwrap();
            child.wait().unwrap();
        }
        let Some(mut child) = recycled else {
            panic!("could not get pid {pid} reused in 200 tries");
        };
        // The pid now names `sleep`; the pidfd still names the exited peer.
        // SAFETY: kill with signal 0 only checks.
        assert_eq!(unsafe { libc::kill(i32::try_from(pid).unwrap(), 0) }, 0);
        let err = pidfd_alive(pidfd).unwrap_err();
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(err.raw_os_error(), Some(libc::ESRCH), "{err}");
    });
}

/// The identity types: the current user, names, and what `PeerCreds` reports for this
/// process (as any user).
#[test]
fn identities_and_peer_creds_of_this_process() {
    if run_role() {
        return;
    }
    bounded(LIMIT, || {
        // SAFETY: geteuid cannot fail.
        let me = unsafe { libc::geteuid() };
        assert_eq!(UserId::current().unwrap().uid(), me);
        assert_eq!(UserId::from_name("root").unwrap().uid(), 0);
        let e = UserId::from_name("no-such-user-localipc").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains("no-such-user-localipc"), "{e}");
        assert_eq!(
            localipc::identity::GroupId::from_name("root")
                .unwrap()
                .gid(),
            0
        );
        let name = util::namespaced("acc-self").unwrap();
        let l = LocalSocketListener::bind(name.as_str()).unwrap();
        let c = LocalSocketStream::connect(name.as_str()).unwrap();
        let s = l.accept().unwrap();
        let creds = s.peer_creds().unwrap();
        assert_eq!(creds.user(), Some(UserId::current().unwrap()));
        assert_eq!(creds.pid(), Some(std::process::id()));
        assert!(creds.groups().is_some(), "SO_PEERGROUPS (Linux 4.13+)");
        assert!(AccessPolicy::current_user().allows(&creds));
        assert!(!AccessPolicy::users([]).allows(&creds));
        assert!(AccessPolicy::everyone().allows(&Default::default()));
        assert!(!AccessPolicy::current_user().allows(&Default::default()));
        eprintln!("peer: {creds}; label {:?}", creds.security_label());
        drop(c);
    });
}

/// `group(nogroup)` on a path: the socket file is `0660` and of that group, `nobody` (whose
/// gid it is) gets in through the file and the check; root, not a member, is refused at
/// accept (root passes the file mode, so only the check keeps it out).
#[test]
fn group_policy_sets_the_file_group_and_admits_members_only() {
    if run_role() || !need_root() {
        return;
    }
    let test = "group_policy_sets_the_file_group_and_admits_members_only";
    bounded(LIMIT, move || {
        use std::os::unix::fs::MetadataExt;
        let dir = TestDir::new("acc-group");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = dir.join("g.sock");
        let path = path.to_str().unwrap();
        let group = localipc::identity::GroupId::from_gid(NOBODY);
        let (opts, log) = options(AccessPolicy::group(group));
        let listener = LocalSocketListener::bind_with(path, &opts).unwrap();
        let meta = std::fs::metadata(path).unwrap();
        assert_eq!((meta.mode() & 0o777, meta.gid()), (0o660, NOBODY));
        listener.set_nonblocking(true).unwrap();
        let mut me = LocalSocketStream::connect(path).unwrap();
        assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
        assert_eq!(me.read(&mut [0; 1]).unwrap(), 0, "root was not refused");
        assert_eq!(*log.lock().unwrap(), [Some(0)]);
        let mut nobody = spawn_as(test, "connect", path, NOBODY);
        assert_eq!(nobody.expect("CONNECTED"), "");
        listener.set_nonblocking(false).unwrap();
        let conn = listener.accept().unwrap();
        assert!(conn
            .peer_creds()
            .unwrap()
            .in_group(&localipc::identity::GroupId::from_gid(NOBODY)));
        (&conn).write_all(b"x").unwrap();
        assert_eq!(nobody.expect("RESULT "), "served");
        nobody.wait();
    });
}
