//! The wire format of a handle record (Windows handle passing, `sys::windows::handle_records`):
//! bytes only, no OS calls, so it is compiled and unit-tested on every platform — it parses
//! what the peer sent, which is untrusted input.
//!
//! | bytes | field |
//! |---|---|
//! | 0..4 | tag `LIPH` |
//! | 4 | version: 2 |
//! | 5 | flags: 0 |
//! | 6..8 | handle count `n` (u16), at most [`MAX_HANDLES`] |
//! | 8..12 | data length (u32), at least 1 |
//! | 12..16 | id of the sending process (u32; 0 if `n` is 0) |
//! | 16..16+8n | the handle values (u64 each), valid in the sending process |
//! | then | the data |
//!
//! Integers are little-endian.
//!
//! Version 2 (the receiver pulls): the values are duplicates the sender made in its own
//! process and gave up, and the receiver takes them with `DuplicateHandle(DUPLICATE_CLOSE_SOURCE)`
//! from the process at the other end of the pipe. The pid field is only checked against
//! that process (the pipe says who it is, not the record). Version 1 named handles the
//! sender had already put into the receiver's process, which a receiver cannot verify; it
//! is refused.
#![cfg_attr(not(windows), allow(dead_code))] // used by the Windows backend and the tests

/// The most handles one record carries: Linux's `SCM_MAX_FD`, the same on every platform.
pub(crate) const MAX_HANDLES: usize = 253;

/// Bytes of a header.
pub(crate) const HEADER: usize = 16;

/// Bytes of one handle value after the header.
pub(crate) const VALUE: usize = 8;

const TAG: [u8; 4] = *b"LIPH";
const VERSION: u8 = 2;

/// A record's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    /// How many handle values follow.
    pub(crate) count: usize,
    /// Bytes of data after the values.
    pub(crate) len: u32,
    /// The sending process, where the values are valid (0 without handles).
    pub(crate) pid: u32,
}

impl Header {
    /// The 16 header bytes. `count` must be at most [`MAX_HANDLES`] (the sender checks); a
    /// larger one would be written as `u16::MAX` at most, which [`parse`](Self::parse) refuses.
    pub(crate) fn encode(&self) -> [u8; HEADER] {
        debug_assert!(self.count <= MAX_HANDLES);
        let mut h = [0; HEADER];
        h[..4].copy_from_slice(&TAG);
        h[4] = VERSION;
        let count = u16::try_from(self.count).unwrap_or(u16::MAX);
        h[6..8].copy_from_slice(&count.to_le_bytes());
        h[8..12].copy_from_slice(&self.len.to_le_bytes());
        h[12..16].copy_from_slice(&self.pid.to_le_bytes());
        h
    }

    /// Parses and checks the first [`HEADER`] bytes of `h` (shorter is an error): the tag,
    /// version and flags, at most [`MAX_HANDLES`] handles, at least one byte of data, and a
    /// sender's pid if there are handles. The error says what is wrong, for an
    /// `InvalidData` message. Whether the pid is the pipe's peer is the receiver's check.
    pub(crate) fn parse(h: &[u8]) -> Result<Self, String> {
        let Some(h) = h.get(..HEADER) else {
            return Err(format!("a header of {} bytes, not {HEADER}", h.len()));
        };
        let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        if h[..4] != TAG {
            return Err(format!(
                "the bytes {:02x?} are not the tag \"LIPH\"; on Windows every byte read with \
                 recv_with_handles must have been sent with send_with_handles",
                &h[..4]
            ));
        }
        if h[4] != VERSION {
            return Err(format!(
                "version {} (this build reads version {VERSION})",
                h[4]
            ));
        }
        if h[5] != 0 {
            return Err(format!("unknown flags {:#04x}", h[5]));
        }
        let count = usize::from(u16::from_le_bytes([h[6], h[7]]));
        if count > MAX_HANDLES {
            return Err(format!(
                "{count} handles announced, more than MAX_HANDLES ({MAX_HANDLES})"
            ));
        }
        let len = u32_at(8);
        if len == 0 {
            return Err("no data (handles travel with at least one byte)".into());
        }
        let pid = u32_at(12);
        if count > 0 && pid == 0 {
            return Err(format!("{count} handles from process 0"));
        }
        Ok(Self { count, len, pid })
    }

    /// Bytes of the header and the handle values (the *head*).
    pub(crate) fn head_len(&self) -> usize {
        HEADER + VALUE * self.count
    }
}

