//! Windows named pipes with every option local sockets hide: byte or message mode, duplex
//! or one-way, security descriptor, buffer size.
//!
//! A server makes a [`PipeListener`] with [`PipeListenerOptions`]; clients connect with
//! [`PipeStream::connect`] or [`PipeClientOptions`], giving the same [`PipeMode`] and
//! [`PipeDirection`]. Both ends get a [`PipeStream`].
//!
//! Names follow the local socket rules: `name` or `@name` is `\\.\pipe\name`, and a full
//! pipe path (`\\.\pipe\…`, `\\server\pipe\…`) is used as it is.
//!
//! The listener and streams are built from the same code as local sockets: every handle is
//! overlapped, so a read and a write from two threads run at the same time; the listener
//! keeps one instance pending, so clients can connect between `accept` calls.
//!
//! ```
//! use localipc::os::windows::named_pipe::{
//!     PipeClientOptions, PipeDirection, PipeListenerOptions, PipeMode,
//! };
//!
//! let name = format!("localipc-doc-np-{}", std::process::id());
//! let listener = PipeListenerOptions::new()
//!     .mode(PipeMode::Messages)
//!     .direction(PipeDirection::ClientToServer)
//!     .create(&name)?;
//! let client = PipeClientOptions::new()
//!     .mode(PipeMode::Messages)
//!     .direction(PipeDirection::ClientToServer)
//!     .connect(&name)?;
//! let server = listener.accept()?;
//!
//! client.send(b"hello")?;
//! let mut buf = [0; 3];
//! let first = server.recv(&mut buf)?; // the message is longer than the buffer
//! assert_eq!((first.len, first.complete), (3, false));
//! let rest = server.recv(&mut buf)?;
//! assert_eq!((rest.len, rest.complete), (2, true));
//! assert_eq!(&buf[..2], b"lo");
//! # std::io::Result::Ok(())
//! ```

mod listener;
mod stream;

pub use listener::{PipeListener, PipeListenerOptions};
pub use stream::{PipeClientOptions, PipeStream, Recv};

use crate::local_socket::ToLocalSocketName;
use crate::sys::instance::Direction;
use std::ffi::OsStr;
use std::io;

/// How data is carried.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PipeMode {
    /// A byte stream (`PIPE_TYPE_BYTE`, `PIPE_READMODE_BYTE`): writes run together.
    #[default]
    Bytes,
    /// Messages (`PIPE_TYPE_MESSAGE`, `PIPE_READMODE_MESSAGE`): each write is one message
    /// and each read returns (part of) one message; see [`PipeStream::recv`].
    Messages,
}

/// Which way data flows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PipeDirection {
    /// Both ways (`PIPE_ACCESS_DUPLEX`; the client opens with read and write access).
    #[default]
    Duplex,
    /// From the client to the server only (`PIPE_ACCESS_INBOUND`; the client opens with
    /// write access).
    ClientToServer,
    /// From the server to the client only (`PIPE_ACCESS_OUTBOUND`; the client opens with
    /// read access).
    ServerToClient,
}

impl PipeDirection {
    pub(crate) fn sys(self) -> Direction {
        match self {
            Self::Duplex => Direction::Duplex,
            Self::ClientToServer => Direction::ClientToServer,
            Self::ServerToClient => Direction::ServerToClient,
        }
    }
}

/// The checked UTF-16 pipe path for a name, by the local socket rules.
fn pipe_path(name: &OsStr) -> io::Result<Vec<u16>> {
    let name = name.to_local_socket_name()?;
    crate::sys::name::pipe_path(&name)
}
