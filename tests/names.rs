//! `LocalSocketName`, `ToLocalSocketName`, `NameTypeSupport`, and bad names.

mod util;

use localipc::local_socket::{
    LocalSocketListener, LocalSocketName, LocalSocketStream, NameTypeSupport, ToLocalSocketName,
};
use std::ffi::{CString, OsStr, OsString};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use util::assert_err;

#[test]
fn at_prefix_means_namespaced_for_every_string_type() {
    let names = [
        "@svc".to_local_socket_name().unwrap(),
        String::from("@svc").to_local_socket_name().unwrap(),
        OsStr::new("@svc").to_local_socket_name().unwrap(),
        OsString::from("@svc").to_local_socket_name().unwrap(),
        (&OsString::from("@svc"))
            .to_local_socket_name()
            .unwrap()
            .into_owned(),
        c"@svc".to_local_socket_name().unwrap(),
        CString::new("@svc")
            .unwrap()
            .to_local_socket_name()
            .unwrap(),
    ];
    for n in names {
        assert!(n.is_namespaced() && !n.is_path(), "{n:?}");
        assert_eq!(n.inner(), "svc");
        assert_eq!(n.to_string(), "@svc");
    }
}

#[cfg(unix)]
#[test]
fn plain_strings_are_paths_on_unix() {
    for n in [
        "/run/svc.sock".to_local_socket_name().unwrap(),
        String::from("/run/svc.sock")
            .to_local_socket_name()
            .unwrap(),
        CString::new("/run/svc.sock")
            .unwrap()
            .to_local_socket_name()
            .unwrap(),
        "relative.sock".to_local_socket_name().unwrap(),
    ] {
        assert!(n.is_path(), "{n:?}");
    }
}

#[test]
fn paths_are_always_paths_even_with_at() {
    let n = Path::new("@not-namespaced").to_local_socket_name().unwrap();
    assert!(n.is_path());
    assert_eq!(n.inner(), "@not-namespaced");
    let n = PathBuf::from("/x/y").to_local_socket_name().unwrap();
    assert!(n.is_path());
    assert_eq!(n.to_string(), "/x/y");
    // `&PathBuf` borrows, like `&Path`: a path even with a leading `@`.
    let owned = PathBuf::from("@not-namespaced");
    let n = (&owned).to_local_socket_name().unwrap();
    assert!(n.is_path());
    assert_eq!(n.inner(), "@not-namespaced");
}

#[test]
fn owned_borrowed_and_identity_conversions() {
    let s = String::from("@abc");
    let borrowed = s.as_str().to_local_socket_name().unwrap();
    let owned: LocalSocketName<'static> = borrowed.clone().into_owned();
    assert_eq!(borrowed, owned);
    assert_eq!(owned.borrow(), borrowed);
    assert_eq!(owned.clone().into_inner(), OsString::from("abc"));
    assert_eq!((&owned).to_local_socket_name().unwrap(), owned);
    assert_eq!(owned.clone().to_local_socket_name().unwrap(), owned);
    let mut set = std::collections::HashSet::new();
    set.insert(owned.clone());
    assert!(set.contains(&borrowed));
    assert_eq!(
        LocalSocketName::new(OsStr::new("abc"), true).unwrap(),
        owned
    );
}

#[test]
fn name_type_support_matches_platform() {
    let q = NameTypeSupport::query();
    #[cfg(any(target_os = "linux", target_os = "android"))]
    assert_eq!(q, NameTypeSupport::Both);
    #[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
    assert_eq!(q, NameTypeSupport::OnlyPaths);
    #[cfg(windows)]
    assert_eq!(q, NameTypeSupport::OnlyNamespaced);
    assert_eq!(NameTypeSupport::ALWAYS_AVAILABLE, q);
    assert!(NameTypeSupport::Both.paths_supported() && NameTypeSupport::Both.namespace_supported());
    assert!(!NameTypeSupport::OnlyPaths.namespace_supported());
    assert!(!NameTypeSupport::OnlyNamespaced.paths_supported());

    let ns = "@x".to_local_socket_name().unwrap();
    let path = Path::new("/x").to_local_socket_name().unwrap();
    assert_eq!(ns.is_supported(), q.namespace_supported());
    assert_eq!(path.is_supported(), q.paths_supported());
    assert_eq!(ns.is_always_supported(), q.namespace_supported());
}

