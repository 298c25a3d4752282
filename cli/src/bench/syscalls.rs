//! System calls per round trip, for the async groups: counted by the kernel with the
//! `raw_syscalls:sys_enter` tracepoint (`perf_event_open`, one counter per thread of both
//! processes, enabled only around the timed round trips). Linux only, and only where
//! tracepoints may be counted: as root (as in CI) or with `kernel.perf_event_paranoid` <= 1
//! and tracefs readable. Elsewhere the column shows "n/a" and the report says why.

use std::io;

/// Enabled counters over every thread of the processes given; dropped, they close.
#[derive(Debug)]
pub(super) struct Counter {
    #[cfg(target_os = "linux")]
    fds: Vec<std::os::fd::OwnedFd>,
}

/// Why counting is unavailable, as one line for the report; `Ok` if it is available.
pub(super) fn availability() -> Result<(), String> {
    imp::tracepoint_id().map(|_| ())
}

impl Counter {
    /// Counters on every thread of this process and of `peer`, enabled now.
    pub(super) fn start(peer: u32) -> Result<Self, String> {
        imp::start(peer)
    }

    /// System calls made by those threads since [`start`](Self::start).
    pub(super) fn read(&self) -> io::Result<u64> {
        imp::read(self)
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use super::Counter;
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    /// The start of `struct perf_event_attr` (PERF_ATTR_SIZE_VER0 is 64 bytes; this is the
    /// first 64, the rest left zero as the kernel then assumes).
    #[repr(C)]
    #[derive(Default)]
    struct Attr {
        kind: u32,
        size: u32,
        config: u64,
        sample_period: u64,
        sample_type: u64,
        read_format: u64,
        /// Bit 0 `disabled`, bit 1 `inherit`, …
        flags: u64,
        wakeup_events: u32,
        bp_type: u32,
        config1: u64,
    }
    const _: () = assert!(std::mem::size_of::<Attr>() == 64);
    const PERF_TYPE_TRACEPOINT: u32 = 2;
    const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
    /// `_IO('$', 0)`
    const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;

    /// The id of `raw_syscalls:sys_enter`, from tracefs.
    pub(super) fn tracepoint_id() -> Result<u64, String> {
        let paths = [
            "/sys/kernel/tracing/events/raw_syscalls/sys_enter/id",
            "/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id",
        ];
        let mut last = String::new();
        for path in paths {
            match std::fs::read_to_string(path) {
                Ok(id) => {
                    return id
                        .trim()
                        .parse()
                        .map_err(|e| format!("reading {path}: {e}"))
                }
                Err(e) => {
                    last = format!("cannot read {path}: {e} (tracefs not mounted or not root)")
                }
            }
        }
        Err(last)
    }

    pub(super) fn start(peer: u32) -> Result<Counter, String> {
        let id = tracepoint_id()?;
        let mut fds = Vec::new();
        for pid in [std::process::id(), peer] {
            let tasks = format!("/proc/{pid}/task");
            let dir = std::fs::read_dir(&tasks).map_err(|e| format!("listing {tasks}: {e}"))?;
            for task in dir.flatten() {
                let Some(tid) = task.file_name().to_str().and_then(|t| t.parse().ok()) else {
                    continue;
                };
                fds.push(open(id, tid).map_err(|e| {
                    format!("perf_event_open on thread {tid} of process {pid}: {e} (needs root or kernel.perf_event_paranoid <= 1)")
                })?);
            }
        }
        for fd in &fds {
            // SAFETY: an ioctl without argument on an open perf event descriptor.
            if unsafe { libc::ioctl(fd.as_raw_fd(), PERF_EVENT_IOC_ENABLE, 0) } < 0 {
                return Err(format!(
                    "enabling a counter: {}",
                    io::Error::last_os_error()
                ));
            }
        }
        Ok(Counter { fds })
    }

    /// A disabled counter of the tracepoint `id` on thread `tid`, any CPU.
    fn open(id: u64, tid: libc::pid_t) -> io::Result<OwnedFd> {
        let attr = Attr {
            kind: PERF_TYPE_TRACEPOINT,
            size: 64, // PERF_ATTR_SIZE_VER0, the size of `Attr`
            config: id,
            flags: 1, // disabled
            ..Attr::default()
        };
        // SAFETY: `attr` is a valid perf_event_attr of the size it states, alive for the call.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_perf_event_open,
                &attr as *const Attr,
                tid,
                -1,
                -1,
                PERF_FLAG_FD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = i32::try_from(fd).map_err(io::Error::other)?;
        // SAFETY: a fresh descriptor that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    pub(super) fn read(counter: &Counter) -> io::Result<u64> {
        let mut total = 0;
        for fd in &counter.fds {
            let mut value = 0u64;
            // SAFETY: reads at most 8 bytes into `value`, from an open perf event descriptor.
            let n = unsafe { libc::read(fd.as_raw_fd(), (&raw mut value).cast(), 8) };
            if n != 8 {
                return Err(io::Error::last_os_error());
            }
            total += value;
        }
        Ok(total)
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::Counter;
    use std::io;

    const WHY: &str = "counted on Linux only (perf tracepoints)";

    pub(super) fn tracepoint_id() -> Result<u64, String> {
        Err(WHY.into())
    }

    pub(super) fn start(_peer: u32) -> Result<Counter, String> {
        Err(WHY.into())
    }

    pub(super) fn read(_: &Counter) -> io::Result<u64> {
        Err(io::Error::other(WHY))
    }
}
