//! Config validation: defaults, every rejected value with the key it names, and the sample.

use gleaner_api::{BuildContext, PluginConfig};

use super::super::config::{Listen, parse, parse_listen};
use super::super::framing::Framing;
use super::super::{DESCRIPTOR, SAMPLE};

fn cfg(toml: &str) -> PluginConfig {
    PluginConfig::from_toml_str("inputs.syslog.0", toml).expect("toml")
}

#[test]
fn defaults() {
    let s = parse(&cfg("")).expect("defaults are valid");
    assert_eq!(s.listen, Listen::Udp("127.0.0.1:5514".into()));
    assert_eq!(s.framing, Framing::Auto);
    assert_eq!(s.max_message_bytes, 65_536);
    assert_eq!(s.max_connections, 256);
    assert_eq!(s.idle_timeout, Some(std::time::Duration::from_secs(600)));
    assert!(s.tls.is_none());
}

#[test]
fn the_sample_builds() {
    let body = SAMPLE
        .strip_prefix("[[inputs.syslog]]\n")
        .expect("the sample's table");
    let c = PluginConfig::from_toml_str("inputs.syslog.0", body).expect("sample parses");
    if let Err(e) = (DESCRIPTOR.build)(&c, &BuildContext::for_test("inputs.syslog.0")) {
        panic!("the sample must build: {e}");
    }
}

#[test]
fn listen_addresses() {
    assert_eq!(
        parse_listen("tcp://0.0.0.0:6514"),
        Some(Listen::Tcp("0.0.0.0:6514".into()))
    );
    assert_eq!(
        parse_listen("udp://[::1]:514"),
        Some(Listen::Udp("[::1]:514".into()))
    );
    assert_eq!(
        parse_listen("unix:///dev/log"),
        Some(Listen::Unix("/dev/log".into()))
    );
    for bad in [
        "127.0.0.1:514",
        "tcp://:514",
        "tcp://host:99999",
        "http://h:1",
        "unix://rel/path",
        "unix:///",
    ] {
        assert_eq!(parse_listen(bad), None, "{bad}");
    }
}

#[test]
fn rejected_values_name_their_key() {
    for (toml, key) in [
        ("listen = \"514\"", "listen"),
        ("framing = \"lines\"", "framing"),
        ("max_message_bytes = 100", "max_message_bytes"),
        ("max_connections = 0", "max_connections"),
        ("udp_pending_max = 0", "udp_pending_max"),
        (
            "listen = \"tcp://h:1\"\ntls_cert_file = \"/c\"",
            "tls_cert_file",
        ),
        (
            "listen = \"tcp://h:1\"\ntls_key_file = \"/k\"",
            "tls_key_file",
        ),
        (
            "listen = \"tcp://h:1\"\ntls_client_ca_file = \"/ca\"",
            "tls_client_ca_file",
        ),
        (
            "tls_cert_file = \"/c\"\ntls_key_file = \"/k\"",
            "tls_cert_file",
        ),
        ("socket_mode = \"0666\"", "socket_mode"),
        (
            "listen = \"unix:///x\"\nsocket_mode = \"rw\"",
            "socket_mode",
        ),
        ("unknown_key = 1", "unknown_key"),
    ] {
        let err = parse(&cfg(toml)).expect_err(toml);
        assert_eq!(
            err.key.as_deref(),
            Some(&*format!("inputs.syslog.0.{key}")),
            "{toml}: {err}"
        );
    }
    let ok = parse(&cfg("listen = \"unix:///x\"\nsocket_mode = \"0660\"")).expect("mode");
    assert_eq!(ok.socket_mode, Some(0o660));
    let ok = parse(&cfg("idle_timeout = \"0s\"\nframing = \"newline\"")).expect("no idle");
    assert_eq!((ok.idle_timeout, ok.framing), (None, Framing::Newline));
}
