//! The handshake over the local socket, and the region layout it agrees on.
//!
//! The creator sends one 40-byte hello, with the region's handle and the wake handles of
//! both rings (`send_with_handles`); the joiner checks every field, maps the region and
//! answers with a 16-byte acknowledgement. All integers little-endian.
//!
//! | offset | field |
//! |---|---|
//! | 0 | magic `b"lipc-shm"` |
//! | 8 | version `u32` (1) |
//! | 12 | page size `u32` (must equal the joiner's) |
//! | 16 | capacity creator → joiner `u32` |
//! | 20 | capacity joiner → creator `u32` |
//! | 24 | region length `u64` (must equal what the capacities and page size give) |
//! | 32 | wake handles per ring `u32` (after the region's handle: the creator → joiner ring's, then the other's) |
//! | 36 | 0 `u32` |
//!
//! The region holds the creator → joiner ring at offset 0, then the other, each
//! `HEADER_LEN + capacity` rounded up to the page size. The acknowledgement is `b"lipc-ack"`,
//! the version, and 0.
//!
//! Both sides run over a [`Channel`]: the sync [`LocalSocketStream`] itself, or (Windows,
//! `shm::tokio`) a tokio stream driven from a blocking thread, so there is one handshake.

use super::options::valid_capacity;
use super::ring::{self, Consumer, Producer, HEADER_LEN};
use crate::handle::{BorrowedHandle, OwnedHandle};
use crate::local_socket::LocalSocketStream;
use crate::sys::shm::{self as sys_shm, Mapping, RingBells};
use std::io::{self, Read, Write};

const MAGIC: [u8; 8] = *b"lipc-shm";
const ACK: [u8; 8] = *b"lipc-ack";
const VERSION: u32 = 1;
const HELLO_LEN: usize = 40;
const ACK_LEN: usize = 16;
/// The most wake handles per ring any backend uses, with room to spare.
const MAX_BELLS: usize = 4;

/// The four calls the handshake makes on its connection, each blocking until done (or the
/// channel's timeout).
pub(crate) trait Channel {
    /// As [`LocalSocketStream::send_with_handles`]: the bytes sent (maybe fewer than `data`).
    fn send_with_handles(&self, data: &[u8], handles: &[BorrowedHandle<'_>]) -> io::Result<usize>;
    /// All of `buf`.
    fn write_all(&self, buf: &[u8]) -> io::Result<()>;
    /// All of `buf`; `UnexpectedEof` if the connection ends first.
    fn read_exact(&self, buf: &mut [u8]) -> io::Result<()>;
    /// As [`LocalSocketStream::recv_with_handles`]: bytes into `buf`, handles appended to `out`.
    fn recv_with_handles(&self, buf: &mut [u8], out: &mut Vec<OwnedHandle>) -> io::Result<usize>;
}

/// The sync stream: its own calls (`read_exact`/`write_all` through `&LocalSocketStream`).
impl Channel for LocalSocketStream {
    fn send_with_handles(&self, data: &[u8], handles: &[BorrowedHandle<'_>]) -> io::Result<usize> {
        LocalSocketStream::send_with_handles(self, data, handles)
    }
    fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        Write::write_all(&mut &*self, buf)
    }
    fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        Read::read_exact(&mut &*self, buf).map_err(timed_out)
    }
    fn recv_with_handles(&self, buf: &mut [u8], out: &mut Vec<OwnedHandle>) -> io::Result<usize> {
        LocalSocketStream::recv_with_handles(self, buf, out).map_err(timed_out)
    }
}

/// A read that ran out of time is `TimedOut`, on every platform: Unix reports a socket's read
/// timeout as `EAGAIN` (`WouldBlock`), Windows as `TimedOut` already.
fn timed_out(e: io::Error) -> io::Error {
    if e.kind() != io::ErrorKind::WouldBlock {
        return e;
    }
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!(
            "shared memory handshake: the peer did not answer before the connection's read \
             timeout (or the connection is nonblocking): {e}"
        ),
    )
}

