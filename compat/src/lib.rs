//! A small program written against the documented local socket API of `interprocess` 1.2.1,
//! in that crate's own style, and built here against localipc renamed to `interprocess` in
//! `Cargo.toml` (with 1.x's feature `tokio_support`). Nothing below names localipc: if it
//! compiles and its tests pass, such code ports by the rename (issue 11).
//!
//! `tests/port.rs` runs each part under a time bound.

use interprocess::local_socket::{
    Incoming, LocalSocketListener, LocalSocketName, LocalSocketStream, NameTypeSupport,
    ToLocalSocketName,
};
use std::io::{self, prelude::*, BufReader};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A name for this run, picked the way 1.2.1's examples do: `match` on the support query.
pub fn pick_name(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let unique = format!(
        "localipc-compat-{}-{}-{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    use NameTypeSupport::*;
    match NameTypeSupport::query() {
        OnlyPaths => format!("{}/{unique}.sock", std::env::temp_dir().display()),
        OnlyNamespaced | Both => format!("@{unique}"),
    }
}

/// Usable in constants: 1.x's checks are `const fn`.
pub const fn kind_bits(name: &LocalSocketName<'_>) -> u8 {
    (name.is_namespaced() as u8)
        | (name.is_path() as u8) << 1
        | (name.is_always_supported() as u8) << 2
        | (name.is_supported_in_nts_type(NameTypeSupport::Both) as u8) << 3
}

/// The name API: returns what the checks said, for the test to compare.
pub fn names(name: &str) -> io::Result<(bool, bool, String)> {
    let name = name.to_local_socket_name()?;
    let bits = kind_bits(&name);
    assert_eq!(bits & 0b1000, 0b1000, "either kind is supported by Both");
    let inner = name.inner_cow().to_string_lossy().into_owned();
    assert_eq!(name.inner(), name.clone().into_inner().as_os_str());
    assert_eq!(&*name.clone().into_inner_cow(), name.inner());
    Ok((name.is_namespaced(), name.is_supported(), inner))
}

fn handle_error(conn: io::Result<LocalSocketStream>) -> Option<LocalSocketStream> {
    match conn {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("Incoming connection failed: {e}");
            None
        }
    }
}

/// Binds as 1.2.1's example server does, telling the user about an occupied socket file.
fn bind(name: &str) -> io::Result<LocalSocketListener> {
    match LocalSocketListener::bind(name) {
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            eprintln!("Error: could not start server because the socket file is occupied: {name}");
            Err(e)
        }
        x => x,
    }
}

/// A line-echo server on a thread and one client: returns the server's answer and the pid
/// each side saw for its peer.
pub fn sync_round_trip(name: &str) -> io::Result<(String, u32, u32)> {
    let listener = bind(name)?;
    listener.set_nonblocking(false)?;
    let server = std::thread::spawn(move || -> io::Result<u32> {
        let mut buffer = String::with_capacity(128);
        let mut pid = 0;
        for conn in Incoming::from(&listener).filter_map(handle_error).take(1) {
            pid = conn.peer_pid()?;
            let mut conn = BufReader::new(conn);
            conn.read_line(&mut buffer)?;
            conn.get_mut().write_all(b"Hello from server!\n")?;
        }
        Ok(pid)
    });

    let conn = LocalSocketStream::connect(name)?;
    conn.set_nonblocking(false)?;
    let client_saw = conn.peer_pid()?;
    let mut conn = BufReader::new(conn);
    conn.get_mut().write_all(b"Hello from client!\n")?;
    let mut buffer = String::with_capacity(128);
    conn.read_line(&mut buffer)?;
    let server_saw = server.join().expect("server thread panicked")?;
    Ok((buffer, client_saw, server_saw))
}

