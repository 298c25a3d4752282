//! The private temporary directory that holds the bench's socket files.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// A fresh directory under [`std::env::temp_dir`], removed with everything in it on drop.
#[derive(Debug)]
pub(super) struct WorkDir {
    /// The directory.
    path: PathBuf,
}

impl WorkDir {
    /// Creates `localipc-bench-<pid>-<nanos>` in the temp directory, readable only by us.
    pub(super) fn create() -> io::Result<Self> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("{PREFIX}{}-{nanos:08x}", std::process::id()));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        #[cfg(not(unix))]
        let _ = &mut builder; // only Unix sets a mode
        builder.create(&path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("creating the bench directory {}: {e}", path.display()),
            )
        })?;
        Ok(Self { path })
    }

    /// The directory.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Prefix of every work directory's name.
const PREFIX: &str = "localipc-bench-";

/// Removes the `*.sock` files left in a work directory, then the directory if it is empty
/// (never anything else: `dir` comes from the peer's command line). Errors are ignored.
pub(super) fn remove_leftovers(dir: &Path) {
    let is_workdir = dir
        .file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with(PREFIX));
    if !is_workdir {
        return;
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().ends_with(".sock") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

/// The endpoint named `file` for a bench whose work directory is `dir`: the socket file
/// `dir/file` on Unix.
#[cfg(unix)]
pub(super) fn endpoint(dir: &Path, file: &str) -> PathBuf {
    dir.join(file)
}

/// The endpoint named `file` for a bench whose work directory is `dir`: on Windows a pipe
/// `\\.\pipe\<dir's name>-<file>`, so that names stay unique per run.
#[cfg(windows)]
pub(super) fn endpoint(dir: &Path, file: &str) -> PathBuf {
    let run = dir.file_name().unwrap_or_default().to_string_lossy();
    PathBuf::from(format!(r"\\.\pipe\{run}-{file}"))
}
