//! Inherited listening sockets: the check that a descriptor is a listening Unix socket of a
//! given type, systemd's socket activation (`LISTEN_FDS`) and launchd's
//! (`launch_activate_socket`, Apple).

use super::{cvt, SocketType};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

/// `InvalidInput` unless `fd` is a listening `AF_UNIX` socket of type `ty`, naming what it
/// is instead: `fstat` (not a socket: the kind of file), `getsockname` (the address family),
/// `getsockopt(SO_TYPE)`, `getsockopt(SO_ACCEPTCONN)` (not listening).
pub(crate) fn check_listening(fd: BorrowedFd<'_>, ty: SocketType, what: &str) -> io::Result<()> {
    check_socket(fd, ty, true, what)
}

/// `InvalidInput` unless `fd` is an `AF_UNIX` `SOCK_STREAM` socket that is not listening
/// (a connected stream), naming what it is instead; the same calls as [`check_listening`].
pub(crate) fn check_connected_stream(fd: BorrowedFd<'_>, what: &str) -> io::Result<()> {
    check_socket(fd, SocketType::Stream, false, what)
}

fn check_socket(
    fd: BorrowedFd<'_>,
    ty: SocketType,
    want_listening: bool,
    what: &str,
) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    let role = if want_listening {
        "a listening"
    } else {
        "a connected"
    };
    let bad = |found: String| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{what} needs {role} AF_UNIX {} socket; descriptor {raw} is {found}",
                type_name(ty.raw())
            ),
        )
    };
    let st = rustix::fs::fstat(fd).map_err(|e| bad(format!("not usable (fstat: {e})")))?;
    let kind = rustix::fs::FileType::from_raw_mode(st.st_mode);
    if kind != rustix::fs::FileType::Socket {
        return Err(bad(format!("not a socket but a {}", file_kind(kind))));
    }
    let family = family(raw).map_err(|e| bad(format!("a socket (getsockname: {e})")))?;
    if family != libc::AF_UNIX {
        return Err(bad(format!("a socket of family {}", family_name(family))));
    }
    let sock_ty = getsockopt_int(raw, libc::SO_TYPE)
        .map_err(|e| bad(format!("an AF_UNIX socket (SO_TYPE: {e})")))?;
    if sock_ty != ty.raw() {
        return Err(bad(format!("an AF_UNIX {} socket", type_name(sock_ty))));
    }
    let listening = getsockopt_int(raw, libc::SO_ACCEPTCONN)
        .map_err(|e| bad(format!("an AF_UNIX socket (SO_ACCEPTCONN: {e})")))?;
    if listening == 0 && want_listening {
        return Err(bad(format!(
            "an AF_UNIX {} socket that is not listening (connected, or never listened)",
            type_name(sock_ty)
        )));
    }
    if listening != 0 && !want_listening {
        return Err(bad(format!(
            "a listening AF_UNIX {} socket",
            type_name(sock_ty)
        )));
    }
    Ok(())
}

/// `getsockname`: the address family.
fn family(fd: RawFd) -> io::Result<libc::c_int> {
    // SAFETY: all-zero bytes are a valid sockaddr_storage.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::sockaddr_storage>())
        .expect("sockaddr_storage fits socklen_t");
    // SAFETY: `ss` is writable for `len` bytes; `fd` is open (borrowed by the caller).
    cvt(unsafe { libc::getsockname(fd, (&raw mut ss).cast(), &mut len) })?;
    Ok(libc::c_int::from(ss.ss_family))
}

/// `getsockopt(SOL_SOCKET, opt)` for an `int` option.
fn getsockopt_int(fd: RawFd, opt: libc::c_int) -> io::Result<libc::c_int> {
    let mut v: libc::c_int = 0;
    let mut len =
        libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).expect("int fits socklen_t");
    // SAFETY: `v` is writable for `len` bytes; `fd` is open (borrowed by the caller).
    cvt(unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, opt, (&raw mut v).cast(), &mut len) })?;
    Ok(v)
}

fn type_name(ty: libc::c_int) -> String {
    match ty {
        libc::SOCK_STREAM => "SOCK_STREAM".into(),
        libc::SOCK_DGRAM => "SOCK_DGRAM".into(),
        libc::SOCK_SEQPACKET => "SOCK_SEQPACKET".into(),
        libc::SOCK_RAW => "SOCK_RAW".into(),
        t => format!("type-{t}"),
    }
}

fn family_name(f: libc::c_int) -> String {
    match f {
        libc::AF_INET => "AF_INET".into(),
        libc::AF_INET6 => "AF_INET6".into(),
        libc::AF_UNIX => "AF_UNIX".into(),
        #[cfg(any(target_os = "linux", target_os = "android"))]
        libc::AF_NETLINK => "AF_NETLINK".into(),
        f => format!("{f}"),
    }
}

