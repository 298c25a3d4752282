//! Ring tests on private memory: no FFI, so they run under Miri as they are.

use super::*;
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::cell::Cell;
use std::ptr;
use std::time::Instant;

/// Bytes after the region that must stay untouched (an out-of-bounds write would hit them).
const CANARY: usize = 64;

/// A private, 128-byte-aligned stand-in for a shared mapping, with a canary after it.
struct TestRegion {
    ptr: *mut u8,
    len: usize,
    layout: Layout,
}

impl TestRegion {
    fn new(capacity: u32) -> TestRegion {
        let len = HEADER_LEN + to_usize(capacity);
        let layout = Layout::from_size_align(len + CANARY, 128).unwrap();
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        assert!(!ptr.is_null());
        for i in 0..CANARY {
            // SAFETY: inside the allocation.
            unsafe { ptr.add(len + i).write(0xA5) };
        }
        TestRegion { ptr, len, layout }
    }

    fn ends(&self, capacity: u32) -> (Producer, Consumer) {
        // SAFETY: the region outlives both ends in every test (they are dropped first).
        unsafe {
            init(self.ptr, self.len, capacity).unwrap();
            (
                Producer::new(self.ptr, self.len, capacity).unwrap(),
                Consumer::new(self.ptr, self.len, capacity).unwrap(),
            )
        }
    }

    /// What a peer does: stores into a header word.
    fn poke32(&self, offset: usize, v: u32) {
        // SAFETY: a header word inside the region, 4-aligned.
        unsafe { &*self.ptr.add(offset).cast::<AtomicU32>() }.store(v, Ordering::SeqCst);
    }

    fn poke64(&self, offset: usize, v: u64) {
        // SAFETY: a flag word inside the region, 8-aligned.
        unsafe { &*self.ptr.add(offset).cast::<AtomicU64>() }.store(v, Ordering::SeqCst);
    }

    fn peek64(&self, offset: usize) -> u64 {
        // SAFETY: as in `poke64`.
        unsafe { &*self.ptr.add(offset).cast::<AtomicU64>() }.load(Ordering::SeqCst)
    }

    /// A scribbling peer (single-threaded tests only: no concurrent access).
    fn scribble(&self, offset: usize, bytes: &[u8]) {
        assert!(offset + bytes.len() <= self.len);
        // SAFETY: inside the region, checked just above; nothing else accesses it now.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr.add(offset), bytes.len()) };
    }

    fn canary_intact(&self) -> bool {
        // SAFETY: inside the allocation.
        (0..CANARY).all(|i| unsafe { self.ptr.add(self.len + i).read() } == 0xA5)
    }
}

impl Drop for TestRegion {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr, self.layout) };
    }
}

/// Never sleeps; counts the calls.
#[derive(Default)]
struct Counting {
    waits: Cell<u32>,
    wakes: Cell<u32>,
}

impl Waiter for Counting {
    fn wait(&self, _: &AtomicU32, _: u32, _: Option<Duration>) -> io::Result<()> {
        self.waits.set(self.waits.get() + 1);
        Ok(())
    }
    fn wake(&self, _: &AtomicU32) {
        self.wakes.set(self.wakes.get() + 1);
    }
}

/// Sleeps by yielding until the word changes or the timeout passes (portable, Miri-friendly).
struct Yielding;

impl Waiter for Yielding {
    fn wait(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> io::Result<()> {
        let start = Instant::now();
        while word.load(Ordering::SeqCst) == expected {
            if timeout.is_some_and(|t| start.elapsed() >= t) {
                break;
            }
            std::thread::yield_now();
        }
        Ok(())
    }
    fn wake(&self, _: &AtomicU32) {}
}

/// xorshift64*: a reproducible generator without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }
    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }
}

/// The byte at stream position `i` of the test pattern.
fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 8)).to_le_bytes()[0]
}

fn is_invalid_data<T: std::fmt::Debug>(r: &io::Result<T>) -> bool {
    matches!(r, Err(e) if e.kind() == io::ErrorKind::InvalidData)
}

