//! Message sockets where `AF_UNIX` has no `SOCK_SEQPACKET` we rely on (macOS, and every Unix
//! but Linux/Android): length-prefixed frames over `SOCK_STREAM`.
//!
//! A frame is the message length as a 4-byte little-endian `u32`, then the message. Frames
//! are at most [`MAX_LEN`] bytes, so a corrupt or hostile header cannot make the reader
//! allocate gigabytes.
//!
//! Writes: one `sendmsg` of header + message; once any byte of a frame is out, the rest is
//! sent even past a timeout or in nonblocking mode (waiting with `poll`), so a frame is
//! never cut. Reads: progress through a frame is kept across `WouldBlock`/`TimedOut`, so the
//! next `recv` resumes it. Both directions hold a lock, so concurrent callers on `&self`
//! never interleave frames.
//!
//! Compiled on every Unix so its tests run on Linux too; build with
//! `--cfg localipc_framed_messages` to make Linux's message sockets use it.

use super::cvt;
use std::io::{self, IoSlice, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::{Mutex, MutexGuard};

/// The socket type message listeners and streams use with framing.
#[cfg_attr(
    all(
        any(target_os = "linux", target_os = "android"),
        not(localipc_framed_messages)
    ),
    allow(dead_code)
)]
pub(crate) const SOCK_TYPE: libc::c_int = libc::SOCK_STREAM;

/// The largest message a frame carries: 16 MiB.
pub(crate) const MAX_LEN: usize = 16 << 20;

/// A connected `SOCK_STREAM` socket carrying frames.
#[derive(Debug)]
pub(crate) struct Framed {
    sock: UnixStream,
    reader: Mutex<ReadState>,
    writer: Mutex<()>,
}

/// How far the reader is through the current frame.
#[derive(Debug, Default)]
struct ReadState {
    header: [u8; 4],
    header_got: usize,
    body: Vec<u8>,
    body_got: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg_attr(
    all(
        any(target_os = "linux", target_os = "android"),
        not(localipc_framed_messages)
    ),
    allow(dead_code)
)]
impl Framed {
    pub(crate) fn new(sock: UnixStream) -> io::Result<Self> {
        Ok(Self {
            sock,
            reader: Mutex::new(ReadState::default()),
            writer: Mutex::new(()),
        })
    }

    /// `sendmsg(MSG_NOSIGNAL)` of header and message, continued (with `poll(POLLOUT)`) until
    /// the whole frame is out once any of it is.
    pub(crate) fn send(&self, msg: &[u8]) -> io::Result<()> {
        if msg.len() > MAX_LEN {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a message of {} bytes is larger than the {MAX_LEN}-byte limit of framed \
                     message sockets",
                    msg.len()
                ),
            ));
        }
        let header = (msg.len() as u32).to_le_bytes();
        let total = header.len() + msg.len();
        let _guard = lock(&self.writer);
        let mut sent = 0;
        while sent < total {
            let res = if sent < header.len() {
                let bufs = [IoSlice::new(&header[sent..]), IoSlice::new(msg)];
                super::io::send_vectored(self.sock.as_fd(), &bufs)
            } else {
                super::io::send(self.sock.as_fd(), &msg[sent - header.len()..])
            };
            match res {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if sent > 0 && is_would_block(&e) => wait_for(&self.sock, libc::POLLOUT)?,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// `read(2)` until a whole frame is in: `(bytes copied, truncated)`, or `None` at end of
    /// file between frames.
    pub(crate) fn recv(&self, buf: &mut [u8]) -> io::Result<Option<(usize, bool)>> {
        Ok(self.recv_vec()?.map(|msg| {
            let n = msg.len().min(buf.len());
            buf[..n].copy_from_slice(&msg[..n]);
            (n, msg.len() > buf.len())
        }))
    }

    /// `read(2)` until a whole frame is in; `None` at end of file between frames. End of file
    /// inside a frame is `UnexpectedEof`; a header over [`MAX_LEN`] is `InvalidData`.
    pub(crate) fn recv_vec(&self) -> io::Result<Option<Vec<u8>>> {
        let mut st = lock(&self.reader);
        while st.header_got < st.header.len() {
            let at = st.header_got;
            let n = read_some(&self.sock, &mut st.header[at..])?;
            if n == 0 && at == 0 {
                return Ok(None);
            }
            if n == 0 {
                return Err(cut_short(at, st.header.len()));
            }
            st.header_got += n;
            if st.header_got == st.header.len() {
                let len = u32::from_le_bytes(st.header) as usize;
                if len > MAX_LEN {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "framed message socket: the peer announced a message of {len} bytes, \
                             over the {MAX_LEN}-byte limit"
                        ),
                    ));
                }
                st.body = vec![0; len];
                st.body_got = 0;
            }
        }
        while st.body_got < st.body.len() {
            let ReadState { body, body_got, .. } = &mut *st;
            let n = read_some(&self.sock, &mut body[*body_got..])?;
            if n == 0 {
                return Err(cut_short(4 + *body_got, 4 + body.len()));
            }
            *body_got += n;
        }
        let msg = std::mem::take(&mut st.body);
        *st = ReadState::default();
        Ok(Some(msg))
    }

    pub(crate) fn sock(&self) -> &UnixStream {
        &self.sock
    }
}

