//! Issue 12 item 1, one options convention: every listener type takes
//! `X::bind_with(name, &ListenerOptions)`, every stream type `X::connect_with(name,
//! &ConnectOptions)`, and each option applies to every type that takes it, per platform.
//! (Modes of a live object — nonblocking, the message size limit — are setters, tested with
//! each type.)

mod util;

use localipc::local_socket::message::{MessageListener, MessageStream};
use localipc::local_socket::{ConnectOptions, ListenerOptions, LocalSocketName};
use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
use std::any::Any;
use std::io;
use std::time::Duration;
#[cfg(windows)]
use util::unique;
use util::{any_name, bounded, TestDir, LIMIT};

/// The listener (and stream) types that take the options.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Sync,
    #[cfg(feature = "tokio")]
    Tokio,
    Message,
}

const KINDS: &[Kind] = &[
    Kind::Sync,
    #[cfg(feature = "tokio")]
    Kind::Tokio,
    Kind::Message,
];

/// A runtime for the tokio types (entered while they are made).
#[cfg(feature = "tokio")]
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// `X::bind_with(name, opts)` for the listener type `kind`, kept alive in the box.
fn bind_with<'a>(
    kind: Kind,
    name: impl localipc::local_socket::ToLocalSocketName<'a>,
    opts: &ListenerOptions,
) -> io::Result<Box<dyn Any + Send>> {
    Ok(match kind {
        Kind::Sync => Box::new(LocalSocketListener::bind_with(name, opts)?),
        #[cfg(feature = "tokio")]
        Kind::Tokio => {
            let _rt = runtime().enter();
            Box::new(localipc::local_socket::tokio::LocalSocketListener::bind_with(name, opts)?)
        }
        Kind::Message => Box::new(MessageListener::bind_with(name, opts)?),
    })
}

/// `X::connect_with(name, opts)` for the stream type `kind`.
fn connect_with(kind: Kind, name: &str, opts: &ConnectOptions) -> io::Result<Box<dyn Any>> {
    Ok(match kind {
        Kind::Sync => Box::new(LocalSocketStream::connect_with(name, opts)?),
        #[cfg(feature = "tokio")]
        Kind::Tokio => Box::new(runtime().block_on(
            localipc::local_socket::tokio::LocalSocketStream::connect_with(name, opts),
        )?),
        Kind::Message => Box::new(MessageStream::connect_with(name, opts)?),
    })
}

/// The name a listener made by [`bind_with`] reports.
fn local_name(l: &dyn Any) -> String {
    let name: LocalSocketName<'_> = if let Some(l) = l.downcast_ref::<LocalSocketListener>() {
        l.local_name()
    } else if let Some(l) = l.downcast_ref::<MessageListener>() {
        l.local_name()
    } else {
        #[cfg(feature = "tokio")]
        if let Some(l) = l.downcast_ref::<localipc::local_socket::tokio::LocalSocketListener>() {
            return l.local_name().to_string();
        }
        unreachable!()
    };
    name.to_string()
}

/// `timeout` makes every stream type wait for a server that is not up yet (and without it
/// every one fails at once).
#[test]
fn timeout_applies_to_every_stream_type() {
    bounded(LIMIT, || {
        let dir = TestDir::new("opt-timeout");
        for &kind in KINDS {
            let name = any_name(&dir, &format!("late-{kind:?}"));
            assert!(
                connect_with(kind, &name, &ConnectOptions::new()).is_err(),
                "{kind:?}: connected with nobody listening"
            );
            let server = std::thread::spawn({
                let name = name.clone();
                move || {
                    std::thread::sleep(Duration::from_millis(200));
                    // Message streams need a message listener; the others any stream one.
                    let l: Box<dyn Any + Send> = match kind {
                        Kind::Message => Box::new(MessageListener::bind(name.as_str()).unwrap()),
                        _ => Box::new(LocalSocketListener::bind(name.as_str()).unwrap()),
                    };
                    l
                }
            });
            let conn = connect_with(
                kind,
                &name,
                ConnectOptions::new().timeout(Duration::from_secs(10)),
            );
            let listener = server.join().unwrap();
            assert!(conn.is_ok(), "{kind:?}: {:?}", conn.err());
            drop(conn);
            drop(listener);
        }
    });
}

