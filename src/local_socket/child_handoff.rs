//! [`ChildHandoff`]: giving a listener or stream to a child process, and the child's side
//! (`from_parent`); [`HandoffChild`], the child it starts.

#[cfg(unix)]
use super::message::MessageListener;
#[cfg(unix)]
use super::LocalSocketListener;
use super::LocalSocketStream;
use crate::sys;
use std::io;
#[cfg(unix)]
use std::os::fd::{AsFd, OwnedFd, RawFd};
#[cfg(windows)]
use std::os::windows::io::{AsHandle, OwnedHandle};
use std::process::{Command, ExitStatus};

/// Listeners and streams to hand to a child process started from a [`std::process::Command`],
/// with **only** those inherited (besides standard input, output and error). Each item is
/// named by an environment variable of the child, which takes it back with
/// [`LocalSocketStream::from_parent`] (or, Unix, `LocalSocketListener::from_parent`,
/// `MessageListener::from_parent`), checked to be that very object and of the right kind.
/// Start the child with [`spawn`](Self::spawn), which works on both platforms.
///
/// # Unix
///
/// Each item goes to a descriptor number of its own; in the child, every other descriptor
/// from 3 up is made close-on-exec before the `exec`, whatever the parent (or a C library in
/// it) left inheritable. The parent's descriptors keep their flags: nothing leaks into other
/// children spawned at the same time. The variable holds the number and the identity of the
/// file (`"<fd>:<dev>:<ino>"`).
///
/// Numbers are given in order from 3 (`next_fd` chooses another). The descriptors are
/// duplicated when added (`fcntl(F_DUPFD_CLOEXEC)`), so the originals may be dropped before
/// the spawn; the duplicates live in the `Command` (close-on-exec in the parent) until it is
/// dropped. `apply` prepares a `Command` to be started by any of its own methods; it adds a
/// `pre_exec` step, so std spawns with `fork`/`exec` rather than `posix_spawn`.
///
/// # Windows
///
/// Streams only ([`stream`](Self::stream)): a connected pipe end is one handle, which the
/// child owns as the parent did. A listener is not (a name, a pending instance and the
/// options to make the next ones with), and a child that made instances of the parent's
/// name would serve the same clients as the parent, whose listener goes on too; so
/// `listener`, `message_listener` (and `next_fd`, `apply`) are Unix-only.
///
/// std's `Command` starts every child with `bInheritHandles = TRUE` and no handle list, so
/// the child inherits *every* inheritable handle of the process, and it cannot be told
/// otherwise (`spawn_with_attributes` is unstable). [`spawn`](Self::spawn) therefore starts
/// the child itself: `CreateProcessW` with a `PROC_THREAD_ATTRIBUTE_HANDLE_LIST` that lists
/// exactly the handed-over handles and the standard handles, taking the program, arguments,
/// environment changes and current directory from the `Command` (what std lets one read
/// back: not `env_clear`, stdio redirections or creation flags, which are ignored). The
/// child's standard handles are this process's. Each item's handle is duplicated
/// (`DuplicateHandle`, not inheritable) when added; an inheritable duplicate exists only
/// while `spawn` runs, so a std `Command` spawned on another thread at that very moment (std
/// holds a lock of its own there, which this cannot take) could inherit it too.
///
/// The variable holds `"<handle>:<end>:<server pid>:<client pid>"`: the handle's value
/// (the same in the child), which end of the pipe it is and the ids of the processes that
/// opened the two ends.
///
/// # Example
///
/// ```
/// # #[cfg(unix)] {
/// use localipc::local_socket::{ChildHandoff, LocalSocketListener};
/// use std::process::Command;
///
/// # let name = format!("/tmp/localipc-doc-handoff-{}.sock", std::process::id());
/// let listener = LocalSocketListener::bind(name.as_str())?;
/// let mut handoff = ChildHandoff::new();
/// handoff.listener(&listener, "MY_LISTENER")?;
/// let mut cmd = Command::new("sh");
/// cmd.args(["-c", "echo \"$MY_LISTENER\"; ls /proc/self/fd 2>/dev/null | tr '\\n' ' '"]);
/// handoff.apply(&mut cmd)?;
/// let out = cmd.output()?;
/// assert!(String::from_utf8_lossy(&out.stdout).starts_with("3:")); // at descriptor 3
/// # }
/// # std::io::Result::Ok(())
/// ```
///
/// Both platforms: an accepted connection to a worker (`examples/handoff_child.rs`).
///
/// ```no_run
/// use localipc::local_socket::{ChildHandoff, LocalSocketListener, LocalSocketStream};
/// use std::process::Command;
///
/// // In the parent:
/// let listener = LocalSocketListener::bind("@my-service")?;
/// let conn = listener.accept()?;
/// let mut handoff = ChildHandoff::new();
/// handoff.stream(&conn, "MY_CONN")?;
/// drop(conn);
/// let mut worker = handoff.spawn(Command::new("my-worker").arg("--serve"))?;
/// worker.wait()?;
///
/// // In the worker:
/// let conn = LocalSocketStream::from_parent("MY_CONN")?;
/// conn.set_nonblocking(false)?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct ChildHandoff {
    #[cfg(unix)]
    items: Vec<(OwnedFd, RawFd, String)>,
    #[cfg(unix)]
    next: RawFd,
    /// `(our duplicate, not inheritable; the variable)`.
    #[cfg(windows)]
    items: Vec<(OwnedHandle, String)>,
}

