//! `data_format = "json"`: a document (an object, or an array of objects) to metrics, with
//! Telegraf's `json` parser options kept minimal (see the parent module's doc).

use gleaner_api::time::parse_rfc3339;
use gleaner_api::{FieldValue, Metric};
use serde::Deserialize;
use serde_json::{Map, Value};

/// How `json_time_key`'s value is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TimeFormat {
    /// Seconds since the epoch (a number, fractions kept, or a numeric string).
    #[default]
    Unix,
    /// Milliseconds.
    #[serde(rename = "unix_ms")]
    UnixMs,
    /// Microseconds.
    #[serde(rename = "unix_us")]
    UnixUs,
    /// Nanoseconds.
    #[serde(rename = "unix_ns")]
    UnixNs,
    /// An RFC 3339 string.
    Rfc3339,
}

/// The validated JSON options.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct JsonOptions {
    pub(super) default_name: String,
    pub(super) name_key: String,
    pub(super) tag_keys: Vec<String>,
    pub(super) time_key: String,
    pub(super) time_format: TimeFormat,
}

/// Nesting deeper than this is not flattened (its values are left out).
const MAX_DEPTH: usize = 16;

impl JsonOptions {
    /// The metrics of one document; an error when it is not JSON, not objects, or holds a
    /// time that does not read (the whole document is then left out).
    pub(super) fn parse(&self, doc: &[u8], now: i64) -> (Vec<Metric>, Option<String>) {
        let text = doc.trim_ascii();
        if text.is_empty() {
            return (Vec::new(), None);
        }
        let value: Value = match serde_json::from_slice(text) {
            Ok(v) => v,
            Err(e) => return (Vec::new(), Some(format!("json: {e}"))),
        };
        let objects: Vec<&Map<String, Value>> = match &value {
            Value::Object(o) => vec![o],
            Value::Array(items) => match items.iter().map(Value::as_object).collect() {
                Some(all) => all,
                None => {
                    return (
                        Vec::new(),
                        Some("json: an array item is not an object".into()),
                    );
                }
            },
            _ => return (Vec::new(), Some("json: not an object or an array".into())),
        };
        let mut out = Vec::with_capacity(objects.len());
        for o in objects {
            match self.metric(o, now) {
                Ok(Some(m)) => out.push(m),
                Ok(None) => {}
                Err(e) => return (Vec::new(), Some(e)),
            }
        }
        (out, None)
    }

    /// One object's metric; `None` when it has no field.
    fn metric(&self, o: &Map<String, Value>, now: i64) -> Result<Option<Metric>, String> {
        let name = match o.get(&self.name_key) {
            Some(Value::String(s)) if !self.name_key.is_empty() => s.clone(),
            _ => self.default_name.clone(),
        };
        let timestamp = match o.get(&self.time_key) {
            Some(v) if !self.time_key.is_empty() => self.time(v)?,
            _ => now,
        };
        let mut m = Metric::new(name, timestamp);
        for key in &self.tag_keys {
            match o.get(key) {
                Some(Value::String(s)) => m.insert_tag(key.clone(), s.clone()),
                Some(v @ (Value::Number(_) | Value::Bool(_))) => {
                    m.insert_tag(key.clone(), v.to_string());
                }
                _ => {}
            }
        }
        let skip = |k: &str| {
            k == self.name_key || k == self.time_key || self.tag_keys.iter().any(|t| t == k)
        };
        for (k, v) in o {
            if !skip(k) {
                flatten(k, v, 0, &mut m.fields);
            }
        }
        Ok((!m.fields.is_empty()).then_some(m))
    }

    /// `json_time_key`'s value in nanoseconds.
    fn time(&self, v: &Value) -> Result<i64, String> {
        let bad = || {
            format!(
                "json: {:?} is not a {:?} time",
                v.to_string(),
                self.time_format
            )
        };
        if self.time_format == TimeFormat::Rfc3339 {
            return v
                .as_str()
                .and_then(|s| parse_rfc3339(s.as_bytes()))
                .ok_or_else(bad);
        }
        let n = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .ok_or_else(bad)?;
        let scale = match self.time_format {
            TimeFormat::Unix => 1e9,
            TimeFormat::UnixMs => 1e6,
            TimeFormat::UnixUs => 1e3,
            TimeFormat::UnixNs | TimeFormat::Rfc3339 => 1.0,
        };
        // Integers keep every digit (a float has 53 bits); fractions of seconds are scaled.
        if let Value::Number(i) = v
            && let Some(i) = i.as_i64()
        {
            return i.checked_mul(scale as i64).ok_or_else(bad);
        }
        let ns = (n * scale).round();
        if ns.is_finite() && ns.abs() < 9.2e18 {
            Ok(ns as i64)
        } else {
            Err(bad())
        }
    }
}

/// Adds the fields of `v` under `key`: numbers as floats, booleans as booleans, objects
/// flattened with `_`; strings, arrays and nulls are left out.
fn flatten(key: &str, v: &Value, depth: usize, fields: &mut Vec<(String, FieldValue)>) {
    match v {
        Value::Number(n) => {
            if let Some(f) = n.as_f64() {
                fields.push((key.to_owned(), FieldValue::Float(f)));
            }
        }
        Value::Bool(b) => fields.push((key.to_owned(), FieldValue::Bool(*b))),
        Value::Object(o) if depth < MAX_DEPTH => {
            for (k, inner) in o {
                flatten(&format!("{key}_{k}"), inner, depth + 1, fields);
            }
        }
        _ => {}
    }
}
