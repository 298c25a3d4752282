//! Access policies at work: [`ListenerOptions::access`] and [`ListenerOptions::on_refused`]
//! on listeners, [`ConnectOptions::expect_server`] on clients.

use super::{ConnectOptions, ListenerOptions, LocalSocketName, PeerCreds};
use crate::identity::{AccessPolicy, Kind};
use std::fmt;
use std::io;
use std::sync::Arc;

/// A callback told about each refused peer.
type Hook = Arc<dyn Fn(&PeerCreds) + Send + Sync>;

/// The access part of [`ListenerOptions`]: the policy and the refusal callback.
#[derive(Clone)]
pub(crate) struct Access {
    pub(crate) policy: Option<AccessPolicy>,
    hook: Option<Hook>,
}

impl Access {
    /// No policy, no callback: the default.
    pub(crate) const NONE: Self = Self {
        policy: None,
        hook: None,
    };

    /// Judges an accepted peer by its credentials (`Err`: they could not be read, and the
    /// peer is refused): `true` to hand it out; `false` after telling the callback (with
    /// empty credentials if they could not be read). Admits everyone without a policy.
    #[cfg_attr(windows, allow(dead_code))]
    pub(crate) fn admit(&self, creds: impl FnOnce() -> io::Result<PeerCreds>) -> bool {
        let Some(policy) = &self.policy else {
            return true;
        };
        let creds = creds().unwrap_or_default();
        if policy.allows(&creds) {
            return true;
        }
        if let Some(hook) = &self.hook {
            hook(&creds);
        }
        false
    }

    /// The socket file mode the policy implies (Unix), used unless `mode` is set.
    #[cfg(unix)]
    pub(crate) fn file_mode(&self) -> Option<u32> {
        let me = crate::identity::UserId::current().ok();
        Some(match &self.policy.as_ref()?.kind {
            Kind::CurrentUser => 0o600,
            Kind::Users(list) if list.iter().all(|u| Some(u) == me.as_ref()) => 0o600,
            Kind::Users(_) | Kind::Everyone => 0o666,
            Kind::Group(_) => 0o660,
        })
    }

    /// The group the socket file is given (Unix, `group` policies).
    #[cfg(unix)]
    pub(crate) fn file_group(&self) -> Option<u32> {
        match &self.policy.as_ref()?.kind {
            Kind::Group(g) => Some(g.gid()),
            _ => None,
        }
    }

    /// The SDDL of the security descriptor the policy builds (Windows); see the table on
    /// [`AccessPolicy`].
    #[cfg(windows)]
    pub(crate) fn sddl(&self) -> io::Result<Option<String>> {
        /// `FILE_GENERIC_READ | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES`: a client's
        /// read/write (and `SetNamedPipeHandleState`), without `FILE_APPEND_DATA`, which on
        /// a pipe is `FILE_CREATE_PIPE_INSTANCE`.
        const CLIENT: &str = "0x12018b";
        let Some(policy) = &self.policy else {
            return Ok(None);
        };
        if let Kind::Sddl(s) = &policy.kind {
            return Ok(Some(s.clone()));
        }
        let me = crate::identity::UserId::current()?;
        let me = me.sid();
        let mut sddl = format!("O:{me}D:P(D;;GA;;;NU)(A;;GA;;;{me})(A;;GA;;;SY)");
        let mut grant = |sid: &str| sddl.push_str(&format!("(A;;{CLIENT};;;{sid})"));
        match &policy.kind {
            Kind::CurrentUser | Kind::Sddl(_) => {}
            Kind::Users(list) => list.iter().for_each(|u| grant(u.sid())),
            Kind::Group(g) => grant(g.sid()),
            Kind::Everyone => grant("WD"),
        }
        Ok(Some(sddl))
    }
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Access")
            .field("policy", &self.policy)
            .field("on_refused", &self.hook.as_ref().map(|_| "Fn(&PeerCreds)"))
            .finish()
    }
}

