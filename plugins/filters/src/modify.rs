//! `filters.modify` (Fluent Bit's `modify`, Telegraf's `converter`, `strings`, `rename` and
//! `override`, Vector's `remap` for the simple cases): renames, copies, sets, converts,
//! re-cases and removes attributes of log records, and tags and fields of metrics.
//!
//! Edits run in this order, each table in the order written: `rename`, `copy`, `set`,
//! `add`, `convert`, `lowercase`, `uppercase`, `trim`, `remove`. On a metric a name is a tag,
//! else a field; `set` and `add` write tags (an empty result is not written), and
//! `convert` turns a tag into a field of that type (as Telegraf's converter does). Values of
//! `set`/`add` may reference other attributes: `"{k8s.namespace}/{k8s.pod}"`.
//!
//! The log path keeps a file's shared attribute list shared: when a record's own attributes
//! hold none of the names the edits touch or read, the shared list is edited once per list
//! (and reused while consecutive records carry it); a shared list is copied into a record
//! only when the edits touch names in both its own and its shared attributes.
//!
//! A value that does not `convert` is left as it was and counted under `convert_failed`.

mod ops;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, ConfigError, Filter, FilterDescriptor, Key, LogRecord,
    PluginConfig, SharedAttributes,
};
use serde::Deserialize;

use self::ops::{Case, Op, Outcome, Type, apply_list, apply_metric};
use crate::kinds::Kinds;
use crate::name_memo::NameMemo;
use crate::ordered::Ordered;
use crate::spans::{Seg, error_at_path};
use crate::template::Template;

/// Registry entry.
pub const DESCRIPTOR: FilterDescriptor = FilterDescriptor {
    name: "modify",
    summary: "Renames, copies, sets (with {attr} templates), converts, re-cases and removes \
              log attributes and metric tags and fields",
    sample: SAMPLE,
    build,
};

const SAMPLE: &str = r#"[[filters.modify]]
## Edits, applied in this order (each table in the order written). On metrics a name is a
## tag, else a field; set and add write tags.
## old name -> new name (replacing an attribute of the new name).
# rename = { "log.msg" = "message_text" }
## name -> name of the copy.
# copy = { "k8s.pod" = "pod" }
## name -> value; "{name}" inserts another attribute's value ("{{" and "}}" are braces).
# set = { team = "payments", origin = "{k8s.namespace}/{k8s.pod}" }
## As set, but only where the name is absent.
# add = {}
## name -> "integer", "unsigned", "float", "boolean" or "string" (Telegraf's converter).
# convert = { "log.status" = "integer" }
## Names whose string values are lowercased, uppercased or trimmed.
# lowercase = []
# uppercase = []
# trim = []
## Names removed.
# remove = ["log.caller"]
## Which events the filter edits ("logs", "metrics"); the others pass.
# kinds = ["logs", "metrics"]
"#;

/// The filter's options.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ModifyConfig {
    /// old -> new.
    rename: Ordered<String>,
    /// from -> to.
    copy: Ordered<String>,
    /// name -> template.
    set: Ordered<String>,
    /// name -> template, when absent.
    add: Ordered<String>,
    /// name -> type.
    convert: Ordered<Type>,
    /// Names lowercased.
    lowercase: Vec<String>,
    /// Names uppercased.
    uppercase: Vec<String>,
    /// Names trimmed.
    trim: Vec<String>,
    /// Names removed.
    remove: Vec<String>,
    /// Event kinds edited.
    kinds: Kinds,
}

impl Default for ModifyConfig {
    fn default() -> Self {
        ModifyConfig {
            rename: Ordered::default(),
            copy: Ordered::default(),
            set: Ordered::default(),
            add: Ordered::default(),
            convert: Ordered::default(),
            lowercase: Vec::new(),
            uppercase: Vec::new(),
            trim: Vec::new(),
            remove: Vec::new(),
            kinds: Kinds::BOTH,
        }
    }
}

