//! [`Tags`]: a metric's tag set, sorted by key with unique keys, immutable and shared.
//!
//! A scraped series carries the same tags sample after sample, scrape after scrape. Keeping
//! them behind one [`Arc`] makes a sample cost no tag allocation on the way in (the
//! prometheus input caches a series' set), through the buffer (a chunk writes a repeated set
//! once and its decoder shares one set per series) and on the way out (encoders recognise a
//! set they have written by pointer, [`Tags::id`]). Readers see a sorted slice (`Deref`);
//! writers go through the copy-on-write methods, which copy the set only when it is shared.
//!
//! [`TagsMemo`] lets a stage that edits every metric the same way (the agent's default
//! tags) edit each shared set once and hand the result to every metric carrying it.

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// One tag: key and value.
pub type Tag = (String, String);

/// A sorted, unique-key tag set, shared on clone (see the module doc).
#[derive(Clone, Default)]
pub struct Tags(Option<Arc<Vec<Tag>>>);

impl Tags {
    /// No tags.
    pub const fn new() -> Self {
        Tags(None)
    }

    /// The set of `tags` in any order; of duplicate keys, the last value stays.
    pub fn from_unsorted(mut tags: Vec<Tag>) -> Self {
        normalize(&mut tags);
        Tags::from_sorted(tags)
    }

    /// The set of `tags`, which the caller has sorted by key with unique keys (checked in
    /// debug builds; [`Tags::from_unsorted`] otherwise).
    pub fn from_sorted(tags: Vec<Tag>) -> Self {
        debug_assert!(is_sorted_unique(&tags), "tags not sorted: {tags:?}");
        if tags.is_empty() {
            Tags(None)
        } else {
            Tags(Some(Arc::new(tags)))
        }
    }

    /// The tags as a sorted slice.
    pub fn as_slice(&self) -> &[Tag] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }

    /// The value of a tag.
    pub fn get(&self, key: &str) -> Option<&str> {
        let t = self.as_slice();
        t.binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| t[i].1.as_str())
    }

    /// Adds or replaces a tag (copying the set first when it is shared).
    pub fn insert(&mut self, key: String, value: String) {
        match self.search(&key) {
            Ok(i) if self.as_slice()[i].1 == value => {}
            Ok(i) => self.make_mut()[i].1 = value,
            Err(i) => self.make_mut().insert(i, (key, value)),
        }
    }

    /// Adds a tag only when the key is absent.
    pub fn insert_if_absent(&mut self, key: &str, value: &str) {
        if let Err(i) = self.search(key) {
            self.make_mut()
                .insert(i, (key.to_owned(), value.to_owned()));
        }
    }

    /// Removes a tag, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.search(key).ok()?;
        let (_, v) = self.make_mut().remove(i);
        self.drop_if_empty();
        Some(v)
    }

    /// Keeps the tags `keep` accepts (copying the set only when one goes).
    pub fn retain(&mut self, mut keep: impl FnMut(&Tag) -> bool) {
        if self.iter().all(&mut keep) {
            return;
        }
        self.make_mut().retain(keep);
        self.drop_if_empty();
    }

    /// Applies `edit` to an owned copy of the list (or the list itself when not shared) and
    /// restores the order and uniqueness of keys afterwards: for arbitrary edits (renames,
    /// value rewrites).
    pub fn edit(&mut self, edit: impl FnOnce(&mut Vec<Tag>)) {
        let list = self.make_mut();
        edit(list);
        normalize(list);
        self.drop_if_empty();
    }

    /// Sorts by key and removes duplicate keys (the last value stays); copies nothing when
    /// the set is already in order.
    pub fn normalize(&mut self) {
        if !is_sorted_unique(self.as_slice()) {
            normalize(self.make_mut());
        }
    }

    /// Whether `a` and `b` are one shared set (two empty sets are too).
    pub fn ptr_eq(a: &Tags, b: &Tags) -> bool {
        match (&a.0, &b.0) {
            (Some(x), Some(y)) => Arc::ptr_eq(x, y),
            (None, None) => true,
            _ => false,
        }
    }

    /// An identity for the shared set, stable while any clone of it lives (0 when empty):
    /// encoders key what they wrote for a set by it. Hold a clone of the set alongside the
    /// key, or the address may be reused by another set.
    pub fn id(&self) -> usize {
        self.0.as_ref().map_or(0, |a| Arc::as_ptr(a) as usize)
    }

    /// How many holders share this set (0 when empty): a cache may forget a set only it holds.
    pub fn holders(&self) -> usize {
        self.0.as_ref().map_or(0, Arc::strong_count)
    }

    /// Drops spare capacity (an insert into a copied set doubles it) when not shared: for
    /// sets that a cache keeps.
    pub fn shrink(&mut self) {
        if let Some(v) = self.0.as_mut().and_then(Arc::get_mut) {
            v.shrink_to_fit();
        }
    }

    fn search(&self, key: &str) -> Result<usize, usize> {
        self.as_slice()
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    fn make_mut(&mut self) -> &mut Vec<Tag> {
        Arc::make_mut(self.0.get_or_insert_with(Default::default))
    }

    fn drop_if_empty(&mut self) {
        if self.0.as_ref().is_some_and(|v| v.is_empty()) {
            self.0 = None;
        }
    }
}

