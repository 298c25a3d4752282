//! Windows pipe names, parsed: bytes only, no OS calls and no other module of the crate, so
//! it is compiled and unit-tested on every platform, and the fuzz target `pipe_names`
//! compiles this very file into itself (`#[path]`). `sys::windows::name` is its only user in
//! the library.
//!
//! Input is the encoded bytes of an `OsStr` (WTF-8 on Windows; any bytes elsewhere).
//!
//! - `@name` and a plain `name` are namespaced: the pipe `\\.\pipe\name` (the `@` stripped).
//! - A full pipe path `\\<server>\pipe\…` (any case, either slash) is namespaced too and
//!   never prefixed a second time; the server part must be `.`: local sockets are local,
//!   so `\\host\pipe\x` (an SMB connection to `host`), `\\?\pipe\x` and `\\localhost\…` are
//!   refused.
//! - The pipe's own name (after `\pipe\`) must not be empty, must not contain `\`, `/`,
//!   `..` or NUL, and must not be `.`: Win32 path normalisation (which `\\.\` paths go
//!   through) would otherwise resolve `..` and `.` segments out of the pipe namespace.
//! - The whole path is at most [`MAX_PIPE_PATH_LEN`] UTF-16 code units.
//! - Anything else that looks like a filesystem path (`C:\x`, `\x`, `/tmp/x`, `.\x`, a UNC
//!   share) is a path, which Windows local sockets do not support.
#![cfg_attr(not(windows), allow(dead_code))] // the Windows backend, the tests and fuzzing

/// The prefix of local pipe paths.
pub(crate) const LOCAL_PREFIX: &str = r"\\.\pipe\";

/// Longest full pipe path, in UTF-16 code units: "The entire pipe name string can be up to
/// 256 characters long" (`CreateNamedPipeW`).
pub(crate) const MAX_PIPE_PATH_LEN: usize = 256;

fn is_sep(b: u8) -> bool {
    b == b'\\' || b == b'/'
}

/// A string of the form `\\<server>\pipe` followed by a separator or the end: the server
/// part and the pipe's own name (empty if there is none).
struct FullPath<'a> {
    server: &'a [u8],
    name: &'a [u8],
}

fn split_full_path(s: &[u8]) -> Option<FullPath<'_>> {
    if s.len() < 2 || !is_sep(s[0]) || !is_sep(s[1]) {
        return None;
    }
    let server_len = s[2..].iter().position(|&b| is_sep(b))?;
    if server_len == 0 {
        return None;
    }
    let server = &s[2..2 + server_len];
    let rest = &s[2 + server_len + 1..];
    if rest.len() < 4 || !rest[..4].eq_ignore_ascii_case(b"pipe") {
        return None;
    }
    let name = match rest.get(4) {
        None => &rest[4..],
        Some(&b) if is_sep(b) => &rest[5..],
        Some(_) => return None,
    };
    Some(FullPath { server, name })
}

/// `C:…`, a leading slash or backslash (rooted paths, UNC shares, `\\?\` paths), `.\`, `..\`.
fn looks_like_fs_path(s: &[u8]) -> bool {
    match s {
        [l, b':', ..] if l.is_ascii_alphabetic() => true,
        [b, ..] if is_sep(*b) => true,
        [b'.', b, ..] if is_sep(*b) => true,
        [b'.', b'.', b, ..] if is_sep(*b) => true,
        [b'.'] | [b'.', b'.'] => true,
        _ => false,
    }
}

/// How a user string is read: how many leading bytes to drop (the `@`, 0 or 1) and whether
/// the rest is namespaced (a pipe name) rather than a filesystem path.
pub(crate) fn classify(s: &[u8]) -> (usize, bool) {
    if s.first() == Some(&b'@') {
        return (1, true);
    }
    if split_full_path(s).is_some() {
        return (0, true);
    }
    (0, !looks_like_fs_path(s))
}

/// Whether a namespaced name is already a full pipe path (`\\<server>\pipe\…`).
pub(crate) fn is_full_path(inner: &[u8]) -> bool {
    split_full_path(inner).is_some()
}

/// UTF-16 code units of WTF-8 bytes (characters beyond the BMP take two). Counts lead
/// bytes, so on bytes that are not WTF-8 it is an estimate, never a panic.
pub(crate) fn utf16_len(s: &[u8]) -> usize {
    s.iter()
        .map(|&b| match b {
            0x00..=0x7f => 1,
            0x80..=0xbf => 0, // continuation byte
            0xc0..=0xef => 1,
            _ => 2,
        })
        .sum()
}

