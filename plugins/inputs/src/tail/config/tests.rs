use std::path::PathBuf;

use gleaner_api::{BuildContext, PluginConfig};

use super::{Encoding, Format, parse};
use crate::tail::DESCRIPTOR;

fn bcx(data_dir: Option<&str>) -> BuildContext {
    let mut b = BuildContext::for_test("inputs.tail.0");
    b.data_dir = data_dir.map(PathBuf::from);
    b
}

fn cfg(text: &str) -> PluginConfig {
    PluginConfig::from_toml_str("inputs.tail.0", text).unwrap()
}

#[test]
fn defaults() {
    let s = parse(
        &cfg(r#"paths = ["/var/log/pods/*/*/*.log"]"#),
        &bcx(Some("/data")),
    )
    .unwrap();
    assert_eq!(s.db, PathBuf::from("/data/tail/inputs.tail.0.db"));
    assert_eq!(s.format, Format::Auto);
    assert!(!s.read_from_head);
    assert_eq!(s.refresh_interval.as_secs(), 5);
    assert_eq!(s.max_line_bytes, 1024 * 1024);
    assert_eq!(s.max_open_files, 1024);
    assert_eq!(s.rotate_wait_max.as_secs(), 600);
    assert_eq!(s.commit_interval.as_millis(), 200);
    assert_eq!(s.encoding, Encoding::Keep);
    assert!(s.multiline.is_none());
    assert!(s.ignore_older.is_none());
}

#[test]
fn every_option() {
    let s = parse(
        &cfg(r#"
paths = ["/var/log/pods/*/*/*.log", "/var/log/app.log"]
exclude_paths = ["*.gz", "/var/log/pods/kube-system_*/**"]
format = "cri"
read_from_head = true
db = "/tmp/x.db"
refresh_interval = "1s"
max_line_bytes = "64KiB"
ignore_older = "1h"
multiline = { start = '^\d{4}-', flush_after = "2s", max_bytes = "8KiB" }
encoding = "replace"
max_open_files = 16
rotate_wait_max = "1m"
commit_interval = "250ms"
db_retention = "1h"
"#),
        &bcx(None),
    )
    .unwrap();
    assert_eq!(s.paths.len(), 2);
    assert_eq!(s.exclude.len(), 2);
    assert_eq!(s.format, Format::Cri);
    assert_eq!(s.db, PathBuf::from("/tmp/x.db"));
    assert_eq!(s.max_line_bytes, 64 * 1024);
    let m = s.multiline.unwrap();
    assert_eq!(m.flush_after.as_secs(), 2);
    assert_eq!(m.max_bytes, 8192);
    assert_eq!(s.encoding, Encoding::Replace);
}

#[test]
fn multiline_preset_forms() {
    for text in [
        r#"paths = ["/x/*.log"]
multiline = "java""#,
        r#"paths = ["/x/*.log"]
multiline = { preset = "python", flush_after = "500ms" }"#,
    ] {
        let s = parse(&cfg(text), &bcx(Some("/d"))).unwrap();
        assert!(s.multiline.is_some());
    }
}

#[test]
fn errors_name_the_key() {
    let cases = [
        ("paths = []", "inputs.tail.0.paths", "paths is empty"),
        (
            r#"paths = ["var/*.log"]"#,
            "inputs.tail.0.paths",
            "not an absolute path",
        ),
        (
            r#"paths = ["/x/*.log"]
exclude_paths = ["/x/[a"]"#,
            "inputs.tail.0.exclude_paths",
            "unclosed",
        ),
        (
            r#"paths = ["/x/*.log"]
multiline = "ruby""#,
            "inputs.tail.0.multiline",
            "unknown variant",
        ),
        (
            r#"paths = ["/x/*.log"]
multiline = { start = "(" }"#,
            "inputs.tail.0.multiline",
            "invalid multiline.start regex",
        ),
        (
            r#"paths = ["/x/*.log"]
multiline = { flush_after = "1s" }"#,
            "inputs.tail.0.multiline",
            "needs a preset or a start",
        ),
        (
            r#"paths = ["/x/*.log"]
commit_interval = "0s""#,
            "inputs.tail.0.commit_interval",
            "greater than 0",
        ),
        (
            r#"paths = ["/x/*.log"]
format = "json""#,
            "inputs.tail.0.format",
            "unknown variant",
        ),
        (
            r#"paths = ["/x/*.log"]
read_from_tail = true"#,
            "inputs.tail.0.read_from_tail",
            "unknown field",
        ),
    ];
    for (text, key, msg) in cases {
        let e = parse(&cfg(text), &bcx(Some("/d"))).unwrap_err();
        assert_eq!(e.key.as_deref(), Some(key), "{text}: {e}");
        assert!(e.message.contains(msg), "{text}: {e}");
        assert!(e.span.is_some(), "{text}: located");
    }
}

#[test]
fn no_data_dir_and_no_db_is_an_error() {
    let e = parse(&cfg(r#"paths = ["/x/*.log"]"#), &bcx(None)).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("inputs.tail.0.db"));
    assert_eq!(e.hint.as_deref(), Some("set agent.data_dir or db"));
}

#[test]
fn the_sample_builds_alone() {
    let body = DESCRIPTOR
        .sample
        .strip_prefix("[[inputs.tail]]\n")
        .expect("the sample is one [[inputs.tail]] table");
    let c = cfg(body);
    (DESCRIPTOR.build)(&c, &bcx(None)).unwrap();
}

#[test]
fn ids_become_file_names() {
    let mut b = bcx(Some("/d"));
    b.id = std::sync::Arc::from("pods/../x y");
    let s = parse(&cfg(r#"paths = ["/x/*.log"]"#), &b).unwrap();
    assert_eq!(s.db, PathBuf::from("/d/tail/pods_.._x_y.db"));
}

#[test]
fn symlink_roots_are_the_glob_roots_the_kubelet_trees_and_the_option() {
    let s = parse(
        &cfg(r#"
paths = ["/srv/app/*/logs/*.log"]
follow_symlinks_into = ["/var/lib/docker/containers"]
"#),
        &bcx(Some("/data")),
    )
    .unwrap();
    let roots: Vec<&str> = s
        .symlink_roots
        .iter()
        .map(|p| p.to_str().unwrap())
        .collect();
    assert_eq!(
        roots,
        [
            "/srv/app",
            "/var/lib/docker/containers",
            "/var/log/containers",
            "/var/log/pods"
        ]
    );
    let err = parse(
        &cfg(r#"
paths = ["/var/log/*.log"]
follow_symlinks_into = ["var/lib/docker"]
"#),
        &bcx(Some("/data")),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("follow_symlinks_into"), "{err}");
    assert!(err.contains("not absolute"), "{err}");
}
