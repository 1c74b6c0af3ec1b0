//! `level_key`: a parsed level, whatever the logger wrote, as one of six `severity` values
//! (OpenTelemetry's severity names, lowercase): `trace`, `debug`, `info`, `warn`, `error`,
//! `fatal`.
//!
//! Names are matched in any case (`WARN`, `Warning`, `W`, `err`, `crit`, `panic`, syslog's
//! `notice`, `alert`, `emerg`); numbers are syslog severities 0 to 7 or the
//! bunyan/pino levels 10, 20, ... 60. Anything else is kept as written, lowercased, so
//! nothing is lost.

use gleaner_api::FieldValue;

/// The severity of a level value.
pub(crate) fn severity(v: &FieldValue) -> String {
    let named = |s: &str| -> Option<&'static str> {
        let s = s.trim();
        let eq = |names: &[&str]| names.iter().any(|n| s.eq_ignore_ascii_case(n));
        Some(
            if eq(&["trace", "trc", "t", "finest", "finer", "verbose", "v"]) {
                "trace"
            } else if eq(&["debug", "dbg", "d", "fine", "config"]) {
                "debug"
            } else if eq(&["info", "inf", "i", "information", "informational", "notice"]) {
                "info"
            } else if eq(&["warn", "warning", "wrn", "w"]) {
                "warn"
            } else if eq(&["error", "err", "e", "severe"]) {
                "error"
            } else if eq(&[
                "fatal",
                "critical",
                "crit",
                "panic",
                "alert",
                "emerg",
                "emergency",
                "f",
                "dpanic",
            ]) {
                "fatal"
            } else {
                return None;
            },
        )
    };
    let numeric = |n: i64| -> Option<&'static str> {
        Some(match n {
            0..=2 => "fatal",
            3 => "error",
            4 => "warn",
            5 | 6 => "info",
            7 => "debug",
            10 => "trace",
            20 => "debug",
            30 => "info",
            40 => "warn",
            50 => "error",
            60 => "fatal",
            _ => return None,
        })
    };
    let found = match v {
        FieldValue::String(s) => named(s).or_else(|| s.trim().parse().ok().and_then(numeric)),
        FieldValue::Int(i) => numeric(*i),
        FieldValue::UInt(u) => i64::try_from(*u).ok().and_then(numeric),
        FieldValue::Float(_) | FieldValue::Bool(_) => None,
    };
    match found {
        Some(s) => s.to_owned(),
        None => v.to_string().trim().to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_the_rest() {
        let s = |v: &str| severity(&FieldValue::String(v.into()));
        assert_eq!(s("WARNING"), "warn");
        assert_eq!(s(" Err "), "error");
        assert_eq!(s("crit"), "fatal");
        assert_eq!(s("notice"), "info");
        assert_eq!(s("3"), "error");
        assert_eq!(severity(&FieldValue::Int(30)), "info");
        assert_eq!(severity(&FieldValue::UInt(7)), "debug");
        assert_eq!(s("Audit"), "audit");
        assert_eq!(severity(&FieldValue::Int(99)), "99");
    }
}
