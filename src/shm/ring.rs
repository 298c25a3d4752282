//! A single-producer single-consumer byte ring over a shared region that a hostile peer can
//! write at any time.
//!
//! # Layout
//! | offset | word | written by |
//! |---|---|---|
//! | 0 | `head: u32`, the consumer's index (bytes read, wrapping) | consumer |
//! | 4 | consumer closed: `u32`, not 0 once the consumer is gone | consumer |
//! | 128 | `tail: u32`, the producer's index (bytes written, wrapping) | producer |
//! | 132 | producer closed: `u32`, not 0 once the producer wrote its last byte | producer |
//! | 256 | consumer's wake flag, `u64` | consumer |
//! | 384 | producer's wake flag, `u64` | producer |
//! | 512 | data, `capacity` bytes (a power of two, at most 2^30) | both |
//!
//! Each word is on its own 128-byte line. A side keeps its own index privately and only
//! publishes it; it never reads it back from the region, so a peer that overwrites it only
//! confuses itself. The opposite index is cached and re-read only when the cache cannot serve
//! the call; every value read is validated (`tail - head <= capacity`, wrapping) before any
//! byte is copied, and a bad one is [`ErrorKind::InvalidData`](io::ErrorKind::InvalidData).
//!
//! # Hostile peer
//! Shared words are touched only through atomics (`AtomicU32`/`AtomicU64` on the naturally
//! aligned header words; atomics may alias with the other process). Data bytes too are moved
//! with relaxed atomic loads and stores (8 bytes at a time where aligned, see
//! [`store_shared`]/[`load_shared`]) between a private buffer and the data area, at offsets
//! reduced modulo the capacity, so no index the peer wrote can move a copy out of the data
//! area, a peer writing the same bytes at the same moment is no data race, and no Rust
//! reference to shared bytes is ever formed.
//!
//! # Wake protocol (no lost wake-ups)
//! The sleeper owns its flag; the waker never clears it. A sleeper (a consumer finding the
//! ring empty, a producer finding it full) stores `episode << 32 | index it saw` in its flag,
//! with `episode` a private counter that is never 0 (so two successive sleeps never store the
//! same value), re-checks the opposite index, and only if it is unchanged waits on that index
//! word with [`Waiter::wait`], which returns at once if the word no longer holds the index it
//! saw. It clears its flag (0) when the wait returns. A waker publishes its index, then reads
//! the peer's flag and calls [`Waiter::wake`] when the flag names an older index than the one
//! just published, once per flag value. Index publish, flag store and both re-reads are
//! `SeqCst`, so of the sleeper's "flag then index" and the waker's "index then flag" at least
//! one side sees the other's store. A flag whose episode is 0 but which is not 0, or whose
//! index lies outside the range an honest peer could have seen, is `InvalidData`.
//!
//! A peer that scribbles over our flag can make us miss a wake-up; every wait therefore takes
//! a timeout and the caller loops, so that costs at most one timeout, never a hang.
//!
//! # Async sleepers
//! A task cannot sleep on the index word: it must return and be woken by its runtime. So it
//! *arms* instead: it stores its flag as a sleeper does but with the [`ASYNC`] bit in the
//! episode, re-checks the same way, and if nothing changed returns `Pending` with the flag
//! left set, its runtime watching the socket. A waker that finds such a flag calls
//! [`Waiter::doorbell`] (a byte sent on the socket) instead of [`Waiter::wake`], once per
//! flag value like any wake. The task clears its flag once it makes progress. Before it
//! re-checks the ring it must have drained the socket and cleared its readiness, so that a
//! doorbell sent after the re-check finds it waiting (the same order as flag-then-index).
//!
//! # Closing
//! An end that is done stores a non-zero closed word (after its last index publish), then
//! wakes the peer if the peer's flag is set. A sleeper re-checks the peer's closed word after
//! storing its flag, as it re-checks the index. The word it then sleeps on does not change on
//! a close, so a close that lands between that re-check and the start of the wait is noticed
//! at the wait's timeout (the caller's wait slice), never later. A peer that sets its closed
//! word early only cuts its own stream short: the consumer still reads everything published
//! before it sees the word (end of file), and a producer gets `BrokenPipe`.

use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::time::Duration;

