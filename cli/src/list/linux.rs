//! `localipc list` on Linux: `sock_diag` (fallback `/proc/net/unix`), `/proc/*/fd`.

use super::Entry;
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

const NETLINK_SOCK_DIAG: libc::c_int = 4;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const UDIAG_SHOW_NAME: u32 = 0x1;
const UDIAG_SHOW_VFS: u32 = 0x2;
const UDIAG_SHOW_UID: u32 = 0x40;
const UNIX_DIAG_NAME: u16 = 0;
const UNIX_DIAG_VFS: u16 = 1;
const UNIX_DIAG_UID: u16 = 7;
const TCP_LISTEN: u32 = 10;

/// A listening socket as the kernel reports it.
struct Raw {
    ino: u64,
    ty: u8,
    /// Raw name bytes: a path, or a leading NUL for the abstract namespace; empty if unbound.
    name: Vec<u8>,
    /// The inode of the socket file (paths only).
    vfs_ino: Option<u64>,
    uid: Option<u32>,
}

pub(super) fn list() -> io::Result<Vec<Entry>> {
    let raw = sock_diag().or_else(|_| proc_net_unix())?;
    let pids = socket_pids();
    let mut search = Search::default();
    Ok(raw
        .into_iter()
        .map(|r| {
            let (name, note) = show_name(&r, &mut search);
            Entry {
                name,
                kind: match i32::from(r.ty) {
                    libc::SOCK_STREAM => "stream",
                    libc::SOCK_SEQPACKET => "seqpacket",
                    libc::SOCK_DGRAM => "dgram",
                    _ => "other",
                },
                uid: r.uid,
                pids: pids.get(&r.ino).cloned().unwrap_or_default(),
                detail: Some(("inode", r.ino)),
                note,
            }
        })
        .collect())
}

/// The name to show, and a note when the path the socket was bound at is not where its
/// file is now. localipc binds a path in a private directory beside it (named through
/// `/proc/self/fd/N/s`, or `.lipc-XXXXXX/s`) and links the socket into place; the kernel
/// keeps the bound path. The file is then looked up by its inode (`sock_diag`'s
/// `UNIX_DIAG_VFS`) in the bound path's grandparent and in the usual socket directories
/// (temp dir, `/tmp`, `/run`, `$XDG_RUNTIME_DIR`, `/dev/shm`, two levels deep).
fn show_name(r: &Raw, search: &mut Search) -> (String, Option<String>) {
    if r.name.is_empty() {
        return ("(unnamed)".into(), None);
    }
    if r.name[0] == 0 {
        let rest: String = String::from_utf8_lossy(&r.name[1..]).replace('\0', "@");
        return (format!("@{rest}"), None);
    }
    let bound = String::from_utf8_lossy(&r.name).into_owned();
    let Some(vfs_ino) = r.vfs_ino else {
        return (bound, None);
    };
    let path = Path::new(&bound);
    if is_socket_file(path, vfs_ino) {
        return (bound, None);
    }
    let near = path.parent().and_then(Path::parent).map(Path::to_path_buf);
    match search.find(vfs_ino, near) {
        Some(found) => (found.display().to_string(), None),
        None => (
            bound,
            Some("bound here; its socket file was moved or removed, and not found".into()),
        ),
    }
}

fn is_socket_file(p: &Path, ino: u64) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_socket() && m.ino() == ino)
}

/// Socket files by inode, found in a bounded walk of the usual directories (made once).
#[derive(Default)]
struct Search {
    found: Option<HashMap<u64, std::path::PathBuf>>,
}

impl Search {
    fn find(&mut self, ino: u64, near: Option<std::path::PathBuf>) -> Option<std::path::PathBuf> {
        if let Some(dir) = near.filter(|d| !d.starts_with("/proc")) {
            let mut one = HashMap::new();
            walk(&dir, 0, &mut one, &mut 0);
            if let Some(p) = one.remove(&ino) {
                return Some(p);
            }
        }
        let found = self.found.get_or_insert_with(|| {
            let mut roots = vec![
                std::env::temp_dir(),
                "/tmp".into(),
                "/run".into(),
                "/var/run".into(),
                "/dev/shm".into(),
            ];
            roots.extend(std::env::var_os("XDG_RUNTIME_DIR").map(Into::into));
            roots.sort();
            roots.dedup();
            let mut map = HashMap::new();
            let mut budget = 0;
            for root in roots {
                walk(&root, 0, &mut map, &mut budget);
            }
            map
        });
        found.get(&ino).cloned()
    }
}

/// Records the socket files under `dir` (down to depth 2, at most 100 000 entries in all).
fn walk(dir: &Path, depth: u32, map: &mut HashMap<u64, std::path::PathBuf>, seen: &mut u32) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        *seen += 1;
        if *seen > 100_000 {
            return;
        }
        let Ok(t) = e.file_type() else { continue };
        if t.is_socket() {
            if let Ok(m) = e.metadata() {
                map.entry(m.ino()).or_insert_with(|| e.path());
            }
        } else if t.is_dir() && depth < 2 {
            walk(&e.path(), depth + 1, map, seen);
        }
    }
}

