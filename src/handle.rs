//! Portable names for OS handles: a file descriptor on Unix, a `HANDLE` on Windows.
//!
//! Used by [`LocalSocketStream::send_with_handles`] and
//! [`LocalSocketStream::recv_with_handles`] to pass open files, sockets and pipes to the
//! peer process.
//!
//! | | Unix | Windows |
//! |---|---|---|
//! | [`BorrowedHandle`] | [`std::os::fd::BorrowedFd`][BorrowedFd] | [`std::os::windows::io::BorrowedHandle`][StdBorrowedHandle] |
//! | [`OwnedHandle`] | [`std::os::fd::OwnedFd`][OwnedFd] | [`std::os::windows::io::OwnedHandle`][StdOwnedHandle] |
//!
//! Both are type aliases of the standard types, so the std conversions (`From<File>`,
//! `AsFd`/`AsHandle`, `Stdio::from`, …) apply directly.
//!
//! [`LocalSocketStream::send_with_handles`]: crate::local_socket::LocalSocketStream::send_with_handles
//! [`LocalSocketStream::recv_with_handles`]: crate::local_socket::LocalSocketStream::recv_with_handles
//! [BorrowedFd]: https://doc.rust-lang.org/std/os/fd/struct.BorrowedFd.html
//! [OwnedFd]: https://doc.rust-lang.org/std/os/fd/struct.OwnedFd.html
//! [StdBorrowedHandle]: https://doc.rust-lang.org/std/os/windows/io/struct.BorrowedHandle.html
//! [StdOwnedHandle]: https://doc.rust-lang.org/std/os/windows/io/struct.OwnedHandle.html

/// A borrowed OS handle: [`BorrowedFd`](std::os::fd::BorrowedFd) on Unix.
#[cfg(unix)]
pub type BorrowedHandle<'a> = std::os::fd::BorrowedFd<'a>;

/// An owned OS handle, closed on drop: [`OwnedFd`](std::os::fd::OwnedFd) on Unix.
#[cfg(unix)]
pub type OwnedHandle = std::os::fd::OwnedFd;

/// A borrowed OS handle:
/// [`BorrowedHandle`](std::os::windows::io::BorrowedHandle) on Windows.
#[cfg(windows)]
pub type BorrowedHandle<'a> = std::os::windows::io::BorrowedHandle<'a>;

/// An owned OS handle, closed on drop:
/// [`OwnedHandle`](std::os::windows::io::OwnedHandle) on Windows.
#[cfg(windows)]
pub type OwnedHandle = std::os::windows::io::OwnedHandle;
