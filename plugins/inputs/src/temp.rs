//! `inputs.temp` (Telegraf's temp): hardware temperature sensors through `sysinfo`'s
//! components (Linux: `/sys/class/hwmon`), one `temp,sensor=<label> temp=<celsius>` metric per
//! sensor. The sensor tag is the component's label lowercased, with each run of characters
//! other than letters and digits made one `_` (`coretemp Package id 0` ->
//! `coretemp_package_id_0`). A machine without sensors (most VMs) gives nothing, said once at
//! debug level; a sensor without a reading is left out.

use async_trait::async_trait;
use gleaner_api::{
    Batch, BuildContext, ConfigError, FieldValue, Input, InputContext, InputDescriptor, Metric,
    PluginConfig, PluginError, now_ns,
};
use serde::Deserialize;
use sysinfo::Components;

/// Registry entry.
pub const DESCRIPTOR: InputDescriptor = InputDescriptor {
    name: "temp",
    summary: "Hardware temperature sensors (hwmon) as temp,sensor=<label> temp=<celsius> \
              (Telegraf's temp)",
    sample: SAMPLE,
    build,
};

const SAMPLE: &str = r#"[[inputs.temp]]
## No options: every sensor with a reading is reported.
"#;

/// The `[[inputs.temp]]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TempConfig {}

fn build(cfg: &PluginConfig, _cx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    let _config: TempConfig = cfg.parse()?;
    Ok(Box::new(Temp))
}

/// The sensor tag of a component label.
pub fn sensor_name(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let mut gap = false;
    for c in label.chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// The metrics of `(label, reading)` pairs taken at `ts`.
pub fn metrics<'a>(
    readings: impl IntoIterator<Item = (&'a str, Option<f32>)>,
    ts: i64,
) -> Vec<Metric> {
    readings
        .into_iter()
        .filter_map(|(label, t)| {
            let t = t.filter(|t| t.is_finite())?;
            Some(
                Metric::new("temp", ts)
                    .with_tag("sensor", sensor_name(label))
                    .with_field("temp", FieldValue::Float(f64::from(t))),
            )
        })
        .collect()
}

struct Temp;

#[async_trait]
impl Input for Temp {
    async fn run(self: Box<Self>, mut cx: InputContext) -> Result<(), PluginError> {
        let mut components: Option<Components> = None;
        let mut said_none = false;
        while cx.ticker.tick().await {
            let mut c = components.take();
            let (back, out) = tokio::task::spawn_blocking(move || {
                let comps = match c.as_mut() {
                    Some(comps) => {
                        comps.refresh(true);
                        c.take().unwrap_or_else(Components::new_with_refreshed_list)
                    }
                    None => Components::new_with_refreshed_list(),
                };
                let out = metrics(
                    comps.list().iter().map(|c| (c.label(), c.temperature())),
                    now_ns(),
                );
                (comps, out)
            })
            .await
            .map_err(|e| PluginError::new(format!("temp gather panicked: {e}")))?;
            components = Some(back);
            if out.is_empty() {
                if !said_none {
                    tracing::debug!("temp: no temperature sensors on this machine");
                    said_none = true;
                }
                continue;
            }
            if cx.out.send(Batch::Metrics(out)).await.is_err() {
                return Ok(());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) fn check_sample() {
    gleaner_api::test_util::sample::assert_sample::<TempConfig>("inputs.temp.0", SAMPLE, &[], &[]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_become_telegraf_style_sensor_names() {
        assert_eq!(
            sensor_name("coretemp Package id 0"),
            "coretemp_package_id_0"
        );
        assert_eq!(sensor_name("acpitz temp1"), "acpitz_temp1");
        assert_eq!(sensor_name("  nvme Composite  "), "nvme_composite");
        assert_eq!(sensor_name("k10temp Tctl"), "k10temp_tctl");
        assert_eq!(sensor_name(""), "");
    }

    #[test]
    fn a_sensor_without_a_reading_is_left_out() {
        let m = metrics(
            [
                ("cpu Core 0", Some(45.5)),
                ("gpu", None),
                ("bad", Some(f32::NAN)),
            ],
            7,
        );
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].measurement, "temp");
        assert_eq!(m[0].tag("sensor"), Some("cpu_core_0"));
        assert_eq!(m[0].field("temp"), Some(&FieldValue::Float(45.5)));
        assert_eq!(m[0].timestamp, 7);
    }

    #[test]
    fn this_machine_gathers_without_error() {
        // Sensors or none: a gather reads what sysinfo finds and never fails.
        let comps = Components::new_with_refreshed_list();
        let m = metrics(comps.list().iter().map(|c| (c.label(), c.temperature())), 1);
        assert!(
            m.iter()
                .all(|m| m.tag("sensor").is_some_and(|s| !s.is_empty()))
        );
    }
}