/// Everything a connected end holds, the mapping last so that it outlives the ring ends
/// (which point into it) when dropped in field order.
#[derive(Debug)]
pub(crate) struct Parts {
    pub(crate) tx: Producer,
    pub(crate) rx: Consumer,
    pub(crate) tx_bells: RingBells,
    pub(crate) rx_bells: RingBells,
    pub(crate) tx_capacity: u32,
    pub(crate) rx_capacity: u32,
    pub(crate) map: Mapping,
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("shared memory handshake: {}", msg.into()),
    )
}

/// The bytes a ring of `capacity` takes in the region: header and data, rounded up to `page`.
fn ring_len(capacity: u32, page: usize) -> Option<usize> {
    let raw = HEADER_LEN.checked_add(usize::try_from(capacity).ok()?)?;
    raw.checked_next_multiple_of(page)
}

/// The two rings' lengths.
fn layout(c2j: u32, j2c: u32, page: usize) -> Option<(usize, usize)> {
    let a = ring_len(c2j, page)?;
    let b = ring_len(j2c, page)?;
    a.checked_add(b)?;
    Some((a, b))
}

/// The ring ends over a mapping: producer of the ring at `tx_off`, consumer of `rx_off`.
fn ends(
    map: &Mapping,
    (tx_off, tx_len, tx_cap): (usize, usize, u32),
    (rx_off, rx_len, rx_cap): (usize, usize, u32),
) -> io::Result<(Producer, Consumer)> {
    if tx_off + tx_len > map.len() || rx_off + rx_len > map.len() {
        return Err(invalid("region too small for its rings"));
    }
    // SAFETY: both ranges lie inside the mapping (checked above); the mapping is kept in the
    // same `Parts` as the ends and dropped after them, so it is valid for their whole life;
    // the peer writing it at any time is what the ring is built for. One producer and one
    // consumer per ring on this side.
    unsafe {
        let base = map.as_ptr();
        Ok((
            Producer::new(base.add(tx_off), tx_len, tx_cap)?,
            Consumer::new(base.add(rx_off), rx_len, rx_cap)?,
        ))
    }
}

/// The creating side: makes the region and the bells, sends them, waits for the ack.
pub(crate) fn create(conn: &impl Channel, capacity: u32) -> io::Result<Parts> {
    let page = sys_shm::page_size();
    let page32 = u32::try_from(page).map_err(|_| io::Error::other("page size over 4 GiB"))?;
    let (a, b) = layout(capacity, capacity, page).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "shared memory: region too large",
        )
    })?;
    let (fd, map) = sys_shm::create(a + b)?;
    // SAFETY: each ring lies inside the fresh mapping, which nobody uses yet.
    unsafe {
        ring::init(map.as_ptr(), a, capacity)?;
        ring::init(map.as_ptr().add(a), b, capacity)?;
    }
    let tx_bells = RingBells::create()?;
    let rx_bells = RingBells::create()?;
    let (tx_h, rx_h) = (tx_bells.handles(), rx_bells.handles());
    if tx_h.len() != rx_h.len() || tx_h.len() > MAX_BELLS {
        return Err(io::Error::other(
            "shared memory: backend bell count out of range",
        ));
    }
    let mut hello = [0u8; HELLO_LEN];
    hello[0..8].copy_from_slice(&MAGIC);
    hello[8..12].copy_from_slice(&VERSION.to_le_bytes());
    hello[12..16].copy_from_slice(&page32.to_le_bytes());
    hello[16..20].copy_from_slice(&capacity.to_le_bytes());
    hello[20..24].copy_from_slice(&capacity.to_le_bytes());
    hello[24..32].copy_from_slice(&u64::try_from(a + b).unwrap_or(u64::MAX).to_le_bytes());
    let per_ring = u32::try_from(tx_h.len()).unwrap_or(u32::MAX);
    hello[32..36].copy_from_slice(&per_ring.to_le_bytes());
    let mut handles: Vec<BorrowedHandle<'_>> = Vec::with_capacity(1 + 2 * MAX_BELLS);
    handles.push(borrow(&fd));
    handles.extend(tx_h);
    handles.extend(rx_h);
    let sent = conn.send_with_handles(&hello, &handles)?;
    drop(handles);
    conn.write_all(&hello[sent..])?;
    drop(fd); // the peer has its own; the mapping keeps the memory
    let mut ack = [0u8; ACK_LEN];
    conn.read_exact(&mut ack).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            io::Error::new(
                e.kind(),
                "shared memory handshake: the peer closed the connection instead of joining",
            )
        } else {
            e
        }
    })?;
    if ack[0..8] != ACK || ack[8..12] != VERSION.to_le_bytes() || ack[12..16] != [0; 4] {
        return Err(invalid("the peer's acknowledgement is not one"));
    }
    let (tx, rx) = ends(&map, (0, a, capacity), (a, b, capacity))?;
    Ok(Parts {
        tx,
        rx,
        tx_bells,
        rx_bells,
        tx_capacity: capacity,
        rx_capacity: capacity,
        map,
    })
}

