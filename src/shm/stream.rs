//! [`ShmStream`]: a byte stream over two shared-memory rings, with the local socket kept as
//! the liveness channel.

use super::bell::StreamWaiter;
use super::grant::{ReadGrant, WriteGrant};
use super::handshake::{self, Parts};
use super::ring::{Closer, Consumer, Producer, Waiter};
use super::wait::{self, Spin, Step, Timeout, Woke};
use super::ShmOptions;
use crate::local_socket::{LocalSocketStream, PeerCreds};
use crate::sys::shm::{Mapping, RingBells};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The writing side: the producer of the outgoing ring.
#[derive(Debug)]
pub(crate) struct TxEnd {
    pub(super) ring: Producer,
    spin: Spin,
    /// The peer's death was seen on the socket.
    gone: bool,
    /// An async task armed the ring's flag (`ring`, "Async sleepers").
    #[cfg_attr(
        not(any(feature = "tokio", all(unix, feature = "async-io"))),
        allow(dead_code)
    )]
    armed: bool,
}

/// The reading side: the consumer of the incoming ring.
#[derive(Debug)]
pub(crate) struct RxEnd {
    pub(super) ring: Consumer,
    spin: Spin,
    gone: bool,
    #[cfg_attr(
        not(any(feature = "tokio", all(unix, feature = "async-io"))),
        allow(dead_code)
    )]
    armed: bool,
}

/// A byte stream to another process through shared memory: one ring per direction in a
/// region both processes map, set up over a connected [`LocalSocketStream`] that then stays
/// open as the liveness channel. See the [module documentation](super) for the guarantees.
///
/// `Read` and `Write` are implemented on `ShmStream` and on `&ShmStream`: one thread may read
/// while another writes; concurrent readers (or writers) take turns on a lock.
pub struct ShmStream {
    tx: Mutex<TxEnd>,
    rx: Mutex<RxEnd>,
    tx_shut: AtomicBool,
    rx_shut: AtomicBool,
    /// Close the rings without their locks (`shutdown` while a call or grant holds them).
    tx_closer: Closer,
    rx_closer: Closer,
    nonblocking: AtomicBool,
    read_timeout: Timeout,
    write_timeout: Timeout,
    tx_capacity: u32,
    rx_capacity: u32,
    /// After the handshake never read: only written (doorbells), peeked (`peer_gone`) and
    /// asked for credentials. The Windows tokio twin relies on it: its `conn` is a
    /// duplicate of the tokio pipe's handle, on which mio always has a read in flight.
    conn: LocalSocketStream,
    tx_bells: RingBells,
    rx_bells: RingBells,
    /// Last: the ring ends point into it.
    _map: Mapping,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn broken() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "shared memory stream: the peer closed its reading side or is gone",
    )
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("shared memory stream: {what} timed out"),
    )
}

/// `WouldBlock` without a message: no allocation on a nonblocking caller's polling path.
fn would_block() -> io::Error {
    io::ErrorKind::WouldBlock.into()
}

impl ShmStream {
    /// Sets up shared memory over `conn` (consumed) for the peer, which calls
    /// [`join`](Self::join) on its end. Makes the region (Linux, Android, FreeBSD:
    /// `memfd_create(MFD_CLOEXEC | MFD_ALLOW_SEALING)`, `ftruncate`, `fcntl(F_ADD_SEALS)`;
    /// macOS: `shm_open` + `shm_unlink` + `ftruncate`; then `mmap(MAP_SHARED)`; Windows: an
    /// unnamed paging-file section, `CreateFileMappingW` + `MapViewOfFile`, and two unnamed
    /// auto-reset events per ring, `CreateEventW`), sends the handshake with the region's
    /// descriptor (`sendmsg` with `SCM_RIGHTS`; Windows: the section and events with
    /// [`LocalSocketStream::send_with_handles`], for the peer to pull), and waits for the
    /// peer's acknowledgement (`read`, under `conn`'s read timeout, if any). The options are
    /// checked first (`InvalidInput`); a peer answering anything but an acknowledgement is
    /// `InvalidData`. On any error the socket is closed and nothing stays mapped.
    pub fn create(conn: LocalSocketStream, options: &ShmOptions) -> io::Result<ShmStream> {
        let capacity = options.checked_capacity()?;
        let parts = handshake::create(&conn, capacity)?;
        Ok(Self::from_parts(conn, parts, options.spin))
    }

