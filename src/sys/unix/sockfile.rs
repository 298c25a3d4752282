//! Socket files for path names: putting a listening socket at its path with no window in
//! which the path names anything else, stale-file reclaim, and removal when the listener drops.
//!
//! # How a path is bound
//! 1. A private directory is made beside the target, in the same directory (so on the same
//!    file system): `mkdirat(<dir>/.lipc-XXXXXX, 0700)` with a random name (retried on
//!    `EEXIST`), opened (`O_DIRECTORY | O_NOFOLLOW`), checked to be ours (`fstat`: our uid)
//!    and `fchmod`ed to `0700`. Nobody else can create, rename or replace anything in it.
//! 2. The socket is bound at `<private>/s`: on Linux and Android through
//!    `/proc/self/fd/<dirfd>/s`, which names the directory we opened however the names
//!    around it are changed meanwhile (and is short whatever the target's length); without
//!    `/proc`, and on other systems, by its plain path, which must then fit in `sun_path`.
//! 3. The mode, if one was asked for, is set with `fchmodat(<dirfd>, "s")`: inside the private
//!    directory, where nothing can have been swapped in. The public path is never `chmod`ed.
//! 4. `listen`.
//! 5. Only now is the socket published: `linkat` to the requested path, which never replaces
//!    anything (`EEXIST`). This happens under an exclusive `flock` on the target's directory
//!    (opened `O_RDONLY | O_DIRECTORY`), held by every binder and by every listener removing
//!    its file. If the path exists and reclaim is on, still under the lock: a file that is
//!    not a socket gives `AlreadyExists` (never touched); a socket that answers a
//!    nonblocking `connect` (or whose backlog is full, `EAGAIN`) gives `AddrInUse`; one that
//!    refuses it (four tries over ~20 ms) is stale and our socket is `renameat`ed over it (an
//!    atomic replacement); any other answer gives `AddrInUse` ("cannot tell").
//! 6. `<private>/s` is unlinked and the private directory removed, on success and on every
//!    error path.
//!
//! So the public path only ever names a socket that is listening with its final mode, and
//! two binders racing for one path are serialised by the lock: one wins, the other gets
//! `AddrInUse` from the probe.
//!
//! Without the lock (the directory cannot be opened for reading, the file system has no
//! `flock`, or another process holds the lock for more than a second) an existing file is
//! never replaced: `linkat` alone still lets exactly one binder win, and the others get
//! `AddrInUse`. The lock is advisory: servers that do not take it (other libraries) are not
//! serialised with us.
//!
//! The socket's own address (`getsockname`, and a client's `getpeername`) is the private path
//! it was bound at, which no longer exists once `bind` returns; this crate never uses it.
//!
//! Limitation (macOS, the BSDs): a full backlog makes `connect` fail with `ECONNREFUSED`, not
//! `EAGAIN`, so a live server whose backlog stays full for all four probes is judged stale.

use super::addr::{SockAddr, MAX_PATH_LEN};
use super::SocketType;
use crate::local_socket::{ListenerOptions, LocalSocketName};
use crate::sys::err_with_name;
use rustix::fs::{self as rfs, AtFlags, FileType, FlockOperation, Mode, OFlags, CWD};
use rustix::io::Errno;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long `bind` and drop wait for the directory lock before going on without it.
const LOCK_WAIT: Duration = Duration::from_secs(1);

/// Pauses between the liveness probes of a socket file that refused the first one.
const PROBE_RETRIES: [Duration; 3] = [
    Duration::from_millis(1),
    Duration::from_millis(4),
    Duration::from_millis(16),
];

/// The directory that holds (or will hold) a socket file, and the file's name in it.
struct Parent {
    /// The directory as given (`.` for a bare file name).
    dir: PathBuf,
    /// The file's name in it.
    file: OsString,
    /// The directory, open for the `*at` calls and the lock; `None` if it cannot be opened
    /// for reading (then paths are used).
    fd: Option<OwnedFd>,
}

/// What [`Parent::open`] does when the directory cannot be opened for another reason than
/// `EACCES` (which always leaves it unopened: then paths are used).
#[derive(Clone, Copy, PartialEq, Eq)]
enum DirErrors {
    /// Fail (binding: a directory that cannot be opened is worth an error).
    Fail,
    /// Go on with paths (removing the file: out of descriptors, say, it is still removed).
    Tolerate,
}

