//! The async-io ends on Windows: the two ends of a private named pipe (`pair.rs`:
//! overlapped handles, so that a read in flight can be cancelled from another thread), read
//! and written through the `blocking` pool as the local socket streams are (see
//! `sys::windows::async_io`).

use super::super::async_io::{PoolIo, Pooled};
use super::pair::named_pair;
use std::io;

fn wrong_way(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, format!("a pipe's {what}"))
}

impl PoolIo for super::Sender {
    fn read(&self, _: &mut [u8]) -> io::Result<usize> {
        Err(wrong_way("write end cannot read"))
    }
    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        super::Sender::write(self, buf)
    }
}

impl PoolIo for super::Recver {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        super::Recver::read(self, buf)
    }
    fn write(&self, _: &[u8]) -> io::Result<usize> {
        Err(wrong_way("read end cannot write"))
    }
}

/// The async write end.
pub(crate) type Sender = Pooled<super::Sender>;
/// The async read end.
pub(crate) type Recver = Pooled<super::Recver>;

/// `CreateNamedPipeW(PIPE_ACCESS_INBOUND | FILE_FLAG_OVERLAPPED |
/// FILE_FLAG_FIRST_PIPE_INSTANCE, 1 instance)` and `CreateFileW(GENERIC_WRITE,
/// FILE_FLAG_OVERLAPPED)` on a fresh name: `(write end, read end)`.
pub(crate) fn pipe() -> io::Result<(Sender, Recver)> {
    let (client, server) = named_pair("async-io unnamed pipe")?;
    Ok((
        Pooled::new(super::Sender::from_handle(client)),
        Pooled::new(super::Recver::from_handle(server)),
    ))
}
