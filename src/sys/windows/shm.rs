//! Shared memory for `shm` on Windows: an unnamed pagefile-backed section, its views, the
//! events a ring side sleeps on, and the peer's liveness seen on the pipe (groundwork for
//! issue 13).
//!
//! # Why events
//! `WaitOnAddress` only works within one process, so each ring has two unnamed auto-reset
//! events ([`RingBells`]), one per sleeper: the ring's consumer sleeps on the *consumer
//! event* (set by the producer after it wrote), the producer sleeps on the *producer event*
//! (set by the consumer after it read). The creator makes them and sends them, with the
//! section, by the crate's handle passing (the receiver pulls them with `DuplicateHandle`);
//! in one direction's ring the creator is the producer, in the other the consumer, so each
//! side sleeps on one event of each ring. Nothing is named: no other process can open them,
//! and they go away with the last handle, after a crash too.

use super::overlapped;
use crate::shm::ring::Waiter;
use std::io;
use std::os::windows::io::{AsHandle, AsRawHandle, BorrowedHandle, FromRawHandle, OwnedHandle};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use windows_sys::Wdk::Storage::FileSystem::{
    FilePipeLocalInformation, NtQueryInformationFile, FILE_PIPE_CLOSING_STATE,
    FILE_PIPE_LOCAL_INFORMATION,
};
use windows_sys::Win32::Foundation::{
    GetLastError, RtlNtStatusToDosError, ERROR_ACCESS_DENIED, ERROR_BROKEN_PIPE,
    ERROR_INVALID_HANDLE, ERROR_INVALID_PARAMETER, ERROR_NO_DATA, ERROR_PIPE_NOT_CONNECTED,
    INVALID_HANDLE_VALUE, WAIT_FAILED, WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use windows_sys::Win32::Storage::FileSystem::WriteFile;
use windows_sys::Win32::System::Memory::{
    CreateFileMappingW, MapViewOfFile, UnmapViewOfFile, VirtualQuery, FILE_MAP_READ,
    FILE_MAP_WRITE, MEMORY_BASIC_INFORMATION, MEMORY_MAPPED_VIEW_ADDRESS, MEM_COMMIT, MEM_MAPPED,
    PAGE_READWRITE,
};
use windows_sys::Win32::System::Pipes::PeekNamedPipe;
use windows_sys::Win32::System::ProcessStatus::K32GetMappedFileNameW;
use windows_sys::Win32::System::SystemInformation::{GetSystemInfo, SYSTEM_INFO};
use windows_sys::Win32::System::Threading::{
    CreateEventW, GetCurrentProcess, SetEvent, WaitForSingleObject, INFINITE,
};
use windows_sys::Win32::System::IO::IO_STATUS_BLOCK;

/// A read-write view of a section, unmapped (`UnmapViewOfFile`) on drop.
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the view is plain memory owned by this value; what is done through the pointer
// (atomics and copies in `shm::ring`) is sound from any thread.
unsafe impl Send for Mapping {}
// SAFETY: as above; `&Mapping` only hands out the raw pointer.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// `MapViewOfFile(section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, bytes)` (`bytes` 0: the
    /// whole section); `len` is what [`len`](Self::len) reports.
    fn view(section: BorrowedHandle<'_>, bytes: usize, len: usize) -> io::Result<Mapping> {
        // SAFETY: a fresh view chosen by the system (no address), so no existing memory is
        // affected; the result is checked for NULL.
        let view = unsafe {
            MapViewOfFile(
                section.as_raw_handle(),
                FILE_MAP_READ | FILE_MAP_WRITE,
                0,
                0,
                bytes,
            )
        };
        let ptr = NonNull::new(view.Value.cast::<u8>()).ok_or_else(io::Error::last_os_error)?;
        Ok(Mapping { ptr, len })
    }

    /// The first byte of the view (aligned to the allocation granularity).
    pub(crate) fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// The length in bytes the view was asked for (the view itself is whole pages).
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for Mapping {
    /// `UnmapViewOfFile`.
    fn drop(&mut self) {
        // SAFETY: the base address `MapViewOfFile` returned, unmapped once; no reference into
        // it outlives `self` (users hold raw pointers under the ring's contract).
        unsafe {
            UnmapViewOfFile(MEMORY_MAPPED_VIEW_ADDRESS {
                Value: self.ptr.as_ptr().cast(),
            })
        };
    }
}

/// The memory page size (`GetSystemInfo`, `dwPageSize`): the granularity of a view's
/// protection and of the region sizes the handshake checks. (Views start on the allocation
/// granularity, 64 KiB, which callers never need: they always map from offset 0.)
pub(crate) fn page_size() -> usize {
    let mut info = SYSTEM_INFO::default();
    // SAFETY: `info` is valid for writes; GetSystemInfo cannot fail.
    unsafe { GetSystemInfo(&mut info) };
    usize::try_from(info.dwPageSize).unwrap_or(4096)
}

/// A new region of `len` bytes, zeroed: `CreateFileMappingW(INVALID_HANDLE_VALUE, NULL,
/// PAGE_READWRITE, len, NULL)` (an unnamed section backed by the paging file, committed
/// whole, not inheritable), then `MapViewOfFile`. The handle is for the peer (send it with
/// the crate's handle passing); nothing named is left on the system, and the section goes
/// away with its last handle and view, after a crash too.
pub(crate) fn create(len: usize) -> io::Result<(OwnedHandle, Mapping)> {
    if len == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "shared memory: cannot create a 0-byte section",
        ));
    }
    let size = u64::try_from(len).map_err(|_| {
        io::Error::new(io::ErrorKind::InvalidInput, "shared memory: size too large")
    })?;
    let [a, b, c, d, e, f, g, h] = size.to_le_bytes();
    // SAFETY: no name and no security attributes (NULL: default, not inheritable);
    // INVALID_HANDLE_VALUE asks for a paging-file section; the result is checked for NULL.
    let raw = unsafe {
        CreateFileMappingW(
            INVALID_HANDLE_VALUE,
            ptr::null(),
            PAGE_READWRITE,
            u32::from_le_bytes([e, f, g, h]),
            u32::from_le_bytes([a, b, c, d]),
            ptr::null(),
        )
    };
    if raw.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh handle owned by nobody else.
    let section = unsafe { OwnedHandle::from_raw_handle(raw) };
    let map = Mapping::view(section.as_handle(), len, len)?;
    Ok((section, map))
}