impl Parent {
    /// Splits `path` into directory and file name and opens the directory
    /// (`open(O_RDONLY | O_DIRECTORY | O_CLOEXEC)`; `EACCES`, or with
    /// [`DirErrors::Tolerate`] any failure, leaves it unopened).
    fn open(path: &OsStr, errors: DirErrors) -> io::Result<Self> {
        let bytes = path.as_bytes();
        let (dir, file) = match bytes.iter().rposition(|&b| b == b'/') {
            Some(0) => (&b"/"[..], &bytes[1..]),
            Some(at) => (&bytes[..at], &bytes[at + 1..]),
            None => (&b"."[..], bytes),
        };
        if file.is_empty() || file == b"." || file == b".." {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path does not end in a file name",
            ));
        }
        let dir = PathBuf::from(OsStr::from_bytes(dir));
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = match rfs::openat(CWD, &dir, flags, Mode::empty()) {
            Ok(fd) => Some(fd),
            Err(Errno::ACCESS) => None,
            Err(_) if errors == DirErrors::Tolerate => None,
            Err(e) => return Err(e.into()),
        };
        Ok(Self {
            dir,
            file: OsStr::from_bytes(file).to_owned(),
            fd,
        })
    }

    /// The directory descriptor for `*at` calls (`AT_FDCWD` without one).
    fn dirfd(&self) -> BorrowedFd<'_> {
        self.fd.as_ref().map_or(CWD, |fd| fd.as_fd())
    }

    /// `name` relative to [`dirfd`](Self::dirfd).
    fn rel(&self, name: &OsStr) -> PathBuf {
        match self.fd {
            Some(_) => PathBuf::from(name),
            None => self.dir.join(name),
        }
    }

    /// `flock(LOCK_EX | LOCK_NB)`, retried for up to [`LOCK_WAIT`]; `None` if the directory
    /// is not open, the file system has no locks, or the wait ran out.
    fn lock(&self) -> Option<DirLock<'_>> {
        let fd = self.fd.as_ref()?;
        let deadline = Instant::now() + LOCK_WAIT;
        let mut pause = Duration::from_micros(50);
        loop {
            match rfs::flock(fd, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => return Some(DirLock(fd.as_fd())),
                Err(Errno::WOULDBLOCK) | Err(Errno::INTR) if Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_micros(500));
                }
                Err(_) => return None,
            }
        }
    }

    /// `fstatat(AT_SYMLINK_NOFOLLOW)` of the file.
    fn stat_file(&self) -> rustix::io::Result<rfs::Stat> {
        rfs::statat(
            self.dirfd(),
            self.rel(&self.file),
            AtFlags::SYMLINK_NOFOLLOW,
        )
    }
}

/// An exclusive `flock` on a directory, released (`LOCK_UN`) on drop.
struct DirLock<'a>(BorrowedFd<'a>);

impl Drop for DirLock<'_> {
    fn drop(&mut self) {
        let _ = rfs::flock(self.0, FlockOperation::Unlock);
    }
}

/// The private `0700` directory a socket is bound in before it is published; on drop its
/// socket file (if still there) and the directory itself are removed.
struct PrivateDir<'a> {
    parent: &'a Parent,
    name: OsString,
    fd: OwnedFd,
}

impl<'a> PrivateDir<'a> {
    /// `mkdirat(.lipc-XXXXXX, 0700)` (another name on `EEXIST`), `openat(O_DIRECTORY |
    /// O_NOFOLLOW)`, `fstat` (it must be ours), `fchmod(0700)` (the umask may have taken
    /// bits from the owner; it never gives any to others).
    fn create(parent: &'a Parent) -> io::Result<Self> {
        for _ in 0..64 {
            let name = OsString::from(random_name());
            match rfs::mkdirat(parent.dirfd(), parent.rel(&name), Mode::RWXU) {
                Ok(()) => {}
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            }
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let fd = match rfs::openat(parent.dirfd(), parent.rel(&name), flags, Mode::empty()) {
                Ok(fd) => fd,
                Err(e) => {
                    let _ = rfs::unlinkat(parent.dirfd(), parent.rel(&name), AtFlags::REMOVEDIR);
                    return Err(io::Error::new(
                        io::Error::from(e).kind(),
                        format!(
                            "opening the temporary directory {} it was to be bound in: {e} \
                             (does the umask leave the owner read and search permission?)",
                            parent.dir.join(&name).display()
                        ),
                    ));
                }
            };
            let dir = Self { parent, name, fd };
            if rfs::fstat(&dir.fd)?.st_uid != rustix::process::geteuid().as_raw() {
                return Err(io::Error::other(format!(
                    "the temporary directory {} was replaced by another user's",
                    parent.dir.join(&dir.name).display()
                )));
            }
            rfs::fchmod(&dir.fd, Mode::RWXU)?;
            return Ok(dir);
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("no free temporary name in {}", parent.dir.display()),
        ))
    }

    /// The socket's path inside: `(preferred, fallback)`. Linux: the `/proc/self/fd` path,
    /// then the plain one; elsewhere the plain one only.
    fn socket_paths(&self) -> (PathBuf, Option<PathBuf>) {
        let plain = self.parent.dir.join(&self.name).join("s");
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let proc = PathBuf::from(format!("/proc/self/fd/{}/s", self.fd.as_raw_fd()));
            (proc, Some(plain))
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            (plain, None)
        }
    }
}