#[cfg_attr(windows, allow(clippy::derivable_impls))] // not on Unix (`next`)
impl Default for ChildHandoff {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            #[cfg(unix)]
            next: 3,
        }
    }
}

impl ChildHandoff {
    /// Nothing to hand over yet; on Unix the first item goes to descriptor 3.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hands a connected `stream` over, named by the environment variable `env` (the child:
    /// [`LocalSocketStream::from_parent`]). Both processes then hold the connection: drop it
    /// here for the peer to see the end when the child closes it.
    ///
    /// Unix: as the next descriptor, as `listener`. Windows:
    /// `DuplicateHandle`, after checking that it is a connected local socket pipe end
    /// (`GetNamedPipeInfo`, `GetNamedPipe{Server,Client}ProcessId`; `InvalidInput` if not).
    pub fn stream(&mut self, stream: &LocalSocketStream, env: &str) -> io::Result<&mut Self> {
        #[cfg(unix)]
        return self.add(stream, env);
        #[cfg(windows)]
        {
            sys::inherit::check_stream(stream.as_handle())?;
            let dup = stream.as_handle().try_clone_to_owned()?;
            self.items.push((dup, env.to_owned()));
            Ok(self)
        }
    }

    /// Starts `cmd` with the items handed over and returns the child.
    ///
    /// Unix: `apply`, then [`Command::spawn`]. Windows: `CreateProcessW` with
    /// a `PROC_THREAD_ATTRIBUTE_HANDLE_LIST` of the items (inheritable duplicates,
    /// `DuplicateHandle`, closed again once the child is started) and this process's
    /// standard handles, as said [above](Self#windows): the program (a bare name is looked
    /// up in `PATH`, the child's if `cmd` sets it; batch files are refused with
    /// `InvalidInput`), the arguments (quoted by the rules of the Microsoft C runtime, which
    /// std follows too), the environment (this process's with `cmd`'s changes and the
    /// items' variables) and the current directory come from `cmd`.
    pub fn spawn(self, cmd: &mut Command) -> io::Result<HandoffChild> {
        #[cfg(unix)]
        {
            self.apply(cmd)?;
            Ok(HandoffChild {
                inner: cmd.spawn()?,
            })
        }
        #[cfg(windows)]
        {
            let mut extra = Vec::with_capacity(self.items.len());
            let mut dups = Vec::with_capacity(self.items.len());
            for (h, env) in &self.items {
                let dup = sys::spawn::inheritable_duplicate(h.as_handle())?;
                extra.push((env.into(), sys::inherit::env_value(dup.as_handle())?.into()));
                dups.push(dup);
            }
            let borrowed: Vec<_> = dups.iter().map(AsHandle::as_handle).collect();
            let inner = sys::spawn::spawn(cmd, &extra, &borrowed)?;
            Ok(HandoffChild { inner })
        }
    }
}

