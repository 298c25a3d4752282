//! Creating pipe instances (server side) and opening them (client side): the only
//! `CreateNamedPipeW` and `CreateFileW` calls in the crate, shared by local sockets,
//! `os::windows::named_pipe` and the tokio unnamed pipes (`pipe::tokio`).

use super::ends::{self, End, ReadMode};
use super::name::show_path;
use super::security::SecurityDescriptor;
use std::io;
use std::os::windows::io::{AsHandle, FromRawHandle, OwnedHandle};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{
    SetLastError, ERROR_ACCESS_DENIED, ERROR_BAD_PATHNAME, ERROR_FILE_NOT_FOUND,
    ERROR_INVALID_NAME, ERROR_NO_SYSTEM_RESOURCES, ERROR_PIPE_BUSY, ERROR_SEM_TIMEOUT,
    GENERIC_READ, GENERIC_WRITE, HANDLE, INVALID_HANDLE_VALUE,
};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_FLAG_FIRST_PIPE_INSTANCE, FILE_FLAG_OVERLAPPED, FILE_READ_ATTRIBUTES,
    FILE_WRITE_ATTRIBUTES, OPEN_EXISTING, PIPE_ACCESS_DUPLEX, PIPE_ACCESS_INBOUND,
    PIPE_ACCESS_OUTBOUND, SECURITY_IDENTIFICATION, SECURITY_SQOS_PRESENT,
};
use windows_sys::Win32::System::Pipes::{
    CreateNamedPipeW, GetNamedPipeHandleStateW, WaitNamedPipeW, NMPWAIT_WAIT_FOREVER,
    PIPE_READMODE_MESSAGE, PIPE_REJECT_REMOTE_CLIENTS, PIPE_TYPE_MESSAGE, PIPE_UNLIMITED_INSTANCES,
    PIPE_WAIT,
};

/// Bytes of buffer each way for the pipes this crate creates (`nOutBufferSize` and
/// `nInBufferSize` of `CreateNamedPipeW`).
pub(crate) const DEFAULT_BUFFER_SIZE: u32 = 64 * 1024;

/// Which way data flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Duplex,
    ClientToServer,
    ServerToClient,
}

impl Direction {
    /// Whether `end` may read.
    pub(crate) fn reads(self, end: End) -> bool {
        !matches!(
            (self, end),
            (Self::ClientToServer, End::Client) | (Self::ServerToClient, End::Server)
        )
    }

    /// Whether `end` may write.
    pub(crate) fn writes(self, end: End) -> bool {
        !matches!(
            (self, end),
            (Self::ClientToServer, End::Server) | (Self::ServerToClient, End::Client)
        )
    }

    /// `dwOpenMode` access bits for `CreateNamedPipeW`.
    fn open_mode(self) -> u32 {
        match self {
            Self::Duplex => PIPE_ACCESS_DUPLEX,
            Self::ClientToServer => PIPE_ACCESS_INBOUND,
            Self::ServerToClient => PIPE_ACCESS_OUTBOUND,
        }
    }

    /// `dwDesiredAccess` for the client's `CreateFileW`: read and/or write data, plus the
    /// attribute rights that `SetNamedPipeHandleState` and the process-id queries need.
    fn client_access(self) -> u32 {
        match self {
            Self::Duplex => GENERIC_READ | GENERIC_WRITE,
            Self::ClientToServer => GENERIC_WRITE | FILE_READ_ATTRIBUTES,
            Self::ServerToClient => GENERIC_READ | FILE_WRITE_ATTRIBUTES,
        }
    }
}

/// What a write puts into the pipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PipeType {
    /// `PIPE_TYPE_BYTE`: bytes; a zero-length write puts nothing in the pipe.
    Byte,
    /// `PIPE_TYPE_MESSAGE`: one message per write (a zero-length write is an empty message).
    Message,
}

/// Which instance of a pipe [`create_instance`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Instance {
    /// The first: `FILE_FLAG_FIRST_PIPE_INSTANCE`, so it fails if the pipe exists already,
    /// whoever created it. This is what takes the name.
    First,
    /// One more instance of a pipe that this process already holds an instance of.
    Another,
}

/// Everything `CreateNamedPipeW` is told about the instances of one pipe.
#[derive(Clone, Debug)]
pub(crate) struct PipeSpec {
    pub(crate) direction: Direction,
    pub(crate) pipe_type: PipeType,
    /// The read mode of the server's handles.
    pub(crate) read_mode: ReadMode,
    /// `PIPE_REJECT_REMOTE_CLIENTS`.
    pub(crate) reject_remote: bool,
    pub(crate) max_instances: u32,
    pub(crate) buffer_size: u32,
    pub(crate) security: Option<Arc<SecurityDescriptor>>,
}

impl PipeSpec {
    /// Remote clients rejected, unlimited instances, 64 KiB buffers, the default security
    /// descriptor.
    pub(crate) fn new(direction: Direction, pipe_type: PipeType, read_mode: ReadMode) -> Self {
        Self {
            direction,
            pipe_type,
            read_mode,
            reject_remote: true,
            max_instances: PIPE_UNLIMITED_INSTANCES,
            buffer_size: DEFAULT_BUFFER_SIZE,
            security: None,
        }
    }
}

