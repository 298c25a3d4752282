//! # localipc
//!
//! Interprocess communication between processes on one machine, with one portable API:
//! local sockets (Unix domain sockets on Unix, named pipes on Windows) and, in
//! [`os`], the platform-specific building blocks underneath.
//!
//! ```
//! use localipc::local_socket::{LocalSocketListener, LocalSocketStream, NameTypeSupport};
//! use std::io::{Read, Write};
//!
//! // A namespaced name where the platform has them, a socket file otherwise.
//! let name = if NameTypeSupport::query().namespace_supported() {
//!     format!("@localipc-crate-doc-{}", std::process::id())
//! } else {
//!     format!("/tmp/localipc-crate-doc-{}.sock", std::process::id())
//! };
//!
//! let listener = LocalSocketListener::bind(name.as_str())?;
//! let server = std::thread::spawn(move || -> std::io::Result<()> {
//!     let mut conn = listener.accept()?;
//!     let mut buf = [0; 5];
//!     conn.read_exact(&mut buf)?;
//!     conn.write_all(&buf) // echo
//! });
//!
//! let mut conn = LocalSocketStream::connect(name.as_str())?;
//! conn.write_all(b"hello")?;
//! let mut reply = [0; 5];
//! conn.read_exact(&mut reply)?;
//! assert_eq!(&reply, b"hello");
//! server.join().unwrap()?;
//! # std::io::Result::Ok(())
//! ```
//!
//! The examples in this documentation run as tests on Linux and, under Wine, on Windows. They
//! pick their names as above (namespaced where supported, else a path), with the process id
//! in them so that runs do not collide. Whole programs that read as recipes — a daemon and
//! its command-line client, a tokio server with graceful shutdown, a single-instance
//! application, a supervisor handing a listening socket and a file to a worker — are in the
//! repository's `examples/` folder; `cargo run --example <name> -- demo` runs each one to the
//! end by itself.
//!
//! # Modules
//!
//! | module | what | platforms |
//! |---|---|---|
//! | [`local_socket`] | [`LocalSocketListener`](local_socket::LocalSocketListener) / [`LocalSocketStream`](local_socket::LocalSocketStream): a server binds a name, each client gets a private byte stream; names ([`LocalSocketName`](local_socket::LocalSocketName), [`ToLocalSocketName`](local_socket::ToLocalSocketName)), [`ListenerOptions`](local_socket::ListenerOptions), [`ConnectOptions`](local_socket::ConnectOptions), peer credentials, handle passing ([`send_with_handles`](local_socket::LocalSocketStream::send_with_handles)) | all |
//! | [`local_socket::message`] | [`MessageListener`](local_socket::message::MessageListener) / [`MessageStream`](local_socket::message::MessageStream): the same, keeping message boundaries | all |
//! | `local_socket::tokio` (feature `tokio`) | the async twins of the listener and stream, with split halves | all |
//! | `local_socket::async_io` (feature `async-io`) | the async listener and stream without tokio, on the reactor of smol and async-std (`futures_io` traits), and `async_io::message` (message sockets); `unnamed_pipe::async_io` for the pipe ends | all |
//! | [`unnamed_pipe`] | [`pipe`](unnamed_pipe::pipe): a one-way pipe, e.g. a child's stdin or stdout; `unnamed_pipe::tokio` (feature `tokio`) for the async ends | all |
//! | `shm` | `ShmStream`: a byte stream through shared memory set up over a local socket (rings in an anonymous region, the socket kept as liveness channel), zero-copy grants; `shm::tokio::ShmStream` (feature `tokio`, Unix) and `shm::async_io::ShmStream` (feature `async-io`, Unix) its async twins | Linux, Android, Windows; macOS, FreeBSD type-checked |
//! | [`identity`] | [`UserId`](identity::UserId), [`GroupId`](identity::GroupId), [`AccessPolicy`](identity::AccessPolicy): who may connect ([`ListenerOptions::access`](local_socket::ListenerOptions::access)) and which server a client accepts ([`ConnectOptions::expect_server`](local_socket::ConnectOptions::expect_server)) | all |
//! | [`handle`] | [`OwnedHandle`](handle::OwnedHandle) / [`BorrowedHandle`](handle::BorrowedHandle): a descriptor on Unix, a `HANDLE` on Windows | all |
//! | `os::unix` | descriptor conversions, `fifo::create_fifo`, `credentials` (Linux: who sent these bytes) | Unix |
//! | `os::windows` | handle conversions, `named_pipe` (byte and message mode, one-way or duplex, buffer size) | Windows |
//!
//! Every method's documentation names the OS calls it makes, per platform. The platform-only
//! modules are documented in the docs built for that platform (docs.rs builds both).
//!
//! # Features
//!
//! | feature | what it adds |
//! |---|---|
//! | (none, the default) | everything above except the async types; no dependency but the OS bindings (`libc` and `rustix` on Unix, `windows-sys` on Windows) |
//! | `tokio` | `local_socket::tokio`, `unnamed_pipe::tokio` and `shm::tokio` (Unix), on tokio's reactor (tokio with `net`, `rt`, `sync`, `time`) |
//! | `futures-io` | `futures_io::AsyncRead`/`AsyncWrite` on the async streams and their halves, for tasks on other executors (smol, async-std); implies `tokio`, whose runtime must run somewhere for the reactor |
//! | `tokio_support` | `interprocess` 1.x's name for the same: `tokio` + `futures-io` |
//! | `async-io` | `local_socket::async_io` and `shm::async_io` (Unix): async local sockets and shared-memory streams with no tokio in the process, on `async-io`'s reactor (the one behind smol and async-std), any executor; `futures_io` traits. Also `blocking`, smol's thread pool (the shared-memory handshake on Unix, pipe I/O on Windows), and on Windows `async-lock` |
//!
//! # Platforms
//!
//! | platform | local sockets | how it is checked |
//! |---|---|---|
//! | Linux (x86_64) | abstract namespace (`@name`) and socket files | built, and every test and doctest run natively, in CI |
//! | Windows (x86_64-pc-windows-gnu) | named pipes `\\.\pipe\name` | cross-compiled and linted, and every test, doctest and example run **under Wine** in CI; not yet run on real Windows |
//! | macOS (x86_64, aarch64), FreeBSD | socket files | type-checked and linted only |
//!
//! Android and the other Unix systems take the Unix code paths (Android as Linux) but are not
//! built in CI. Where a platform lacks something, the API says so at compile time where it can
//! (`os::unix`, `os::windows`, `ListenerOptions::mode` are `cfg`'d) and with
//! [`ErrorKind::Unsupported`](std::io::ErrorKind::Unsupported) where only the running system
//! knows (a namespaced name on macOS, a path on Windows; see
//! [`NameTypeSupport`](local_socket::NameTypeSupport)).
//!
//! # Minimum supported Rust version
//!
//! Rust **1.85** (`rust-version` in `Cargo.toml`). The policy:
//!
//! - it is raised only in a minor release (while at 0.x: a 0.x → 0.(x+1) release), never in
//!   a patch release, and the change is in the changelog;
//! - it is raised at most to the stable Rust of six months before that release.
//!
//! Why: a patch release must build wherever the previous one did, so `cargo update` never
//! breaks a build; six months is tokio's own policy, so a program using both is held back by
//! neither, and it covers the toolchains of distributions that update Rust twice a year (Debian's
//! `rustc-web`, which builds this crate for Windows in CI, follows Firefox ESR on about that
//! cadence). A shorter window would leave those users behind for no gain: the crate needs
//! nothing newer than 1.85 today. CI builds with the current stable; the MSRV is declared,
//! and a build with an older compiler fails with cargo's clear `rust-version` message rather
//! than an obscure error.
//!
//! # Errors
//! Every fallible call returns [`std::io::Error`]. Bad input gets a fitting
//! [`ErrorKind`](std::io::ErrorKind) and a message naming the input; a peer that went away
//! gives end of file or `BrokenPipe`, never a `SIGPIPE`.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_op_in_unsafe_fn, missing_docs, missing_debug_implementations)]
#![doc(test(attr(deny(warnings))))]

mod forward;
pub mod handle;
pub mod identity;
pub mod local_socket;
pub mod os;
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_vendor = "apple",
    windows
))]
pub mod shm;
// The ring alone elsewhere, for its tests (and Miri).
#[cfg(all(
    test,
    not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_vendor = "apple",
        windows
    ))
))]
mod shm {
    pub(crate) mod ring;
}
mod sys;
pub mod unnamed_pipe;
