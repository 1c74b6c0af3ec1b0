//! `filters.select` (Fluent Bit's `grep`, Vector's `filter`): keeps or drops events by
//! conditions (see `condition`): an event that meets `exclude` is dropped; when
//! `include` is given, an event that does not meet it is dropped too. On logs a condition
//! names `body` or an attribute; on metrics `name`, a tag or a field. `kinds` says which
//! events the filter judges (default: logs only, so an `include` written for logs never
//! empties the metric stream); the others pass.
//!
//! Drops are counted on the filter's `discarded_events_total` under `select_excluded` and
//! `select_not_included`.
//!
//! A log record whose own attributes hold none of the names the conditions read (and no
//! condition reads `body`) is judged by its shared list alone: the verdict is remembered for
//! the last few lists (records of one file carry the same one), so such records cost a
//! pointer comparison, not a search and a match each; whether the own attributes hold such
//! a name is also remembered, by the keys' positions (`name_memo`).

use std::sync::Arc;

use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, ConfigError, Filter, FilterDescriptor, LogRecord,
    PluginConfig, SharedAttributes,
};
use serde::Deserialize;

use crate::condition::{Combine, Conditions, RawConditions};
use crate::kinds::Kinds;
use crate::name_memo::NameMemo;

/// Registry entry.
pub const DESCRIPTOR: FilterDescriptor = FilterDescriptor {
    name: "select",
    summary: "Keeps or drops log records (or metrics) by globs or /regexes/ on the message, \
              attributes, names, tags and fields",
    sample: SAMPLE,
    build,
};

const SAMPLE: &str = r#"[[filters.select]]
## Events that meet `exclude` are dropped; with `include`, only events that meet it pass.
## Each is a table: a name -> a glob or /regex/ (or a list of them; any one may match). On
## logs a name is "body" (the message) or an attribute; on metrics "name", a tag or a field.
## An absent name matches nothing.
# exclude = { "log.level" = ["debug", "trace"], body = '/GET \/health(z)? /' }
# include = { "k8s.namespace" = ["shop", "payments-*"] }
## How the conditions of a table combine: "any" or "all".
# combine = "any"
## Which events the filter judges ("logs", "metrics"); the others pass.
# kinds = ["logs"]
"#;

/// The filter's options.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct SelectConfig {
    /// Only events meeting it pass.
    include: RawConditions,
    /// Events meeting it are dropped.
    exclude: RawConditions,
    /// `any` or `all`.
    combine: Combine,
    /// Event kinds judged.
    kinds: Kinds,
}

impl Default for SelectConfig {
    fn default() -> Self {
        SelectConfig {
            include: RawConditions::default(),
            exclude: RawConditions::default(),
            combine: Combine::Any,
            kinds: Kinds::LOGS,
        }
    }
}

fn build(cfg: &PluginConfig, cx: &BuildContext) -> Result<Box<dyn Filter>, ConfigError> {
    let c: SelectConfig = cfg.parse()?;
    let include = Conditions::compile(cfg, "include", &c.include, c.combine)?;
    let exclude = Conditions::compile(cfg, "exclude", &c.exclude, c.combine)?;
    let mut names: Vec<String> = [&include, &exclude]
        .into_iter()
        .flatten()
        .flat_map(|c| c.names().map(str::to_owned))
        .collect();
    names.sort();
    names.dedup();
    let by_list = !names.iter().any(|n| n == "body");
    Ok(Box::new(Select {
        include,
        exclude,
        kinds: c.kinds,
        metrics: Arc::clone(&cx.metrics),
        names,
        own_names: NameMemo::new(),
        by_list,
        memo: Vec::new(),
        next: 0,
    }))
}

/// The filter.
struct Select {
    include: Option<Conditions>,
    exclude: Option<Conditions>,
    kinds: Kinds,
    metrics: Arc<ComponentMetrics>,
    /// The names the conditions read, sorted.
    names: Vec<String>,
    /// Whether the own attributes' keys are among `names`, by position.
    own_names: NameMemo,
    /// Whether a record's verdict may come from its shared list alone (no `body`
    /// condition).
    by_list: bool,
    /// The last shared lists judged, with their verdicts.
    memo: Vec<(SharedAttributes, Verdict)>,
    /// The memo slot to replace next.
    next: usize,
}

/// Shared lists whose verdicts are remembered.
const MEMO_LISTS: usize = 4;

/// Why an event was dropped.
#[derive(Clone, Copy)]
enum Verdict {
    Keep,
    Excluded,
    NotIncluded,
}

impl Select {
    /// The verdict on a log record, from the memo when its shared list decides it.
    fn judge_log(&mut self, r: &LogRecord) -> Verdict {
        let Some(list) = r.attributes.shared_arc().filter(|_| self.by_list) else {
            return self.judge(|c| c.log(r));
        };
        let names = &self.names;
        let own_reads = self.own_names.any(r.attributes.own_part(), |k| {
            names.binary_search_by(|n| n.as_str().cmp(k)).is_ok()
        });
        if own_reads {
            return self.judge(|c| c.log(r));
        }
        if let Some((_, v)) = self.memo.iter().find(|(l, _)| Arc::ptr_eq(l, list)) {
            return *v;
        }
        let v = self.judge(|c| c.log(r));
        let entry = (Arc::clone(list), v);
        if self.memo.len() < MEMO_LISTS {
            self.memo.push(entry);
        } else {
            self.memo[self.next] = entry;
            self.next = (self.next + 1) % MEMO_LISTS;
        }
        v
    }

    fn judge(&mut self, meets: impl Fn(&mut Conditions) -> bool) -> Verdict {
        if self.exclude.as_mut().is_some_and(&meets) {
            return Verdict::Excluded;
        }
        match self.include.as_mut().map(meets) {
            Some(false) => Verdict::NotIncluded,
            _ => Verdict::Keep,
        }
    }
}

impl Filter for Select {
    fn process(&mut self, batch: &mut Batch) {
        if !self.kinds.takes(batch.kind()) {
            return;
        }
        let (mut excluded, mut not_included) = (0_u64, 0_u64);
        let mut keep = |v: Verdict| match v {
            Verdict::Keep => true,
            Verdict::Excluded => {
                excluded += 1;
                false
            }
            Verdict::NotIncluded => {
                not_included += 1;
                false
            }
        };
        match batch {
            Batch::Logs(records) => records.retain(|r| keep(self.judge_log(r))),
            Batch::Metrics(metrics) => metrics.retain(|m| keep(self.judge(|c| c.metric(m)))),
        }
        self.metrics.dropped("select_excluded", excluded);
        self.metrics.dropped("select_not_included", not_included);
    }
}

#[cfg(test)]
mod tests;

/// This plugin's sample check (run for every registered plugin from `src/sample_checks.rs`):
/// each option the sample shows at its default is the real default.
#[cfg(test)]
pub(crate) fn check_sample() {
    gleaner_api::test_util::sample::assert_sample_debug::<SelectConfig>(
        "filters.select.0",
        SAMPLE,
        &["exclude", "include"],
        &[],
    );
}
