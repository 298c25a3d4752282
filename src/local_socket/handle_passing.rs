//! Passing open files, sockets and pipes to the peer of a [`LocalSocketStream`].

use super::LocalSocketStream;
use crate::handle::{BorrowedHandle, OwnedHandle};
use std::io;

/// The most handles one [`send_with_handles`](LocalSocketStream::send_with_handles) sends
/// or one [`recv_with_handles`](LocalSocketStream::recv_with_handles) receives: 253 (Linux's
/// `SCM_MAX_FD`, used on every platform so programs stay portable).
pub const MAX_HANDLES: usize = crate::sys::ancillary::MAX_HANDLES;

impl LocalSocketStream {
    /// Sends `data` and, along with it, the `handles`: the peer receives them with
    /// [`recv_with_handles`](Self::recv_with_handles) as new handles to the same open files,
    /// sockets or pipes (like `dup`, across processes). Returns how many bytes of `data`
    /// were sent; if fewer than all, the handles went with those, and the rest of `data` is
    /// for later calls.
    ///
    /// Handles must travel with at least one byte: non-empty `handles` with empty `data` is
    /// `InvalidInput`, as is more than [`MAX_HANDLES`]. Empty `data` without handles sends
    /// nothing and returns 0.
    ///
    /// # Platform differences
    /// - Unix: `sendmsg` with one `SCM_RIGHTS` control message (`MSG_NOSIGNAL`); without
    ///   handles a plain `send`. The kernel installs the descriptors in the receiver when it
    ///   reads the bytes they came with. Descriptors sent but never received are closed by
    ///   the kernel.
    /// - Windows: pipes carry bytes only, so every call writes a *record* (`WriteFile`): a
    ///   16-byte header (tag `LIPH`, version, handle count, data length, the sender's
    ///   process id), 8 bytes per handle value, then `data` — all of it up to 4 GiB - 1.
    ///   The handles are duplicated within the sender's own process first (`DuplicateHandle`
    ///   with the same access, not inheritable) and those copies are given up: the receiver
    ///   pulls them into its process and closes them here
    ///   ([`recv_with_handles`](Self::recv_with_handles)). So the sender must stay alive
    ///   until the peer has received them (handles of a process that has exited are gone),
    ///   and copies whose record the peer never receives stay open in the sender until it
    ///   exits: the sender cannot know when a pull happened, and closing later could hit a
    ///   value reused meanwhile. With both ends in one process the copies wait in a
    ///   process-wide list instead. If the record's header and values cannot be written
    ///   whole, nobody saw them and the copies are closed. A record is written whole however
    ///   long that takes: the write timeout and nonblocking mode do not apply to this call
    ///   (a cut record would put the stream out of step). See
    ///   [`recv_with_handles`](Self::recv_with_handles) for what may be mixed with plain
    ///   reads and writes.
    ///
    /// ```
    /// use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
    /// use std::io::{Read, Seek, Write};
    /// #[cfg(unix)]
    /// use std::os::fd::AsFd as _;
    /// #[cfg(windows)]
    /// use std::os::windows::io::AsHandle as _;
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-handles-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-handles-{}.sock", std::process::id()) };
    /// let listener = LocalSocketListener::bind(name.as_str())?;
    /// let client = LocalSocketStream::connect(name.as_str())?;
    /// let server = listener.accept()?;
    ///
    /// let path = std::env::temp_dir().join(format!("localipc-doc-fd-{}", std::process::id()));
    /// let mut file = std::fs::File::options()
    ///     .read(true).write(true).create(true).truncate(true).open(&path)?;
    /// #[cfg(unix)]
    /// let handle = file.as_fd();
    /// #[cfg(windows)]
    /// let handle = file.as_handle();
    /// client.send_with_handles(b"here", &[handle])?;
    ///
    /// let mut buf = [0; 4];
    /// let mut handles = Vec::with_capacity(1); // room for one handle
    /// let n = server.recv_with_handles(&mut buf, &mut handles)?;
    /// assert_eq!((&buf[..n], handles.len()), (&b"here"[..], 1));
    /// std::fs::File::from(handles.pop().unwrap()).write_all(b"written by the peer")?;
    /// let mut text = String::new();
    /// file.rewind()?; // the same open file: the peer's write is there
    /// file.read_to_string(&mut text)?;
    /// assert_eq!(text, "written by the peer");
    /// # drop(file);
    /// # std::fs::remove_file(&path)?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn send_with_handles(
        &self,
        data: &[u8],
        handles: &[BorrowedHandle<'_>],
    ) -> io::Result<usize> {
        self.inner.send_with_handles(data, handles)
    }

