//! [`PeerCreds`]: who is on the other end of a connection.

use crate::identity::{GroupId, UserId};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::io;
#[cfg(unix)]
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
#[cfg(unix)]
use std::sync::Arc;

/// Who is on the other end of a connection, as far as the OS says: what
/// [`LocalSocketStream::peer_creds`](super::LocalSocketStream::peer_creds) and the other
/// streams' `peer_creds` return.
///
/// Every field is what the OS recorded for the connection (on Unix, at `connect`/`listen`
/// time); a field the platform does not report, or did not know, is `None`, never a made-up
/// value.
///
/// | field | Linux, Android | macOS | FreeBSD, other BSDs | Windows |
/// |---|---|---|---|---|
/// | [`pid`](Self::pid) | `SO_PEERCRED` | `LOCAL_PEERPID` | FreeBSD: `LOCAL_PEERCRED` (`cr_pid`, FreeBSD 13+; else `None`); others `None` | `GetNamedPipeClientProcessId` / `GetNamedPipeServerProcessId` |
/// | [`uid`](Self::uid), [`gid`](Self::gid) | `SO_PEERCRED` | `getpeereid` | `getpeereid` | `None` |
/// | [`groups`](Self::groups) | `SO_PEERGROUPS` (Linux 4.13+) | `None` | `None` | `None` |
/// | [`user`](Self::user) | the uid | the uid | the uid | the SID of the peer's token (see below) |
/// | `pidfd` (Linux) | `SO_PEERPIDFD` (Linux 6.5+; else `None`) | — | — | — |
/// | [`security_label`](Self::security_label) | `SO_PEERSEC` (`None` without an LSM label) | `None` | `None` | `None` |
/// | `session_id` (Windows) | — | — | — | `GetNamedPipeClientSessionId` / `GetNamedPipeServerSessionId` |
/// | `integrity_level` (Windows) | — | — | — | `TokenIntegrityLevel` of the peer's token |
///
/// On Windows the peer's token is the client's own on the server side
/// (`ImpersonateNamedPipeClient`, `OpenThreadToken`, `RevertToSelf`), and the server
/// process's on the client side (`OpenProcess` of the server pid, `OpenProcessToken`); a
/// server process this user may not query (e.g. a service of another user) gives `None`.
///
/// Not `Copy` (since issue 14): it may hold a pidfd and strings. Equality and hashing
/// compare every field but the pidfd.
#[derive(Clone, Default)]
pub struct PeerCreds {
    pub(crate) pid: Option<u32>,
    pub(crate) uid: Option<u32>,
    pub(crate) gid: Option<u32>,
    pub(crate) groups: Option<Vec<u32>>,
    pub(crate) label: Option<String>,
    #[cfg(unix)]
    pub(crate) pidfd: Option<Arc<OwnedFd>>,
    #[cfg(windows)]
    pub(crate) sid: Option<String>,
    #[cfg(windows)]
    pub(crate) session_id: Option<u32>,
    #[cfg(windows)]
    pub(crate) integrity_level: Option<u32>,
}

impl PeerCreds {
    #[cfg_attr(windows, allow(dead_code))]
    pub(crate) fn new(pid: Option<u32>, uid: Option<u32>, gid: Option<u32>) -> Self {
        Self {
            pid,
            uid,
            gid,
            ..Self::default()
        }
    }

