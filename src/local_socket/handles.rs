//! Passing open files, sockets and pipes to the peer of a [`LocalSocketStream`].

use super::LocalSocketStream;
use crate::handle::{BorrowedHandle, OwnedHandle};
use std::io;

/// The most handles one [`send_with_handles`](LocalSocketStream::send_with_handles) sends
/// or one [`recv_with_handles`](LocalSocketStream::recv_with_handles) receives: 253 (Linux's
/// `SCM_MAX_FD`, used on every platform so programs stay portable).
pub const MAX_HANDLES: usize = crate::sys::ancillary::MAX_HANDLES;

impl LocalSocketStream {
    /// Sends `data` and, along with it, the `handles`: the peer receives them with
    /// [`recv_with_handles`](Self::recv_with_handles) as new handles to the same open files,
    /// sockets or pipes (like `dup`, across processes). Returns how many bytes of `data`
    /// were sent; if fewer than all, the handles went with those, and the rest of `data` is
    /// for plain writes.
    ///
    /// Handles must travel with at least one byte: non-empty `handles` with empty `data` is
    /// `InvalidInput`, as is more than [`MAX_HANDLES`]. Without handles this is a plain
    /// `send`.
    ///
    /// # Platform differences
    /// - Unix: `sendmsg` with one `SCM_RIGHTS` control message (`MSG_NOSIGNAL`); the kernel
    ///   installs the descriptors in the receiver when it reads the bytes they came with.
    ///   Descriptors sent but never received are closed by the kernel.
    /// - Windows (in progress): the handles are duplicated into the peer process
    ///   (`DuplicateHandle` with the peer's pid) and their values sent with the data, so the
    ///   sender must be allowed to open the peer process; a handle the peer never receives
    ///   stays open there until it exits.
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
    /// use std::io::{Read, Seek, Write};
    /// use std::os::fd::AsFd;
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-handles-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-handles-{}.sock", std::process::id()) };
    /// let listener = LocalSocketListener::bind(name.as_str())?;
    /// let client = LocalSocketStream::connect(name.as_str())?;
    /// let server = listener.accept()?;
    ///
    /// let path = std::env::temp_dir().join(format!("localipc-doc-fd-{}", std::process::id()));
    /// let mut file = std::fs::File::options()
    ///     .read(true).write(true).create(true).truncate(true).open(&path)?;
    /// client.send_with_handles(b"here", &[file.as_fd()])?;
    ///
    /// let mut buf = [0; 4];
    /// let mut handles = Vec::with_capacity(1); // room for one handle
    /// let n = server.recv_with_handles(&mut buf, &mut handles)?;
    /// assert_eq!((&buf[..n], handles.len()), (&b"here"[..], 1));
    /// std::fs::File::from(handles.pop().unwrap()).write_all(b"written by the peer")?;
    /// let mut text = String::new();
    /// file.rewind()?; // the same open file: the peer's write is there
    /// file.read_to_string(&mut text)?;
    /// assert_eq!(text, "written by the peer");
    /// # std::fs::remove_file(&path)?;
    /// # }
    /// # std::io::Result::Ok(())
    /// ```
    pub fn send_with_handles(
        &self,
        data: &[u8],
        handles: &[BorrowedHandle<'_>],
    ) -> io::Result<usize> {
        self.inner.send_with_handles(data, handles)
    }

    /// Receives bytes into `buf` and the handles sent with them, appended to `handles`.
    /// Returns the number of bytes (0 at end of file).
    ///
    /// At most `handles.capacity() - handles.len()` handles are accepted (capped at
    /// [`MAX_HANDLES`]): reserve room for what the peer sends (`Vec::with_capacity`). If more
    /// arrive, the call fails with `InvalidData` and every handle that came with those bytes
    /// is closed — nothing leaks — but the bytes are consumed; treat the connection as out
    /// of step. An empty `buf` is `InvalidInput`. Received handles are not inherited by
    /// child processes.
    ///
    /// Handles arrive with the bytes they were sent with: one call returns at most the
    /// bytes of one `send_with_handles` that carried handles (it may return fewer; the rest
    /// come with the next call, without handles).
    ///
    /// # Platform differences
    /// - Unix: `recvmsg` with room for that many `SCM_RIGHTS` descriptors and
    ///   `MSG_CMSG_CLOEXEC`; on macOS (no `MSG_CMSG_CLOEXEC`), `fcntl(F_SETFD, FD_CLOEXEC)`
    ///   right after, so a child spawned by another thread at that instant may inherit one.
    ///   Too many for the room shows as `MSG_CTRUNC`.
    /// - Windows (in progress): handle values arrive in the data and are already open in this
    ///   process (non-inheritable).
    pub fn recv_with_handles(
        &self,
        buf: &mut [u8],
        handles: &mut Vec<OwnedHandle>,
    ) -> io::Result<usize> {
        self.inner.recv_with_handles(buf, handles)
    }
}
