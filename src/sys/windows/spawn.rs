//! Starting a process with exactly the handles it should inherit: `CreateProcessW` with a
//! `PROC_THREAD_ATTRIBUTE_HANDLE_LIST` (std's `Command` passes `bInheritHandles = TRUE`
//! without one, so a child it starts inherits every inheritable handle of this process), the
//! command line quoted by the MSVC rules, the environment block, and the child as a
//! [`Process`] (wait, kill, exit status).

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::windows::ffi::OsStrExt as _;
use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle, FromRawHandle, OwnedHandle};
use std::os::windows::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::ptr;
use windows_sys::Win32::Foundation::{
    DuplicateHandle, DUPLICATE_SAME_ACCESS, HANDLE, WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use windows_sys::Win32::System::Threading::{
    CreateProcessW, DeleteProcThreadAttributeList, GetCurrentProcess, GetExitCodeProcess,
    InitializeProcThreadAttributeList, TerminateProcess, UpdateProcThreadAttribute,
    WaitForSingleObject, CREATE_UNICODE_ENVIRONMENT, EXTENDED_STARTUPINFO_PRESENT, INFINITE,
    PROCESS_INFORMATION, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, STARTF_USESTDHANDLES, STARTUPINFOEXW,
};

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what)
}

/// Appends `arg` to `cmd` quoted so that the MSVC runtime's (and std's) `argv` parsing gives
/// it back unchanged: as is if it is not empty and has no space, tab, newline or `"`;
/// otherwise in quotes, where backslashes are doubled before a `"` (which is escaped as
/// `\"`) and before the closing quote, and kept as they are elsewhere.
pub(crate) fn quote_arg(arg: &OsStr, cmd: &mut Vec<u16>) -> io::Result<()> {
    let wide: Vec<u16> = arg.encode_wide().collect();
    if wide.contains(&0) {
        return Err(invalid(format!(
            "argument {arg:?} contains a NUL character"
        )));
    }
    let special = |c: u16| matches!(c, 0x20 | 0x09 | 0x0a | 0x0b | 0x22);
    if !wide.is_empty() && !wide.iter().any(|&c| special(c)) {
        cmd.extend_from_slice(&wide);
        return Ok(());
    }
    cmd.push(u16::from(b'"'));
    let mut backslashes = 0;
    for &c in &wide {
        if c == u16::from(b'\\') {
            backslashes += 1;
        } else {
            if c == u16::from(b'"') {
                // The backslashes before it, doubled, and one more for the quote itself.
                cmd.extend(std::iter::repeat_n(u16::from(b'\\'), backslashes + 1));
            }
            backslashes = 0;
        }
        cmd.push(c);
    }
    // Trailing backslashes doubled, so that the closing quote stays a quote.
    cmd.extend(std::iter::repeat_n(u16::from(b'\\'), backslashes));
    cmd.push(u16::from(b'"'));
    Ok(())
}

/// The command line: the program as given, always in quotes (the runtime reads `argv[0]`
/// up to the next quote, without escapes, so it may not contain one), then each argument
/// quoted by [`quote_arg`], separated by spaces, NUL-terminated.
pub(crate) fn command_line(program: &OsStr, args: &[&OsStr]) -> io::Result<Vec<u16>> {
    let prog: Vec<u16> = program.encode_wide().collect();
    if prog.contains(&0) || prog.contains(&u16::from(b'"')) {
        return Err(invalid(format!(
            "program name {program:?} contains a NUL character or a quote"
        )));
    }
    let mut cmd = vec![u16::from(b'"')];
    cmd.extend_from_slice(&prog);
    cmd.push(u16::from(b'"'));
    for arg in args {
        cmd.push(u16::from(b' '));
        quote_arg(arg, &mut cmd)?;
    }
    cmd.push(0);
    Ok(cmd)
}

/// Environment variable names compare without regard to ASCII case on Windows.
fn env_key(name: &OsStr) -> Vec<u16> {
    name.encode_wide()
        .map(|c| match u8::try_from(c) {
            Ok(b) => u16::from(b.to_ascii_uppercase()),
            Err(_) => c,
        })
        .collect()
}