/// Unix: `mode` gives the socket file of every listener type its permission bits before
/// `bind_with` returns, and is `InvalidInput` with a namespaced name.
#[cfg(unix)]
#[test]
fn mode_applies_to_every_listener_type() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let dir = TestDir::new("opt-mode");
    for &kind in KINDS {
        for mode in [0o600, 0o640] {
            let path = dir.join(&format!("{kind:?}-{mode:o}.sock"));
            let l = bind_with(kind, path.as_path(), ListenerOptions::new().mode(mode)).unwrap();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            assert!(meta.file_type().is_socket(), "{kind:?}");
            assert_eq!(meta.permissions().mode() & 0o777, mode, "{kind:?}");
            drop(l);
        }
        if let Some(name) = util::namespaced("opt-mode-ns") {
            let err = bind_with(kind, name.as_str(), ListenerOptions::new().mode(0o600))
                .map(drop)
                .unwrap_err();
            util::assert_err(err, io::ErrorKind::InvalidInput, &name);
        }
    }
}

/// Apple: a `mode` over the 16 bits of `mode_t` is `InvalidInput` naming the mode and the
/// name, and leaves no socket file (it used to be cut to its low bits: `0o200600` gave
/// `0o600`).
#[cfg(target_vendor = "apple")]
#[test]
fn mode_wider_than_mode_t_is_invalid_input() {
    let dir = TestDir::new("opt-wide-mode");
    for &kind in KINDS {
        let path = dir.join(&format!("{kind:?}.sock"));
        let err = bind_with(kind, path.as_path(), ListenerOptions::new().mode(0o200600))
            .map(drop)
            .unwrap_err();
        assert!(err.to_string().contains("0o200600"), "{err}");
        util::assert_err(err, io::ErrorKind::InvalidInput, path.to_str().unwrap());
        assert!(std::fs::symlink_metadata(&path).is_err(), "{kind:?}");
    }
}

/// Unix: with `reclaim` (the default) every listener type replaces a stale socket file and
/// removes its own on drop; with `reclaim(false)` it refuses any existing file and leaves
/// its own.
#[cfg(unix)]
#[test]
fn reclaim_applies_to_every_listener_type() {
    let dir = TestDir::new("opt-reclaim");
    for &kind in KINDS {
        let path = dir.join(&format!("{kind:?}.sock"));
        // A stale file (a crashed server's).
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let err = bind_with(kind, path.as_path(), ListenerOptions::new().reclaim(false))
            .map(drop)
            .unwrap_err();
        util::assert_err(err, io::ErrorKind::AddrInUse, path.to_str().unwrap());
        let l = bind_with(kind, path.as_path(), &ListenerOptions::new()).unwrap();
        assert_eq!(local_name(&*l), path.to_str().unwrap(), "{kind:?}");
        drop(l);
        assert!(!path.exists(), "{kind:?}: reclaim left its socket file");
        let l = bind_with(kind, path.as_path(), ListenerOptions::new().reclaim(false)).unwrap();
        drop(l);
        assert!(
            path.exists(),
            "{kind:?}: reclaim(false) removed its socket file"
        );
        std::fs::remove_file(&path).unwrap();
    }
}

/// Windows: `reclaim` has nothing to do (a pipe name vanishes with its last handle): with
/// either setting, the name is free again once the listener is dropped.
#[cfg(windows)]
#[test]
fn reclaim_has_no_effect_on_windows() {
    let _w = util::watchdog("reclaim_has_no_effect_on_windows", 30);
    for &kind in KINDS {
        let name = unique(&format!("opt-reclaim-{kind:?}"));
        for reclaim in [false, true, false] {
            let l = bind_with(kind, name.as_str(), ListenerOptions::new().reclaim(reclaim))
                .unwrap_or_else(|e| panic!("{kind:?}, reclaim {reclaim}: {e}"));
            assert!(local_name(&*l).ends_with(&name), "{kind:?}");
            drop(l);
        }
    }
}

/// Windows: every listener type converts the security descriptor at `bind_with` (a string
/// Windows rejects is `InvalidInput` naming it) and creates its pipe with it (Wine does not
/// enforce a pipe's DACL, so a valid one is only checked to leave the pipe usable).
#[cfg(windows)]
#[test]
fn security_descriptor_applies_to_every_listener_type() {
    let _w = util::watchdog("security_descriptor_applies_to_every_listener_type", 30);
    for &kind in KINDS {
        let name = unique(&format!("opt-sddl-{kind:?}"));
        let err = bind_with(
            kind,
            name.as_str(),
            ListenerOptions::new().security_descriptor("not sddl"),
        )
        .map(drop)
        .unwrap_err();
        util::assert_err(err, io::ErrorKind::InvalidInput, "not sddl");
        let l = bind_with(
            kind,
            name.as_str(),
            ListenerOptions::new().security_descriptor("D:(A;;GA;;;WD)"),
        )
        .unwrap();
        let conn = connect_with(kind, &name, &ConnectOptions::new());
        assert!(conn.is_ok(), "{kind:?}: {:?}", conn.err());
        drop(conn);
        drop(l);
    }
}