#[test]
fn rejects_bad_regions() {
    let r = TestRegion::new(64);
    // SAFETY: the region is valid for r.len bytes; the calls only check their arguments.
    unsafe {
        for cap in [0, 3, 48, 128, MAX_CAPACITY * 2] {
            let e = Producer::new(r.ptr, r.len, cap).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "capacity {cap}");
        }
        assert!(
            Consumer::new(r.ptr.add(4), r.len - 4, 32).is_err(),
            "misaligned"
        );
        assert!(Consumer::new(ptr::null_mut(), r.len, 64).is_err(), "null");
        assert!(Consumer::new(r.ptr, r.len, 64).is_ok());
    }
}

#[test]
fn wrap_around_full_and_empty() {
    let r = TestRegion::new(16);
    let (mut p, mut c) = r.ends(16);
    let w = Counting::default();
    let mut out = [0u8; 32];
    assert_eq!(c.read(&mut out, &w).unwrap(), 0, "empty");
    assert_eq!(p.write(&[1; 10], &w).unwrap(), 10);
    assert_eq!(c.read(&mut out[..4], &w).unwrap(), 4);
    let data: Vec<u8> = (100..120).collect();
    assert_eq!(
        p.write(&data, &w).unwrap(),
        10,
        "only the free space is taken"
    );
    assert_eq!(p.write(&data, &w).unwrap(), 0, "full");
    assert!(!p.wait_writable(&w, Some(Duration::ZERO)).unwrap());
    assert_eq!(c.read(&mut out, &w).unwrap(), 16);
    assert_eq!(&out[..6], &[1; 6]);
    assert_eq!(
        &out[6..16],
        &data[..10],
        "the wrapped write reads back in order"
    );
    assert_eq!(c.read(&mut out, &w).unwrap(), 0, "empty again");
    assert!(!c.wait_readable(&w, Some(Duration::ZERO)).unwrap());
    assert!(p.wait_writable(&w, None).unwrap());
    assert_eq!(p.write(&[], &w).unwrap(), 0);
    assert_eq!(c.read(&mut [], &w).unwrap(), 0);
    assert!(r.canary_intact());
}

#[test]
fn random_sizes_byte_for_byte() {
    let rounds = if cfg!(miri) { 300 } else { 10_000 };
    let cap = 256;
    let r = TestRegion::new(cap);
    let (mut p, mut c) = r.ends(cap);
    let w = Counting::default();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut sent, mut got) = (0usize, 0usize);
    let mut buf = vec![0u8; 600];
    for _ in 0..rounds {
        let n = rng.below(600);
        let chunk: Vec<u8> = (sent..sent + n).map(pattern).collect();
        sent += p.write(&chunk, &w).unwrap();
        let m = rng.below(600);
        let k = c.read(&mut buf[..m], &w).unwrap();
        for (i, b) in buf[..k].iter().enumerate() {
            assert_eq!(*b, pattern(got + i), "stream byte {}", got + i);
        }
        got += k;
        assert!(sent - got <= to_usize(cap));
    }
    assert!(got > to_usize(cap) * 10, "the test wrapped many times");
    assert!(r.canary_intact());
}

#[test]
fn corrupt_indices_are_invalid_data() {
    let cap = 64;
    let r = TestRegion::new(cap);
    let mut rng = Rng(7);
    let mut values = vec![
        0,
        1,
        63,
        64,
        65,
        100,
        cap - 1,
        cap + 1,
        u32::MAX,
        u32::MAX - 64,
    ];
    values.extend((0..if cfg!(miri) { 50 } else { 2000 }).map(|_| {
        rng.next().to_le_bytes()[0..4]
            .iter()
            .fold(0u32, |a, b| a << 8 | u32::from(*b))
    }));
    let w = Counting::default();
    for &v in &values {
        // Producer at tail 100 (after writing 100 bytes in total), consumer index forged.
        let (mut p, mut c) = r.ends(cap);
        let mut sink = [0u8; 64];
        for _ in 0..2 {
            assert_eq!(p.write(&[0; 50], &w).unwrap(), 50);
            assert_eq!(c.read(&mut sink, &w).unwrap(), 50);
        }
        r.poke32(HEAD, v);
        let valid = 100u32.wrapping_sub(v) <= cap;
        let res = p.write(&[0; 64], &w);
        assert!(
            res.is_ok() == valid && (valid || is_invalid_data(&res)),
            "head {v}: {res:?}"
        );
        let res = p.wait_writable(&w, Some(Duration::ZERO));
        assert!(
            res.is_ok() == valid && (valid || is_invalid_data(&res)),
            "head {v}: {res:?}"
        );

        // Consumer at head 100, producer index forged.
        let (mut p, mut c) = r.ends(cap);
        for _ in 0..2 {
            assert_eq!(p.write(&[0; 50], &w).unwrap(), 50);
            assert_eq!(c.read(&mut sink, &w).unwrap(), 50);
        }
        r.poke32(TAIL, v);
        let valid = v.wrapping_sub(100) <= cap;
        let res = c.read(&mut sink, &w);
        assert!(
            res.is_ok() == valid && (valid || is_invalid_data(&res)),
            "tail {v}: {res:?}"
        );
        let res = c.wait_readable(&w, Some(Duration::ZERO));
        assert!(
            res.is_ok() == valid && (valid || is_invalid_data(&res)),
            "tail {v}: {res:?}"
        );
    }
    assert!(r.canary_intact());
}

