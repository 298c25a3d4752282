//! Access policies on Windows (issue 14): the DACL each policy builds, read back through
//! `GetSecurityInfo`; the identity `PeerCreds` reports; `expect_server`.
//!
//! Wine does not enforce DACLs (any process may open any pipe), so these tests check what
//! the descriptors say and what the client-side check decides, not that Windows refuses a
//! client of another user: that cannot be checked under Wine.
#![cfg(windows)]

mod util;

use localipc::identity::{AccessPolicy, GroupId, UserId};
use localipc::local_socket::{
    ConnectOptions, ListenerOptions, LocalSocketListener, LocalSocketStream,
};
use std::io::ErrorKind;
use std::os::windows::io::AsRawHandle;
use util::{bounded, unique, LIMIT};
use windows_sys::Win32::Foundation::LocalFree;
use windows_sys::Win32::Security::Authorization::{
    ConvertSecurityDescriptorToStringSecurityDescriptorW, GetSecurityInfo, SDDL_REVISION_1,
    SE_KERNEL_OBJECT,
};
use windows_sys::Win32::Security::{DACL_SECURITY_INFORMATION, OWNER_SECURITY_INFORMATION};

/// The owner and DACL of the pipe behind `conn`, as SDDL: `GetSecurityInfo`, then
/// `ConvertSecurityDescriptorToStringSecurityDescriptorW`.
fn sddl_of(conn: &LocalSocketStream) -> String {
    let info = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
    let mut sd = std::ptr::null_mut();
    // SAFETY: the handle is an open pipe handle with READ_CONTROL; the out-pointers are valid
    // for writes (those not wanted are null).
    let err = unsafe {
        GetSecurityInfo(
            conn.as_raw_handle(),
            SE_KERNEL_OBJECT,
            info,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut sd,
        )
    };
    assert_eq!(err, 0, "GetSecurityInfo failed: {err}");
    let mut s = std::ptr::null_mut();
    // SAFETY: `sd` is a valid descriptor; `s` is valid for writes.
    let ok = unsafe {
        ConvertSecurityDescriptorToStringSecurityDescriptorW(
            sd,
            SDDL_REVISION_1,
            info,
            &mut s,
            std::ptr::null_mut(),
        )
    };
    assert_ne!(ok, 0, "{}", std::io::Error::last_os_error());
    // SAFETY: `s` is a NUL-terminated wide string.
    let len = (0..).take_while(|&i| unsafe { *s.add(i) } != 0).count();
    // SAFETY: `s` holds `len` u16s.
    let out = String::from_utf16_lossy(unsafe { std::slice::from_raw_parts(s, len) });
    // SAFETY: both were allocated with LocalAlloc and are freed once.
    unsafe {
        LocalFree(s.cast());
        LocalFree(sd);
    }
    out
}

/// Binds with `policy`, connects, and returns the descriptor the pipe reads back as.
fn descriptor_of(policy: AccessPolicy) -> String {
    let name = format!("@{}", unique("winacc"));
    let l = LocalSocketListener::bind_with(name.as_str(), ListenerOptions::new().access(policy))
        .unwrap();
    let c = LocalSocketStream::connect(name.as_str()).unwrap();
    let _s = l.accept().unwrap();
    sddl_of(&c)
}

/// Each ACE of `sddl` (its `(...)` groups), upper-cased.
fn aces(sddl: &str) -> Vec<String> {
    let dacl = &sddl[sddl.find("D:").expect("a DACL")..];
    dacl.split('(')
        .skip(1)
        .map(|a| a.trim_end_matches(')').to_uppercase())
        .collect()
}

