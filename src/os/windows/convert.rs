//! The handle conversions of every public I/O type that is one handle, from one macro,
//! [`handle_conversions`]: each type gets the same impls with the same docs (see the table in
//! [`os::windows`](super)).

use crate::local_socket::message::MessageStream;
use crate::local_socket::LocalSocketStream;
use crate::sys;
use crate::unnamed_pipe::{Recver, Sender};
use std::os::windows::io::OwnedHandle;

/// The conversions of `$t`, a type whose field `inner` (a `sys` type) has `as_handle` and
/// (unless `kept`) `into_handle`; `$from` makes that field from an `OwnedHandle`.
///
/// - `From`: `$from` cannot fail: `AsHandle`, `AsRawHandle`, `From<$t> for OwnedHandle`,
///   `IntoRawHandle`, `From<OwnedHandle>`, `FromRawHandle`.
/// - `TryFrom ... gives`: `$from` returns `io::Result`: the same, but `TryFrom<OwnedHandle>`
///   for the last two (`FromRawHandle` cannot fail, so there is none).
/// - `TryFrom ... kept`: as `TryFrom`, without giving the handle up (tokio keeps the handles
///   it registers): `AsHandle`, `AsRawHandle`, `TryFrom<OwnedHandle>`.
///
/// `$expects` says what the handle must be, `$takes` what taking it over does (its OS calls),
/// `$gives` what giving it up does.
macro_rules! handle_conversions {
    (@borrow $t:ty) => {
        impl std::os::windows::io::AsHandle for $t {
            /// No OS call.
            fn as_handle(&self) -> std::os::windows::io::BorrowedHandle<'_> {
                std::os::windows::io::AsHandle::as_handle(&self.inner)
            }
        }

        impl std::os::windows::io::AsRawHandle for $t {
            /// No OS call.
            fn as_raw_handle(&self) -> std::os::windows::io::RawHandle {
                std::os::windows::io::AsRawHandle::as_raw_handle(
                    &std::os::windows::io::AsHandle::as_handle(&self.inner),
                )
            }
        }
    };
    (@give $t:ty, gives: $gives:literal) => {
        #[doc = concat!("Gives up the handle. ", $gives)]
        impl From<$t> for std::os::windows::io::OwnedHandle {
            fn from(value: $t) -> Self {
                value.inner.into_handle()
            }
        }

        impl std::os::windows::io::IntoRawHandle for $t {
            /// Gives up the handle without closing it, as `From<Self> for OwnedHandle`; the
            /// caller must close it (`CloseHandle`).
            fn into_raw_handle(self) -> std::os::windows::io::RawHandle {
                std::os::windows::io::IntoRawHandle::into_raw_handle(
                    std::os::windows::io::OwnedHandle::from(self),
                )
            }
        }
    };
    (@try_take $t:ty, $from:path, $expects:literal, $takes:literal) => {
        #[doc = concat!(
            "Takes ownership of a handle that must be ", $expects, ". ", $takes,
            " On error the handle is closed. There is no `FromRawHandle`: it could not ",
            "report the error."
        )]
        impl TryFrom<std::os::windows::io::OwnedHandle> for $t {
            type Error = std::io::Error;
            fn try_from(handle: std::os::windows::io::OwnedHandle) -> std::io::Result<Self> {
                Ok(Self {
                    inner: $from(handle)?,
                })
            }
        }
    };
    (From $t:ty, $from:path, expects: $expects:literal, takes: $takes:literal, gives: $gives:literal) => {
        handle_conversions!(@borrow $t);
        handle_conversions!(@give $t, gives: $gives);

        #[doc = concat!(
            "Takes ownership of a handle that must be ", $expects, "; another kind makes ",
            "later calls fail (it is not undefined behaviour). ", $takes
        )]
        impl From<std::os::windows::io::OwnedHandle> for $t {
            fn from(handle: std::os::windows::io::OwnedHandle) -> Self {
                Self {
                    inner: $from(handle),
                }
            }
        }

        impl std::os::windows::io::FromRawHandle for $t {
            /// Takes ownership of `handle`, as `From<OwnedHandle>`.
            ///
            /// # Safety
            /// `handle` must be an open handle that nothing else owns or closes (it is closed
            /// on drop).
            unsafe fn from_raw_handle(handle: std::os::windows::io::RawHandle) -> Self {
                // SAFETY: the caller hands over an open handle that nothing else owns.
                Self::from(unsafe {
                    <std::os::windows::io::OwnedHandle as std::os::windows::io::FromRawHandle>::from_raw_handle(handle)
                })
            }
        }
    };
    (TryFrom $t:ty, $from:path, expects: $expects:literal, takes: $takes:literal, gives: $gives:literal) => {
        handle_conversions!(@borrow $t);
        handle_conversions!(@give $t, gives: $gives);
        handle_conversions!(@try_take $t, $from, $expects, $takes);
    };
    (TryFrom $t:ty, $from:path, expects: $expects:literal, takes: $takes:literal, kept: $kept:literal) => {
        handle_conversions!(@borrow $t);
        handle_conversions!(@try_take $t, $from, $expects, $takes);
    };
}