fn file_kind(k: rustix::fs::FileType) -> &'static str {
    use rustix::fs::FileType as T;
    match k {
        T::RegularFile => "regular file",
        T::Directory => "directory",
        T::Symlink => "symbolic link",
        T::Fifo => "FIFO (pipe)",
        T::CharacterDevice => "character device",
        T::BlockDevice => "block device",
        T::Socket => "socket",
        _ => "file of unknown kind",
    }
}

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: RawFd = 3;

/// Set once the descriptors of `LISTEN_FDS` have been taken: they are taken only once.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// systemd's `sd_listen_fds_with_names(unset_environment = 1)`: if `LISTEN_PID` is this
/// process (`getpid`), takes descriptors 3 … 3 + `LISTEN_FDS` - 1 with their names from
/// `LISTEN_FDNAMES` (colon-separated; `"unknown"` for each when unset, as systemd says),
/// sets close-on-exec on each (`fcntl(F_SETFD, FD_CLOEXEC)`, which also shows each is
/// open), and removes the three variables from the environment in every case. Empty when
/// the variables are absent or name another process, or on a second call.
///
/// Errors (`InvalidData`): `LISTEN_FDS` or `LISTEN_PID` not a number, a name count other
/// than `LISTEN_FDS`, a descriptor that is not open. The variables are removed then too.
pub(crate) fn take_systemd_fds() -> io::Result<Vec<(String, OwnedFd)>> {
    let pid = std::env::var_os("LISTEN_PID");
    let fds = std::env::var_os("LISTEN_FDS");
    let names = std::env::var_os("LISTEN_FDNAMES");
    for v in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        std::env::remove_var(v);
    }
    let (Some(pid), Some(fds)) = (pid, fds) else {
        return Ok(Vec::new());
    };
    let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let pid: u32 = pid
        .to_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("LISTEN_PID={pid:?} is not a process id")))?;
    if pid != std::process::id() {
        return Ok(Vec::new()); // meant for another process (inherited by mistake)
    }
    let n: RawFd = fds
        .to_str()
        .and_then(|s| s.parse().ok())
        .filter(|n| (0..=4096).contains(n))
        .ok_or_else(|| bad(format!("LISTEN_FDS={fds:?} is not a descriptor count")))?;
    let names: Vec<String> = match names {
        None => (0..n).map(|_| "unknown".to_owned()).collect(),
        Some(names) => names
            .to_string_lossy()
            .split(':')
            .map(str::to_owned)
            .collect(),
    };
    if names.len() != usize::try_from(n).unwrap_or(0) {
        return Err(bad(format!(
            "LISTEN_FDNAMES has {} names for LISTEN_FDS={n} descriptors",
            names.len()
        )));
    }
    if TAKEN.swap(true, Ordering::SeqCst) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (i, name) in (0..n).zip(names) {
        let raw = LISTEN_FDS_START + i;
        // SAFETY: fcntl on any number is harmless; EBADF says it is not open.
        cvt(unsafe { libc::fcntl(raw, libc::F_SETFD, libc::FD_CLOEXEC) }).map_err(|e| {
            bad(format!(
                "LISTEN_FDS={n}: descriptor {raw} (\"{name}\") is not open: {e}"
            ))
        })?;
        // SAFETY: the descriptor is open (fcntl succeeded) and was passed to this process
        // (LISTEN_PID) for it to own; TAKEN makes sure it is taken over only once.
        out.push((name, unsafe { OwnedFd::from_raw_fd(raw) }));
    }
    Ok(out)
}

/// launchd's `launch_activate_socket(name)` (Apple): the descriptors of the socket entry
/// `name` of the job's plist; the array launchd allocates is released with `free`.
/// Errors: the code it returns (`ENOENT`: no such entry, `ESRCH`: not managed by launchd,
/// `EALREADY`: already activated), naming the entry.
#[cfg(target_vendor = "apple")]
pub(crate) fn launchd_fds(name: &str) -> io::Result<Vec<OwnedFd>> {
    extern "C" {
        fn launch_activate_socket(
            name: *const libc::c_char,
            fds: *mut *mut libc::c_int,
            cnt: *mut libc::size_t,
        ) -> libc::c_int;
    }
    let cname = std::ffi::CString::new(name).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("launchd socket name {name:?} contains a NUL byte"),
        )
    })?;
    let mut fds: *mut libc::c_int = std::ptr::null_mut();
    let mut cnt: libc::size_t = 0;
    // SAFETY: `cname` is NUL-terminated; `fds` and `cnt` are valid out-pointers.
    let r = unsafe { launch_activate_socket(cname.as_ptr(), &mut fds, &mut cnt) };
    if r != 0 {
        let e = io::Error::from_raw_os_error(r);
        return Err(io::Error::new(
            e.kind(),
            format!("launch_activate_socket(\"{name}\"): {e}"),
        ));
    }
    let mut out = Vec::with_capacity(cnt);
    for i in 0..cnt {
        // SAFETY: launchd returned an array of `cnt` descriptors that are now ours.
        out.push(unsafe { OwnedFd::from_raw_fd(*fds.add(i)) });
    }
    // SAFETY: the array was allocated by launchd with malloc, to be freed by the caller.
    unsafe { libc::free(fds.cast()) };
    Ok(out)
}
