//! Users, groups and tokens: SIDs in string form, and who is at the other end of a pipe.

use super::ends::{opener_pid, End};
use crate::local_socket::PeerCreds;
use std::io;
use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle, FromRawHandle, OwnedHandle};
use std::ptr;
use windows_sys::Win32::Foundation::{LocalFree, HANDLE};
use windows_sys::Win32::Security::Authorization::{ConvertSidToStringSidW, ConvertStringSidToSidW};
use windows_sys::Win32::Security::{
    GetSidSubAuthority, GetSidSubAuthorityCount, GetTokenInformation, LookupAccountNameW,
    RevertToSelf, TokenIntegrityLevel, TokenUser, PSID, SID_NAME_USE, TOKEN_MANDATORY_LABEL,
    TOKEN_QUERY, TOKEN_USER,
};
use windows_sys::Win32::System::Pipes::{
    GetNamedPipeClientSessionId, GetNamedPipeServerSessionId, ImpersonateNamedPipeClient,
};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, GetCurrentThread, OpenProcess, OpenProcessToken, OpenThreadToken,
    PROCESS_QUERY_LIMITED_INFORMATION,
};

/// `ConvertSidToStringSidW`: the canonical string form of `sid`.
///
/// # Safety
/// `sid` points to a valid SID.
unsafe fn sid_string(sid: PSID) -> io::Result<String> {
    let mut s = ptr::null_mut();
    // SAFETY: `sid` is valid (caller); `s` is valid for writes.
    if unsafe { ConvertSidToStringSidW(sid, &mut s) } == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: on success `s` is a NUL-terminated wide string allocated with LocalAlloc.
    let len = (0..).take_while(|&i| unsafe { *s.add(i) } != 0).count();
    // SAFETY: `s` holds `len` valid u16s.
    let out = String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(s, len) });
    // SAFETY: `s` was allocated by ConvertSidToStringSidW and is freed once, here.
    unsafe { LocalFree(s.cast()) };
    Ok(out)
}

/// `ConvertStringSidToSidW` then `ConvertSidToStringSidW`: `sid` in canonical form, or
/// `InvalidInput` naming it.
pub(crate) fn canonical_sid(sid: &str) -> io::Result<String> {
    let invalid = |e: io::Error| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("invalid SID {sid:?}: {e}"),
        )
    };
    if sid.contains('\0') {
        return Err(invalid(io::Error::other("it contains a NUL character")));
    }
    let wide: Vec<u16> = sid.encode_utf16().chain(Some(0)).collect();
    let mut p: PSID = ptr::null_mut();
    // SAFETY: `wide` is NUL-terminated; `p` is valid for writes.
    if unsafe { ConvertStringSidToSidW(wide.as_ptr(), &mut p) } == 0 {
        return Err(invalid(io::Error::last_os_error()));
    }
    // SAFETY: `p` is a valid SID allocated with LocalAlloc.
    let out = unsafe { sid_string(p) };
    // SAFETY: freed once, here.
    unsafe { LocalFree(p) };
    out
}

/// `LookupAccountNameW` on the local system: the SID of account `name` (a group if
/// `group`, in error messages only). An unknown name is `NotFound` naming it.
pub(crate) fn sid_by_name(name: &str, group: bool) -> io::Result<String> {
    let what = if group { "group" } else { "user" };
    let wide: Vec<u16> = name.encode_utf16().chain(Some(0)).collect();
    let mut sid = vec![0u8; 68]; // SECURITY_MAX_SID_SIZE
    let mut domain = vec![0u16; 256];
    for _ in 0..3 {
        let mut sid_len = u32::try_from(sid.len()).unwrap_or(u32::MAX);
        let mut domain_len = u32::try_from(domain.len()).unwrap_or(u32::MAX);
        let mut use_: SID_NAME_USE = 0;
        // SAFETY: `wide` is NUL-terminated; the buffers are valid for the lengths given.
        let ok = unsafe {
            LookupAccountNameW(
                ptr::null(),
                wide.as_ptr(),
                sid.as_mut_ptr().cast(),
                &mut sid_len,
                domain.as_mut_ptr(),
                &mut domain_len,
                &mut use_,
            )
        };
        if ok != 0 {
            // SAFETY: the call wrote a valid SID into `sid`.
            return unsafe { sid_string(sid.as_mut_ptr().cast()) };
        }
        let e = io::Error::last_os_error();
        // ERROR_INSUFFICIENT_BUFFER: grow to the sizes it asked for.
        if e.raw_os_error() == Some(122) {
            sid.resize(sid_len as usize, 0);
            domain.resize(domain_len as usize, 0);
            continue;
        }
        // ERROR_NONE_MAPPED
        let kind = if e.raw_os_error() == Some(1332) {
            io::ErrorKind::NotFound
        } else {
            e.kind()
        };
        return Err(io::Error::new(
            kind,
            format!("looking up {what} {name:?}: {e}"),
        ));
    }
    Err(io::Error::other(format!(
        "looking up {what} {name:?}: buffers kept growing"
    )))
}

