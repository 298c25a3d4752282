//! Name parsing and conversion: every `ToLocalSocketName` input type, on arbitrary bytes.
//! Checks the rules, not just the absence of panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use localipc::local_socket::{LocalSocketName, ToLocalSocketName};
use std::ffi::{CString, OsStr};
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn check(input: &[u8], name: std::io::Result<LocalSocketName<'_>>, is_path_type: bool) {
    let has_nul = input.contains(&0);
    let starts_at = !is_path_type && input.first() == Some(&b'@');
    let body = if starts_at { &input[1..] } else { input };
    match name {
        Ok(n) => {
            assert!(
                !has_nul && !body.is_empty(),
                "accepted a bad name {input:?}"
            );
            assert_eq!(n.is_namespaced(), starts_at);
            assert_eq!(n.is_path(), !starts_at);
            assert_eq!(n.inner().as_bytes(), body);
            let shown = n.to_string();
            assert_eq!(
                shown.starts_with('@'),
                starts_at || (is_path_type && input.first() == Some(&b'@'))
            );
            let owned = n.clone().into_owned();
            assert_eq!(owned, n);
            assert_eq!(owned.borrow(), n);
            let _ = (n.is_supported(), n.is_always_supported());
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
            assert!(
                has_nul || body.is_empty(),
                "rejected a good name {input:?}: {e}"
            );
            assert!(!e.to_string().is_empty());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let os = OsStr::from_bytes(data);
    check(data, os.to_local_socket_name(), false);
    check(data, os.to_os_string().to_local_socket_name(), false);
    check(data, Path::new(os).to_local_socket_name(), true);
    check(
        data,
        Path::new(os).to_path_buf().to_local_socket_name(),
        true,
    );
    if let Ok(s) = std::str::from_utf8(data) {
        check(data, s.to_local_socket_name(), false);
        check(data, s.to_string().to_local_socket_name(), false);
    }
    if let Ok(c) = CString::new(data) {
        check(data, c.as_c_str().to_local_socket_name(), false);
        check(data, c.to_local_socket_name(), false);
    }
    for namespaced in [false, true] {
        let n = LocalSocketName::new(os, namespaced);
        assert_eq!(n.is_ok(), !data.is_empty() && !data.contains(&0));
    }
});
