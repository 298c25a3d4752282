//! [`PipeListener`] and [`PipeListenerOptions`].

use super::{pipe_path, PipeDirection, PipeMode, PipeStream};
use crate::sys::acceptor::Acceptor;
use crate::sys::ends::{End, ReadMode};
use crate::sys::instance::{PipeSpec, PipeType, DEFAULT_BUFFER_SIZE};
use crate::sys::name::show_path;
use crate::sys::security::SecurityDescriptor;
use std::ffi::OsStr;
use std::io;
use std::sync::Arc;

/// Options for creating a [`PipeListener`], in the manner of tokio's `ServerOptions`.
///
/// Defaults: byte mode, duplex, blocking `accept`, remote clients rejected, the default
/// security descriptor, 64 KiB of buffer each way.
#[derive(Clone, Debug)]
pub struct PipeListenerOptions {
    mode: PipeMode,
    direction: PipeDirection,
    nonblocking: bool,
    reject_remote: bool,
    buffer_size: u32,
    security_descriptor: Option<String>,
}

impl Default for PipeListenerOptions {
    fn default() -> Self {
        Self {
            mode: PipeMode::Bytes,
            direction: PipeDirection::Duplex,
            nonblocking: false,
            reject_remote: true,
            buffer_size: DEFAULT_BUFFER_SIZE,
            security_descriptor: None,
        }
    }
}

impl PipeListenerOptions {
    /// The default options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Byte or message mode (default: bytes). Clients must use the same.
    pub fn mode(&mut self, mode: PipeMode) -> &mut Self {
        self.mode = mode;
        self
    }

    /// Duplex or one-way (default: duplex). Clients must use the same.
    pub fn direction(&mut self, direction: PipeDirection) -> &mut Self {
        self.direction = direction;
        self
    }

    /// Start the listener in nonblocking mode (default: off).
    pub fn nonblocking(&mut self, nonblocking: bool) -> &mut Self {
        self.nonblocking = nonblocking;
        self
    }

    /// Whether clients on other machines are refused (`PIPE_REJECT_REMOTE_CLIENTS`;
    /// default: yes).
    pub fn reject_remote_clients(&mut self, reject: bool) -> &mut Self {
        self.reject_remote = reject;
        self
    }

    /// Bytes of buffer each way (`nOutBufferSize`, `nInBufferSize`; default 64 KiB). Windows
    /// treats it as a quota: a write that does not fit waits until the reader has made room.
    pub fn buffer_size(&mut self, bytes: u32) -> &mut Self {
        self.buffer_size = bytes;
        self
    }

    /// A security descriptor for the pipe, in SDDL (default: the process's default);
    /// converted by `ConvertStringSecurityDescriptorToSecurityDescriptorW` when the listener
    /// is created. A string Windows rejects gives `InvalidInput` naming it.
    pub fn security_descriptor(&mut self, sddl: &str) -> &mut Self {
        self.security_descriptor = Some(sddl.to_owned());
        self
    }

