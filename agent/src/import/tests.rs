//! The importers on Telegraf's and Fluent Bit's own sample configs and on our README's
//! migration examples (testdata/import/, licences in LICENSES.md): each result is compared
//! with its golden file (`*.expected.toml`; regenerate with `GLEANER_UPDATE_GOLDEN=1`), and
//! chosen mappings are asserted one by one. That each result passes `gleaner check` is tested
//! end to end (tests/e2e/import.rs), where the environment its `${VAR}`s need is set.

use std::path::Path;

use super::fluent_bit::parse_for_tests as fb_read;
use super::{ImportError, Source, convert_file};

const CASES: [(Source, &str); 7] = [
    (Source::Telegraf, "telegraf.conf"),
    (Source::Telegraf, "telegraf-k8s.conf"),
    (Source::FluentBit, "fluent-bit.conf"),
    (Source::FluentBit, "kube.conf"),
    (Source::FluentBit, "fluent-bit-metrics.conf"),
    (Source::FluentBit, "fluent-bit-helm.conf"),
    (Source::FluentBit, "fluent-bit-node.conf"),
];

fn convert(source: Source, name: &str) -> super::Conversion {
    let path = Path::new("testdata/import").join(name);
    convert_file(source, &path).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn each_sample_converts_to_its_golden_file() {
    let update = std::env::var_os("GLEANER_UPDATE_GOLDEN").is_some();
    for (source, name) in CASES {
        let got = convert(source, name).text;
        let golden = Path::new("testdata/import").join(name.replace(".conf", ".expected.toml"));
        if update {
            std::fs::write(&golden, &got).expect("write golden");
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (GLEANER_UPDATE_GOLDEN=1 writes it)",
                golden.display()
            )
        });
        assert_eq!(got, want, "{name}: differs from {}", golden.display());
    }
}

#[test]
fn every_note_is_also_a_comment_of_the_output() {
    for (source, name) in CASES {
        let c = convert(source, name);
        for n in &c.notes {
            assert!(
                c.text.contains(&n.option) && c.text.contains(&n.reason),
                "{name}: note {n:?} is not in the output"
            );
        }
    }
}

#[test]
fn telegraf_sample_becomes_one_host_input_and_keeps_its_database() {
    let c = convert(Source::Telegraf, "telegraf.conf");
    assert_eq!(c.text.matches("[[inputs.host]]").count(), 1);
    assert!(c.text.contains(
        "collect = [\"cpu\", \"mem\", \"swap\", \"disk\", \"diskio\", \"system\", \"processes\", \"kernel\"]"
    ));
    // Telegraf writes to database "telegraf" when none is set; so does the import.
    assert!(
        c.text
            .contains("[[outputs.influxdb]]\ndatabase = \"telegraf\"\n")
    );
    let options: Vec<&str> = c.notes.iter().map(|n| n.option.as_str()).collect();
    for unmapped in [
        "round_interval = true",
        "metric_buffer_limit = 10000",
        "collect_cpu_time = false",
        "core_tags = false",
    ] {
        assert!(
            options.contains(&unmapped),
            "{unmapped} not noted: {options:?}"
        );
    }
}

#[test]
fn telegraf_options_map_to_their_gleaner_names() {
    let t = convert(Source::Telegraf, "telegraf-k8s.conf").text;
    for line in [
        "tags = { cluster = \"prod-eu\" }",
        "listen = \"0.0.0.0:8186\"",
        "bearer_token_file = \"/var/run/secrets/kubernetes.io/serviceaccount/token\"",
        "protocol = \"udp\"",
        "[[outputs.remote_write]]\nurl = \"http://prometheus.monitoring:9090/api/v1/write\"\nheaders = { X-Scope-OrgID = \"team-a\" }",
        "batch_max_events = 5000",
        "api = \"v2\"",
        "org = \"ops\"",
        "[[outputs.stdout]]",
        "path = \"/tmp/metrics.out\"",
    ] {
        assert!(t.contains(line), "missing {line:?} in:\n{t}");
    }
    assert!(t.contains("not mapped: headers.Content-Type"), "{t}");
    assert!(
        t.contains("[[processors.rename]] (use [[filters.modify]]"),
        "{t}"
    );
}

#[test]
fn fluent_bit_routes_by_tag() {
    let t = convert(Source::FluentBit, "fluent-bit-node.conf").text;
    // Tag kube.* -> alias kube; Match *_metrics takes the two metric inputs, not the tail.
    assert!(t.contains("[[inputs.tail]]\nalias = \"kube\""), "{t}");
    assert!(
        t.contains("match = [\"node_metrics\", \"app_metrics\"]"),
        "{t}"
    );
    assert!(
        t.contains("[[outputs.splunk_hec]]\nmatch = [\"kube\"]"),
        "{t}"
    );
    // @SET variables are substituted, environment variables kept for Gleaner.
    assert!(
        t.contains("endpoint = \"https://splunk.logging.svc:8088\""),
        "{t}"
    );
    assert!(t.contains("token = \"${SPLUNK_TOKEN}\""), "{t}");
    // grep's Exclude rules: any one drops; record accessors become attributes.
    assert!(t.contains("exclude = { body = [\"/^DEBUG/\"], \"k8s.namespace\" = [\"/^sandbox-/\"] }\ncombine = \"any\""), "{t}");
    assert!(t.contains("buffer = { max_bytes = \"2G\" }"), "{t}");
}

