//! [`Key`]: the name of a log record's attribute, cheap to copy because names repeat.
//!
//! Every record of a source carries the same few names (`syslog.proc_id`,
//! `log.level`, `k8s.pod`): as a `String` each record paid an allocation and a free per
//! name, on the way in and again when a buffer chunk is decoded. A `Key` is either a
//! `&'static str` (names known at compile time: no allocation ever) or an `Arc<str>` that a
//! producer makes once and clones per record (a reference count, no allocation; see
//! [`KeyCache`]). It compares, hashes, orders and prints as the text it holds, however it is
//! held, and derefs to `&str`, so reading code treats it as a string.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// An attribute name: static text or shared text (see the module doc). 16 bytes of text
/// reference and a tag: the size of a `String`.
#[derive(Clone)]
pub struct Key(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Shared(Arc<str>),
}

impl Key {
    /// A name known at compile time; no allocation.
    pub const fn from_static(s: &'static str) -> Key {
        Key(Repr::Static(s))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Shared(s) => s,
        }
    }

    /// Whether `other` is this very text in memory (the same address and length), and so
    /// the same name: a quick test for the names a producer hands out once and clones (see
    /// [`KeyCache`]). A miss says nothing; equal names elsewhere in memory compare unequal
    /// here. Whoever remembers a key to compare later holds a clone of it, so its text is not
    /// freed and its address reused meanwhile.
    pub fn same_text(&self, other: &Key) -> bool {
        let (a, b) = (self.as_str(), other.as_str());
        std::ptr::eq(a.as_ptr(), b.as_ptr()) && a.len() == b.len()
    }

    /// An owned copy of the text.
    pub fn to_string_owned(&self) -> String {
        self.as_str().to_owned()
    }
}

