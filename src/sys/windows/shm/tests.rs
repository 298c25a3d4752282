//! The section, its checks, the ring events, and the ring over two views with the events:
//! two threads, and a second process that receives everything by handle passing.

use super::*;
use crate::local_socket::{LocalSocketListener, LocalSocketStream};
use crate::shm::ring::{self, Consumer, Producer, HEADER_LEN};
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::time::Instant;
use windows_sys::Win32::Foundation::{DuplicateHandle, HANDLE};
use windows_sys::Win32::System::Memory::SEC_RESERVE;

/// A lost wake-up shows as a wait that lasts this long while the other side is busy.
const LOST_WAKE: Duration = Duration::from_secs(3);

fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(131) ^ (i >> 11)).to_le_bytes()[0]
}

/// FNV-1a, folded over a stream.
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

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
}

/// A name no other test (or run) uses.
fn unique(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "@localipc-shmwin-{tag}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The word at `offset` of a mapping, as an atomic.
fn word(map: &Mapping, offset: usize) -> &AtomicU64 {
    assert!(offset + 8 <= map.len() && offset % 8 == 0);
    // SAFETY: inside the mapping (checked), 8-aligned (the view is page-aligned); the
    // reference lives no longer than the borrow of `map`; atomics may alias.
    unsafe { &*map.as_ptr().add(offset).cast::<AtomicU64>() }
}

/// `DuplicateHandle` with only `access`.
fn dup_with_access(h: BorrowedHandle<'_>, access: u32) -> OwnedHandle {
    let mut new: HANDLE = ptr::null_mut();
    // SAFETY: `h` is open; pseudo-handles of this process; `new` is valid for writes.
    let ok = unsafe {
        DuplicateHandle(
            GetCurrentProcess(),
            h.as_raw_handle(),
            GetCurrentProcess(),
            &mut new,
            access,
            0,
            0,
        )
    };
    assert_ne!(ok, 0, "{}", io::Error::last_os_error());
    // SAFETY: a fresh handle owned by nobody else.
    unsafe { OwnedHandle::from_raw_handle(new) }
}

/// `CreateFileMappingW` of the paging file, with `flags` added to `PAGE_READWRITE`.
fn raw_section(len: u32, flags: u32, file: Option<BorrowedHandle<'_>>) -> OwnedHandle {
    let file = file.map_or(INVALID_HANDLE_VALUE, |f| f.as_raw_handle());
    // SAFETY: unnamed, default security; checked for NULL.
    let raw = unsafe {
        CreateFileMappingW(
            file,
            ptr::null(),
            PAGE_READWRITE | flags,
            0,
            len,
            ptr::null(),
        )
    };
    assert!(!raw.is_null(), "{}", io::Error::last_os_error());
    // SAFETY: a fresh handle owned by nobody else.
    unsafe { OwnedHandle::from_raw_handle(raw) }
}

/// How many views are mapped into this process (`VirtualQuery` over the address space).
fn views() -> usize {
    let mut info = SYSTEM_INFO::default();
    // SAFETY: `info` is valid for writes.
    unsafe { GetSystemInfo(&mut info) };
    let (mut addr, end) = (
        info.lpMinimumApplicationAddress as usize,
        info.lpMaximumApplicationAddress as usize,
    );
    let mut n = 0;
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
            n += 1;
        }
        addr = m.BaseAddress as usize + m.RegionSize;
    }
    n
}

#[test]
fn create_and_two_views_alias() {
    let (section, a) = create(8192).unwrap();
    assert_eq!(a.len(), 8192);
    assert!(page_size() >= 4096 && page_size().is_power_of_two());
    let b = map_received(section.as_handle(), 8192).unwrap();
    assert_eq!(b.len(), 8192);
    assert_ne!(a.as_ptr(), b.as_ptr(), "two views");
    word(&a, 4096).store(0x1234_5678_9abc_def0, Ordering::SeqCst);
    assert_eq!(word(&b, 4096).load(Ordering::SeqCst), 0x1234_5678_9abc_def0);
    word(&b, 8184).store(7, Ordering::SeqCst);
    assert_eq!(word(&a, 8184).load(Ordering::SeqCst), 7);
    // A `len` that is not whole pages is rounded up like the section; the view stays usable
    // after the handle goes.
    let c = map_received(section.as_handle(), 8000).unwrap();
    drop(section);
    assert_eq!(word(&c, 0).load(Ordering::SeqCst), 0);
    word(&c, 0).store(3, Ordering::SeqCst);
    assert_eq!(word(&a, 0).load(Ordering::SeqCst), 3);
    assert_eq!(
        create(0).unwrap_err().kind(),
        io::ErrorKind::InvalidInput,
        "0 bytes"
    );
}

