//! The raw async primitive on Windows: `tokio::net::windows::named_pipe`, used directly, with
//! nothing of localipc in between. Same pipe settings as the sync raw subject
//! (`raw_windows.rs`): byte mode, 64 KiB buffers, the first instance created exclusively, one
//! instance always pending so that clients never find the name missing.
//!
//! The CLI cannot be built for Windows until localipc's Windows backend exists.

use super::async_subject::AsyncSubject;
use super::raw_windows::win32_error;
use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::net::windows::named_pipe::{
    ClientOptions, NamedPipeClient, NamedPipeServer, PipeMode, ServerOptions,
};
use windows_sys::Win32::Foundation::{ERROR_NO_DATA, ERROR_PIPE_BUSY};

/// In and out buffer size of each pipe instance.
const BUF_SIZE: u32 = 64 * 1024;

/// How long a client sleeps between attempts while every instance is busy.
const BUSY_SLEEP: Duration = Duration::from_millis(1);

/// Attempts a client makes while every instance is busy (10 s in all).
const BUSY_ATTEMPTS: usize = 10_000;

/// What "raw" is in the tokio groups, for the report.
pub(super) const DESCRIPTION: &str = "tokio::net::windows::named_pipe used directly";

/// Named pipes through tokio.
#[derive(Debug)]
pub(super) struct TokioRaw;

/// A pipe name and the instance waiting for the next client.
#[derive(Debug)]
pub(super) struct TokioRawListener {
    /// The full pipe name.
    name: OsString,
    /// The instance the next `accept` connects (`None` while an accept is under way).
    pending: Mutex<Option<NamedPipeServer>>,
}

impl AsyncSubject for TokioRaw {
    type Listener = TokioRawListener;
    type Accepted = NamedPipeServer;
    type Connected = NamedPipeClient;

    fn bind(endpoint: &Path) -> io::Result<TokioRawListener> {
        let name = endpoint.as_os_str().to_owned();
        let first = create_instance(&name, true)?;
        Ok(TokioRawListener {
            name,
            pending: Mutex::new(Some(first)),
        })
    }

    async fn accept(listener: &TokioRawListener) -> io::Result<NamedPipeServer> {
        loop {
            // Taken out of the mutex: its guard may not be held across an await.
            let taken = listener
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            let instance = match taken {
                Some(instance) => instance,
                None => create_instance(&listener.name, false)?,
            };
            let connected = instance.connect().await;
            let next = create_instance(&listener.name, false)?;
            *listener
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(next);
            match connected {
                Ok(()) => return Ok(instance),
                // The client came and went: drop the instance, wait for the next one.
                Err(e) if win32_error(&e) == Some(ERROR_NO_DATA) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    async fn connect(endpoint: &Path) -> io::Result<NamedPipeClient> {
        for _ in 0..BUSY_ATTEMPTS {
            match ClientOptions::new()
                .pipe_mode(PipeMode::Byte)
                .open(endpoint.as_os_str())
            {
                Err(e) if win32_error(&e) == Some(ERROR_PIPE_BUSY) => {
                    tokio::time::sleep(BUSY_SLEEP).await;
                }
                result => return result,
            }
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "every instance of the pipe stayed busy",
        ))
    }
}

/// Creates one byte-mode duplex instance of the pipe `name`, registered with tokio.
fn create_instance(name: &OsString, first: bool) -> io::Result<NamedPipeServer> {
    ServerOptions::new()
        .first_pipe_instance(first)
        .pipe_mode(PipeMode::Byte)
        .in_buffer_size(BUF_SIZE)
        .out_buffer_size(BUF_SIZE)
        .create(name)
}
