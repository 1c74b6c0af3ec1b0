//! Config validation: Telegraf's defaults, errors located at their key, percentile field
//! names.

use gleaner_api::{ConfigError, PluginConfig};

use super::super::config::{Protocol, Settings, parse};

fn settings(toml: &str) -> Result<Settings, ConfigError> {
    parse(&PluginConfig::from_toml_str("inputs.statsd.0", toml).unwrap())
}

#[test]
fn defaults_match_telegraf() {
    let s = settings("").unwrap();
    assert_eq!(s.address, "0.0.0.0:8125");
    assert_eq!(s.protocol, Protocol::Udp);
    assert_eq!(s.max_tcp_connections, 250);
    assert_eq!(s.aggregate.delete, [true; 4]);
    assert_eq!(
        s.aggregate.percentiles,
        vec![(90.0, "90_percentile".to_owned())]
    );
    assert_eq!(s.aggregate.percentile_limit, 1000);
    assert!(s.aggregate.parse.datadog);
    assert_eq!(s.aggregate.parse.separator, "_");
}

#[test]
fn bad_values_name_their_key() {
    for (toml, key) in [
        ("protocol = \"sctp\"", "protocol"),
        ("service_address = \"8125\"", "service_address"),
        ("percentiles = [0.0]", "percentiles"),
        ("percentiles = [100.5]", "percentiles"),
        ("max_series = 0", "max_series"),
        ("sanitize_name_method = \"x\"", "sanitize_name_method"),
        ("no_such_key = 1", "no_such_key"),
    ] {
        let err = settings(toml).unwrap_err();
        assert!(
            err.key.as_deref().is_some_and(|k| k.ends_with(key)),
            "{toml}: {err}"
        );
    }
}

#[test]
fn percentile_names_follow_telegraf() {
    let s = settings("percentiles = [50.0, 99.9, 99.95, 100.0]").unwrap();
    let names: Vec<&str> = s
        .aggregate
        .percentiles
        .iter()
        .map(|p| p.1.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "50_percentile",
            "99.9_percentile",
            "99.95_percentile",
            "100_percentile"
        ]
    );
}