/// Offset of the consumer's index (`head`).
const HEAD: usize = 0;
/// Offset of the consumer's closed word.
const CONSUMER_CLOSED: usize = 4;
/// Offset of the producer's index (`tail`).
const TAIL: usize = 128;
/// Offset of the producer's closed word.
const PRODUCER_CLOSED: usize = 132;
/// Offset of the consumer's wake flag.
const CONSUMER_FLAG: usize = 256;
/// Offset of the producer's wake flag.
const PRODUCER_FLAG: usize = 384;
/// Bytes before the data area.
pub(crate) const HEADER_LEN: usize = 512;
/// The largest data capacity: indices are `u32` and `tail - head` must stay unambiguous.
pub(crate) const MAX_CAPACITY: u32 = 1 << 30;

/// How a side sleeps until the peer changes an index word, and wakes a sleeping peer.
pub(crate) trait Waiter {
    /// Sleeps while `word` holds `expected`, at most `timeout` (`None`: no limit). May return
    /// early (spuriously, on a signal, at the timeout) with `Ok`: the caller re-checks.
    fn wait(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> io::Result<()>;
    /// Wakes whoever sleeps on `word`.
    fn wake(&self, word: &AtomicU32);
    /// Wakes a peer that waits on the socket rather than on `word` (an async task: its flag
    /// has [`ASYNC`] set). The stream's waiter (`shm::bell::Bell`) sends a byte on the
    /// socket; waiters that never face such a peer (the ring's own tests) keep the default,
    /// a plain [`wake`](Self::wake).
    fn doorbell(&self, word: &AtomicU32) {
        self.wake(word);
    }
}

/// The bit of a flag's episode that says its sleeper waits on the socket, not on the index
/// word: an async task (see "Async sleepers" in the module docs).
pub(crate) const ASYNC: u32 = 1 << 31;

/// The `InvalidData` error for a value the peer wrote into the shared header.
fn corrupt(what: &str, value: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("shared-memory ring: corrupt {what} {value:#x} written by the peer"),
    )
}

/// Splits a flag into (episode, index).
fn split_flag(flag: u64) -> (u32, u32) {
    let [a, b, c, d, e, f, g, h] = flag.to_le_bytes();
    (
        u32::from_le_bytes([e, f, g, h]),
        u32::from_le_bytes([a, b, c, d]),
    )
}

/// A `u32` index or length as a `usize` (lossless on every target this crate builds for).
fn to_usize(x: u32) -> usize {
    usize::try_from(x).unwrap_or(usize::MAX)
}

/// The region: its base and data capacity, checked once at construction.
#[derive(Debug, Clone, Copy)]
struct Region {
    base: NonNull<u8>,
    capacity: u32,
}

impl Region {
    /// # Safety
    /// `base` must be valid for reads and writes of `len` bytes for as long as the returned
    /// value (or anything built on it) is used; other processes may write it at any time.
    unsafe fn new(base: *mut u8, len: usize, capacity: u32) -> io::Result<Self> {
        let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
        let base =
            NonNull::new(base).ok_or_else(|| invalid("shared-memory ring: null region".into()))?;
        if base.as_ptr().align_offset(8) != 0 {
            return Err(invalid(
                "shared-memory ring: region not 8-byte aligned".into(),
            ));
        }
        if !capacity.is_power_of_two() || capacity > MAX_CAPACITY {
            return Err(invalid(format!(
                "shared-memory ring: capacity {capacity} is not a power of two up to {MAX_CAPACITY}"
            )));
        }
        if len < HEADER_LEN || len - HEADER_LEN < to_usize(capacity) {
            return Err(invalid(format!(
                "shared-memory ring: region of {len} bytes too small for capacity {capacity}"
            )));
        }
        Ok(Region { base, capacity })
    }

    fn word32(&self, offset: usize) -> &AtomicU32 {
        // SAFETY: offset is one of the header constants, inside the checked region and 4-byte
        // aligned (the base is 8-aligned); the region outlives `self` (contract of `new`);
        // an atomic may alias with the peer's accesses.
        unsafe { &*self.base.as_ptr().add(offset).cast::<AtomicU32>() }
    }

    fn word64(&self, offset: usize) -> &AtomicU64 {
        // SAFETY: as in `word32`; the flag offsets are 8-byte aligned.
        unsafe { &*self.base.as_ptr().add(offset).cast::<AtomicU64>() }
    }

