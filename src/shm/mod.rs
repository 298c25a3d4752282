//! Shared-memory streams: a byte stream between two processes through memory both map,
//! below the kernel's socket floor, and as safe to use as a socket.
//!
//! Connect an ordinary [`LocalSocketStream`](crate::local_socket::LocalSocketStream) first;
//! then one side (either one) calls [`ShmStream::create`] on its end and the other
//! [`ShmStream::join`]. The socket carries the handshake and the region's handle, and then
//! stays open as the liveness channel.
//!
//! ```
//! use localipc::local_socket::{LocalSocketListener, LocalSocketStream, NameTypeSupport};
//! use localipc::shm::{ShmOptions, ShmStream};
//! use std::io::{Read, Write};
//!
//! # let name = if NameTypeSupport::query().namespace_supported() {
//! #     format!("@localipc-doc-shm-{}", std::process::id())
//! # } else { format!("/tmp/localipc-doc-shm-{}.sock", std::process::id()) };
//! let listener = LocalSocketListener::bind(name.as_str())?;
//! let server = std::thread::spawn(move || -> std::io::Result<()> {
//!     let mut s = ShmStream::join(listener.accept()?)?;
//!     let mut buf = [0; 5];
//!     s.read_exact(&mut buf)?;
//!     s.write_all(&buf)?; // echo
//!     let mut rest = Vec::new();
//!     s.read_to_end(&mut rest)?; // until the client shuts down its writing side
//!     assert_eq!(rest, b"abc");
//!     Ok(())
//! });
//!
//! let conn = LocalSocketStream::connect(name.as_str())?;
//! let mut s = ShmStream::create(conn, &ShmOptions::new())?;
//! s.write_all(b"hello")?;
//! let mut reply = [0; 5];
//! s.read_exact(&mut reply)?;
//! assert_eq!(&reply, b"hello");
//!
//! // Zero-copy: fill space in the ring in place, then commit it.
//! let mut grant = s.reserve(3)?;
//! grant.write_at(0, b"abc")?;
//! grant.commit()?;
//! s.shutdown(std::net::Shutdown::Write)?; // the server reads "abc", then end of file
//! server.join().unwrap()?;
//! assert_eq!(s.read(&mut reply)?, 0); // the server dropped its stream: end of file
//! # std::io::Result::Ok(())
//! ```
//!
//! # What holds
//! - **Private and anonymous.** Linux, Android, FreeBSD: a `memfd` (`MFD_CLOEXEC`, sealed
//!   against resizing: `F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL`) passed with `SCM_RIGHTS`;
//!   macOS: an `shm_open` object unlinked at once (its size can be set only once); Windows:
//!   an unnamed section passed with the crate's handle passing. Nothing named is left on the
//!   system, after a crash either.
//! - **Rings.** One single-producer single-consumer ring per direction, indices on separate
//!   cache lines, capacity set by [`ShmOptions::capacity`] (1 MiB by default). No
//!   allocation per message.
//! - **Hostile peer.** The peer can write anything into the shared pages at any time. Every
//!   index read from them is validated before use and shared bytes are touched only with
//!   atomics (no Rust reference to shared memory is ever formed, and the grants copy in and
//!   out): garbage is [`InvalidData`](std::io::ErrorKind::InvalidData) or end of file, never
//!   undefined behaviour, a panic or an out-of-bounds access; waits are bounded by the wait
//!   slices and the timeouts. On Windows the joiner pulls the handles from the creator's
//!   process (see [`recv_with_handles`](crate::local_socket::LocalSocketStream::recv_with_handles)),
//!   so it needs `PROCESS_DUP_HANDLE` on the creator, which is full power over it: there
//!   the guarantees protect the joiner from a hostile creator, while a joiner that can join
//!   could harm the creator by other means anyway. A manual-reset event sent in place of an
//!   auto-reset one only makes the joiner's waits return early (CPU, not correctness).
//! - **Handshake.** Magic, version, both capacities, page size, region length and handle
//!   count are checked; the region must be what `create` makes. A peer that sends nonsense
//!   gets `InvalidData`, the socket is closed, nothing stays mapped.
//! - **End of file and peer death.** [`shutdown(Write)`](ShmStream::shutdown) or dropping the
//!   stream gives the peer end of file after everything sent was read. A blocked read or
//!   write sleeps in slices of at most 25 ms and checks the socket in between, so the death
//!   of the peer (crash, kill) is noticed within about that: end of file for reads (after
//!   what was published), `BrokenPipe` for writes.
//! - **Waiting.** A blocked call first spins (adaptively, up to [`ShmOptions::spin`]),
//!   then sleeps on the ring's index word (Linux futex, FreeBSD `_umtx_op`, macOS
//!   `__ulock_wait`; Windows events). A wake-up system call is made only when the peer
//!   sleeps. With only one CPU to run on (the process's affinity), the spin budget is spent
//!   yielding the CPU (`sched_yield`) instead, so a runnable peer runs at once. An idle
//!   blocked pair costs a few system calls every 25 ms.
//! - **Async.** `shm::tokio::ShmStream` (feature `tokio`; Unix and Windows) and
//!   `shm::async_io::ShmStream` (feature `async-io`, Unix: smol, async-std or any executor,
//!   no tokio) are the async twins: where a thread would sleep, a task marks the ring's wake
//!   flag "async" and waits on the socket; the peer, sync or async, then sends a one-byte
//!   doorbell there instead of a futex wake (Windows: instead of `SetEvent`, a `WriteFile`
//!   on the named pipe that never waits). Sync, tokio and async-io ends mix freely. The
//!   peer's death is seen at once (end of file on the socket). Reads and writes are
//!   cancel-safe.
//!
//! Platforms: Linux and Android (built and tested), Windows (built and tested under Wine),
//! macOS and FreeBSD (type-checked only).

#[cfg(any(feature = "tokio", all(unix, feature = "async-io")))]
mod async_core;
#[cfg(all(unix, feature = "async-io"))]
#[cfg_attr(docsrs, doc(cfg(all(unix, feature = "async-io"))))]
pub mod async_io;
mod bell;
#[cfg(all(windows, feature = "tokio"))]
mod block_on;
mod grant;
mod handshake;
mod options;
pub(crate) mod ring;
mod stream;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;
mod wait;

pub use grant::{ReadGrant, WriteGrant};
pub use options::ShmOptions;
pub use stream::ShmStream;
