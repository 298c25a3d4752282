//! Portable names for OS handles: a file descriptor on Unix, a `HANDLE` on Windows.
//!
//! Used by [`LocalSocketStream::send_with_handles`] and
//! [`LocalSocketStream::recv_with_handles`] to pass open files, sockets and pipes to the
//! peer process.
//!
//! | | Unix | Windows |
//! |---|---|---|
//! | [`BorrowedHandle`] | [`std::os::fd::BorrowedFd`] | `std::os::windows::io::BorrowedHandle` |
//! | [`OwnedHandle`] | [`std::os::fd::OwnedFd`] | `std::os::windows::io::OwnedHandle` |
//!
//! Both are type aliases of the standard types, so the std conversions (`From<File>`,
//! `AsFd`/`AsHandle`, `Stdio::from`, …) apply directly.
//!
//! [`LocalSocketStream::send_with_handles`]: crate::local_socket::LocalSocketStream::send_with_handles
//! [`LocalSocketStream::recv_with_handles`]: crate::local_socket::LocalSocketStream::recv_with_handles

/// A borrowed OS handle: [`BorrowedFd`](std::os::fd::BorrowedFd) on Unix.
#[cfg(unix)]
pub type BorrowedHandle<'a> = std::os::fd::BorrowedFd<'a>;

/// An owned OS handle, closed on drop: [`OwnedFd`](std::os::fd::OwnedFd) on Unix.
#[cfg(unix)]
pub type OwnedHandle = std::os::fd::OwnedFd;

/// A borrowed OS handle: std's `BorrowedHandle` on Windows.
#[cfg(windows)]
pub type BorrowedHandle<'a> = std::os::windows::io::BorrowedHandle<'a>;

/// An owned OS handle, closed on drop: std's `OwnedHandle` on Windows.
#[cfg(windows)]
pub type OwnedHandle = std::os::windows::io::OwnedHandle;
