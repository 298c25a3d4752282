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
    let allowed = allowed()?;
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
    set(0, chosen)?;
    Ok(Some(chosen))
}

/// For `--split`: pins this thread to the highest CPU it may run on and returns it with the
/// lowest other one, for the peer ([`pin_process`]). `InvalidInput` with fewer than two.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn pin_split() -> io::Result<(usize, usize)> {
    let allowed = allowed()?;
    match (allowed.first(), allowed.last()) {
        (Some(&peer), Some(&mine)) if peer != mine => {
            set(0, mine)?;
            Ok((mine, peer))
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("--split needs two CPUs; this process may run on {allowed:?}"),
        )),
    }
}

/// Restricts the main thread of process `pid` (and the threads it starts afterwards) to
/// `cpu`: `sched_setaffinity(pid)`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn pin_process(pid: u32, cpu: usize) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
    set(pid, cpu)
}

/// The CPUs this thread may run on (`sched_getaffinity`), in order.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn allowed() -> io::Result<Vec<usize>> {
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: cpu_set_t is plain old data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is valid for writes of `size` bytes.
    if unsafe { libc::sched_getaffinity(0, size, &mut set) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let max = 8 * size;
    // SAFETY: every index is below the set's capacity in bits.
    Ok((0..max)
        .filter(|&c| unsafe { libc::CPU_ISSET(c, &set) })
        .collect())
}

/// `sched_setaffinity(pid, {cpu})` (`pid` 0: this thread).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn set(pid: libc::pid_t, cpu: usize) -> io::Result<()> {
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: cpu_set_t is plain old data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid cpu_set_t and `cpu` (from `allowed`) is below its capacity.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` is valid for reads of `size` bytes.
    if unsafe { libc::sched_setaffinity(pid, size, &set) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
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

/// `--split` is Linux-only.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) fn pin_split() -> io::Result<(usize, usize)> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!("--split is not supported on {}", std::env::consts::OS),
    ))
}

/// Never called where [`pin_split`] fails.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) fn pin_process(_pid: u32, _cpu: usize) -> io::Result<()> {
    Ok(())
}