    /// Receives bytes into `buf` and the handles sent with them, appended to `handles`.
    /// Returns the number of bytes (0 at end of file). The handles are the caller's to
    /// close (by dropping them).
    ///
    /// At most `handles.capacity() - handles.len()` handles are accepted (capped at
    /// [`MAX_HANDLES`]): reserve room for what the peer sends (`Vec::with_capacity`). If more
    /// arrive, the call fails with `InvalidData` and every handle that came with those bytes
    /// is closed — nothing leaks — but the bytes are consumed; treat the connection as out
    /// of step. An empty `buf` is `InvalidInput`. Received handles are not inherited by
    /// child processes.
    ///
    /// Handles arrive with the bytes they were sent with: one call returns at most the
    /// bytes of one `send_with_handles` that carried handles (it may return fewer; the rest
    /// come with the next calls, without handles).
    ///
    /// # Platform differences
    /// - Unix: `recvmsg` with room for that many `SCM_RIGHTS` descriptors and
    ///   `MSG_CMSG_CLOEXEC`; on macOS (no `MSG_CMSG_CLOEXEC`), `fcntl(F_SETFD, FD_CLOEXEC)`
    ///   right after, so a child spawned by another thread at that instant may inherit one.
    ///   Too many for the room shows as `MSG_CTRUNC`. Handle calls and plain reads and
    ///   writes mix freely: the descriptors ride on the bytes.
    /// - Windows: reads one record written by `send_with_handles` (see there), or the rest of
    ///   one (`ReadFile`): its header and handle values, then at most `buf.len()` bytes of
    ///   its data; the rest of the data comes with the next calls, without handles. One call
    ///   returns at most one record's bytes, with or without handles. The handles are
    ///   *pulled* from the sender: this call opens the process at the other end of the pipe
    ///   (its id from `GetNamedPipeClientProcessId`/`GetNamedPipeServerProcessId`, never
    ///   from the record; `OpenProcess(PROCESS_DUP_HANDLE)` once per stream, the process
    ///   handle kept while the stream lives) and takes each value with
    ///   `DuplicateHandle(DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE)`, non-inheritable.
    ///   So this process needs `PROCESS_DUP_HANDLE` access to the sender: a process of the
    ///   same user usually has it, a less privileged one on a more privileged sender does
    ///   not (the `OpenProcess` error, usually `PermissionDenied`). Both ends in one
    ///   process: the values are taken from the sender's list instead (see
    ///   [`send_with_handles`](Self::send_with_handles)). A stream end passed to another
    ///   process after the pipe was opened cannot receive handles there if the other end
    ///   was opened by the same process as this one (`Unsupported`), or if the record's
    ///   sender is not the process that opened the other end (`InvalidData`).
    ///   A read timeout or nonblocking mode applies to each `ReadFile`; a call that stops
    ///   early keeps what it read of the record for the next call. A malformed record —
    ///   another tag (the bytes were written with plain `write`), another version, more than
    ///   [`MAX_HANDLES`] handles, no data, a sender that is not the pipe's peer, an
    ///   impossible handle value, a value that is not open in the sender (or, in one
    ///   process, was not given up by a send) — fails with `InvalidData` naming the problem,
    ///   none of its handles is kept (values that were open in the sender are closed
    ///   there), and every later call fails the same way: the stream is out of step. So does
    ///   a record whose handles cannot be pulled (the `OpenProcess` error; `BrokenPipe` if
    ///   the sender has exited). The peer closing the stream inside a record is
    ///   `UnexpectedEof`.
    ///
    /// ## Mixing with plain reads and writes on Windows
    /// The records share the byte stream with plain I/O, so in each direction of a stream:
    /// - every byte read with `recv_with_handles` must have been sent with
    ///   `send_with_handles` (with no handles when there are none): bytes of a plain `write`
    ///   are taken for a record header and fail with `InvalidData`;
    /// - every byte sent with `send_with_handles` must be read with `recv_with_handles`,
    ///   except that once a call has returned the start of a record's data, plain reads may
    ///   take the rest of that data (and only that: the next plain read after it reads past
    ///   the record as usual);
    /// - bytes of plain writes are read with plain reads, so a direction may switch between
    ///   the two at record boundaries when both ends know where those are (e.g. a protocol
    ///   that sends a record and then a plain body whose length it gave).
    ///
    /// Code that follows these rules works the same on Unix. Clones of a stream share its
    /// record state; a stream converted into a handle or an async stream in the middle of a
    /// record loses it.
    ///
    /// ## Trust
    /// On Unix the kernel installs the descriptors: a peer can only pass what it has. On
    /// Windows the handle values are data written by the peer, but they are only ever
    /// looked up in the peer's own process (or, with both ends in this process, in the list
    /// of handles a send gave up): whatever a peer writes, this call never takes ownership
    /// of a handle this process already had, and every handle it returns is new, to an
    /// object the peer really had open. A peer can still send handles you did not expect
    /// (check [`peer_pid`](Self::peer_pid), or who may connect at all), and being able to
    /// pull from the peer means holding `PROCESS_DUP_HANDLE` on it, which is full power
    /// over that process: a peer that forges records naming its own handles loses them.
    pub fn recv_with_handles(
        &self,
        buf: &mut [u8],
        handles: &mut Vec<OwnedHandle>,
    ) -> io::Result<usize> {
        self.inner.recv_with_handles(buf, handles)
    }
}
