//! The `interprocess` 1.x API that ported code relies on (issue 11), one test per item, and
//! the documented behaviour differences ("Porting from interprocess 1.x").

mod util;

use localipc::local_socket::{
    Incoming, LocalSocketListener, LocalSocketName, LocalSocketStream, NameTypeSupport,
    ToLocalSocketName,
};
use std::borrow::Cow;
use std::io::{ErrorKind, Read, Write};
use std::time::Duration;
use util::{any_name, bounded, TestDir, LIMIT};

const T: Option<Duration> = Some(Duration::from_secs(5));

/// Connects a client to `listener` (bound to `name`) and accepts it, with I/O timeouts.
fn pair(listener: &LocalSocketListener, name: &str) -> (LocalSocketStream, LocalSocketStream) {
    let client = LocalSocketStream::connect(name).unwrap();
    let server = listener.accept().unwrap();
    for s in [&client, &server] {
        s.set_read_timeout(T).unwrap();
        s.set_write_timeout(T).unwrap();
    }
    (client, server)
}

/// Sends `msg` one way and reads it back on the other end.
fn check_link(from: &mut LocalSocketStream, to: &mut LocalSocketStream, msg: &[u8]) {
    from.write_all(msg).unwrap();
    let mut got = vec![0; msg.len()];
    to.read_exact(&mut got).unwrap();
    assert_eq!(got, msg);
}

/// Item 1: zellij-utils' `LocalSocketStream::from_raw_fd(dup(fd))`, and the raw round trip.
#[cfg(unix)]
#[test]
fn stream_from_raw_fd_of_dup_and_into_raw_fd() {
    use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
    bounded(LIMIT, || {
        let dir = TestDir::new("rawfd");
        let name = any_name(&dir, "rawfd");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let (mut client, mut server) = pair(&listener, &name);

        // SAFETY: dup of an open descriptor; the new one is handed to the stream, which owns it.
        let mut dup = unsafe {
            let fd = libc::dup(client.as_raw_fd());
            assert!(fd >= 0, "dup: {}", std::io::Error::last_os_error());
            LocalSocketStream::from_raw_fd(fd)
        };
        check_link(&mut dup, &mut server, b"via the dup");
        check_link(&mut server, &mut client, b"to the original");

        let raw = server.into_raw_fd();
        // SAFETY: `raw` was just given up by `into_raw_fd`; nothing else owns it.
        let mut server = unsafe { LocalSocketStream::from_raw_fd(raw) };
        check_link(&mut client, &mut server, b"after the round trip");
        check_link(&mut server, &mut dup, b"and back");
    });
}

/// Item 1: the listener as a raw fd and back: the name is recovered, accept works, and the
/// socket file is left alone (reclaim is the bound listener's, not the descriptor's).
#[cfg(unix)]
#[test]
fn listener_raw_fd_round_trip_keeps_name_and_file() {
    use std::os::fd::{FromRawFd, IntoRawFd};
    bounded(LIMIT, || {
        let dir = TestDir::new("rawlfd");
        let path = dir.join("l.sock");
        let mut names = vec![path.to_string_lossy().into_owned()];
        names.extend(util::namespaced("rawlfd"));
        for name in names {
            let listener = LocalSocketListener::bind(name.as_str()).unwrap();
            let raw = listener.into_raw_fd();
            // SAFETY: `raw` was just given up by `into_raw_fd`; nothing else owns it.
            let listener = unsafe { LocalSocketListener::from_raw_fd(raw) };
            // A socket file this crate published was bound at a temporary path; the
            // descriptor does not know the published name, and says so with an empty one.
            let expected = if name.starts_with('@') {
                name.as_str()
            } else {
                ""
            };
            assert_eq!(listener.local_name().to_string(), expected);
            let (mut client, mut server) = pair(&listener, &name);
            check_link(&mut client, &mut server, b"accepted after the round trip");
            drop(listener);
        }
        assert!(
            path.exists(),
            "the socket file must stay after the fd listener drops"
        );
        std::fs::remove_file(&path).unwrap();
    });
}

/// Item 1 (Windows): the stream as a raw handle and back.
#[cfg(windows)]
#[test]
fn stream_raw_handle_round_trip() {
    use std::os::windows::io::{FromRawHandle, IntoRawHandle};
    bounded(LIMIT, || {
        let dir = TestDir::new("rawh");
        let name = any_name(&dir, "rawh");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let (client, mut server) = pair(&listener, &name);
        let raw = client.into_raw_handle();
        // SAFETY: `raw` was just given up by `into_raw_handle`; nothing else owns it.
        let mut client = unsafe { LocalSocketStream::from_raw_handle(raw) };
        check_link(&mut client, &mut server, b"client after the round trip");
        let raw = server.into_raw_handle();
        // SAFETY: as above.
        let mut server = unsafe { LocalSocketStream::from_raw_handle(raw) };
        check_link(&mut server, &mut client, b"server after the round trip");
    });
}

