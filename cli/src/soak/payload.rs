//! Payloads of random size and content, and checking that they came back intact.

use std::io;

/// A small, fast pseudo-random generator (xorshift64*): reproducible, no dependency.
#[derive(Clone, Debug)]
pub(super) struct Rng(u64);

impl Rng {
    /// A generator for stream number `seed` (any value; 0 is fine).
    pub(super) fn new(seed: u64) -> Self {
        // SplitMix64 finaliser: neighbouring seeds give unrelated streams, never 0.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Self((z ^ (z >> 31)) | 1)
    }

    /// The next 64 random bits.
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A size from 1 to `max`, uniformly (`max` ≥ 1).
    pub(super) fn size(&mut self, max: usize) -> usize {
        1 + usize::try_from(self.next_u64() % max as u64).expect("below max, a usize")
    }

    /// Replaces `buf`'s content with `len` random bytes.
    pub(super) fn fill(&mut self, buf: &mut Vec<u8>, len: usize) {
        buf.clear();
        while buf.len() < len {
            let word = self.next_u64().to_le_bytes();
            let take = (len - buf.len()).min(word.len());
            buf.extend_from_slice(&word[..take]);
        }
    }
}

/// Checks that `got` is exactly `sent`; the error says where they first differ.
pub(super) fn check(sent: &[u8], got: &[u8]) -> io::Result<()> {
    if let Some(at) = sent.iter().zip(got).position(|(a, b)| a != b) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("echo differs at byte {at} of {}", sent.len()),
        ));
    }
    if got.len() != sent.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("echo has {} bytes, {} were sent", got.len(), sent.len()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_fill_and_check() {
        let mut rng = Rng::new(0);
        let mut buf = Vec::new();
        for _ in 0..1000 {
            let len = rng.size(100);
            assert!((1..=100).contains(&len));
            rng.fill(&mut buf, len);
            assert_eq!(buf.len(), len);
        }
        rng.fill(&mut buf, 64);
        assert!(check(&buf, &buf).is_ok());
        let mut other = buf.clone();
        other[10] ^= 1;
        assert!(check(&buf, &other)
            .unwrap_err()
            .to_string()
            .contains("byte 10"));
        assert!(check(&buf, &buf[..63])
            .unwrap_err()
            .to_string()
            .contains("63 bytes"));
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }
}
