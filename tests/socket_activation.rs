//! Inherited listeners (issue 16, item 1): the checked `LocalSocketListener::try_from_fd`
//! (and the message and tokio listeners' `TryFrom<OwnedFd>`) name what a wrong descriptor
//! is, and `SystemdSockets` takes what systemd passes, for real with `systemd-socket-activate`.
#![cfg(unix)]

mod util;

use localipc::local_socket::{LocalSocketListener, LocalSocketStream, SystemdSockets};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};
use util::{bounded, peer_role, TestDir, LIMIT};

#[track_caller]
fn rejected(fd: OwnedFd, needle: &str) {
    let err = LocalSocketListener::try_from_fd(fd).unwrap_err();
    util::assert_err(err, std::io::ErrorKind::InvalidInput, needle);
}

/// Every kind of wrong descriptor gives `InvalidInput` naming what it is.
#[test]
fn try_from_fd_names_what_a_wrong_descriptor_is() {
    bounded(LIMIT, || {
        let dir = TestDir::new("tryfd");
        rejected(
            std::fs::File::open("/dev/null").unwrap().into(),
            "not a socket but a character device",
        );
        std::fs::write(dir.join("f"), b"").unwrap();
        rejected(
            std::fs::File::open(dir.join("f")).unwrap().into(),
            "not a socket but a regular file",
        );
        rejected(
            std::fs::File::open(dir.path()).unwrap().into(),
            "not a socket but a directory",
        );
        let (r, _w) = localipc::unnamed_pipe::pipe().unwrap();
        rejected(r.into(), "not a socket but a FIFO");
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        rejected(tcp.into(), "a socket of family AF_INET");
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        rejected(udp.into(), "a socket of family AF_INET");
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        rejected(
            a.into(),
            "an AF_UNIX SOCK_STREAM socket that is not listening",
        );
        let (d, _e) = std::os::unix::net::UnixDatagram::pair().unwrap();
        rejected(d.into(), "an AF_UNIX SOCK_DGRAM socket");
        #[cfg(all(
            any(target_os = "linux", target_os = "android"),
            not(localipc_framed_messages)
        ))]
        {
            let name = util::namespaced("tryfd-msg").unwrap();
            let msg =
                localipc::local_socket::message::MessageListener::bind(name.as_str()).unwrap();
            rejected(msg.into(), "an AF_UNIX SOCK_SEQPACKET socket");
        }
        // The right kind is taken, keeps working, and the message listener refuses it.
        let name = util::any_name(&dir, "tryfd-ok");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let listener = LocalSocketListener::try_from_fd(listener.into()).unwrap();
        let _c = LocalSocketStream::connect(name.as_str()).unwrap();
        let _s = listener.accept().unwrap();
        let fd: OwnedFd = listener.into();
        #[cfg(all(
            any(target_os = "linux", target_os = "android"),
            not(localipc_framed_messages)
        ))]
        util::assert_err(
            localipc::local_socket::message::MessageListener::try_from(fd).unwrap_err(),
            std::io::ErrorKind::InvalidInput,
            "an AF_UNIX SOCK_STREAM socket",
        );
        #[cfg(not(all(
            any(target_os = "linux", target_os = "android"),
            not(localipc_framed_messages)
        )))]
        drop(fd);
        if !name.starts_with('@') {
            std::fs::remove_file(&name).unwrap();
        }
    });
}

/// The tokio listener's `TryFrom<OwnedFd>` checks likewise.
#[test]
fn tokio_listener_try_from_checks_the_descriptor() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _g = rt.enter();
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let fd: OwnedFd = a.into();
    #[cfg(feature = "tokio")]
    util::assert_err(
        localipc::local_socket::tokio::LocalSocketListener::try_from(fd).unwrap_err(),
        std::io::ErrorKind::InvalidInput,
        "not listening",
    );
    #[cfg(not(feature = "tokio"))]
    drop(fd);
}

/// The program `systemd-socket-activate` (Debian's `systemd` package; `.ci/run` installs it).
fn socket_activate() -> &'static str {
    let exe = "/usr/bin/systemd-socket-activate";
    assert!(
        std::path::Path::new(exe).exists(),
        "{exe} is missing: install Debian's systemd package (.ci/run does)"
    );
    exe
}