/// `InvalidData` about a received handle that is not what it should be.
fn not_a(what: &str, why: impl std::fmt::Display) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("shared memory from the peer: {what}: {why}"),
    )
}

/// Maps a section received from the peer, after checking it: `MapViewOfFile` of the whole
/// section (read-write; a handle that is not a section, or without map-write access, fails
/// here), then `VirtualQuery` of the view (mapped memory, committed and read-write over
/// exactly `len` bytes rounded up to the page size, which is the section's size rounded up
/// likewise: a `SEC_RESERVE` section's uncommitted pages would fault on access) and
/// `K32GetMappedFileNameW` (which succeeds only for a view of a file: a file-backed section
/// could fault on an I/O error, so only paging-file sections are taken). Anything else is
/// `InvalidData` naming the problem, and nothing stays mapped.
pub(crate) fn map_received(section: BorrowedHandle<'_>, len: usize) -> io::Result<Mapping> {
    if len == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "shared memory: cannot map 0 bytes",
        ));
    }
    let map = Mapping::view(section, 0, len).map_err(|e| {
        let code = super::error_code(&e).unwrap_or(0);
        if [
            ERROR_INVALID_HANDLE,
            ERROR_ACCESS_DENIED,
            ERROR_INVALID_PARAMETER,
        ]
        .contains(&code)
        {
            not_a("not a section this process may map read-write", e)
        } else {
            e
        }
    })?;
    let mut info = MEMORY_BASIC_INFORMATION::default();
    // SAFETY: the view's base is a valid address to query; `info` is valid for writes of
    // its size.
    let got = unsafe {
        VirtualQuery(
            map.as_ptr().cast_const().cast(),
            &mut info,
            std::mem::size_of::<MEMORY_BASIC_INFORMATION>(),
        )
    };
    if got == 0 {
        return Err(io::Error::last_os_error());
    }
    if info.Type != MEM_MAPPED || info.State != MEM_COMMIT || info.Protect != PAGE_READWRITE {
        return Err(not_a(
            "not committed read-write shared memory",
            format_args!(
                "type {:#x}, state {:#x}, protection {:#x}",
                info.Type, info.State, info.Protect
            ),
        ));
    }
    let want = len
        .checked_next_multiple_of(page_size())
        .unwrap_or(usize::MAX);
    if info.RegionSize != want {
        return Err(not_a(
            "section of the wrong size",
            format_args!(
                "{} bytes mapped, {want} expected for {len}",
                info.RegionSize
            ),
        ));
    }
    let mut name = [0u16; 260];
    // SAFETY: the view's base is a valid address; `name` is valid for writes of its length.
    let named = unsafe {
        K32GetMappedFileNameW(
            GetCurrentProcess(),
            map.as_ptr().cast_const().cast(),
            name.as_mut_ptr(),
            260,
        )
    };
    if named != 0 {
        let n = usize::try_from(named).unwrap_or(0).min(name.len());
        return Err(not_a(
            "a view of a file, not of the paging file",
            String::from_utf16_lossy(&name[..n]),
        ));
    }
    Ok(map)
}