/// Item 4: `Incoming::from(&listener)`.
#[test]
fn incoming_from_listener_ref() {
    bounded(LIMIT, || {
        let dir = TestDir::new("incfrom");
        let name = any_name(&dir, "incfrom");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let mut client = LocalSocketStream::connect(name.as_str()).unwrap();
        let mut incoming = Incoming::from(&listener);
        let mut server = incoming.next().unwrap().unwrap();
        server.set_read_timeout(T).unwrap();
        check_link(&mut client, &mut server, b"hi");
    });
}

// Item 6: usable where only `const fn`s are (this does not compile if they are not).
const fn kinds(name: &LocalSocketName<'_>) -> [bool; 4] {
    [
        name.is_namespaced(),
        name.is_path(),
        name.is_always_supported(),
        name.is_supported_in_nts_type(NameTypeSupport::OnlyPaths),
    ]
}

/// Items 5 and 6: `inner_cow`, `is_supported_in_nts_type`, and the `const fn` checks.
#[test]
fn name_inner_cow_and_const_checks() {
    let ns = "@svc".to_local_socket_name().unwrap();
    assert!(matches!(ns.inner_cow(), Cow::Borrowed(s) if *s == "svc"));
    let owned = String::from("@svc").to_local_socket_name().unwrap();
    assert!(matches!(owned.inner_cow(), Cow::Owned(s) if s == "svc"));
    assert_eq!(
        kinds(&ns),
        [
            true,
            false,
            NameTypeSupport::ALWAYS_AVAILABLE.namespace_supported(),
            false
        ]
    );
    for nts in [
        NameTypeSupport::OnlyPaths,
        NameTypeSupport::OnlyNamespaced,
        NameTypeSupport::Both,
    ] {
        assert_eq!(ns.is_supported_in_nts_type(nts), nts.namespace_supported());
    }

    let path = std::path::Path::new("/run/x.sock")
        .to_local_socket_name()
        .unwrap();
    assert_eq!(
        kinds(&path),
        [
            false,
            true,
            NameTypeSupport::ALWAYS_AVAILABLE.paths_supported(),
            true
        ]
    );
    assert!(!path.is_supported_in_nts_type(NameTypeSupport::OnlyNamespaced));
}

/// Item 8, documented difference: `"@"` is `InvalidInput` here (1.2.1: an empty namespaced
/// name).
#[test]
fn bare_at_is_invalid_input() {
    let err = "@".to_local_socket_name().unwrap_err();
    util::assert_err(err, ErrorKind::InvalidInput, "\"@\"");
}

/// Item 8, documented difference: a regular file at the path gives `AlreadyExists` (1.2.1:
/// `AddrInUse`, which `reclaim(false)` still gives); the file is never removed.
#[cfg(unix)]
#[test]
fn bind_over_regular_file_already_exists_or_addr_in_use_without_reclaim() {
    use localipc::local_socket::ListenerOptions;
    let dir = TestDir::new("regfile");
    let path = dir.join("plain");
    std::fs::write(&path, b"data").unwrap();
    let err = LocalSocketListener::bind(path.as_path()).unwrap_err();
    util::assert_err(err, ErrorKind::AlreadyExists, "plain");
    let err = LocalSocketListener::bind_with(path.as_path(), ListenerOptions::new().reclaim(false))
        .unwrap_err();
    util::assert_err(err, ErrorKind::AddrInUse, "plain");
    assert_eq!(std::fs::read(&path).unwrap(), b"data");
}

/// Item 8, documented difference: 1.2.1's socket-file behaviour is `reclaim(false)` (file
/// left after drop, then `AddrInUse`); the default removes it and replaces stale files.
#[cfg(unix)]
#[test]
fn reclaim_off_is_the_1x_socket_file_behaviour() {
    use localipc::local_socket::ListenerOptions;
    let dir = TestDir::new("reclaim1x");
    let path = dir.join("s.sock");
    drop(
        LocalSocketListener::bind_with(path.as_path(), ListenerOptions::new().reclaim(false))
            .unwrap(),
    );
    assert!(path.exists(), "reclaim(false) leaves the file, as 1.2.1");
    let err = LocalSocketListener::bind_with(path.as_path(), ListenerOptions::new().reclaim(false))
        .unwrap_err();
    util::assert_err(err, ErrorKind::AddrInUse, "s.sock");
    // The default: the stale file is replaced, and removed on drop.
    drop(LocalSocketListener::bind(path.as_path()).unwrap());
    assert!(
        !path.exists(),
        "the default removes the socket file on drop"
    );
}