impl Drop for PrivateDir<'_> {
    /// `unlinkat(<dir>, "s")`, then `unlinkat(AT_REMOVEDIR)` of the directory.
    fn drop(&mut self) {
        let _ = rfs::unlinkat(&self.fd, "s", AtFlags::empty());
        let _ = rfs::unlinkat(
            self.parent.dirfd(),
            self.parent.rel(&self.name),
            AtFlags::REMOVEDIR,
        );
    }
}

/// Whether `path` is the temporary address [`bind_path`] binds a socket at
/// (`/proc/self/fd/<n>/s`, or `<dir>/.lipc-XXXXXX/s`): what `getsockname` reports for a
/// socket this crate published, which says nothing about the name it was published under.
pub(crate) fn is_private_bind_path(path: &Path) -> bool {
    use std::path::Component;
    if path.file_name() != Some(OsStr::new("s")) {
        return false;
    }
    let Some(dir) = path.parent() else {
        return false;
    };
    let parts: Vec<Component<'_>> = dir.components().collect();
    let is_proc_fd = matches!(
        parts.as_slice(),
        [Component::RootDir, Component::Normal(p), Component::Normal(s), Component::Normal(f), Component::Normal(n)]
            if *p == "proc" && *s == "self" && *f == "fd"
                && !n.is_empty() && n.as_bytes().iter().all(u8::is_ascii_digit)
    );
    let is_private_dir = dir.file_name().is_some_and(|n| {
        let n = n.as_bytes();
        n.len() == 12 && n.starts_with(b".lipc-") && n[6..].iter().all(u8::is_ascii_alphanumeric)
    });
    is_proc_fd || is_private_dir
}

/// `.lipc-` and six random letters and digits (std's randomly keyed hasher, fed the time, the
/// pid and a counter).
fn random_name() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    let mut v = h.finish();
    let mut name = String::from(".lipc-");
    for _ in 0..6 {
        #[allow(clippy::cast_possible_truncation)] // v % 62 < 62
        name.push(ALPHABET[(v % ALPHABET.len() as u64) as usize] as char);
        v /= ALPHABET.len() as u64;
    }
    name
}

/// What a nonblocking `connect` says about an existing socket file.
enum Liveness {
    /// Accepted, or the backlog is full (`EAGAIN`): a server is listening.
    Alive,
    /// `ECONNREFUSED` every time: nobody is listening.
    Stale,
    /// Anything else (e.g. `EPROTOTYPE`, `EACCES`).
    Unknown(io::Error),
}

/// Nonblocking `connect` with a socket of type `ty`; refusals are tried again after
/// [`PROBE_RETRIES`], so a server caught between `bind` and `listen` is not judged stale.
fn probe(addr: &SockAddr, ty: SocketType) -> Liveness {
    let mut pauses = PROBE_RETRIES.iter();
    loop {
        match super::connect::start_connect(addr, ty) {
            Ok(_) => return Liveness::Alive,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Liveness::Alive,
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => match pauses.next() {
                Some(pause) => std::thread::sleep(*pause),
                None => return Liveness::Stale,
            },
            Err(e) => return Liveness::Unknown(e),
        }
    }
}

/// Device and inode (their types differ between systems), compared for equality only: Apple's
/// `i32` device number is sign-extended, which keeps distinct values distinct.
#[allow(clippy::unnecessary_cast, clippy::cast_sign_loss)]
fn file_id(st: &rfs::Stat) -> (u64, u64) {
    (st.st_dev as u64, st.st_ino as u64)
}

fn is_socket(st: &rfs::Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::Socket
}

