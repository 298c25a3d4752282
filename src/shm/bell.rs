//! The waiter a stream gives its rings: the backend's sleep and wake on the index word, plus
//! the doorbell on the socket for a peer that waits as an async task (`ring`, "Async
//! sleepers").

use super::ring::Waiter;
use crate::sys;
use std::io;
use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// A backend waiter (`sys::shm::RingBells::{producer, consumer}`) with the stream's socket.
#[derive(Debug)]
pub(crate) struct StreamWaiter<'a, W> {
    waiter: W,
    sock: &'a sys::Stream,
}

impl<'a, W: Waiter> StreamWaiter<'a, W> {
    pub(crate) fn new(waiter: W, sock: &'a sys::Stream) -> Self {
        StreamWaiter { waiter, sock }
    }
}

impl<W: Waiter> Waiter for StreamWaiter<'_, W> {
    fn wait(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> io::Result<()> {
        self.waiter.wait(word, expected, timeout)
    }

    fn wake(&self, word: &AtomicU32) {
        self.waiter.wake(word);
    }

    /// `sys::shm::ring_doorbell`: one byte on the socket (Unix `send(MSG_DONTWAIT)`).
    fn doorbell(&self, _word: &AtomicU32) {
        sys::shm::ring_doorbell(self.sock);
    }
}