/// Async items: 3 (`peer_pid` on the owned halves) and 8 (`close()` as in 1.2.1).
#[cfg(feature = "tokio")]
mod tokio_items {
    use super::util::{any_name, TestDir};
    use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
    use std::time::Duration;

    async fn bounded<F: std::future::Future>(f: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(20), f)
            .await
            .expect("test body timed out")
    }

    async fn pair(tag: &str) -> (TestDir, LocalSocketStream, LocalSocketStream) {
        let dir = TestDir::new(tag);
        let name = any_name(&dir, tag);
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let (client, server) = tokio::join!(LocalSocketStream::connect(name.as_str()), async {
            listener.accept().await
        });
        (dir, client.unwrap(), server.unwrap())
    }

    /// Item 3.
    #[tokio::test]
    async fn owned_halves_have_peer_pid() {
        bounded(async {
            let (_dir, client, server) = pair("halfpid").await;
            let (r, w) = client.into_split();
            let me = std::process::id();
            assert_eq!(r.peer_pid().unwrap(), me);
            assert_eq!(w.peer_pid().unwrap(), me);
            let (r, w) = server.into_split();
            assert_eq!(r.peer_pid().unwrap(), me);
            assert_eq!(w.peer_pid().unwrap(), me);
        })
        .await;
    }

    /// Item 8: futures' `close()` on the stream ends both directions, as in 1.2.1: the peer
    /// reads end of file and so does this side, though the peer has sent data and not
    /// closed. On `&stream` it is a half-close: the reply can still be read.
    #[cfg(feature = "futures-io")]
    #[tokio::test]
    async fn futures_close_shuts_both_directions_on_the_stream_only() {
        use futures_lite::{AsyncReadExt, AsyncWriteExt};
        bounded(async {
            let (_dir, mut client, mut server) = pair("fclose").await;
            client.close().await.unwrap();
            let mut buf = Vec::new();
            server.read_to_end(&mut buf).await.unwrap();
            assert!(buf.is_empty(), "the peer reads end of file");
            // The peer is still open: without the read shutdown this read would wait.
            let mut buf = [0; 8];
            let n = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf))
                .await
                .expect("a read after close() must not wait for the peer")
                .unwrap();
            assert_eq!(n, 0, "reads here end too");
            #[cfg(target_os = "linux")]
            {
                let err = server.write_all(b"late").await.unwrap_err();
                assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe, "{err}");
            }

            let (_dir, client, mut server) = pair("fclose-ref").await;
            (&client).write_all(b"ping").await.unwrap();
            (&client).close().await.unwrap();
            let mut req = Vec::new();
            server.read_to_end(&mut req).await.unwrap();
            assert_eq!(req, b"ping");
            server.write_all(b"pong").await.unwrap();
            server.close().await.unwrap();
            let mut reply = Vec::new();
            (&client).read_to_end(&mut reply).await.unwrap();
            assert_eq!(reply, b"pong", "a half-close leaves reading open");
        })
        .await;
    }

    /// Item 7: both trait families on one stream, each used from a module that imports only
    /// its own extension traits (the documented fix), and by naming the trait.
    #[cfg(feature = "futures-io")]
    #[tokio::test]
    async fn tokio_and_futures_traits_on_one_stream() {
        mod via_futures {
            use futures_lite::{AsyncReadExt, AsyncWriteExt};
            pub(crate) async fn send(s: &mut localipc::local_socket::tokio::LocalSocketStream) {
                s.write_all(b"futures").await.unwrap();
                let mut buf = [0; 5];
                s.read_exact(&mut buf).await.unwrap();
                assert_eq!(&buf, b"tokio");
            }
        }
        mod via_tokio {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            pub(crate) async fn answer(s: &mut localipc::local_socket::tokio::LocalSocketStream) {
                let mut buf = [0; 7];
                s.read_exact(&mut buf).await.unwrap();
                assert_eq!(&buf, b"futures");
                s.write_all(b"tokio").await.unwrap();
            }
        }
        bounded(async {
            let (_dir, mut client, mut server) = pair("bothtraits").await;
            tokio::join!(
                via_futures::send(&mut client),
                via_tokio::answer(&mut server)
            );
            futures_lite::AsyncWriteExt::write_all(&mut client, b"x")
                .await
                .unwrap();
            let mut b = [0; 1];
            tokio::io::AsyncReadExt::read_exact(&mut server, &mut b)
                .await
                .unwrap();
            assert_eq!(&b, b"x");
        })
        .await;
    }
}
