//! Unix backend: Unix domain sockets (`AF_UNIX`, `SOCK_STREAM`; `SOCK_SEQPACKET` for the
//! message sockets on Linux), unnamed pipes, descriptor and credentials passing.
//!
//! Linux and Android also get the abstract namespace for namespaced names.
//!
//! # Why libc here and rustix there
//! libc is the default. Its functions are the C calls themselves, so each doc names the call
//! it makes and the code reads like the man page, and it has everything this backend needs,
//! including what rustix lacks: the per-thread signal mask that keeps a pipe write from
//! raising `SIGPIPE` (`pthread_sigmask`, `sigtimedwait` in `pipe`), `getpeereid` (`creds`)
//! and Apple's `F_SETNOSIGPIPE`. rustix is used only where it removes unsafe code without
//! hiding which call is made: the control messages of `sendmsg`/`recvmsg` (`SCM_RIGHTS`,
//! `SCM_CREDENTIALS` in `ancillary` and `seqpacket`), whose typed buffers replace `CMSG_*`
//! pointer arithmetic, and `ioctl(FIONBIO)` (`pipe::tokio`). A new call follows the same
//! rule: libc, unless rustix has a safe form of exactly that call.

#[cfg(any(feature = "tokio", feature = "async-io"))]
mod accept;
pub(crate) mod activation;
pub(crate) mod addr;
pub(crate) mod ancillary;
#[cfg(feature = "async-io")]
pub(crate) mod async_io;
mod connect;
mod creds;
mod fd_io;
pub(crate) mod fifo;
mod framing;
pub(crate) mod identity;
pub(crate) mod inherit;
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    any(feature = "tokio", test)
))]
mod inq;
pub(crate) mod listener;
mod message;
pub(crate) mod name;
pub(crate) mod pipe;
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    not(localipc_framed_messages)
))]
mod seqpacket;
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_vendor = "apple"
))]
pub(crate) mod shm;
mod sockfile;
mod stop;
mod stream;
#[cfg(feature = "tokio")]
pub(crate) mod tokio;

pub(crate) use listener::Listener;
pub(crate) use message::{MessageListener, MessageStream};
#[cfg(any(feature = "tokio", feature = "async-io"))]
pub(crate) use sockfile::SocketFile;
pub(crate) use stop::Stopper;
pub(crate) use stream::Stream;

use std::io;

/// Turns a `-1` return from libc into the `errno` error.
pub(crate) fn cvt<T: PartialEq + From<i8>>(ret: T) -> io::Result<T> {
    if ret == T::from(-1) {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// A byte count returned by `read`/`write`/`send`/`sendmsg`: `-1` becomes the `errno` error
/// (no other count is negative).
pub(crate) fn cvt_len(ret: isize) -> io::Result<usize> {
    usize::try_from(ret).map_err(|_| io::Error::last_os_error())
}

/// `size_of::<T>()` as a `socklen_t`, for a struct handed to the kernel by pointer and length.
#[allow(clippy::cast_possible_truncation)] // at most 64 KiB, asserted at compile time
#[cfg_attr(
    not(any(target_os = "linux", target_os = "android", target_vendor = "apple")),
    allow(dead_code)
)]
pub(crate) const fn socklen_of<T>() -> libc::socklen_t {
    const { assert!(std::mem::size_of::<T>() <= 0xffff) };
    std::mem::size_of::<T>() as libc::socklen_t
}

/// A permission `mode` as a `mode_t`, which is 16 bits on Apple: `InvalidInput` naming the mode
/// when it does not fit.
#[allow(clippy::useless_conversion)] // mode_t is u32 except on Apple
pub(crate) fn mode_t(mode: u32) -> io::Result<libc::mode_t> {
    libc::mode_t::try_from(mode).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "mode {mode:#o} does not fit in this system's mode_t ({} bits)",
                libc::mode_t::BITS
            ),
        )
    })
}

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The type of a Unix domain socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SocketType {
    /// `SOCK_STREAM`: the local socket streams, and the framed message sockets.
    Stream,
    /// `SOCK_SEQPACKET`: the message sockets on Linux and Android.
    #[cfg_attr(
        not(all(
            any(target_os = "linux", target_os = "android"),
            not(localipc_framed_messages)
        )),
        allow(dead_code)
    )]
    SeqPacket,
}

impl SocketType {
    /// The `SOCK_*` value.
    pub(crate) fn raw(self) -> libc::c_int {
        match self {
            Self::Stream => libc::SOCK_STREAM,
            Self::SeqPacket => libc::SOCK_SEQPACKET,
        }
    }
}

/// `socket(AF_UNIX, ty | SOCK_CLOEXEC)`; where there is no `SOCK_CLOEXEC` (Apple), `socket`
/// then `fcntl(FD_CLOEXEC)` and `setsockopt(SO_NOSIGPIPE)`.
pub(crate) fn new_socket(ty: SocketType) -> io::Result<OwnedFd> {
    socket_with_flags(ty.raw())
}

/// [`new_socket`] in nonblocking mode: `SOCK_NONBLOCK` in the same `socket` call; where
/// there is none (Apple), `fcntl(F_SETFL, O_NONBLOCK)` afterwards.
pub(crate) fn new_nonblocking_socket(ty: SocketType) -> io::Result<OwnedFd> {
    #[cfg(not(target_vendor = "apple"))]
    return socket_with_flags(ty.raw() | libc::SOCK_NONBLOCK);
    #[cfg(target_vendor = "apple")]
    {
        let sock = std::os::unix::net::UnixStream::from(socket_with_flags(ty.raw())?);
        sock.set_nonblocking(true)?;
        Ok(OwnedFd::from(sock))
    }
}

/// `socket(AF_UNIX, ty)` with `ty` the type and its flags: see [`new_socket`].
fn socket_with_flags(ty: libc::c_int) -> io::Result<OwnedFd> {
    #[cfg(not(target_vendor = "apple"))]
    let ty = ty | libc::SOCK_CLOEXEC;
    // SAFETY: plain syscall with integer arguments.
    let raw = cvt(unsafe { libc::socket(libc::AF_UNIX, ty, 0) })?;
    // SAFETY: `raw` is a freshly created descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    #[cfg(target_vendor = "apple")]
    {
        // SAFETY: `fd` is open; FD_CLOEXEC is a valid flag for F_SETFD.
        cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) })?;
        set_nosigpipe(&fd)?;
    }
    Ok(fd)
}

/// `setsockopt(SO_NOSIGPIPE)`: Apple has no `MSG_NOSIGNAL`, so writes to a closed peer are
/// kept from raising `SIGPIPE` per socket instead.
#[cfg(target_vendor = "apple")]
pub(crate) fn set_nosigpipe(fd: &impl AsRawFd) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: `one` is a valid c_int for the duration of the call.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_NOSIGPIPE,
            (&one as *const libc::c_int).cast(),
            socklen_of::<libc::c_int>(),
        )
    })
    .map(drop)
}

/// No-op where `send` takes `MSG_NOSIGNAL`.
#[cfg(not(target_vendor = "apple"))]
pub(crate) fn set_nosigpipe(_fd: &impl AsRawFd) -> io::Result<()> {
    Ok(())
}