/// Checks a namespaced name and returns the pipe's own name, the part that goes after
/// [`LOCAL_PREFIX`] (the name itself, or the part after `\pipe\` of a full pipe path). The
/// error says what is wrong, for an `InvalidInput` message that also names the input.
pub(crate) fn local_name(inner: &[u8]) -> Result<&[u8], String> {
    let name = match split_full_path(inner) {
        Some(full) => {
            if full.server != b"." {
                return Err(format!(
                    "the server part \"{}\" is not \".\": local sockets stay on this machine, \
                     so only \\\\.\\pipe\\ paths are taken",
                    String::from_utf8_lossy(full.server)
                ));
            }
            full.name
        }
        None => inner,
    };
    if name.is_empty() {
        return Err("the pipe's own name after the \\pipe\\ prefix is empty".into());
    }
    if let Some(&sep) = name.iter().find(|&&b| is_sep(b)) {
        return Err(format!(
            "the pipe's own name contains '{}': separators are not allowed in it",
            sep as char
        ));
    }
    if name.windows(2).any(|w| w == b"..") || name == b"." {
        return Err("the pipe's own name contains \"..\" or is \".\": not allowed".into());
    }
    if name.contains(&0) {
        return Err("the pipe's own name contains a NUL byte".into());
    }
    let len = LOCAL_PREFIX.len() + utf16_len(name);
    if len > MAX_PIPE_PATH_LEN {
        return Err(format!(
            "too long: the full pipe path is {len} UTF-16 code units; Windows allows at most \
             {MAX_PIPE_PATH_LEN}"
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cls(s: &str) -> (&str, bool) {
        let (skip, ns) = classify(s.as_bytes());
        (&s[skip..], ns)
    }

    #[test]
    fn classify_rules() {
        assert_eq!(cls("@x"), ("x", true));
        assert_eq!(cls("x"), ("x", true));
        assert_eq!(cls(r"\\.\pipe\x"), (r"\\.\pipe\x", true));
        assert_eq!(cls(r"\\.\PIPE\x"), (r"\\.\PIPE\x", true));
        assert_eq!(cls(r"\\srv\pipe\x"), (r"\\srv\pipe\x", true));
        assert_eq!(cls(r"//./pipe/x"), (r"//./pipe/x", true));
        assert_eq!(cls(r"\\.\pipe\"), (r"\\.\pipe\", true));
        assert_eq!(cls(r"C:\x"), (r"C:\x", false));
        assert_eq!(cls("/tmp/x"), ("/tmp/x", false));
        assert_eq!(cls(r"\\srv\share\x"), (r"\\srv\share\x", false));
        assert_eq!(cls(r".\x"), (r".\x", false));
        assert_eq!(cls(r"\\.\pipework"), (r"\\.\pipework", false));
        assert!(is_full_path(br"\\.\pipe\x") && !is_full_path(b"x"));
    }

    #[test]
    fn local_names_are_taken() {
        for (input, name) in [
            ("x", "x"),
            (r"\\.\pipe\x", "x"),
            (r"\\.\PIPE\x", "x"),
            (r"//./pipe/x", "x"),
            ("a.b", "a.b"),
            (".x.", ".x."),
            ("é", "é"),
        ] {
            assert_eq!(local_name(input.as_bytes()), Ok(name.as_bytes()), "{input}");
        }
    }

    /// Issue 10 item 13: remote servers, other server parts and path tricks are refused.
    #[test]
    fn names_that_could_leave_the_pipe_namespace_are_refused() {
        for (input, says) in [
            (r"\\host\pipe\x", "server part \"host\""),
            (r"//host/pipe/x", "server part \"host\""),
            (r"\\localhost\pipe\x", "server part \"localhost\""),
            (r"\\?\pipe\x", "server part \"?\""),
            (r"\\..\pipe\x", "server part \"..\""),
            (r"\\.\pipe\..\x", "contains '\\'"),
            (r"\\.\pipe\a\b", "contains '\\'"),
            (r"\\.\pipe\a/b", "contains '/'"),
            (r"\\.\pipe\..", "\"..\""),
            (r"\\.\pipe\.", "\"..\""),
            (r"\\.\pipe\", "empty"),
            (r"\\.\pipe", "empty"),
            ("a/b", "contains '/'"),
            (r"a\b", "contains '\\'"),
            (r"C:\x", "contains '\\'"),
            ("..", "\"..\""),
            ("x..y", "\"..\""),
            ("", "empty"),
            ("a\0b", "NUL"),
        ] {
            let err = local_name(input.as_bytes()).unwrap_err();
            assert!(err.contains(says), "{input:?}: {err}");
        }
    }

    #[test]
    fn the_length_limit_counts_utf16() {
        let room = MAX_PIPE_PATH_LEN - LOCAL_PREFIX.len();
        assert!(local_name("a".repeat(room).as_bytes()).is_ok());
        let err = local_name("a".repeat(room + 1).as_bytes()).unwrap_err();
        assert!(err.contains("too long"), "{err}");
        // U+1F600 is two UTF-16 code units (4 UTF-8 bytes); U+00E9 one (2 bytes).
        let emoji = "\u{1F600}".repeat(room / 2);
        assert!(local_name(emoji.as_bytes()).is_ok());
        let emoji = format!("{emoji}\u{1F600}");
        assert!(local_name(emoji.as_bytes()).is_err());
        assert_eq!(utf16_len("é\u{1F600}x".as_bytes()), 4);
        let full = format!(r"\\.\pipe\{}", "b".repeat(room));
        assert!(local_name(full.as_bytes()).is_ok());
    }

    /// Arbitrary bytes never panic, and every accepted name obeys the rules.
    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = br"\/.:@pPiIeEx?a";
        for _ in 0..200_000 {
            let n = (next() % 24) as usize;
            let s: Vec<u8> = (0..n)
                .map(|_| alphabet[usize::try_from(next() % alphabet.len() as u64).unwrap()])
                .collect();
            let _ = classify(&s);
            if let Ok(name) = local_name(&s) {
                assert!(!name.is_empty() && name != b".");
                assert!(!name.iter().any(|&b| is_sep(b) || b == 0));
                assert!(!name.windows(2).any(|w| w == b".."));
                assert!(LOCAL_PREFIX.len() + utf16_len(name) <= MAX_PIPE_PATH_LEN);
            }
        }
    }
}