/// Every way a received handle can be wrong is `InvalidData`, and a rejected section leaves
/// no view behind (counted over 200 rejections of each kind, with some slack for views of
/// tests running at the same time).
#[test]
fn received_section_is_checked() {
    let kind = |r: io::Result<Mapping>| r.map(drop).unwrap_err().kind();
    let (small, _map) = create(4096).unwrap();
    // Not a section: an event, a file.
    let event = new_event().unwrap();
    let path = std::env::temp_dir().join(format!("localipc-shmwin-{}.bin", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    file.set_len(65536).unwrap();
    // A section of a file, a reserved (uncommitted) one, a read-only handle.
    let file_section = raw_section(65536, 0, Some(file.as_handle()));
    let reserved = raw_section(65536, SEC_RESERVE, None);
    let (rw, _rw_map) = create(65536).unwrap();
    let read_only = dup_with_access(rw.as_handle(), FILE_MAP_READ);
    // What each is, the handle, the length asked, and what the error must say.
    let bad: [(&str, BorrowedHandle<'_>, usize, &str); 7] = [
        ("too small", small.as_handle(), 4097, "wrong size"),
        ("too large", rw.as_handle(), 4096, "wrong size"),
        ("event", event.as_handle(), 4096, "not a section"),
        ("file", file.as_handle(), 4096, "not a section"),
        (
            "file section",
            file_section.as_handle(),
            65536,
            "view of a file",
        ),
        ("reserved", reserved.as_handle(), 65536, "not committed"),
        ("read-only", read_only.as_handle(), 65536, "not a section"),
    ];
    for (what, h, len, says) in bad {
        let before = views();
        for _ in 0..200 {
            let res = map_received(h, len);
            let msg = res.as_ref().map(drop).unwrap_err().to_string();
            assert_eq!(kind(res), io::ErrorKind::InvalidData, "{what}: {msg}");
            assert!(msg.contains(says), "{what}: {msg}");
        }
        let after = views();
        assert!(
            after < before + 20,
            "{what}: {before} views before 200 rejections, {after} after"
        );
    }
    assert_eq!(
        kind(map_received(rw.as_handle(), 0)),
        io::ErrorKind::InvalidInput
    );
    drop((file_section, file));
    let _ = std::fs::remove_file(&path);
}

#[test]
fn bells_wake_across_threads_and_time_out() {
    let bells = RingBells::create().unwrap();
    let word = AtomicU32::new(0);
    // A changed word: no wait at all.
    let start = Instant::now();
    bells.consumer().wait(&word, 1, None).unwrap();
    assert!(start.elapsed() < LOST_WAKE);
    // Nobody wakes: the timeout ends the wait, not earlier.
    let start = Instant::now();
    bells
        .consumer()
        .wait(&word, 0, Some(Duration::from_millis(50)))
        .unwrap();
    assert!(start.elapsed() >= Duration::from_millis(45));
    assert!(start.elapsed() < LOST_WAKE);
    // Each side is woken by the other, through its own event, many times.
    let word = &word;
    std::thread::scope(|s| {
        for (sleeper, waker, tag) in [
            (bells.consumer(), bells.producer(), 1u32),
            (bells.producer(), bells.consumer(), 2),
        ] {
            for round in 0..200u32 {
                let expected = tag << 16 | round;
                word.store(expected, Ordering::SeqCst);
                let woke = s.spawn(move || {
                    std::thread::sleep(Duration::from_millis(u64::from(round % 3)));
                    word.fetch_add(1, Ordering::SeqCst);
                    waker.wake(word);
                });
                let start = Instant::now();
                while word.load(Ordering::SeqCst) == expected {
                    sleeper.wait(word, expected, Some(LOST_WAKE * 2)).unwrap();
                    assert!(start.elapsed() < LOST_WAKE, "round {round}: lost wake-up");
                }
                woke.join().unwrap();
            }
        }
    });
    // The wake of a ring side never sets its own event.
    bells.producer().wake(word);
    assert!(!wait_event(bells.producer.as_handle(), 0).unwrap());
    assert!(wait_event(bells.consumer.as_handle(), 0).unwrap());
}

#[test]
fn received_bells_are_checked() {
    let kind = |r: io::Result<RingBells>| r.unwrap_err().kind();
    let ev = || new_event().unwrap();
    assert_eq!(
        kind(RingBells::from_received(vec![ev()])),
        io::ErrorKind::InvalidData
    );
    assert_eq!(
        kind(RingBells::from_received(vec![ev(), ev(), ev()])),
        io::ErrorKind::InvalidData
    );
    let (section, _map) = create(4096).unwrap();
    assert_eq!(
        kind(RingBells::from_received(vec![ev(), section])),
        io::ErrorKind::InvalidData
    );
    let wait_only = dup_with_access(ev().as_handle(), 0x0010_0000); // SYNCHRONIZE
    assert_eq!(
        kind(RingBells::from_received(vec![wait_only, ev()])),
        io::ErrorKind::InvalidData
    );
    // A manual-reset event passes (SetEvent and the wait succeed) and stays set after the
    // check: the waits on it return at once, which the ring takes as spurious wake-ups.
    // SAFETY: unnamed, manual-reset, default security; checked for NULL.
    let raw = unsafe { CreateEventW(ptr::null(), 1, 0, ptr::null()) };
    assert!(!raw.is_null());
    // SAFETY: a fresh handle owned by nobody else.
    let manual = unsafe { OwnedHandle::from_raw_handle(raw) };
    let odd = RingBells::from_received(vec![manual, ev()]).unwrap();
    let start = Instant::now();
    odd.consumer()
        .wait(&AtomicU32::new(0), 0, Some(LOST_WAKE))
        .unwrap();
    assert!(start.elapsed() < LOST_WAKE, "returns early, does not block");
    // The events of a ring, duplicated as a receiver gets them: valid, left unset, and
    // working across the two sets.
    let ours = RingBells::create().unwrap();
    let copies = ours
        .handles()
        .into_iter()
        .map(|h| super::super::ends::duplicate(h).unwrap())
        .collect();
    let theirs = RingBells::from_received(copies).unwrap();
    assert!(!wait_event(ours.consumer.as_handle(), 0).unwrap(), "unset");
    assert!(!wait_event(ours.producer.as_handle(), 0).unwrap(), "unset");
    let word = AtomicU32::new(0);
    theirs.producer().wake(&word);
    assert!(wait_event(ours.consumer.as_handle(), 0).unwrap());
    ours.producer().wake(&word);
    assert!(wait_event(theirs.consumer.as_handle(), 0).unwrap());
}

/// Runs one ring from `p` to `c` with `bells`: `total` bytes in random sizes, checked byte by
/// byte and by checksum; a lost wake-up fails within `LOST_WAKE` instead of hanging.
fn ring_two_threads(total: usize, cap: u32) {
    let len = HEADER_LEN + usize::try_from(cap).unwrap();
    let (section, wmap) = create(len).unwrap();
    let rmap = map_received(section.as_handle(), len).unwrap();
    let bells = RingBells::create().unwrap();
    // SAFETY: both mappings live until the end of this function, after both ends are dropped
    // (the writer thread is joined within the scope).
    let (p, c) = unsafe {
        ring::init(wmap.as_ptr(), len, cap).unwrap();
        (
            Producer::new(wmap.as_ptr(), len, cap).unwrap(),
            Consumer::new(rmap.as_ptr(), len, cap).unwrap(),
        )
    };
    let bounded = |what: &str, at: usize, f: &mut dyn FnMut() -> io::Result<bool>| {
        let start = Instant::now();
        f().unwrap();
        assert!(
            start.elapsed() < LOST_WAKE,
            "{what} slept {:?} at byte {at}: lost wake-up",
            start.elapsed()
        );
    };
    std::thread::scope(|s| {
        let bells = &bells;
        let writer = s.spawn(move || {
            let (mut p, mut rng, mut sent, mut sum) = (p, Rng(1), 0, FNV_START);
            let bell = bells.producer();
            let mut chunk = vec![0u8; 100_000];
            while sent < total {
                let n = (1 + rng.below(100_000)).min(total - sent);
                for (i, b) in chunk[..n].iter_mut().enumerate() {
                    *b = pattern(sent + i);
                }
                sum = fnv(sum, &chunk[..n]);
                let mut done = 0;
                while done < n {
                    let k = p.write(&chunk[done..n], &bell).unwrap();
                    done += k;
                    if k == 0 {
                        bounded("writer", sent + done, &mut || {
                            p.wait_writable(&bell, Some(LOST_WAKE * 2))
                        });
                    }
                }
                sent += n;
            }
            sum
        });
        let (mut c, mut rng, mut got, mut sum) = (c, Rng(2), 0, FNV_START);
        let bell = bells.consumer();
        let mut buf = vec![0u8; 100_000];
        while got < total {
            let n = 1 + rng.below(100_000);
            let k = c.read(&mut buf[..n], &bell).unwrap();
            if k == 0 {
                bounded("reader", got, &mut || {
                    c.wait_readable(&bell, Some(LOST_WAKE * 2))
                });
            }
            for (i, b) in buf[..k].iter().enumerate() {
                assert_eq!(*b, pattern(got + i), "stream byte {}", got + i);
            }
            sum = fnv(sum, &buf[..k]);
            got += k;
        }
        assert_eq!(writer.join().unwrap(), sum, "checksums");
    });
}

/// 8 MiB through a 64 KiB ring over two views of one section, both sides sleeping on the
/// ring's events.
#[test]
fn events_two_threads_8_mib() {
    ring_two_threads(8 << 20, 64 << 10);
}

/// Environment variable naming the socket the reader child connects to.
const CHILD_ENV: &str = "LOCALIPC_SHMWIN_CHILD";

/// Bytes the parent sends through the ring to the child.
const CROSS_TOTAL: usize = 4 << 20;

/// The child role of `ring_across_processes`: receives the section and the ring's events by
/// handle passing, reads `CROSS_TOTAL` bytes as the ring's consumer, prints their checksum,
/// then waits (at most 20 s) to be killed.
#[test]
fn ring_child() {
    let Ok(name) = std::env::var(CHILD_ENV) else {
        return; // an ordinary test run: nothing to do
    };
    let conn = LocalSocketStream::connect(name.as_str()).unwrap();
    let mut buf = [0u8; 12];
    let mut handles = Vec::with_capacity(3);
    let n = conn.recv_with_handles(&mut buf, &mut handles).unwrap();
    assert_eq!((n, handles.len()), (12, 3));
    let len = usize::try_from(u64::from_le_bytes(buf[..8].try_into().unwrap())).unwrap();
    let cap = u32::from_le_bytes(buf[8..].try_into().unwrap());
    let section = handles.remove(0);
    let map = map_received(section.as_handle(), len).unwrap();
    let bells = RingBells::from_received(handles).unwrap();
    // SAFETY: the mapping outlives the consumer (dropped first, at the end of this scope).
    let mut c = unsafe { Consumer::new(map.as_ptr(), len, cap).unwrap() };
    let bell = bells.consumer();
    println!("ready");
    let (mut got, mut sum) = (0, FNV_START);
    let mut buf = vec![0u8; 70_000];
    while got < CROSS_TOTAL {
        let k = c.read(&mut buf, &bell).unwrap();
        if k == 0 {
            c.wait_readable(&bell, Some(LOST_WAKE)).unwrap();
        }
        sum = fnv(sum, &buf[..k]);
        got += k;
    }
    println!("sum {sum:x}");
    std::thread::sleep(Duration::from_secs(20));
}

/// A second process receives the section and both events of a ring over a local socket
/// (handle passing: the receiver pulls them), maps the section and reads 4 MiB as the ring's
/// consumer while this process writes, both sleeping on the events; the checksums match.
/// Then `peer_gone` on the socket: false while the child lives, true soon after it is killed.
#[test]
fn ring_across_processes() {
    let cap: u32 = 64 << 10;
    let len = HEADER_LEN + 65536;
    let (section, map) = create(len).unwrap();
    // SAFETY: the mapping outlives the producer (dropped before it at the end of the test).
    let mut p = unsafe {
        ring::init(map.as_ptr(), len, cap).unwrap();
        Producer::new(map.as_ptr(), len, cap).unwrap()
    };
    let bells = RingBells::create().unwrap();
    let name = unique("ring");
    let listener = LocalSocketListener::bind(name.as_str()).unwrap();
    let mut cmd = localipc_child::LineChild::this_executable("ring child").unwrap();
    cmd.args([
        "--exact",
        "sys::windows::shm::tests::ring_child",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, &name);
    let mut child = localipc_child::LineChild::spawn("ring child", cmd).unwrap();
    child.kill_at(Some(Instant::now() + Duration::from_secs(60)));
    let conn = listener.accept().unwrap();
    let mut head = u64::try_from(len).unwrap().to_le_bytes().to_vec();
    head.extend_from_slice(&cap.to_le_bytes());
    let mut handles = vec![section.as_handle()];
    handles.extend(bells.handles());
    conn.send_with_handles(&head, &handles).unwrap();
    let mut line_with = |what: &str| loop {
        let line = child.next_line(Some(Duration::from_secs(30))).unwrap();
        if line.contains(what) {
            break line;
        }
    };
    line_with("ready");
    let bell = bells.producer();
    let (mut rng, mut sent, mut sum) = (Rng(5), 0, FNV_START);
    let mut chunk = vec![0u8; 100_000];
    while sent < CROSS_TOTAL {
        let n = (1 + rng.below(100_000)).min(CROSS_TOTAL - sent);
        for (i, b) in chunk[..n].iter_mut().enumerate() {
            *b = pattern(sent + i);
        }
        sum = fnv(sum, &chunk[..n]);
        let mut done = 0;
        while done < n {
            let k = p.write(&chunk[done..n], &bell).unwrap();
            done += k;
            if k == 0 {
                let start = Instant::now();
                p.wait_writable(&bell, Some(LOST_WAKE * 2)).unwrap();
                assert!(start.elapsed() < LOST_WAKE, "lost wake-up at {sent}");
            }
        }
        sent += n;
    }
    let line = line_with("sum ");
    assert_eq!(line.trim(), format!("sum {sum:x}"));
    assert!(!peer_gone(&conn.inner).unwrap(), "the child is alive");
    child.kill();
    let start = Instant::now();
    while !peer_gone(&conn.inner).unwrap() {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "peer_gone still false {:?} after the kill",
            start.elapsed()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `peer_gone` within one process: false while the other end is open, true once it is
/// closed, from either end; bytes left unread in the pipe (a hostile peer's noise: `shm`
/// sends nothing after the handshake) do not hide the close.
#[test]
fn peer_gone_when_other_end_closes() {
    let name = unique("gone");
    let listener = LocalSocketListener::bind(name.as_str()).unwrap();
    let client = LocalSocketStream::connect(name.as_str()).unwrap();
    let server = listener.accept().unwrap();
    assert!(!peer_gone(&client.inner).unwrap());
    assert!(!peer_gone(&server.inner).unwrap());
    drop(server);
    assert!(peer_gone(&client.inner).unwrap());
    let client2 = LocalSocketStream::connect(name.as_str()).unwrap();
    let server2 = listener.accept().unwrap();
    drop(client2);
    assert!(peer_gone(&server2.inner).unwrap());
    let client3 = LocalSocketStream::connect(name.as_str()).unwrap();
    let server3 = listener.accept().unwrap();
    std::io::Write::write_all(&mut &client3, b"noise").unwrap();
    assert!(!peer_gone(&server3.inner).unwrap(), "alive, with noise");
    drop(client3);
    assert!(
        peer_gone(&server3.inner).unwrap(),
        "gone, noise left behind"
    );
    let client4 = LocalSocketStream::connect(name.as_str()).unwrap();
    let server4 = listener.accept().unwrap();
    std::io::Write::write_all(&mut &server4, b"noise").unwrap();
    assert!(!peer_gone(&client4.inner).unwrap(), "alive, with noise");
    drop(server4);
    assert!(
        peer_gone(&client4.inner).unwrap(),
        "gone, noise left behind"
    );
}
