//! The private named pipe behind the async unnamed pipes (tokio's and async-io's): a
//! one-way pipe of one instance on a fresh name, whose two ends are made and connected in
//! one go. `CreatePipe` makes synchronous handles, which neither a completion port nor a
//! read cancelled from another thread can work with; these handles are overlapped.

use super::super::ends::ReadMode;
use super::super::instance::{
    create_instance, try_open_client, Direction, Instance, PipeSpec, PipeType,
};
use super::super::name::LOCAL_PREFIX;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::os::windows::io::OwnedHandle;
use std::sync::atomic::{AtomicU64, Ordering};
use windows_sys::Win32::Foundation::ERROR_PIPE_BUSY;

/// How many fresh names [`named_pair`] tries before giving up.
const ATTEMPTS: u32 = 4;

/// `\\.\pipe\localipc-anon-<pid>-<counter>-<random>`, NUL-terminated UTF-16. The random part
/// comes from std's `RandomState` (seeded by the OS's random source).
fn fresh_path() -> Vec<u16> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(n);
    let name = format!(
        "{LOCAL_PREFIX}localipc-anon-{}-{n}-{:016x}",
        std::process::id(),
        h.finish()
    );
    name.encode_utf16().chain(Some(0)).collect()
}

/// The connected pair of overlapped handles of a one-way, single-instance named pipe on a
/// fresh name: `(client = write end, server = read end)`; `what` names the pipe in errors.
pub(crate) fn named_pair(what: &str) -> io::Result<(OwnedHandle, OwnedHandle)> {
    let mut spec = PipeSpec::new(Direction::ClientToServer, PipeType::Byte, ReadMode::Bytes);
    spec.max_instances = 1;
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let path = fresh_path();
        let server = match create_instance(&path, &spec, Instance::First) {
            Ok(h) => h,
            // The name is taken: try another.
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                last = Some(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        match try_open_client(&path, Direction::ClientToServer) {
            Ok(client) => return Ok((client, server)),
            // Somebody else opened our instance first: discard it.
            Err(e) if super::super::error_code(&e) == Some(ERROR_PIPE_BUSY) => last = Some(e),
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot open the write end of a new {what}: {e}"),
                ))
            }
        }
    }
    let e = last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AddrInUse));
    Err(io::Error::new(
        e.kind(),
        format!(
            "cannot create a {what}: {ATTEMPTS} fresh pipe names were all taken by others ({e})"
        ),
    ))
}