impl ListenerOptions {
    /// Who may connect (default: no policy; see [`ListenerOptions::new`]). See
    /// [`AccessPolicy`] for what each policy does on each platform.
    ///
    /// **Unix**: sets the socket file's mode (for path names; `mode`, if also set, wins for
    /// the permission bits, the policy's check still applies) **and** checks every accepted
    /// connection's peer credentials (`getsockopt(SO_PEERCRED)` etc., see [`PeerCreds`]),
    /// on path and namespaced names alike: a peer the policy does not allow, or whose
    /// credentials cannot be read, is closed, told to [`on_refused`](Self::on_refused), and
    /// never returned by `accept`/`incoming`, which go on to the next connection (in
    /// nonblocking mode they return `WouldBlock` if there is none). The refused client sees
    /// its connection closed (end of file, or `ECONNRESET` if it had sent data).
    ///
    /// **Windows**: the DACL given to every pipe instance (`CreateNamedPipeW`), so Windows
    /// itself refuses other users at `CreateFileW` (`PermissionDenied` there); with
    /// `security_descriptor` too, `bind` fails with
    /// `InvalidInput`. Wine does not enforce DACLs.
    ///
    /// ```
    /// use localipc::identity::AccessPolicy;
    /// use localipc::local_socket::{ListenerOptions, LocalSocketListener};
    ///
    /// # let name = if localipc::local_socket::NameTypeSupport::query().namespace_supported() {
    /// #     format!("@localipc-doc-access-{}", std::process::id())
    /// # } else { format!("/tmp/localipc-doc-access-{}.sock", std::process::id()) };
    /// let listener = LocalSocketListener::bind_with(
    ///     name.as_str(),
    ///     ListenerOptions::new()
    ///         .access(AccessPolicy::current_user())
    ///         .on_refused(|who| eprintln!("refused a connection from {who}")),
    /// )?;
    /// # drop(listener);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn access(&mut self, policy: AccessPolicy) -> &mut Self {
        self.access.policy = Some(policy);
        self
    }

    /// Called with the peer's credentials each time [`access`](Self::access) refuses a
    /// connection (Unix), on the thread or task that was accepting, before it goes on
    /// waiting. Credentials that could not be read are passed as all `None`. Never called
    /// on Windows, where the OS refuses.
    pub fn on_refused(&mut self, f: impl Fn(&PeerCreds) + Send + Sync + 'static) -> &mut Self {
        self.access.hook = Some(Arc::new(f));
        self
    }
}

impl ConnectOptions {
    /// Whom the server must be: after connecting and before `connect_with` returns, the
    /// server's credentials ([`PeerCreds`]; the `peer_creds` OS calls) are checked against
    /// `policy`; a server it does not allow (a squatter on the name) is disconnected and
    /// `connect_with` fails with `PermissionDenied` naming the name, the user and pid it
    /// found and the policy. Credentials that cannot be read fail the same way. A raw
    /// security descriptor (Windows) cannot be evaluated here: `InvalidInput`.
    ///
    /// On Windows the server's user comes from its process token, which a client may not be
    /// allowed to read (a service of another user): such a server is refused.
    pub fn expect_server(&mut self, policy: AccessPolicy) -> &mut Self {
        self.expect_server = Some(policy);
        self
    }
}

/// Before connecting: `InvalidInput` for an [`ConnectOptions::expect_server`] that cannot be
/// evaluated (a raw security descriptor, Windows), so no server is bothered for nothing.
pub(crate) fn check_expectation(
    opts: &ConnectOptions,
    name: &LocalSocketName<'_>,
) -> io::Result<()> {
    #[cfg(windows)]
    if let Some(AccessPolicy {
        kind: Kind::Sddl(_),
    }) = &opts.expect_server
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "local socket \"{name}\": expect_server cannot evaluate a raw security descriptor"
            ),
        ));
    }
    let _ = (opts, name);
    Ok(())
}

/// The check of [`ConnectOptions::expect_server`], once connected: `creds` reads the
/// server's credentials.
pub(crate) fn check_server(
    opts: &ConnectOptions,
    name: &LocalSocketName<'_>,
    creds: impl FnOnce() -> io::Result<PeerCreds>,
) -> io::Result<()> {
    let Some(policy) = &opts.expect_server else {
        return Ok(());
    };
    let denied = |what: String| {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("local socket \"{name}\": {what}, not allowed by expect_server({policy})"),
        )
    };
    let creds = creds().map_err(|e| denied(format!("cannot tell who the server is ({e})")))?;
    if policy.allows(&creds) {
        return Ok(());
    }
    let who = creds
        .user()
        .map_or_else(|| "an unknown user".to_owned(), |u| format!("user {u}"));
    let pid = creds
        .pid()
        .map_or_else(|| "pid unknown".to_owned(), |p| format!("pid {p}"));
    Err(denied(format!("the server is {who} ({pid})")))
}
