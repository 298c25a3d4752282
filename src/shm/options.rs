//! [`ShmOptions`]: ring capacity and wait policy.

use super::ring::MAX_CAPACITY;
use std::io;
use std::time::Duration;

/// The default capacity of each direction's ring: 1 MiB.
pub(crate) const DEFAULT_CAPACITY: usize = 1 << 20;
/// The smallest capacity accepted.
pub(crate) const MIN_CAPACITY: usize = 4096;
/// The default spin budget: how long a blocked call polls the ring before it sleeps, at most.
pub(crate) const DEFAULT_SPIN: Duration = Duration::from_micros(50);

/// Options for [`ShmStream::create`](super::ShmStream::create): the ring capacity of each
/// direction and how long a blocked call spins before it sleeps. The joining side takes the
/// capacities the creator chose, and its own wait policy
/// ([`ShmStream::join_with`](super::ShmStream::join_with)).
///
/// ```
/// use localipc::shm::ShmOptions;
/// use std::time::Duration;
/// let mut opts = ShmOptions::new();
/// opts.capacity(64 * 1024).spin(Duration::ZERO); // 64 KiB each way, never spin
/// # let _ = opts;
/// ```
#[derive(Debug, Clone)]
pub struct ShmOptions {
    pub(crate) capacity: usize,
    pub(crate) spin: Duration,
}

impl Default for ShmOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl ShmOptions {
    /// The defaults: 1 MiB per direction; spin up to 50 µs, adaptively (see
    /// [`spin`](Self::spin)). No OS call.
    pub fn new() -> Self {
        ShmOptions {
            capacity: DEFAULT_CAPACITY,
            spin: DEFAULT_SPIN,
        }
    }

    /// The ring capacity of each direction, in bytes: a power of two from 4 KiB to 1 GiB;
    /// anything else makes [`create`](super::ShmStream::create) fail with `InvalidInput`. A
    /// write larger than the capacity is written in parts, as on a socket. No OS call.
    pub fn capacity(&mut self, bytes: usize) -> &mut Self {
        self.capacity = bytes;
        self
    }

    /// The longest a blocked read or write polls the ring before it sleeps in the kernel
    /// (default 50 µs). Spinning saves the wake-up (tens of µs across CPUs) when the peer
    /// answers quickly; the policy adapts: a spin that ends without the peer having moved
    /// halves the next budget (down to none, probing again now and then), one that succeeds
    /// doubles it back up to this bound, and with a single CPU available
    /// (`sched_getaffinity`/`available_parallelism`) nothing spins. `Duration::ZERO`: never
    /// spin. Only the start of a blocking call spins, so an idle blocked pair sleeps. No OS
    /// call.
    pub fn spin(&mut self, max: Duration) -> &mut Self {
        self.spin = max;
        self
    }

    /// The capacity as the ring's `u32`, or `InvalidInput`.
    pub(crate) fn checked_capacity(&self) -> io::Result<u32> {
        let c = self.capacity;
        u32::try_from(c)
            .ok()
            .filter(|&c32| valid_capacity(c32))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "shared memory: capacity {c} is not a power of two from \
                         {MIN_CAPACITY} to {MAX_CAPACITY} bytes"
                    ),
                )
            })
    }
}

/// Whether a ring capacity is acceptable (both for our options and from the peer).
pub(crate) fn valid_capacity(c: u32) -> bool {
    c.is_power_of_two() && usize::try_from(c).is_ok_and(|c| c >= MIN_CAPACITY) && c <= MAX_CAPACITY
}