    /// Copies `src` (at most `capacity` bytes) into the data area starting at index `pos`.
    fn copy_in(&self, pos: u32, src: &[u8]) {
        let cap = to_usize(self.capacity);
        debug_assert!(src.len() <= cap);
        let off = to_usize(pos & (self.capacity - 1));
        let first = src.len().min(cap - off);
        // SAFETY: off < cap and off + first <= cap, and src.len() - first <= cap - first
        // <= cap: both copies stay in the data area, which lies inside the checked region
        // (valid for reads and writes for the ring's life).
        unsafe {
            let data = self.base.as_ptr().add(HEADER_LEN);
            store_shared(data.add(off), &src[..first]);
            store_shared(data, &src[first..]);
        }
    }

    /// Copies `dst.len()` (at most `capacity`) bytes out of the data area from index `pos`.
    fn copy_out(&self, pos: u32, dst: &mut [u8]) {
        let cap = to_usize(self.capacity);
        debug_assert!(dst.len() <= cap);
        let off = to_usize(pos & (self.capacity - 1));
        let first = dst.len().min(cap - off);
        // SAFETY: as in `copy_in`, with the data area as source and a private buffer as
        // destination.
        unsafe {
            let data = self.base.as_ptr().add(HEADER_LEN);
            let (head, rest) = dst.split_at_mut(first);
            load_shared(data.add(off), head);
            load_shared(data, rest);
        }
    }
}

/// Zeroes the header of a fresh region (indices 0, flags clear). The creating side calls it
/// once before either end is used.
///
/// # Safety
/// As [`Producer::new`].
pub(crate) unsafe fn init(base: *mut u8, len: usize, capacity: u32) -> io::Result<()> {
    // SAFETY: forwarded contract.
    let r = unsafe { Region::new(base, len, capacity)? };
    r.word32(HEAD).store(0, Ordering::SeqCst);
    r.word32(TAIL).store(0, Ordering::SeqCst);
    r.word32(CONSUMER_CLOSED).store(0, Ordering::SeqCst);
    r.word32(PRODUCER_CLOSED).store(0, Ordering::SeqCst);
    r.word64(CONSUMER_FLAG).store(0, Ordering::SeqCst);
    r.word64(PRODUCER_FLAG).store(0, Ordering::SeqCst);
    Ok(())
}

/// The next sleep episode: never 0, and never with the [`ASYNC`] bit (which `arm` adds).
fn next_episode(e: u32) -> u32 {
    let next = (e & !ASYNC).wrapping_add(1) & !ASYNC;
    if next == 0 {
        1
    } else {
        next
    }
}

/// Wakes the sleeper whose flag is `flag` (not 0): on the socket if it is an async task,
/// else on `word`.
fn wake_flagged(flag: u64, word: &AtomicU32, waiter: &impl Waiter) {
    if split_flag(flag).0 & ASYNC != 0 {
        waiter.doorbell(word);
    } else {
        waiter.wake(word);
    }
}

/// One end's part of the wake protocol (module docs), the same for both ends: its own sleep
/// episodes, and the last flag value of the peer's that it woke the peer for.
#[derive(Debug, Default)]
struct WakeState {
    episode: u32,
    last_woken: u64,
}

impl WakeState {
    /// After publishing our index `mine` (in the word at `my_word`): wakes the peer if its
    /// flag (at `peer_flag`) names an older index, once per flag value; never clears the flag.
    /// A flag no honest peer could have written is `InvalidData`, naming `what`.
    fn wake_peer(
        &mut self,
        r: Region,
        peer_flag: usize,
        my_word: usize,
        mine: u32,
        what: &str,
        waiter: &impl Waiter,
    ) -> io::Result<()> {
        let flag = r.word64(peer_flag).load(Ordering::SeqCst);
        if flag == 0 {
            self.last_woken = 0;
            return Ok(());
        }
        if flag == self.last_woken {
            return Ok(());
        }
        let (episode, seen) = split_flag(flag);
        if episode == 0 || mine.wrapping_sub(seen) > r.capacity {
            return Err(corrupt(what, flag));
        }
        if seen != mine {
            wake_flagged(flag, r.word32(my_word), waiter);
            self.last_woken = flag;
        }
        Ok(())
    }

