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

/// Open handles of this process (see `open_handles`).
#[cfg(windows)]
pub(crate) fn fd_count() -> usize {
    super::handles::open_handles()
}

/// The views (`MEM_MAPPED` allocations) of this process, walked with `VirtualQuery`, each
/// with whether it is backed by a file (`K32GetMappedFileNameW` succeeds).
#[cfg(windows)]
fn views() -> Vec<bool> {
    use windows_sys::Win32::System::Memory::{VirtualQuery, MEMORY_BASIC_INFORMATION, MEM_MAPPED};
    use windows_sys::Win32::System::ProcessStatus::K32GetMappedFileNameW;
    use windows_sys::Win32::System::SystemInformation::{GetSystemInfo, SYSTEM_INFO};
    use windows_sys::Win32::System::Threading::GetCurrentProcess;
    let mut info = SYSTEM_INFO::default();
    // SAFETY: `info` is valid for writes.
    unsafe { GetSystemInfo(&mut info) };
    let (mut addr, end) = (
        info.lpMinimumApplicationAddress as usize,
        info.lpMaximumApplicationAddress as usize,
    );
    let mut views = Vec::new();
    while addr < end {
        let mut m = MEMORY_BASIC_INFORMATION::default();
        // SAFETY: any address may be queried; `m` is valid for writes of its size.
        let got = unsafe {
            VirtualQuery(
                addr as *const std::ffi::c_void,
                &mut m,
                std::mem::size_of::<MEMORY_BASIC_INFORMATION>(),
            )
        };
        if got == 0 || m.RegionSize == 0 {
            break;
        }
        if m.Type == MEM_MAPPED && m.BaseAddress == m.AllocationBase {
            let mut name = [0u16; 260];
            // SAFETY: a mapped address of this process; `name` is valid for 260 writes.
            let named = unsafe {
                K32GetMappedFileNameW(GetCurrentProcess(), m.BaseAddress, name.as_mut_ptr(), 260)
            };
            views.push(named != 0);
        }
        addr = m.BaseAddress as usize + m.RegionSize;
    }
    views
}

/// Views mapped into this process (`VirtualQuery`).
#[cfg(windows)]
pub(crate) fn map_count() -> usize {
    views().len()
}

/// Views of paging-file sections (what `ShmStream` maps) in this process.
#[cfg(windows)]
pub(crate) fn shm_map_count() -> usize {
    views().iter().filter(|&&file| !file).count()
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

/// A sync peer on a thread: joins the shared memory set up on the next connection to
/// `listener`, echoes everything with reads of `chunk`, then shuts down its writing.
pub(crate) fn sync_echo_peer(
    listener: LocalSocketListener,
    chunk: usize,
) -> std::thread::JoinHandle<()> {
    use std::io::{Read, Write};
    std::thread::spawn(move || {
        let s = ShmStream::join(listener.accept().unwrap()).unwrap();
        let mut buf = vec![0; chunk];
        loop {
            let k = (&s).read(&mut buf).unwrap();
            if k == 0 {
                break;
            }
            (&s).write_all(&buf[..k]).unwrap();
        }
        s.shutdown(std::net::Shutdown::Write).unwrap();
    })
}