#[test]
fn empty_name_is_invalid_input() {
    assert_err(
        "".to_local_socket_name().unwrap_err(),
        ErrorKind::InvalidInput,
        "empty",
    );
    assert_err(
        Path::new("").to_local_socket_name().unwrap_err(),
        ErrorKind::InvalidInput,
        "empty",
    );
    let err = "@".to_local_socket_name().unwrap_err();
    assert_err(err, ErrorKind::InvalidInput, "\"@\"");
    assert_err(
        LocalSocketListener::bind("").unwrap_err(),
        ErrorKind::InvalidInput,
        "empty",
    );
    assert_err(
        LocalSocketStream::connect("").unwrap_err(),
        ErrorKind::InvalidInput,
        "empty",
    );
}

#[test]
fn interior_nul_is_invalid_input_naming_the_name() {
    assert_err(
        "a\0b".to_local_socket_name().unwrap_err(),
        ErrorKind::InvalidInput,
        "a\\0b",
    );
    assert_err(
        "@ns\0x".to_local_socket_name().unwrap_err(),
        ErrorKind::InvalidInput,
        "@ns\\0x",
    );
    assert_err(
        Path::new("/tmp/a\0b").to_local_socket_name().unwrap_err(),
        ErrorKind::InvalidInput,
        "/tmp/a\\0b",
    );
    let err = LocalSocketListener::bind(String::from("x\0y")).unwrap_err();
    assert_err(err, ErrorKind::InvalidInput, "NUL");
}

#[cfg(unix)]
#[test]
fn path_longer_than_sun_path_is_invalid_input() {
    let long = format!("/tmp/{}", "x".repeat(200));
    for err in [
        LocalSocketListener::bind(long.as_str()).unwrap_err(),
        LocalSocketStream::connect(long.as_str()).unwrap_err(),
    ] {
        assert_err(err, ErrorKind::InvalidInput, &long);
    }
    // Exactly at the limit is accepted by the name check (the directory does not exist).
    #[cfg(target_os = "linux")]
    {
        let at_limit = format!("/nonexistent-dir/{}", "y".repeat(107 - 17));
        assert_eq!(at_limit.len(), 107);
        let err = LocalSocketListener::bind(at_limit.as_str()).unwrap_err();
        assert_err(err, ErrorKind::NotFound, &at_limit);
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
fn namespaced_name_longer_than_sun_path_is_invalid_input() {
    let long = format!("@{}", "n".repeat(108));
    assert_err(
        LocalSocketListener::bind(long.as_str()).unwrap_err(),
        ErrorKind::InvalidInput,
        &long,
    );
}

#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
#[test]
fn namespaced_name_is_unsupported_off_linux() {
    let err = LocalSocketListener::bind("@svc").unwrap_err();
    assert_err(err, ErrorKind::Unsupported, "@svc");
    let err = LocalSocketStream::connect("@svc").unwrap_err();
    assert_err(err, ErrorKind::Unsupported, "@svc");
}

#[cfg(windows)]
#[test]
fn full_pipe_paths_display_as_given_and_round_trip() {
    for (input, shown) in [
        (r"\\.\pipe\svc", r"\\.\pipe\svc"),
        (r"@\\.\pipe\svc", r"\\.\pipe\svc"),
        ("@svc", "@svc"),
        ("svc", "@svc"),
    ] {
        let name = input.to_local_socket_name().unwrap();
        assert!(name.is_namespaced(), "{input}");
        assert_eq!(name.to_string(), shown, "{input}");
        let again = name.to_string().to_local_socket_name().unwrap();
        assert_eq!(again, name, "{input} -> {shown}");
    }
}