#[test]
fn fluent_bit_match_all_leaves_match_out() {
    let t = convert(Source::FluentBit, "kube.conf").text;
    assert!(!t.contains("match ="), "{t}");
    assert!(t.contains("format = \"docker\""), "{t}");
    // Fluent Bit's kubernetes filter adds every label and annotation by default.
    assert!(
        t.contains("labels = [\"*\"]\nannotations = [\"*\"]\nuse_pod_annotations = false"),
        "{t}"
    );
}

#[test]
fn fluent_bit_unknown_plugins_are_listed() {
    let c = convert(Source::FluentBit, "fluent-bit-helm.conf");
    let left: Vec<&str> = c.notes.iter().map(|n| n.option.as_str()).collect();
    assert_eq!(
        left.iter().filter(|o| **o == "[OUTPUT] Name es").count(),
        2,
        "{left:?}"
    );
    assert!(
        c.text.contains("multiline.parser") || c.text.contains("format = \"auto\""),
        "{}",
        c.text
    );
    let m = convert(Source::FluentBit, "fluent-bit-metrics.conf");
    assert!(
        m.notes
            .iter()
            .any(|n| n.option == "[OUTPUT] Name prometheus_exporter")
    );
}

#[test]
fn classic_format_errors_name_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.conf");
    std::fs::write(&bad, "# ok\n    Name tail\n").expect("write");
    let e = convert_file(Source::FluentBit, &bad).expect_err("entry outside a section");
    assert!(matches!(&e, ImportError::Parse { .. }), "{e}");
    assert!(e.to_string().contains("line 2"), "{e}");

    std::fs::write(&bad, "[INPUT\n").expect("write");
    let e = convert_file(Source::FluentBit, &bad).expect_err("bad header");
    assert!(e.to_string().contains("line 1"), "{e}");

    std::fs::write(&bad, "@INCLUDE bad.conf\n").expect("write");
    let e = convert_file(Source::FluentBit, &bad).expect_err("includes itself");
    assert!(e.to_string().contains("nested"), "{e}");

    let missing =
        convert_file(Source::Telegraf, &dir.path().join("absent.conf")).expect_err("missing file");
    assert!(matches!(missing, ImportError::Read { .. }));

    std::fs::write(&bad, "[agent\ninterval = 1").expect("write");
    let e = convert_file(Source::Telegraf, &bad).expect_err("bad TOML");
    assert!(matches!(&e, ImportError::Parse { .. }), "{e}");
}

#[test]
fn classic_format_reads_includes_by_pattern_and_set_variables() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("out-a.conf"),
        "[OUTPUT]\n    Name stdout\n    Match ${tag}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("out-b.conf"),
        "[OUTPUT]\n    Name file\n    Match x\n    Path /tmp\n",
    )
    .expect("write");
    let main = dir.path().join("main.conf");
    std::fs::write(
        &main,
        "@SET tag=app.*\n[INPUT]\n  Name tail\n  Tag ${tag}\n  Path /a,/b\n@INCLUDE out-*.conf\n",
    )
    .expect("write");
    let blocks = fb_read(&std::fs::read_to_string(&main).expect("read"), &main).expect("parse");
    let kinds: Vec<(&str, String)> = blocks.iter().map(|b| (b.kind.as_str(), b.name())).collect();
    assert_eq!(
        kinds,
        [
            ("INPUT", "tail".to_owned()),
            ("OUTPUT", "stdout".to_owned()),
            ("OUTPUT", "file".to_owned())
        ]
    );
    assert_eq!(blocks[0].get("tag"), Some("app.*"));
    assert_eq!(blocks[1].get("match"), Some("app.*"));
}

#[test]
fn fluent_bit_kubernetes_events_keeps_a_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("events.conf");
    std::fs::write(&conf, "[INPUT]\n    Name kubernetes_events\n    Tag k8s_events\n    Kube_Namespace shop\n\n[OUTPUT]\n    Name stdout\n    Match *\n").expect("write");
    let t = convert_file(Source::FluentBit, &conf)
        .expect("convert")
        .text;
    assert!(t.contains("[[inputs.kubernetes_events]]\nalias = \"k8s_events\"\nnamespaces = [\"shop\"]\ndb = \"/var/lib/gleaner/kubernetes_events/imported-0.db\""), "{t}");
}

#[test]
fn fluent_bit_wildcards() {
    use super::fluent_bit::wildcard_for_tests as w;
    assert!(w("*", "anything"));
    assert!(w("kube.*", "kube.var.log"));
    assert!(!w("kube.*", "host.x"));
    assert!(w("*_metrics", "node_metrics"));
    assert!(w("a*b*c", "aXXbYYc"));
    assert!(!w("a*b*c", "aXXbYY"));
    assert!(w("**", ""));
}

#[test]
fn telegraf_selectors_are_kept_and_cel_and_separators_noted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sel.conf");
    std::fs::write(
        &path,
        "[[inputs.prometheus]]\n  urls = [\"http://127.0.0.1:9100/metrics\"]\n  namepass = [\"node_*\"]\n  \
         namepass_separator = \"_\"\n  metricpass = \"fields.value > 0\"\n  [inputs.prometheus.tagdrop]\n    job = [\"dev*\"]\n",
    )
    .expect("write");
    let c = convert_file(Source::Telegraf, &path).expect("converts");
    assert!(c.text.contains("namepass = [\"node_*\"]"), "{}", c.text);
    assert!(c.text.contains("job = [\"dev*\"]"), "{}", c.text);
    let options: Vec<&str> = c.notes.iter().map(|n| n.option.as_str()).collect();
    assert!(
        options.iter().any(|o| o.starts_with("metricpass"))
            && options.iter().any(|o| o.starts_with("namepass_separator")),
        "{options:?}"
    );
    assert!(!c.text.contains("\nmetricpass"), "{}", c.text);
}
