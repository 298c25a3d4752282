//! Windows backend: named pipes.
//!
//! - `name`: local socket names → `\\.\pipe\…` paths.
//! - `instance`: `CreateNamedPipeW` (server instances) and `CreateFileW` (clients), the only
//!   places named pipes are made; `security`: SDDL → security attributes for them.
//! - `pipe`: unnamed pipes (`CreatePipe`), and their tokio ends (`pipe::tokio`: a private,
//!   single-instance named pipe from `instance`).
//! - `overlapped`: blocking calls built from overlapped I/O with one event per thread, so
//!   that a read and a write on one handle run at the same time.
//! - `ends`: a pipe handle as such: duplicates, which end, the peer's pid, the end-of-file
//!   marker.
//! - `conn` and `acceptor`: a connected end and a listening name, shared by local sockets
//!   (`listener`, `stream`), message local sockets (`message`: the same pipes read in
//!   message mode) and `os::windows::named_pipe`.
//! - `handles`: passing handles with the bytes of a local socket stream (duplicated within
//!   the sender, their values sent in a framed record, pulled out by the receiver:
//!   `handoff`); also named `ancillary`, the name the backend contract and the Unix backend
//!   use.

pub(crate) mod acceptor;
pub(crate) mod conn;
pub(crate) mod ends;
pub(crate) mod handles;
mod handoff;
pub(crate) mod instance;
mod listener;
mod message;
pub(crate) mod name;
mod overlapped;
pub(crate) mod pipe;
pub(crate) mod security;
mod stream;
#[cfg(feature = "tokio")]
pub(crate) mod tokio;

pub(crate) use handles as ancillary;
pub(crate) use listener::Listener;
pub(crate) use message::{MessageListener, MessageStream};
pub(crate) use stream::Stream;