#[test]
fn corrupt_flags_are_invalid_data() {
    let cap = 64;
    let r = TestRegion::new(cap);
    let w = Counting::default();
    let mut rng = Rng(11);
    let mut flags = vec![
        1,
        u64::from(u32::MAX),
        1 << 32,
        1 << 32 | 1,
        3 << 32 | 64,
        u64::MAX,
    ];
    flags.extend((0..if cfg!(miri) { 50 } else { 2000 }).map(|_| rng.next()));
    for &f in &flags {
        let (episode, seen) = split_flag(f);
        // Producer publishes tail 30: the consumer could have seen 0..=30 (the ring was empty
        // at most 64 bytes earlier, wrapping).
        let (mut p, mut c) = r.ends(cap);
        r.poke64(CONSUMER_FLAG, f);
        let valid = episode != 0 && 30u32.wrapping_sub(seen) <= cap;
        let res = p.write(&[0; 30], &w);
        assert!(
            res.is_ok() == valid && (valid || is_invalid_data(&res)),
            "flag {f:#x}: {res:?}"
        );
        // Consumer publishes head 30.
        r.poke64(PRODUCER_FLAG, f);
        let mut sink = [0u8; 30];
        let res = c.read(&mut sink, &w);
        assert!(
            res.is_ok() == valid && (valid || is_invalid_data(&res)),
            "flag {f:#x}: {res:?}"
        );
        r.poke64(CONSUMER_FLAG, 0);
        r.poke64(PRODUCER_FLAG, 0);
    }
}

#[test]
fn wakes_once_per_flag_value_and_never_clears_it() {
    let r = TestRegion::new(64);
    let (mut p, mut c) = r.ends(64);
    let w = Counting::default();
    // An empty ring: the consumer arms its flag, re-checks, waits (Counting returns at once)
    // and clears its own flag.
    assert!(!c.wait_readable(&w, Some(Duration::ZERO)).unwrap());
    assert_eq!((w.waits.get(), r.peek64(CONSUMER_FLAG)), (1, 0));
    // A consumer asleep having seen index 0.
    let flag = 1 << 32;
    r.poke64(CONSUMER_FLAG, flag);
    p.write(&[1; 8], &w).unwrap();
    assert_eq!(w.wakes.get(), 1);
    assert_eq!(
        r.peek64(CONSUMER_FLAG),
        flag,
        "the waker leaves the flag alone"
    );
    p.write(&[1; 8], &w).unwrap();
    assert_eq!(w.wakes.get(), 1, "once per flag value");
    // A new sleep episode that saw index 16: nothing older was published yet.
    r.poke64(CONSUMER_FLAG, 2 << 32 | 16);
    p.write(&[], &w).unwrap();
    assert_eq!(w.wakes.get(), 1);
    p.write(&[1; 8], &w).unwrap();
    assert_eq!(w.wakes.get(), 2, "the new flag value is woken");
    // Full ring: the producer arms its flag, the consumer's read wakes it.
    let mut out = [0u8; 64];
    c.read(&mut out, &w).unwrap();
    p.write(&[2; 64], &w).unwrap();
    assert!(!p.wait_writable(&w, Some(Duration::ZERO)).unwrap());
    assert_eq!(
        r.peek64(PRODUCER_FLAG),
        0,
        "the sleeper clears its own flag"
    );
    r.poke64(PRODUCER_FLAG, 5 << 32 | 24);
    c.read(&mut out[..1], &w).unwrap();
    assert_eq!(w.wakes.get(), 3);
    c.read(&mut out[..1], &w).unwrap();
    assert_eq!(w.wakes.get(), 3, "once per flag value");
}