/// `GetTokenInformation(class)` into a buffer of the size it asks for.
fn token_info(token: BorrowedHandle<'_>, class: i32) -> io::Result<Vec<u64>> {
    let mut len = 0u32;
    // SAFETY: a null buffer of length 0 asks for the size only.
    unsafe { GetTokenInformation(token.as_raw_handle(), class, ptr::null_mut(), 0, &mut len) };
    let mut buf = vec![0u64; (len as usize).div_ceil(8).max(1)];
    // SAFETY: `buf` is valid for writes of `len` bytes (and aligned for the structs).
    let ok = unsafe {
        GetTokenInformation(
            token.as_raw_handle(),
            class,
            buf.as_mut_ptr().cast(),
            len,
            &mut len,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(buf)
}

/// The user SID of `token` (`GetTokenInformation(TokenUser)`).
fn token_user(token: BorrowedHandle<'_>) -> io::Result<String> {
    let buf = token_info(token, TokenUser)?;
    // SAFETY: the buffer holds a TOKEN_USER whose SID points into the buffer.
    unsafe { sid_string((*buf.as_ptr().cast::<TOKEN_USER>()).User.Sid) }
}

/// The integrity level of `token`: the last sub-authority of its label SID
/// (`GetTokenInformation(TokenIntegrityLevel)`).
fn token_integrity(token: BorrowedHandle<'_>) -> io::Result<u32> {
    let buf = token_info(token, TokenIntegrityLevel)?;
    // SAFETY: the buffer holds a TOKEN_MANDATORY_LABEL whose SID points into the buffer;
    // the sub-authority read is the last one the SID has.
    unsafe {
        let sid = (*buf.as_ptr().cast::<TOKEN_MANDATORY_LABEL>()).Label.Sid;
        let n = *GetSidSubAuthorityCount(sid);
        if n == 0 {
            return Err(io::Error::other(
                "integrity label SID without sub-authorities",
            ));
        }
        Ok(*GetSidSubAuthority(sid, u32::from(n) - 1))
    }
}

/// `OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY)`, then the user SID.
pub(crate) fn current_user_sid() -> io::Result<String> {
    let mut token: HANDLE = ptr::null_mut();
    // SAFETY: the pseudo handle is always valid; `token` is valid for writes.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh token handle that nothing else owns.
    let token = unsafe { OwnedHandle::from_raw_handle(token) };
    token_user(token.as_handle())
}

/// The client's token, seen from the server end `h`: `ImpersonateNamedPipeClient`,
/// `OpenThreadToken(TOKEN_QUERY, OpenAsSelf)`, `RevertToSelf` (the process aborts if it
/// cannot stop impersonating, rather than go on as the client).
fn client_token(h: BorrowedHandle<'_>) -> io::Result<OwnedHandle> {
    // SAFETY: `h` is an open pipe handle.
    if unsafe { ImpersonateNamedPipeClient(h.as_raw_handle()) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let mut token: HANDLE = ptr::null_mut();
    // SAFETY: the pseudo handle is always valid; `token` is valid for writes.
    let ok = unsafe { OpenThreadToken(GetCurrentThread(), TOKEN_QUERY, 1, &mut token) };
    let err = io::Error::last_os_error();
    // SAFETY: no arguments; ends the impersonation begun above.
    if unsafe { RevertToSelf() } == 0 {
        std::process::abort();
    }
    if ok == 0 {
        return Err(err);
    }
    // SAFETY: a fresh token handle that nothing else owns.
    Ok(unsafe { OwnedHandle::from_raw_handle(token) })
}

/// The server process's token, seen from a client: `OpenProcess(
/// PROCESS_QUERY_LIMITED_INFORMATION)` of `pid`, `OpenProcessToken(TOKEN_QUERY)`.
fn process_token(pid: u32) -> io::Result<OwnedHandle> {
    // SAFETY: plain call; a null return is an error.
    let process = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if process.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh process handle that nothing else owns.
    let process = unsafe { OwnedHandle::from_raw_handle(process) };
    let mut token: HANDLE = ptr::null_mut();
    // SAFETY: `process` is open; `token` is valid for writes.
    if unsafe { OpenProcessToken(process.as_raw_handle(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh token handle that nothing else owns.
    Ok(unsafe { OwnedHandle::from_raw_handle(token) })
}

/// Who is at the `peer` end of the pipe handle `h`: its pid (`GetNamedPipe{Client,Server}
/// ProcessId`, an error if that fails), session id (`GetNamedPipe{Client,Server}SessionId`),
/// and the user SID and integrity level of its token (the client's own token seen from the
/// server, the server process's from a client); what cannot be read is `None`.
pub(crate) fn peer_creds(h: BorrowedHandle<'_>, peer: End) -> io::Result<PeerCreds> {
    let pid = opener_pid(h, peer)?;
    let mut session = 0u32;
    // SAFETY: `h` is an open pipe handle; `session` is valid for writes.
    let ok = unsafe {
        match peer {
            End::Client => GetNamedPipeClientSessionId(h.as_raw_handle(), &mut session),
            End::Server => GetNamedPipeServerSessionId(h.as_raw_handle(), &mut session),
        }
    };
    let token = match peer {
        End::Client => client_token(h),
        End::Server => process_token(pid),
    }
    .ok();
    let token = token.as_ref().map(AsHandle::as_handle);
    Ok(PeerCreds {
        pid: Some(pid),
        sid: token.and_then(|t| token_user(t).ok()),
        session_id: (ok != 0).then_some(session),
        integrity_level: token.and_then(|t| token_integrity(t).ok()),
        ..PeerCreds::default()
    })
}
