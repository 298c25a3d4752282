//! Local socket listeners on Windows: a named pipe served by an [`Acceptor`].

use super::acceptor::Acceptor;
use super::ends::{End, ReadMode};
use super::instance::{Direction, PipeSpec, PipeType};
use super::name::pipe_path;
use super::security::SecurityDescriptor;
use super::Stream;
use crate::local_socket::{ListenerOptions, LocalSocketName};
use crate::sys::err_with_name;
use std::io;
use std::sync::Arc;

/// A listening pipe name.
#[derive(Debug)]
pub(crate) struct Listener {
    acceptor: Acceptor,
    name: LocalSocketName<'static>,
}

/// The pipes behind local sockets of every kind (sync and tokio streams, message sockets):
/// duplex, of message type (so that a zero-length message can carry end of file for
/// `shutdown(Write)`), the server's handles reading in `read_mode` (messages for the
/// message sockets; bytes for the streams, as the client is from `CreateFileW`, so no extra
/// call per connection), remote clients rejected, and the security descriptor of
/// `opts` (`ConvertStringSecurityDescriptorToSecurityDescriptorW`), if any: the one its
/// access policy builds (the current user's SID from `OpenProcessToken`), or the SDDL given.
pub(super) fn local_socket_spec(
    name: &LocalSocketName<'_>,
    opts: &ListenerOptions,
    read_mode: ReadMode,
) -> io::Result<PipeSpec> {
    let mut spec = PipeSpec::new(Direction::Duplex, PipeType::Message, read_mode);
    let policy = opts
        .access
        .sddl()
        .map_err(|e| err_with_name(e, "binding", name))?;
    if policy.is_some() && opts.security_descriptor.is_some() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "cannot bind local socket \"{name}\": both an access policy and a security \
                 descriptor were given; use AccessPolicy::from_sddl for a raw descriptor"
            ),
        ));
    }
    if let Some(sddl) = policy.as_ref().or(opts.security_descriptor.as_ref()) {
        let sd =
            SecurityDescriptor::from_sddl(sddl).map_err(|e| err_with_name(e, "binding", name))?;
        spec.security = Some(Arc::new(sd));
    }
    Ok(spec)
}

impl Listener {
    /// `ConvertStringSecurityDescriptorToSecurityDescriptorW` if a security descriptor was
    /// given, then `CreateNamedPipeW(FILE_FLAG_FIRST_PIPE_INSTANCE | FILE_FLAG_OVERLAPPED,
    /// PIPE_TYPE_MESSAGE | PIPE_REJECT_REMOTE_CLIENTS)` and `CreateEventW`.
    pub(crate) fn bind(name: &LocalSocketName<'_>, opts: &ListenerOptions) -> io::Result<Self> {
        Ok(Self {
            acceptor: bind_acceptor(name, opts, ReadMode::Bytes)?,
            name: name.clone().into_owned(),
        })
    }

    /// See [`Acceptor::accept`]: `ConnectNamedPipe`, then `CreateNamedPipeW` for the next
    /// instance.
    pub(crate) fn accept(&self) -> io::Result<Stream> {
        let h = self
            .acceptor
            .accept()
            .map_err(|e| accept_error(e, &self.name))?;
        Ok(Stream::from_handle(h, Some(End::Server)))
    }

    /// A handle that stops this listener's accepts. No OS call.
    pub(crate) fn stopper(&self) -> super::Stopper {
        self.acceptor.stopper()
    }

    /// No OS call.
    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.acceptor.set_nonblocking(nonblocking);
        Ok(())
    }

    pub(crate) fn name(&self) -> &LocalSocketName<'static> {
        &self.name
    }

    /// How this listener's instances are made.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn spec(&self) -> &PipeSpec {
        self.acceptor.spec()
    }
}

/// An [`Acceptor`] for `name` with the [`local_socket_spec`] (which carries what `opts` says:
/// the security descriptor): what local socket listeners of either kind are made of.
pub(super) fn bind_acceptor(
    name: &LocalSocketName<'_>,
    opts: &ListenerOptions,
    read_mode: ReadMode,
) -> io::Result<Acceptor> {
    let path = pipe_path(name)?;
    let spec = local_socket_spec(name, opts, read_mode)?;
    Acceptor::bind(path, spec).map_err(|e| bind_error(e, name))
}

/// An [`Acceptor::accept`] failure, naming the local socket; `WouldBlock` (nobody waiting,
/// in nonblocking mode) is passed on as it is.
pub(super) fn accept_error(e: io::Error, name: &LocalSocketName<'_>) -> io::Error {
    if e.kind() == io::ErrorKind::WouldBlock {
        return e;
    }
    if crate::local_socket::AcceptStopper::is_stop_error(&e) {
        return crate::local_socket::stopper::stopped_error(name);
    }
    io::Error::new(e.kind(), format!("local socket \"{name}\": {e}"))
}

/// A bind failure, naming the local socket; a taken name is `AddrInUse`.
pub(super) fn bind_error(e: io::Error, name: &LocalSocketName<'_>) -> io::Error {
    if e.kind() == io::ErrorKind::AddrInUse {
        return io::Error::new(
            io::ErrorKind::AddrInUse,
            format!(
                "cannot bind local socket \"{name}\": the name is in use by another server ({e})"
            ),
        );
    }
    err_with_name(e, "binding", name)
}