    /// Sleeps (at most `timeout`) until the peer's index (the word at `peer_word`) moves from
    /// `seen`: stores our flag (at `my_flag`) naming `seen` in a new episode, re-checks with
    /// `still` (the index, validated, still `seen` and the peer not closed), waits only if
    /// that holds, and clears our own flag afterwards, on every path.
    #[allow(clippy::too_many_arguments)] // the words of the side, then the wait's inputs
    fn sleep(
        &mut self,
        r: Region,
        my_flag: usize,
        peer_word: usize,
        seen: u32,
        waiter: &impl Waiter,
        timeout: Option<Duration>,
        still: impl FnOnce() -> io::Result<bool>,
    ) -> io::Result<()> {
        self.episode = next_episode(self.episode);
        let flag = r.word64(my_flag);
        flag.store(
            u64::from(self.episode) << 32 | u64::from(seen),
            Ordering::SeqCst,
        );
        let result = match still() {
            Ok(true) => waiter.wait(r.word32(peer_word), seen, timeout),
            Ok(false) => Ok(()),
            Err(e) => Err(e),
        };
        flag.store(0, Ordering::SeqCst);
        result
    }

    #[cfg(any(test, feature = "tokio", all(unix, feature = "async-io")))]
    /// Arms an async wait (module docs, "Async sleepers"): stores our flag naming `seen` in a
    /// new episode with [`ASYNC`] set, then re-checks with `still`. `Ok(true)`: still
    /// unchanged, the flag stays set until [`disarm`](Self::disarm); `Ok(false)` or an
    /// error: the flag is cleared again.
    fn arm(
        &mut self,
        r: Region,
        my_flag: usize,
        seen: u32,
        still: impl FnOnce() -> io::Result<bool>,
    ) -> io::Result<bool> {
        self.episode = next_episode(self.episode);
        let flag = r.word64(my_flag);
        flag.store(
            u64::from(self.episode | ASYNC) << 32 | u64::from(seen),
            Ordering::SeqCst,
        );
        let armed = still();
        if !matches!(armed, Ok(true)) {
            flag.store(0, Ordering::SeqCst);
        }
        armed
    }

    #[cfg(any(test, feature = "tokio", all(unix, feature = "async-io")))]
    /// Clears our flag (no more doorbells wanted).
    fn disarm(r: Region, my_flag: usize) {
        r.word64(my_flag).store(0, Ordering::SeqCst);
    }
}

/// The writing end of a ring.
#[derive(Debug)]
pub(crate) struct Producer {
    r: Region,
    /// Our index, private; published to `TAIL`.
    tail: u32,
    /// The consumer's index as last read and validated.
    head: u32,
    wake: WakeState,
}

// SAFETY: the region pointer is only used through atomics and copies that are sound from any
// thread; the contract of `new` makes the region live as long as the value.
unsafe impl Send for Producer {}

impl Producer {
    /// The producer of a ring whose header was [`init`]ialized.
    ///
    /// # Safety
    /// `base` must be valid for reads and writes of `len` bytes for the whole life of the
    /// returned value; the peer may write it at any time (that is not undefined behaviour for
    /// us beyond the data area's bytes, which we only copy). One producer per ring.
    pub(crate) unsafe fn new(base: *mut u8, len: usize, capacity: u32) -> io::Result<Self> {
        Ok(Producer {
            // SAFETY: forwarded contract.
            r: unsafe { Region::new(base, len, capacity)? },
            tail: 0,
            head: 0,
            wake: WakeState::default(),
        })
    }

    /// The consumer's index, read and validated against our index `tail`.
    fn consumer_index(r: Region, tail: u32, order: Ordering) -> io::Result<u32> {
        let head = r.word32(HEAD).load(order);
        if tail.wrapping_sub(head) > r.capacity {
            return Err(corrupt("consumer index", u64::from(head)));
        }
        Ok(head)
    }

    /// Reads and validates the consumer's index; returns the free space.
    fn refresh(&mut self, order: Ordering) -> io::Result<u32> {
        self.head = Self::consumer_index(self.r, self.tail, order)?;
        Ok(self.r.capacity - self.tail.wrapping_sub(self.head))
    }

