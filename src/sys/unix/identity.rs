//! Users and groups: the current user, and the user database (`getpwnam_r`, `getgrnam_r`).

use std::ffi::CString;
use std::io;

/// `geteuid`.
pub(crate) fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The name as a C string, `InvalidInput` naming it if it holds a NUL.
fn c_name(name: &str, what: &str) -> io::Result<CString> {
    CString::new(name).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} name {name:?} contains a NUL character"),
        )
    })
}

fn not_found(name: &str, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("no {what} named {name:?} in the {what} database"),
    )
}

/// Calls a `get*nam_r` function with a buffer grown on `ERANGE` (up to 1 MiB).
fn lookup_r(
    name: &str,
    what: &str,
    mut call: impl FnMut(&mut [libc::c_char]) -> (libc::c_int, Option<u32>),
) -> io::Result<u32> {
    let mut buf = vec![0 as libc::c_char; 1024];
    loop {
        let (ret, id) = call(&mut buf);
        match ret {
            0 => return id.ok_or_else(|| not_found(name, what)),
            libc::ERANGE if buf.len() < 1 << 20 => buf.resize(buf.len() * 2, 0),
            libc::EINTR => {}
            // Some systems report "not found" as ENOENT, ESRCH, EBADF or EPERM.
            libc::ENOENT | libc::ESRCH | libc::EBADF | libc::EPERM => {
                return Err(not_found(name, what))
            }
            e => {
                let e = io::Error::from_raw_os_error(e);
                return Err(io::Error::new(
                    e.kind(),
                    format!("looking up {what} {name:?}: {e}"),
                ));
            }
        }
    }
}

/// `getpwnam_r`: the uid of user `name`; `NotFound` naming it if there is none.
pub(crate) fn uid_by_name(name: &str) -> io::Result<u32> {
    let c = c_name(name, "user")?;
    lookup_r(name, "user", |buf| {
        // SAFETY: an all-zero passwd is a valid value of this plain C struct.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: `c` is NUL-terminated; `pwd`, `buf` (of `buf.len()` bytes) and `result`
        // are valid for writes for the duration of the call.
        let ret = unsafe {
            libc::getpwnam_r(
                c.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        (ret, (!result.is_null()).then_some(pwd.pw_uid))
    })
}

/// `getgrnam_r`: the gid of group `name`; `NotFound` naming it if there is none.
pub(crate) fn gid_by_name(name: &str) -> io::Result<u32> {
    let c = c_name(name, "group")?;
    lookup_r(name, "group", |buf| {
        // SAFETY: an all-zero group is a valid value of this plain C struct.
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: as in `uid_by_name`.
        let ret = unsafe {
            libc::getgrnam_r(
                c.as_ptr(),
                &mut grp,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        (ret, (!result.is_null()).then_some(grp.gr_gid))
    })
}
