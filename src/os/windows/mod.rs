//! Windows-only API: named pipes in byte and message mode, one-way or duplex
//! ([`named_pipe`]), and handle conversions for local sockets.
//!
//! `LocalSocketStream` implements `AsHandle` and `AsRawHandle`, converts into `OwnedHandle`,
//! and converts from an `OwnedHandle` of a connected pipe end. `LocalSocketListener` has no
//! handle conversions: its pending pipe instance is replaced on every `accept`, so a
//! borrowed handle to it could outlive the instance.

mod local_socket;
pub mod named_pipe;
