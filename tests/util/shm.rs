//! Helpers of the shared-memory tests: connected pairs, checksums, a small PRNG, and counts
//! of this process's descriptors and mappings for leak checks.

use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
use localipc::shm::{ShmOptions, ShmStream};

/// FNV-1a folded over a stream.
pub(crate) fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The FNV-1a start value.
pub(crate) const FNV0: u64 = 0xcbf2_9ce4_8422_2325;

/// xorshift64*.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform-ish in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }
    pub(crate) fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next().to_le_bytes()[0];
        }
    }
}

/// A connected socket pair through a listener named `name` (kept only for the connect).
pub(crate) fn socket_pair(name: &str) -> (LocalSocketStream, LocalSocketStream) {
    let listener = LocalSocketListener::bind(name).unwrap();
    let client = LocalSocketStream::connect(name).unwrap();
    let server = listener.accept().unwrap();
    (client, server)
}

/// A connected shared-memory pair in this process: (creator, joiner).
pub(crate) fn shm_pair(name: &str, opts: &ShmOptions) -> (ShmStream, ShmStream) {
    let (a, b) = socket_pair(name);
    let joiner = std::thread::spawn(move || ShmStream::join(b).unwrap());
    let creator = ShmStream::create(a, opts).unwrap();
    (creator, joiner.join().unwrap())
}

/// Open descriptors of this process (`/proc/self/fd`).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Mappings of this process (lines of `/proc/self/maps`).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn map_count() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .count()
}

/// Mappings of a memfd region of ours (`/memfd:localipc-shm` in `/proc/self/maps`).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn shm_map_count() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter(|l| l.contains("memfd:localipc-shm"))
        .count()
}