/// The child's environment: this process's (`std::env::vars_os`), then `cmd`'s changes
/// (`Command::get_envs`), then `extra`. `Command::env_clear` cannot be seen through std's
/// getters and is not honoured.
pub(crate) fn child_env(
    cmd: &Command,
    extra: &[(OsString, OsString)],
) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let mut set = |k: &OsStr, v: Option<&OsStr>| {
        let key = env_key(k);
        env.retain(|(n, _)| env_key(n) != key);
        if let Some(v) = v {
            env.push((k.to_owned(), v.to_owned()));
        }
    };
    for (k, v) in cmd.get_envs() {
        set(k, v);
    }
    for (k, v) in extra {
        set(k, Some(v));
    }
    env.sort_by_key(|(k, _)| env_key(k));
    env
}

/// The Unicode environment block for `CreateProcessW`: `name=value\0` each, then `\0`
/// (two NULs when empty). `InvalidInput` for a NUL anywhere or an `=` in a name (after its
/// first character).
pub(crate) fn env_block(env: &[(OsString, OsString)]) -> io::Result<Vec<u16>> {
    let mut block = Vec::new();
    for (k, v) in env {
        let name: Vec<u16> = k.encode_wide().collect();
        let value: Vec<u16> = v.encode_wide().collect();
        if name.is_empty()
            || name.contains(&0)
            || value.contains(&0)
            || name[1..].contains(&u16::from(b'='))
        {
            return Err(invalid(format!(
                "environment variable {k:?}={v:?}: empty name, NUL character or '=' in the name"
            )));
        }
        block.extend_from_slice(&name);
        block.push(u16::from(b'='));
        block.extend_from_slice(&value);
        block.push(0);
    }
    if block.is_empty() {
        block.push(0);
    }
    block.push(0);
    Ok(block)
}