/// A child process started by [`ChildHandoff::spawn`]: [`std::process::Child`] on Unix
/// (see `into_inner`), the process handle on Windows. Dropping it
/// neither waits for the child nor kills it.
#[derive(Debug)]
pub struct HandoffChild {
    #[cfg(unix)]
    inner: std::process::Child,
    #[cfg(windows)]
    inner: sys::spawn::Process,
}

impl HandoffChild {
    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.inner.id()
    }

    /// Waits for the child to exit. Unix: `waitpid` ([`std::process::Child::wait`]).
    /// Windows: `WaitForSingleObject`, `GetExitCodeProcess`.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        self.inner.wait()
    }

    /// The exit status if the child has exited, without waiting. Unix: `waitpid(WNOHANG)`.
    /// Windows: `WaitForSingleObject(0)`, `GetExitCodeProcess`.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.inner.try_wait()
    }

    /// Kills the child (`Ok` if it has already exited). Unix: `SIGKILL`. Windows:
    /// `TerminateProcess` (exit code 1).
    pub fn kill(&mut self) -> io::Result<()> {
        self.inner.kill()
    }

    /// The [`std::process::Child`] (Unix only).
    #[cfg(unix)]
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    pub fn into_inner(self) -> std::process::Child {
        self.inner
    }
}

#[cfg(windows)]
impl AsHandle for HandoffChild {
    /// The process handle.
    fn as_handle(&self) -> std::os::windows::io::BorrowedHandle<'_> {
        self.inner.as_handle()
    }
}

#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
impl ChildHandoff {
    /// The number the next item gets in the child (3 or more; later ones count up from it).
    /// `InvalidInput` below 3 or for a number already given.
    pub fn next_fd(&mut self, fd: RawFd) -> io::Result<&mut Self> {
        if fd < 3 || self.items.iter().any(|(_, t, _)| *t == fd) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("descriptor number {fd} for the child: must be 3 or more, and unused"),
            ));
        }
        self.next = fd;
        Ok(self)
    }

    /// Hands `listener` over as the next descriptor, named by the environment variable
    /// `env` (the child: [`LocalSocketListener::from_parent`]). `fcntl(F_DUPFD_CLOEXEC)`.
    /// The listener keeps working here; a socket file stays the parent
    /// listener's (removed when it is dropped, with reclaim on).
    pub fn listener(&mut self, listener: &LocalSocketListener, env: &str) -> io::Result<&mut Self> {
        self.add(listener, env)
    }

    /// Hands a message listener over, named by `env` (the child:
    /// [`MessageListener::from_parent`](super::message::MessageListener::from_parent)).
    pub fn message_listener(
        &mut self,
        listener: &MessageListener,
        env: &str,
    ) -> io::Result<&mut Self> {
        self.add(listener, env)
    }

    fn add(&mut self, fd: &impl AsFd, env: &str) -> io::Result<&mut Self> {
        let target = self.next;
        let dup = fd.as_fd().try_clone_to_owned()?;
        self.items.push((dup, target, env.to_owned()));
        self.next = (target + 1..)
            .find(|n| !self.items.iter().any(|(_, t, _)| t == n))
            .unwrap_or(RawFd::MAX);
        Ok(self)
    }

    /// Sets the environment variables on `cmd` and adds the `pre_exec` step that, in the
    /// child, makes every descriptor from 3 up close-on-exec (`close_range(CLOSE_RANGE_CLOEXEC)`
    /// on Linux, else `fcntl(F_SETFD, FD_CLOEXEC)` on each number below the `RLIMIT_NOFILE`
    /// soft limit), then puts each item at its number with `dup2` (which leaves it
    /// inheritable). Call it once per `Command`, after which the `Command` holds the
    /// duplicates. `fstat` for the variables' file identities, and `fcntl(F_DUPFD_CLOEXEC)`
    /// moves the duplicates above the chosen numbers first.
    pub fn apply(self, cmd: &mut Command) -> io::Result<()> {
        let mut pairs = Vec::with_capacity(self.items.len());
        for (fd, target, env) in &self.items {
            cmd.env(env, sys::inherit::env_value(fd.as_fd(), *target)?);
            pairs.push((fd.as_fd(), *target));
        }
        sys::inherit::ChildFds::new(&pairs)?.install(cmd);
        Ok(())
    }
}

