//! System calls counted by the kernel: the `raw_syscalls:sys_enter` tracepoint through
//! `perf_event_open` (Linux, root: CI runs as root; elsewhere the callers say why and pass).
//! Counts, not time: they do not depend on the machine's speed or load.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The start of `struct perf_event_attr` (PERF_ATTR_SIZE_VER0).
#[repr(C)]
#[derive(Default)]
struct Attr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
}

/// Counters of `raw_syscalls:sys_enter` on every thread of this process, enabled; or why not.
pub(crate) fn counters() -> Result<Vec<OwnedFd>, String> {
    let tids = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .map(|task| task.file_name().to_str().unwrap().parse().unwrap())
        .collect::<Vec<libc::pid_t>>();
    counters_of(&tids)
}

/// A counter of `raw_syscalls:sys_enter` on the calling thread only, enabled; or why not.
pub(crate) fn counter_this_thread() -> Result<Vec<OwnedFd>, String> {
    // SAFETY: gettid has no preconditions.
    counters_of(&[unsafe { libc::gettid() }])
}

fn counters_of(tids: &[libc::pid_t]) -> Result<Vec<OwnedFd>, String> {
    let path = "/sys/kernel/tracing/events/raw_syscalls/sys_enter/id";
    let id: u64 = std::fs::read_to_string(path)
        .map_err(|e| format!("{path}: {e}"))?
        .trim()
        .parse()
        .map_err(|e| format!("{path}: {e}"))?;
    let mut fds = Vec::new();
    for &tid in tids {
        let attr = Attr {
            kind: 2, // PERF_TYPE_TRACEPOINT
            size: 64,
            config: id,
            flags: 1, // disabled
            ..Attr::default()
        };
        // SAFETY: `attr` is a valid perf_event_attr of the size it states.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_perf_event_open,
                &attr as *const Attr,
                tid,
                -1,
                -1,
                8,
            )
        };
        if fd < 0 {
            return Err(format!(
                "perf_event_open: {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: a fresh descriptor that nothing else owns.
        fds.push(unsafe { OwnedFd::from_raw_fd(i32::try_from(fd).unwrap()) });
    }
    for fd in &fds {
        // SAFETY: PERF_EVENT_IOC_ENABLE, no argument, on an open perf event descriptor.
        assert_eq!(unsafe { libc::ioctl(fd.as_raw_fd(), 0x2400, 0) }, 0);
    }
    Ok(fds)
}

pub(crate) fn total(fds: &[OwnedFd]) -> u64 {
    fds.iter()
        .map(|fd| {
            let mut n = 0u64;
            // SAFETY: reads 8 bytes into `n` from an open perf event descriptor.
            let got = unsafe { libc::read(fd.as_raw_fd(), (&raw mut n).cast(), 8) };
            assert_eq!(got, 8);
            n
        })
        .sum()
}