    /// Joins the shared memory the peer set up with [`create`](Self::create) on its end of
    /// `conn` (consumed): receives the handshake (`recvmsg` with `SCM_RIGHTS`, under `conn`'s
    /// read timeout), checks every field and the region (`fstat`, `fcntl(F_GET_SEALS)` where
    /// there are seals), maps it (`mmap(MAP_SHARED)`) and acknowledges (`send`). Windows:
    /// receives with [`LocalSocketStream::recv_with_handles`] (which pulls the handles from
    /// the peer process with `DuplicateHandle`, so this process needs `PROCESS_DUP_HANDLE`
    /// on the creator's), checks the events (`SetEvent`, `WaitForSingleObject`), maps the
    /// section (`MapViewOfFile`) and checks the view (`VirtualQuery`: committed, read-write,
    /// the announced size; `K32GetMappedFileNameW`: not a file). A peer that
    /// sends anything else (wrong magic, version, sizes, page size, handle count, a region
    /// that is not a sealed memory file of the announced size) is `InvalidData`: the socket
    /// is closed, every received handle too, and nothing stays mapped. Uses the default wait
    /// policy of [`ShmOptions::new`] (see [`join_with`](Self::join_with)).
    pub fn join(conn: LocalSocketStream) -> io::Result<ShmStream> {
        Self::join_with(conn, &ShmOptions::new())
    }

    /// [`join`](Self::join) with this side's wait policy ([`ShmOptions::spin`]); the
    /// capacities are the creator's, so `options.capacity` is not used.
    pub fn join_with(conn: LocalSocketStream, options: &ShmOptions) -> io::Result<ShmStream> {
        let parts = handshake::join(&conn)?;
        Ok(Self::from_parts(conn, parts, options.spin))
    }

    /// The stream over `conn` once the handshake gave `p` (also the Windows tokio twin's,
    /// whose handshake runs over its tokio stream and whose `conn` is a duplicate of it).
    pub(super) fn from_parts(conn: LocalSocketStream, p: Parts, spin: Duration) -> ShmStream {
        // Only to choose between spinning and yielding; an unknown peer is fine.
        let yields = wait::one_shared_cpu(|| conn.peer_creds().ok().and_then(|c| c.pid()));
        ShmStream {
            tx_closer: p.tx.closer(),
            rx_closer: p.rx.closer(),
            tx: Mutex::new(TxEnd {
                ring: p.tx,
                spin: Spin::new(spin, yields),
                gone: false,
                armed: false,
            }),
            rx: Mutex::new(RxEnd {
                ring: p.rx,
                spin: Spin::new(spin, yields),
                gone: false,
                armed: false,
            }),
            tx_shut: AtomicBool::new(false),
            rx_shut: AtomicBool::new(false),
            nonblocking: AtomicBool::new(false),
            read_timeout: Timeout::default(),
            write_timeout: Timeout::default(),
            tx_capacity: p.tx_capacity,
            rx_capacity: p.rx_capacity,
            conn,
            tx_bells: p.tx_bells,
            rx_bells: p.rx_bells,
            _map: p.map,
        }
    }

    /// The capacity of the outgoing ring in bytes: the most one [`reserve`](Self::reserve)
    /// can ask for. No OS call.
    pub fn write_capacity(&self) -> usize {
        usize::try_from(self.tx_capacity).unwrap_or(usize::MAX)
    }

    /// The capacity of the incoming ring in bytes. No OS call.
    pub fn read_capacity(&self) -> usize {
        usize::try_from(self.rx_capacity).unwrap_or(usize::MAX)
    }

    /// The waiter of the outgoing ring's producing end (with the socket's doorbell).
    pub(super) fn tx_waiter(&self) -> StreamWaiter<'_, impl Waiter + '_> {
        StreamWaiter::new(self.tx_bells.producer(), &self.conn.inner)
    }

    /// The waiter of the incoming ring's consuming end (with the socket's doorbell).
    pub(super) fn rx_waiter(&self) -> StreamWaiter<'_, impl Waiter + '_> {
        StreamWaiter::new(self.rx_bells.consumer(), &self.conn.inner)
    }

