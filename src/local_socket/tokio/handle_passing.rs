//! Passing open files, sockets and pipes on the async [`LocalSocketStream`] (Unix).

use super::LocalSocketStream;
use crate::handle::{BorrowedHandle, OwnedHandle};
use std::io;

impl LocalSocketStream {
    /// Sends `data` and, along with it, the `handles`, when the socket can take them: the
    /// async twin of the sync
    /// [`send_with_handles`](crate::local_socket::LocalSocketStream::send_with_handles), with
    /// the same rules (handles travel with at least one byte, at most
    /// [`MAX_HANDLES`](crate::local_socket::MAX_HANDLES); returns how many bytes of `data`
    /// went, the handles with them).
    ///
    /// Unix only: `sendmsg` with one `SCM_RIGHTS` control message (`MSG_NOSIGNAL`; without
    /// handles a plain `send`) straight away, and once a write found the send buffer full,
    /// when tokio reports the socket writable (as every write of the stream). (Windows has
    /// the sync call only so far.)
    ///
    /// # Cancel safety
    /// Cancel-safe: the `sendmsg` is one system call made in the poll that returns `Ready`,
    /// so a future dropped before completing has sent neither bytes nor handles (tested:
    /// 10,000 sends raced against a zero timeout, each handle arriving exactly once).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
    /// use std::os::fd::AsFd;
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-tokio-handles-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-tokio-handles-{}.sock", std::process::id()) };
    /// let listener = LocalSocketListener::bind(name.as_str())?;
    /// let client = LocalSocketStream::connect(name.as_str()).await?;
    /// let server = listener.accept().await?;
    ///
    /// let (mine, theirs) = std::os::unix::net::UnixStream::pair()?;
    /// client.send_with_handles(b"sock", &[theirs.as_fd()]).await?;
    /// drop(theirs); // the peer has its own copy now
    ///
    /// let mut buf = [0; 4];
    /// let mut handles = Vec::with_capacity(1); // room for one handle
    /// let n = server.recv_with_handles(&mut buf, &mut handles).await?;
    /// assert_eq!((&buf[..n], handles.len()), (&b"sock"[..], 1));
    /// use std::io::{Read, Write};
    /// let passed = std::os::unix::net::UnixStream::from(handles.pop().unwrap());
    /// (&passed).write_all(b"hello")?;
    /// let mut got = [0; 5];
    /// (&mine).read_exact(&mut got)?;
    /// assert_eq!(&got, b"hello");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_with_handles(
        &self,
        data: &[u8],
        handles: &[BorrowedHandle<'_>],
    ) -> io::Result<usize> {
        self.inner.send_with_handles(data, handles).await
    }

    /// Receives bytes into `buf` and the handles sent with them, appended to `handles`,
    /// when the socket has something: the async twin of the sync
    /// [`recv_with_handles`](crate::local_socket::LocalSocketStream::recv_with_handles), with
    /// the same rules (room for at most `handles.capacity() - handles.len()`; more is
    /// `InvalidData` with all of them closed; an empty `buf` is `InvalidInput`; 0 at end of
    /// file).
    ///
    /// Unix only: `recvmsg(MSG_CMSG_CLOEXEC)` with room for that many `SCM_RIGHTS`
    /// descriptors (macOS: `fcntl(F_SETFD, FD_CLOEXEC)` after) when tokio reports the socket
    /// readable.
    ///
    /// # Cancel safety
    /// Cancel-safe: the `recvmsg` is one system call made in the poll that returns `Ready`,
    /// so a future dropped before completing has taken no bytes and no handles (nothing is
    /// lost, nothing leaks; tested 10,000 times against a zero timeout).
    pub async fn recv_with_handles(
        &self,
        buf: &mut [u8],
        handles: &mut Vec<OwnedHandle>,
    ) -> io::Result<usize> {
        self.inner.recv_with_handles(buf, handles).await
    }
}
