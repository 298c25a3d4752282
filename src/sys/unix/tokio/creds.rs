//! Credentials passing on the async stream (Linux, Android): the sync `SCM_CREDENTIALS`
//! calls, each one system call in the poll that returns `Ready`.

use super::super::ancillary::creds;
use super::Stream;
use crate::local_socket::PeerCreds;
use std::io;
use std::os::fd::AsFd;
use tokio::io::Interest;

impl Stream {
    /// `setsockopt(SOL_SOCKET, SO_PASSCRED)`.
    pub(crate) fn set_pass_credentials(&self, on: bool) -> io::Result<()> {
        creds::set_passcred(self.as_fd(), on)
    }

    /// `sendmsg` with an `SCM_CREDENTIALS` control message, through the stream's write path
    /// (straight away; on writability once the send buffer was found full).
    pub(crate) async fn send_with_credentials(&self, data: &[u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_write_with(cx, data.len(), |fd| creds::send(fd, data)))
            .await
    }

    /// `recvmsg` with room for one `SCM_CREDENTIALS` control message, when tokio reports the
    /// socket readable.
    pub(crate) async fn recv_with_credentials(
        &self,
        buf: &mut [u8],
    ) -> io::Result<(usize, Option<PeerCreds>)> {
        self.sock
            .async_io(Interest::READABLE, |s| creds::recv(s.as_fd(), buf))
            .await
    }
}