    /// Copies as much of `buf` as fits, publishes it and wakes a sleeping consumer. `Ok(0)`
    /// when the ring is full (or `buf` is empty); never blocks.
    pub(crate) fn write(&mut self, buf: &[u8], waiter: &impl Waiter) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let want = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let mut free = self.cached_free();
        if free < want {
            free = self.refresh(Ordering::Acquire)?;
        }
        let n = free.min(want);
        if n == 0 {
            return Ok(0);
        }
        self.r.copy_in(self.tail, &buf[..to_usize(n)]);
        self.commit(n, waiter)?;
        Ok(to_usize(n))
    }

    /// The free space as last seen (no shared read).
    fn cached_free(&self) -> u32 {
        self.r.capacity - self.tail.wrapping_sub(self.head)
    }

    /// The free space now: re-reads (and validates) the consumer's index.
    pub(crate) fn free(&mut self) -> io::Result<u32> {
        self.refresh(Ordering::Acquire)
    }

    /// Copies `src` into the free space at `offset` bytes past the published end, without
    /// publishing it (a write grant's bytes). `InvalidInput` unless `offset + src.len()` is
    /// within the free space last seen by [`free`](Self::free) or a write.
    pub(crate) fn stage(&mut self, offset: u32, src: &[u8]) -> io::Result<()> {
        let end = u32::try_from(src.len())
            .ok()
            .and_then(|n| n.checked_add(offset));
        if end.is_none_or(|end| end > self.cached_free()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "shared-memory ring: staged bytes beyond the reserved space",
            ));
        }
        self.r.copy_in(self.tail.wrapping_add(offset), src);
        Ok(())
    }

    /// Publishes the next `n` bytes (copied in by [`stage`](Self::stage) or `write`) and
    /// wakes a sleeping consumer. `InvalidInput` if `n` exceeds the free space last seen.
    pub(crate) fn commit(&mut self, n: u32, waiter: &impl Waiter) -> io::Result<()> {
        if n > self.cached_free() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "shared-memory ring: commit beyond the reserved space",
            ));
        }
        if n == 0 {
            return Ok(());
        }
        self.tail = self.tail.wrapping_add(n);
        self.r.word32(TAIL).store(self.tail, Ordering::SeqCst);
        self.wake.wake_peer(
            self.r,
            CONSUMER_FLAG,
            TAIL,
            self.tail,
            "consumer wake flag",
            waiter,
        )
    }

    /// Marks the ring closed for writing (the consumer reads what was published, then end of
    /// file) and wakes a sleeping consumer.
    #[cfg(test)]
    pub(crate) fn close(&mut self, waiter: &impl Waiter) {
        self.closer().close(waiter);
    }

    /// What closes this end, usable while another thread holds the end itself.
    pub(crate) fn closer(&self) -> Closer {
        Closer {
            r: self.r,
            closed: PRODUCER_CLOSED,
            peer_flag: CONSUMER_FLAG,
            my_word: TAIL,
        }
    }

    /// Whether the consumer has closed its end (then nothing written will be read).
    pub(crate) fn peer_closed(&self) -> bool {
        self.r.word32(CONSUMER_CLOSED).load(Ordering::SeqCst) != 0
    }

    /// Whether anything can be written now, after sleeping at most `timeout` if the ring is
    /// full. `Ok(false)`: still full (timed out, or woken spuriously); the caller loops.
    #[cfg(test)]
    pub(crate) fn wait_writable(
        &mut self,
        waiter: &impl Waiter,
        timeout: Option<Duration>,
    ) -> io::Result<bool> {
        self.wait_free(1, waiter, timeout)
    }

    /// Whether `want` bytes are free now, after sleeping at most `timeout` (until the
    /// consumer's index moves, or it closes) if not. `Ok(false)`: not yet; the caller loops.
    pub(crate) fn wait_free(
        &mut self,
        want: u32,
        waiter: &impl Waiter,
        timeout: Option<Duration>,
    ) -> io::Result<bool> {
        if self.refresh(Ordering::Acquire)? >= want {
            return Ok(true);
        }
        let (r, tail, seen) = (self.r, self.tail, self.head);
        self.wake
            .sleep(r, PRODUCER_FLAG, HEAD, seen, waiter, timeout, || {
                Ok(Self::consumer_index(r, tail, Ordering::SeqCst)? == seen
                    && r.word32(CONSUMER_CLOSED).load(Ordering::SeqCst) == 0)
            })?;
        Ok(self.refresh(Ordering::Acquire)? >= want)
    }
}

#[cfg(any(test, feature = "tokio", all(unix, feature = "async-io")))]
impl Producer {
    /// Arms an async wait for `want` free bytes (module docs, "Async sleepers"). `Ok(true)`:
    /// armed, the flag set until [`disarm`](Self::disarm); `Ok(false)`: the room is there or
    /// the consumer closed, and no flag is left set.
    pub(crate) fn arm_free(&mut self, want: u32) -> io::Result<bool> {
        if self.refresh(Ordering::Acquire)? >= want {
            self.disarm();
            return Ok(false);
        }
        let (r, tail, seen) = (self.r, self.tail, self.head);
        self.wake.arm(r, PRODUCER_FLAG, seen, || {
            Ok(Self::consumer_index(r, tail, Ordering::SeqCst)? == seen
                && r.word32(CONSUMER_CLOSED).load(Ordering::SeqCst) == 0)
        })
    }