fn build(cfg: &PluginConfig, cx: &BuildContext) -> Result<Box<dyn Filter>, ConfigError> {
    let c: ModifyConfig = cfg.parse()?;
    let empty = |table: &str, name: &str| {
        error_at_path(cfg, &[Seg::Key(table)], format!("empty name in {table}"))
            .with_hint(format!("{name:?} needs a non-empty name"))
    };
    let mut ops = Vec::new();
    for (table, pairs) in [("rename", &c.rename), ("copy", &c.copy)] {
        for (from, to) in &pairs.0 {
            if from.is_empty() || to.is_empty() {
                return Err(empty(table, from));
            }
            ops.push(if table == "rename" {
                Op::Rename {
                    from: Key::from(from),
                    to: Key::from(to),
                }
            } else {
                Op::Copy {
                    from: Key::from(from),
                    to: Key::from(to),
                }
            });
        }
    }
    for (table, pairs, only_absent) in [("set", &c.set, false), ("add", &c.add, true)] {
        for (key, value) in &pairs.0 {
            if key.is_empty() {
                return Err(empty(table, key));
            }
            let value = Template::parse(value).map_err(|e| {
                error_at_path(cfg, &[Seg::Key(table), Seg::Key(key)], e)
                    .with_hint("\"{name}\" inserts an attribute; \"{{\" and \"}}\" are braces")
            })?;
            ops.push(Op::Set {
                key: Key::from(key),
                value,
                only_absent,
            });
        }
    }
    for (key, to) in &c.convert.0 {
        ops.push(Op::Convert {
            key: Key::from(key),
            to: *to,
        });
    }
    for (list, how) in [
        (&c.lowercase, Case::Lower),
        (&c.uppercase, Case::Upper),
        (&c.trim, Case::Trim),
    ] {
        ops.extend(list.iter().map(|k| Op::Case {
            key: Key::from(k),
            how,
        }));
    }
    ops.extend(c.remove.iter().map(|k| Op::Remove { key: Key::from(k) }));
    let mut names: Vec<String> = Vec::new();
    for op in &ops {
        match op {
            Op::Rename { from, to } | Op::Copy { from, to } => {
                names.extend([from.to_string_owned(), to.to_string_owned()]);
            }
            Op::Set { key, value, .. } => {
                names.push(key.to_string_owned());
                names.extend(value.refs().map(str::to_owned));
            }
            Op::Convert { key, .. } | Op::Case { key, .. } | Op::Remove { key } => {
                names.push(key.to_string_owned());
            }
        }
    }
    names.sort();
    names.dedup();
    let name_lengths = names.iter().fold(0u64, |m, n| m | length_bit(n));
    let adds = ops.iter().any(|op| matches!(op, Op::Set { .. }));
    Ok(Box::new(Modify {
        ops,
        names,
        name_lengths,
        touched: Vec::new(),
        own_names: NameMemo::new(),
        kinds: c.kinds,
        adds,
        memo: Vec::new(),
        next: 0,
        text: (String::new(), String::new()),
        metrics: Arc::clone(&cx.metrics),
    }))
}

/// Shared lists remembered with their edited copies.
const MEMO_LISTS: usize = 4;

/// A bit for the length of `name` (bit 63 for every length from 63 up).
fn length_bit(name: &str) -> u64 {
    1 << name.len().min(63)
}

/// The filter.
struct Modify {
    ops: Vec<Op>,
    /// Every name the edits touch or read, sorted.
    names: Vec<String>,
    /// The lengths of `names` (see [`length_bit`]): most attribute names are ruled out
    /// without a string comparison.
    name_lengths: u64,
    /// The last shared lists seen, and whether they hold one of `names` (records of a file
    /// carry the same list: it is searched once, not per record).
    touched: Vec<(SharedAttributes, bool)>,
    /// Whether the own attributes' keys are among `names`, by position.
    own_names: NameMemo,
    kinds: Kinds,
    /// Whether any edit adds attributes (`set`, `add`): then a list without any of `names`
    /// still changes.
    adds: bool,
    /// The last shared lists edited (a few: a file's list and the copies other filters made
    /// of it, such as `parse`'s flagged one, alternate), each with its edited copy (the same
    /// list when unchanged) and the values that did not convert in it.
    memo: Vec<(SharedAttributes, SharedAttributes, u64)>,
    /// The memo slot to replace next.
    next: usize,
    text: (String, String),
    metrics: Arc<ComponentMetrics>,
}