/// The child's side: the descriptor named by `env`, removed from the environment, checked
/// to be the file the parent passed (`fstat`), close-on-exec set (`fcntl(F_SETFD)`).
#[cfg(unix)]
fn from_parent_fd(env: &str) -> io::Result<OwnedFd> {
    sys::inherit::take_inherited(env)
}

#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
impl LocalSocketListener {
    /// In a child process: the listener its parent handed over with [`ChildHandoff`],
    /// named by the environment variable `env`, which is removed (call it before other
    /// threads read the environment). `NotFound` if the variable is not set;
    /// `InvalidData` if the descriptor it names is not open or is another file (a
    /// variable left over from further up); `InvalidInput` if it is not a listening
    /// `AF_UNIX` stream socket (checked as by [`try_from_fd`](Self::try_from_fd)).
    /// `fstat`, `fcntl(F_SETFD, FD_CLOEXEC)`, then the checks' `getsockname`/`getsockopt`.
    pub fn from_parent(env: &str) -> io::Result<Self> {
        Self::try_from_fd(from_parent_fd(env)?)
    }
}

impl LocalSocketStream {
    /// In a child process: the connected stream its parent handed over with
    /// [`ChildHandoff`], named by `env`, which is removed (call it before other threads read
    /// the environment). `NotFound` if the variable is not set.
    ///
    /// Unix: errors as for `LocalSocketListener::from_parent`, with `InvalidInput` unless
    /// it is a connected `AF_UNIX` stream socket (`getsockopt(SO_TYPE, SO_ACCEPTCONN)`).
    ///
    /// Windows: `InvalidData` unless the handle the variable names is open here and is the
    /// end of the very connection passed, a message-type pipe (`GetFileType`,
    /// `GetNamedPipeInfo`, `GetNamedPipeServerProcessId`, `GetNamedPipeClientProcessId`);
    /// then it is made non-inheritable (`SetHandleInformation`), so that it does not go on
    /// to this process's children.
    pub fn from_parent(env: &str) -> io::Result<Self> {
        #[cfg(unix)]
        {
            let fd = from_parent_fd(env)?;
            sys::activation::check_connected_stream(fd.as_fd(), "a local socket stream")?;
            Ok(Self::from(fd))
        }
        #[cfg(windows)]
        {
            let (h, end) = sys::inherit::take_inherited_stream(env)?;
            Ok(Self {
                inner: sys::Stream::from_handle(h, Some(end)),
            })
        }
    }
}

#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
impl MessageListener {
    /// In a child process: the message listener its parent handed over with
    /// [`ChildHandoff`], named by `env` (removed). Errors as for
    /// [`LocalSocketListener::from_parent`], checked as `TryFrom<OwnedFd>`.
    pub fn from_parent(env: &str) -> io::Result<Self> {
        Self::try_from(from_parent_fd(env)?)
    }
}
