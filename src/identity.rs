//! Who is who: [`UserId`], [`GroupId`], and [`AccessPolicy`], the one type that says who may
//! connect to a listener ([`ListenerOptions::access`]) and whom a client expects to find
//! serving a name ([`ConnectOptions::expect_server`]).
//!
//! ```
//! use localipc::identity::{AccessPolicy, UserId};
//! use localipc::local_socket::{ConnectOptions, ListenerOptions, LocalSocketListener, LocalSocketStream};
//!
//! # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
//! #     format!("@localipc-doc-identity-{}", std::process::id())
//! # } else { format!("/tmp/localipc-doc-identity-{}.sock", std::process::id()) };
//! // A daemon only this user may use, on a name anyone could otherwise squat or reach.
//! let listener = LocalSocketListener::bind_with(
//!     name.as_str(),
//!     ListenerOptions::new().access(AccessPolicy::current_user()),
//! )?;
//! // The client makes sure the server is this user's too.
//! let conn = LocalSocketStream::connect_with(
//!     name.as_str(),
//!     ConnectOptions::new().expect_server(AccessPolicy::current_user()),
//! )?;
//! let served = listener.accept()?;
//! assert_eq!(served.peer_creds()?.user(), Some(UserId::current()?));
//! # drop(conn);
//! # std::io::Result::Ok(())
//! ```
//!
//! [`ListenerOptions::access`]: crate::local_socket::ListenerOptions::access
//! [`ConnectOptions::expect_server`]: crate::local_socket::ConnectOptions::expect_server

use crate::local_socket::PeerCreds;
use crate::sys;
use std::fmt;
use std::io;

/// A user: a uid on Unix, a SID on Windows.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UserId {
    #[cfg(unix)]
    uid: u32,
    /// The SID in its canonical string form (`S-1-5-21-…`).
    #[cfg(windows)]
    sid: String,
}

/// A group: a gid on Unix, a group SID on Windows.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GroupId {
    #[cfg(unix)]
    gid: u32,
    #[cfg(windows)]
    sid: String,
}

impl UserId {
    /// The user this process runs as. Unix: `geteuid`. Windows: `OpenProcessToken`,
    /// `GetTokenInformation(TokenUser)`, `ConvertSidToStringSidW`.
    pub fn current() -> io::Result<Self> {
        #[cfg(unix)]
        return Ok(Self::from_uid(sys::identity::current_uid()));
        #[cfg(windows)]
        return Ok(Self {
            sid: sys::identity::current_user_sid()?,
        });
    }

    /// The user called `name`. Unix: `getpwnam_r`. Windows: `LookupAccountNameW`. An unknown
    /// name is `NotFound` naming it.
    pub fn from_name(name: &str) -> io::Result<Self> {
        #[cfg(unix)]
        return Ok(Self::from_uid(sys::identity::uid_by_name(name)?));
        #[cfg(windows)]
        return Ok(Self {
            sid: sys::identity::sid_by_name(name, false)?,
        });
    }

    /// The user with uid `uid` (Unix; it need not exist in the user database).
    #[cfg(unix)]
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    pub fn from_uid(uid: u32) -> Self {
        Self { uid }
    }

    /// The uid (Unix).
    #[cfg(unix)]
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// The user with the SID `sid` in string form, e.g. `"S-1-5-18"` (Windows;
    /// `ConvertStringSidToSidW`, then back to the canonical form). A malformed SID is
    /// `InvalidInput` naming it.
    #[cfg(windows)]
    #[cfg_attr(docsrs, doc(cfg(windows)))]
    pub fn from_sid(sid: &str) -> io::Result<Self> {
        Ok(Self {
            sid: sys::identity::canonical_sid(sid)?,
        })
    }

    #[cfg(windows)]
    pub(crate) fn from_sid_string_unchecked(sid: String) -> Self {
        Self { sid }
    }

    /// The SID in string form (Windows).
    #[cfg(windows)]
    #[cfg_attr(docsrs, doc(cfg(windows)))]
    pub fn sid(&self) -> &str {
        &self.sid
    }
}

impl GroupId {
    /// The group called `name`. Unix: `getgrnam_r`. Windows: `LookupAccountNameW`. An unknown
    /// name is `NotFound` naming it.
    pub fn from_name(name: &str) -> io::Result<Self> {
        #[cfg(unix)]
        return Ok(Self::from_gid(sys::identity::gid_by_name(name)?));
        #[cfg(windows)]
        return Ok(Self {
            sid: sys::identity::sid_by_name(name, true)?,
        });
    }

    /// The group with gid `gid` (Unix).
    #[cfg(unix)]
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    pub fn from_gid(gid: u32) -> Self {
        Self { gid }
    }

    /// The gid (Unix).
    #[cfg(unix)]
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    pub fn gid(&self) -> u32 {
        self.gid
    }

    /// The group with the SID `sid` in string form (Windows; see [`UserId::from_sid`]).
    #[cfg(windows)]
    #[cfg_attr(docsrs, doc(cfg(windows)))]
    pub fn from_sid(sid: &str) -> io::Result<Self> {
        Ok(Self {
            sid: sys::identity::canonical_sid(sid)?,
        })
    }

    /// The SID in string form (Windows).
    #[cfg(windows)]
    #[cfg_attr(docsrs, doc(cfg(windows)))]
    pub fn sid(&self) -> &str {
        &self.sid
    }
}

