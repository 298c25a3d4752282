//! `localipc`: talk to local sockets from a shell, benchmark them against the raw OS
//! primitive, and soak-test them.
//!
//! Every failure ends as one line, `localipc: <message>`, on stderr and a non-zero exit
//! status: 2 for a bad command line, 1 for anything else.

mod access;
mod bench;
mod connect;
mod error;
mod list;
mod listen;
mod parse;
mod probe;
mod signals;
mod soak;

use clap::Parser;
use std::process::ExitCode;

/// Talk to and benchmark local sockets (Unix domain sockets, Windows named pipes).
///
/// A NAME starting with `@` is namespaced (Linux abstract namespace, Windows pipe name);
/// anything else is a socket file path on Unix.
#[derive(Debug, Parser)]
#[command(name = "localipc", version, about, long_about = None, after_help = AFTER_HELP)]
struct Cli {
    /// Log connections to stderr (bench: also print every round's values).
    #[arg(short, long, global = true)]
    verbose: bool,
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// Names and an example, after the options in `--help`.
const AFTER_HELP: &str = "\
NAME: `@name` is namespaced (Linux abstract namespace, Windows pipe name); anything else is \
a socket file path (Unix).

Example:
  localipc listen @demo --echo       # in one shell
  echo hi | localipc connect @demo   # in another: prints hi";

/// The subcommands.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Serve NAME: print what clients send and send them stdin, or echo with --echo.
    Listen(listen::Args),
    /// Connect to NAME and relay stdin and stdout, like `socat - UNIX-CONNECT:`.
    Connect(connect::Args),
    /// Show the platform and what its local sockets support.
    Probe,
    /// Show the local sockets listening on this machine (Linux, Windows).
    List(list::Args),
    /// Measure localipc against the raw OS primitive, sync and tokio: latency, throughput,
    /// connections/s.
    Bench(bench::Args),
    /// The second process of `bench` (internal).
    #[command(hide = true)]
    BenchPeer(bench::peer::Args),
    /// Many clients connecting, echoing and disconnecting for minutes; reports throughput,
    /// errors, memory and descriptors over time.
    Soak(soak::Args),
    /// The server process of `soak` (internal).
    #[command(hide = true)]
    SoakServer(soak::server::Args),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return error::usage(&err),
    };
    let result = match cli.command {
        Command::Listen(args) => listen::run(args, cli.verbose),
        Command::Connect(args) => connect::run(args, cli.verbose),
        Command::Probe => probe::run(),
        Command::List(args) => list::run(&args),
        Command::Bench(args) => bench::run(args, cli.verbose),
        Command::BenchPeer(args) => bench::peer::run(args),
        Command::Soak(args) => soak::run(args),
        Command::SoakServer(args) => soak::server::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            error::report(&err);
            ExitCode::FAILURE
        }
    }
}
