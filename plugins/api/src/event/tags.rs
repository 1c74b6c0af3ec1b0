//! [`Tags`]: a metric's tag set, sorted by key with unique keys, immutable and shared.
//!
//! A scraped series carries the same tags sample after sample, scrape after scrape. Keeping
//! them behind one [`Arc`] makes a sample cost no tag allocation on the way in (the
//! prometheus input caches a series' set), through the buffer (a chunk writes a repeated set
//! once and its decoder shares one set per series) and on the way out (encoders recognise a
//! set they have written by pointer, [`Tags::id`]).
//!
//! A set is one allocation: its keys and values in one `str` behind their offsets
//! (`packed`), about a fifth of a list of `(String, String)` (a set of five tags took
//! twelve allocations and about 700 bytes; the 10,000 series of a scrape are held by the
//! prometheus input's cache, the router's memo and the metrics in flight). Readers get pairs
//! of `&str` ([`Tags::iter`], [`Tags::get`]); writers go through the copy-on-write methods,
//! which make a new set only when something changes. [`TagsBuilder`] makes sets from pairs
//! without a `String` per tag.
//!
//! [`TagsMemo`] lets a stage that edits every metric the same way (the agent's default
//! tags) edit each shared set once and hand the result to every metric carrying it.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

mod builder;
mod memo;
mod packed;

pub use builder::TagsBuilder;
pub(crate) use memo::AddressHasher;
pub use memo::TagsMemo;
pub use packed::Iter;

/// One tag as an owned pair: key and value.
pub type Tag = (String, String);

/// A sorted, unique-key tag set, shared on clone (see the module doc).
#[derive(Clone, Default)]
pub struct Tags(Option<Arc<str>>);

impl Tags {
    /// No tags.
    pub const fn new() -> Self {
        Tags(None)
    }

    /// The set of `tags` in any order; of duplicate keys, the last value stays.
    pub fn from_unsorted(tags: Vec<Tag>) -> Self {
        let mut b = TagsBuilder::new();
        for (k, v) in &tags {
            b.push(k, v);
        }
        b.build()
    }

    /// The set of `tags`, which the caller has sorted by key with unique keys (checked in
    /// debug builds; [`Tags::from_unsorted`] otherwise).
    pub fn from_sorted(tags: Vec<Tag>) -> Self {
        debug_assert!(
            tags.windows(2).all(|w| w[0].0 < w[1].0),
            "tags not sorted: {tags:?}"
        );
        Tags::from_sorted_pairs(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The set of `pairs`, sorted by key with unique keys (the caller's invariant).
    fn from_sorted_pairs<'a, I>(pairs: I) -> Self
    where
        I: Iterator<Item = (&'a str, &'a str)> + Clone,
    {
        let (count, len) = pairs
            .clone()
            .fold((0, 0), |(n, l), (k, v)| (n + 1, l + k.len() + v.len()));
        if count == 0 {
            return Tags(None);
        }
        Tags(Some(packed::pack(count, len, pairs, &mut String::new())))
    }

    fn view(&self) -> Option<packed::View<'_>> {
        self.0.as_deref().map(packed::View::new)
    }

    /// Number of tags.
    pub fn len(&self) -> usize {
        self.view().map_or(0, |v| v.len())
    }

    /// True when there are no tags.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The tags as `(key, value)` pairs, sorted by key.
    pub fn iter(&self) -> Iter<'_> {
        self.view().map_or(Iter::empty(), |v| v.iter())
    }

    /// The keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(k, _)| k)
    }

    /// The value of a tag.
    pub fn get(&self, key: &str) -> Option<&str> {
        let v = self.view()?;
        v.search(key).ok().map(|i| v.value(i))
    }

    /// The tags as owned pairs.
    pub fn to_vec(&self) -> Vec<Tag> {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// Adds or replaces a tag (a new set, unless the tag is already there with this value).
    pub fn insert(&mut self, key: String, value: String) {
        let (at, replaced) = match self.view().map(|v| (v.search(&key), v)) {
            Some((Ok(i), v)) if v.value(i) == value => return,
            Some((Ok(i), _)) => (i, true),
            Some((Err(i), _)) => (i, false),
            None => (0, false),
        };
        let skip = usize::from(replaced);
        let new = [(key.as_str(), value.as_str())];
        let pairs = self
            .iter()
            .take(at)
            .chain(new.iter().copied())
            .chain(self.iter().skip(at + skip));
        *self = Tags::from_sorted_pairs(pairs);
    }

    /// Adds a tag only when the key is absent.
    pub fn insert_if_absent(&mut self, key: &str, value: &str) {
        let at = match self.view().map(|v| v.search(key)) {
            Some(Ok(_)) => return,
            Some(Err(i)) => i,
            None => 0,
        };
        let new = [(key, value)];
        let pairs = self
            .iter()
            .take(at)
            .chain(new.iter().copied())
            .chain(self.iter().skip(at));
        *self = Tags::from_sorted_pairs(pairs);
    }

    /// Removes a tag, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let v = self.view()?;
        let i = v.search(key).ok()?;
        let value = v.value(i).to_owned();
        let pairs = self.iter().take(i).chain(self.iter().skip(i + 1));
        *self = Tags::from_sorted_pairs(pairs);
        Some(value)
    }

