//! Local sockets: a server binds a name, many clients connect, each gets a private byte
//! stream.
//!
//! Local sockets are Unix domain sockets on Unix and named pipes on Windows, behind one API.
//! The names follow the `interprocess` 1.x docs, so code written against them ports by
//! renaming the crate.
//!
//! | platform | namespaced names (`@name`) | paths | how it is checked |
//! |---|---|---|---|
//! | Linux, Android | abstract namespace | socket files | tested |
//! | Windows | `\\.\pipe\name` | — | tested under Wine |
//! | macOS, FreeBSD | — | socket files | type-checked |
//!
//! Use [`NameTypeSupport::query`] to pick a name at run time:
//!
//! ```
//! use localipc::local_socket::{LocalSocketListener, NameTypeSupport};
//!
//! let name = match NameTypeSupport::query() {
//!     NameTypeSupport::OnlyPaths => format!("/tmp/localipc-doc-{}.sock", std::process::id()),
//!     _ => format!("@localipc-doc-{}", std::process::id()),
//! };
//! let listener = LocalSocketListener::bind(name.as_str())?;
//! assert_eq!(listener.local_name().to_string(), name);
//! # std::io::Result::Ok(())
//! ```
//!
//! # Who can connect
//! [`ListenerOptions::access`] with an [`AccessPolicy`](crate::identity::AccessPolicy) says it
//! portably (file mode and a check at accept on Unix, a DACL on Windows), and
//! [`ConnectOptions::expect_server`] lets a client refuse a server of the wrong user. Without
//! a policy (the default):
//!
//! - **Socket files** (paths) obey file permissions: connecting needs write permission on the
//!   file and search permission on its directories. `ListenerOptions::mode` sets the mode
//!   before anyone can connect (e.g. `0o600`: only this user).
//! - **Namespaced names on Linux** (the abstract namespace) have **no permissions**: any
//!   process on the machine (in the same network namespace) that knows or guesses the name
//!   can connect, whatever its user. A server that cares must check who connected (this
//!   example is compiled, not run: it serves forever; `examples/single_instance.rs` runs the
//!   same check):
//!
//! ```no_run
//! # #[cfg(unix)] {
//! use localipc::local_socket::LocalSocketListener;
//!
//! let listener = LocalSocketListener::bind("@my-daemon")?;
//! // SAFETY: geteuid has no preconditions and cannot fail.
//! let me = unsafe { libc::geteuid() };
//! for conn in listener.incoming() {
//!     let conn = conn?;
//!     if conn.peer_creds()?.uid() != Some(me) {
//!         continue; // drop connections from other users
//!     }
//!     // ... serve `conn`
//! }
//! # }
//! # std::io::Result::Ok(())
//! ```
//! - **Windows named pipes** reject remote clients. Without a security descriptor of yours,
//!   Windows' default one applies: full control for LocalSystem, administrators and the
//!   creator owner, read-only access for Everyone and anonymous — so other users cannot open
//!   the pipe for reading and writing, which local sockets need.
//!
#![doc = include_str!("porting.md")]

pub(crate) mod access;
#[cfg(unix)]
mod activation;
#[cfg(feature = "async-io")]
#[cfg_attr(docsrs, doc(cfg(feature = "async-io")))]
pub mod async_io;
mod child_handoff;
mod handle_passing;
mod listener;
pub mod message;
mod name;
mod peer_creds;
pub(crate) mod stopper;
mod stream;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;

#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub use activation::SystemdSockets;
pub use child_handoff::{ChildHandoff, HandoffChild};
pub use handle_passing::MAX_HANDLES;
pub use listener::{Incoming, ListenerOptions, LocalSocketListener};
pub use name::{LocalSocketName, NameTypeSupport, ToLocalSocketName};
pub use peer_creds::PeerCreds;
pub use stopper::AcceptStopper;
pub use stream::{ConnectOptions, LocalSocketStream};

/// Limits of this platform's local sockets, as `(what, value)` pairs for display.
pub fn platform_limits() -> Vec<(&'static str, String)> {
    crate::sys::name::limits()
}
