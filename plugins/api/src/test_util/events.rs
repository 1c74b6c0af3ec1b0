//! Event sets shared by benches and tests, shaped as the inputs produce them.

use crate::event::{FieldValue, Metric, MetricKind};

/// `n` `cpu` metrics as the host input produces them: 4 tags (`host`, `cpu` of 16, `cluster`,
/// `region`) and 8 fields (six floats, an integer, a boolean), 10 s apart from `t0`.
pub fn host_metrics(n: usize, t0: i64) -> Vec<Metric> {
    (0..n)
        .map(|i| {
            let f = i as f64;
            Metric::new("cpu", t0 + i as i64 * 10_000_000_000)
                .with_kind(MetricKind::Gauge)
                .with_tag("host", "node-17.eu-west-1.compute.internal")
                .with_tag("cpu", format!("cpu{}", i % 16))
                .with_tag("cluster", "prod")
                .with_tag("region", "eu-west-1")
                .with_field("usage_user", FieldValue::Float(12.5 + f / 7.0))
                .with_field("usage_system", FieldValue::Float(3.25 + f / 11.0))
                .with_field("usage_idle", FieldValue::Float(80.125 - f / 13.0))
                .with_field("usage_iowait", FieldValue::Float(0.5))
                .with_field("usage_irq", FieldValue::Float(0.0))
                .with_field("usage_steal", FieldValue::Float(0.01 * f))
                .with_field("time_user", FieldValue::Int(123_456_789 + i as i64))
                .with_field("online", FieldValue::Bool(true))
        })
        .collect()
}