    /// Clears an armed flag.
    pub(crate) fn disarm(&mut self) {
        WakeState::disarm(self.r, PRODUCER_FLAG);
    }
}

/// The reading end of a ring.
#[derive(Debug)]
pub(crate) struct Consumer {
    r: Region,
    /// Our index, private; published to `HEAD`.
    head: u32,
    /// The producer's index as last read and validated.
    tail: u32,
    wake: WakeState,
}

// SAFETY: as for `Producer`.
unsafe impl Send for Consumer {}

impl Consumer {
    /// The consumer of a ring whose header was [`init`]ialized.
    ///
    /// # Safety
    /// As [`Producer::new`]. One consumer per ring.
    pub(crate) unsafe fn new(base: *mut u8, len: usize, capacity: u32) -> io::Result<Self> {
        Ok(Consumer {
            // SAFETY: forwarded contract.
            r: unsafe { Region::new(base, len, capacity)? },
            head: 0,
            tail: 0,
            wake: WakeState::default(),
        })
    }

    /// The producer's index, read and validated against our index `head`.
    fn producer_index(r: Region, head: u32, order: Ordering) -> io::Result<u32> {
        let tail = r.word32(TAIL).load(order);
        if tail.wrapping_sub(head) > r.capacity {
            return Err(corrupt("producer index", u64::from(tail)));
        }
        Ok(tail)
    }

    /// Reads and validates the producer's index; returns the bytes available.
    fn refresh(&mut self, order: Ordering) -> io::Result<u32> {
        self.tail = Self::producer_index(self.r, self.head, order)?;
        Ok(self.tail.wrapping_sub(self.head))
    }

    /// Copies out as much as is available (up to `buf.len()`), publishes the freed space and
    /// wakes a sleeping producer. `Ok(0)` when the ring is empty (or `buf` is empty); never
    /// blocks.
    pub(crate) fn read(&mut self, buf: &mut [u8], waiter: &impl Waiter) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let want = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        let mut avail = self.tail.wrapping_sub(self.head);
        if avail < want {
            avail = self.refresh(Ordering::Acquire)?;
        }
        let n = avail.min(want);
        if n == 0 {
            return Ok(0);
        }
        self.r.copy_out(self.head, &mut buf[..to_usize(n)]);
        self.consume(n, waiter)?;
        Ok(to_usize(n))
    }

    /// The bytes available now: re-reads (and validates) the producer's index.
    pub(crate) fn available(&mut self) -> io::Result<u32> {
        self.refresh(Ordering::Acquire)
    }

    /// Copies bytes at `offset` past our index into `dst` without consuming them (a read
    /// grant's bytes). `InvalidInput` unless `offset + dst.len()` is within what was last
    /// seen available by [`available`](Self::available) or a read.
    pub(crate) fn peek(&self, offset: u32, dst: &mut [u8]) -> io::Result<()> {
        let end = u32::try_from(dst.len())
            .ok()
            .and_then(|n| n.checked_add(offset));
        if end.is_none_or(|end| end > self.tail.wrapping_sub(self.head)) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "shared-memory ring: peek beyond the available bytes",
            ));
        }
        self.r.copy_out(self.head.wrapping_add(offset), dst);
        Ok(())
    }

    /// Releases the next `n` bytes to the producer and wakes it if it sleeps.
    /// `InvalidInput` if `n` exceeds what was last seen available.
    pub(crate) fn consume(&mut self, n: u32, waiter: &impl Waiter) -> io::Result<()> {
        if n > self.tail.wrapping_sub(self.head) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "shared-memory ring: consume beyond the available bytes",
            ));
        }
        if n == 0 {
            return Ok(());
        }
        self.head = self.head.wrapping_add(n);
        self.r.word32(HEAD).store(self.head, Ordering::SeqCst);
        self.wake.wake_peer(
            self.r,
            PRODUCER_FLAG,
            HEAD,
            self.head,
            "producer wake flag",
            waiter,
        )
    }

    /// Marks the ring closed for reading (the producer's writes fail with `BrokenPipe`) and
    /// wakes a sleeping producer.
    #[cfg(test)]
    pub(crate) fn close(&mut self, waiter: &impl Waiter) {
        self.closer().close(waiter);
    }

    /// What closes this end, usable while another thread holds the end itself.
    pub(crate) fn closer(&self) -> Closer {
        Closer {
            r: self.r,
            closed: CONSUMER_CLOSED,
            peer_flag: PRODUCER_FLAG,
            my_word: HEAD,
        }
    }

    /// Whether the producer has closed its end: once what is available is read, end of file.
    pub(crate) fn peer_closed(&self) -> bool {
        self.r.word32(PRODUCER_CLOSED).load(Ordering::SeqCst) != 0
    }

    /// Whether anything can be read now, after sleeping at most `timeout` if the ring is
    /// empty. `Ok(false)`: still empty; the caller loops.
    pub(crate) fn wait_readable(
        &mut self,
        waiter: &impl Waiter,
        timeout: Option<Duration>,
    ) -> io::Result<bool> {
        if self.refresh(Ordering::Acquire)? > 0 {
            return Ok(true);
        }
        let (r, head, seen) = (self.r, self.head, self.tail);
        self.wake
            .sleep(r, CONSUMER_FLAG, TAIL, seen, waiter, timeout, || {
                Ok(Self::producer_index(r, head, Ordering::SeqCst)? == seen
                    && r.word32(PRODUCER_CLOSED).load(Ordering::SeqCst) == 0)
            })?;
        Ok(self.refresh(Ordering::Acquire)? > 0)
    }
}

