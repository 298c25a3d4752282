//! Message sockets where `AF_UNIX` has no `SOCK_SEQPACKET` we rely on (macOS, and every Unix
//! but Linux/Android): length-prefixed frames over `SOCK_STREAM`.
//!
//! A frame is the message length as a 4-byte little-endian `u32`, then the message. Frames
//! are at most the socket's `max_message_size` (16 MiB by default): a longer one is refused
//! by `send` and, from a peer, refused as soon as its header is in, before anything is
//! allocated for it.
//!
//! Writes: one `sendmsg` of header + message; once any byte of a frame is out, the rest is
//! sent even past a timeout or in nonblocking mode (waiting with `poll`), so a frame is
//! never cut. Reads: the [`Decoder`] keeps the progress through a frame across
//! `WouldBlock`/`TimedOut`, so the next `recv` resumes it; it grows the message buffer as
//! bytes arrive, so a header alone never reserves the length it announces; and after a
//! framing error (a header over the limit, end of file inside a frame) the stream is out of
//! step for good, so every later receive returns that same error. Both directions hold a
//! lock, so concurrent callers on `&self` never interleave frames.
//!
//! Compiled on every Unix so its tests run on Linux too; build with
//! `--cfg localipc_framed_messages` to make Linux's message sockets use it.

use super::{cvt, SocketType};
use std::io::{self, IoSlice, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The socket type message listeners and streams use with framing.
#[cfg_attr(
    all(
        any(target_os = "linux", target_os = "android"),
        not(localipc_framed_messages)
    ),
    allow(dead_code)
)]
pub(crate) const SOCK_TYPE: SocketType = SocketType::Stream;

/// The first piece of a message body that the decoder allocates (or the whole body, if it is
/// shorter); each later piece is as large as what has arrived so far, so the buffer at most
/// doubles what the peer has really sent.
pub(crate) const FIRST_PIECE: usize = 64 * 1024;

/// A connected `SOCK_STREAM` socket carrying frames.
#[derive(Debug)]
pub(crate) struct Framed {
    sock: UnixStream,
    /// Shared with the [`try_clone`](Self::try_clone)s: the state is the connection's.
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// `max_message_size`, copied into the decoder by each receive.
    max: AtomicUsize,
    reader: Mutex<Decoder>,
    writer: Mutex<()>,
}

/// What [`Decoder::advance`] made of the bytes it was given.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// The frame is not whole yet: read more into [`Decoder::space`].
    More,
    /// A whole message.
    Message(Vec<u8>),
    /// End of file between frames.
    End,
}

/// The receiving half of the framing, free of I/O: [`space`](Self::space) says where the
/// next bytes go (never past the current frame), [`advance`](Self::advance) takes how many
/// were read there.
#[derive(Debug)]
pub(crate) struct Decoder {
    max: usize,
    header: [u8; 4],
    header_got: usize,
    /// The announced length, once the header is in.
    len: Option<usize>,
    /// The body so far: `body[..body_got]` has arrived, the rest is zeroed room.
    body: Vec<u8>,
    body_got: usize,
    /// The framing error that ended decoding, returned by every later call.
    failed: Option<(io::ErrorKind, String)>,
}