    /// Sleeps until `want` bytes are readable, the peer closed its side or is gone, or the
    /// read timeout; `WouldBlock` when nonblocking.
    fn wait_readable(&self, rx: &mut RxEnd, w: &impl Waiter) -> io::Result<()> {
        if self.nonblocking.load(Ordering::Relaxed) {
            return Err(would_block());
        }
        let RxEnd {
            ring, spin, gone, ..
        } = rx;
        let shut = &self.rx_shut;
        let woke = wait::block(spin, self.read_timeout.get(), &self.conn.inner, |step| {
            let ready = match step {
                Step::Poll => ring.available()? > 0,
                Step::Sleep(t) => ring.wait_readable(w, Some(t))?,
            };
            Ok(ready || ring.peer_closed() || shut.load(Ordering::Relaxed))
        })?;
        match woke {
            Woke::Ready => Ok(()),
            Woke::Gone => {
                *gone = true;
                Ok(())
            }
            Woke::TimedOut => Err(timed_out("read")),
        }
    }

    /// Sleeps until `want` bytes are free, the peer closed or is gone, or the write timeout.
    fn wait_writable(&self, tx: &mut TxEnd, w: &impl Waiter, want: u32) -> io::Result<()> {
        if self.nonblocking.load(Ordering::Relaxed) {
            return Err(would_block());
        }
        let TxEnd {
            ring, spin, gone, ..
        } = tx;
        let shut = &self.tx_shut;
        let woke = wait::block(spin, self.write_timeout.get(), &self.conn.inner, |step| {
            let ready = match step {
                Step::Poll => ring.free()? >= want,
                Step::Sleep(t) => ring.wait_free(want, w, Some(t))?,
            };
            Ok(ready || ring.peer_closed() || shut.load(Ordering::Relaxed))
        })?;
        match woke {
            Woke::Ready => Ok(()),
            Woke::Gone => {
                *gone = true;
                Ok(())
            }
            Woke::TimedOut => Err(timed_out("write")),
        }
    }

    /// The write side, or `BrokenPipe` if it cannot write any more.
    fn writable(&self, tx: &TxEnd) -> io::Result<()> {
        if self.tx_shut.load(Ordering::Relaxed) || tx.gone || tx.ring.peer_closed() {
            Err(broken())
        } else {
            Ok(())
        }
    }

    fn read_impl(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.rx_shut.load(Ordering::Relaxed) {
            return Ok(0);
        }
        let mut rx = lock(&self.rx);
        let w = self.rx_waiter();
        loop {
            let n = rx.ring.read(buf, &w)?;
            if n > 0 || rx.gone || self.rx_shut.load(Ordering::Relaxed) {
                return Ok(n);
            }
            if rx.ring.peer_closed() {
                // Everything published before the close is visible now.
                return rx.ring.read(buf, &w);
            }
            self.wait_readable(&mut rx, &w)?;
        }
    }

    fn write_impl(&self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut tx = lock(&self.tx);
        let w = self.tx_waiter();
        loop {
            self.writable(&tx)?;
            let n = tx.ring.write(buf, &w)?;
            if n > 0 {
                return Ok(n);
            }
            self.wait_writable(&mut tx, &w, 1)?;
        }
    }

    /// A read for an async task: like a nonblocking read, but where it would wait it arms
    /// the ring's flag for a doorbell on the socket and returns `None` (the task then waits
    /// for the socket to be readable). No OS call.
    #[cfg(any(feature = "tokio", all(unix, feature = "async-io")))]
    /// `before_arm` runs (under the read lock) just before the flag is armed: the caller
    /// registers its waker there, so that whoever takes the doorbell can wake it.
    pub(super) fn read_or_arm(
        &self,
        buf: &mut [u8],
        before_arm: impl Fn(),
    ) -> io::Result<Option<usize>> {
        if buf.is_empty() || self.rx_shut.load(Ordering::Relaxed) {
            return Ok(Some(0));
        }
        let mut rx = lock(&self.rx);
        let w = self.rx_waiter();
        loop {
            let n = rx.ring.read(buf, &w)?;
            if n > 0 || rx.gone || self.rx_shut.load(Ordering::Relaxed) {
                if std::mem::take(&mut rx.armed) {
                    rx.ring.disarm();
                }
                return Ok(Some(n));
            }
            if rx.ring.peer_closed() {
                return rx.ring.read(buf, &w).map(Some);
            }
            before_arm();
            if rx.ring.arm_readable()? {
                rx.armed = true;
                return Ok(None);
            }
            rx.armed = false;
        }
    }