#[test]
fn scribbled_header_never_panics_or_escapes() {
    let rounds = if cfg!(miri) { 400 } else { 20_000 };
    let cap = 128;
    let r = TestRegion::new(cap);
    let (mut p, mut c) = r.ends(cap);
    let w = Counting::default();
    let mut rng = Rng(0xDEAD_BEEF);
    let mut buf = vec![0u8; 300];
    let (mut ok, mut bad) = (0u32, 0u32);
    for round in 0..rounds {
        // Scribble: some random header bytes, sometimes a run over the whole region.
        let writes = rng.below(4);
        for _ in 0..writes {
            let len = 1 + rng.below(if round % 50 == 0 { r.len } else { 16 });
            let off = rng.below(r.len - len + 1);
            let bytes: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
            r.scribble(off, &bytes);
        }
        let n = rng.below(300);
        let res = match rng.below(4) {
            0 => p.write(&buf[..n], &w),
            1 => c.read(&mut buf[..n], &w),
            2 => p.wait_writable(&w, Some(Duration::ZERO)).map(usize::from),
            _ => c.wait_readable(&w, Some(Duration::ZERO)).map(usize::from),
        };
        match res {
            Ok(k) => {
                assert!(k <= n.max(1));
                ok += 1;
            }
            Err(e) => {
                assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
                bad += 1;
            }
        }
        if round % 1000 == 999 {
            // A fresh pair now and then, so that valid states are visited again.
            (p, c) = r.ends(cap);
        }
    }
    assert!(
        ok > 0 && bad > 0,
        "both outcomes seen: {ok} ok, {bad} InvalidData"
    );
    assert!(r.canary_intact());
}

#[test]
fn two_threads_blocking_both_sides() {
    let total: usize = if cfg!(miri) { 20_000 } else { 4 << 20 };
    let cap = 4096;
    let r = TestRegion::new(cap);
    let (p, c) = r.ends(cap);
    let deadline = Instant::now() + Duration::from_secs(20);
    std::thread::scope(|s| {
        let writer = s.spawn(move || {
            let mut p = p;
            let mut rng = Rng(3);
            let mut sent = 0;
            let mut chunk = vec![0u8; 9000];
            while sent < total {
                let n = (1 + rng.below(9000)).min(total - sent);
                for (i, b) in chunk[..n].iter_mut().enumerate() {
                    *b = pattern(sent + i);
                }
                let mut done = 0;
                while done < n {
                    let k = p.write(&chunk[done..n], &Yielding).unwrap();
                    done += k;
                    if k == 0 {
                        assert!(Instant::now() < deadline, "writer stuck at {}", sent + done);
                        p.wait_writable(&Yielding, Some(Duration::from_millis(100)))
                            .unwrap();
                    }
                }
                sent += n;
            }
        });
        let mut c = c;
        let mut rng = Rng(5);
        let mut got = 0;
        let mut buf = vec![0u8; 9000];
        while got < total {
            let n = 1 + rng.below(9000);
            let k = c.read(&mut buf[..n], &Yielding).unwrap();
            if k == 0 {
                assert!(Instant::now() < deadline, "reader stuck at {got}");
                c.wait_readable(&Yielding, Some(Duration::from_millis(100)))
                    .unwrap();
            }
            for (i, b) in buf[..k].iter().enumerate() {
                assert_eq!(*b, pattern(got + i), "stream byte {}", got + i);
            }
            got += k;
        }
        writer.join().unwrap();
    });
}

