//! The Windows pipe-name rules (`sys::pipe_name`), on arbitrary bytes, on any platform.
//!
//! The parser is pure code with no dependency on the rest of the crate, so this target
//! compiles that very file into itself with `#[path]` rather than the library exporting a
//! hidden API for fuzzing: nothing is added to localipc's public surface, and what runs here
//! is byte for byte what the Windows backend runs.
//!
//! Checks: never panics; every accepted name makes the path `\\.\pipe\<name>` with a
//! non-empty `<name>` that has no `\`, `/`, `..` or NUL and is not `.`, within the length
//! limit; a full path is accepted only with the server part `.`; and the name is the end
//! of the input (nothing invented).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/sys/pipe_name.rs"]
mod pipe_name; // dead code allowed by the file itself off Windows

use pipe_name::{classify, is_full_path, local_name, utf16_len, LOCAL_PREFIX, MAX_PIPE_PATH_LEN};

fuzz_target!(|data: &[u8]| {
    let (skip, namespaced) = classify(data);
    assert!(skip <= 1 && (skip == 0 || data[0] == b'@'));
    assert!(skip == 0 || namespaced);
    let inner = &data[skip..];
    if let Ok(name) = local_name(inner) {
        assert!(!name.is_empty() && name != b".", "{data:?}");
        assert!(
            !name.iter().any(|&b| b == b'\\' || b == b'/' || b == 0),
            "separator or NUL accepted: {data:?}"
        );
        assert!(
            !name.windows(2).any(|w| w == b".."),
            "'..' accepted: {data:?}"
        );
        assert!(LOCAL_PREFIX.len() + utf16_len(name) <= MAX_PIPE_PATH_LEN);
        assert!(inner.ends_with(name), "name not taken from the input");
        if is_full_path(inner) {
            // Only `\\.\pipe\` (either slash, any case of "pipe") makes it local.
            let prefix = &inner[..inner.len() - name.len()];
            assert_eq!(prefix.len(), LOCAL_PREFIX.len(), "{data:?}");
            assert_eq!(prefix[2], b'.', "remote server accepted: {data:?}");
            assert!(
                prefix[3..8].eq_ignore_ascii_case(b"\\pipe")
                    || prefix[3..8].eq_ignore_ascii_case(b"/pipe")
            );
        } else {
            assert_eq!(name, inner);
        }
        // The path the backend builds, as a string: exactly the prefix plus the name.
        let mut path = LOCAL_PREFIX.as_bytes().to_vec();
        path.extend_from_slice(name);
        assert!(path.starts_with(br"\\.\pipe\"));
        assert_eq!(
            local_name(&path),
            Ok(name),
            "the built path does not parse back"
        );
    }
});
