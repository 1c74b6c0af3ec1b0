//! Telegraf's metric selectors, the keys every input, filter and output takes: `namepass`,
//! `namedrop`, `tagpass`, `tagdrop` decide whether a metric is taken at all; `fieldinclude`,
//! `fieldexclude` (also spelt `fieldpass`, `fielddrop`), `taginclude`, `tagexclude` trim the
//! fields and tags of a metric that was taken, and a metric left with no field is dropped.
//!
//! The semantics are Telegraf's (`models/filter.go`): names, tag values and keys are matched
//! with [`Glob`]s (`*` and `?`; a pattern without either is an exact match); `namepass` and
//! `namedrop` both apply when both are given (pass, then drop), as do `tagpass` and `tagdrop`;
//! `tagpass` takes a metric when any one of its tags has a value matching that tag's patterns
//! (an OR over the table), `tagdrop` drops it on any such match; a tag the metric does not
//! have matches nothing. [`Selectors::select`] decides, [`Selectors::modify`] trims (fields
//! first, then `taginclude`, then `tagexclude`) and reports a metric left without fields.
//!
//! The engine parses them once at load ([`Selectors::from_table`], in `selector/parse.rs`)
//! and applies them itself (`agent/src/pipeline`); plugins never see these keys. Log records
//! are not metrics: selectors never drop or change them.

mod parse;
#[cfg(test)]
mod tests;

use crate::event::Metric;
use crate::glob::Glob;

/// A list of globs; matches when any one does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Globs(Vec<Glob>);

impl Globs {
    /// Globs from patterns.
    pub fn new<S: Into<String>>(patterns: impl IntoIterator<Item = S>) -> Self {
        Globs(patterns.into_iter().map(Glob::new).collect())
    }

    /// True when any glob matches the whole of `text`.
    pub fn matches(&self, text: &str) -> bool {
        self.0.iter().any(|g| g.matches(text))
    }
}

/// One entry of a `tagpass` or `tagdrop` table: a tag key and patterns on its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRule {
    /// The tag key (exact).
    pub key: String,
    /// Patterns on the tag's value.
    pub values: Globs,
}

/// Why a selector dropped a metric; [`Rejection::reason`] is the drop counter's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The name matched no `namepass` pattern.
    NamePass,
    /// The name matched a `namedrop` pattern.
    NameDrop,
    /// No `tagpass` entry matched.
    TagPass,
    /// A `tagdrop` entry matched.
    TagDrop,
    /// `fieldinclude`/`fieldexclude` left no field.
    NoFields,
}

impl Rejection {
    /// Every rejection, in [`Drops`] order.
    pub const ALL: [Rejection; 5] = [
        Rejection::NamePass,
        Rejection::NameDrop,
        Rejection::TagPass,
        Rejection::TagDrop,
        Rejection::NoFields,
    ];

    /// The `reason` label the drop is counted under.
    pub const fn reason(self) -> &'static str {
        match self {
            Rejection::NamePass => "selector_namepass",
            Rejection::NameDrop => "selector_namedrop",
            Rejection::TagPass => "selector_tagpass",
            Rejection::TagDrop => "selector_tagdrop",
            Rejection::NoFields => "selector_no_fields",
        }
    }
}

/// Metrics dropped by selectors, counted per [`Rejection`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drops([u64; 5]);

impl Drops {
    /// Counts one drop.
    pub fn add(&mut self, why: Rejection) {
        self.0[why as usize] += 1;
    }

    /// The drops of one kind.
    pub fn get(&self, why: Rejection) -> u64 {
        self.0[why as usize]
    }

    /// Every nonzero count with its reason label.
    pub fn nonzero(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Rejection::ALL
            .iter()
            .map(|r| (r.reason(), self.get(*r)))
            .filter(|(_, n)| *n > 0)
    }