fn each_policy_builds_the_intended_dacl_body() {
    let me = UserId::current().unwrap();
    let me_sid = me.sid().to_uppercase();
    // The ACEs every built descriptor starts with: no network logons; full control for the
    // owner (this user) and LocalSystem.
    // GA in the SDDL given may read back as FA (generic rights mapped for a file object).
    let full = |a: &[String], ace: &str| {
        a.iter()
            .any(|x| *x == ace.replace("{}", "FA") || *x == ace.replace("{}", "GA"))
    };
    let base = |sddl: &str| {
        let a = aces(sddl);
        assert!(
            sddl.to_uppercase().contains(&format!("O:{me_sid}")),
            "{sddl}"
        );
        assert!(full(&a[..1], "D;;{};;;NU"), "{sddl}");
        assert!(full(&a, &format!("A;;{{}};;;{me_sid}")), "{sddl}");
        assert!(full(&a, "A;;{};;;SY"), "{sddl}");
        a
    };
    let client = |sid: &str| format!("A;;0X12018B;;;{}", sid.to_uppercase());

    let cur = descriptor_of(AccessPolicy::current_user());
    eprintln!("current_user: {cur}");
    assert_eq!(base(&cur).len(), 3, "{cur}");

    let other = UserId::from_sid("S-1-5-19").unwrap(); // LocalService
    let list = descriptor_of(AccessPolicy::users([other]));
    eprintln!("users: {list}");
    let a = base(&list);
    assert_eq!(a.len(), 4, "{list}");
    assert!(
        a.contains(&client("LS")) || a.contains(&client("S-1-5-19")),
        "{list}"
    );

    let users = GroupId::from_sid("S-1-5-32-545").unwrap(); // BUILTIN\Users
    let group = descriptor_of(AccessPolicy::group(users));
    eprintln!("group: {group}");
    let a = base(&group);
    assert!(
        a.contains(&client("BU")) || a.contains(&client("S-1-5-32-545")),
        "{group}"
    );

    let all = descriptor_of(AccessPolicy::everyone());
    eprintln!("everyone: {all}");
    let a = base(&all);
    assert!(
        a.contains(&client("WD")) || a.contains(&client("S-1-1-0")),
        "{all}"
    );

    let raw = descriptor_of(AccessPolicy::from_sddl("D:P(A;;GA;;;OW)(A;;GR;;;WD)"));
    eprintln!("from_sddl: {raw}");
    assert!(!raw.contains("NU"), "{raw}");
}

/// The SID `PeerCreds` reports on both ends is this user's (both ends are this process);
/// the pids are this process's; session and integrity level as far as the system says.
fn peer_creds_report_the_current_users_sid_both_ways_body() {
    let name = format!("@{}", unique("winacc-creds"));
    let l = LocalSocketListener::bind(name.as_str()).unwrap();
    let c = LocalSocketStream::connect(name.as_str()).unwrap();
    let s = l.accept().unwrap();
    let me = UserId::current().unwrap();
    assert!(me.sid().starts_with("S-1-"), "{me}");
    for (end, creds) in [("server", s.peer_creds()), ("client", c.peer_creds())] {
        let creds = creds.unwrap();
        eprintln!("{end} sees: {creds}");
        assert_eq!(creds.pid(), Some(std::process::id()), "{end}");
        assert_eq!(creds.user(), Some(me.clone()), "{end}: {creds:?}");
        assert_eq!(creds.uid(), None);
    }
}

fn expect_server_checks_the_servers_sid_body() {
    let name = format!("@{}", unique("winacc-expect"));
    let l = LocalSocketListener::bind(name.as_str()).unwrap();
    let mut mine = ConnectOptions::new();
    mine.expect_server(AccessPolicy::current_user());
    let first = LocalSocketStream::connect_with(name.as_str(), &mine).unwrap();
    // The next pipe instance is made by accept (which skips a client already gone, so the
    // first one stays until then): one for the next client.
    drop(l.accept().unwrap());
    drop(first);
    let mut system_only = ConnectOptions::new();
    system_only.expect_server(AccessPolicy::users([UserId::from_sid("S-1-5-18").unwrap()]));
    let e = LocalSocketStream::connect_with(name.as_str(), &system_only).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    let me = UserId::current().unwrap();
    assert!(e.to_string().contains(me.sid()), "{e}");
    let mut raw = ConnectOptions::new();
    raw.expect_server(AccessPolicy::from_sddl("D:P(A;;GA;;;OW)"));
    // Refused before connecting (no instance is free: it would otherwise wait).
    let e = LocalSocketStream::connect_with(name.as_str(), &raw).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
}

fn policy_and_security_descriptor_together_are_refused_body() {
    let name = format!("@{}", unique("winacc-both"));
    let e = LocalSocketListener::bind_with(
        name.as_str(),
        ListenerOptions::new()
            .access(AccessPolicy::current_user())
            .security_descriptor("D:P(A;;GA;;;OW)"),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(UserId::from_name("no-such-user-localipc").is_err());
}

// Every test is bounded: a hang (e.g. a connect waiting for a pipe instance) fails it.

#[test]
fn each_policy_builds_the_intended_dacl() {
    bounded(LIMIT, each_policy_builds_the_intended_dacl_body);
}

#[test]
fn peer_creds_report_the_current_users_sid_both_ways() {
    bounded(
        LIMIT,
        peer_creds_report_the_current_users_sid_both_ways_body,
    );
}

#[test]
fn expect_server_checks_the_servers_sid() {
    bounded(LIMIT, expect_server_checks_the_servers_sid_body);
}

#[test]
fn policy_and_security_descriptor_together_are_refused() {
    bounded(
        LIMIT,
        policy_and_security_descriptor_together_are_refused_body,
    );
}