fn wait_for_file(path: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Child role under `systemd-socket-activate`: takes both sockets by name and answers one
/// line on each: what it found.
fn activated_role() {
    let mut sockets = SystemdSockets::take().unwrap();
    let names: Vec<String> = sockets.names().map(str::to_owned).collect();
    let env_left: Vec<&str> = ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"]
        .into_iter()
        .filter(|v| std::env::var_os(v).is_some())
        .collect();
    let again = SystemdSockets::take().unwrap().len();
    let missing = sockets.listener("nope").unwrap_err().to_string();
    // Out of order: by name, not by position.
    for name in ["beta", "alpha"] {
        let listener = sockets.listener(name).unwrap();
        // SAFETY: F_GETFD on an open descriptor.
        let fdflags = unsafe { libc::fcntl(listener.as_raw_fd(), libc::F_GETFD) };
        let conn = listener.accept().unwrap();
        writeln!(
            &conn,
            "{name} names={} env_left={env_left:?} again={again} cloexec={} missing={missing}",
            names.join(","),
            fdflags & libc::FD_CLOEXEC != 0,
        )
        .unwrap();
    }
    assert!(sockets.is_empty());
}

/// For real: `systemd-socket-activate -l a -l b --fdname=alpha:beta` starts this binary
/// on the first connection; it takes both listeners by name, the variables are gone, the
/// descriptors are close-on-exec, and a second `take` is empty.
#[test]
fn systemd_socket_activate_passes_named_listeners() {
    if let Some((role, _)) = peer_role() {
        if role == "activated" {
            activated_role();
        }
        return;
    }
    bounded(LIMIT, || {
        let dir = TestDir::new("sdact");
        let (a, b) = (dir.join("a.sock"), dir.join("b.sock"));
        let mut cmd = std::process::Command::new(socket_activate());
        cmd.arg("-l")
            .arg(&a)
            .arg("-l")
            .arg(&b)
            .arg("--fdname=alpha:beta")
            .args([
                "-E",
                "LOCALIPC_TEST_ROLE=activated",
                "-E",
                "RUST_BACKTRACE=1",
            ])
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "systemd_socket_activate_passes_named_listeners",
                "--nocapture",
                "--test-threads=1",
            ]);
        let mut child = localipc_child::LineChild::spawn("systemd-socket-activate", cmd).unwrap();
        wait_for_file(&a);
        wait_for_file(&b);
        let mut lines = Vec::new();
        for path in [&b, &a] {
            let conn = LocalSocketStream::connect(path.as_path()).unwrap();
            conn.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut line = String::new();
            BufReader::new(&conn).read_line(&mut line).unwrap();
            lines.push(line);
        }
        let status = child.wait(Duration::from_secs(10)).unwrap();
        assert!(status.success(), "{status:?}");
        // systemd-socket-activate made these files; nothing of ours removes them.
        std::fs::remove_file(&a).unwrap();
        std::fs::remove_file(&b).unwrap();
        let want = "names=alpha,beta env_left=[] again=0 cloexec=true missing=systemd passed \
                    no socket named \"nope\" (names left: alpha, beta)\n";
        assert_eq!(lines[0], format!("beta {want}"));
        assert_eq!(lines[1], format!("alpha {want}"));
    });
}

/// `LISTEN_PID` naming another process: nothing is taken, and the variables are removed
/// all the same (child role, so that the test process's environment is left alone).
#[test]
fn listen_pid_of_another_process_takes_nothing() {
    if let Some((role, _)) = peer_role() {
        if role == "otherpid" {
            let s = SystemdSockets::take().unwrap();
            let left = std::env::var_os("LISTEN_FDS").is_some();
            println!("RESULT len={} left={left}", s.len());
        }
        return;
    }
    let mut peer = util::Peer::spawn_with(
        "listen_pid_of_another_process_takes_nothing",
        "otherpid",
        "",
        |cmd| {
            cmd.env("LISTEN_PID", "1")
                .env("LISTEN_FDS", "1")
                .env("LISTEN_FDNAMES", "x");
        },
    );
    assert_eq!(peer.expect("RESULT "), "len=0 left=false");
    assert!(peer.wait().success());
}
