//! Unix-only API: file-descriptor conversions for local sockets, FIFOs, and credentials
//! passing.
//!
//! `LocalSocketStream` and `LocalSocketListener` implement `AsFd` and `AsRawFd`, convert into
//! `OwnedFd`, and a stream converts from `OwnedFd` and `std::os::unix::net::UnixStream`.

#[cfg(any(target_os = "linux", target_os = "android"))]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
pub mod credentials;
pub mod fifo;
mod local_socket;