    /// The sum of every count.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

/// The selectors of one plugin table; at least one is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selectors {
    /// `namepass`: only names matching one of these are taken.
    pub namepass: Option<Globs>,
    /// `namedrop`: names matching one of these are not taken.
    pub namedrop: Option<Globs>,
    /// `tagpass`: only metrics with a tag matching one entry are taken.
    pub tagpass: Option<Vec<TagRule>>,
    /// `tagdrop`: metrics with a tag matching one entry are not taken.
    pub tagdrop: Option<Vec<TagRule>>,
    /// `fieldinclude` (`fieldpass`): only fields whose key matches are kept.
    pub fieldinclude: Option<Globs>,
    /// `fieldexclude` (`fielddrop`): fields whose key matches are removed.
    pub fieldexclude: Option<Globs>,
    /// `taginclude`: only tags whose key matches are kept.
    pub taginclude: Option<Globs>,
    /// `tagexclude`: tags whose key matches are removed.
    pub tagexclude: Option<Globs>,
}

impl Selectors {
    /// The config keys, aliases included: every plugin table takes them.
    pub const KEYS: &'static [&'static str] = &[
        "namepass",
        "namedrop",
        "tagpass",
        "tagdrop",
        "fieldinclude",
        "fieldexclude",
        "fieldpass",
        "fielddrop",
        "taginclude",
        "tagexclude",
    ];

    /// Whether the metric is taken (`namepass`, `namedrop`, `tagpass`, `tagdrop`, in that
    /// order); the metric is not changed.
    pub fn select(&self, m: &Metric) -> Result<(), Rejection> {
        if let Some(p) = &self.namepass
            && !p.matches(&m.measurement)
        {
            return Err(Rejection::NamePass);
        }
        if let Some(d) = &self.namedrop
            && d.matches(&m.measurement)
        {
            return Err(Rejection::NameDrop);
        }
        if let Some(p) = &self.tagpass
            && !any_tag_matches(p, m)
        {
            return Err(Rejection::TagPass);
        }
        if let Some(d) = &self.tagdrop
            && any_tag_matches(d, m)
        {
            return Err(Rejection::TagDrop);
        }
        Ok(())
    }

    /// Removes the fields and tags the selectors leave out; a metric left with no field is
    /// reported (its caller drops it).
    pub fn modify(&self, m: &mut Metric) -> Result<(), Rejection> {
        if self.fieldinclude.is_some() || self.fieldexclude.is_some() {
            m.fields.retain(|(k, _)| self.keeps_field(k));
        }
        if let Some(inc) = &self.taginclude {
            m.tags.retain(|(k, _)| inc.matches(k));
        }
        if let Some(exc) = &self.tagexclude {
            m.tags.retain(|(k, _)| !exc.matches(k));
        }
        if m.fields.is_empty() {
            return Err(Rejection::NoFields);
        }
        Ok(())
    }

    /// [`Selectors::select`] then [`Selectors::modify`] on every metric, with `between`
    /// run on each taken metric in between (an input's agent tags, which `tagpass` does not
    /// see and `taginclude` may remove, as in Telegraf); the dropped ones are removed and
    /// counted. Order is kept.
    pub fn apply(&self, ms: &mut Vec<Metric>, mut between: impl FnMut(&mut Metric)) -> Drops {
        let mut drops = Drops::default();
        ms.retain_mut(|m| {
            let verdict = self.select(m).and_then(|()| {
                between(m);
                self.modify(m)
            });
            match verdict {
                Ok(()) => true,
                Err(why) => {
                    drops.add(why);
                    false
                }
            }
        });
        drops
    }

    fn keeps_field(&self, key: &str) -> bool {
        self.fieldinclude.as_ref().is_none_or(|g| g.matches(key))
            && self.fieldexclude.as_ref().is_none_or(|g| !g.matches(key))
    }
}

/// True when the metric has a tag of one of the rules with a matching value.
fn any_tag_matches(rules: &[TagRule], m: &Metric) -> bool {
    rules
        .iter()
        .any(|r| m.tag(&r.key).is_some_and(|v| r.values.matches(v)))
}
