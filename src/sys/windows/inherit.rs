//! Handing a connected local socket pipe end to a child process: the environment variable
//! that names it, and the child's side, which takes it back checked.
//!
//! The variable's value is `"<handle>:<end>:<server pid>:<client pid>"`: the handle's value
//! (inherited handles keep their values), which end of the pipe it is (`s` or `c`), and the
//! ids of the processes that opened the two ends, which identify the connection, so that a
//! variable left over from further up (naming a handle this process does not hold, or
//! another one) is refused rather than taken.

use super::ends::{opener_pid, End};
use std::io;
use std::os::windows::io::{AsRawHandle, BorrowedHandle, FromRawHandle, OwnedHandle};
use std::ptr;
use windows_sys::Win32::Foundation::{SetHandleInformation, HANDLE, HANDLE_FLAG_INHERIT};
use windows_sys::Win32::Storage::FileSystem::{GetFileType, FILE_TYPE_PIPE};
use windows_sys::Win32::System::Pipes::{GetNamedPipeInfo, PIPE_SERVER_END, PIPE_TYPE_MESSAGE};

/// `GetFileType` and `GetNamedPipeInfo`: which end of a message-type pipe (what local
/// sockets are) `h` is; `None` if it is not a handle of this process, not a pipe, or a pipe
/// of byte type (an unnamed pipe, say).
fn local_socket_end(h: BorrowedHandle<'_>) -> Option<End> {
    // SAFETY: GetFileType on any value is harmless (FILE_TYPE_UNKNOWN for a non-handle).
    if unsafe { GetFileType(h.as_raw_handle()) } != FILE_TYPE_PIPE {
        return None;
    }
    let mut flags = 0;
    // SAFETY: `flags` is writable; the other outputs are not wanted.
    let ok = unsafe {
        GetNamedPipeInfo(
            h.as_raw_handle(),
            &mut flags,
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if ok == 0 || flags & PIPE_TYPE_MESSAGE == 0 {
        return None;
    }
    Some(if flags & PIPE_SERVER_END != 0 {
        End::Server
    } else {
        End::Client
    })
}

/// The identity part of the variable: `"<end>:<server pid>:<client pid>"`
/// (`GetNamedPipeInfo`, `GetNamedPipeServerProcessId`, `GetNamedPipeClientProcessId`).
/// `InvalidInput` if `h` is not a connected local socket pipe end.
fn identity(h: BorrowedHandle<'_>) -> io::Result<String> {
    let not_stream = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the handle to hand over is not a connected local socket stream (a message-type \
             named pipe end)",
        )
    };
    let end = local_socket_end(h).ok_or_else(not_stream)?;
    let server = opener_pid(h, End::Server).map_err(|_| not_stream())?;
    let client = opener_pid(h, End::Client).map_err(|_| not_stream())?;
    let e = match end {
        End::Server => 's',
        End::Client => 'c',
    };
    Ok(format!("{e}:{server}:{client}"))
}

/// Checks now (when the stream is added) that `h` can be handed over.
pub(crate) fn check_stream(h: BorrowedHandle<'_>) -> io::Result<()> {
    identity(h).map(drop)
}

/// The variable's value for `h`, as it will be in the child (the same handle value, since
/// it is inherited): see the module documentation.
pub(crate) fn env_value(h: BorrowedHandle<'_>) -> io::Result<String> {
    Ok(format!("{}:{}", h.as_raw_handle() as usize, identity(h)?))
}

/// The child's side: reads `var`, removes it from the environment, checks that the handle it
/// names is open here and is the end of the very connection the parent passed (`GetFileType`,
/// `GetNamedPipeInfo`, `GetNamedPipeServerProcessId`, `GetNamedPipeClientProcessId`;
/// `InvalidData` otherwise), and takes it, no longer inheritable
/// (`SetHandleInformation(HANDLE_FLAG_INHERIT, 0)`), so that it does not go on to this
/// process's own children. `NotFound` if the variable is not set.
pub(crate) fn take_inherited_stream(var: &str) -> io::Result<(OwnedHandle, End)> {
    let value = std::env::var_os(var).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("no handle was passed: the environment variable {var} is not set"),
        )
    })?;
    std::env::remove_var(var);
    let bad = |why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{var}={value:?}: {why}"),
        )
    };
    let text = value.to_str().unwrap_or_default();
    let Some((raw, id)) = text.split_once(':') else {
        return Err(bad("not <handle>:<end>:<server pid>:<client pid>"));
    };
    let raw: usize = raw
        .parse()
        .map_err(|_| bad("not <handle>:<end>:<server pid>:<client pid>"))?;
    if raw == 0 || raw == usize::MAX {
        return Err(bad("not a handle value"));
    }
    let h = raw as HANDLE;
    // SAFETY: the value is only borrowed for queries that fail harmlessly on anything that is
    // not an open pipe handle; it is not taken over unless it is the pipe the parent named.
    let borrowed = unsafe { BorrowedHandle::borrow_raw(h) };
    let Some(end) = local_socket_end(borrowed) else {
        return Err(bad(
            "the handle is not open in this process or not a local socket pipe end",
        ));
    };
    if identity(borrowed).ok().as_deref() != Some(id) {
        return Err(bad(
            "the handle is another pipe than the one passed (a variable left over from a \
             parent process?)",
        ));
    }
    // SAFETY: `h` is an open handle of this process (checked above); only its flag changes.
    if unsafe { SetHandleInformation(h, HANDLE_FLAG_INHERIT, 0) } == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the handle is open and is the pipe end the parent passed to this process for
    // it to own (the variable says so, and is removed so that nothing takes it twice).
    Ok((unsafe { OwnedHandle::from_raw_handle(h) }, end))
}