/// The wake objects of one ring: two unnamed auto-reset events, one per sleeper. The
/// consumer sleeps on `consumer` and the producer sets it after writing; the producer
/// sleeps on `producer` and the consumer sets it after reading. Which side of the
/// connection is which depends on the ring: each side is the producer of the ring it writes
/// and the consumer of the ring it reads.
#[derive(Debug)]
pub(crate) struct RingBells {
    consumer: OwnedHandle,
    producer: OwnedHandle,
}

/// `CreateEventW(NULL, FALSE, FALSE, NULL)`: unnamed, auto-reset, not set, not inheritable.
fn new_event() -> io::Result<OwnedHandle> {
    // SAFETY: no name, default security; the result is checked for NULL.
    let raw = unsafe { CreateEventW(ptr::null(), 0, 0, ptr::null()) };
    if raw.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh handle owned by nobody else.
    Ok(unsafe { OwnedHandle::from_raw_handle(raw) })
}

/// `SetEvent`.
fn set_event(h: BorrowedHandle<'_>) -> io::Result<()> {
    // SAFETY: `h` is an open handle; SetEvent checks its type and access.
    if unsafe { SetEvent(h.as_raw_handle()) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `WaitForSingleObject(h, ms)`: `Ok(true)` if signaled, `Ok(false)` at the timeout.
fn wait_event(h: BorrowedHandle<'_>, ms: u32) -> io::Result<bool> {
    // SAFETY: `h` is an open handle; the wait checks its type and access.
    match unsafe { WaitForSingleObject(h.as_raw_handle(), ms) } {
        WAIT_OBJECT_0 => Ok(true),
        WAIT_TIMEOUT => Ok(false),
        WAIT_FAILED => Err(io::Error::last_os_error()),
        other => Err(io::Error::other(format!(
            "WaitForSingleObject on a ring event returned {other:#x}"
        ))),
    }
}

impl RingBells {
    /// Two new events ([`new_event`]: `CreateEventW`, unnamed auto-reset).
    pub(crate) fn create() -> io::Result<Self> {
        Ok(RingBells {
            consumer: new_event()?,
            producer: new_event()?,
        })
    }

    /// The events to send to the peer, in the order [`from_received`](Self::from_received)
    /// takes them: the consumer's, then the producer's.
    pub(crate) fn handles(&self) -> Vec<BorrowedHandle<'_>> {
        vec![self.consumer.as_handle(), self.producer.as_handle()]
    }

    /// The events of a ring as received from the peer (consumer's, then producer's), each
    /// checked with `SetEvent` (which only an event handle with modify access passes) and
    /// then `WaitForSingleObject(h, 0)` (wait access; it also takes back the signal just
    /// set). Another count, or a handle that fails either call, is `InvalidData`.
    ///
    /// The check leaves an event set only if the peer set it at the same moment, and sets
    /// none the peer waits on for longer than that; a spurious wake-up is harmless anyway
    /// (the ring re-checks). A manual-reset event passes and only makes our waits return
    /// early (spuriously), costing CPU, never correctness.
    pub(crate) fn from_received(handles: Vec<OwnedHandle>) -> io::Result<Self> {
        let n = handles.len();
        let Ok::<[OwnedHandle; 2], _>([consumer, producer]) = handles.try_into() else {
            return Err(not_a(
                "ring events",
                format_args!("{n} handles received, 2 expected"),
            ));
        };
        for (which, h) in [("consumer", &consumer), ("producer", &producer)] {
            set_event(h.as_handle())
                .and_then(|()| wait_event(h.as_handle(), 0))
                .map_err(|e| not_a(&format!("the ring's {which} event"), e))?;
        }
        Ok(RingBells { consumer, producer })
    }

    /// The ring's consumer: sleeps on the consumer event, wakes the producer.
    pub(crate) fn consumer(&self) -> Bell<'_> {
        Bell {
            sleep_on: self.consumer.as_handle(),
            wake: self.producer.as_handle(),
        }
    }

    /// The ring's producer: sleeps on the producer event, wakes the consumer.
    pub(crate) fn producer(&self) -> Bell<'_> {
        Bell {
            sleep_on: self.producer.as_handle(),
            wake: self.consumer.as_handle(),
        }
    }
}

