//! `localipc probe`: what this platform's local sockets support.

use localipc::local_socket::{self, NameTypeSupport};
use std::io::{self, Write};

/// Prints the platform, the supported name types and the platform limits as a table.
pub(crate) fn run() -> io::Result<()> {
    let mut rows = vec![
        (
            "platform",
            format!(
                "{} {} ({})",
                std::env::consts::OS,
                std::env::consts::ARCH,
                std::env::consts::FAMILY
            ),
        ),
        ("name types here", describe(NameTypeSupport::query())),
        (
            "name types always available",
            describe(NameTypeSupport::ALWAYS_AVAILABLE),
        ),
    ];
    rows.extend(local_socket::platform_limits());
    let width = rows.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
    let mut out = io::stdout().lock();
    for (key, value) in &rows {
        writeln!(out, "{key:<width$}  {value}")?;
    }
    out.flush()
}

/// `Both: paths and namespaced names (@name)` and the like.
fn describe(support: NameTypeSupport) -> String {
    let what = match (support.paths_supported(), support.namespace_supported()) {
        (true, true) => "paths and namespaced names (@name)",
        (true, false) => "paths only",
        (false, true) => "namespaced names (@name) only",
        (false, false) => "none",
    };
    format!("{support:?}: {what}")
}
