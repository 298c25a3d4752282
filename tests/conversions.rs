//! The descriptor (Unix) and handle (Windows) conversions of every public I/O type: each
//! type goes through each conversion it has (borrow, give up into the owned and the raw
//! form, take over from both), and data still flows after every step. The generic helpers'
//! bounds also state at compile time which set each type has.

mod util;

use localipc::local_socket::message::{MessageListener, MessageStream};
use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
use localipc::unnamed_pipe::{self, Recver, Sender};
use std::io::{self, ErrorKind, Read, Write};
use util::{any_name, bounded, TestDir, LIMIT};

/// The platform's owned/raw forms under one set of names.
#[cfg(unix)]
mod os {
    pub(crate) use std::os::fd::{
        AsFd as AsOs, AsRawFd as AsRawOs, FromRawFd as FromRawOs, IntoRawFd as IntoRawOs,
        OwnedFd as Owned, RawFd as Raw,
    };
    pub(crate) fn raw<T: AsRawOs>(t: &T) -> Raw {
        t.as_raw_fd()
    }
    pub(crate) fn borrowed_raw<T: AsOs>(t: &T) -> Raw {
        t.as_fd().as_raw_fd()
    }
    pub(crate) fn into_raw<T: IntoRawOs>(t: T) -> Raw {
        t.into_raw_fd()
    }
    /// # Safety
    /// `r` must be open and owned by nobody else.
    pub(crate) unsafe fn from_raw<T: FromRawOs>(r: Raw) -> T {
        // SAFETY: the caller's promise.
        unsafe { T::from_raw_fd(r) }
    }
}

#[cfg(windows)]
mod os {
    pub(crate) use std::os::windows::io::{
        AsHandle as AsOs, AsRawHandle as AsRawOs, FromRawHandle as FromRawOs,
        IntoRawHandle as IntoRawOs, OwnedHandle as Owned, RawHandle as Raw,
    };
    pub(crate) fn raw<T: AsRawOs>(t: &T) -> Raw {
        t.as_raw_handle()
    }
    pub(crate) fn borrowed_raw<T: AsOs>(t: &T) -> Raw {
        t.as_handle().as_raw_handle()
    }
    pub(crate) fn into_raw<T: IntoRawOs>(t: T) -> Raw {
        t.into_raw_handle()
    }
    /// # Safety
    /// `r` must be open and owned by nobody else.
    pub(crate) unsafe fn from_raw<T: FromRawOs>(r: Raw) -> T {
        // SAFETY: the caller's promise.
        unsafe { T::from_raw_handle(r) }
    }
}

use os::{AsOs, AsRawOs, FromRawOs, IntoRawOs, Owned};

/// `AsRaw*` and `As*` name the same descriptor/handle.
fn borrows<T: AsOs + AsRawOs>(t: &T) {
    assert_eq!(os::raw(t), os::borrowed_raw(t));
}

/// The full infallible set: borrow, `Owned::from(t)` then `T::from(owned)`, `into_raw` then
/// `from_raw`; the same descriptor/handle all along.
fn full_round_trip<T>(t: T) -> T
where
    T: AsOs + AsRawOs + IntoRawOs + FromRawOs + From<Owned>,
    Owned: From<T>,
{
    borrows(&t);
    let before = os::raw(&t);
    let t = T::from(Owned::from(t));
    assert_eq!(os::raw(&t), before);
    let raw = os::into_raw(t);
    assert_eq!(raw, before);
    // SAFETY: `raw` was just given up by `t` and is owned by nobody else.
    let t: T = unsafe { os::from_raw(raw) };
    assert_eq!(os::raw(&t), before);
    t
}

/// The fallible set: borrow, `Owned::from(t)` then `T::try_from(owned)`, `into_raw` then
/// `try_from` of the owned form.
fn try_round_trip<T>(t: T) -> T
where
    T: AsOs + AsRawOs + IntoRawOs + TryFrom<Owned, Error = io::Error>,
    Owned: From<T>,
{
    borrows(&t);
    let before = os::raw(&t);
    let t = T::try_from(Owned::from(t)).expect("take over a descriptor/handle just given up");
    assert_eq!(os::raw(&t), before);
    let raw = os::into_raw(t);
    // SAFETY: `raw` was just given up and is owned by nobody else.
    let owned: Owned = unsafe { os::from_raw(raw) };
    let t = T::try_from(owned).expect("take over a raw descriptor/handle just given up");
    assert_eq!(os::raw(&t), before);
    t
}

