//! [`Attributes`]: a log record's ordered key/value list, split into a shared, immutable head
//! (the same for every record of one source, such as a tailed file's path and pod identity)
//! and the record's own tail.
//!
//! Records from one file carry the same half-dozen attributes. Sharing them behind an
//! [`Arc`] makes a record cost one allocation (its body) instead of two per attribute, on the
//! way in (the tail) and again on the way out (decoding a buffer chunk). Readers see one
//! list: the shared part, then the own part. Writers append to the own part; replacing a
//! shared attribute copies the shared part first (copy on write).

use std::fmt;
use std::sync::Arc;

use super::{FieldValue, Key};

/// One attribute: name and typed value.
pub type Attribute = (Key, FieldValue);

/// A list of attributes shared by many records.
pub type SharedAttributes = Arc<[Attribute]>;

/// Ordered attributes: the shared head, then the record's own.
#[derive(Clone, Default)]
pub struct Attributes {
    shared: Option<SharedAttributes>,
    own: Vec<Attribute>,
}

impl Attributes {
    /// No attributes.
    pub const fn new() -> Self {
        Attributes {
            shared: None,
            own: Vec::new(),
        }
    }

    /// Starts from a shared list (cloning the [`Arc`], not the list).
    pub fn from_shared(shared: SharedAttributes) -> Self {
        Attributes {
            shared: (!shared.is_empty()).then_some(shared),
            own: Vec::new(),
        }
    }

    /// The shared head (empty when there is none).
    pub fn shared_part(&self) -> &[Attribute] {
        self.shared.as_deref().unwrap_or(&[])
    }

    /// The shared head as the [`Arc`] it is kept in.
    pub fn shared_arc(&self) -> Option<&SharedAttributes> {
        self.shared.as_ref()
    }

    /// The record's own attributes, after the shared ones.
    pub fn own_part(&self) -> &[Attribute] {
        &self.own
    }

    /// All attributes in order: shared, then own.
    pub fn iter(&self) -> Iter<'_> {
        self.shared_part().iter().chain(self.own.iter())
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.shared_part().len() + self.own.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of the first attribute named `key`.
    pub fn get(&self, key: &str) -> Option<&FieldValue> {
        self.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Appends an attribute to the record's own part.
    pub fn push(&mut self, key: impl Into<Key>, value: FieldValue) {
        self.own.push((key.into(), value));
    }

    /// Reserves room for `additional` own attributes.
    pub fn reserve(&mut self, additional: usize) {
        self.own.reserve(additional);
    }

    /// Replaces the value of the first attribute named `key`, or appends it when absent.
    /// Replacing a shared attribute copies the shared part into the record first.
    pub fn set(&mut self, key: &str, value: FieldValue) {
        if let Some(slot) = self.own.iter_mut().find(|(k, _)| k == key) {
            slot.1 = value;
            return;
        }
        if self.shared_part().iter().any(|(k, _)| k == key) {
            self.unshare();
            if let Some(slot) = self.own.iter_mut().find(|(k, _)| k == key) {
                slot.1 = value;
            }
            return;
        }
        self.own.push((Key::from(key), value));
    }

    /// The record's own attributes, editable; the shared head is left as it is.
    pub fn own_mut(&mut self) -> &mut Vec<Attribute> {
        &mut self.own
    }

    /// Replaces the shared head with another list (a filter's edited copy of it, made once
    /// for every record that shares the original), keeping the record's own attributes.
    pub fn replace_shared(&mut self, shared: SharedAttributes) {
        self.shared = (!shared.is_empty()).then_some(shared);
    }

    /// Moves the shared part into the record's own list, so every attribute can be edited.
    pub fn unshare(&mut self) -> &mut Vec<Attribute> {
        if let Some(shared) = self.shared.take() {
            let mut all = Vec::with_capacity(shared.len() + self.own.len());
            all.extend(shared.iter().cloned());
            all.append(&mut self.own);
            self.own = all;
        }
        &mut self.own
    }
}

/// Iterator over [`Attributes`] in order.
pub type Iter<'a> =
    std::iter::Chain<std::slice::Iter<'a, Attribute>, std::slice::Iter<'a, Attribute>>;

impl<'a> IntoIterator for &'a Attributes {
    type Item = &'a Attribute;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl From<Vec<Attribute>> for Attributes {
    fn from(own: Vec<Attribute>) -> Self {
        Attributes { shared: None, own }
    }
}

impl FromIterator<Attribute> for Attributes {
    fn from_iter<I: IntoIterator<Item = Attribute>>(iter: I) -> Self {
        Attributes::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl PartialEq for Attributes {
    /// Equal when the attributes are the same in the same order, however they are shared.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl fmt::Debug for Attributes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> FieldValue {
        FieldValue::String(v.into())
    }

    fn shared() -> SharedAttributes {
        Arc::from(vec![("file".into(), s("/a.log")), ("pod".into(), s("web"))])
    }

    #[test]
    fn reads_shared_then_own() {
        let mut a = Attributes::from_shared(shared());
        a.push("partial", FieldValue::Bool(true));
        let keys: Vec<&str> = a.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["file", "pod", "partial"]);
        assert_eq!(a.len(), 3);
        assert_eq!(a.get("pod"), Some(&s("web")));
        assert_eq!(a.get("nope"), None);
    }

    #[test]
    fn setting_a_shared_key_copies_and_leaves_the_shared_list_alone() {
        let set = shared();
        let mut a = Attributes::from_shared(Arc::clone(&set));
        a.set("pod", s("api"));
        assert_eq!(a.get("pod"), Some(&s("api")));
        assert_eq!(set[1].1, s("web"));
        assert!(a.shared_part().is_empty());
        a.set("new", FieldValue::Int(1));
        assert_eq!(a.len(), 3);
    }

    #[test]
    fn own_edits_and_a_replaced_head_keep_each_other() {
        let mut a = Attributes::from_shared(shared());
        a.push("log.msg", s("hi"));
        a.own_mut()[0].0 = "msg".into();
        a.replace_shared(Arc::from(vec![("file".into(), s("/b.log"))]));
        let keys: Vec<&str> = a.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["file", "msg"]);
        a.replace_shared(Arc::from(Vec::new()));
        assert!(a.shared_arc().is_none());
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn equality_ignores_how_the_list_is_shared() {
        let a = Attributes::from_shared(shared());
        let b = Attributes::from(shared().to_vec());
        assert_eq!(a, b);
        assert_ne!(a, Attributes::new());
        assert_eq!(format!("{a:?}"), format!("{:?}", shared().to_vec()));
    }
}