fn borrow(h: &OwnedHandle) -> BorrowedHandle<'_> {
    #[cfg(unix)]
    return std::os::fd::AsFd::as_fd(h);
    #[cfg(windows)]
    return std::os::windows::io::AsHandle::as_handle(h);
}

fn u32_at(b: &[u8; HELLO_LEN], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The joining side: receives and checks the hello, maps the region, sends the ack.
pub(crate) fn join(conn: &impl Channel) -> io::Result<Parts> {
    let mut hello = [0u8; HELLO_LEN];
    let mut handles: Vec<OwnedHandle> = Vec::with_capacity(1 + 2 * MAX_BELLS);
    let n = conn.recv_with_handles(&mut hello, &mut handles)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "shared memory handshake: the peer closed the connection before its hello",
        ));
    }
    conn.read_exact(&mut hello[n..]).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            invalid("the peer's hello is cut short")
        } else {
            e
        }
    })?;
    if hello[0..8] != MAGIC {
        return Err(invalid(
            "wrong magic (is the peer calling ShmStream::create?)",
        ));
    }
    let version = u32_at(&hello, 8);
    if version != VERSION {
        return Err(invalid(format!("version {version}, expected {VERSION}")));
    }
    let page = sys_shm::page_size();
    let peer_page = u32_at(&hello, 12);
    if usize::try_from(peer_page).ok() != Some(page) {
        return Err(invalid(format!("page size {peer_page}, ours is {page}")));
    }
    let (c2j, j2c) = (u32_at(&hello, 16), u32_at(&hello, 20));
    if !valid_capacity(c2j) || !valid_capacity(j2c) {
        return Err(invalid(format!("capacities {c2j}/{j2c} out of range")));
    }
    let (a, b) = layout(c2j, j2c, page).ok_or_else(|| invalid("region too large"))?;
    let mut len8 = [0u8; 8];
    len8.copy_from_slice(&hello[24..32]);
    let region_len = u64::from_le_bytes(len8);
    if u64::try_from(a + b).ok() != Some(region_len) {
        return Err(invalid(format!(
            "region length {region_len}, expected {} for capacities {c2j}/{j2c}",
            a + b
        )));
    }
    let per_ring = usize::try_from(u32_at(&hello, 32)).unwrap_or(usize::MAX);
    if u32_at(&hello, 36) != 0 || per_ring > MAX_BELLS || handles.len() != 1 + 2 * per_ring {
        return Err(invalid(format!(
            "{} handles for {per_ring} wake handles per ring",
            handles.len()
        )));
    }
    let j2c_bells = handles.split_off(1 + per_ring);
    let c2j_bells = handles.split_off(1);
    let region = handles.pop().ok_or_else(|| invalid("no region handle"))?;
    // The creator → joiner ring is ours to consume, the other ours to produce.
    let rx_bells = RingBells::from_received(c2j_bells)?;
    let tx_bells = RingBells::from_received(j2c_bells)?;
    let map = sys_shm::map_received(borrow(&region), a + b)?;
    drop(region);
    let (tx, rx) = ends(&map, (a, b, j2c), (0, a, c2j))?;
    let mut ack = [0u8; ACK_LEN];
    ack[0..8].copy_from_slice(&ACK);
    ack[8..12].copy_from_slice(&VERSION.to_le_bytes());
    conn.write_all(&ack)?;
    Ok(Parts {
        tx,
        rx,
        tx_bells,
        rx_bells,
        tx_capacity: j2c,
        rx_capacity: c2j,
        map,
    })
}