impl Deref for Key {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Key {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Key {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Key {
    fn from(s: &str) -> Key {
        Key(Repr::Shared(Arc::from(s)))
    }
}

impl From<String> for Key {
    fn from(s: String) -> Key {
        Key(Repr::Shared(Arc::from(s)))
    }
}

impl From<&String> for Key {
    fn from(s: &String) -> Key {
        Key::from(s.as_str())
    }
}

impl From<Arc<str>> for Key {
    fn from(s: Arc<str>) -> Key {
        Key(Repr::Shared(s))
    }
}

impl From<&Key> for Key {
    fn from(k: &Key) -> Key {
        k.clone()
    }
}

impl From<Key> for String {
    fn from(k: Key) -> String {
        k.as_str().to_owned()
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Key {}

impl PartialEq<str> for Key {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Key {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Key {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Key> for str {
    fn eq(&self, other: &Key) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Key> for &str {
    fn eq(&self, other: &Key) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Key> for String {
    fn eq(&self, other: &Key) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Default for Key {
    fn default() -> Key {
        Key::from_static("")
    }
}

/// Most names a [`KeyCache`] keeps.
const CACHE_CAPACITY: usize = 64;

/// Longest name a [`KeyCache`] keeps, in bytes.
const CACHE_MAX_LEN: usize = 128;

/// The names one producer (a connection, a filter, a chunk decoder) made lately, so a name
/// that repeats is a [`Key`] clone instead of an allocation. Bounded: at most 64 names of
/// at most 128 bytes; when full, the oldest slot is replaced (a hostile stream of distinct
/// names costs one allocation per name, as a `String` did, and nothing more). A lookup
/// compares a fingerprint of each name (its length and its first and last eight bytes)
/// before its text, so names that share a prefix (`log.level`, `log.logger`) cost no
/// string comparison.
#[derive(Debug, Default, Clone)]
pub struct KeyCache {
    keys: Vec<(u64, Key)>,
    next: usize,
    /// The slot after the last one found or filled: names come in the same order record
    /// after record, so the next lookup usually finds its name there.
    hint: usize,
    /// The text of a joined name being looked up.
    scratch: String,
}

impl KeyCache {
    /// An empty cache.
    pub const fn new() -> KeyCache {
        KeyCache {
            keys: Vec::new(),
            next: 0,
            hint: 0,
            scratch: String::new(),
        }
    }

    /// The key whose text is `parts` joined (a prefix and a name, say), made once.
    pub fn get_joined(&mut self, parts: &[&str]) -> Key {
        let mut text = std::mem::take(&mut self.scratch);
        text.clear();
        for p in parts {
            text.push_str(p);
        }
        let key = self.get(&text);
        self.scratch = text;
        key
    }

    /// The key whose text is `name`, made once.
    pub fn get(&mut self, name: &str) -> Key {
        let print = fingerprint(name);
        let found = |(p, k): &(u64, Key)| *p == print && k.as_str() == name;
        if let Some(entry) = self.keys.get(self.hint)
            && found(entry)
        {
            self.hint += 1;
            return entry.1.clone();
        }
        if let Some(i) = self.keys.iter().position(found) {
            self.hint = i + 1;
            return self.keys[i].1.clone();
        }
        let key = Key::from(name);
        if key.len() > CACHE_MAX_LEN {
            return key;
        }
        if self.keys.len() < CACHE_CAPACITY {
            self.keys.push((print, key.clone()));
            self.hint = self.keys.len();
        } else {
            self.keys[self.next] = (print, key.clone());
            self.next = (self.next + 1) % CACHE_CAPACITY;
            self.hint = self.next;
        }
        key
    }
}

/// A cheap summary of a name: equal names have equal fingerprints.
fn fingerprint(name: &str) -> u64 {
    let b = name.as_bytes();
    let word = |s: &[u8]| {
        let mut w = [0u8; 8];
        w[..s.len()].copy_from_slice(s);
        u64::from_le_bytes(w)
    };
    let head = word(&b[..b.len().min(8)]);
    let tail = word(&b[b.len().saturating_sub(8)..]);
    (head ^ tail.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn same_text_is_the_same_memory_not_equal_text() {
        let shared = Key::from("log.level");
        assert!(shared.same_text(&shared.clone()));
        assert!(
            !shared.same_text(&Key::from("log.level")),
            "equal text elsewhere"
        );
        let text: &'static str = "log.level";
        assert!(Key::from_static(text).same_text(&Key::from_static(text)));
        assert!(!Key::from_static(text).same_text(&Key::from_static(&text[..3])));
    }

    #[test]
    fn compares_and_hashes_as_its_text() {
        let a = Key::from_static("log.level");
        let b = Key::from(String::from("log.level"));
        assert_eq!(a, b);
        assert_eq!(a, "log.level");
        assert_eq!("log.level", b);
        let (lo, hi) = (Key::from("a"), Key::from_static("b"));
        assert!(lo < hi);
        let mut m = HashMap::new();
        m.insert(a, 1);
        assert_eq!(m.get("log.level"), Some(&1));
        assert_eq!(format!("{b} {b:?}"), "log.level \"log.level\"");
        assert_eq!(std::mem::size_of::<Key>(), std::mem::size_of::<String>());
    }

    #[test]
    fn a_cache_hands_out_one_allocation_per_name() {
        let mut c = KeyCache::new();
        let a = c.get_joined(&["log.", "msg"]);
        let b = c.get_joined(&["log.", "msg"]);
        let d = c.get("log.msg");
        assert_eq!(a, "log.msg");
        let ptr = |k: &Key| k.as_str().as_ptr();
        assert_eq!(ptr(&a), ptr(&b));
        assert_eq!(ptr(&a), ptr(&d));
        assert_ne!(c.get_joined(&["log", ".msgx"]), a);
        assert_eq!(c.get_joined(&["lo", "g.msg"]), a);
    }

    #[test]
    fn names_with_one_fingerprint_stay_apart() {
        let mut c = KeyCache::new();
        let (x, y) = ("abcdefgh-X-12345678", "abcdefgh-Y-12345678");
        assert_eq!(fingerprint(x), fingerprint(y));
        assert_eq!(c.get(x), x);
        assert_eq!(c.get(y), y);
        assert_eq!(c.get_joined(&["abcdefgh-", "X-12345678"]), x);
        for name in [
            "",
            "a",
            "log.level",
            "log.logger",
            "log.method",
            "log.status",
        ] {
            assert_eq!(c.get(name), name);
            assert_eq!(
                c.get_joined(&["log.", name]),
                format!("log.{name}").as_str()
            );
        }
    }

    proptest::proptest! {
        /// Whatever names come, in whatever order, a cache hands back each one's own text,
        /// and one allocation for a name it still holds.
        #[test]
        fn a_cache_returns_the_text_it_was_asked_for(
            names in proptest::collection::vec("[a-z.]{0,12}|.{0,140}", 0..200),
        ) {
            let mut c = KeyCache::new();
            for name in &names {
                let k = c.get(name);
                proptest::prop_assert_eq!(k.as_str(), name.as_str());
                let (head, tail) = name.split_at(name.char_indices().nth(1).map_or(0, |(i, _)| i));
                let joined = c.get_joined(&[head, tail]);
                proptest::prop_assert_eq!(joined.as_str(), name.as_str());
                if name.len() <= CACHE_MAX_LEN {
                    let again = c.get(name);
                    proptest::prop_assert_eq!(again.as_str().as_ptr(), k.as_str().as_ptr());
                }
            }
        }
    }

    #[test]
    fn names_in_the_order_they_came_are_found_at_the_hint_and_others_still_found() {
        let mut c = KeyCache::new();
        let names = ["log.level", "log.msg", "log.path", "log.status"];
        let first: Vec<Key> = names.iter().map(|n| c.get(n)).collect();
        for order in [[0, 1, 2, 3], [0, 2, 1, 3], [3, 2, 1, 0], [1, 1, 0, 0]] {
            for i in order {
                let k = c.get(names[i]);
                assert_eq!(k, names[i]);
                assert_eq!(k.as_str().as_ptr(), first[i].as_str().as_ptr());
            }
        }
        // Full and wrapping: the hint follows the slot replaced.
        for i in 0..(2 * CACHE_CAPACITY) {
            let name = format!("k{i}");
            assert_eq!(c.get(&name), name.as_str());
            assert_eq!(c.get(&name), name.as_str());
        }
        assert!(c.hint <= CACHE_CAPACITY);
    }

    #[test]
    fn a_cache_stays_bounded() {
        let mut c = KeyCache::new();
        for i in 0..1000 {
            let k = c.get(&format!("k{i}"));
            assert_eq!(k, format!("k{i}").as_str());
        }
        assert_eq!(c.keys.len(), CACHE_CAPACITY);
        let long = "x".repeat(CACHE_MAX_LEN + 1);
        assert_eq!(c.get(&long), long.as_str());
        assert!(c.keys.iter().all(|(_, k)| k.len() <= CACHE_MAX_LEN));
    }
}