    /// A write for an async task, as [`read_or_arm`](Self::read_or_arm) is a read.
    #[cfg(any(feature = "tokio", all(unix, feature = "async-io")))]
    pub(super) fn write_or_arm(
        &self,
        buf: &[u8],
        before_arm: impl Fn(),
    ) -> io::Result<Option<usize>> {
        if buf.is_empty() {
            return Ok(Some(0));
        }
        let mut tx = lock(&self.tx);
        let w = self.tx_waiter();
        loop {
            self.writable(&tx)?;
            let n = tx.ring.write(buf, &w)?;
            if n > 0 {
                if std::mem::take(&mut tx.armed) {
                    tx.ring.disarm();
                }
                return Ok(Some(n));
            }
            before_arm();
            if tx.ring.arm_free(1)? {
                tx.armed = true;
                return Ok(None);
            }
            tx.armed = false;
        }
    }

    /// The socket said the peer is gone (end of file or reset): reads end after what was
    /// published, writes fail with `BrokenPipe`.
    #[cfg(any(feature = "tokio", all(unix, feature = "async-io")))]
    pub(super) fn set_peer_gone(&self) {
        lock(&self.rx).gone = true;
        lock(&self.tx).gone = true;
    }

    /// The socket, for the async twin's readiness.
    #[cfg(all(unix, any(feature = "tokio", feature = "async-io")))]
    pub(super) fn socket(&self) -> &LocalSocketStream {
        &self.conn
    }

    /// Reserves `len` bytes of the outgoing ring, to be filled in place and then committed
    /// (see [`WriteGrant`]); waits for the room like a write (the write timeout,
    /// `WouldBlock` when nonblocking, `BrokenPipe` once the peer is gone or stopped
    /// reading). `len` must be from 1 to [`write_capacity`](Self::write_capacity), else
    /// `InvalidInput`. OS calls: only those of a blocked wait (see [`Write`](#impl-Write-for-%26ShmStream)).
    pub fn reserve(&self, len: usize) -> io::Result<WriteGrant<'_>> {
        let len32 = u32::try_from(len)
            .ok()
            .filter(|&n| n > 0 && n <= self.tx_capacity)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "shared memory stream: reserve({len}) outside 1..={}",
                        self.tx_capacity
                    ),
                )
            })?;
        let mut tx = lock(&self.tx);
        let w = self.tx_waiter();
        loop {
            self.writable(&tx)?;
            if tx.ring.free()? >= len32 {
                break;
            }
            self.wait_writable(&mut tx, &w, len32)?;
        }
        Ok(WriteGrant {
            tx,
            shut: &self.tx_shut,
            stream: self,
            len: len32,
        })
    }

    /// The bytes waiting in the incoming ring, to be copied out in place and then consumed
    /// (see [`ReadGrant`]); waits for at least one like a read (the read timeout,
    /// `WouldBlock` when nonblocking). An empty grant is end of file. OS calls: only those of
    /// a blocked wait (see [`Read`](#impl-Read-for-%26ShmStream)).
    pub fn read_grant(&self) -> io::Result<ReadGrant<'_>> {
        let mut rx = lock(&self.rx);
        let w = self.rx_waiter();
        let len = loop {
            if self.rx_shut.load(Ordering::Relaxed) {
                break 0;
            }
            let n = rx.ring.available()?;
            if n > 0 || rx.gone {
                break n;
            }
            if rx.ring.peer_closed() {
                break rx.ring.available()?;
            }
            self.wait_readable(&mut rx, &w)?;
        };
        Ok(ReadGrant {
            rx,
            stream: self,
            len,
        })
    }

    /// Shuts down one or both directions (no OS call; a wake-up if the peer sleeps, as a
    /// write makes). `Write`: the peer reads what was written, then end of file; further
    /// writes here are `BrokenPipe`. `Read`: reads here return end of file at once, and the
    /// peer's writes fail with `BrokenPipe`. Never waits for a call in progress: one blocked
    /// in another thread on that direction returns within one wait slice (25 ms), and a
    /// [`WriteGrant`] committed afterwards is `BrokenPipe`. The socket stays open.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            self.tx_shut.store(true, Ordering::SeqCst);
            self.tx_closer.close(&self.tx_waiter());
        }
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.rx_shut.store(true, Ordering::SeqCst);
            self.rx_closer.close(&self.rx_waiter());
        }
        Ok(())
    }

    /// Nonblocking mode: reads and writes that would wait fail with `WouldBlock` instead.
    /// No OS call (the stream's own setting; the socket is not changed).
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.nonblocking.store(nonblocking, Ordering::Relaxed);
        Ok(())
    }

    /// The longest a read waits (`None`: no limit, the default); then `TimedOut`.
    /// `Some(Duration::ZERO)` is `InvalidInput`, as for std's sockets. No OS call.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.read_timeout.set(timeout)
    }

    /// The longest a write (or [`reserve`](Self::reserve)) waits for room; then `TimedOut`.
    /// As [`set_read_timeout`](Self::set_read_timeout). No OS call.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.write_timeout.set(timeout)
    }

    /// The read timeout. No OS call.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.read_timeout.get())
    }

    /// The write timeout. No OS call.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.write_timeout.get())
    }

    /// The peer's credentials, from the socket: see
    /// [`LocalSocketStream::peer_creds`] (Linux `getsockopt(SO_PEERCRED)`, BSD/macOS
    /// `getpeereid`, Windows `GetNamedPipeClientProcessId`…).
    pub fn peer_creds(&self) -> io::Result<PeerCreds> {
        self.conn.peer_creds()
    }
}