impl Decoder {
    /// A decoder refusing frames longer than `max` bytes.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max,
            header: [0; 4],
            header_got: 0,
            len: None,
            body: Vec::new(),
            body_got: 0,
            failed: None,
        }
    }

    /// The buffer the next read must fill (at most as far as the current frame goes): the
    /// rest of the header, or room in the body, grown by at most what has arrived so far
    /// ([`FIRST_PIECE`] at first) with `try_reserve_exact`. After a framing error, that
    /// error; a failed allocation is `OutOfMemory` (and may be retried).
    pub(crate) fn space(&mut self) -> io::Result<&mut [u8]> {
        self.check()?;
        let Some(len) = self.len else {
            return Ok(&mut self.header[self.header_got..]);
        };
        if self.body_got == self.body.len() {
            let step = (len - self.body_got).min(self.body_got.max(FIRST_PIECE));
            self.body.try_reserve_exact(step).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::OutOfMemory,
                    format!(
                        "framed message socket: cannot grow the buffer of a {len}-byte message \
                         past {} bytes: {e}",
                        self.body_got
                    ),
                )
            })?;
            self.body.resize(self.body_got + step, 0);
        }
        Ok(&mut self.body[self.body_got..])
    }

    /// Refuses frames longer than `max` bytes from the next header on.
    pub(crate) fn set_max(&mut self, max: usize) {
        self.max = max;
    }

    /// Takes `n` bytes read into [`space`](Self::space); `n == 0` means end of file.
    pub(crate) fn advance(&mut self, n: usize) -> io::Result<Progress> {
        self.check()?;
        let Some(len) = self.len else {
            if n == 0 {
                if self.header_got == 0 {
                    return Ok(Progress::End);
                }
                return Err(self.fail(cut_short(self.header_got, 4)));
            }
            self.header_got += n;
            if self.header_got < self.header.len() {
                return Ok(Progress::More);
            }
            let len = u32::from_le_bytes(self.header) as usize;
            if len > self.max {
                return Err(self.fail(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "framed message socket: the peer announced a message of {len} bytes, \
                         over the {}-byte limit (max_message_size); the connection is out of \
                         step from here on",
                        self.max
                    ),
                )));
            }
            self.len = Some(len);
            return Ok(self.finish_if_whole(len));
        };
        if n == 0 {
            return Err(self.fail(cut_short(4 + self.body_got, 4 + len)));
        }
        self.body_got += n;
        Ok(self.finish_if_whole(len))
    }

    fn finish_if_whole(&mut self, len: usize) -> Progress {
        if self.body_got < len {
            return Progress::More;
        }
        let mut msg = std::mem::take(&mut self.body);
        msg.truncate(len);
        self.header_got = 0;
        self.len = None;
        self.body_got = 0;
        Progress::Message(msg)
    }

    /// The framing error, if one happened.
    fn check(&self) -> io::Result<()> {
        match &self.failed {
            Some((kind, msg)) => Err(io::Error::new(*kind, msg.clone())),
            None => Ok(()),
        }
    }

    /// Remembers `e` for every later call.
    fn fail(&mut self, e: io::Error) -> io::Error {
        self.failed = Some((e.kind(), e.to_string()));
        self.body = Vec::new();
        e
    }

    /// The bytes the body buffer holds room for.
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.body.capacity()
    }
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
    /// Frames over `sock`, messages of at most `max` bytes either way.
    pub(crate) fn new(sock: UnixStream, max: usize) -> io::Result<Self> {
        Ok(Self {
            sock,
            shared: Arc::new(Shared {
                max: AtomicUsize::new(max),
                reader: Mutex::new(Decoder::new(max)),
                writer: Mutex::new(()),
            }),
        })
    }

    /// `fcntl(F_DUPFD_CLOEXEC)`; the copy shares the limit, the decoder and the locks.
    pub(crate) fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            sock: self.sock.try_clone()?,
            shared: Arc::clone(&self.shared),
        })
    }

    pub(crate) fn max_message_size(&self) -> usize {
        self.shared.max.load(Ordering::Relaxed)
    }

    pub(crate) fn set_max_message_size(&self, max: usize) {
        self.shared.max.store(max, Ordering::Relaxed);
    }

    /// `sendmsg(MSG_NOSIGNAL)` of header and message, continued (with `poll(POLLOUT)`) until
    /// the whole frame is out once any of it is. A message over the limit (or over
    /// `u32::MAX` bytes, what a header can say) is `InvalidInput`, and nothing is sent.
    pub(crate) fn send(&self, msg: &[u8]) -> io::Result<()> {
        let max = self.max_message_size();
        let Some(len) = u32::try_from(msg.len()).ok().filter(|_| msg.len() <= max) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a message of {} bytes is larger than the {}-byte limit (max_message_size, \
                     and at most 4 GiB - 1 bytes with framing)",
                    msg.len(),
                    max
                ),
            ));
        };
        let header = len.to_le_bytes();
        let total = header.len() + msg.len();
        let _guard = lock(&self.shared.writer);
        let mut sent = 0;
        while sent < total {
            let res = if sent < header.len() {
                let bufs = [IoSlice::new(&header[sent..]), IoSlice::new(msg)];
                super::fd_io::send_vectored(self.sock.as_fd(), &bufs)
            } else {
                super::fd_io::send(self.sock.as_fd(), &msg[sent - header.len()..])
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
    /// inside a frame is `UnexpectedEof`; a header over the limit is `InvalidData`; after
    /// either, every call returns that error again.
    pub(crate) fn recv_vec(&self) -> io::Result<Option<Vec<u8>>> {
        let mut dec = lock(&self.shared.reader);
        dec.set_max(self.max_message_size());
        loop {
            let n = read_some(&self.sock, dec.space()?)?;
            match dec.advance(n)? {
                Progress::More => {}
                Progress::Message(msg) => return Ok(Some(msg)),
                Progress::End => return Ok(None),
            }
        }
    }

    pub(crate) fn sock(&self) -> &UnixStream {
        &self.sock
    }

    /// The socket; a frame partly received or sent by then is lost with the decoder.
    pub(crate) fn into_sock(self) -> UnixStream {
        self.sock
    }

    /// The room the receive buffer holds now.
    #[cfg(test)]
    fn recv_capacity(&self) -> usize {
        lock(&self.shared.reader).capacity()
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

    const MAX: usize = 16 << 20;

    fn pair() -> (Framed, Framed) {
        let (a, b) = UnixStream::pair().unwrap();
        (Framed::new(a, MAX).unwrap(), Framed::new(b, MAX).unwrap())
    }

    /// Feeds `input` to `dec` as a peer would, as much as `space` asks for at a time.
    fn feed(dec: &mut Decoder, mut input: &[u8]) -> Vec<io::Result<Progress>> {
        let mut out = Vec::new();
        while !input.is_empty() {
            let space = match dec.space() {
                Ok(space) => space,
                Err(e) => {
                    out.push(Err(e));
                    break;
                }
            };
            let n = space.len().min(input.len());
            space[..n].copy_from_slice(&input[..n]);
            input = &input[n..];
            match dec.advance(n) {
                Ok(Progress::More) => {}
                Err(e) => {
                    out.push(Err(e));
                    break;
                }
                r => out.push(r),
            }
        }
        out
    }

    fn frame(msg: &[u8]) -> Vec<u8> {
        let mut f = u32::try_from(msg.len()).unwrap().to_le_bytes().to_vec();
        f.extend_from_slice(msg);
        f
    }

    #[test]
    fn decoder_splits_frames_and_reports_end() {
        let mut dec = Decoder::new(100);
        let mut input = frame(b"one");
        input.extend(frame(b""));
        input.extend(frame(&[7; 100]));
        let got: Vec<_> = feed(&mut dec, &input)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            got,
            [
                Progress::Message(b"one".to_vec()),
                Progress::Message(Vec::new()),
                Progress::Message(vec![7; 100]),
            ]
        );
        dec.space().unwrap();
        assert_eq!(dec.advance(0).unwrap(), Progress::End);
        assert_eq!(dec.advance(0).unwrap(), Progress::End, "end stays the end");
    }

    /// After a framing error every later call returns it (same kind, same message): no
    /// phantom message, and the bytes after it are never parsed as frames.
    #[test]
    fn decoder_errors_are_sticky() {
        for (input, kind) in [
            (frame(&[1; 101]), io::ErrorKind::InvalidData),
            (vec![9, 0], io::ErrorKind::UnexpectedEof),
            (vec![9, 0, 0, 0, 1, 2], io::ErrorKind::UnexpectedEof),
        ] {
            let mut dec = Decoder::new(100);
            let mut results = feed(&mut dec, &input);
            if kind == io::ErrorKind::UnexpectedEof {
                dec.space().unwrap();
                results.push(dec.advance(0));
            }
            let first = match results.pop() {
                Some(Err(e)) => e,
                other => panic!("{input:?}: want an error, got {other:?}"),
            };
            assert_eq!(first.kind(), kind, "{first}");
            assert!(results.is_empty(), "{results:?}");
            let same = |r: io::Result<Progress>| {
                let e = r.unwrap_err();
                assert_eq!((e.kind(), e.to_string()), (kind, first.to_string()));
            };
            // A valid frame after the error is not decoded, nor is end of file.
            same(feed(&mut dec, &frame(b"ok")).pop().unwrap());
            same(dec.space().map(|_| Progress::More));
            same(dec.advance(0));
            same(dec.advance(4));
        }
    }

    /// A header alone reserves at most FIRST_PIECE bytes, whatever it announces, and the
    /// buffer then grows to at most twice what has arrived.
    #[test]
    fn decoder_grows_the_buffer_as_bytes_arrive() {
        let mut dec = Decoder::new(MAX);
        assert!(feed(&mut dec, &u32::try_from(MAX).unwrap().to_le_bytes()).is_empty());
        assert!(dec.space().unwrap().len() <= FIRST_PIECE);
        assert!(dec.capacity() <= FIRST_PIECE, "{} bytes", dec.capacity());
        let mut got = 0;
        while got < 4 << 20 {
            let n = dec.space().unwrap().len();
            assert_eq!(dec.advance(n).unwrap(), Progress::More);
            got += n;
            assert!(dec.capacity() <= 2 * got.max(FIRST_PIECE), "{got}");
        }
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
        let b = Framed::new(b, MAX).unwrap();
        put(&a, &[5, 0, 0, 0, b'x']);
        drop(a);
        assert_eq!(
            b.recv_vec().unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    /// Over a socket: after a header over the limit, every receive fails the same way even
    /// though a valid frame follows.
    #[test]
    fn oversized_header_is_invalid_data_for_good() {
        let (a, b) = UnixStream::pair().unwrap();
        let b = Framed::new(b, 1000).unwrap();
        put(&a, &1001u32.to_le_bytes());
        put(&a, &frame(b"after"));
        let first = b.recv_vec().unwrap_err();
        assert_eq!(first.kind(), io::ErrorKind::InvalidData);
        assert!(first.to_string().contains("1001 bytes"), "{first}");
        assert!(first.to_string().contains("1000-byte limit"), "{first}");
        for _ in 0..3 {
            let e = b.recv(&mut [0; 10]).unwrap_err();
            assert_eq!((e.kind(), e.to_string()), (first.kind(), first.to_string()));
            let e = b.recv_vec().unwrap_err();
            assert_eq!((e.kind(), e.to_string()), (first.kind(), first.to_string()));
        }
        let a = Framed::new(a, 1000).unwrap();
        let err = a.send(&[0; 1001]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("1001 bytes"), "{err}");
        a.send(&[0; 1000]).unwrap();
    }

    /// Over a socket: a header announcing the limit with no body reserves at most
    /// FIRST_PIECE bytes; the message then arrives whole.
    #[test]
    fn a_bare_header_reserves_little() {
        let (a, b) = UnixStream::pair().unwrap();
        let b = Framed::new(b, MAX).unwrap();
        b.sock().set_nonblocking(true).unwrap();
        put(&a, &u32::try_from(MAX).unwrap().to_le_bytes());
        assert_eq!(b.recv_vec().unwrap_err().kind(), io::ErrorKind::WouldBlock);
        assert!(b.recv_capacity() <= FIRST_PIECE, "{}", b.recv_capacity());
        let body: Vec<u8> = (0..MAX).map(|i| u8::try_from(i % 251).unwrap()).collect();
        b.sock().set_nonblocking(false).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| put(&a, &body));
            assert!(b.recv_vec().unwrap().unwrap() == body);
        });
    }

    /// A frame split across reads that would block resumes where it stopped.
    #[test]
    fn partial_frames_resume_after_would_block() {
        let (a, b) = UnixStream::pair().unwrap();
        let b = Framed::new(b, MAX).unwrap();
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
        let big: Vec<u8> = (0..4usize << 20)
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect();
        std::thread::scope(|s| {
            s.spawn(|| a.send(&big).unwrap());
            assert_eq!(b.recv_vec().unwrap().unwrap(), big);
        });
    }

    fn put(mut sock: &UnixStream, data: &[u8]) {
        std::io::Write::write_all(&mut sock, data).unwrap();
    }
}