/// Whether [`FAULTS`] has ever been armed: while not, `create_instance` pays one relaxed
/// load for the fault hook and nothing else.
static FAULTS_ARMED: AtomicBool = AtomicBool::new(false);
/// Pipe paths (NUL-terminated UTF-16) whose next `create_instance` calls fail, and how many.
static FAULTS: Mutex<Vec<(Vec<u16>, u32)>> = Mutex::new(Vec::new());

/// Fault injection for tests (`os::windows::__fail_pipe_instances`): the next `count` calls
/// of [`create_instance`] for `path` that add an instance ([`Instance::Another`]) fail as if `CreateNamedPipeW` had failed with
/// `ERROR_NO_SYSTEM_RESOURCES`.
pub(crate) fn fail_next_instances(path: Vec<u16>, count: u32) {
    let mut faults = FAULTS.lock().unwrap_or_else(|p| p.into_inner());
    faults.retain(|(p, _)| *p != path);
    if count > 0 {
        faults.push((path, count));
    }
    FAULTS_ARMED.store(true, Ordering::Release);
}

/// Whether an injected fault is due for `path` (and uses it up).
fn injected_fault(path: &[u16]) -> bool {
    if !FAULTS_ARMED.load(Ordering::Relaxed) {
        return false;
    }
    let mut faults = FAULTS.lock().unwrap_or_else(|p| p.into_inner());
    let Some(at) = faults.iter().position(|(p, _)| p == path) else {
        return false;
    };
    faults[at].1 -= 1;
    if faults[at].1 == 0 {
        faults.swap_remove(at);
    }
    true
}

/// `CreateNamedPipeW` for one more instance of the pipe at `path` (NUL-terminated UTF-16),
/// always overlapped; for the [`Instance::First`], also `FILE_FLAG_FIRST_PIPE_INSTANCE`, so
/// that it fails if the pipe exists already, whoever created it.
///
/// A pipe name that is taken gives `AddrInUse`; a name Windows rejects `InvalidInput`; both
/// name the pipe.
pub(crate) fn create_instance(
    path: &[u16],
    spec: &PipeSpec,
    which: Instance,
) -> io::Result<OwnedHandle> {
    let first = which == Instance::First;
    let mut open_mode = spec.direction.open_mode() | FILE_FLAG_OVERLAPPED;
    if first {
        open_mode |= FILE_FLAG_FIRST_PIPE_INSTANCE;
    }
    let mut pipe_mode = PIPE_WAIT;
    if spec.pipe_type == PipeType::Message {
        pipe_mode |= PIPE_TYPE_MESSAGE;
    }
    if spec.read_mode == ReadMode::Messages {
        pipe_mode |= PIPE_READMODE_MESSAGE;
    }
    if spec.reject_remote {
        pipe_mode |= PIPE_REJECT_REMOTE_CLIENTS;
    }
    let attrs = spec.security.as_ref().map(|sd| sd.attributes());
    let attrs_ptr = attrs.as_ref().map_or(ptr::null(), |a| a as *const _);
    let h = if !first && injected_fault(path) {
        // SAFETY: sets this thread's last-error value, read just below.
        unsafe { SetLastError(ERROR_NO_SYSTEM_RESOURCES) };
        INVALID_HANDLE_VALUE
    } else {
        // SAFETY: `path` is NUL-terminated; `attrs` (if any) points at a descriptor that
        // `spec` keeps alive for the duration of the call.
        unsafe {
            CreateNamedPipeW(
                path.as_ptr(),
                open_mode,
                pipe_mode,
                spec.max_instances,
                spec.buffer_size,
                spec.buffer_size,
                0,
                attrs_ptr,
            )
        }
    };
    if h == INVALID_HANDLE_VALUE {
        let e = io::Error::last_os_error();
        let shown = show_path(path);
        return Err(match super::error_code(&e) {
            Some(ERROR_ACCESS_DENIED | ERROR_PIPE_BUSY) if first => io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("cannot create pipe \"{shown}\": a pipe with this name exists already (another server has it) ({e})"),
            ),
            Some(ERROR_INVALID_NAME | ERROR_BAD_PATHNAME) => io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot create pipe \"{shown}\": Windows rejects the name ({e})"),
            ),
            _ => io::Error::new(e.kind(), format!("cannot create pipe \"{shown}\": {e}")),
        });
    }
    // SAFETY: `h` is a fresh handle owned by nobody else.
    let handle = unsafe { OwnedHandle::from_raw_handle(h) };
    if first && instances(h) > 1 {
        // Windows refuses a first instance of an existing pipe; Wine (8.0) ignores
        // FILE_FLAG_FIRST_PIPE_INSTANCE. Refuse it here too, so that we never become an
        // instance of somebody else's pipe there either.
        drop(handle);
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!(
                "cannot create pipe \"{}\": a pipe with this name exists already (another server has it)",
                show_path(path)
            ),
        ));
    }
    Ok(handle)
}