/// Binds `fd` at the path `name`, sets the `mode` of `opts`, calls `listen`, and publishes
/// the socket at the path as the module docs describe (reclaiming a stale file if `opts`
/// say `reclaim`). Returns the published file.
pub(crate) fn bind_path(
    fd: &OwnedFd,
    name: &LocalSocketName<'_>,
    opts: &ListenerOptions,
    ty: SocketType,
    listen: impl FnOnce() -> io::Result<()>,
) -> io::Result<SocketFile> {
    let public = SockAddr::new(name)?; // the path fits in sun_path (else InvalidInput)
                                       // An explicit mode wins over the one the access policy implies.
    let mode = opts.mode.or_else(|| opts.access.file_mode());
    let mode = mode.map(super::mode_t).transpose(); // fits mode_t (else InvalidInput)
    let mode = mode.map_err(|e| err_with_name(e, "binding", name))?;
    let parent = Parent::open(name.inner(), DirErrors::Fail)
        .map_err(|e| err_with_name(e, "binding", name))?;
    let private = PrivateDir::create(&parent).map_err(|e| err_with_name(e, "binding", name))?;
    bind_private(fd, &private, name)?;
    if let Some(mode) = mode {
        rfs::chmodat(
            &private.fd,
            "s",
            Mode::from_raw_mode(mode),
            AtFlags::empty(),
        )
        .map_err(|e| err_with_name(e.into(), "setting the mode of", name))?;
    }
    if let Some(gid) = opts.access.file_group() {
        // The group of an access policy: `fchownat` inside the private directory, like the mode.
        rfs::chownat(
            &private.fd,
            "s",
            None,
            Some(rustix::fs::Gid::from_raw(gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(|e| err_with_name(e.into(), &format!("giving group {gid} to"), name))?;
    }
    let st = rfs::statat(&private.fd, "s", AtFlags::SYMLINK_NOFOLLOW)
        .map_err(|e| err_with_name(e.into(), "binding", name))?;
    if !is_socket(&st) {
        return Err(io::Error::other(format!(
            "binding local socket \"{name}\": its temporary directory was tampered with"
        )));
    }
    listen()?;
    let lock = parent.lock();
    publish(&parent, &private, lock.as_ref(), opts, &public, ty, name)?;
    drop(lock);
    Ok(SocketFile {
        dir: parent.dir.clone(),
        file: parent.file.clone(),
        dev: file_id(&st).0,
        ino: file_id(&st).1,
    })
}

/// `bind` at the private directory's socket path (the `/proc` one first where there is one).
fn bind_private(
    fd: &OwnedFd,
    private: &PrivateDir<'_>,
    name: &LocalSocketName<'_>,
) -> io::Result<()> {
    let (first, fallback) = private.socket_paths();
    let try_bind = |path: &PathBuf| -> Option<io::Result<()>> {
        let addr = SockAddr::for_path(path.as_os_str().as_bytes())?;
        // SAFETY: `addr` points to a valid sockaddr_un of `addr.len` bytes.
        Some(super::cvt(unsafe { libc::bind(fd.as_raw_fd(), addr.as_ptr(), addr.len) }).map(drop))
    };
    let result = match try_bind(&first) {
        Some(Ok(())) => Ok(()),
        first_result => match (first_result, fallback.as_ref().and_then(&try_bind)) {
            (_, Some(second)) => second,
            (Some(Err(e)), None) => Err(e),
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "local socket path \"{name}\" is bound at the temporary path {} \
                         first, which is longer than the {MAX_PATH_LEN} bytes {} allows; use \
                         a shorter path",
                        first.display(),
                        std::env::consts::OS
                    ),
                ))
            }
        },
    };
    result.map_err(|e| err_with_name(e, "binding", name))
}