/// zellij-utils' way of sharing a connection: `from_raw_fd(dup(fd))`; and the listener through
/// a raw fd and back.
#[cfg(unix)]
pub fn raw_fd_round_trip(name: &str) -> io::Result<String> {
    use std::os::unix::io::{AsRawFd, FromRawFd, IntoRawFd};
    let listener = bind(name)?;
    // SAFETY: the fd was just given up by `into_raw_fd`; nothing else owns it.
    let listener = unsafe { LocalSocketListener::from_raw_fd(listener.into_raw_fd()) };
    let server = std::thread::spawn(move || -> io::Result<()> {
        let conn = listener.accept()?;
        // SAFETY: `dup` returns a new descriptor (checked below) that the stream then owns.
        let dup = unsafe { libc::dup(conn.as_raw_fd()) };
        if dup < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `dup` is an open descriptor that nothing else owns.
        let mut writer = unsafe { LocalSocketStream::from_raw_fd(dup) };
        let mut reader = BufReader::new(conn);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        writer.write_all(line.to_uppercase().as_bytes())
    });
    let conn = LocalSocketStream::connect(name)?;
    // SAFETY: the fd was just given up by `into_raw_fd`; nothing else owns it.
    let mut conn = unsafe { LocalSocketStream::from_raw_fd(conn.into_raw_fd()) };
    conn.write_all(b"shout\n")?;
    let mut answer = String::new();
    BufReader::new(conn).read_line(&mut answer)?;
    server.join().expect("server thread panicked")?;
    if name.starts_with('/') {
        // A listener made from an fd does not own its socket file (1.2.1 never removed it).
        std::fs::remove_file(name)?;
    }
    Ok(answer)
}

/// The stream through a raw handle and back.
#[cfg(windows)]
pub fn raw_handle_round_trip(name: &str) -> io::Result<String> {
    use std::os::windows::io::{AsRawHandle, FromRawHandle, IntoRawHandle};
    let listener = bind(name)?;
    let server = std::thread::spawn(move || -> io::Result<()> {
        let conn = listener.accept()?;
        assert!(!conn.as_raw_handle().is_null());
        // SAFETY: the handle was just given up by `into_raw_handle`; nothing else owns it.
        let conn = unsafe { LocalSocketStream::from_raw_handle(conn.into_raw_handle()) };
        let mut reader = BufReader::new(conn);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        reader.get_mut().write_all(line.to_uppercase().as_bytes())
    });
    let conn = LocalSocketStream::connect(name)?;
    // SAFETY: as above.
    let mut conn = unsafe { LocalSocketStream::from_raw_handle(conn.into_raw_handle()) };
    conn.write_all(b"shout\n")?;
    let mut answer = String::new();
    BufReader::new(conn).read_line(&mut answer)?;
    server.join().expect("server thread panicked")?;
    Ok(answer)
}

/// 1.2.1's tokio example, server and client: `into_split`, futures' `BufReader`,
/// `read_line`, `write_all` and `try_join!`, `peer_pid` on the halves, and `close()`.
pub async fn tokio_round_trip(name: &str) -> io::Result<(String, u32, u32)> {
    use futures::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use futures::try_join;
    use interprocess::local_socket::tokio::{LocalSocketListener, LocalSocketStream};

    let listener = LocalSocketListener::bind(name)?;
    let server = async {
        let conn = listener.accept().await?;
        let (reader, mut writer) = conn.into_split();
        let pid = reader.peer_pid()?;
        assert_eq!(writer.peer_pid()?, pid);
        let mut reader = BufReader::new(reader);
        let mut buffer = String::with_capacity(128);
        reader.read_line(&mut buffer).await?;
        writer.write_all(b"Hello from server!\n").await?;
        writer.close().await?;
        io::Result::Ok(pid)
    };
    let client = async {
        let conn = LocalSocketStream::connect(name).await?;
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            assert!(conn.as_raw_fd() >= 0);
        }
        #[cfg(windows)]
        {
            use std::os::windows::io::AsRawHandle;
            assert!(!conn.as_raw_handle().is_null());
        }
        let client_saw = conn.peer_pid()?;
        let (reader, mut writer) = conn.into_split();
        let mut reader = BufReader::new(reader);
        let mut buffer = String::with_capacity(128);
        let write = writer.write_all(b"Hello from client!\n");
        let read = reader.read_line(&mut buffer);
        try_join!(write, read)?;
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).await?; // the server's close()
        assert!(rest.is_empty());
        drop((reader, writer));
        io::Result::Ok((buffer, client_saw))
    };
    let ((buffer, client_saw), server_saw) = try_join!(client, server)?;

    // `close()` on the whole stream, as 1.2.1 had it, ends both directions.
    let server = async {
        let mut conn = listener.accept().await?;
        conn.close().await?;
        let mut buf = [0; 1];
        conn.read(&mut buf).await
    };
    let client = async {
        let mut conn = LocalSocketStream::connect(name).await?;
        let mut rest = Vec::new();
        conn.read_to_end(&mut rest).await?;
        io::Result::Ok(rest.len())
    };
    let (read_after_close, client_got) = try_join!(server, client)?;
    assert_eq!((read_after_close, client_got), (0, 0));
    Ok((buffer, client_saw, server_saw))
}