    /// The pid, or `Unsupported` where the OS does not say it: what every `peer_pid` returns.
    pub(crate) fn pid_or_unsupported(&self) -> io::Result<u32> {
        self.pid.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "the peer's process id is not available on {}",
                    std::env::consts::OS
                ),
            )
        })
    }

    /// The peer's process id.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// The peer's effective user id (Unix).
    pub fn uid(&self) -> Option<u32> {
        self.uid
    }

    /// The peer's effective group id (Unix).
    pub fn gid(&self) -> Option<u32> {
        self.gid
    }

    /// The peer's supplementary groups (Linux `SO_PEERGROUPS`), `None` where not reported.
    pub fn groups(&self) -> Option<&[u32]> {
        self.groups.as_deref()
    }

    /// The peer's user, portably: the uid on Unix, the SID of the peer's token on Windows.
    pub fn user(&self) -> Option<UserId> {
        #[cfg(unix)]
        return self.uid.map(UserId::from_uid);
        #[cfg(windows)]
        return self.sid.clone().map(UserId::from_sid_string_unchecked);
    }

    /// Whether the peer is a member of `group`: its effective gid or (Linux) one of its
    /// supplementary groups. Always `false` on Windows, where the peer's groups are not
    /// collected.
    pub fn in_group(&self, group: &GroupId) -> bool {
        #[cfg(unix)]
        {
            let gid = group.gid();
            self.gid == Some(gid) || self.groups().is_some_and(|g| g.contains(&gid))
        }
        #[cfg(windows)]
        {
            let _ = group;
            false
        }
    }

    /// The peer's security label (Linux `SO_PEERSEC`: SELinux context, AppArmor profile, ...),
    /// `None` when no LSM gave it one or elsewhere.
    pub fn security_label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// A pidfd of the peer process as it was at `connect`/`listen` (Linux 6.5+,
    /// `getsockopt(SO_PEERPIDFD)`): unlike the pid, it can never come to name another
    /// process once the peer has exited and its pid was reused (`pidfd_send_signal` then
    /// fails with `ESRCH`). `None` on older kernels and other systems. Duplicate it with
    /// `try_clone_to_owned` to keep it beyond this value.
    #[cfg(unix)]
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    pub fn pidfd(&self) -> Option<BorrowedFd<'_>> {
        self.pidfd.as_deref().map(AsFd::as_fd)
    }

    /// The peer's Windows session id (`GetNamedPipe{Client,Server}SessionId`).
    #[cfg(windows)]
    #[cfg_attr(docsrs, doc(cfg(windows)))]
    pub fn session_id(&self) -> Option<u32> {
        self.session_id
    }

    /// The integrity level of the peer's token, as the RID of its label SID
    /// (`0x1000` low, `0x2000` medium, `0x3000` high, `0x4000` system).
    #[cfg(windows)]
    #[cfg_attr(docsrs, doc(cfg(windows)))]
    pub fn integrity_level(&self) -> Option<u32> {
        self.integrity_level
    }

    /// The fields compared by `==` and hashed (all but the pidfd).
    #[allow(clippy::type_complexity)]
    fn key(&self) -> impl PartialEq + Hash + '_ {
        #[cfg(unix)]
        let os = ();
        #[cfg(windows)]
        let os = (&self.sid, self.session_id, self.integrity_level);
        (self.pid, self.uid, self.gid, &self.groups, &self.label, os)
    }
}

impl PartialEq for PeerCreds {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for PeerCreds {}

impl Hash for PeerCreds {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl fmt::Debug for PeerCreds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PeerCreds");
        d.field("pid", &self.pid)
            .field("uid", &self.uid)
            .field("gid", &self.gid);
        if let Some(g) = &self.groups {
            d.field("groups", g);
        }
        if let Some(l) = &self.label {
            d.field("security_label", l);
        }
        #[cfg(unix)]
        if let Some(fd) = &self.pidfd {
            d.field("pidfd", fd);
        }
        #[cfg(windows)]
        d.field("sid", &self.sid)
            .field("session_id", &self.session_id)
            .field("integrity_level", &self.integrity_level);
        d.finish()
    }
}

impl fmt::Display for PeerCreds {
    /// One line for logs: `pid 123, uid 1000, gid 1000` (Unix) or
    /// `pid 123, user S-1-5-…, session 1, integrity 0x2000` (Windows); unknown fields as `?`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn opt(v: Option<impl fmt::Display>) -> String {
            v.map_or_else(|| "?".to_owned(), |v| v.to_string())
        }
        write!(f, "pid {}", opt(self.pid))?;
        #[cfg(unix)]
        write!(f, ", uid {}, gid {}", opt(self.uid), opt(self.gid))?;
        #[cfg(windows)]
        write!(
            f,
            ", user {}, session {}, integrity {}",
            opt(self.sid.as_deref()),
            opt(self.session_id),
            opt(self.integrity_level.map(|l| format!("{l:#x}")))
        )?;
        if let Some(l) = &self.label {
            write!(f, ", label {l}")?;
        }
        Ok(())
    }
}
