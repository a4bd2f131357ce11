//! FNV-1a (64 bits): the one stable hash swast uses for random-stream labels, config
//! hashes, checkpoint and cache checksums and cache keys. Never change its constants:
//! random streams, run-folder names and checksums written to disk depend on them.

/// An FNV-1a state, fed piece by piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Self {
        Self::new()
    }
}

impl Fnv {
    /// The offset basis.
    pub const fn new() -> Self {
        Fnv(0xCBF2_9CE4_8422_2325)
    }

    /// Feeds `b`.
    pub fn bytes(mut self, b: &[u8]) -> Self {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0100_0000_01B3);
        }
        self
    }

    /// Feeds `v` as 8 little-endian bytes.
    pub fn u64(self, v: u64) -> Self {
        self.bytes(&v.to_le_bytes())
    }
}

/// FNV-1a of `data`.
pub fn fnv1a(data: &[u8]) -> u64 {
    Fnv::new().bytes(data).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // the published FNV-1a 64 test vectors
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(Fnv::new().bytes(b"foo").bytes(b"bar").0, fnv1a(b"foobar"));
    }
}