/// Bytes both ways between two connected streams, every read bounded.
fn exchange(a: &LocalSocketStream, b: &LocalSocketStream, tag: &[u8]) {
    for (from, to) in [(a, b), (b, a)] {
        to.set_read_timeout(Some(LIMIT)).unwrap();
        (&*from).write_all(tag).unwrap();
        let mut got = vec![0; tag.len()];
        (&*to).read_exact(&mut got).unwrap();
        assert_eq!(got, tag);
    }
}

/// Messages both ways (an empty one included), every receive bounded.
fn exchange_messages(a: &MessageStream, b: &MessageStream, tag: &[u8]) {
    for (from, to) in [(a, b), (b, a)] {
        to.set_read_timeout(Some(LIMIT)).unwrap();
        from.send(tag).unwrap();
        from.send(b"").unwrap();
        assert_eq!(to.recv_vec().unwrap().as_deref(), Some(tag));
        assert_eq!(to.recv_vec().unwrap().as_deref(), Some(&b""[..]));
    }
}

fn pipe_exchange(tx: &Sender, rx: &Recver, tag: &[u8]) {
    (&*tx).write_all(tag).unwrap();
    let mut got = vec![0; tag.len()];
    (&*rx).read_exact(&mut got).unwrap();
    assert_eq!(got, tag);
}

#[test]
fn stream_round_trips_through_every_conversion() {
    bounded(LIMIT, || {
        let dir = TestDir::new("conv-stream");
        let name = any_name(&dir, "conv-stream");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let client = LocalSocketStream::connect(name.as_str()).unwrap();
        let server = listener.accept().unwrap();
        exchange(&client, &server, b"before");
        let client = full_round_trip(client);
        let server = full_round_trip(server);
        exchange(&client, &server, b"after");
        // Half-close still works on a stream taken over (Windows: the end-of-file marker).
        client.shutdown(std::net::Shutdown::Write).unwrap();
        server.set_read_timeout(Some(LIMIT)).unwrap();
        let mut rest = Vec::new();
        (&server).read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    });
}

#[test]
fn message_stream_round_trips_through_every_conversion() {
    bounded(LIMIT, || {
        let dir = TestDir::new("conv-msg");
        let name = any_name(&dir, "conv-msg");
        let listener = MessageListener::bind(name.as_str()).unwrap();
        let client = MessageStream::connect(name.as_str()).unwrap();
        let server = listener.accept().unwrap();
        exchange_messages(&client, &server, b"before");
        let client = try_round_trip(client);
        let server = try_round_trip(server);
        exchange_messages(&client, &server, b"after");
        // A message longer than the buffer is still cut at its boundary.
        client.send(b"truncated").unwrap();
        client.send(b"next").unwrap();
        let mut small = [0; 3];
        let got = server.recv(&mut small).unwrap().unwrap();
        assert_eq!((got.len, got.truncated, &small), (3, true, b"tru"));
        assert_eq!(server.recv_vec().unwrap().as_deref(), Some(&b"next"[..]));
    });
}

