//! Value conversions shared by the importers: durations and sizes in the forms Gleaner reads,
//! Fluent Bit's booleans, and listen addresses.

use toml::Value;

/// A Telegraf duration (`"10s"`, or an integer of seconds) as Gleaner writes it.
pub(crate) fn telegraf_duration(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(Value::String(s.trim().to_owned())),
        Value::Integer(n) if *n >= 0 => Some(Value::String(format!("{n}s"))),
        Value::Float(f) if *f >= 0.0 => Some(Value::String(format!("{}ms", (f * 1000.0) as u64))),
        _ => None,
    }
}

/// A Fluent Bit duration: a number of seconds (`5`, `0.5`), or a number with a unit.
pub(crate) fn fluent_bit_seconds(s: &str) -> Option<Value> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u64>() {
        return Some(Value::String(format!("{n}s")));
    }
    if let Ok(f) = s.parse::<f64>() {
        if f.is_finite() && f >= 0.0 {
            return Some(Value::String(format!("{}ms", (f * 1000.0).round() as u64)));
        }
        return None;
    }
    let unit = s.trim_start_matches(|c: char| c.is_ascii_digit());
    let known = ["ms", "s", "m", "h", "d"];
    (!unit.is_empty() && unit.len() < s.len() && known.contains(&unit))
        .then(|| Value::String(s.to_owned()))
}

/// A size: an integer of bytes or `"5MB"`, `"32k"`, `"1MiB"`.
pub(crate) fn size(v: &Value) -> Option<Value> {
    match v {
        Value::Integer(n) if *n >= 0 => Some(Value::Integer(*n)),
        Value::String(s) => size_str(s),
        _ => None,
    }
}

pub(crate) fn size_str(s: &str) -> Option<Value> {
    let s = s.trim();
    s.parse::<gleaner_api::ByteSize>()
        .ok()
        .map(|_| Value::String(s.to_owned()))
}

/// Fluent Bit's booleans: on/off, true/false, yes/no, 1/0, any case.
pub(crate) fn fluent_bit_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Some(true),
        "off" | "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// A listen address Gleaner accepts (`host:port`, host an IP): Telegraf's `":8186"` means every
/// IPv4 address; `localhost` is 127.0.0.1.
pub(crate) fn listen_address(s: &str) -> String {
    let s = s.trim();
    let s = s
        .strip_prefix("tcp://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    if let Some(port) = s.strip_prefix(':') {
        return format!("0.0.0.0:{port}");
    }
    if let Some(port) = s.strip_prefix("localhost:") {
        return format!("127.0.0.1:{port}");
    }
    s.to_owned()
}

/// A value as the source wrote it, for notes.
pub(crate) fn show(v: &Value) -> String {
    match v {
        Value::Table(_) | Value::Array(_) => {
            let t = v.to_string();
            if t.len() > 80 {
                format!("{}...", &t[..t.floor_char_boundary(77)])
            } else {
                t
            }
        }
        other => other.to_string(),
    }
}
