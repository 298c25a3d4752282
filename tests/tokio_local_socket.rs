//! The async local sockets (feature `tokio`).
#![cfg(feature = "tokio")]

mod util;

use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
use localipc::local_socket::{self as sync, ConnectOptions};
use std::future::poll_fn;
use std::io::ErrorKind;
use std::pin::Pin;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use util::{any_name, assert_err, TestDir};

/// Every async test body runs under this bound: a hang fails in seconds.
async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("test body timed out")
}

fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_100_clients_1mib_each_way() {
    bounded(async {
        let dir = TestDir::new("techo");
        let name = any_name(&dir, "techo");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        const CLIENTS: usize = 100;
        const LEN: usize = 1 << 20;
        let server = tokio::spawn(async move {
            let mut tasks = Vec::new();
            for _ in 0..CLIENTS {
                let conn = listener.accept().await.unwrap();
                tasks.push(tokio::spawn(async move {
                    let (mut r, mut w) = conn.into_split();
                    tokio::io::copy(&mut r, &mut w).await.unwrap();
                    w.shutdown().await.unwrap();
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        });
        let clients: Vec<_> = (0..CLIENTS as u64)
            .map(|i| {
                let name = name.clone();
                tokio::spawn(async move {
                    let conn = LocalSocketStream::connect(name.as_str()).await.unwrap();
                    let data = pattern(i, LEN);
                    let (mut r, mut w) = conn.into_split();
                    let send = data.clone();
                    let writer = tokio::spawn(async move {
                        w.write_all(&send).await.unwrap();
                        w.shutdown().await.unwrap();
                        w
                    });
                    let mut back = Vec::with_capacity(LEN);
                    r.read_to_end(&mut back).await.unwrap();
                    assert_eq!(back.len(), LEN, "client {i}");
                    assert_eq!(checksum(&back), checksum(&data), "client {i}");
                    r.reunite(writer.await.unwrap()).unwrap();
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        server.await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn incoming_is_a_stream_of_connections() {
    bounded(async {
        let dir = TestDir::new("tinc");
        let name = any_name(&dir, "tinc");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        assert_eq!(listener.local_name().to_string(), name);
        // Clients connect from tasks: on Windows there is no backlog, so each waits for the
        // instance the previous `accept` frees.
        let clients: Vec<_> = (0..3u8)
            .map(|i| {
                let name = name.clone();
                tokio::spawn(async move {
                    let mut c = LocalSocketStream::connect(name.as_str()).await.unwrap();
                    c.write_all(&[i]).await.unwrap();
                    c
                })
            })
            .collect();
        let mut incoming = listener.incoming();
        let mut seen = Vec::new();
        for _ in 0..3 {
            let next = poll_fn(|cx| futures_core::Stream::poll_next(Pin::new(&mut incoming), cx));
            let mut conn = next.await.expect("incoming never ends").unwrap();
            seen.push(conn.read_u8().await.unwrap());
        }
        seen.sort();
        assert_eq!(seen, [0, 1, 2]);
        for c in clients {
            drop(c.await.unwrap());
        }
    })
    .await;
}

#[tokio::test]
async fn split_borrowed_halves_and_reunite_errors() {
    bounded(async {
        let dir = TestDir::new("tsplit");
        let name = any_name(&dir, "tsplit");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let mut a = LocalSocketStream::connect(name.as_str()).await.unwrap();
        let mut b = listener.accept().await.unwrap();
        {
            let (mut ar, mut aw) = a.split();
            let (mut br, mut bw) = b.split();
            let (_, _, x, y) = tokio::join!(
                aw.write_all(b"from a"),
                bw.write_all(b"from b"),
                async {
                    let mut v = [0; 6];
                    br.read_exact(&mut v).await.map(|_| v)
                },
                async {
                    let mut v = [0; 6];
                    ar.read_exact(&mut v).await.map(|_| v)
                },
            );
            assert_eq!(&x.unwrap(), b"from a");
            assert_eq!(&y.unwrap(), b"from b");
        }
        let (ar, aw) = a.into_split();
        let (br, bw) = b.into_split();
        let err = ar.reunite(bw).unwrap_err();
        assert!(err.to_string().contains("different"), "{err}");
        let (ar, bw) = (err.0, err.1);
        let a = ar.reunite(aw).unwrap();
        let b = bw.reunite(br).unwrap();
        (&a).write_all(b"!").await.unwrap();
        assert_eq!((&b).read_u8().await.unwrap(), b'!');
    })
    .await;
}

#[tokio::test]
async fn shutdown_is_a_half_close() {
    bounded(async {
        let dir = TestDir::new("thalf");
        let name = any_name(&dir, "thalf");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let mut c = LocalSocketStream::connect(name.as_str()).await.unwrap();
        let mut s = listener.accept().await.unwrap();
        c.write_all(b"question").await.unwrap();
        c.shutdown().await.unwrap();
        let mut q = Vec::new();
        s.read_to_end(&mut q).await.unwrap();
        assert_eq!(q, b"question");
        s.write_all(b"answer").await.unwrap();
        drop(s);
        let mut a = Vec::new();
        c.read_to_end(&mut a).await.unwrap();
        assert_eq!(a, b"answer");
    })
    .await;
}

/// The writer half-closes (or not) and drops its stream right after a write bigger than the
/// pipe/socket buffer, while the reader is not reading yet: every byte still arrives, then
/// end of file. (On Windows the last write is still in flight in mio when `shutdown` and
/// drop run; cancelling it there once lost all but the first 4 KiB.)
#[tokio::test]
async fn shutdown_and_drop_right_after_a_large_write_loses_nothing() {
    bounded(async {
        let dir = TestDir::new("tdrop");
        let name = any_name(&dir, "tdrop");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let data = pattern(7, 1 << 20);
        for half_close in [true, false] {
            let mut c = LocalSocketStream::connect(name.as_str()).await.unwrap();
            let mut s = listener.accept().await.unwrap();
            let writer = {
                let data = data.clone();
                tokio::spawn(async move {
                    s.write_all(&data).await.unwrap();
                    if half_close {
                        s.shutdown().await.unwrap();
                    }
                    drop(s);
                })
            };
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut got = Vec::new();
            c.read_to_end(&mut got).await.unwrap();
            writer.await.unwrap();
            assert_eq!(
                (got.len(), checksum(&got)),
                (data.len(), checksum(&data)),
                "half_close={half_close}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn connect_timeout_when_no_server() {
    bounded(async {
        let dir = TestDir::new("tcto");
        let name = any_name(&dir, "tcto");
        let start = Instant::now();
        let mut opts = ConnectOptions::new();
        opts.timeout(Duration::from_millis(300));
        let err = LocalSocketStream::connect_with(name.as_str(), &opts)
            .await
            .unwrap_err();
        assert_err(err, ErrorKind::TimedOut, &name);
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(3),
            "{took:?}"
        );
        // Without a timeout: fails at once, naming the name.
        let err = LocalSocketStream::connect(name.as_str()).await.unwrap_err();
        assert!(err.to_string().contains(&name), "{err}");
    })
    .await;
}

#[tokio::test]
async fn peer_pid_is_this_process() {
    bounded(async {
        let dir = TestDir::new("tpid");
        let name = any_name(&dir, "tpid");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let c = LocalSocketStream::connect(name.as_str()).await.unwrap();
        let s = listener.accept().await.unwrap();
        #[cfg(not(any(target_os = "freebsd", target_os = "openbsd", target_os = "netbsd")))]
        {
            assert_eq!(c.peer_pid().unwrap(), std::process::id());
            assert_eq!(s.peer_pid().unwrap(), std::process::id());
        }
        // The BSDs other than macOS do not say: a clear Unsupported, not a made-up pid.
        #[cfg(any(target_os = "freebsd", target_os = "openbsd", target_os = "netbsd"))]
        for pid in [c.peer_pid(), s.peer_pid()] {
            assert_eq!(pid.unwrap_err().kind(), std::io::ErrorKind::Unsupported);
        }
        assert!(s.peer_creds().is_ok());
    })
    .await;
}

#[test]
fn drop_off_runtime_and_during_shutdown_does_not_panic() {
    let dir = TestDir::new("tdrop");
    let name = any_name(&dir, "tdrop");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (listener, client, server) = rt.block_on(async {
        let l = LocalSocketListener::bind(name.as_str()).unwrap();
        let c = LocalSocketStream::connect(name.as_str()).await.unwrap();
        let s = l.accept().await.unwrap();
        (l, c, s)
    });
    // A task still holding a stream while the runtime shuts down.
    let (r, w) = server.into_split();
    rt.spawn(async move {
        let _keep = (r, w);
        std::future::pending::<()>().await
    });
    drop(rt); // drops the task (and its stream) during shutdown
    drop(client); // and these after the runtime is gone
    drop(listener);
}

#[test]
fn constructors_outside_a_runtime_error_instead_of_panicking() {
    let dir = TestDir::new("tnort");
    let name = any_name(&dir, "tnort");
    let err = LocalSocketListener::bind(name.as_str()).unwrap_err();
    assert!(err.to_string().contains("tokio runtime"), "{err}");
    let sync_listener = sync::LocalSocketListener::bind(name.as_str()).unwrap();
    let err = LocalSocketListener::try_from(sync_listener).unwrap_err();
    assert!(err.to_string().contains("tokio runtime"), "{err}");
}

#[tokio::test]
async fn conversions_between_sync_and_async() {
    bounded(async {
        let dir = TestDir::new("tconv");
        let name = any_name(&dir, "tconv");
        let listener =
            LocalSocketListener::try_from(sync::LocalSocketListener::bind(name.as_str()).unwrap())
                .unwrap();
        let sync_client = sync::LocalSocketStream::connect(name.as_str()).unwrap();
        let mut client = LocalSocketStream::try_from(sync_client).unwrap();
        let server = listener.accept().await.unwrap();
        client.write_all(b"async").await.unwrap();
        #[cfg(windows)]
        {
            // No way back to sync here (see `no_async_to_sync_conversion_on_windows`).
            let mut server = server;
            let mut buf = [0; 5];
            server.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"async");
        }
        #[cfg(unix)]
        {
            let server = sync::LocalSocketStream::try_from(server).unwrap();
            let got = tokio::task::spawn_blocking(move || {
                use std::io::Read;
                let mut buf = [0; 5];
                (&server).read_exact(&mut buf).map(|_| buf)
            })
            .await
            .unwrap()
            .unwrap();
            assert_eq!(&got, b"async");
        }
    })
    .await;
}

/// Windows: tokio never gives a pipe handle back, so `TryFrom<tokio::LocalSocketStream> for
/// LocalSocketStream` is not there (`cfg(unix)`), rather than always failing at run time.
/// Checked at compile time: if the impl existed, `some_item` would be ambiguous (E0283).
#[cfg(windows)]
const _: fn() = || {
    trait AmbiguousIfConvertible<A> {
        fn some_item() {}
    }
    impl<T: ?Sized> AmbiguousIfConvertible<()> for T {}
    struct Convertible;
    impl<T: TryFrom<LocalSocketStream>> AmbiguousIfConvertible<Convertible> for T {}
    let _ = <sync::LocalSocketStream as AmbiguousIfConvertible<_>>::some_item;
};

#[cfg(unix)]
#[tokio::test]
async fn from_tokio_unix_stream_and_no_sigpipe_on_write() {
    bounded(async {
        let (a, b) = tokio::net::UnixStream::pair().unwrap();
        let a = LocalSocketStream::try_from(a).unwrap();
        drop(b);
        let mut err = None;
        for _ in 0..100 {
            if let Err(e) = (&a).write_all(&[0; 65536]).await {
                err = Some(e);
                break;
            }
        }
        assert_eq!(
            err.expect("write to a closed peer kept succeeding").kind(),
            ErrorKind::BrokenPipe
        );
    })
    .await;
}

/// A read stops early at bytes that came with descriptors (the kernel never glues them to
/// what follows), with bytes still queued. The old short-read rule took that for a drained
/// socket and cleared the readiness: the queued bytes waited for an event that had already
/// been reported (edge-triggered), for ever. With `SO_INQ` (Linux 6.17 and later) the
/// stream knows bytes are left. Fails without it: the second read times out.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[tokio::test]
async fn a_read_cut_short_by_passed_descriptors_does_not_lose_the_wake_up() {
    use std::os::fd::AsFd;
    let dir = TestDir::new("tokio-cut-read");
    let name = any_name(&dir, &util::unique("tokio-cut-read"));
    let listener = sync::LocalSocketListener::bind(name.as_str()).unwrap();
    let client = LocalSocketStream::connect(name.as_str()).await.unwrap();
    let server = listener.accept().unwrap();
    let (_mine, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    server.send_with_handles(b"ab", &[theirs.as_fd()]).unwrap();
    std::io::Write::write_all(&mut &server, b"cd").unwrap();
    // Both are queued before the client looks: one readiness event for the two.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut buf = [0; 16];
    let n = (&client).read(&mut buf).await.unwrap();
    assert_eq!(
        &buf[..n],
        b"ab",
        "the read stops after the bytes with descriptors"
    );
    let n = tokio::time::timeout(Duration::from_secs(5), (&client).read(&mut buf))
        .await
        .expect("the queued bytes were never read: the readiness was cleared")
        .unwrap();
    assert_eq!(&buf[..n], b"cd");
}

/// A stream leaves the tokio type as it came: `SO_INQ`, which the tokio stream turns on for
/// its reads (Linux 6.17 and later), is off again after the conversion to a sync stream, so
/// a `recvmsg` elsewhere with a control buffer sized for what it expects does not find an
/// `SCM_INQ` it did not ask for. (The option cannot be read back: `getsockopt` refuses it.)
#[cfg(any(target_os = "linux", target_os = "android"))]
#[tokio::test]
async fn so_inq_is_off_again_after_conversion_to_sync() {
    use std::os::fd::{AsFd, AsRawFd};
    // Control messages of type SCM_INQ (84) that one recvmsg of a byte on `fd` brings.
    let inq_messages = |fd: std::os::fd::BorrowedFd<'_>| {
        let mut byte = [0u8; 1];
        let mut control = [0u64; 16];
        let mut iov = libc::iovec {
            iov_base: byte.as_mut_ptr().cast(),
            iov_len: 1,
        };
        // SAFETY: msghdr is plain old data; zeroed is no name and no control data.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &raw mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        // SAFETY: `msg` points at `byte` and `control`, both valid for writes of their sizes.
        assert_eq!(unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, 0) }, 1);
        let mut count = 0;
        // SAFETY: the kernel filled `msg`; CMSG_FIRSTHDR/NXTHDR stay within its control data.
        let mut c = unsafe { libc::CMSG_FIRSTHDR(&msg) };
        while !c.is_null() {
            // SAFETY: `c` is a complete header within the control data.
            count += usize::from(unsafe { (*c).cmsg_type } == 84);
            // SAFETY: as above.
            c = unsafe { libc::CMSG_NXTHDR(&msg, c) };
        }
        count
    };
    if !util::kernel_has_so_inq() {
        return eprintln!("this kernel has no SO_INQ (before Linux 6.17): nothing to check");
    }
    let dir = TestDir::new("tokio-inq-off");
    let name = any_name(&dir, &util::unique("tokio-inq-off"));
    let listener = LocalSocketListener::bind(name.as_str()).unwrap();
    let client = LocalSocketStream::connect(name.as_str()).await.unwrap();
    let server = listener.accept().await.unwrap();
    // A byte for the converted end to read.
    (&server).write_all(b"ab").await.unwrap();
    let sync = sync::LocalSocketStream::try_from(client).unwrap();
    assert_eq!(inq_messages(sync.as_fd()), 0, "SO_INQ was left on");
    // Against the fix being vacuous: a socket with SO_INQ on does bring one.
    let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    assert!(util::set_so_inq(b.as_fd()));
    std::io::Write::write_all(&mut a, b"c").unwrap();
    assert_eq!(inq_messages(b.as_fd()), 1);
}
