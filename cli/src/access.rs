//! `--allow` (listen) and `--expect-server` (connect): who may connect, and whom the client
//! accepts as its server, as `localipc::identity::AccessPolicy`.

use crate::error;
use localipc::identity::{AccessPolicy, GroupId, UserId};
use localipc::local_socket::PeerCreds;
use std::io;

/// What `--allow WHO` / `--expect-server WHO` take (repeatable; the users named add up).
pub(crate) const WHO_HELP: &str = "WHO: `me` (the current user), `everyone`, `group:NAME`, or \
a user: a name, a uid (Unix) or a SID (Windows); repeat the option to allow several users";

/// The policy the `WHO` values make: `None` for none given. `InvalidInput` for a group or
/// `everyone` mixed with other values, or a name that is not found (naming it).
pub(crate) fn policy(values: &[String], option: &str) -> io::Result<Option<AccessPolicy>> {
    let bad = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, format!("{option}: {msg}"));
    let [first, rest @ ..] = values else {
        return Ok(None);
    };
    let single = |p: AccessPolicy| {
        if rest.is_empty() {
            Ok(Some(p))
        } else {
            Err(bad(format!(
                "{first:?} cannot be combined with other values"
            )))
        }
    };
    if first == "everyone" {
        return single(AccessPolicy::everyone());
    }
    if let Some(group) = first.strip_prefix("group:") {
        let g = GroupId::from_name(group).map_err(|e| bad(e.to_string()))?;
        return single(AccessPolicy::group(g));
    }
    if values.len() == 1 && first == "me" {
        return Ok(Some(AccessPolicy::current_user()));
    }
    let mut users = Vec::new();
    for v in values {
        if v == "everyone" || v.starts_with("group:") {
            return Err(bad(format!("{v:?} cannot be combined with other values")));
        }
        users.push(user(v).map_err(|e| bad(e.to_string()))?);
    }
    Ok(Some(AccessPolicy::users(users)))
}

/// One user: `me`, a uid (Unix), a SID (Windows), or a name.
fn user(v: &str) -> io::Result<UserId> {
    let v = v.strip_prefix("user:").unwrap_or(v);
    if v == "me" {
        return UserId::current();
    }
    #[cfg(unix)]
    if let Ok(uid) = v.parse::<u32>() {
        return Ok(UserId::from_uid(uid));
    }
    #[cfg(windows)]
    if v.starts_with("S-1-") {
        return UserId::from_sid(v);
    }
    UserId::from_name(v)
}

/// Logs a connection refused by `--allow` (always: it is a security event).
pub(crate) fn log_refused(who: &PeerCreds) {
    error::log(&format!(
        "refused a connection from {who} (not allowed by --allow)"
    ));
}

/// The peer's identity for `-v`, or why it is unknown.
pub(crate) fn describe(creds: io::Result<PeerCreds>) -> String {
    creds.map_or_else(|e| format!("identity unknown: {e}"), |c| c.to_string())
}