impl fmt::Display for UserId {
    /// The uid (Unix) or the SID (Windows).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        #[cfg(unix)]
        return write!(f, "{}", self.uid);
        #[cfg(windows)]
        return f.write_str(&self.sid);
    }
}

impl fmt::Display for GroupId {
    /// The gid (Unix) or the SID (Windows).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        #[cfg(unix)]
        return write!(f, "{}", self.gid);
        #[cfg(windows)]
        return f.write_str(&self.sid);
    }
}

/// Who may connect to a listener ([`ListenerOptions::access`]), or who a client accepts as
/// its server ([`ConnectOptions::expect_server`]).
///
/// | policy | Unix socket file mode (unless `mode` is set) | Unix, at accept / after connect | Windows DACL |
/// |---|---|---|---|
/// | [`current_user`](Self::current_user) | `0600` | peer uid = `geteuid()` | owner + LocalSystem |
/// | [`users`](Self::users) | `0600` if only this user, else `0666` | peer uid in the list | owner + LocalSystem + each user (read/write) |
/// | [`group`](Self::group) | `0660`, file group set to it (`fchownat`) | peer gid or (Linux) a supplementary group is it | owner + LocalSystem + the group (read/write) |
/// | [`everyone`](Self::everyone) | `0666` | anyone | owner + LocalSystem + Everyone (read/write) |
/// | `from_sddl` (Windows) | — | — | the descriptor given, as is |
///
/// On Windows every built DACL denies network logons first (`NU`), on top of
/// `PIPE_REJECT_REMOTE_CLIENTS`; clients other than the owner and LocalSystem get read/write
/// access but not `FILE_CREATE_PIPE_INSTANCE`, so they cannot serve the name themselves.
/// Windows enforces the DACL when a client opens the pipe; Unix checks the peer's
/// credentials ([`PeerCreds`]) of every accepted connection too, because the abstract
/// namespace has no permissions at all and a socket file's mode cannot express a list.
/// Root is not let in by `current_user` on Unix unless it is the current user (name it in
/// [`users`](Self::users) to let it in); LocalSystem always is in the DACLs built on Windows,
/// as in Windows' default DACL. [`allows`](Self::allows) (and so `expect_server`) judges by
/// the peer's user alone, on every platform: a LocalSystem server does not pass
/// `expect_server(current_user())`.
///
/// [`ListenerOptions::access`]: crate::local_socket::ListenerOptions::access
/// [`ConnectOptions::expect_server`]: crate::local_socket::ConnectOptions::expect_server
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessPolicy {
    pub(crate) kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    CurrentUser,
    Users(Vec<UserId>),
    Group(GroupId),
    Everyone,
    #[cfg(windows)]
    Sddl(String),
}

impl AccessPolicy {
    /// Only the user this process runs as (at the time of the check).
    pub fn current_user() -> Self {
        Self {
            kind: Kind::CurrentUser,
        }
    }

    /// Exactly these users (the current user only if listed).
    pub fn users(users: impl IntoIterator<Item = UserId>) -> Self {
        Self {
            kind: Kind::Users(users.into_iter().collect()),
        }
    }

    /// Members of `group` (and, on Windows, the owner and LocalSystem).
    pub fn group(group: GroupId) -> Self {
        Self {
            kind: Kind::Group(group),
        }
    }

    /// Any local user.
    pub fn everyone() -> Self {
        Self {
            kind: Kind::Everyone,
        }
    }

    /// A raw security descriptor in SDDL, used as is (Windows): the escape hatch for what the
    /// portable policies cannot say. Checked at `bind` (`InvalidInput` if Windows rejects it);
    /// `expect_server` cannot evaluate it and refuses it with `InvalidInput`.
    #[cfg(windows)]
    #[cfg_attr(docsrs, doc(cfg(windows)))]
    pub fn from_sddl(sddl: &str) -> Self {
        Self {
            kind: Kind::Sddl(sddl.to_owned()),
        }
    }

    /// Whether a peer with these credentials is allowed. Unknown credentials are never
    /// allowed (except by [`everyone`](Self::everyone)). On Windows, `group` is judged on
    /// the user alone (a peer's groups are not collected, so only the DACL can admit them)
    /// and a raw descriptor allows nobody here.
    pub fn allows(&self, peer: &PeerCreds) -> bool {
        match &self.kind {
            Kind::Everyone => true,
            Kind::CurrentUser => UserId::current().is_ok_and(|me| peer.user() == Some(me)),
            Kind::Users(list) => peer.user().is_some_and(|u| list.contains(&u)),
            Kind::Group(g) => peer.in_group(g),
            #[cfg(windows)]
            Kind::Sddl(_) => false,
        }
    }
}

impl fmt::Display for AccessPolicy {
    /// A short description for messages: `current user`, `users [1000, 1001]`, `group 100`,
    /// `everyone`, `security descriptor "…"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::CurrentUser => f.write_str("current user"),
            Kind::Users(list) => {
                f.write_str("users [")?;
                for (i, u) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{u}")?;
                }
                f.write_str("]")
            }
            Kind::Group(g) => write!(f, "group {g}"),
            Kind::Everyone => f.write_str("everyone"),
            #[cfg(windows)]
            Kind::Sddl(s) => write!(f, "security descriptor {s:?}"),
        }
    }
}