impl Drop for ShmStream {
    /// Closes both rings (the peer reads what was sent, then end of file; its writes fail
    /// with `BrokenPipe`), waking it if it sleeps; then closes the socket and unmaps the
    /// region (`close`, `munmap`; Windows `CloseHandle`, `UnmapViewOfFile`).
    fn drop(&mut self) {
        self.tx_closer.close(&self.tx_waiter());
        self.rx_closer.close(&self.rx_waiter());
    }
}

impl fmt::Debug for ShmStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShmStream")
            .field("write_capacity", &self.tx_capacity)
            .field("read_capacity", &self.rx_capacity)
            .field("nonblocking", &self.nonblocking.load(Ordering::Relaxed))
            .field("read_timeout", &self.read_timeout.get())
            .field("write_timeout", &self.write_timeout.get())
            .field("conn", &self.conn)
            .finish_non_exhaustive()
    }
}

/// Reads copy out of the incoming ring (relaxed atomic loads; no OS call while bytes are
/// waiting). Blocked: spins for the adaptive budget, then sleeps in slices of at most 25 ms
/// (Linux `futex(FUTEX_WAIT)`, FreeBSD `_umtx_op(UMTX_OP_WAIT_UINT)`, macOS `__ulock_wait`,
/// Windows `WaitForSingleObject` on the ring's event), checking the socket between slices
/// (`recv(MSG_PEEK | MSG_DONTWAIT)`; Windows `PeekNamedPipe`). End of file once the
/// peer shut down its writing side, dropped the stream or died, after everything it
/// published was read. A corrupt ring is `InvalidData`. Consuming wakes a writer that waits
/// for room (`futex(FUTEX_WAKE)`; Windows `SetEvent`; only when it sleeps).
impl Read for &ShmStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_impl(buf)
    }
}

/// As for `&ShmStream`.
impl Read for ShmStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_impl(buf)
    }
}

/// Writes copy into the outgoing ring (as much as fits; relaxed atomic stores) and wake a
/// sleeping reader (Linux `futex(FUTEX_WAKE)`, FreeBSD `_umtx_op(UMTX_OP_WAKE)`, macOS
/// `__ulock_wake`, Windows `SetEvent`, only when it sleeps). A full ring blocks as a read does. `BrokenPipe` once
/// the peer shut down its reading side, dropped the stream or died (noticed when the ring is
/// full). Nothing to flush.
impl Write for &ShmStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_impl(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// As for `&ShmStream`.
impl Write for ShmStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_impl(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