/// The handle values in `bytes` (8 each; a multiple of 8 bytes). Values that cannot be
/// handles a sender made with `DuplicateHandle` — 0, not a multiple of 4 (the low two bits
/// are tag bits Windows ignores, so `v | 1` would alias `v`), or above `u32::MAX`
/// (pseudo-handles are negative) — are an error, and then none is returned.
pub(crate) fn parse_values(bytes: &[u8]) -> Result<Vec<usize>, String> {
    if bytes.len() % VALUE != 0 {
        return Err(format!(
            "{} bytes of handle values, not a multiple of {VALUE}",
            bytes.len()
        ));
    }
    bytes
        .chunks_exact(VALUE)
        .map(|chunk| {
            let mut b = [0; VALUE];
            b.copy_from_slice(chunk);
            let v = u64::from_le_bytes(b);
            match usize::try_from(v) {
                Ok(v) if v != 0 && v % 4 == 0 && v <= u32::MAX as usize => Ok(v),
                _ => Err(format!("impossible handle value {v:#x}")),
            }
        })
        .collect()
}

/// The values as they go after the header.
pub(crate) fn encode_values(values: &[u64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: u32 = 4242;

    #[test]
    fn headers_round_trip() {
        for (count, len, pid) in [(0, 1, 0), (1, 5, ME), (MAX_HANDLES, u32::MAX, ME)] {
            let h = Header { count, len, pid };
            assert_eq!(Header::parse(&h.encode()), Ok(h));
            assert_eq!(h.head_len(), 16 + 8 * count);
        }
        let values = [4u64, 8, 0xffff_fffc];
        let parsed = parse_values(&encode_values(&values)).unwrap();
        assert_eq!(parsed, [4, 8, 0xffff_fffc]);
    }

    #[test]
    fn every_bad_field_is_named() {
        let good = Header {
            count: 2,
            len: 10,
            pid: ME,
        }
        .encode();
        let cases: [(usize, u8, &str); 4] = [
            (0, b'X', "tag"),
            (4, 1, "version 1"),
            (5, 1, "flags"),
            (7, 1, "more than MAX_HANDLES"),
        ];
        for (at, byte, says) in cases {
            let mut h = good;
            h[at] = byte;
            let err = Header::parse(&h).unwrap_err();
            assert!(err.contains(says), "byte {at} = {byte}: {err}");
        }
        let mut no_pid = good;
        no_pid[12..16].fill(0);
        assert!(Header::parse(&no_pid)
            .unwrap_err()
            .contains("from process 0"));
        let mut no_data = good;
        no_data[8..12].fill(0);
        assert!(Header::parse(&no_data).unwrap_err().contains("no data"));
        assert!(Header::parse(&good[..15]).unwrap_err().contains("15 bytes"));
        // Without handles, the pid does not matter.
        let plain = Header {
            count: 0,
            len: 3,
            pid: 0,
        };
        assert_eq!(Header::parse(&plain.encode()), Ok(plain));
    }

    #[test]
    fn impossible_values_are_refused() {
        for v in [0u64, 5, 6, u64::MAX - 1, 1 << 32] {
            let err = parse_values(&encode_values(&[8, v])).unwrap_err();
            assert!(err.contains("impossible handle value"), "{v:#x}: {err}");
        }
        assert!(parse_values(&[1, 2, 3])
            .unwrap_err()
            .contains("multiple of 8"));
    }

    /// Arbitrary bytes (and arbitrary single-byte changes to good headers) never panic, and
    /// whatever parses obeys the limits.
    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let good = Header {
            count: 3,
            len: 7,
            pid: ME,
        }
        .encode();
        for i in 0..200_000 {
            let bytes: Vec<u8> = if i % 2 == 0 {
                let n = (next() % 40) as usize;
                (0..n).map(|_| next().to_le_bytes()[0]).collect()
            } else {
                let mut h = good.to_vec();
                let at = usize::try_from(next() % HEADER as u64).unwrap();
                h[at] = next().to_le_bytes()[0];
                h
            };
            if let Ok(h) = Header::parse(&bytes) {
                assert!(h.count <= MAX_HANDLES && h.len > 0);
                assert!(h.count == 0 || h.pid != 0);
                assert_eq!(h.encode()[..], bytes[..HEADER]);
            }
            let _ = parse_values(&bytes);
        }
    }
}
