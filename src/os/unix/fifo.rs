//! Unix FIFOs (named pipes in the filesystem): [`create_fifo`].
//!
//! A FIFO is a pipe with a path: one process opens it for reading, another for writing,
//! and bytes flow from writer to reader. Opening blocks until the other side opens too
//! (unless `O_NONBLOCK`). Use [`std::fs::File`] to open it, or wrap the opened file in
//! [`unnamed_pipe::Sender`](crate::unnamed_pipe::Sender) /
//! [`Recver`](crate::unnamed_pipe::Recver) (`From<OwnedFd>`) for writes that give
//! `BrokenPipe` instead of raising `SIGPIPE` when the reader has gone.
//!
//! A reader process and a writer process (here a shell, started by the reader):
//!
//! ```
//! use localipc::os::unix::fifo::create_fifo;
//! use std::io::Read;
//! use std::process::Command;
//!
//! let path = std::env::temp_dir().join(format!("localipc-doc-fifo-{}", std::process::id()));
//! create_fifo(&path, 0o600)?;
//!
//! // The writer: another process that opens the FIFO by its path and writes into it.
//! let mut writer = Command::new("sh")
//!     .arg("-c")
//!     .arg(r#"printf 'hello through a FIFO' > "$1""#)
//!     .arg("sh")
//!     .arg(&path)
//!     .spawn()?;
//!
//! // The reader: opening blocks until the writer has opened its end; reading ends when the
//! // writer closes it.
//! let mut text = String::new();
//! std::fs::File::open(&path)?.read_to_string(&mut text)?;
//! assert_eq!(text, "hello through a FIFO");
//! assert!(writer.wait()?.success());
//! std::fs::remove_file(&path)?;
//! # std::io::Result::Ok(())
//! ```

use crate::sys;
use std::io;
use std::path::Path;

/// Creates a FIFO at `path` with permission bits `mode` (masked by the process umask, as
/// for any new file), e.g. `0o600` for the owner only.
///
/// Unix: `mkfifo(3)`.
///
/// Errors name the path: `AlreadyExists` if anything (a FIFO included) is at the path,
/// `PermissionDenied` if the directory may not be written to or searched, `NotFound` if a
/// parent directory is missing, `InvalidInput` for a path containing a NUL byte or a `mode`
/// over 16 bits where `mode_t` has only 16 (Apple).
///
/// ```
/// use localipc::os::unix::fifo::create_fifo;
/// use std::os::unix::fs::{FileTypeExt, PermissionsExt};
///
/// let path = std::env::temp_dir().join(format!("localipc-doc-mkfifo-{}", std::process::id()));
/// create_fifo(&path, 0o600)?;
/// let meta = std::fs::metadata(&path)?;
/// assert!(meta.file_type().is_fifo());
/// assert_eq!(meta.permissions().mode() & 0o077, 0); // nobody else (the umask may take more)
///
/// let err = create_fifo(&path, 0o600).unwrap_err(); // something is there now
/// assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
/// std::fs::remove_file(&path)?;
/// # std::io::Result::Ok(())
/// ```
pub fn create_fifo(path: impl AsRef<Path>, mode: u32) -> io::Result<()> {
    sys::fifo::create_fifo(path.as_ref(), mode)
}