/// One ring side's [`Waiter`]: its own event to sleep on and the peer's to set.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bell<'a> {
    sleep_on: BorrowedHandle<'a>,
    wake: BorrowedHandle<'a>,
}

/// A timeout as `WaitForSingleObject` milliseconds: rounded up (a wait never ends before
/// the timeout, except spuriously), capped below `INFINITE`; `None` is `INFINITE`.
fn millis(timeout: Option<Duration>) -> u32 {
    let Some(t) = timeout else {
        return INFINITE;
    };
    let ms = t.as_nanos().div_ceil(1_000_000);
    u32::try_from(ms).unwrap_or(INFINITE - 1).min(INFINITE - 1)
}

impl Waiter for Bell<'_> {
    /// Returns at once if `word` no longer holds `expected`, else `WaitForSingleObject` on
    /// our own event (at most `timeout`, rounded up to milliseconds). A wake-up meant for an
    /// earlier sleep may still be pending on the event and end this one early: the caller
    /// re-checks.
    fn wait(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> io::Result<()> {
        if word.load(Ordering::SeqCst) != expected {
            return Ok(());
        }
        wait_event(self.sleep_on, millis(timeout)).map(drop)
    }

    /// `SetEvent` on the peer's event (`word` is not needed: one event per sleeper).
    fn wake(&self, _word: &AtomicU32) {
        // Nothing to do on failure: the sleeper's timeout bounds a missed wake.
        let _ = set_event(self.wake);
    }
}

/// The CPUs process `pid` (`None`: this thread) may run on: not asked on Windows (`None`:
/// the caller falls back to `available_parallelism`).
pub(crate) fn cpus(_pid: Option<u32>) -> Option<Vec<usize>> {
    None
}

