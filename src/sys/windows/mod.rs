//! Windows backend: named pipes. One module per concept:
//!
//! - `name`: local socket names → `\\.\pipe\…` paths; `security`: SDDL → security
//!   attributes for the pipes a listener creates.
//! - `pipe`: anonymous (unnamed) pipes: `CreatePipe`, and their tokio ends (`pipe::tokio`: a
//!   private, single-instance named pipe from `instance`).
//! - `instance`: named-pipe instances: what they are made of ([`instance::PipeSpec`],
//!   [`instance::Direction`]), creating them (`CreateNamedPipeW`, server side) and opening
//!   them (`CreateFileW`, client side) — the only places named pipes are made.
//! - `ends`: a pipe end as such, whoever owns it: which end ([`ends::End`]), duplicates,
//!   read mode, the processes that opened the ends (the peer's pid), the end-of-file marker.
//! - `overlapped`: blocking calls built from overlapped I/O with one event per thread, so
//!   that a read and a write on one handle run at the same time.
//! - `conn`: connection I/O on a connected end (reads, writes, timeouts, nonblocking mode,
//!   half-close), shared by local sockets and `os::windows::named_pipe`.
//! - `acceptor`: a listening name with one instance always pending, shared likewise.
//! - `listener`, `stream`, `message`, `tokio`: the local socket types of the backend
//!   contract on top of those (`listener` also says what pipes local sockets are:
//!   `local_socket_spec`).
//! - `handle_records`: passing handles with the bytes of a local socket stream
//!   (their values sent in a framed record, `sys::record`), re-exported as `ancillary`, the
//!   name the backend contract and the Unix backend use; `handoff`: moving those handles
//!   from the sender's process to the receiver's.
//! - `spawn`: starting a process with exactly the handles it should inherit
//!   (`CreateProcessW` with `PROC_THREAD_ATTRIBUTE_HANDLE_LIST`); `inherit`: the variable
//!   that names a handed-over pipe end, and the child's side that takes it back.
//! - `shm`: shared memory for `crate::shm`: an unnamed paging-file section and its views,
//!   the events a ring side sleeps on, the peer's liveness on the pipe.

pub(crate) mod acceptor;
#[cfg(feature = "async-io")]
pub(crate) mod async_io;
pub(crate) mod conn;
pub(crate) mod ends;
pub(crate) mod handle_records;
mod handoff;
pub(crate) mod identity;
pub(crate) mod inherit;
pub(crate) mod instance;
mod listener;
mod message;
pub(crate) mod name;
mod overlapped;
pub(crate) mod pipe;
pub(crate) mod security;
pub(crate) mod shm;
pub(crate) mod spawn;
mod stop;
mod stream;
#[cfg(feature = "tokio")]
pub(crate) mod tokio;

pub(crate) use handle_records as ancillary;
pub(crate) use listener::Listener;
pub(crate) use message::{MessageListener, MessageStream};
pub(crate) use stop::Stopper;
pub(crate) use stream::Stream;

use std::io;

/// The `io::Error` of a Win32 error code (`GetLastError`, an overlapped result): the same 32
/// bits as the `i32` of [`io::Error::raw_os_error`], as std makes it.
pub(crate) fn os_error(code: u32) -> io::Error {
    io::Error::from_raw_os_error(i32::from_ne_bytes(code.to_ne_bytes()))
}

/// The Win32 error code of `e`, if it has one: [`os_error`] undone.
pub(crate) fn error_code(e: &io::Error) -> Option<u32> {
    e.raw_os_error()
        .map(|c| u32::from_ne_bytes(c.to_ne_bytes()))
}
