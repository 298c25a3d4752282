//! `localipc list`: the local sockets listening on this machine.
//!
//! Linux: `sock_diag` (`NETLINK_SOCK_DIAG`, what `ss -xl` uses) for every listening Unix
//! socket: its name (a path, or `@name` in the abstract namespace), type and owner; the
//! processes holding it come from `/proc/*/fd` (only those this user may read, all as
//! root). If `sock_diag` is unavailable, `/proc/net/unix` (no owner then). Windows: the
//! names under `\\.\pipe\` (`FindFirstFileW`/`FindNextFileW`), with their instance counts;
//! every named pipe, not only localipc's. Elsewhere: not supported.

#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux;
#[cfg(windows)]
mod windows;

use std::io::{self, Write};

/// Options of `localipc list`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// One JSON document (an array of objects) instead of a table.
    #[arg(long)]
    json: bool,
}

/// One listening socket or pipe name.
#[derive(Debug, Default)]
pub(crate) struct Entry {
    /// As `localipc connect` takes it: a path, `@name` (Linux abstract namespace; a NUL
    /// inside the name shows as `@`), or on Windows `@name` for `\\.\pipe\name`.
    pub(crate) name: String,
    /// `stream`, `seqpacket`, … (Unix), `pipe` (Windows).
    pub(crate) kind: &'static str,
    /// The owner's user id, where known.
    pub(crate) uid: Option<u32>,
    /// Processes holding the socket (those visible to this user).
    pub(crate) pids: Vec<u32>,
    /// Linux: the socket's inode (as in `/proc/*/fd`); Windows: the current instance count.
    pub(crate) detail: Option<(&'static str, u64)>,
    /// Something to know about the name (e.g. the path was bound elsewhere and moved).
    pub(crate) note: Option<String>,
}

/// Prints the listening sockets, sorted by name.
pub(crate) fn run(args: &Args) -> io::Result<()> {
    let mut entries = list()?;
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = io::stdout().lock();
    if args.json {
        let doc: Vec<serde_json::Value> = entries.iter().map(to_json).collect();
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{:<10} {:>6} {:<16} NAME", "TYPE", "UID", "PIDS")?;
        for e in &entries {
            let uid = e.uid.map_or("-".into(), |u| u.to_string());
            let pids = if e.pids.is_empty() {
                "-".into()
            } else {
                e.pids
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let note = e
                .note
                .as_ref()
                .map_or(String::new(), |n| format!("  ({n})"));
            writeln!(out, "{:<10} {uid:>6} {pids:<16} {}{note}", e.kind, e.name)?;
        }
    }
    out.flush()
}

fn to_json(e: &Entry) -> serde_json::Value {
    let mut v = serde_json::json!({
        "name": e.name,
        "type": e.kind,
        "uid": e.uid,
        "pids": e.pids,
    });
    if let Some((key, value)) = e.detail {
        v[key] = value.into();
    }
    if let Some(note) = &e.note {
        v["note"] = note.as_str().into();
    }
    v
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn list() -> io::Result<Vec<Entry>> {
    linux::list()
}

#[cfg(windows)]
fn list() -> io::Result<Vec<Entry>> {
    windows::list()
}

#[cfg(not(any(target_os = "linux", target_os = "android", windows)))]
fn list() -> io::Result<Vec<Entry>> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "listing local sockets is implemented for Linux and Windows only",
    ))
}
