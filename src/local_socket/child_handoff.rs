//! [`ChildHandoff`]: giving a listener or stream to a child process, and the child's side
//! (`from_parent`).

use super::message::MessageListener;
use super::{LocalSocketListener, LocalSocketStream};
use crate::sys;
use std::io;
use std::os::fd::{AsFd, OwnedFd, RawFd};
use std::process::Command;

/// Listeners and streams to hand to a child process started with [`std::process::Command`]
/// (Unix), each at a descriptor number of its own, with **only** those descriptors
/// inherited: in the child, every other descriptor from 3 up is made close-on-exec before
/// the `exec`, whatever the parent (or a C library in it) left inheritable. The parent's
/// descriptors keep their flags: nothing leaks into other children spawned at the same
/// time.
///
/// Each item gets an environment variable naming its number and the identity of its file
/// (`"<fd>:<dev>:<ino>"`); the child takes it back with
/// [`LocalSocketListener::from_parent`], [`LocalSocketStream::from_parent`] or
/// [`MessageListener::from_parent`](super::message::MessageListener::from_parent), which
/// check that the descriptor is that very file and of the right kind.
///
/// Numbers are given in order from 3 ([`next_fd`](Self::next_fd) chooses another). The
/// descriptors are duplicated when added (`fcntl(F_DUPFD_CLOEXEC)`), so the originals may
/// be dropped before the spawn; the duplicates live in the `Command` (close-on-exec in the
/// parent) until it is dropped. [`apply`](Self::apply) adds a `pre_exec` step (see there),
/// so std spawns with `fork`/`exec` rather than `posix_spawn`.
///
/// Windows is not supported yet: std's `Command` cannot set the
/// `PROC_THREAD_ATTRIBUTE_HANDLE_LIST` that would keep other inheritable handles out.
///
/// ```
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
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug)]
pub struct ChildHandoff {
    items: Vec<(OwnedFd, RawFd, String)>,
    next: RawFd,
}

impl Default for ChildHandoff {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            next: 3,
        }
    }
}

impl ChildHandoff {
    /// Nothing to hand over yet; the first item goes to descriptor 3.
    pub fn new() -> Self {
        Self::default()
    }

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

    /// Hands a connected `stream` over as the next descriptor, named by `env` (the child:
    /// [`LocalSocketStream::from_parent`]). As [`listener`](Self::listener). Both processes
    /// then hold the connection: drop it here for the peer to see the end when the child
    /// closes it.
    pub fn stream(&mut self, stream: &LocalSocketStream, env: &str) -> io::Result<&mut Self> {
        self.add(stream, env)
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
fn from_parent_fd(env: &str) -> io::Result<OwnedFd> {
    sys::inherit::take_inherited(env)
}

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
    /// [`ChildHandoff`], named by `env` (removed). Errors as for
    /// [`LocalSocketListener::from_parent`], with `InvalidInput` unless it is a connected
    /// `AF_UNIX` stream socket (`getsockopt(SO_TYPE, SO_ACCEPTCONN)`).
    pub fn from_parent(env: &str) -> io::Result<Self> {
        let fd = from_parent_fd(env)?;
        sys::activation::check_connected_stream(fd.as_fd(), "a local socket stream")?;
        Ok(Self::from(fd))
    }
}

impl MessageListener {
    /// In a child process: the message listener its parent handed over with
    /// [`ChildHandoff`], named by `env` (removed). Errors as for
    /// [`LocalSocketListener::from_parent`], checked as `TryFrom<OwnedFd>`.
    pub fn from_parent(env: &str) -> io::Result<Self> {
        Self::try_from(from_parent_fd(env)?)
    }
}
