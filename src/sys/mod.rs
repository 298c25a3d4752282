//! Platform backends. Everything that calls the OS lives below this module.
//!
//! # The contract
//! Each backend (`unix`, `windows`) provides the same names, so the portable layer in
//! `crate::local_socket` compiles against either without `cfg`:
//!
//! - `name::classify(Cow<OsStr>) -> (Cow<OsStr>, bool)`: split a user string into the OS name and
//!   whether it is namespaced (the `@` rule and any OS-specific prefixes).
//! - `name::cstr_to_os_str(&CStr) -> io::Result<&OsStr>`; `name::is_full_path(&OsStr)`: a
//!   namespaced name that `Display` shows without its `@` (Windows `\\.\pipe\…`).
//! - `name::NAME_TYPE_ALWAYS_AVAILABLE` and `name::name_type_support()`.
//! - `name::limits() -> Vec<(&str, String)>`: human-readable limits, for `localipc probe`.
//! - `Listener`: `bind(&LocalSocketName, &ListenerOptions)`, `accept() -> Stream`,
//!   `set_nonblocking(bool)`, `name() -> &LocalSocketName<'static>`; dropping it releases the
//!   name (and with `reclaim`, removes a socket file it created). An access policy
//!   (`ListenerOptions::access`) is enforced by every listener type: Unix checks each
//!   accepted peer's credentials and closes refused ones inside `accept` (which then goes on
//!   to the next, or gives `WouldBlock`); Windows puts the DACL it builds on every instance.
//! - `identity`: `current_uid`/`uid_by_name`/`gid_by_name` (Unix), `current_user_sid`/
//!   `sid_by_name`/`canonical_sid` and `peer_creds(handle, peer end)` (Windows).
//! - `Stream`: `connect(&LocalSocketName, &ConnectOptions)`, `read`/`read_vectored`/`write`/
//!   `write_vectored` on `&self` (nothing to flush: a write has reached the OS when it
//!   returns), `try_clone`, `shutdown(Shutdown)`,
//!   `set_nonblocking(bool)`, `set_read_timeout`/`set_write_timeout` and their getters,
//!   `peer_creds() -> PeerCreds` (every field the OS gives, see the table on `PeerCreds`). Writing to a vanished peer yields `BrokenPipe`, never a
//!   signal.
//! - `Stream::{send_with_handles, recv_with_handles}` and `ancillary::MAX_HANDLES` (253 on
//!   both): passing open files/sockets along with bytes, with the semantics documented on
//!   `LocalSocketStream` (Unix: `SCM_RIGHTS`; Windows, module `handle_records` re-exported as
//!   `ancillary`: handles duplicated within the sender, their values sent in a framed
//!   record ahead of the data, pulled by the receiver).
//! - `MessageListener`/`MessageStream`: message-framed local sockets. `MessageListener`:
//!   `bind(&LocalSocketName, &ListenerOptions)`, `accept`, `set_nonblocking`, `name`,
//!   `max_message_size`/`set_max_message_size`; `MessageStream`: `connect(&LocalSocketName,
//!   &ConnectOptions)`, `send` (whole message or error), `recv -> Option<(len, truncated)>`
//!   (the rest of a truncated message discarded), `recv_vec` (sized to the message),
//!   `peer_creds`, `try_clone` (sharing the connection's state: limit, receive and send
//!   locks), `set_nonblocking`, `set_read_timeout`/`set_write_timeout` and their getters,
//!   `max_message_size`/`set_max_message_size`. An empty message is a message, `None` is end
//!   of stream. Same name, mode/security descriptor and reclaim rules as `Listener`/`Stream`.
//!   `max_message_size` (16 MiB by default; accepted streams take the listener's) bounds both
//!   ways: `send` of more is `InvalidInput`; a received message over it is `InvalidData`,
//!   checked before any buffer of its size is allocated (`try_reserve`), and discarded
//!   whole where the OS keeps boundaries (with framing, the error repeats from then on).
//!   Both backends (Windows: message-mode named pipes).
//! - `pipe::{pipe, Sender, Recver}`: unnamed pipes (`write`/`write_vectored`, `read`/
//!   `read_vectored` on `&self`; `AsFd` and `from_fd`/`into_fd` on Unix, `AsHandle` and
//!   `from_handle`/`into_handle` on Windows), and with feature `tokio`
//!   `pipe::tokio::{pipe, Sender, Recver}` (`poll_write`/`poll_write_vectored`,
//!   `poll_read`; on Unix also `from_sync`/`into_sync`). Both backends provide these except
//!   the sync↔async conversions, which Windows lacks (a `CreatePipe` handle cannot join
//!   tokio's completion port); the public conversions are `cfg(unix)`.
//! - With feature `tokio`: `tokio::{Listener, Stream}`, the async twins (`accept`, which
//!   any number of tasks may await at once, and `poll_accept`, which keeps the latest waker
//!   only; `poll_read`/`poll_write`/`poll_write_vectored`/`poll_shutdown` on `&self`,
//!   `connect`, `send_with_handles`/`recv_with_handles` (async, cancel-safe, and on Windows
//!   the same records as the sync stream's); `from_sync` on both, `Stream::into_sync` on
//!   Unix only: tokio never gives a named pipe handle back, so the public conversion is
//!   `cfg(unix)`).
//! - With feature `async-io`: `async_io::{Listener, Stream}`, on async-io's reactor with no
//!   tokio: `Listener::{bind, from_sync, accept (async, any number of waiters, cancel-safe),
//!   name}`; `Stream::{connect (async), from_sync, poll_read, poll_read_vectored,
//!   poll_write, poll_write_vectored, poll_flush, poll_shutdown(cx, Shutdown), peer_creds}`
//!   on `&self`, and `into_sync` on Unix only; `async_io::{MessageListener, MessageStream}`
//!   (`bind`, `from_sync`, `accept`, `name`, the limit's getter and setter; `connect`,
//!   `from_sync`, async `send`/`recv_vec`, `peer_creds`, the limit's getter and setter);
//!   `pipe::async_io::{pipe, Sender, Recver}` (`poll_write`/`poll_write_vectored`/
//!   `poll_flush`, `poll_read`/`poll_read_vectored`; `from_sync`/`into_sync` on Unix only).
//!   Unix: `async_io::Async` around the sync types; Windows: the sync calls on the
//!   `blocking` pool (`async_io::Pooled`; the pipe is a private overlapped named pipe, as
//!   for tokio; see `local_socket::async_io`).
//! - `shm` (shared-memory streams, `crate::shm`; Linux, Android, FreeBSD, macOS, Windows):
//!   - `Mapping`: a read-write shared mapping; `as_ptr() -> *mut u8` (page-aligned),
//!     `len() -> usize`; dropping it unmaps. `Send + Sync`.
//!   - `create(len) -> io::Result<(OwnedHandle, Mapping)>`: a new anonymous, zeroed region of
//!     `len` bytes (a multiple of `page_size()`) and its mapping; the handle is for the peer.
//!     Nothing named outlives the call (Linux/Android/FreeBSD: sealed memfd; macOS:
//!     `shm_open` + `shm_unlink` at once; Windows: an unnamed pagefile-backed section).
//!   - `map_received(BorrowedHandle<'_>, len) -> io::Result<Mapping>`: maps a region the peer
//!     sent, after checking it is what `create` makes and exactly `len` bytes (sealed on
//!     memfd systems); anything else is `InvalidData` and nothing stays mapped.
//!   - `page_size() -> usize`.
//!   - `RingBells`: the wake objects of one ring (both ends' sleep/wake).
//!     `RingBells::create() -> io::Result<Self>` on the creating side;
//!     `handles(&self) -> Vec<BorrowedHandle<'_>>`: what travels to the peer in the handshake,
//!     in order (empty on Unix, where both ends sleep on the shared index word);
//!     `RingBells::from_received(Vec<OwnedHandle>) -> io::Result<Self>` on the joining side
//!     (a wrong count is `InvalidData`, every handle closed);
//!     `producer(&self)` / `consumer(&self) -> impl ring::Waiter + '_`: the waiter of the
//!     ring's producing / consuming end (Windows: two auto-reset events per ring, each end
//!     waits on its own and sets the other's).
//!   - `peer_gone(&Stream) -> io::Result<bool>`: whether the socket's peer is gone, without
//!     blocking and without consuming anything (Unix: `recv(MSG_PEEK | MSG_DONTWAIT)`;
//!     Windows: `PeekNamedPipe`, and the pipe's state from `NtQueryInformationFile` when
//!     bytes wait, so that a dead peer's leftover bytes cannot hide its death). The portable
//!     layer keeps the socket as the liveness channel and calls this between the slices (at
//!     most 50 ms) of every wait.
//!
//! Both backends provide every item, except where noted.
//!
//! The public types hold these types and call their methods directly: public method →
//! backend method → OS call (or std's wrapper of it), with in between only layers that do
//! something (the readiness loop of the tokio types, the overlapped wait on Windows, the
//! checks of the Windows connection). A backend method that would only pass a call on to a
//! field is not written: the type gives the field's methods through `Deref` instead (as
//! mio's `IoSource` does). The Unix `Stream` gives std's `UnixStream` (`shutdown`,
//! `set_nonblocking`, the timeouts), the Unix `Listener` std's `UnixListener`
//! (`set_nonblocking`), the Unix `MessageListener` the stream `Listener`, the
//! Unix `MessageStream` (an alias of `SeqPacket` or `Framed`) std's `UnixStream`, and the
//! Windows `Stream` and `MessageStream` their connection (`conn::Conn`: writes, `shutdown`,
//! the modes, `peer_creds`). Such methods keep the names and signatures above.
//!
//! Errors are `io::Error`s whose kind fits and whose message names the offending name.

#[cfg(unix)]
pub(crate) mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(any(windows, test))]
pub(crate) mod pipe_name;
#[cfg(any(windows, test))]
pub(crate) mod record;

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

/// A received message over the limit, discarded whole (where the OS keeps message
/// boundaries: `SOCK_SEQPACKET`, message pipes; framing has its own error).
#[cfg_attr(
    not(any(
        windows,
        all(
            any(target_os = "linux", target_os = "android"),
            not(localipc_framed_messages)
        )
    )),
    allow(dead_code)
)]
pub(crate) fn message_too_large(len: usize, max: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "received a message of {len} bytes, over the {max}-byte limit (max_message_size); \
             it was discarded"
        ),
    )
}

/// The current tokio runtime, or a clear error (naming `what` was attempted) rather than
/// tokio's panic outside one.
#[cfg(feature = "tokio")]
pub(crate) fn in_runtime(what: &str) -> io::Result<::tokio::runtime::Handle> {
    ::tokio::runtime::Handle::try_current().map_err(|_| {
        io::Error::other(format!(
            "{what} must be called from within a tokio runtime with I/O enabled"
        ))
    })
}