impl AsFd for Framed {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

/// `read(2)`, retried on `EINTR`.
fn read_some(mut sock: &UnixStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match sock.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

fn cut_short(got: usize, want: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!(
            "framed message socket: the peer closed the connection inside a frame ({got} of \
             {want} bytes)"
        ),
    )
}

/// `WouldBlock` (nonblocking mode) or the `EAGAIN` a timeout gives.
fn is_would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// `poll(2)` for `events` without a timeout.
fn wait_for(sock: &UnixStream, events: libc::c_short) -> io::Result<()> {
    let mut pfd = libc::pollfd {
        fd: sock.as_raw_fd(),
        events,
        revents: 0,
    };
    loop {
        // SAFETY: `pfd` is one valid pollfd.
        match cvt(unsafe { libc::poll(&mut pfd, 1, -1) }) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r.map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Framed, Framed) {
        let (a, b) = UnixStream::pair().unwrap();
        (Framed::new(a).unwrap(), Framed::new(b).unwrap())
    }

    #[test]
    fn messages_keep_boundaries_including_empty_ones() {
        let (a, b) = pair();
        for m in [&b"one"[..], b"", b"three", b""] {
            a.send(m).unwrap();
        }
        assert_eq!(b.recv_vec().unwrap().unwrap(), b"one");
        assert_eq!(b.recv_vec().unwrap().unwrap(), b"");
        let mut buf = [0; 3];
        assert_eq!(b.recv(&mut buf).unwrap(), Some((3, true)));
        assert_eq!(&buf, b"thr");
        assert_eq!(b.recv(&mut buf).unwrap(), Some((0, false)));
        drop(a);
        assert_eq!(b.recv_vec().unwrap(), None);
    }

    #[test]
    fn eof_inside_a_frame_is_unexpected_eof() {
        let (a, b) = UnixStream::pair().unwrap();
        let b = Framed::new(b).unwrap();
        put(&a, &[5, 0, 0, 0, b'x']);
        drop(a);
        assert_eq!(
            b.recv_vec().unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn oversized_header_is_invalid_data() {
        let (a, b) = UnixStream::pair().unwrap();
        let b = Framed::new(b).unwrap();
        put(&a, &u32::MAX.to_le_bytes());
        assert_eq!(b.recv_vec().unwrap_err().kind(), io::ErrorKind::InvalidData);
        let a = Framed::new(a).unwrap();
        let err = a.send(&vec![0; MAX_LEN + 1]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    /// A frame split across reads that would block resumes where it stopped.
    #[test]
    fn partial_frames_resume_after_would_block() {
        let (a, b) = UnixStream::pair().unwrap();
        let b = Framed::new(b).unwrap();
        b.sock().set_nonblocking(true).unwrap();
        assert_eq!(b.recv_vec().unwrap_err().kind(), io::ErrorKind::WouldBlock);
        put(&a, &[3, 0]);
        assert_eq!(b.recv_vec().unwrap_err().kind(), io::ErrorKind::WouldBlock);
        put(&a, &[0, 0, b'a']);
        assert_eq!(b.recv_vec().unwrap_err().kind(), io::ErrorKind::WouldBlock);
        put(&a, b"bc");
        assert_eq!(b.recv_vec().unwrap().unwrap(), b"abc");
    }

    /// A frame larger than the socket buffer, sent from a nonblocking socket, arrives whole.
    #[test]
    fn large_frames_from_a_nonblocking_sender_arrive_whole() {
        let (a, b) = pair();
        a.sock().set_nonblocking(true).unwrap();
        let big: Vec<u8> = (0..4 << 20).map(|i| (i % 251) as u8).collect();
        std::thread::scope(|s| {
            s.spawn(|| a.send(&big).unwrap());
            assert_eq!(b.recv_vec().unwrap().unwrap(), big);
        });
    }

    fn put(mut sock: &UnixStream, data: &[u8]) {
        std::io::Write::write_all(&mut sock, data).unwrap();
    }
}