/// Rings the doorbell of a peer task that waits on the pipe (see `shm::ring`, "Async
/// sleepers"; the peer is a `shm::tokio` stream): one byte, written without ever waiting
/// for room. An overlapped `WriteFile` of 1 byte (the crate's `overlapped::run` with
/// [`Wait::No`](super::overlapped::Wait): the thread's event, tagged so that no completion
/// packet reaches the completion port tokio may have associated the pipe with); if it does
/// not complete at once (the pipe's buffer is full), it is cancelled (`CancelIoEx` on that
/// OVERLAPPED only) and waited for, which a cancelled pipe write does at once.
///
/// Failures are ignored. A doorbell lost to a full pipe is harmless: the peer then has
/// unread bytes (mio's read in flight completes with some of them), so its pipe is readable
/// and it wakes and re-checks the ring anyway. A broken pipe means the peer is gone, which
/// its own side sees. The byte is written through the stream's handle, which for a tokio
/// twin is a duplicate of the pipe tokio holds (see `sys::windows::tokio::Stream::duplicate`):
/// writes through it are ordered with tokio's on the same pipe end.
pub(crate) fn ring_doorbell(stream: &super::Stream) {
    let h = stream.as_handle().as_raw_handle();
    let byte = [1u8];
    let ptr = byte.as_ptr();
    let _ = overlapped::run(h, overlapped::Wait::No, |ov| {
        // SAFETY: `h` is open (borrowed from `stream`); `ptr` is valid for reads of 1 byte
        // until `run` returns, and `run` returns only once the write has ended (completed or
        // cancelled and waited for).
        unsafe { WriteFile(h, ptr, 1, ptr::null_mut(), ov) }
    });
}

/// Whether the peer's end of the connection is gone (closed, or its process dead):
/// `PeekNamedPipe` fails with `ERROR_BROKEN_PIPE`, `ERROR_PIPE_NOT_CONNECTED` or
/// `ERROR_NO_DATA` (being closed). `PeekNamedPipe` succeeds while unread bytes are in the
/// pipe, even after the peer closed its end; after the handshake `shm` sends nothing on the
/// socket but doorbells, and those only to a peer whose wake flag asks for them (a tokio
/// task, which reads them, and which never calls this), so such bytes are a hostile peer's
/// noise, and then the pipe's state is asked
/// (`NtQueryInformationFile(FilePipeLocalInformation)`: `FILE_PIPE_CLOSING_STATE` once the
/// other end is closed), so that noise left behind cannot hide the peer's death. Does not
/// block and reads nothing.
pub(crate) fn peer_gone(stream: &super::Stream) -> io::Result<bool> {
    let mut avail = 0u32;
    // SAFETY: the handle is open (borrowed from `stream`); no buffer (0 bytes), `avail` is
    // valid for writes, the other outputs are not wanted.
    let ok = unsafe {
        PeekNamedPipe(
            stream.as_handle().as_raw_handle(),
            ptr::null_mut(),
            0,
            ptr::null_mut(),
            &mut avail,
            ptr::null_mut(),
        )
    };
    if ok != 0 {
        return if avail == 0 {
            Ok(false)
        } else {
            closing(stream.as_handle())
        };
    }
    // SAFETY: no preconditions; read right after the failed call.
    match unsafe { GetLastError() } {
        ERROR_BROKEN_PIPE | ERROR_PIPE_NOT_CONNECTED | ERROR_NO_DATA => Ok(true),
        code => Err(super::os_error(code)),
    }
}

/// Whether the other end of the pipe `h` is closed:
/// `NtQueryInformationFile(FilePipeLocalInformation)`, `NamedPipeState ==
/// FILE_PIPE_CLOSING_STATE`.
fn closing(h: BorrowedHandle<'_>) -> io::Result<bool> {
    let mut iosb = IO_STATUS_BLOCK::default();
    let mut info = FILE_PIPE_LOCAL_INFORMATION::default();
    // SAFETY: `h` is open (borrowed); `iosb` and `info` are valid for writes of their sizes.
    let status = unsafe {
        NtQueryInformationFile(
            h.as_raw_handle(),
            &mut iosb,
            (&raw mut info).cast(),
            u32::try_from(std::mem::size_of::<FILE_PIPE_LOCAL_INFORMATION>()).unwrap_or(0),
            FilePipeLocalInformation,
        )
    };
    if status < 0 {
        // SAFETY: no preconditions; converts an NTSTATUS to a Win32 error code.
        let code = unsafe { RtlNtStatusToDosError(status) };
        return Err(super::os_error(code));
    }
    Ok(info.NamedPipeState == FILE_PIPE_CLOSING_STATE)
}

#[cfg(test)]
mod tests;
