//! Credentials passing on Linux: who sent these bytes, stated by the kernel
//! (`SCM_CREDENTIALS`).
//!
//! [`LocalSocketStream::peer_creds`] tells who *connected*; credentials passing tells who
//! sent a particular message, which differs once a socket has been handed to another
//! process (for instance with
//! [`send_with_handles`](LocalSocketStream::send_with_handles)).
//!
//! ```
//! use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
//! use localipc::os::unix::credentials::CredentialsExt;
//!
//! # let name = format!("@localipc-doc-creds-{}", std::process::id());
//! let listener = LocalSocketListener::bind(name.as_str())?;
//! let client = LocalSocketStream::connect(name.as_str())?;
//! let server = listener.accept()?;
//! server.set_pass_credentials(true)?; // before the peer sends
//!
//! client.send_with_credentials(b"hi")?;
//! let mut buf = [0; 2];
//! let (n, creds) = server.recv_with_credentials(&mut buf)?;
//! let creds = creds.expect("SO_PASSCRED is on");
//! assert_eq!((n, creds.pid()), (2, Some(std::process::id())));
//! # std::io::Result::Ok(())
//! ```

use crate::local_socket::{LocalSocketStream, PeerCreds};
use crate::sys::ancillary::creds;
use std::io;
use std::os::fd::AsFd;

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::local_socket::LocalSocketStream {}
}

/// Credentials passing on a [`LocalSocketStream`] (Linux, Android). Sealed.
pub trait CredentialsExt: sealed::Sealed {
    /// Turns on (or off) credentials reception: with it on, the kernel attaches the
    /// sender's pid, uid and gid to everything sent to this socket from then on, whether the
    /// sender asks or not. Turn it on before the peer sends.
    ///
    /// Linux: `setsockopt(SOL_SOCKET, SO_PASSCRED)`. Note that a socket with `SO_PASSCRED`
    /// and no name is given an autobound abstract address by the kernel when it sends.
    fn set_pass_credentials(&self, on: bool) -> io::Result<()>;

    /// Sends `data` with this process's credentials (pid, effective uid and gid) stated
    /// explicitly; the kernel checks them, so they cannot be forged without privileges.
    /// Returns the bytes sent. The receiver sees them if it has credentials reception on when
    /// it receives them (even if it turned it on after they were sent).
    ///
    /// Linux: `sendmsg` with an `SCM_CREDENTIALS` control message (`MSG_NOSIGNAL`).
    fn send_with_credentials(&self, data: &[u8]) -> io::Result<usize>;

    /// Receives bytes and the credentials of whoever sent them: `None` while credentials
    /// reception is off. Bytes sent before reception was turned on have no recorded sender:
    /// their credentials are `None` in every field (the kernel reports pid 0 and the
    /// overflow uid/gid, 65534, for them). A pid not visible in this pid namespace is `None`
    /// too. One call never mixes bytes of senders with different credentials.
    ///
    /// Linux: `recvmsg` with room for one `SCM_CREDENTIALS` control message.
    fn recv_with_credentials(&self, buf: &mut [u8]) -> io::Result<(usize, Option<PeerCreds>)>;
}

impl CredentialsExt for LocalSocketStream {
    fn set_pass_credentials(&self, on: bool) -> io::Result<()> {
        creds::set_passcred(self.as_fd(), on)
    }

    fn send_with_credentials(&self, data: &[u8]) -> io::Result<usize> {
        creds::send(self.as_fd(), data)
    }

    fn recv_with_credentials(&self, buf: &mut [u8]) -> io::Result<(usize, Option<PeerCreds>)> {
        creds::recv(self.as_fd(), buf)
    }
}
