//! Unix-only API: file-descriptor conversions for local sockets.
//!
//! `LocalSocketStream` and `LocalSocketListener` implement `AsFd` and `AsRawFd`, convert into
//! `OwnedFd`, and a stream converts from `OwnedFd` and `std::os::unix::net::UnixStream`.

mod local_socket;
