//! The shared keys: defaults per output, one validation, and unknown keys still refused
//! with the shared ones among the suggestions.

use gleaner_api::{ByteSize, PluginConfig};
use serde::Deserialize;

use super::{HttpDefaults, HttpOptions};
use crate::http_client::ContentEncoding;

const DEFAULTS: HttpDefaults = HttpDefaults {
    timeout: std::time::Duration::from_secs(7),
    events_key: "batch_max_events",
    max_events: 100,
    max_bytes: ByteSize::mib(2),
    content_encoding: Some(ContentEncoding::Gzip),
    concurrency: Some(4),
};

/// An output's own keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Own {
    url: String,
}

fn cfg(toml: &str) -> PluginConfig {
    PluginConfig::from_toml_str("outputs.example.0", toml).expect("toml")
}

#[test]
fn defaults_apply_and_given_keys_win() {
    let o = HttpOptions::parse(&cfg("url = \"x\"\n"), &DEFAULTS).expect("valid");
    assert_eq!(o.client.timeout, std::time::Duration::from_secs(7));
    assert_eq!((o.limits.max_events, o.limits.max_bytes), (100, 2 << 20));
    assert!(o.gzip == Some(1) && o.headers.is_empty());
    let o = HttpOptions::parse(
        &cfg("timeout = \"1s\"\nbatch_max_events = 3\nbatch_max_bytes = \"4KiB\"\ncontent_encoding = \"identity\"\nheaders = { X-A = \"b\" }\n"),
        &DEFAULTS,
    )
    .expect("valid");
    assert_eq!(o.client.timeout, std::time::Duration::from_secs(1));
    assert_eq!((o.limits.max_events, o.limits.max_bytes), (3, 4096));
    assert_eq!(o.gzip, None);
    assert_eq!(o.headers.len(), 1);
}

/// `compression_level` sets the gzip level (default 1, 0 stores); with identity bodies it
/// has nothing to set.
#[test]
fn compression_level_sets_the_gzip_level() {
    for (toml, level) in [
        ("", Some(1)),
        ("compression_level = 6\n", Some(6)),
        ("compression_level = 0\n", Some(0)),
        (
            "compression_level = 9\ncontent_encoding = \"identity\"\n",
            None,
        ),
    ] {
        let o = HttpOptions::parse(&cfg(toml), &DEFAULTS).expect(toml);
        assert_eq!(o.gzip, level, "{toml}");
    }
}

#[test]
fn concurrency_defaults_per_output_and_is_bounded() {
    let o = HttpOptions::parse(&cfg("url = \"x\"\n"), &DEFAULTS).expect("valid");
    assert_eq!(o.concurrency, 4);
    let o = HttpOptions::parse(&cfg("concurrency = 1\n"), &DEFAULTS).expect("valid");
    assert_eq!(o.concurrency, 1);
    for bad in ["concurrency = 0\n", "concurrency = 65\n"] {
        let e = HttpOptions::parse(&cfg(bad), &DEFAULTS).expect_err(bad);
        assert_eq!(
            e.key.as_deref(),
            Some("outputs.example.0.concurrency"),
            "{e}"
        );
    }
    // Not offered (remote_write): an unknown key for the output, and 1.
    let ordered = HttpDefaults {
        concurrency: None,
        ..DEFAULTS
    };
    assert_eq!(
        HttpOptions::parse(&cfg("url = \"x\"\n"), &ordered)
            .expect("valid")
            .concurrency,
        1
    );
    let e =
        HttpOptions::own_keys::<Own>(&cfg("concurrency = 2\n"), &ordered).expect_err("not offered");
    assert!(e.message.contains("concurrency"), "{e}");
}

#[test]
fn own_keys_never_see_the_shared_ones() {
    let c = cfg("url = \"x\"\ntimeout = \"1s\"\ninsecure_skip_verify = true\n");
    let own: Own = HttpOptions::own_keys(&c, &DEFAULTS).expect("own keys");
    assert_eq!(own.url, "x");
}

#[test]
fn a_misspelt_shared_key_is_refused_with_a_hint() {
    let e = HttpOptions::own_keys::<Own>(&cfg("timout = \"1s\"\n"), &DEFAULTS).expect_err("typo");
    assert_eq!(e.key.as_deref(), Some("outputs.example.0.timout"), "{e}");
    assert_eq!(e.hint.as_deref(), Some("did you mean `timeout`?"), "{e}");
    assert!(e.message.contains("`insecure_skip_verify`"), "{e}");
}

#[test]
fn a_key_the_output_does_not_offer_is_unknown() {
    let fixed = HttpDefaults {
        events_key: "max_samples_per_request",
        content_encoding: None,
        ..DEFAULTS
    };
    for key in [
        "content_encoding = \"gzip\"\n",
        "compression_level = 1\n",
        "batch_max_events = 5\n",
    ] {
        let e = HttpOptions::own_keys::<Own>(&cfg(key), &fixed).expect_err(key);
        assert!(e.message.starts_with("unknown field"), "{key}: {e}");
    }
    let o = HttpOptions::parse(&cfg("max_samples_per_request = 9\n"), &fixed).expect("valid");
    assert_eq!(o.limits.max_events, 9);
    assert_eq!(o.gzip, None);
}

#[test]
fn each_shared_rule_points_at_its_key() {
    for (toml, key) in [
        ("batch_max_events = 0\n", "batch_max_events"),
        ("batch_max_bytes = \"1000B\"\n", "batch_max_bytes"),
        ("timeout = \"0s\"\n", "timeout"),
        ("headers = { Content-Type = \"x\" }\n", "headers"),
        ("cert_file = \"/c.pem\"\n", "cert_file"),
        ("compression_level = 10\n", "compression_level"),
    ] {
        let e = HttpOptions::parse(&cfg(toml), &DEFAULTS).expect_err(toml);
        assert_eq!(
            e.key.as_deref(),
            Some(format!("outputs.example.0.{key}").as_str()),
            "{toml}: {e}"
        );
    }
}

/// The lanes of an output (clones of its sender made before any request) post through one
/// client: one connection pool and one TLS configuration per output, not one per lane.
#[test]
fn clones_of_a_sender_share_one_client() {
    let o = HttpOptions::parse(&cfg("url = \"x\"\n"), &DEFAULTS).expect("valid");
    let sender = super::Sender::new("example", &o, super::Auth::None);
    let lane = sender.clone();
    assert!(lane.shares_client_with(&sender));
    let other = super::Sender::new("example", &o, super::Auth::None);
    assert!(!other.shares_client_with(&sender));
}
