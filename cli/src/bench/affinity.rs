//! Pinning the bench to one CPU, so that both processes share it.
//!
//! On a machine with few (virtual) CPUs, a round trip between processes on two CPUs is
//! dominated by cross-CPU wake-ups, which vary from round to round by tens of percent; on
//! one CPU a round trip is a pair of direct context switches and repeats within about 1%.
//! Sharing one CPU is also the stricter test: the library's own cost is then a larger part
//! of each measurement. The peer process inherits the mask when it is spawned.

use std::io;

/// Restricts this thread (and so every thread and process it starts afterwards) to `cpu`,
/// or by default to the highest CPU it may run on. Returns the CPU chosen.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn pin(cpu: Option<usize>) -> io::Result<Option<usize>> {
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: cpu_set_t is plain old data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is valid for writes of `size` bytes.
    if unsafe { libc::sched_getaffinity(0, size, &mut set) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let max = 8 * size;
    // SAFETY: every index is below the set's capacity in bits.
    let allowed: Vec<usize> = (0..max)
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect();
    let chosen = match cpu {
        Some(c) if allowed.contains(&c) => c,
        Some(c) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("CPU {c} is not available to this process (allowed: {allowed:?})"),
            ))
        }
        None => match allowed.last() {
            Some(&c) => c,
            None => return Ok(None),
        },
    };
    // SAFETY: `set` is a valid cpu_set_t and `chosen` is below its capacity.
    unsafe {
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(chosen, &mut set);
    }
    // SAFETY: `set` is valid for reads of `size` bytes.
    if unsafe { libc::sched_setaffinity(0, size, &set) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Some(chosen))
}

/// No CPU affinity is set on this OS: returns `None` (or an error if a CPU was asked for).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) fn pin(cpu: Option<usize>) -> io::Result<Option<usize>> {
    match cpu {
        Some(_) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("--cpu is not supported on {}", std::env::consts::OS),
        )),
        None => Ok(None),
    }
}
