//! From a group and a subject to the code that runs it: the one place where the sync and async
//! cases and their subjects are picked, for both sides of a round.

use super::aio;
use super::async_cases;
use super::async_subject::{AsyncSubject, TokioLocalipc};
use super::cases::{self, Work};
use super::group::Group;
use super::job::{Job, WaitDone};
#[cfg(unix)]
use super::raw_tokio_unix::TokioRaw;
#[cfg(windows)]
use super::raw_tokio_windows::TokioRaw;
#[cfg(unix)]
use super::raw_unix::Raw;
#[cfg(windows)]
use super::raw_windows::Raw;
use super::runtime::{Flavoured, Runtimes};
use super::subject::{Localipc, SubjectKind};
use std::io;
use std::path::Path;

/// Peer side of a round: binds `endpoint` with the group and subject of `job`, calls
/// `ready`, then serves the job's work.
pub(super) fn serve(
    runtimes: &mut Runtimes,
    job: &Job,
    endpoint: &Path,
    ready: impl FnOnce() -> io::Result<()>,
) -> io::Result<()> {
    let (group, work) = (job.group, &job.work);
    match (group, job.subject) {
        (Group::Sync, SubjectKind::Localipc) => cases::serve::<Localipc>(endpoint, work, ready),
        (Group::Sync | Group::Shm, SubjectKind::Raw) => cases::serve::<Raw>(endpoint, work, ready),
        (Group::Shm, SubjectKind::Localipc) => shm::serve(endpoint, work, ready),
        (Group::AsyncIo, subject) => {
            aio::serve(subject == SubjectKind::Localipc, endpoint, *work, ready)
        }
        (_, SubjectKind::Localipc) => {
            serve_async::<TokioLocalipc>(runtimes.get(group)?, endpoint, *work, ready)
        }
        (_, SubjectKind::Raw) => {
            serve_async::<TokioRaw>(runtimes.get(group)?, endpoint, *work, ready)
        }
    }
}

/// Measuring side of a round: connects to `endpoint` with the group and subject of `job`,
/// times the job's work (see `cases::measure` for the values returned), then waits for the
/// peer to be `done`.
pub(super) fn measure(
    runtimes: &mut Runtimes,
    job: &Job,
    endpoint: &Path,
    peer: u32,
    done: &mut WaitDone<'_>,
) -> io::Result<Vec<f64>> {
    let (group, work) = (job.group, &job.work);
    let sync = |values: io::Result<Vec<f64>>, done: &mut WaitDone<'_>| {
        let values = values?;
        done()?;
        Ok(values)
    };
    match (group, job.subject) {
        (Group::Sync, SubjectKind::Localipc) => {
            sync(cases::measure::<Localipc>(endpoint, work), done)
        }
        (Group::Sync | Group::Shm, SubjectKind::Raw) => {
            sync(cases::measure::<Raw>(endpoint, work), done)
        }
        (Group::Shm, SubjectKind::Localipc) => sync(shm::measure(endpoint, work), done),
        (Group::AsyncIo, subject) => sync(
            aio::measure(subject == SubjectKind::Localipc, endpoint, *work, peer),
            done,
        ),
        (_, SubjectKind::Localipc) => {
            measure_async::<TokioLocalipc>(runtimes.get(group)?, endpoint, work, peer, done)
        }
        (_, SubjectKind::Raw) => {
            measure_async::<TokioRaw>(runtimes.get(group)?, endpoint, work, peer, done)
        }
    }
}

/// The shm group's localipc subject, where `localipc::shm` exists.
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_vendor = "apple",
    windows
))]
mod shm {
    use super::super::cases::{self, Work};
    use super::super::subject::Shm;
    use std::io;
    use std::path::Path;

    pub(super) fn serve(
        endpoint: &Path,
        work: &Work,
        ready: impl FnOnce() -> io::Result<()>,
    ) -> io::Result<()> {
        cases::serve::<Shm>(endpoint, work, ready)
    }

    pub(super) fn measure(endpoint: &Path, work: &Work) -> io::Result<Vec<f64>> {
        cases::measure::<Shm>(endpoint, work)
    }
}

/// Where `localipc::shm` does not exist, the shm group is never planned (`Group::available`).
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_vendor = "apple",
    windows
)))]
mod shm {
    use super::super::cases::Work;
    use std::io;
    use std::path::Path;

    fn unsupported() -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "localipc::shm is not built for this platform",
        )
    }

    pub(super) fn serve(_: &Path, _: &Work, _: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        Err(unsupported())
    }

    pub(super) fn measure(_: &Path, _: &Work) -> io::Result<Vec<f64>> {
        Err(unsupported())
    }
}

/// Runs the async measurement of `work` on `rt` (`peer`: the serving process, whose system
/// calls are counted too), then waits for the peer with `rt` running.
fn measure_async<S: AsyncSubject>(
    rt: Flavoured<'_>,
    endpoint: &Path,
    work: &Work,
    peer: u32,
    done: &mut WaitDone<'_>,
) -> io::Result<Vec<f64>> {
    let values = rt.run(async_cases::measure::<S>(endpoint.to_owned(), *work, peer))?;
    rt.drive_while(done)?;
    Ok(values)
}

/// Binds within `rt` (registering the listener with its reactor), calls `ready`, then serves
/// `work` on `rt` as the measured side runs there.
fn serve_async<S: AsyncSubject>(
    rt: Flavoured<'_>,
    endpoint: &Path,
    work: Work,
    ready: impl FnOnce() -> io::Result<()>,
) -> io::Result<()> {
    let listener = {
        let _context = rt.runtime.enter();
        S::bind(endpoint)?
    };
    ready()?;
    rt.run(async_cases::serve::<S>(listener, work))
}
