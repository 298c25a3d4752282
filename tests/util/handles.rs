//! Counting this process's open descriptors or handles, for leak checks.

/// Open descriptors (Linux: `/proc/self/fd`) or handles (Windows: `GetProcessHandleCount`,
/// or under Wine, where that is a stub reporting 0, a probe of every handle value) of this
/// process. Never 0: a count that cannot be read fails the test rather than making a leak
/// check compare 0 with 0.
#[cfg(any(target_os = "linux", target_os = "android", windows))]
pub(crate) fn open_handles() -> usize {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let count = std::fs::read_dir("/proc/self/fd").unwrap().count();
    #[cfg(windows)]
    let count = {
        use windows_sys::Win32::System::Threading::{GetCurrentProcess, GetProcessHandleCount};
        let mut n = 0u32;
        // SAFETY: `n` is valid for writes; the pseudo-handle needs no closing.
        let ok = unsafe { GetProcessHandleCount(GetCurrentProcess(), &mut n) };
        assert_ne!(ok, 0, "GetProcessHandleCount failed");
        match n {
            0 => probe_handles(),
            n => n as usize,
        }
    };
    assert!(count > 0, "could not count open handles");
    count
}

/// Counts open handles by asking about each value (`GetHandleInformation`), up to 1024
/// values past the highest open one. Wine (8.0) hands out the lowest free multiple of 4, so
/// its handle values are dense.
#[cfg(windows)]
fn probe_handles() -> usize {
    use windows_sys::Win32::Foundation::GetHandleInformation;
    let (mut open, mut last_open, mut v) = (0, 0, 4usize);
    while v <= last_open + 4 * 1024 {
        let mut flags = 0;
        // SAFETY: a query about a handle value that may or may not be open; nothing is used.
        if unsafe { GetHandleInformation(v as _, &mut flags) } != 0 {
            open += 1;
            last_open = v;
        }
        v += 4;
    }
    open
}
