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
//! ## Errors
//! Every fallible call returns [`std::io::Error`]. Bad input gets a fitting
//! [`ErrorKind`](std::io::ErrorKind) and a message naming the input; a peer that went away
//! gives end of file or `BrokenPipe`, never a `SIGPIPE`.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_op_in_unsafe_fn, missing_docs, missing_debug_implementations)]

mod forward;
pub mod handle;
pub mod local_socket;
pub mod os;
mod sys;
pub mod unnamed_pipe;