/// `sys::Stream::from_handle`, which end it is asked of the OS when needed.
fn stream_from_handle(h: OwnedHandle) -> sys::Stream {
    sys::Stream::from_handle(h, None)
}

handle_conversions!(From LocalSocketStream, stream_from_handle,
    expects: "a connected named pipe end (client or server), best opened with \
        `FILE_FLAG_OVERLAPPED` so that reads and writes from two threads do not wait for \
        each other",
    takes: "No OS call; which end it is, is asked of the OS (`GetNamedPipeInfo`) when needed.",
    gives: "No OS call.");

handle_conversions!(TryFrom MessageStream, sys::MessageStream::from_handle,
    expects: "a connected end of a named pipe of message type (client or server), best \
        opened with `FILE_FLAG_OVERLAPPED`, its peer a message socket too",
    takes: "`SetNamedPipeHandleState(PIPE_READMODE_MESSAGE)`, which fails (`InvalidInput`) \
        on a pipe of byte type or a handle that is no pipe: fallible because a pipe read in \
        byte mode would lose message boundaries silently, not fail. The stream gets the \
        default `max_message_size`.",
    gives: "No OS call; the rest of a message partly received by then stays in the pipe.");

handle_conversions!(From Sender, sys::pipe::Sender::from_handle,
    expects: "the write end of a pipe (any handle that `WriteFile` takes works, overlapped or \
        not: each call waits for its operation to end)",
    takes: "No OS call.",
    gives: "No OS call.");

handle_conversions!(From Recver, sys::pipe::Recver::from_handle,
    expects: "the read end of a pipe (any handle that `ReadFile` takes works, overlapped or \
        not: each call waits for its operation to end)",
    takes: "No OS call.",
    gives: "No OS call.");

/// The async types: taking a handle over registers it with tokio's completion port, which
/// needs a runtime, so it is a `TryFrom` (as tokio's own `NamedPipeClient::from_raw_handle`
/// returns `io::Result`); there is no giving it up, as tokio offers no way to take a handle
/// back from its reactor.
#[cfg(feature = "tokio")]
mod tokio_conv {
    use crate::local_socket::tokio::LocalSocketStream;
    use crate::sys;
    use crate::unnamed_pipe::tokio::{Recver, Sender};
    use std::io;
    use std::os::windows::io::OwnedHandle;

    /// As `TryFrom<sync::LocalSocketStream>` of the handle.
    fn stream_from_handle(h: OwnedHandle) -> io::Result<sys::tokio::Stream> {
        sys::tokio::Stream::from_sync(sys::Stream::from_handle(h, None))
    }

    handle_conversions!(TryFrom LocalSocketStream, stream_from_handle,
        expects: "a connected named pipe end (client or server) opened with \
            `FILE_FLAG_OVERLAPPED`, as tokio needs",
        takes: "`GetNamedPipeInfo` (which end it is) and registration with the current \
            tokio runtime (`CreateIoCompletionPort`): fallible because that is an error \
            outside a runtime.",
        kept: "tokio does not give its handles back");

    handle_conversions!(TryFrom Sender, sys::pipe::tokio::Sender::from_handle,
        expects: "the writable end of a named pipe opened with `FILE_FLAG_OVERLAPPED`, as \
            tokio needs (so not a sync `unnamed_pipe::Sender`: `CreatePipe` handles are not \
            overlapped)",
        takes: "Registration with the current tokio runtime (`CreateIoCompletionPort`): \
            fallible because that is an error outside a runtime.",
        kept: "tokio does not give its handles back");

    handle_conversions!(TryFrom Recver, sys::pipe::tokio::Recver::from_handle,
        expects: "the readable end of a named pipe opened with `FILE_FLAG_OVERLAPPED`, as \
            tokio needs (so not a sync `unnamed_pipe::Recver`: `CreatePipe` handles are not \
            overlapped)",
        takes: "Registration with the current tokio runtime (`CreateIoCompletionPort`): \
            fallible because that is an error outside a runtime.",
        kept: "tokio does not give its handles back");
}
