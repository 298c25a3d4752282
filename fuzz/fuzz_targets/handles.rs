//! The fd-passing receive path (SCM_RIGHTS decoding), driven with real kernel control
//! messages: the input picks how many descriptors and bytes each send carries and how much
//! room each receive offers. Checks that data arrives intact, descriptors arrive exactly or
//! the call fails, and no descriptor leaks either way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use localipc::local_socket::LocalSocketStream;
use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

fuzz_target!(|data: &[u8]| {
    let before = open_fds();
    let (a, b) = UnixStream::pair().unwrap();
    let (a, b) = (LocalSocketStream::from(a), LocalSocketStream::from(b));
    let files: Vec<File> = (0..4).map(|_| File::open("/dev/null").unwrap()).collect();
    for op in data.chunks(3) {
        let n_fds = (op[0] % 5) as usize;
        let len = 1 + op.get(1).copied().unwrap_or(0) as usize;
        let room = op.get(2).map(|r| (r % 6) as usize).unwrap_or(n_fds);
        let payload: Vec<u8> = (0..len).map(|i| (i as u8) ^ op[0]).collect();
        let handles: Vec<_> = files.iter().take(n_fds).map(|f| f.as_fd()).collect();
        let sent = a.send_with_handles(&payload, &handles).unwrap();
        assert!(sent > 0 && sent <= len);
        let mut got = Vec::with_capacity(room);
        let mut buf = vec![0u8; 512];
        match b.recv_with_handles(&mut buf, &mut got) {
            Ok(n) => {
                assert!(n > 0 && n <= sent, "received {n} of {sent} bytes");
                assert_eq!(&buf[..n], &payload[..n]);
                assert!(n_fds <= room, "accepted {n_fds} fds with room for {room}");
                assert_eq!(got.len(), n_fds, "descriptors lost or invented");
                // Drain the rest of this send's bytes (stream socket: it may arrive split).
                let mut rest = sent - n;
                while rest > 0 {
                    let mut none = Vec::new();
                    let k = b
                        .recv_with_handles(&mut buf[..rest.min(512)], &mut none)
                        .unwrap();
                    assert!(none.is_empty());
                    rest -= k;
                }
            }
            Err(_) => {
                assert!(
                    n_fds > room,
                    "error although there was room for {n_fds} fds"
                );
                break; // the stream state after a refused message is the caller's to reset
            }
        }
    }
    drop((a, b, files));
    assert_eq!(open_fds(), before, "descriptors leaked");
});
