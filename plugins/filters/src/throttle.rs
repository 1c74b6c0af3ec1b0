//! `filters.throttle` (Fluent Bit's `throttle`, Vector's `throttle`): at most `limit` log
//! records per `window` for each key (a `{name}` template over attributes, such as
//! `"{k8s.pod_uid}"`; the default `""` is one key for all); the excess is dropped and counted
//! under `throttled`. Records that meet `exclude` (a condition table, as in `filters.select`)
//! always pass and do not use up the limit. Metrics pass.
//!
//! Windows are fixed, per key, on the agent's monotonic clock: a key's window starts with its
//! first record and the count resets when `window` has passed.
//!
//! Memory is bounded over key churn: at most `max_keys` keys are tracked (each costs its text
//! plus about 80 bytes). When the table is full, keys whose window has ended are forgotten;
//! if every key is still live, records of new keys share one overflow bucket with the same
//! limit (counted under `throttled_overflow` when dropped) until room frees up.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use gleaner_api::{
    Batch, BuildContext, ComponentMetrics, ConfigError, Filter, FilterDescriptor, PluginConfig,
};
use serde::Deserialize;
use tokio::time::Instant;

use crate::condition::{Combine, Conditions, RawConditions};
use crate::template::Template;

/// Registry entry.
pub const DESCRIPTOR: FilterDescriptor = FilterDescriptor {
    name: "throttle",
    summary: "Rate-limits log records per key (e.g. per pod): at most `limit` per `window`, \
              the excess dropped and counted",
    sample: SAMPLE,
    build,
};

const SAMPLE: &str = r#"[[filters.throttle]]
## What a limit applies to: a template over attributes; "" puts every record under one limit.
# key = "{k8s.pod_uid}"
## Records let through per key and window.
# limit = 1000
# window = "1s"
## Records that meet this (a table as in filters.select) always pass and are not counted.
# exclude = { severity = ["error", "fatal"] }
# combine = "any"
## Most keys tracked at once (each about 80 bytes plus its text); beyond, new keys share one
## overflow limit until old windows end.
# max_keys = 10000
"#;

/// The filter's options.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ThrottleConfig {
    /// Key template.
    key: String,
    /// Records per window and key.
    limit: u64,
    /// Window length.
    window: gleaner_api::Duration,
    /// Records that always pass.
    exclude: RawConditions,
    /// `any` or `all`.
    combine: Combine,
    /// Most keys tracked.
    max_keys: usize,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            key: String::new(),
            limit: 1000,
            window: gleaner_api::Duration::from_secs(1),
            exclude: RawConditions::default(),
            combine: Combine::Any,
            max_keys: 10_000,
        }
    }
}

fn build(cfg: &PluginConfig, cx: &BuildContext) -> Result<Box<dyn Filter>, ConfigError> {
    let c: ThrottleConfig = cfg.parse()?;
    let key = Template::parse(&c.key).map_err(|e| {
        cfg.error_at("key", e)
            .with_hint("\"{k8s.pod_uid}\" names an attribute; \"{{\" and \"}}\" are braces")
    })?;
    if c.limit == 0 {
        return Err(cfg
            .error_at("limit", "limit = 0 drops every record")
            .with_hint("use filters.select to drop records"));
    }
    if c.window.get().is_zero() {
        return Err(cfg.error_at("window", "window must be greater than 0"));
    }
    if c.max_keys == 0 {
        return Err(cfg.error_at("max_keys", "max_keys must be at least 1"));
    }
    Ok(Box::new(Throttle {
        exclude: Conditions::compile(cfg, "exclude", &c.exclude, c.combine)?,
        key,
        limit: c.limit,
        window: c.window.get(),
        max_keys: c.max_keys,
        keys: HashMap::new(),
        overflow: Window::default(),
        last_sweep: None,
        text: (String::new(), String::new()),
        metrics: Arc::clone(&cx.metrics),
    }))
}

/// One key's current window.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    start: Option<Instant>,
    count: u64,
}

impl Window {
    /// Counts one record; true when it is within the limit.
    fn admit(&mut self, now: Instant, window: std::time::Duration, limit: u64) -> bool {
        if self.start.is_none_or(|s| now.duration_since(s) >= window) {
            self.start = Some(now);
            self.count = 0;
        }
        self.count += 1;
        self.count <= limit
    }

    fn ended(&self, now: Instant, window: std::time::Duration) -> bool {
        self.start.is_none_or(|s| now.duration_since(s) >= window)
    }
}

/// The filter.
struct Throttle {
    exclude: Option<Conditions>,
    key: Template,
    limit: u64,
    window: std::time::Duration,
    max_keys: usize,
    keys: HashMap<Box<str>, Window>,
    overflow: Window,
    last_sweep: Option<Instant>,
    /// The rendered key, and scratch for non-string values.
    text: (String, String),
    metrics: Arc<ComponentMetrics>,
}

impl Throttle {
    /// Counts one record of the key in `self.text.0`; `None` when it passes, else the drop
    /// reason.
    fn admit(&mut self, now: Instant) -> Option<&'static str> {
        let (window, limit) = (self.window, self.limit);
        if let Some(w) = self.keys.get_mut(self.text.0.as_str()) {
            return (!w.admit(now, window, limit)).then_some("throttled");
        }
        if self.keys.len() >= self.max_keys
            && self
                .last_sweep
                .is_none_or(|s| now.duration_since(s) >= window)
        {
            self.keys.retain(|_, w| !w.ended(now, window));
            self.last_sweep = Some(now);
        }
        if self.keys.len() >= self.max_keys {
            return (!self.overflow.admit(now, window, limit)).then_some("throttled_overflow");
        }
        let mut w = Window::default();
        let ok = w.admit(now, window, limit);
        self.keys.insert(Box::from(self.text.0.as_str()), w);
        (!ok).then_some("throttled")
    }
}

impl Filter for Throttle {
    fn process(&mut self, batch: &mut Batch) {
        let Batch::Logs(records) = batch else { return };
        let now = Instant::now();
        let (mut throttled, mut overflow) = (0_u64, 0_u64);
        records.retain(|r| {
            if self.exclude.as_mut().is_some_and(|c| c.log(r)) {
                return true;
            }
            let (key, scratch) = (&mut self.text.0, &mut self.text.1);
            self.key.render_log(r, key, scratch);
            match self.admit(now) {
                None => true,
                Some("throttled_overflow") => {
                    overflow += 1;
                    false
                }
                Some(_) => {
                    throttled += 1;
                    false
                }
            }
        });
        self.metrics.dropped("throttled", throttled);
        self.metrics.dropped("throttled_overflow", overflow);
    }
}

/// This plugin's sample check (run for every registered plugin from `src/sample_checks.rs`):
/// each option the sample shows at its default is the real default.
#[cfg(test)]
pub(crate) fn check_sample() {
    gleaner_api::test_util::sample::assert_sample_debug::<ThrottleConfig>(
        "filters.throttle.0",
        SAMPLE,
        &["key", "exclude"],
        &[],
    );
    gleaner_api::test_util::sample::assert_default::<ThrottleConfig>("filters.throttle.0");
}
