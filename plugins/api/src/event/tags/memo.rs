//! [`TagsMemo`]: one edit per shared [`Tags`] set, its result handed to every metric that
//! carries the set (the agent's default tags, added by the router).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::Tags;

/// Hashes a set's address: already unique, so one multiply spreads it (the low bits are
/// alignment); the memo looks one up for every metric, so it does not pay for SipHash. The
/// buffer encoder keys its shared lists and sets by address with it too.
#[derive(Default)]
pub(crate) struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_right(29);
    }
}

/// The result of one edit per shared tag set: `apply` runs the edit once for each set it
/// meets and hands every later metric carrying that set the same result.
///
/// Entries keep their input set alive (so its [`Tags::id`] cannot be reused); [`Self::sweep`]
/// forgets those no one else holds any more, which bounds the memo by the sets alive in
/// the sources' caches. Sets held by one metric only are edited directly, not remembered.
#[derive(Debug, Default)]
pub struct TagsMemo {
    map: HashMap<usize, (Tags, Tags), BuildHasherDefault<AddressHasher>>,
    swept_at: usize,
}

impl TagsMemo {
    /// An empty memo.
    pub fn new() -> Self {
        TagsMemo::default()
    }

    /// Applies `edit` to `tags`, through the memo when the set is shared.
    pub fn apply(&mut self, tags: &mut Tags, edit: impl FnOnce(&mut Tags)) {
        if tags.holders() <= 1 {
            edit(tags);
            return;
        }
        let id = tags.id();
        if let Some((_, out)) = self.map.get(&id) {
            *tags = out.clone();
            return;
        }
        let input = tags.clone();
        edit(tags);
        self.map.insert(id, (input, tags.clone()));
    }

    /// Forgets the sets only the memo holds, when the memo has grown since the last sweep.
    pub fn sweep(&mut self) {
        if self.map.len() < 2 * self.swept_at + 64 {
            return;
        }
        self.map.retain(|_, (input, _)| input.holders() > 1);
        self.swept_at = self.map.len();
    }

    /// Sets remembered.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