#[cfg(any(test, feature = "tokio", all(unix, feature = "async-io")))]
impl Consumer {
    /// Arms an async wait for bytes (module docs, "Async sleepers"). `Ok(true)`: armed, the
    /// flag set until [`disarm`](Self::disarm); `Ok(false)`: bytes are there or the producer
    /// closed, and no flag is left set.
    pub(crate) fn arm_readable(&mut self) -> io::Result<bool> {
        if self.refresh(Ordering::Acquire)? > 0 {
            self.disarm();
            return Ok(false);
        }
        let (r, head, seen) = (self.r, self.head, self.tail);
        self.wake.arm(r, CONSUMER_FLAG, seen, || {
            Ok(Self::producer_index(r, head, Ordering::SeqCst)? == seen
                && r.word32(PRODUCER_CLOSED).load(Ordering::SeqCst) == 0)
        })
    }

    /// Clears an armed flag.
    pub(crate) fn disarm(&mut self) {
        WakeState::disarm(self.r, CONSUMER_FLAG);
    }
}

/// The close of one end of a ring (see "Closing" in the module docs), separate from the end
/// so that `shutdown` can close it while another thread holds the end (a blocked call, a
/// grant). Valid as long as the end it came from may be used.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Closer {
    r: Region,
    /// Our closed word.
    closed: usize,
    /// The peer's wake flag.
    peer_flag: usize,
    /// The index word the peer sleeps on.
    my_word: usize,
}

// SAFETY: only atomics of the region are touched, which is sound from any thread; the region
// lives as long as the end the closer came from (the caller keeps both in one owner).
unsafe impl Send for Closer {}
// SAFETY: as above; `close` takes `&self` and only does atomic operations.
unsafe impl Sync for Closer {}

impl Closer {
    /// Stores the closed word, then wakes the peer if its flag says it sleeps.
    pub(crate) fn close(&self, waiter: &impl Waiter) {
        self.r.word32(self.closed).store(1, Ordering::SeqCst);
        let flag = self.r.word64(self.peer_flag).load(Ordering::SeqCst);
        if flag != 0 {
            wake_flagged(flag, self.r.word32(self.my_word), waiter);
        }
    }
}

