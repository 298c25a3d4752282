//! Unix `accept` when the process is out of descriptors: the error names the listener (and
//! the listener's file is still removed on drop).
#![cfg(unix)]

mod util;

use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
use std::os::fd::{AsFd, OwnedFd};
use util::{bounded, peer_role, Peer, TestDir, LIMIT};

const TEST: &str = "accept_out_of_descriptors_names_the_listener";

/// Lowers the soft descriptor limit to 64 and opens descriptors until none is left; the
/// returned ones free them again when dropped.
fn exhaust_descriptors() -> Vec<OwnedFd> {
    let lim = libc::rlimit {
        rlim_cur: 64,
        rlim_max: libc::RLIM_INFINITY,
    };
    let mut old = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid rlimit structs; only the soft limit is lowered (hard kept as it was).
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut old), 0);
        let lim = libc::rlimit {
            rlim_max: old.rlim_max,
            ..lim
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
    }
    let null = std::fs::File::open("/dev/null").unwrap();
    let mut held = Vec::new();
    while let Ok(fd) = null.as_fd().try_clone_to_owned() {
        held.push(fd);
        assert!(held.len() < 100, "the descriptor limit was not lowered");
    }
    held.push(null.into()); // kept open too: no descriptor is left
    held
}

/// Child: a client waits in the backlog; with no descriptor left, `accept` fails.
fn run_child(path: &str) {
    let listener = LocalSocketListener::bind(path).unwrap();
    let _client = LocalSocketStream::connect(path).unwrap();
    #[cfg(feature = "tokio")]
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    #[cfg(feature = "tokio")]
    let (tokio_listener, _tokio_client) = {
        let _guard = rt.enter();
        let name = format!("{path}.tokio");
        let l = localipc::local_socket::tokio::LocalSocketListener::bind(name.as_str()).unwrap();
        (l, LocalSocketStream::connect(name.as_str()).unwrap())
    };
    let held = exhaust_descriptors();
    let err = listener.accept().unwrap_err();
    println!("RESULT {:?} {err}", err.kind());
    #[cfg(feature = "tokio")]
    {
        let err = rt.block_on(tokio_listener.accept()).unwrap_err();
        println!("TOKIO {:?} {err}", err.kind());
    }
    // Still out of descriptors: the drops must remove the files anyway.
    drop(listener);
    #[cfg(feature = "tokio")]
    drop(tokio_listener);
    drop(held);
}

#[test]
fn accept_out_of_descriptors_names_the_listener() {
    if let Some((_, path)) = peer_role() {
        return run_child(&path);
    }
    bounded(LIMIT, || {
        let dir = TestDir::new("emfile");
        let path = dir.join("s.sock");
        let path = path.to_str().unwrap();
        let mut child = Peer::spawn(TEST, "emfile", path);
        let result = child.expect("RESULT ");
        assert!(
            result.contains(path),
            "error does not name the listener: {result}"
        );
        assert!(result.contains("os error 24"), "not EMFILE: {result}");
        if cfg!(feature = "tokio") {
            let result = child.expect("TOKIO ");
            assert!(
                result.contains(path),
                "error does not name the listener: {result}"
            );
        }
        assert!(child.wait().success());
        // TestDir's drop fails the test if the child left a socket file.
    });
}
