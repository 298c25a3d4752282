//! Descriptor passing on the async stream: the sync `SCM_RIGHTS` calls, made when tokio
//! reports readiness. Each is one system call in the poll that returns `Ready`, so a future
//! dropped before then has sent or received nothing.

use super::super::ancillary::{check_recv, check_send, recv_fds, send_fds};
use super::Stream;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use tokio::io::Interest;

impl Stream {
    /// `sendmsg(MSG_NOSIGNAL)` with one `SCM_RIGHTS` message (plain `send` without fds), the
    /// argument checks first: straight away, and once the send buffer was found full, when
    /// tokio reports writability (as every write of the stream does).
    pub(crate) async fn send_with_handles(
        &self,
        data: &[u8],
        fds: &[BorrowedFd<'_>],
    ) -> io::Result<usize> {
        check_send(data, fds)?;
        std::future::poll_fn(|cx| {
            self.poll_write_with(cx, data.len(), |fd| send_fds(fd, data, fds))
        })
        .await
    }

    /// `recvmsg(MSG_CMSG_CLOEXEC)` with room for `fds`' spare capacity when tokio reports
    /// readability; the argument check first.
    pub(crate) async fn recv_with_handles(
        &self,
        buf: &mut [u8],
        fds: &mut Vec<OwnedFd>,
    ) -> io::Result<usize> {
        check_recv(buf)?;
        self.sock
            .async_io(Interest::READABLE, |s| recv_fds(s.as_fd(), buf, fds))
            .await
    }
}