/// A pipe end is not a message socket (Unix: not a socket; Windows: a pipe of byte type):
/// `InvalidInput`, and the descriptor/handle is closed, not leaked or kept half-used.
#[test]
fn message_stream_from_wrong_kind_is_invalid_input() {
    let (tx, rx) = unnamed_pipe::pipe().unwrap();
    let err = MessageStream::try_from(Owned::from(rx)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("message"), "{err}");
    // The read end was closed by the failed conversion: writing finds no reader.
    let err = (&tx).write(b"x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
}

#[test]
fn pipe_ends_round_trip_through_every_conversion() {
    bounded(LIMIT, || {
        let (tx, rx) = unnamed_pipe::pipe().unwrap();
        pipe_exchange(&tx, &rx, b"before");
        let tx = full_round_trip(tx);
        let rx = full_round_trip(rx);
        pipe_exchange(&tx, &rx, b"after");
        drop(tx);
        let mut rest = Vec::new();
        (&rx).read_to_end(&mut rest).unwrap();
        assert!(rest.is_empty());
    });
}

#[cfg(unix)]
mod unix {
    use super::*;

    #[test]
    fn listener_round_trips_through_every_conversion() {
        bounded(LIMIT, || {
            let dir = TestDir::new("conv-listener");
            let name = any_name(&dir, "conv-listener");
            let listener = LocalSocketListener::bind(name.as_str()).unwrap();
            let listener = full_round_trip(listener);
            // Its name comes back from `getsockname` (a path listener's socket file stays
            // in place; remove it so that the test dir is left clean).
            if name.starts_with('@') {
                assert_eq!(listener.local_name().to_string(), name);
            }
            let client = LocalSocketStream::connect(name.as_str()).unwrap();
            let server = listener.accept().unwrap();
            exchange(&client, &server, b"through a listener taken over");
            if !name.starts_with('@') {
                std::fs::remove_file(&name).unwrap();
            }
        });
    }

    #[test]
    fn message_listener_round_trips_through_every_conversion() {
        bounded(LIMIT, || {
            let dir = TestDir::new("conv-msg-listener");
            let name = any_name(&dir, "conv-msg-listener");
            let listener = MessageListener::bind(name.as_str()).unwrap();
            let listener = try_round_trip(listener);
            let client = MessageStream::connect(name.as_str()).unwrap();
            let server = listener.accept().unwrap();
            exchange_messages(&client, &server, b"through a listener taken over");
            if !name.starts_with('@') {
                std::fs::remove_file(&name).unwrap();
            }
        });
    }

    /// On Linux message sockets are `SOCK_SEQPACKET`: a stream socket or a stream listener
    /// is refused, as it would lose message boundaries silently. (With
    /// `--cfg localipc_framed_messages` message sockets are stream sockets, so not there.)
    #[cfg(all(
        any(target_os = "linux", target_os = "android"),
        not(localipc_framed_messages)
    ))]
    #[test]
    fn message_types_refuse_stream_sockets() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let err = MessageStream::try_from(Owned::from(a)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

        let dir = TestDir::new("conv-msg-wrong");
        let name = any_name(&dir, "conv-msg-wrong");
        let stream_listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let err = MessageListener::try_from(Owned::from(stream_listener)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        if !name.starts_with('@') {
            std::fs::remove_file(&name).unwrap();
        }
    }

    #[test]
    fn message_listener_from_wrong_kind_is_invalid_input() {
        let (_tx, rx) = unnamed_pipe::pipe().unwrap();
        let err = MessageListener::try_from(Owned::from(rx)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    }
}

#[cfg(feature = "tokio")]
mod tokio_types {
    use super::*;
    use localipc::local_socket::tokio as atokio;
    use localipc::unnamed_pipe::tokio as apipe;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn within<F: std::future::Future>(f: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(30), f)
            .await
            .expect("test body timed out")
    }

    async fn async_exchange(a: &atokio::LocalSocketStream, b: &atokio::LocalSocketStream) {
        (&*a).write_all(b"async").await.unwrap();
        let mut got = [0; 5];
        (&*b).read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"async");
    }

    /// Unix: the whole fallible set. Windows: borrow and `TryFrom<OwnedHandle>` (tokio does
    /// not give its handles back).
    #[tokio::test]
    async fn tokio_stream_round_trips_through_every_conversion() {
        within(async {
            let dir = TestDir::new("conv-tokio-stream");
            let name = any_name(&dir, "conv-tokio-stream");
            let listener = atokio::LocalSocketListener::bind(name.as_str()).unwrap();
            let (client, server) = tokio::join!(
                atokio::LocalSocketStream::connect(name.as_str()),
                listener.accept()
            );
            let (client, server) = (client.unwrap(), server.unwrap());
            #[cfg(unix)]
            let (client, server) = (try_round_trip(client), try_round_trip(server));
            #[cfg(windows)]
            let (client, server) = {
                borrows(&client);
                borrows(&server);
                // A sync stream's handle taken over by the async type.
                let sync_client = LocalSocketStream::connect(name.as_str()).unwrap();
                let accepted = listener.accept().await.unwrap();
                let async_client =
                    atokio::LocalSocketStream::try_from(Owned::from(sync_client)).unwrap();
                async_exchange(&async_client, &accepted).await;
                async_exchange(&accepted, &async_client).await;
                (client, server)
            };
            async_exchange(&client, &server).await;
            async_exchange(&server, &client).await;
        })
        .await;
    }

    /// Unix only: the tokio listener is one descriptor there.
    #[cfg(unix)]
    #[tokio::test]
    async fn tokio_listener_round_trips_through_every_conversion() {
        within(async {
            let dir = TestDir::new("conv-tokio-listener");
            let name = any_name(&dir, "conv-tokio-listener");
            let listener = atokio::LocalSocketListener::bind(name.as_str()).unwrap();
            let listener = try_round_trip(listener);
            let (client, server) = tokio::join!(
                atokio::LocalSocketStream::connect(name.as_str()),
                listener.accept()
            );
            async_exchange(&client.unwrap(), &server.unwrap()).await;
            if !name.starts_with('@') {
                std::fs::remove_file(&name).unwrap();
            }
        })
        .await;
    }

    /// Given up, a tokio type's descriptor stays in nonblocking mode (as tokio's `into_std`
    /// leaves it).
    #[cfg(unix)]
    #[tokio::test]
    async fn tokio_descriptor_given_up_is_nonblocking() {
        let (tx, rx) = apipe::pipe().unwrap();
        let rx = std::fs::File::from(Owned::from(rx));
        let err = (&rx).read(&mut [0; 1]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock, "{err}");
        drop(tx);
    }

    #[tokio::test]
    async fn tokio_pipe_ends_round_trip_through_every_conversion() {
        within(async {
            let (tx, rx) = apipe::pipe().unwrap();
            #[cfg(unix)]
            let (tx, rx) = (try_round_trip(tx), try_round_trip(rx));
            #[cfg(windows)]
            {
                borrows(&tx);
                borrows(&rx);
            }
            (&tx).write_all(b"async pipe").await.unwrap();
            let mut got = [0; 10];
            (&rx).read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"async pipe");
        })
        .await;
    }

    /// Windows: any overlapped pipe end works as an async pipe end; here the two ends of a
    /// local socket connection.
    #[cfg(windows)]
    #[tokio::test]
    async fn tokio_pipe_ends_take_over_pipe_handles() {
        within(async {
            let dir = TestDir::new("conv-tokio-pipe-h");
            let name = any_name(&dir, "conv-tokio-pipe-h");
            let listener = LocalSocketListener::bind(name.as_str()).unwrap();
            let client = LocalSocketStream::connect(name.as_str()).unwrap();
            let server = listener.accept().unwrap();
            let tx = apipe::Sender::try_from(Owned::from(client)).unwrap();
            let rx = apipe::Recver::try_from(Owned::from(server)).unwrap();
            (&tx).write_all(b"async pipe").await.unwrap();
            let mut got = [0; 10];
            (&rx).read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"async pipe");
        })
        .await;
    }

    /// Taking over outside a runtime is an error, not tokio's panic.
    #[test]
    fn tokio_take_over_outside_a_runtime_is_an_error() {
        let dir = TestDir::new("conv-tokio-nort");
        let name = any_name(&dir, "conv-tokio-nort");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let client = LocalSocketStream::connect(name.as_str()).unwrap();
        let _server = listener.accept().unwrap();
        let err = atokio::LocalSocketStream::try_from(Owned::from(client)).unwrap_err();
        assert!(err.to_string().contains("tokio runtime"), "{err}");
        let (tx, rx) = unnamed_pipe::pipe().unwrap();
        let err = apipe::Sender::try_from(Owned::from(tx)).unwrap_err();
        assert!(err.to_string().contains("tokio runtime"), "{err}");
        let err = apipe::Recver::try_from(Owned::from(rx)).unwrap_err();
        assert!(err.to_string().contains("tokio runtime"), "{err}");
        #[cfg(unix)]
        {
            let err = atokio::LocalSocketListener::try_from(Owned::from(listener)).unwrap_err();
            assert!(err.to_string().contains("tokio runtime"), "{err}");
            if !name.starts_with('@') {
                std::fs::remove_file(&name).unwrap();
            }
        }
    }
}