fn is_sorted_unique(tags: &[Tag]) -> bool {
    tags.windows(2).all(|w| w[0].0 < w[1].0)
}

/// Stable sort by key, keeping the last value of each key.
fn normalize(tags: &mut Vec<Tag>) {
    if is_sorted_unique(tags) {
        return;
    }
    tags.sort_by(|a, b| a.0.cmp(&b.0));
    // Of a run of equal keys keep the last: walk backwards, keep a key's first sighting.
    let mut out: Vec<Tag> = Vec::with_capacity(tags.len());
    for t in tags.drain(..).rev() {
        if out.last().is_none_or(|l: &Tag| l.0 != t.0) {
            out.push(t);
        }
    }
    out.reverse();
    *tags = out;
}

impl Deref for Tags {
    type Target = [Tag];

    fn deref(&self) -> &[Tag] {
        self.as_slice()
    }
}

impl<'a> IntoIterator for &'a Tags {
    type Item = &'a Tag;
    type IntoIter = std::slice::Iter<'a, Tag>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl From<Vec<Tag>> for Tags {
    fn from(tags: Vec<Tag>) -> Self {
        Tags::from_unsorted(tags)
    }
}

impl FromIterator<Tag> for Tags {
    fn from_iter<I: IntoIterator<Item = Tag>>(iter: I) -> Self {
        Tags::from_unsorted(iter.into_iter().collect())
    }
}

impl PartialEq for Tags {
    fn eq(&self, other: &Tags) -> bool {
        Tags::ptr_eq(self, other) || self.as_slice() == other.as_slice()
    }
}

impl Eq for Tags {}

impl PartialEq<Vec<Tag>> for Tags {
    fn eq(&self, other: &Vec<Tag>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<[Tag]> for Tags {
    fn eq(&self, other: &[Tag]) -> bool {
        self.as_slice() == other
    }
}

impl<const N: usize> PartialEq<[Tag; N]> for Tags {
    fn eq(&self, other: &[Tag; N]) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Hash for Tags {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl fmt::Debug for Tags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// The result of one edit per shared tag set: `apply` runs the edit once for each set it
/// meets and hands every later metric carrying that set the same result.
///
/// Entries keep their input set alive (so its [`Tags::id`] cannot be reused); [`Self::sweep`]
/// forgets those no one else holds any more, which bounds the memo by the sets alive in
/// the sources' caches. Sets held by one metric only are edited in place, not remembered.
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
        tags.shrink();
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

#[cfg(test)]
mod tests;
