//! Handle passing on the async stream: the sync handle records (`handle_records`, wire
//! format `sys::record`), so sync and async ends exchange them either way.
//!
//! Receiving runs the sync record decoder ([`Records::recv`]) reading with tokio's
//! `try_read`, and waits for readability when it finds no bytes. Its state (a head read in
//! part, a record's handles and data still to come) lives in the stream's [`Records`], not
//! in the future, so a dropped receive loses nothing: the next one resumes.
//!
//! Sending cannot follow the sync rule (head in one `WriteFile`, data in a second, the
//! duplicates taken back if the head write fails): mio completes a write as soon as its
//! overlapped `WriteFile` is submitted and reports a failure only on the next write. So the
//! whole record (head and data) goes as one mio write, made in the poll that returns
//! `Ready`: mio copies it and submits it as one overlapped `WriteFile` (submitting the rest
//! itself after a short write). An error from that write means the record was not
//! submitted (it failed to start, or it is a previous write's stored failure), and the
//! duplicates are taken back. Once it is submitted they never are: the peer may have
//! pulled them, and the pull closes the sender's copy (`DUPLICATE_CLOSE_SOURCE`), so a
//! later close could hit a reused handle value. If the write then fails, or the peer never
//! reads the head, the duplicates stay open in this process (`handoff`), as in the sync
//! case after a head write that succeeded.

use super::super::handle_records::{check_recv, check_send, Records};
use super::{Pipe, Stream};
use std::io::{self, IoSlice};
use std::os::windows::io::{BorrowedHandle, OwnedHandle};
use std::task::{ready, Poll};

impl Stream {
    /// Writes one record as one mio write (`WriteFile` through tokio) when tokio reports the
    /// pipe writable: the argument checks first, then the duplicates (`DuplicateHandle`),
    /// made only once writability is reported and taken back if the write is not submitted.
    pub(crate) async fn send_with_handles(
        &self,
        data: &[u8],
        handles: &[BorrowedHandle<'_>],
    ) -> io::Result<usize> {
        let data = check_send(data, handles)?;
        if data.is_empty() {
            return Ok(0);
        }
        std::future::poll_fn(|cx| {
            self.check_write_shut()?;
            loop {
                ready!(self.poll_write_ready(cx))?;
                let head = self.records.head(self, data.len(), handles)?;
                let record = [IoSlice::new(&head.bytes), IoSlice::new(data)];
                match on_pipe!(&self.pipe, |p| p.try_write_vectored(&record)) {
                    // mio took all of it (it returns the whole length or an error).
                    Ok(_) => return Poll::Ready(Ok(data.len())),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => head.take_back(),
                    Err(e) => return Poll::Ready(Err(head.failed(e))),
                }
            }
        })
        .await
    }

    /// Reads one record, or the rest of one ([`Records::recv`]) with tokio's `try_read`,
    /// waiting for readability (mio's overlapped `ReadFile`) when there is nothing; the
    /// argument check first.
    pub(crate) async fn recv_with_handles(
        &self,
        buf: &mut [u8],
        out: &mut Vec<OwnedHandle>,
    ) -> io::Result<usize> {
        check_recv(buf)?;
        let records: &Records = &self.records;
        std::future::poll_fn(|cx| loop {
            match records.recv(self, buf, out) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready!(self.poll_read_ready(cx))?;
                }
                r => return Poll::Ready(r),
            }
        })
        .await
    }
}
