//! The peer process of `localipc bench` (hidden subcommand `bench-peer`): serves the jobs
//! the measuring process sends, in the line protocol of `job.rs`.
//!
//! At end of stdin the peer removes what is
//! left in the work directory and exits at once, so it never outlives the measuring process.
//! It ignores Ctrl-C (Unix) for that reason: a Ctrl-C ends the measuring process, whose end
//! the peer then sees and cleans up after.

use super::dispatch;
use super::job::{Job, DONE, READY};
use super::runtime::Runtimes;
use super::workdir;
use crate::error;
use localipc_child::{reply, reply_error};
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

/// Options of `localipc bench-peer`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The directory (or name prefix) the endpoints live in.
    #[arg(long)]
    dir: PathBuf,
}

/// Runs the peer: serves jobs read from stdin until it ends.
pub(crate) fn run(args: Args) -> io::Result<()> {
    ignore_interrupts();
    let (lines, jobs) = mpsc::channel::<String>();
    let dir = args.dir.clone();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
        measurer_gone(&dir);
    });
    let mut out = io::stdout().lock();
    let mut runtimes = Runtimes::default();
    for line in jobs {
        let result = line
            .parse::<Job>()
            .map_err(error::other)
            .and_then(|job| serve(&mut runtimes, &args.dir, &job, &mut out));
        let replied = match result {
            Ok(()) => reply(&mut out, DONE),
            Err(e) => reply_error(&mut out, &e),
        };
        if replied.is_err() {
            measurer_gone(&args.dir); // nobody reads the replies any more
        }
    }
    Ok(())
}

/// The measuring process is done or gone: removes what is left in the work directory and
/// exits, even if a round is blocked.
fn measurer_gone(dir: &Path) -> ! {
    workdir::remove_leftovers(dir);
    std::process::exit(0)
}

/// Ignores `SIGINT`, so that a Ctrl-C in the terminal ends only the measuring process.
#[cfg(unix)]
fn ignore_interrupts() {
    // SAFETY: installing SIG_IGN runs no handler code; nothing else here uses SIGINT.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
    }
}

/// On Windows the peer shares the console's Ctrl-C; nothing to do.
#[cfg(not(unix))]
fn ignore_interrupts() {}

/// Serves one job with the group and subject it names.
fn serve(runtimes: &mut Runtimes, dir: &Path, job: &Job, out: &mut impl Write) -> io::Result<()> {
    let endpoint = workdir::endpoint(dir, &job.file);
    let ready = || reply(out, READY);
    dispatch::serve(runtimes, job, &endpoint, ready)
}
