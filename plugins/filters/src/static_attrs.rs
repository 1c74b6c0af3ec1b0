//! `filters.static`: fixed attributes on log records and fixed tags on metrics, typically
//! from downward-API environment variables in a sidecar (`"k8s.pod" = "${POD_NAME}"`), where
//! no Kubernetes API access is wanted. Values are written as given (the config loader has
//! already substituted `${VAR}`); an attribute or tag an event already has is kept unless
//! `overwrite = true`.

use gleaner_api::{
    Batch, BuildContext, ConfigError, FieldValue, Filter, FilterDescriptor, PluginConfig,
};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Registry entry.
pub const DESCRIPTOR: FilterDescriptor = FilterDescriptor {
    name: "static",
    summary: "Adds fixed attributes to logs and tags to metrics (e.g. pod metadata from \
              downward-API env vars in a sidecar)",
    sample: SAMPLE,
    build,
};

const SAMPLE: &str = r#"[[filters.static]]
## Attributes added to every log record.
# attributes = { "k8s.namespace" = "${POD_NAMESPACE}", "k8s.pod" = "${POD_NAME}" }
## Tags added to every metric.
# tags = { namespace = "${POD_NAMESPACE}", pod = "${POD_NAME}" }
## Replace an attribute or tag the event already has.
# overwrite = false
"#;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct StaticConfig {
    attributes: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
    overwrite: bool,
}

fn build(cfg: &PluginConfig, _cx: &BuildContext) -> Result<Box<dyn Filter>, ConfigError> {
    let c: StaticConfig = cfg.parse()?;
    for (section, map) in [("attributes", &c.attributes), ("tags", &c.tags)] {
        if let Some(k) = map.keys().find(|k| k.is_empty()) {
            return Err(cfg.error_at(section, format!("empty name {k:?}")));
        }
    }
    if let Some((k, _)) = c.tags.iter().find(|(_, v)| v.is_empty()) {
        return Err(cfg
            .error_at("tags", format!("tag {k:?} has an empty value"))
            .with_hint("line protocol has no empty tag values; is its ${VAR} set?"));
    }
    Ok(Box::new(Static {
        attributes: c.attributes.into_iter().collect(),
        tags: c.tags.into_iter().collect(),
        overwrite: c.overwrite,
    }))
}

struct Static {
    attributes: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    overwrite: bool,
}

impl Filter for Static {
    fn process(&mut self, batch: &mut Batch) {
        match batch {
            Batch::Logs(records) => {
                for r in records.iter_mut() {
                    for (k, v) in &self.attributes {
                        if self.overwrite || r.attributes.get(k).is_none() {
                            r.attributes.set(k, FieldValue::String(v.as_str().into()));
                        }
                    }
                }
            }
            Batch::Metrics(metrics) => {
                for m in metrics.iter_mut() {
                    for (k, v) in &self.tags {
                        if self.overwrite || m.tag(k).is_none() {
                            m.insert_tag(k.clone(), v.clone());
                        }
                    }
                }
            }
        }
    }
}

/// This plugin's sample check (run for every registered plugin from `src/sample_checks.rs`):
/// each option the sample shows at its default is the real default.
#[cfg(test)]
pub(crate) fn check_sample() {
    gleaner_api::test_util::sample::assert_sample_debug::<StaticConfig>(
        "filters.static.0",
        SAMPLE,
        &["attributes", "tags"],
        &[],
    );
    gleaner_api::test_util::sample::assert_default::<StaticConfig>("filters.static.0");
}

#[cfg(test)]
mod tests {
    use gleaner_api::{LogRecord, Metric, Stream};

    use super::*;

    fn filter(toml: &str) -> Result<Box<dyn Filter>, ConfigError> {
        let cfg = PluginConfig::from_toml_str("filters.static.0", toml)?;
        build(&cfg, &BuildContext::for_test("filters.static.0"))
    }

    #[test]
    fn adds_attributes_and_tags_keeping_existing_ones() {
        let mut f = filter(
            "attributes = { \"k8s.pod\" = \"web-1\", \"k8s.namespace\" = \"shop\" }\n\
             tags = { pod = \"web-1\" }\n",
        )
        .expect("builds");
        let mut logs = Batch::Logs(vec![
            LogRecord::new(1, "x", Stream::Stdout)
                .with_attribute("k8s.pod", FieldValue::String("own".into())),
        ]);
        f.process(&mut logs);
        let Batch::Logs(l) = logs else { panic!("kind") };
        assert_eq!(
            l[0].attribute("k8s.pod"),
            Some(&FieldValue::String("own".into()))
        );
        assert_eq!(
            l[0].attribute("k8s.namespace"),
            Some(&FieldValue::String("shop".into()))
        );
        let mut ms = Batch::Metrics(vec![
            Metric::new("app_requests", 1).with_field("value", FieldValue::Float(1.0)),
        ]);
        f.process(&mut ms);
        let Batch::Metrics(m) = ms else {
            panic!("kind")
        };
        assert_eq!(m[0].tag("pod"), Some("web-1"));
    }

    #[test]
    fn overwrite_replaces_and_empty_tag_values_are_refused() {
        let mut f = filter("attributes = { a = \"new\" }\noverwrite = true\n").expect("builds");
        let mut logs = Batch::Logs(vec![
            LogRecord::new(1, "x", Stream::Stdout).with_attribute("a", FieldValue::Int(1)),
        ]);
        f.process(&mut logs);
        let Batch::Logs(l) = logs else { panic!("kind") };
        assert_eq!(l[0].attribute("a"), Some(&FieldValue::String("new".into())));
        let e = filter("tags = { pod = \"\" }\n").err().expect("refused");
        assert_eq!(e.key.as_deref(), Some("filters.static.0.tags"));
    }
}
