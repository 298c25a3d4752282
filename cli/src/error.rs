//! Error helpers: adding context to I/O errors, and printing any error as one line.

use std::fmt::Display;
use std::io::{self, Write};
use std::process::ExitCode;

/// Adds what was being done to an error, keeping its kind.
pub(crate) trait Context<T> {
    /// Prefixes the error message with `what()` and `": "`.
    fn context<D: Display>(self, what: impl FnOnce() -> D) -> io::Result<T>;
}

impl<T> Context<T> for io::Result<T> {
    fn context<D: Display>(self, what: impl FnOnce() -> D) -> io::Result<T> {
        self.map_err(|err| io::Error::new(err.kind(), format!("{}: {err}", what())))
    }
}

/// An error of kind `Other` with `msg`.
pub(crate) fn other(msg: impl Into<String>) -> io::Error {
    io::Error::other(msg.into())
}

/// `msg` on one line: line breaks become spaces, surrounding blanks are trimmed (the rule of
/// the children's `error` lines too).
pub(crate) use localipc_child::one_line;

/// Prints `localipc: <message>` to stderr, on one line.
pub(crate) fn report(err: &dyn Display) {
    log(&err.to_string());
}

/// Prints `localipc: <message>` to stderr, on one line (also used for `-v` logging).
pub(crate) fn log(msg: &str) {
    // Nothing sensible is left to do if stderr itself is gone.
    let _ = writeln!(io::stderr().lock(), "localipc: {}", one_line(msg));
}

/// Handles a command-line parse error: help and version go out as clap renders them; a real
/// mistake becomes one line plus a pointer to `--help`, with exit status 2.
pub(crate) fn usage(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return ExitCode::from(u8::try_from(err.exit_code().clamp(0, 255)).unwrap_or(u8::MAX));
    }
    let rendered = err.render().to_string();
    let first = rendered
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("invalid command line");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    log(&format!("{first} (see 'localipc --help')"));
    ExitCode::from(2)
}
