//! The one small random source of the agent: xorshift64 (G. Marsaglia, "Xorshift RNGs",
//! 2003). Cheap, with no dependency, and good enough for what it serves: the jitter of
//! gather ticks and retry delays, reservoir slots of statsd timers. It is not for secrets.
//!
//! The state is a plain `u64` that the caller keeps and seeds (from the clock in production,
//! fixed in tests, so that distributions are tested deterministically).

/// A valid state from any seed: xorshift64 must not start at 0 (it would stay there).
#[inline]
pub const fn seed(seed: u64) -> u64 {
    seed | 1
}

/// A state seeded from the clock and `salt` (two callers started in the same nanosecond
/// still differ by their salts).
pub fn seed_from_clock(salt: u64) -> u64 {
    seed(crate::now_ns().unsigned_abs() ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Advances `state` and returns the new word (never 0 from a non-zero state).
#[inline]
pub fn xorshift64(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_sequence_and_never_stuck() {
        // Marsaglia's triple (13, 7, 17) from state 1.
        let mut s = seed(0);
        assert_eq!(xorshift64(&mut s), 0x0000_0000_4082_2041);
        let mut s = seed_from_clock(7);
        assert_ne!(s, 0);
        for _ in 0..10_000 {
            assert_ne!(xorshift64(&mut s), 0);
        }
    }
}