/// `linkat` of the private socket to the public path; on `EEXIST`, the reclaim rules of
/// `opts` (with `lock`, the directory's, held only).
fn publish(
    parent: &Parent,
    private: &PrivateDir<'_>,
    lock: Option<&DirLock<'_>>,
    opts: &ListenerOptions,
    public: &SockAddr,
    ty: SocketType,
    name: &LocalSocketName<'_>,
) -> io::Result<()> {
    let in_use = |why: &str| {
        io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("cannot bind local socket \"{name}\": {why}"),
        )
    };
    let target = parent.rel(&parent.file);
    for _ in 0..3 {
        match rfs::linkat(&private.fd, "s", parent.dirfd(), &target, AtFlags::empty()) {
            Ok(()) => return Ok(()),
            Err(Errno::EXIST) => {}
            Err(e) => {
                return Err(err_with_name(
                    e.into(),
                    "publishing the socket file of",
                    name,
                ))
            }
        }
        if !opts.reclaim {
            return Err(in_use("the path exists and reclaim is off"));
        }
        if lock.is_none() {
            return Err(in_use(
                "a file is at the path, and without a lock on its directory (not readable, \
                 no locks on this file system, or held by another process) it is not replaced",
            ));
        }
        let before = match parent.stat_file() {
            Ok(st) => st,
            Err(Errno::NOENT) => continue, // removed meanwhile: link again
            Err(e) => {
                return Err(err_with_name(
                    e.into(),
                    "checking the existing file of",
                    name,
                ))
            }
        };
        if !is_socket(&before) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "cannot bind local socket \"{name}\": {} is there, and only stale sockets are replaced",
                    describe(FileType::from_raw_mode(before.st_mode))
                ),
            ));
        }
        match probe(public, ty) {
            Liveness::Alive => return Err(in_use("a live server is listening there")),
            Liveness::Unknown(e) => {
                return Err(in_use(&format!(
                    "a socket file is there and whether it is live cannot be told ({e})"
                )))
            }
            Liveness::Stale => {}
        }
        match parent.stat_file() {
            Ok(now) if file_id(&now) == file_id(&before) => {}
            _ => continue, // replaced or removed meanwhile (by a server not taking the lock)
        }
        return rfs::renameat(&private.fd, "s", parent.dirfd(), &target)
            .map_err(|e| err_with_name(e.into(), "replacing the stale socket file of", name));
    }
    Err(in_use("the path kept changing while it was being checked"))
}

fn describe(ft: FileType) -> &'static str {
    match ft {
        FileType::Directory => "a directory",
        FileType::Symlink => "a symbolic link",
        FileType::Fifo => "a FIFO",
        FileType::RegularFile => "a regular file",
        _ => "a non-socket file",
    }
}

/// The socket file a listener published, identified by device and inode so that dropping the
/// listener never removes a file some later server put at the same path.
#[derive(Debug)]
pub(crate) struct SocketFile {
    dir: PathBuf,
    /// Empty once [`keep`](Self::keep) was called.
    file: OsString,
    dev: u64,
    ino: u64,
}

impl SocketFile {
    /// Leaves the file in place.
    pub(crate) fn keep(mut self) {
        self.file = OsString::new();
    }
}

impl Drop for SocketFile {
    /// Under the directory's `flock` (as `bind` takes it; without it if the directory cannot
    /// be opened or the lock had within a second): `fstatat`, then `unlinkat` if the path
    /// still holds our inode.
    ///
    /// Must run while the listening socket is still open: the open socket keeps its inode
    /// alive, so no later file can have the same device and inode, and a reclaiming binder's
    /// probe finds the socket live and leaves it alone.
    fn drop(&mut self) {
        if self.file.is_empty() {
            return; // kept
        }
        let mut path = self.dir.clone().into_os_string().into_vec();
        path.push(b'/');
        path.extend_from_slice(self.file.as_bytes());
        let Ok(parent) = Parent::open(OsStr::from_bytes(&path), DirErrors::Tolerate) else {
            return;
        };
        let _lock = parent.lock();
        if let Ok(st) = parent.stat_file() {
            if file_id(&st) == (self.dev, self.ino) {
                let _ = rfs::unlinkat(parent.dirfd(), parent.rel(&parent.file), AtFlags::empty());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_private_bind_path;
    use std::path::Path;

    #[test]
    fn temporary_bind_paths_are_recognised_and_nothing_else() {
        for yes in [
            "/proc/self/fd/8/s",
            "/proc/self/fd/123/s",
            "/tmp/x/.lipc-aB3dE9/s",
            ".lipc-000000/s",
        ] {
            assert!(is_private_bind_path(Path::new(yes)), "{yes}");
        }
        for no in [
            "/proc/self/fd/8/t",
            "/proc/self/fd/x8/s",
            "/proc/self/fd//s",
            "/proc/1/fd/8/s",
            "/tmp/x/.lipc-aB3dE/s",
            "/tmp/x/.lipc-aB3dE9x/s",
            "/tmp/x/.lipc-aB3-E9/s",
            "/tmp/x/s",
            "/tmp/x/.lipc-aB3dE9/s/t",
            "s",
        ] {
            assert!(!is_private_bind_path(Path::new(no)), "{no}");
        }
    }
}