    /// Keeps the tags `keep` accepts (a new set only when one goes).
    pub fn retain(&mut self, mut keep: impl FnMut((&str, &str)) -> bool) {
        let kept: Vec<bool> = self.iter().map(&mut keep).collect();
        if kept.iter().all(|&k| k) {
            return;
        }
        let pairs = self
            .iter()
            .zip(kept.iter())
            .filter(|(_, k)| **k)
            .map(|(p, _)| p);
        *self = Tags::from_sorted_pairs(pairs);
    }

    /// Applies `edit` to an owned copy of the list and makes the set of the result (sorted,
    /// the last of a key kept): for arbitrary edits (renames, value rewrites).
    pub fn edit(&mut self, edit: impl FnOnce(&mut Vec<Tag>)) {
        let mut list = self.to_vec();
        edit(&mut list);
        let new = Tags::from_unsorted(list);
        if new != *self {
            *self = new;
        }
    }

    /// Sorts by key and removes duplicate keys. A set is always in order (every way of
    /// making one restores it), so this does nothing; kept for callers of the list form.
    pub fn normalize(&mut self) {}

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
        self.0
            .as_ref()
            .map_or(0, |a| Arc::as_ptr(a).cast::<u8>() as usize)
    }

    /// The set's layout as one string (empty when the set is): what a buffer writes to
    /// keep a set whole, to read it back with [`Tags::from_packed`].
    pub fn packed(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }

    /// The set whose [`Tags::packed`] layout is `bytes` (empty bytes: the empty set), in
    /// one copy; `None` when `bytes` are not exactly a layout a set has (see
    /// `packed::valid_layout`): untrusted bytes make a valid set or none.
    pub fn from_packed(bytes: &[u8]) -> Option<Tags> {
        if bytes.is_empty() {
            return Some(Tags::new());
        }
        packed::valid_layout(bytes).map(|s| Tags(Some(Arc::from(s))))
    }

    /// How many holders share this set (0 when empty): a cache may forget a set only it holds.
    pub fn holders(&self) -> usize {
        self.0.as_ref().map_or(0, Arc::strong_count)
    }

    /// Bytes the set's allocation holds (0 when empty), for memory estimates.
    pub fn heap_bytes(&self) -> usize {
        self.0
            .as_ref()
            .map_or(0, |s| s.len() + 2 * size_of::<usize>())
    }
}

impl<'a> IntoIterator for &'a Tags {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl From<Vec<Tag>> for Tags {
    fn from(tags: Vec<Tag>) -> Self {
        Tags::from_unsorted(tags)
    }
}

impl FromIterator<Tag> for Tags {
    fn from_iter<I: IntoIterator<Item = Tag>>(iter: I) -> Self {
        let mut b = TagsBuilder::new();
        for (k, v) in iter {
            b.push(&k, &v);
        }
        b.build()
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for Tags {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(iter: I) -> Self {
        let mut b = TagsBuilder::new();
        for (k, v) in iter {
            b.push(k, v);
        }
        b.build()
    }
}

impl PartialEq for Tags {
    fn eq(&self, other: &Tags) -> bool {
        // One list has one layout, so equal sets are equal strings.
        Tags::ptr_eq(self, other) || self.0.as_deref() == other.0.as_deref()
    }
}

impl Eq for Tags {}

impl PartialEq<[Tag]> for Tags {
    fn eq(&self, other: &[Tag]) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other)
                .all(|((k, v), (ok, ov))| k == ok && v == ov)
    }
}

impl PartialEq<Vec<Tag>> for Tags {
    fn eq(&self, other: &Vec<Tag>) -> bool {
        *self == **other
    }
}

impl<const N: usize> PartialEq<[Tag; N]> for Tags {
    fn eq(&self, other: &[Tag; N]) -> bool {
        *self == other[..]
    }
}

impl Hash for Tags {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.as_deref().unwrap_or("").hash(state);
    }
}

impl fmt::Debug for Tags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests;