/// `socket(AF_NETLINK, NETLINK_SOCK_DIAG)`, a `SOCK_DIAG_BY_FAMILY` dump of the listening
/// `AF_UNIX` sockets with their names, file inodes and owners.
fn sock_diag() -> io::Result<Vec<Raw>> {
    // SAFETY: plain constant arguments.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            NETLINK_SOCK_DIAG,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut req = Vec::with_capacity(40);
    req.extend_from_slice(&40_u32.to_ne_bytes()); // nlmsg_len
    req.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    let flags = u16::try_from(libc::NLM_F_REQUEST | libc::NLM_F_DUMP).unwrap_or(0x301);
    req.extend_from_slice(&flags.to_ne_bytes());
    req.extend_from_slice(&1_u32.to_ne_bytes()); // seq
    req.extend_from_slice(&0_u32.to_ne_bytes()); // pid
    req.push(u8::try_from(libc::AF_UNIX).unwrap_or(1)); // sdiag_family
    req.push(0); // sdiag_protocol
    req.extend_from_slice(&0_u16.to_ne_bytes()); // pad
    req.extend_from_slice(&(1_u32 << TCP_LISTEN).to_ne_bytes()); // udiag_states
    req.extend_from_slice(&0_u32.to_ne_bytes()); // udiag_ino
    req.extend_from_slice(&(UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_UID).to_ne_bytes());
    req.extend_from_slice(&[0xff; 8]); // udiag_cookie: none
                                       // SAFETY: `req` is readable for its length; netlink's default destination is the kernel.
    if unsafe { libc::send(fd.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut buf = vec![0_u8; 64 * 1024];
    loop {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
        let mut msgs = &buf[..n];
        while msgs.len() >= 16 {
            let len = u32_at(msgs, 0) as usize;
            let ty = u16_at(msgs, 4);
            if len < 16 || len > msgs.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "bad netlink reply",
                ));
            }
            match i32::from(ty) {
                libc::NLMSG_DONE => return Ok(out),
                libc::NLMSG_ERROR => {
                    let code = i32::from_ne_bytes(msgs[16..20].try_into().unwrap_or([0; 4]));
                    return Err(io::Error::from_raw_os_error(-code));
                }
                _ => {
                    if let Some(raw) = parse_diag(&msgs[16..len]) {
                        out.push(raw);
                    }
                }
            }
            msgs = &msgs[align4(len).min(msgs.len())..];
        }
    }
}

/// One `unix_diag_msg` and its attributes.
fn parse_diag(m: &[u8]) -> Option<Raw> {
    if m.len() < 16 {
        return None;
    }
    let mut raw = Raw {
        ty: m[1],
        ino: u64::from(u32_at(m, 4)),
        name: Vec::new(),
        vfs_ino: None,
        uid: None,
    };
    let mut attrs = &m[16..];
    while attrs.len() >= 4 {
        let len = usize::from(u16_at(attrs, 0));
        let ty = u16_at(attrs, 2);
        if len < 4 || len > attrs.len() {
            break;
        }
        let data = &attrs[4..len];
        match ty {
            UNIX_DIAG_NAME => raw.name = data.to_vec(),
            UNIX_DIAG_VFS if data.len() >= 4 => raw.vfs_ino = Some(u64::from(u32_at(data, 0))),
            UNIX_DIAG_UID if data.len() >= 4 => raw.uid = Some(u32_at(data, 0)),
            _ => {}
        }
        attrs = &attrs[align4(len).min(attrs.len())..];
    }
    Some(raw)
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(b[at..at + 4].try_into().unwrap_or([0; 4]))
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes(b[at..at + 2].try_into().unwrap_or([0; 2]))
}

/// The fallback: `/proc/net/unix`, listening entries (flag `__SO_ACCEPTCON`, 0x10000).
/// The owner is not there.
fn proc_net_unix() -> io::Result<Vec<Raw>> {
    let text = std::fs::read_to_string("/proc/net/unix")?;
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 7 {
            continue;
        }
        let flags = u32::from_str_radix(cols[3], 16).unwrap_or(0);
        if flags & 0x10000 == 0 {
            continue;
        }
        let name = cols.get(7).map_or(Vec::new(), |n| {
            n.strip_prefix('@').map_or(n.as_bytes().to_vec(), |rest| {
                let mut v = vec![0];
                v.extend_from_slice(rest.as_bytes());
                v
            })
        });
        out.push(Raw {
            ino: cols[6].parse().unwrap_or(0),
            ty: u8::from_str_radix(cols[4], 16).unwrap_or(0),
            name,
            vfs_ino: None,
            uid: None,
        });
    }
    Ok(out)
}

/// Socket inode → the processes with a descriptor on it (`readlink` of `/proc/*/fd/*`,
/// `socket:[inode]`), for the processes this user may look into.
fn socket_pids() -> HashMap<u64, Vec<u32>> {
    let mut map: HashMap<u64, Vec<u32>> = HashMap::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return map;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let target = target.to_string_lossy();
            if let Some(ino) = target
                .strip_prefix("socket:[")
                .and_then(|s| s.strip_suffix(']'))
                .and_then(|s| s.parse::<u64>().ok())
            {
                let pids = map.entry(ino).or_default();
                if !pids.contains(&pid) {
                    pids.push(pid);
                }
            }
        }
    }
    map
}