/// The atomic copies move exactly the bytes asked for, whatever the alignment and length,
/// and touch nothing around them.
#[test]
fn shared_copies_round_trip_at_every_alignment() {
    let mut area = vec![0xEEu8; 96];
    for offset in 0..17 {
        for len in 0..41 {
            area.fill(0xEE);
            let src: Vec<u8> = (0..len).map(|i| u8::try_from(i + 1).unwrap()).collect();
            // SAFETY: offset + len <= 16 + 40 < 96: inside `area`, which only this test uses.
            unsafe { store_shared(area.as_mut_ptr().add(offset), &src) };
            assert!(
                area[..offset].iter().all(|&b| b == 0xEE),
                "before {offset}/{len}"
            );
            assert_eq!(&area[offset..offset + len], &src[..], "{offset}/{len}");
            assert!(
                area[offset + len..].iter().all(|&b| b == 0xEE),
                "after {offset}/{len}"
            );
            let mut back = vec![0u8; len];
            // SAFETY: as above, for reads.
            unsafe { load_shared(area.as_ptr().add(offset), &mut back) };
            assert_eq!(back, src, "{offset}/{len}");
        }
    }
}

#[test]
fn close_words_end_the_stream_after_the_data() {
    let cap = 64;
    let r = TestRegion::new(cap);
    let (mut p, mut c) = r.ends(cap);
    let w = Counting::default();
    assert!(!c.peer_closed() && !p.peer_closed());
    assert_eq!(p.write(b"bye", &w).unwrap(), 3);
    p.close(&w);
    assert_eq!(w.wakes.get(), 0, "no wake when the consumer does not sleep");
    assert!(c.peer_closed());
    let mut buf = [0; 8];
    assert_eq!(
        c.read(&mut buf, &w).unwrap(),
        3,
        "the data before the close is read"
    );
    assert_eq!(c.read(&mut buf, &w).unwrap(), 0);
    // A sleeping consumer's recheck sees the close: it does not wait.
    let waits = w.waits.get();
    assert!(!c.wait_readable(&w, None).unwrap());
    assert_eq!(w.waits.get(), waits, "no wait after the close");
    // The consumer closing: the producer sees it, and a flagged producer is woken.
    r.poke64(PRODUCER_FLAG, 1 << 32 | 3);
    c.close(&w);
    assert!(p.peer_closed());
    assert_eq!(w.wakes.get(), 1);
    assert!(r.canary_intact());
}

#[test]
fn staged_bytes_are_published_only_by_commit() {
    let cap = 64;
    let r = TestRegion::new(cap);
    let (mut p, mut c) = r.ends(cap);
    let w = Counting::default();
    // Move both indices near the end so that the staged bytes wrap around.
    assert_eq!(p.write(&[0; 60], &w).unwrap(), 60);
    assert_eq!(c.read(&mut [0; 60], &w).unwrap(), 60);
    assert_eq!(p.free().unwrap(), 64);
    p.stage(0, b"abcd").unwrap();
    p.stage(4, b"efgh").unwrap();
    assert!(p.stage(60, b"xyzzy").is_err(), "beyond the free space");
    assert!(p.stage(u32::MAX, b"x").is_err(), "offset overflow");
    assert_eq!(c.available().unwrap(), 0, "nothing published yet");
    assert!(p.commit(65, &w).is_err());
    p.commit(8, &w).unwrap();
    assert_eq!(c.available().unwrap(), 8);
    let mut two = [0; 2];
    c.peek(6, &mut two).unwrap();
    assert_eq!(&two, b"gh");
    assert!(c.peek(7, &mut two).is_err(), "beyond the available bytes");
    assert!(c.consume(9, &w).is_err());
    c.consume(4, &w).unwrap();
    let mut rest = [0; 8];
    assert_eq!(c.read(&mut rest, &w).unwrap(), 4);
    assert_eq!(&rest[..4], b"efgh");
    // wait_free waits for the amount asked for, not just any room.
    assert_eq!(p.write(&[1; 64], &w).unwrap(), 64);
    c.consume(0, &w).unwrap();
    assert_eq!(c.read(&mut [0; 10], &w).unwrap(), 10);
    let waits = w.waits.get();
    assert!(!p.wait_free(11, &w, Some(Duration::ZERO)).unwrap());
    assert_eq!(w.waits.get(), waits + 1, "10 free, 11 wanted: it sleeps");
    assert!(p.wait_free(10, &w, None).unwrap());
    assert!(r.canary_intact());
}