    /// Creates the first instance of the pipe `name` (`CreateNamedPipeW` with
    /// `FILE_FLAG_FIRST_PIPE_INSTANCE | FILE_FLAG_OVERLAPPED`; `AddrInUse` if the name is
    /// taken) and starts listening: clients can connect from now on.
    ///
    /// ```
    /// use localipc::os::windows::named_pipe::{
    ///     PipeClientOptions, PipeDirection, PipeListenerOptions, PipeMode,
    /// };
    ///
    /// let name = format!("localipc-doc-np-create-{}", std::process::id());
    /// // A one-way pipe of messages, server to clients, with small buffers.
    /// let listener = PipeListenerOptions::new()
    ///     .mode(PipeMode::Messages)
    ///     .direction(PipeDirection::ServerToClient)
    ///     .buffer_size(4096)
    ///     .create(&name)?;
    /// assert_eq!(listener.path(), format!(r"\\.\pipe\{name}"));
    /// let client = PipeClientOptions::new()
    ///     .mode(PipeMode::Messages)
    ///     .direction(PipeDirection::ServerToClient)
    ///     .connect(&name)?;
    /// let server = listener.accept()?;
    /// server.send(b"event")?;
    /// let mut buf = [0; 16];
    /// let got = client.recv(&mut buf)?;
    /// assert_eq!((&buf[..got.len], got.complete), (&b"event"[..], true));
    /// // This end only reads: writing is refused.
    /// assert!(std::io::Write::write(&mut &client, b"x").is_err());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn create(&self, name: impl AsRef<OsStr>) -> io::Result<PipeListener> {
        let path = pipe_path(name.as_ref())?;
        let (pipe_type, read_mode) = match self.mode {
            PipeMode::Bytes => (PipeType::Byte, ReadMode::Bytes),
            PipeMode::Messages => (PipeType::Message, ReadMode::Messages),
        };
        let mut spec = PipeSpec::new(self.direction.sys(), pipe_type, read_mode);
        spec.reject_remote = self.reject_remote;
        spec.buffer_size = self.buffer_size;
        if let Some(sddl) = &self.security_descriptor {
            spec.security = Some(Arc::new(SecurityDescriptor::from_sddl(sddl)?));
        }
        let acceptor = Acceptor::bind(path, spec)?;
        acceptor.set_nonblocking(self.nonblocking);
        Ok(PipeListener {
            acceptor,
            mode: self.mode,
            direction: self.direction,
        })
    }
}

/// The server side of a named pipe: hands out one [`PipeStream`] per client.
///
/// One instance of the pipe is always pending, so clients can connect between `accept`
/// calls (they wait in `connect` only while every instance is taken).
#[derive(Debug)]
pub struct PipeListener {
    acceptor: Acceptor,
    mode: PipeMode,
    direction: PipeDirection,
}

impl PipeListener {
    /// A duplex byte-mode pipe with default options; see [`PipeListenerOptions::create`].
    ///
    /// ```
    /// use localipc::os::windows::named_pipe::{PipeListener, PipeStream};
    /// use std::io::{Read, Write};
    ///
    /// let name = format!("localipc-doc-np-listener-{}", std::process::id());
    /// let listener = PipeListener::create(&name)?;
    /// let mut client = PipeStream::connect(&name)?;
    /// let mut server = listener.accept()?;
    /// client.write_all(b"bytes")?;
    /// let mut buf = [0; 5];
    /// server.read_exact(&mut buf)?;
    /// assert_eq!(&buf, b"bytes");
    /// assert!(server.is_server()? && !client.is_server()?);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn create(name: impl AsRef<OsStr>) -> io::Result<Self> {
        PipeListenerOptions::new().create(name)
    }

    /// Waits for a client and returns its stream; in nonblocking mode, fails with
    /// `WouldBlock` when nobody is waiting.
    ///
    /// `ConnectNamedPipe` (overlapped; a nonblocking call that finds nobody leaves it in
    /// flight for the next one), then `CreateNamedPipeW` for the next instance before the
    /// connected one is handed out. A client that connected and left before `accept` is
    /// skipped (`DisconnectNamedPipe`, listen again).
    pub fn accept(&self) -> io::Result<PipeStream> {
        let h = self.acceptor.accept()?;
        Ok(PipeStream::from_parts(
            h,
            End::Server,
            self.mode,
            self.direction,
        ))
    }

    /// Moves `accept` into or out of nonblocking mode. No OS call.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.acceptor.set_nonblocking(nonblocking);
        Ok(())
    }

    /// The full pipe path, e.g. `\\.\pipe\name`.
    pub fn path(&self) -> String {
        show_path(self.acceptor.path())
    }

    /// The mode of the pipe.
    pub fn mode(&self) -> PipeMode {
        self.mode
    }

    /// The direction of the pipe.
    pub fn direction(&self) -> PipeDirection {
        self.direction
    }

    /// Bytes of buffer each way.
    pub fn buffer_size(&self) -> u32 {
        self.acceptor.spec().buffer_size
    }
}
