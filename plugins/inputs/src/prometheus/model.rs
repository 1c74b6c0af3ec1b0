//! From a parsed sample to a [`Metric`], Telegraf's `metric_version = 2` layout: measurement
//! `prometheus`, one field named as the series (`node_cpu_seconds_total`) holding the value
//! as a float, tags = the series' labels plus the target labels, timestamp in nanoseconds.
//! `outputs.remote_write` turns that back into exactly the series (name = field, labels =
//! tags); `outputs.influxdb` writes `prometheus,<labels> <name>=<value> <ts>`.
//!
//! Target labels (`job`, `instance`, a source's own) are merged as Prometheus merges them:
//! with `honor_labels = false` a page label that clashes is renamed `exported_<name>`
//! (again prefixed while that name is taken) and the target's value wins; with
//! `honor_labels = true` the page's value wins. Labels with empty values are dropped (an
//! empty label is an absent label in Prometheus). Synthetic series (`up`, ...) carry the
//! target labels only.

use gleaner_api::{FieldValue, Metric, MetricKind, Tags, TagsBuilder};

use super::parse::{FamilyType, Sample};

/// The measurement of every scraped metric.
pub const MEASUREMENT: &str = "prometheus";

/// The kind a family's type maps to (gauge-like OpenMetrics types become gauges).
pub(crate) fn kind(t: FamilyType) -> MetricKind {
    match t {
        FamilyType::Counter => MetricKind::Counter,
        FamilyType::Histogram => MetricKind::Histogram,
        FamilyType::Summary => MetricKind::Summary,
        FamilyType::Gauge
        | FamilyType::GaugeHistogram
        | FamilyType::Info
        | FamilyType::StateSet => MetricKind::Gauge,
        FamilyType::Unknown => MetricKind::Untyped,
    }
}

/// One series as a metric: `name` = `value` at `timestamp_ns`, tagged `labels`.
pub(crate) fn metric(
    name: &str,
    value: f64,
    timestamp_ns: i64,
    kind: MetricKind,
    tags: Tags,
) -> Metric {
    Metric {
        measurement: MEASUREMENT.to_owned(),
        tags,
        fields: vec![(name.to_owned(), FieldValue::Float(value))],
        timestamp: timestamp_ns,
        kind,
    }
}

/// The tags of a sample: its non-empty labels merged with the target's, made by `builder`
/// in one allocation. A page label that clashes with a target label takes the slower
/// [`clashing_tags`].
pub(crate) fn tags(
    s: &Sample<'_, '_>,
    target: &Tags,
    honor: bool,
    builder: &mut TagsBuilder,
) -> Tags {
    builder.clear();
    for l in s.labels {
        if !l.is_empty() {
            builder.push_with(l.name, |text| l.push_value(text));
        }
    }
    for (k, v) in target {
        if s.labels.iter().any(|l| !l.is_empty() && l.name == k) {
            if honor {
                continue;
            }
            builder.clear();
            return clashing_tags(s, &target.to_vec());
        }
        builder.push(k, v);
    }
    builder.build()
}

/// [`tags`] when a page label and a target label have one name.
fn clashing_tags(s: &Sample<'_, '_>, target: &[(String, String)]) -> Tags {
    let mut tags: Vec<(String, String)> = Vec::with_capacity(s.labels.len() + target.len());
    for l in s.labels {
        if !l.is_empty() {
            let mut v = String::with_capacity(l.name.len());
            l.push_value(&mut v);
            tags.push((l.name.to_owned(), v));
        }
    }
    // Names are unique (the parser checked), so an unstable sort is exact.
    tags.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for (k, v) in target {
        match tags.binary_search_by(|(n, _)| n.as_str().cmp(k)) {
            Err(i) => tags.insert(i, (k.clone(), v.clone())),
            Ok(i) => {
                let page_value = std::mem::replace(&mut tags[i].1, v.clone());
                let mut name = format!("exported_{k}");
                while tags
                    .binary_search_by(|(n, _)| n.as_str().cmp(&name))
                    .is_ok()
                    || target.iter().any(|(t, _)| *t == name)
                {
                    name.insert_str(0, "exported_");
                }
                let at = tags
                    .binary_search_by(|(n, _)| n.as_str().cmp(&name))
                    .unwrap_or_else(|e| e);
                tags.insert(at, (name, page_value));
            }
        }
    }
    Tags::from_sorted(tags)
}

/// How many tags [`tags`] makes for a sample, without making them.
pub(super) fn tag_count(s: &Sample<'_, '_>, target: &[(String, String)], honor: bool) -> usize {
    let page = s.labels.iter().filter(|l| !l.is_empty()).count();
    let kept_page_values = if honor {
        target
            .iter()
            .filter(|(k, _)| s.labels.iter().any(|l| !l.is_empty() && l.name == k))
            .count()
    } else {
        // A clash renames the page's label to `exported_<name>`: nothing is lost.
        0
    };
    page + target.len() - kept_page_values
}

/// The synthetic series of one scrape, Prometheus's names.
pub(super) struct Report {
    pub(super) up: bool,
    pub(super) duration_seconds: f64,
    pub(super) scraped: usize,
    pub(super) post_relabeling: usize,
}

/// `up`, `scrape_duration_seconds`, `scrape_samples_scraped`,
/// `scrape_samples_post_metric_relabeling`, tagged with the target labels.
pub(super) fn synthetic(r: &Report, target: &Tags, timestamp_ns: i64, out: &mut Vec<Metric>) {
    let series = [
        ("up", if r.up { 1.0 } else { 0.0 }),
        ("scrape_duration_seconds", r.duration_seconds),
        ("scrape_samples_scraped", r.scraped as f64),
        (
            "scrape_samples_post_metric_relabeling",
            r.post_relabeling as f64,
        ),
    ];
    for (name, value) in series {
        out.push(metric(
            name,
            value,
            timestamp_ns,
            MetricKind::Gauge,
            target.clone(),
        ));
    }
}
