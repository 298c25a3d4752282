//! `localipc::shm`: no allocation per message on the data path. A counting global allocator
//! watches 10,000 round trips (a write and a read on each side, through small rings so that
//! both sides also wait and wake) after a warm-up: the count must not move. Its own test
//! binary, with one test, so that nothing else allocates meanwhile.
#![cfg(any(target_os = "linux", target_os = "android", windows))]

mod util;

use localipc::shm::ShmOptions;
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use util::shm::shm_pair;
use util::{bounded, unique, LIMIT};

/// The system allocator, counting allocations.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed to `System` unchanged; the counter is only an atomic add.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn no_allocation_per_message() {
    bounded(LIMIT, || {
        let mut opts = ShmOptions::new();
        opts.capacity(4096);
        let name = if cfg!(windows) {
            unique("shm-alloc")
        } else {
            format!("@{}", unique("shm-alloc"))
        };
        let (a, b) = shm_pair(&name, &opts);
        const WARMUP: usize = 1_000;
        const ROUNDS: usize = 10_000;
        let echo = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            for _ in 0..WARMUP + ROUNDS {
                (&b).read_exact(&mut buf).unwrap();
                (&b).write_all(&buf).unwrap();
            }
            b
        });
        let mut buf = [7u8; 64];
        let mut before = 0;
        for i in 0..WARMUP + ROUNDS {
            if i == WARMUP {
                before = ALLOCATIONS.load(Ordering::SeqCst);
            }
            (&a).write_all(&buf).unwrap();
            (&a).read_exact(&mut buf).unwrap();
        }
        let after = ALLOCATIONS.load(Ordering::SeqCst);
        let b = echo.join().unwrap();
        drop((a, b));
        assert_eq!(after - before, 0, "allocations during {ROUNDS} round trips");
    });
}
