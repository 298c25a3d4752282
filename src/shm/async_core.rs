//! What the async twins of [`ShmStream`](super::ShmStream) share, whatever the reactor:
//! the fan-out of the socket's one readiness to the reading and the writing task, the drain
//! of doorbells with its budget, and the `poll_read`/`poll_write` loops around the sync
//! stream's `read_or_arm`/`write_or_arm` (see `ring`, "Async sleepers"). A twin gives the
//! reactor's side as a [`Doorbells`]: `shm::tokio` with tokio's `AsyncFd` (Unix) or the
//! tokio named pipe of the connection (Windows), `shm::async_io` with async-io's `Async`.

#[cfg(unix)]
use crate::sys;
use std::io;
#[cfg(unix)]
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll, Wake, Waker};
use std::time::Duration;

/// The longest a twin's `create`/`join` waits for the peer's half of the handshake (the
/// sync stream's read timeout during it; Windows: a `tokio::time::timeout` around each
/// call of the handshake).
pub(super) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Socket reads per poll before a task yields (a peer flooding the socket with noise cannot
/// hold the task).
pub(super) const DRAIN_BUDGET: usize = 16;

/// The reactor's side of the stream's socket (Unix: a duplicate of its descriptor,
/// registered; Windows: the tokio named pipe itself, on which mio keeps a read in flight).
pub(super) trait Doorbells {
    /// Polls the socket for readability with `cx` (always the fan-out waker), after a
    /// [`try_recv`](Self::try_recv) found it empty. `Ready` may be stale (the bytes taken
    /// since), and a wake-up may come without a later `Ready`: the caller tries the `recv`
    /// again either way.
    fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// One nonblocking `recv` of doorbells into `scratch`: the byte count, 0 at end of file.
    /// `WouldBlock` when the socket is empty (or, without a system call, when the reactor
    /// knows it is), and then the next [`poll_readable`](Self::poll_readable) waits for a
    /// byte that arrives later (any readiness the reactor reported is cleared).
    fn try_recv(&self, scratch: &mut [u8]) -> io::Result<usize>;
}

/// Which task waits: an index into [`Fanout`].
const RX: usize = 0;
const TX: usize = 1;

/// The wakers of the reading and the writing task. The socket has one readiness, and its
/// doorbells do not say which ring they are for, so both tasks are woken by every readiness
/// event; and a task that drains doorbells wakes the other one, which may have been waiting
/// for what it took (an event whose bytes were drained before the reactor saw it is never
/// reported: `epoll` re-checks readiness when it reports). The registration holds this one
/// waker, never a task's own: async-io keeps one waker per direction and wakes the one it
/// replaces, so two tasks polling with their own wakers would wake each other for ever.
#[derive(Debug, Default)]
struct Fanout {
    wakers: Mutex<[Option<Waker>; 2]>,
}

impl Fanout {
    fn lock(&self) -> MutexGuard<'_, [Option<Waker>; 2]> {
        self.wakers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `waker` as the one to wake for `dir` (no clone if it is already the one).
    fn register(&self, dir: usize, waker: &Waker) {
        let mut w = self.lock();
        if !w[dir].as_ref().is_some_and(|old| old.will_wake(waker)) {
            w[dir] = Some(waker.clone());
        }
    }

    /// Wakes the task waiting for `dir`, if any.
    fn wake_dir(&self, dir: usize) {
        let waker = self.lock()[dir].take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Wake for Fanout {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        let [rx, tx] = std::mem::take(&mut *self.lock());
        for w in [rx, tx].into_iter().flatten() {
            w.wake();
        }
    }
}

/// A set-up sync stream with its socket registered with a reactor: the body of both twins.
pub(super) struct AsyncShm<D> {
    ready: D,
    /// The reading and the writing task's wakers, both woken by any readiness event.
    fanout: Arc<Fanout>,
    /// `fanout` as the one waker the registration holds.
    fanout_waker: Waker,
    inner: super::ShmStream,
}

impl<D: Doorbells> AsyncShm<D> {
    /// Makes the socket of a set-up sync stream nonblocking (only `MSG_DONTWAIT` calls are
    /// made on it afterwards; the handshake's read timeout removed) and gives a duplicate of
    /// its descriptor (`fcntl(F_DUPFD_CLOEXEC)`) to `register`.
    #[cfg(unix)]
    pub(super) fn new(
        inner: super::ShmStream,
        register: impl FnOnce(OwnedFd) -> io::Result<D>,
    ) -> io::Result<Self> {
        let sock = inner.socket();
        sock.set_read_timeout(None)?;
        sock.set_nonblocking(true)?;
        let ready = register(sock.as_fd().try_clone_to_owned()?)?;
        Ok(Self::with_doorbells(inner, ready))
    }

    /// A set-up sync stream with the reactor's side of its connection, ready as it is.
    pub(super) fn with_doorbells(inner: super::ShmStream, ready: D) -> Self {
        let fanout = Arc::new(Fanout::default());
        AsyncShm {
            ready,
            fanout_waker: Waker::from(Arc::clone(&fanout)),
            fanout,
            inner,
        }
    }

    /// The sync stream (capacities, shutdown, credentials).
    pub(super) fn inner(&self) -> &super::ShmStream {
        &self.inner
    }

    /// Reads into `buf`; `Pending` with the ring's flag armed and the socket watched.
    pub(super) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut budget = DRAIN_BUDGET;
        loop {
            // Registered just before arming (not while bytes are there): whoever takes the
            // doorbell this arming asks for then wakes us.
            let register = || self.fanout.register(RX, cx.waker());
            if let Some(n) = self.inner.read_or_arm(buf, register)? {
                return Poll::Ready(Ok(n));
            }
            ready!(self.poll_doorbells(cx, RX, &mut budget))?;
        }
    }

    /// Writes from `buf`; `Pending` as for reads, when the ring is full.
    pub(super) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let mut budget = DRAIN_BUDGET;
        loop {
            let register = || self.fanout.register(TX, cx.waker());
            if let Some(n) = self.inner.write_or_arm(buf, register)? {
                return Poll::Ready(Ok(n));
            }
            ready!(self.poll_doorbells(cx, TX, &mut budget))?;
        }
    }

    /// After the ring was armed and found unchanged: drains the socket, and waits for it to
    /// be readable (the fan-out waker registered with the reactor) only once a `recv` found
    /// it empty. `Ready` when doorbells were taken (the caller re-checks the ring; the other
    /// direction's task is woken, the doorbell may have been its) or the peer is gone.
    ///
    /// The `recv` comes first, as async-io's own `Async` I/O does, because a wake-up is the
    /// signal, not the readiness a reactor reports: async-io's `poll_readable` is `Ready` only
    /// for an event of a reactor tick after the one it registered in, so a task woken by an
    /// event that came in the tick it registered in would find it `Pending` again, register
    /// anew (in the reactor's next tick, which is blocked in `epoll_wait` by then on one
    /// CPU), and never be `Ready`: a livelock seen when pinned to one CPU. tokio's
    /// `try_io` makes no system call while its readiness is clear, so the order costs it
    /// nothing.
    ///
    /// A task sleeps only after arming, re-checking the ring and a `recv` that found the
    /// socket empty: a doorbell sent after that finds the registration armed (async-io
    /// re-arms it one-shot, level-triggered, so a byte already there is reported; tokio
    /// cleared its readiness on the `EAGAIN` only if no newer event came), and one that a
    /// task drains wakes the other. `budget` bounds the `recv` calls of one poll: spent,
    /// the task yields (`Pending`, woken at once), so a peer flooding the socket with noise
    /// cannot hold it.
    fn poll_doorbells(
        &self,
        cx: &mut Context<'_>,
        dir: usize,
        budget: &mut usize,
    ) -> Poll<io::Result<()>> {
        let other = 1 - dir;
        let mut scratch = [0u8; 64];
        loop {
            let mut consumed = false;
            loop {
                if *budget == 0 {
                    self.fanout.wake_dir(other);
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                *budget -= 1;
                match self.ready.try_recv(&mut scratch) {
                    Ok(0) => return self.peer_gone(other),
                    Ok(_) => consumed = true,
                    Err(e) => match e.kind() {
                        io::ErrorKind::Interrupted => {}
                        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => {
                            return self.peer_gone(other);
                        }
                        io::ErrorKind::WouldBlock => break,
                        _ => return Poll::Ready(Err(e)),
                    },
                }
            }
            if consumed {
                self.fanout.wake_dir(other);
                return Poll::Ready(Ok(()));
            }
            let mut fan_cx = Context::from_waker(&self.fanout_waker);
            ready!(self.ready.poll_readable(&mut fan_cx))?;
        }
    }

    /// End of file or a reset on the socket: reads end, writes fail; the other task is told.
    fn peer_gone(&self, other: usize) -> Poll<io::Result<()>> {
        self.inner.set_peer_gone();
        self.fanout.wake_dir(other);
        Poll::Ready(Ok(()))
    }
}

/// One `recv(MSG_DONTWAIT)` of doorbells on `fd` (`sys::shm::recv_doorbells`).
#[cfg(unix)]
pub(super) fn recv_doorbells(fd: &impl AsFd, scratch: &mut [u8]) -> io::Result<usize> {
    sys::shm::recv_doorbells(fd.as_fd(), scratch)
}

/// The core against a reactor that reports nothing: the cross-task wake, deterministic.
#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;
    use crate::local_socket::{LocalSocketListener, LocalSocketStream};
    use crate::shm::{ShmOptions, ShmStream};
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A reactor that never reports readiness: only the core's own wake-ups move tasks.
    struct Silent(OwnedFd);

    impl Doorbells for Silent {
        fn poll_readable(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Pending
        }
        fn try_recv(&self, scratch: &mut [u8]) -> io::Result<usize> {
            recv_doorbells(&self.0, scratch)
        }
    }

    #[derive(Default)]
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A (creator, joiner) pair of sync streams with 4 KiB rings.
    fn pair() -> (ShmStream, ShmStream) {
        let name = format!("@localipc-unit-async-core-{}", std::process::id());
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        let client = LocalSocketStream::connect(name.as_str()).unwrap();
        let server = listener.accept().unwrap();
        let joiner = std::thread::spawn(move || ShmStream::join(server).unwrap());
        let mut opts = ShmOptions::new();
        opts.capacity(4096);
        (
            ShmStream::create(client, &opts).unwrap(),
            joiner.join().unwrap(),
        )
    }

    /// The writing task takes the doorbell rung for the reading task (the reactor has not
    /// reported it: no waker of the registration was woken): it must wake the reader, or
    /// the reader sleeps with its byte in the ring. Fails without `wake_dir(other)` after
    /// doorbells were taken in `poll_doorbells`.
    #[test]
    fn a_task_draining_the_others_doorbell_wakes_it() {
        let (a, b) = pair();
        let core = AsyncShm::new(a, |fd| Ok(Silent(fd))).unwrap();
        let (rx, tx) = (Arc::new(Count::default()), Arc::new(Count::default()));
        let (rx_waker, tx_waker) = (Waker::from(Arc::clone(&rx)), Waker::from(Arc::clone(&tx)));
        let mut rcx = Context::from_waker(&rx_waker);
        let mut tcx = Context::from_waker(&tx_waker);
        // The writer fills the ring and waits; the reader finds nothing and waits.
        assert!(matches!(
            core.poll_write(&mut tcx, &[0; 4096]),
            Poll::Ready(Ok(4096))
        ));
        assert!(core.poll_write(&mut tcx, b"x").is_pending());
        let mut buf = [0u8; 8];
        assert!(core.poll_read(&mut rcx, &mut buf).is_pending());
        // The peer publishes a byte and rings the reader's doorbell.
        (&b).write_all(b"y").unwrap();
        // The writer polls again first (woken by anything) and drains the doorbell.
        assert!(core.poll_write(&mut tcx, b"x").is_pending());
        assert_eq!(rx.0.load(Ordering::SeqCst), 1, "the reader was not woken");
        assert!(matches!(
            core.poll_read(&mut rcx, &mut buf),
            Poll::Ready(Ok(1))
        ));
        assert_eq!(buf[0], b'y');
    }
}
