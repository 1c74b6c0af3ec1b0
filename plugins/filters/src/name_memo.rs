//! Whether a record's own attributes hold one of a filter's names (`select`'s conditions,
//! `modify`'s edits), remembered by position: records of one kind of line carry the same
//! keys in the same order (`filters.parse` gives every record the same [`Key`] for a member
//! at the same position), so the answer for the key at a position is found by comparing its
//! text pointer with the key seen there last, without a search of the names.
//!
//! The memo holds a clone of each key it remembers: the text cannot be freed while it is
//! there, so an equal pointer and length mean the same text.

use gleaner_api::Key;
use gleaner_api::event::Attribute;

/// Positions remembered (keys past it are searched every time).
const POSITIONS: usize = 64;

/// The key seen last at each position, and whether it is one of the names.
#[derive(Debug, Default)]
pub(crate) struct NameMemo {
    slots: Vec<(Key, bool)>,
}

impl NameMemo {
    /// No keys yet.
    pub(crate) const fn new() -> NameMemo {
        NameMemo { slots: Vec::new() }
    }

    /// Whether any key of `list` is a name (`is_name` says, for a key not remembered at its
    /// position).
    pub(crate) fn any(&mut self, list: &[Attribute], is_name: impl Fn(&str) -> bool) -> bool {
        for (i, (k, _)) in list.iter().enumerate() {
            let hit = match self.slots.get(i) {
                Some((seen, hit)) if seen.same_text(k) => *hit,
                _ => {
                    let hit = is_name(k.as_str());
                    if let Some(slot) = self.slots.get_mut(i) {
                        *slot = (k.clone(), hit);
                    } else if i == self.slots.len() && i < POSITIONS {
                        self.slots.push((k.clone(), hit));
                    }
                    hit
                }
            };
            if hit {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use gleaner_api::{FieldValue, Key};

    use super::NameMemo;

    fn list(names: &[&Key]) -> Vec<(Key, FieldValue)> {
        names
            .iter()
            .map(|k| ((*k).clone(), FieldValue::Bool(true)))
            .collect()
    }

    #[test]
    fn answers_as_the_search_for_the_same_and_for_new_keys() {
        let is_name = |k: &str| k == "b";
        let mut m = NameMemo::new();
        let (a, b, c) = (Key::from("a"), Key::from("b"), Key::from("c"));
        assert!(!m.any(&list(&[&a, &c]), is_name));
        assert!(!m.any(&list(&[&a, &c]), is_name));
        assert!(m.any(&list(&[&a, &b]), is_name));
        // Another key of the same text at a remembered position.
        assert!(m.any(&list(&[&a, &Key::from("b")]), is_name));
        assert!(!m.any(&list(&[&c, &a, &c]), is_name));
        assert!(m.any(&list(&[&c, &a, &c, &b]), is_name));
        assert!(!m.any(&[], is_name));
    }
}
