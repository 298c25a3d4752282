//! 20,000 sequential connections leave the open descriptor/handle count unchanged. Alone in
//! its own test binary, since the count is process-wide. Linux and Windows: where the count
//! can be read.
#![cfg(any(target_os = "linux", windows))]

mod util;

use localipc::local_socket::{LocalSocketListener, LocalSocketStream};
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
#[cfg_attr(
    windows,
    ignore = "under Wine 8.0 this sequential connect/drop loop stops making progress (the \
              body times out even at 2,000 connections, while the CLI bench's connection case, \
              where the server waits for the client to close, runs); not yet diagnosed (issue #3)"
)]
fn twenty_thousand_sequential_connections_leak_nothing() {
    bounded(Duration::from_secs(120), || {
        let dir = TestDir::new("seq");
        let name = any_name(&dir, "seq");
        let listener = LocalSocketListener::bind(name.as_str()).unwrap();
        // Under Wine every pipe operation is a wineserver round trip: 20,000 connections take
        // minutes there, so the Windows run makes 2,000 (any per-connection leak still shows).
        const N: usize = if cfg!(windows) { 2_000 } else { 20_000 };
        let (server, before) = {
            // Warm up (thread, lazily allocated runtime state) before counting.
            let server = std::thread::spawn(move || {
                for conn in listener.incoming().take(N + 10) {
                    drop(conn.unwrap());
                }
                listener
            });
            for _ in 0..10 {
                drop(LocalSocketStream::connect(name.as_str()).unwrap());
            }
            (server, open_handles())
        };
        for i in 0..N {
            let c = LocalSocketStream::connect(name.as_str())
                .unwrap_or_else(|e| panic!("connection {i}: {e}"));
            drop(c);
        }
        drop(server.join().unwrap());
        let after = open_handles();
        assert!(
            after <= before,
            "open descriptors/handles grew from {before} to {after} over {N} connections"
        );
    });
}
