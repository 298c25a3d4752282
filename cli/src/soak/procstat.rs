//! This process's resident memory and open file descriptors or handles, where the OS shows
//! them (Linux: `/proc/self`; Windows: the working set and the handle count); `None`
//! elsewhere.

/// A snapshot of this process's resource use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ProcStat {
    /// Resident set size in KiB (`VmRSS`).
    pub rss_kib: Option<u64>,
    /// Open file descriptors, not counting the one used to count them.
    pub fds: Option<u64>,
}

impl ProcStat {
    /// The current values.
    pub(crate) fn now() -> Self {
        Self {
            rss_kib: rss_kib(),
            fds: fds(),
        }
    }

    /// `"<rss_kib> <fds>"`, `-` for an unknown value (the soak server's reply format).
    pub(crate) fn to_words(self) -> String {
        let word = |v: Option<u64>| v.map_or("-".to_owned(), |v| v.to_string());
        format!("{} {}", word(self.rss_kib), word(self.fds))
    }

    /// Parses [`to_words`](Self::to_words)'s two words.
    pub(crate) fn from_words(rss: &str, fds: &str) -> Option<Self> {
        let value = |w: &str| match w {
            "-" => Some(None),
            _ => w.parse().ok().map(Some),
        };
        Some(Self {
            rss_kib: value(rss)?,
            fds: value(fds)?,
        })
    }
}

/// `VmRSS` from `/proc/self/status`, in KiB.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The working set (`GetProcessMemoryInfo`), in KiB.
#[cfg(windows)]
fn rss_kib() -> Option<u64> {
    use windows_sys::Win32::System::ProcessStatus::{
        GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS,
    };
    use windows_sys::Win32::System::Threading::GetCurrentProcess;
    // SAFETY: an all-zero PROCESS_MEMORY_COUNTERS is a valid value of this plain C struct.
    let mut counters: PROCESS_MEMORY_COUNTERS = unsafe { std::mem::zeroed() };
    #[allow(clippy::cast_possible_truncation)] // a struct of 80 bytes
    let size = std::mem::size_of::<PROCESS_MEMORY_COUNTERS>() as u32;
    // SAFETY: `counters` is valid for writes of `size` bytes; the pseudo-handle needs no
    // closing.
    let ok = unsafe { GetProcessMemoryInfo(GetCurrentProcess(), &mut counters, size) };
    (ok != 0).then_some(counters.WorkingSetSize as u64 / 1024)
}

/// Not available on this OS.
#[cfg(not(any(target_os = "linux", target_os = "android", windows)))]
fn rss_kib() -> Option<u64> {
    None
}

/// Entries of `/proc/self/fd`, less the directory handle that lists them.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn fds() -> Option<u64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    Some((entries.count() as u64).saturating_sub(1))
}

/// Open handles (`GetProcessHandleCount`); `None` where that reports 0 (Wine's stub).
#[cfg(windows)]
fn fds() -> Option<u64> {
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, GetProcessHandleCount};
    let mut n = 0u32;
    // SAFETY: `n` is valid for writes; the pseudo-handle needs no closing.
    let ok = unsafe { GetProcessHandleCount(GetCurrentProcess(), &mut n) };
    (ok != 0 && n != 0).then_some(u64::from(n))
}

/// Not available on this OS.
#[cfg(not(any(target_os = "linux", target_os = "android", windows)))]
fn fds() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for stat in [
            ProcStat::default(),
            ProcStat {
                rss_kib: Some(12_345),
                fds: Some(9),
            },
        ] {
            let words = stat.to_words();
            let (rss, fds) = words.split_once(' ').unwrap();
            assert_eq!(ProcStat::from_words(rss, fds), Some(stat));
        }
        assert_eq!(ProcStat::from_words("x", "1"), None);
    }

    #[cfg(windows)]
    #[test]
    fn windows_has_the_working_set() {
        assert!(ProcStat::now().rss_kib.unwrap() > 0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_has_values() {
        let stat = ProcStat::now();
        assert!(stat.rss_kib.unwrap() > 0);
        assert!(stat.fds.unwrap() >= 3);
    }
}