/// Whether `k` is one of `names` (sorted; `lengths` their [`length_bit`]s).
fn is_one_of(names: &[String], lengths: u64, k: &str) -> bool {
    lengths & length_bit(k) != 0 && names.binary_search_by(|n| n.as_str().cmp(k)).is_ok()
}

impl Modify {
    fn touches(&self, list: &[gleaner_api::event::Attribute]) -> bool {
        list.iter()
            .any(|(k, _)| is_one_of(&self.names, self.name_lengths, k))
    }

    /// [`Self::touches`] of a record's own attributes, by position (see [`NameMemo`]).
    fn own_touched(&mut self, list: &[gleaner_api::event::Attribute]) -> bool {
        let (names, lengths) = (&self.names, self.name_lengths);
        self.own_names.any(list, |k| is_one_of(names, lengths, k))
    }

    /// [`Self::touches`] of a shared list, remembered for the last few lists.
    fn shared_touched(&mut self, list: &SharedAttributes) -> bool {
        if let Some((_, t)) = self.touched.iter().find(|(l, _)| Arc::ptr_eq(l, list)) {
            return *t;
        }
        let t = self.touches(list);
        if self.touched.len() >= MEMO_LISTS {
            self.touched.remove(0);
        }
        self.touched.push((Arc::clone(list), t));
        t
    }

    fn log(&mut self, r: &mut LogRecord) -> u64 {
        let own_touched = self.own_touched(r.attributes.own_part());
        if !own_touched && let Some(shared) = r.attributes.shared_arc() {
            let shared = Arc::clone(shared);
            if !self.adds && !self.shared_touched(&shared) {
                return 0;
            }
            let shared = &shared;
            if let Some((src, dst, failed)) = self
                .memo
                .iter()
                .find(|(src, _, _)| Arc::ptr_eq(src, shared))
            {
                let failed = *failed;
                if !Arc::ptr_eq(src, dst) {
                    let dst = Arc::clone(dst);
                    r.attributes.replace_shared(dst);
                }
                return failed;
            }
            let src = Arc::clone(shared);
            let mut list = src.to_vec();
            let o = apply_list(&self.ops, &mut list, &mut self.text);
            let dst = if o.changed {
                SharedAttributes::from(list)
            } else {
                Arc::clone(&src)
            };
            r.attributes.replace_shared(Arc::clone(&dst));
            let entry = (src, dst, o.convert_failed);
            if self.memo.len() < MEMO_LISTS {
                self.memo.push(entry);
            } else {
                self.memo[self.next] = entry;
                self.next = (self.next + 1) % MEMO_LISTS;
            }
            return o.convert_failed;
        }
        if own_touched
            && let Some(shared) = r.attributes.shared_arc().map(Arc::clone)
            && self.shared_touched(&shared)
        {
            r.attributes.unshare();
        }
        let Outcome { convert_failed, .. } =
            apply_list(&self.ops, r.attributes.own_mut(), &mut self.text);
        convert_failed
    }
}

impl Filter for Modify {
    fn process(&mut self, batch: &mut Batch) {
        if !self.kinds.takes(batch.kind()) {
            return;
        }
        let mut failed = 0;
        match batch {
            Batch::Logs(records) => {
                for r in records.iter_mut() {
                    failed += self.log(r);
                }
            }
            Batch::Metrics(metrics) => {
                for m in metrics.iter_mut() {
                    failed += apply_metric(&self.ops, m, &mut self.text).convert_failed;
                }
            }
        }
        self.metrics.errors("convert_failed", failed);
    }
}

/// This plugin's sample check (run for every registered plugin from `src/sample_checks.rs`):
/// each option the sample shows at its default is the real default.
#[cfg(test)]
pub(crate) fn check_sample() {
    gleaner_api::test_util::sample::assert_sample_debug::<ModifyConfig>(
        "filters.modify.0",
        SAMPLE,
        &["rename", "copy", "set", "convert", "remove"],
        &[],
    );
}
