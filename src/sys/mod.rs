//! Platform backends. Everything that calls the OS lives below this module.
//!
//! # The contract
//! Each backend (`unix`, `windows`) provides the same names, so the portable layer in
//! `crate::local_socket` compiles against either without `cfg`:
//!
//! - `name::classify(Cow<OsStr>) -> (Cow<OsStr>, bool)`: split a user string into the OS name and
//!   whether it is namespaced (the `@` rule and any OS-specific prefixes).
//! - `name::cstr_to_os_str(&CStr) -> io::Result<&OsStr>`.
//! - `name::NAME_TYPE_ALWAYS_AVAILABLE` and `name::name_type_support()`.
//! - `name::limits() -> Vec<(&str, String)>`: human-readable limits, for `localipc probe`.
//! - `Listener`: `bind(&LocalSocketName, &ListenerOptions)`, `accept() -> Stream`,
//!   `set_nonblocking(bool)`, `name() -> &LocalSocketName<'static>`; dropping it releases the
//!   name (and with `reclaim`, removes a socket file it created).
//! - `Stream`: `connect(&LocalSocketName, &ConnectOptions)`, `read`/`read_vectored`/`write`/
//!   `write_vectored`/`flush` on `&self`, `try_clone`, `shutdown(Shutdown)`,
//!   `set_nonblocking(bool)`, `set_read_timeout`/`set_write_timeout` and their getters,
//!   `peer_creds() -> PeerCreds`. Writing to a vanished peer yields `BrokenPipe`, never a
//!   signal.
//! - `Stream::{send_with_handles, recv_with_handles}` and `ancillary::MAX_HANDLES` (253 on
//!   both): passing open files/sockets along with bytes, with the semantics documented on
//!   `LocalSocketStream` (Unix: `SCM_RIGHTS`; Windows, module `handles` re-exported as
//!   `ancillary`: handles duplicated into the peer process, their values sent in a framed
//!   record ahead of the data).
//! - `MessageListener`/`MessageStream`: message-framed local sockets (`bind_with`, `accept`,
//!   `connect_with`, `send`, `recv -> Option<RecvResult>`, `recv_vec`), with the same name,
//!   mode and reclaim rules as `Listener`/`Stream`.
//! - `pipe::{pipe, Sender, Recver}`: unnamed pipes (and `pipe::tokio` with feature `tokio`).
//! - With feature `tokio`: `tokio::{Listener, Stream}`, the async twins (`poll_accept`,
//!   `poll_read`/`poll_write`/`poll_write_vectored`/`poll_shutdown` on `&self`, `connect`).
//!
//! The Windows backend provides the items up to handle passing so far; the items after
//! them are Unix-only until it grows them (their portable wrappers are `cfg(unix)`
//! meanwhile).
//!
//! Errors are `io::Error`s whose kind fits and whose message names the offending name.

#[cfg(unix)]
pub(crate) mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(windows)]
pub(crate) mod windows;
#[cfg(windows)]
pub(crate) use windows::*;

use std::io;

/// Adds the name and the operation to an OS error, keeping its kind.
pub(crate) fn err_with_name(
    err: io::Error,
    op: &str,
    name: &crate::local_socket::LocalSocketName<'_>,
) -> io::Error {
    io::Error::new(err.kind(), format!("{op} local socket \"{name}\": {err}"))
}