/// The program to start: a name without a path separator is looked up in the directories of
/// `PATH` (the child's, if `cmd` sets it), as given and with `.exe` added when it has no
/// extension; a path is taken as is. Batch files (`.bat`, `.cmd`) are refused
/// (`InvalidInput`): `cmd.exe` reads their arguments by other rules. `NotFound` naming the
/// program if the lookup finds nothing.
pub(crate) fn resolve_program(cmd: &Command, env: &[(OsString, OsString)]) -> io::Result<PathBuf> {
    let program = Path::new(cmd.get_program());
    // Windows ignores trailing dots and spaces of a file name ("x.bat. " runs x.bat).
    let file = program
        .file_name()
        .map(|f| f.to_string_lossy().into_owned());
    let file = file.as_deref().unwrap_or("").trim_end_matches(['.', ' ']);
    let ext = Path::new(file)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    if matches!(ext.as_deref(), Some("bat" | "cmd")) {
        return Err(invalid(format!(
            "{}: batch files are not started by ChildHandoff (cmd.exe quotes arguments by \
             other rules)",
            program.display()
        )));
    }
    let mut candidates = vec![program.to_owned()];
    if ext.is_none() {
        candidates.push(program.with_extension("exe"));
    }
    let has_sep = cmd
        .get_program()
        .encode_wide()
        .any(|c| c == u16::from(b'\\') || c == u16::from(b'/') || c == u16::from(b':'));
    if has_sep {
        let found = candidates.iter().find(|c| c.is_file());
        return Ok(found.unwrap_or(&candidates[0]).clone());
    }
    let path_key = env_key(OsStr::new("PATH"));
    let path = env
        .iter()
        .find(|(k, _)| env_key(k) == path_key)
        .map(|(_, v)| v.clone());
    for dir in std::env::split_paths(&path.unwrap_or_default()) {
        for c in &candidates {
            let full = dir.join(c);
            if full.is_file() {
                return Ok(full);
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("program {} not found in PATH", program.display()),
    ))
}

/// `DuplicateHandle(bInheritHandle = TRUE)` within this process: an inheritable duplicate,
/// to be listed in the child's `PROC_THREAD_ATTRIBUTE_HANDLE_LIST`.
pub(crate) fn inheritable_duplicate(h: BorrowedHandle<'_>) -> io::Result<OwnedHandle> {
    let mut new: HANDLE = ptr::null_mut();
    // SAFETY: `h` is open; the pseudo-handle of this process is valid as source and target;
    // `new` is valid for writes.
    let ok = unsafe {
        DuplicateHandle(
            GetCurrentProcess(),
            h.as_raw_handle(),
            GetCurrentProcess(),
            &mut new,
            0,
            1,
            DUPLICATE_SAME_ACCESS,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh handle of this process, owned by nobody else.
    Ok(unsafe { OwnedHandle::from_raw_handle(new) })
}

/// An attribute list of one attribute (`InitializeProcThreadAttributeList`), deleted on drop
/// (`DeleteProcThreadAttributeList`).
struct AttrList {
    /// `usize`s, so that the opaque list is pointer-aligned.
    buf: Vec<usize>,
}

impl AttrList {
    /// `InitializeProcThreadAttributeList` for one attribute, then
    /// `UpdateProcThreadAttribute(PROC_THREAD_ATTRIBUTE_HANDLE_LIST)` with `handles`, which
    /// must stay alive (and unmoved) as long as the list.
    fn handle_list(handles: &[HANDLE]) -> io::Result<Self> {
        let mut size = 0;
        // SAFETY: a null list asks for the size only (fails with ERROR_INSUFFICIENT_BUFFER).
        unsafe { InitializeProcThreadAttributeList(ptr::null_mut(), 1, 0, &mut size) };
        let mut list = Self {
            buf: vec![0; size.div_ceil(size_of::<usize>()).max(1)],
        };
        // SAFETY: `buf` has at least `size` bytes.
        if unsafe { InitializeProcThreadAttributeList(list.ptr(), 1, 0, &mut size) } == 0 {
            list.buf.clear(); // not initialized: nothing to delete
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the list is initialized; `handles` is an array of HANDLEs of the given
        // byte size that the caller keeps alive while the list is used.
        let ok = unsafe {
            UpdateProcThreadAttribute(
                list.ptr(),
                0,
                PROC_THREAD_ATTRIBUTE_HANDLE_LIST as usize,
                handles.as_ptr().cast(),
                size_of_val(handles),
                ptr::null_mut(),
                ptr::null(),
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(list)
    }

    fn ptr(&mut self) -> *mut core::ffi::c_void {
        self.buf.as_mut_ptr().cast()
    }
}

impl Drop for AttrList {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            // SAFETY: the list was initialized and is deleted once.
            unsafe { DeleteProcThreadAttributeList(self.ptr()) };
        }
    }
}

/// The standard handles the child gets: inheritable duplicates of this process's standard
/// input, output and error (`DuplicateHandle`), `None` where this process has none.
fn inherited_stdio() -> [Option<OwnedHandle>; 3] {
    let dup = |h: BorrowedHandle<'_>| {
        let raw = h.as_raw_handle();
        if raw.is_null() || raw as isize == -1 {
            return None;
        }
        inheritable_duplicate(h).ok()
    };
    [
        dup(io::stdin().as_handle()),
        dup(io::stdout().as_handle()),
        dup(io::stderr().as_handle()),
    ]
}

/// Starts `cmd`'s program (see [`resolve_program`]) with its arguments, current directory
/// and environment (see [`child_env`]) plus `extra`, with `CreateProcessW(bInheritHandles =
/// TRUE, EXTENDED_STARTUPINFO_PRESENT | CREATE_UNICODE_ENVIRONMENT)` and a
/// `PROC_THREAD_ATTRIBUTE_HANDLE_LIST` of exactly `inherit` (inheritable handles) and the
/// standard handles (inheritable duplicates of this process's, closed again here);
/// `bInheritHandles = FALSE` if that list is empty.
pub(crate) fn spawn(
    cmd: &Command,
    extra: &[(OsString, OsString)],
    inherit: &[BorrowedHandle<'_>],
) -> io::Result<Process> {
    let env = child_env(cmd, extra);
    let program = resolve_program(cmd, &env)?;
    let args: Vec<&OsStr> = cmd.get_args().collect();
    let mut cmdline = command_line(cmd.get_program(), &args)?;
    let block = env_block(&env)?;
    let app: Vec<u16> = program.as_os_str().encode_wide().chain(Some(0)).collect();
    let cwd: Option<Vec<u16>> = cmd
        .get_current_dir()
        .map(|d| d.as_os_str().encode_wide().chain(Some(0)).collect());
    if app[..app.len() - 1].contains(&0)
        || cwd.as_ref().is_some_and(|d| d[..d.len() - 1].contains(&0))
    {
        return Err(invalid(format!(
            "program {} or its directory contains a NUL character",
            program.display()
        )));
    }
    let stdio = inherited_stdio();
    let mut handles: Vec<HANDLE> = inherit.iter().map(|h| h.as_raw_handle()).collect();
    handles.extend(stdio.iter().flatten().map(|h| h.as_raw_handle()));
    // An empty handle list is refused (ERROR_BAD_LENGTH): then nothing is inherited at all.
    let mut attrs = if handles.is_empty() {
        None
    } else {
        Some(AttrList::handle_list(&handles)?)
    };
    let raw = |h: &Option<OwnedHandle>| h.as_ref().map_or(ptr::null_mut(), |h| h.as_raw_handle());
    // SAFETY: all-zero is a valid STARTUPINFOEXW (no flags, null pointers).
    let mut si: STARTUPINFOEXW = unsafe { std::mem::zeroed() };
    si.StartupInfo.cb = u32::try_from(size_of::<STARTUPINFOEXW>()).unwrap_or(u32::MAX);
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = raw(&stdio[0]);
    si.StartupInfo.hStdOutput = raw(&stdio[1]);
    si.StartupInfo.hStdError = raw(&stdio[2]);
    si.lpAttributeList = attrs.as_mut().map_or(ptr::null_mut(), AttrList::ptr);
    // SAFETY: all-zero is a valid PROCESS_INFORMATION, filled in on success.
    let mut pi: PROCESS_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: every string is NUL-terminated and outlives the call (`cmdline` is writable,
    // as CreateProcessW requires); the environment block is double-NUL-terminated UTF-16
    // (CREATE_UNICODE_ENVIRONMENT); `si` is a STARTUPINFOEXW with its size in `cb` and a
    // live attribute list whose handles (`handles`) are open and inheritable; `pi` is
    // writable.
    let ok = unsafe {
        CreateProcessW(
            app.as_ptr(),
            cmdline.as_mut_ptr(),
            ptr::null(),
            ptr::null(),
            i32::from(attrs.is_some()),
            EXTENDED_STARTUPINFO_PRESENT | CREATE_UNICODE_ENVIRONMENT,
            block.as_ptr().cast(),
            cwd.as_ref().map_or(ptr::null(), |d| d.as_ptr()),
            &si.StartupInfo,
            &mut pi,
        )
    };
    let err = io::Error::last_os_error();
    drop(attrs);
    drop(stdio);
    if ok == 0 {
        return Err(io::Error::new(
            err.kind(),
            format!("starting {}: {err}", program.display()),
        ));
    }
    // SAFETY: both handles are fresh and ours; the thread handle is not needed.
    unsafe { drop(OwnedHandle::from_raw_handle(pi.hThread)) };
    Ok(Process {
        // SAFETY: as above.
        handle: unsafe { OwnedHandle::from_raw_handle(pi.hProcess) },
        pid: pi.dwProcessId,
    })
}

/// A started process: its handle (`PROCESS_ALL_ACCESS`) and id. Dropping it neither waits
/// nor kills.
#[derive(Debug)]
pub(crate) struct Process {
    handle: OwnedHandle,
    pid: u32,
}

impl Process {
    pub(crate) fn id(&self) -> u32 {
        self.pid
    }

    /// `WaitForSingleObject(INFINITE)`, then `GetExitCodeProcess`.
    pub(crate) fn wait(&mut self) -> io::Result<ExitStatus> {
        self.wait_for(INFINITE)?
            .ok_or_else(|| io::Error::other("WaitForSingleObject(INFINITE) timed out"))
    }

    /// `WaitForSingleObject(0)`, then `GetExitCodeProcess` if it has exited.
    pub(crate) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.wait_for(0)
    }

    fn wait_for(&self, ms: u32) -> io::Result<Option<ExitStatus>> {
        // SAFETY: the process handle is open.
        match unsafe { WaitForSingleObject(self.handle.as_raw_handle(), ms) } {
            WAIT_OBJECT_0 => {}
            WAIT_TIMEOUT => return Ok(None),
            _ => return Err(io::Error::last_os_error()),
        }
        let mut code = 0;
        // SAFETY: the handle is open; `code` is writable.
        if unsafe { GetExitCodeProcess(self.handle.as_raw_handle(), &mut code) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Some(ExitStatus::from_raw(code)))
    }

    /// `TerminateProcess` with exit code 1; nothing to do (`Ok`) if it has already exited.
    pub(crate) fn kill(&mut self) -> io::Result<()> {
        // SAFETY: the process handle is open.
        if unsafe { TerminateProcess(self.handle.as_raw_handle(), 1) } == 0 {
            let err = io::Error::last_os_error();
            if self.try_wait()?.is_none() {
                return Err(err);
            }
        }
        Ok(())
    }
}

impl AsHandle for Process {
    fn as_handle(&self) -> BorrowedHandle<'_> {
        self.handle.as_handle()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(arg: &str) -> String {
        let mut out = Vec::new();
        quote_arg(OsStr::new(arg), &mut out).unwrap();
        String::from_utf16(&out).unwrap()
    }

    /// The MSVC rules: quotes only when needed; backslashes doubled only before a quote.
    #[test]
    fn arguments_are_quoted_by_the_msvc_rules() {
        assert_eq!(quoted("plain"), "plain");
        assert_eq!(quoted(r"a\b\\c"), r"a\b\\c");
        assert_eq!(quoted(r"trail\"), r"trail\");
        assert_eq!(quoted(""), r#""""#);
        assert_eq!(quoted("two words"), r#""two words""#);
        assert_eq!(quoted(r#"q"uote"#), r#""q\"uote""#);
        assert_eq!(quoted(r"trail space\"), r#""trail space\\""#);
        assert_eq!(quoted(r#"back\\"slash"#), r#""back\\\\\"slash""#);
        assert_eq!(quoted("tab\there"), "\"tab\there\"");
        let mut out = Vec::new();
        assert!(quote_arg(OsStr::new("nul\0"), &mut out).is_err());
        assert!(command_line(OsStr::new("a\"b"), &[]).is_err());
    }

    #[test]
    fn environment_block_is_double_nul_terminated() {
        assert_eq!(env_block(&[]).unwrap(), [0, 0]);
        let env = [(OsString::from("A"), OsString::from("b"))];
        assert_eq!(
            env_block(&env).unwrap(),
            "A=b\0\0".encode_utf16().collect::<Vec<_>>()
        );
        let bad = [(OsString::from("A=B"), OsString::from("c"))];
        assert_eq!(
            env_block(&bad).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        // `=C:` style names (a leading '=') are allowed.
        assert!(env_block(&[(OsString::from("=C:"), OsString::from("C:\\"))]).is_ok());
    }

    /// Batch files are refused, also when Windows would strip a trailing dot or space; a
    /// bare name that is nowhere in `PATH` is `NotFound`.
    #[test]
    fn batch_files_and_missing_programs_are_refused() {
        for name in ["x.bat", r"C:\dir\X.CMD", "x.bat. ", "x.cmd."] {
            let err = resolve_program(&Command::new(name), &[]).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{name}");
        }
        let env = [(OsString::from("Path"), OsString::from(r"C:\nowhere"))];
        let err = resolve_program(&Command::new("localipc-no-such-program"), &env).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("localipc-no-such-program"));
    }
}
