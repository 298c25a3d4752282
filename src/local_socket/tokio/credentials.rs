//! Credentials passing on the async [`LocalSocketStream`] (Linux, Android): who sent these
//! bytes, stated by the kernel. The async twin of
//! [`os::unix::credentials`](crate::os::unix::credentials).

use super::LocalSocketStream;
use crate::local_socket::PeerCreds;
use std::io;

impl LocalSocketStream {
    /// Turns credentials reception on (or off): the async twin of the sync
    /// [`set_pass_credentials`](crate::os::unix::credentials::CredentialsExt::set_pass_credentials),
    /// with the same rules (turn it on before the peer sends).
    ///
    /// Linux, Android: `setsockopt(SOL_SOCKET, SO_PASSCRED)`.
    pub fn set_pass_credentials(&self, on: bool) -> io::Result<()> {
        self.inner.set_pass_credentials(on)
    }

    /// Sends `data` with this process's credentials stated explicitly (the kernel checks
    /// them): the async twin of the sync
    /// [`send_with_credentials`](crate::os::unix::credentials::CredentialsExt::send_with_credentials).
    ///
    /// Linux, Android: `sendmsg` with an `SCM_CREDENTIALS` control message (`MSG_NOSIGNAL`),
    /// straight away, and once a write found the send buffer full, when tokio reports the
    /// socket writable.
    ///
    /// # Cancel safety
    /// Cancel-safe: the `sendmsg` is one system call made in the poll that returns `Ready`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
    ///
    /// # let name = format!("@localipc-doc-tokio-creds-{}", std::process::id());
    /// let listener = LocalSocketListener::bind(name.as_str())?;
    /// let client = LocalSocketStream::connect(name.as_str()).await?;
    /// let server = listener.accept().await?;
    /// server.set_pass_credentials(true)?; // before the peer sends
    ///
    /// client.send_with_credentials(b"hi").await?;
    /// let mut buf = [0; 2];
    /// let (n, creds) = server.recv_with_credentials(&mut buf).await?;
    /// assert_eq!((n, creds.and_then(|c| c.pid())), (2, Some(std::process::id())));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_with_credentials(&self, data: &[u8]) -> io::Result<usize> {
        self.inner.send_with_credentials(data).await
    }

    /// Receives bytes and the credentials of whoever sent them (`None` while reception is
    /// off): the async twin of the sync
    /// [`recv_with_credentials`](crate::os::unix::credentials::CredentialsExt::recv_with_credentials),
    /// with the same rules.
    ///
    /// Linux, Android: `recvmsg` with room for one `SCM_CREDENTIALS` control message, when
    /// tokio reports the socket readable.
    ///
    /// # Cancel safety
    /// Cancel-safe: the `recvmsg` is one system call made in the poll that returns `Ready`,
    /// so a dropped future has taken nothing (tested: 10,000 receives raced against a zero
    /// timer).
    pub async fn recv_with_credentials(
        &self,
        buf: &mut [u8],
    ) -> io::Result<(usize, Option<PeerCreds>)> {
        self.inner.recv_with_credentials(buf).await
    }
}