/// Stores `src` at `dst` in shared memory with relaxed atomic stores: single bytes up to an
/// 8-byte boundary, then whole `u64` words, then the last bytes. The peer may read or write
/// the same bytes meanwhile; it sees some mix of old and new bytes, never a torn word.
///
/// # Safety
/// `dst..dst + src.len()` must be valid for writes and lie in memory that is only ever
/// accessed atomically (the ring's data area).
unsafe fn store_shared(dst: *mut u8, src: &[u8]) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        // SAFETY: the caller's range is valid for writes; `src` is a private slice.
        unsafe { rep_movsb(dst, src.as_ptr(), src.len()) };
        return;
    }
    #[allow(unreachable_code)]
    let lead = dst.align_offset(8).min(src.len());
    let (first, rest) = src.split_at(lead);
    let mut at = dst;
    for &b in first {
        // SAFETY: `at` is within `dst..dst + src.len()` (caller) and a `u8` is always aligned.
        unsafe { AtomicU8::from_ptr(at) }.store(b, Ordering::Relaxed);
        // SAFETY: stays within, or one past the end of, the caller's range.
        at = unsafe { at.add(1) };
    }
    let mut words = rest.chunks_exact(8);
    for w in &mut words {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(w);
        // SAFETY: `at` is 8-aligned (after `lead` bytes) and `at..at + 8` is in the range.
        unsafe { AtomicU64::from_ptr(at.cast()) }
            .store(u64::from_ne_bytes(bytes), Ordering::Relaxed);
        // SAFETY: stays within, or one past the end of, the caller's range.
        at = unsafe { at.add(8) };
    }
    for &b in words.remainder() {
        // SAFETY: as for the leading bytes.
        unsafe { AtomicU8::from_ptr(at) }.store(b, Ordering::Relaxed);
        // SAFETY: stays within, or one past the end of, the caller's range.
        at = unsafe { at.add(1) };
    }
}

/// Loads `dst.len()` bytes from `src` in shared memory into `dst` with relaxed atomic loads,
/// as [`store_shared`] stores them.
///
/// # Safety
/// `src..src + dst.len()` must be valid for reads and lie in memory that is only ever
/// accessed atomically (the ring's data area).
unsafe fn load_shared(src: *const u8, dst: &mut [u8]) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        // SAFETY: the caller's range is valid for reads; `dst` is a private slice.
        unsafe { rep_movsb(dst.as_mut_ptr(), src, dst.len()) };
        return;
    }
    #[allow(unreachable_code)]
    let lead = src.align_offset(8).min(dst.len());
    let (first, rest) = dst.split_at_mut(lead);
    let mut at = src.cast_mut();
    for b in first {
        // SAFETY: `at` is within `src..src + dst.len()` (caller) and a `u8` is always aligned.
        *b = unsafe { AtomicU8::from_ptr(at) }.load(Ordering::Relaxed);
        // SAFETY: stays within, or one past the end of, the caller's range.
        at = unsafe { at.add(1) };
    }
    let mut words = rest.chunks_exact_mut(8);
    for w in &mut words {
        // SAFETY: `at` is 8-aligned (after `lead` bytes) and `at..at + 8` is in the range.
        let word = unsafe { AtomicU64::from_ptr(at.cast()) }.load(Ordering::Relaxed);
        w.copy_from_slice(&word.to_ne_bytes());
        // SAFETY: stays within, or one past the end of, the caller's range.
        at = unsafe { at.add(8) };
    }
    for b in words.into_remainder() {
        // SAFETY: as for the leading bytes.
        *b = unsafe { AtomicU8::from_ptr(at) }.load(Ordering::Relaxed);
        // SAFETY: stays within, or one past the end of, the caller's range.
        at = unsafe { at.add(1) };
    }
}

/// Copies `len` bytes from `src` to `dst` with one `rep movsb` (x86_64): the copy for the
/// data area where the CPU allows it. Across CPUs it is several times faster than the
/// relaxed 8-byte atomics of the portable loop (`localipc bench --group shm --split`, 64 KiB
/// writes: 6.5 GiB/s with the loop), which the compiler may not merge or vectorise.
///
/// It is sound where a plain `copy_nonoverlapping` would not be: an `asm!` block is opaque
/// to the compiler, and what it does can be written in Rust as a sequence of relaxed atomic
/// byte loads and stores (on x86_64 each byte `movs` moves is such an access, and the
/// ordering is only ever stronger), which may race with the peer's writes. No Rust reference
/// to shared bytes is formed; the peer sees some mix of old and new bytes, as with the loop.
///
/// # Safety
/// `src..src + len` must be valid for reads and `dst..dst + len` for writes, and they must
/// not overlap (one of them is always private memory).
#[cfg(all(target_arch = "x86_64", not(miri)))]
unsafe fn rep_movsb(dst: *mut u8, src: *const u8, len: usize) {
    // SAFETY: the caller's ranges are valid and disjoint; the direction flag is clear on
    // entry to any Rust code (the ABI); `rep movsb` touches only rdi/rsi/rcx (declared
    // clobbered) and no flags.
    unsafe {
        std::arch::asm!(
            "rep movsb",
            inout("rcx") len => _,
            inout("rdi") dst => _,
            inout("rsi") src => _,
            options(nostack, preserves_flags)
        );
    }
}

#[cfg(test)]
mod tests;
