//! Windows-only API: named pipes in byte and message mode, one-way or duplex
//! ([`named_pipe`]), and handle conversions for local sockets.
//!
//! `LocalSocketStream` implements `AsHandle` and `AsRawHandle`, converts into `OwnedHandle`,
//! and converts from an `OwnedHandle` of a connected pipe end. `LocalSocketListener` has no
//! handle conversions: its pending pipe instance is replaced on every `accept`, so a
//! borrowed handle to it could outlive the instance.

mod local_socket;
pub mod named_pipe;

/// Fault injection for tests, not part of the API: the next `count` pipe instances this
/// process adds to the pipe of `name` (local socket name rules; not a first instance, as
/// `bind` creates) fail as if `CreateNamedPipeW` had
/// failed with `ERROR_NO_SYSTEM_RESOURCES`. Costs creating an instance one atomic load
/// while never used; nothing on reads or writes.
#[doc(hidden)]
pub fn __fail_pipe_instances<'a>(
    name: impl crate::local_socket::ToLocalSocketName<'a>,
    count: u32,
) -> std::io::Result<()> {
    let path = crate::sys::name::pipe_path(&name.to_local_socket_name()?)?;
    crate::sys::instance::fail_next_instances(path, count);
    Ok(())
}
