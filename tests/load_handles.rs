//! 20,000 sequential connections leave the open descriptor/handle count unchanged. Alone in
//! its own test binary, since the count is process-wide. Linux and Windows: where the count
//! can be read.
#![cfg(any(target_os = "linux", windows))]

mod util;

use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
use std::io::{Read, Write};
use std::time::Duration;
use util::{any_name, bounded, TestDir};

/// Open descriptors (Linux: `/proc/self/fd`) or handles (Windows: `GetProcessHandleCount`).
fn open_handles() -> usize {
    #[cfg(target_os = "linux")]
    let count = std::fs::read_dir("/proc/self/fd").unwrap().count();
    #[cfg(windows)]
    let count = {
        let mut n = 0u32;
        // SAFETY: `n` is valid for writes; the pseudo-handle needs no closing.
        let ok = unsafe {
            windows_sys::Win32::System::Threading::GetProcessHandleCount(
                windows_sys::Win32::System::Threading::GetCurrentProcess(),
                &mut n,
            )
        };
        assert_ne!(ok, 0, "GetProcessHandleCount failed");
        n as usize
    };
    count
}

#[test]
fn twenty_thousand_sequential_connections_leak_nothing() {
    bounded(Duration::from_secs(120), || {
        let dir = TestDir::new("seq");
        let name = any_name(&dir, "seq");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        const N: usize = 20_000;
        // The server does not count accepts: on Windows a client that connects and leaves
        // before `accept` is skipped, never accepted (Unix accepts it as a stream at EOF). It
        // serves until a connection brings the quit byte.
        let server = std::thread::spawn(move || {
            for conn in listener.incoming() {
                let mut conn = conn.unwrap();
                let mut byte = [0u8; 1];
                if conn.read(&mut byte).unwrap() == 1 && byte[0] == b'Q' {
                    break;
                }
            }
            listener
        });
        // Warm up (thread, lazily allocated runtime state) before counting.
        for _ in 0..10 {
            drop(LocalSocketStream::connect(name.as_str()).unwrap());
        }
        let before = open_handles();
        for i in 0..N {
            let c = LocalSocketStream::connect(name.as_str())
                .unwrap_or_else(|e| panic!("connection {i}: {e}"));
            drop(c);
        }
        LocalSocketStream::connect(name.as_str())
            .unwrap()
            .write_all(b"Q")
            .unwrap();
        drop(server.join().unwrap());
        let after = open_handles();
        assert!(
            after <= before,
            "open descriptors/handles grew from {before} to {after} over {N} connections"
        );
    });
}
