//! [`TagsMemo`]: one edit per shared [`Tags`] set, its result handed to every metric that
//! carries the set (the agent's default tags, added by the router).

use std::collections::HashMap;

use super::Tags;

/// The result of one edit per shared tag set: `apply` runs the edit once for each set it
/// meets and hands every later metric carrying that set the same result.
///
/// Entries keep their input set alive (so its [`Tags::id`] cannot be reused); [`Self::sweep`]
/// forgets those no one else holds any more, which bounds the memo by the sets alive in
/// the sources' caches. Sets held by one metric only are edited directly, not remembered.
#[derive(Debug, Default)]
pub struct TagsMemo {
    map: HashMap<usize, (Tags, Tags)>,
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