/// `GetNamedPipeHandleStateW`: how many instances the pipe has (0 if it cannot say).
fn instances(h: HANDLE) -> u32 {
    let mut n = 0;
    // SAFETY: `n` is valid for writes; the other outputs are not wanted.
    let ok = unsafe {
        GetNamedPipeHandleStateW(
            h,
            ptr::null_mut(),
            &mut n,
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
            0,
        )
    };
    if ok == 0 {
        0
    } else {
        n
    }
}

/// One attempt at opening the client end of the pipe at `path` (NUL-terminated UTF-16), as
/// [`open_client`] does (overlapped, identification only), without waiting or retrying:
/// the OS error as it is (`ERROR_PIPE_BUSY` when the instances are taken).
pub(crate) fn try_open_client(path: &[u16], direction: Direction) -> io::Result<OwnedHandle> {
    // SAFETY: `path` is NUL-terminated; no security attributes, no template.
    let h = unsafe {
        CreateFileW(
            path.as_ptr(),
            direction.client_access(),
            0,
            ptr::null(),
            OPEN_EXISTING,
            FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
            ptr::null_mut(),
        )
    };
    if h == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `h` is a fresh handle owned by nobody else.
    Ok(unsafe { OwnedHandle::from_raw_handle(h) })
}

/// Opens the client end of the pipe at `path` (NUL-terminated UTF-16).
///
/// `CreateFileW(OPEN_EXISTING, FILE_FLAG_OVERLAPPED, SECURITY_SQOS_PRESENT |
/// SECURITY_IDENTIFICATION)`: the server may identify the client but not impersonate it.
/// While every instance is busy (`ERROR_PIPE_BUSY`), waits with `WaitNamedPipeW` (until
/// `timeout`, or indefinitely without one) and tries again. With a `timeout`, a pipe that
/// does not exist yet (`ERROR_FILE_NOT_FOUND`) is retried too, with a backoff from 1 to
/// 50 ms. When the time is up: `TimedOut`. [`ReadMode::Messages`] switches the new handle
/// to message reads ([`ends::set_message_reads`]); a new handle reads bytes.
///
/// Errors name the pipe; `what` says what is being connected to ("local socket \"@x\"").
pub(crate) fn open_client(
    path: &[u16],
    direction: Direction,
    read_mode: ReadMode,
    timeout: Option<Duration>,
    what: &str,
) -> io::Result<OwnedHandle> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let mut backoff = Duration::from_millis(1);
    let shown = show_path(path);
    loop {
        let e = match try_open_client(path, direction) {
            Ok(handle) => {
                if read_mode == ReadMode::Messages {
                    ends::set_message_reads(handle.as_handle()).map_err(|e| {
                        io::Error::new(
                            e.kind(),
                            format!(
                                "connecting to {what} ({shown}): cannot switch to message reads: {e}"
                            ),
                        )
                    })?;
                }
                return Ok(handle);
            }
            Err(e) => e,
        };
        let code = super::error_code(&e);
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left == Some(Duration::ZERO) {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connecting to {what} ({shown}): no server instance was free within {:?} (last error: {e})", timeout.unwrap_or_default()),
            ));
        }
        match code {
            Some(ERROR_PIPE_BUSY) => {
                let ms = match left {
                    None => NMPWAIT_WAIT_FOREVER,
                    // At least 1 ms: 0 would mean "the server's default timeout".
                    Some(l) => u32::try_from(l.as_millis())
                        .unwrap_or(u32::MAX)
                        .clamp(1, NMPWAIT_WAIT_FOREVER - 1),
                };
                // SAFETY: `path` is NUL-terminated.
                if unsafe { WaitNamedPipeW(path.as_ptr(), ms) } == 0 {
                    let we = io::Error::last_os_error();
                    match super::error_code(&we) {
                        // Timed out: the loop reports it; gone: the next CreateFileW says so.
                        Some(ERROR_SEM_TIMEOUT | ERROR_FILE_NOT_FOUND) => {}
                        _ => {
                            return Err(io::Error::new(
                                we.kind(),
                                format!("connecting to {what} ({shown}): waiting for a free instance failed: {we}"),
                            ))
                        }
                    }
                }
            }
            Some(ERROR_FILE_NOT_FOUND) if deadline.is_some() => {
                std::thread::sleep(backoff.min(left.unwrap_or_default()));
                backoff = (backoff * 2).min(Duration::from_millis(50));
            }
            Some(ERROR_FILE_NOT_FOUND) => {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("connecting to {what} ({shown}): no server is listening ({e})"),
                ))
            }
            Some(ERROR_INVALID_NAME | ERROR_BAD_PATHNAME) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("connecting to {what} ({shown}): Windows rejects the name ({e})"),
                ))
            }
            _ => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("connecting to {what} ({shown}): {e}"),
                ))
            }
        }
    }
}
