//! `gleaner import`: every sample config of agent/testdata/import (Telegraf's and Fluent
//! Bit's own, and our README's migration examples) converts, lists what it left out on
//! stderr, and the result passes `gleaner check`; a converted Telegraf config runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use gleaner_e2e::gleaner_bin;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../agent/testdata/import")
}

/// Runs the binary with the environment the samples' `${VAR}`s need.
fn gleaner(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(gleaner_bin())
        .args(args)
        .env("NODE_NAME", "node-1")
        .env("NODE_IP", "127.0.0.1")
        .env("INFLUX_PASSWORD", "secret")
        .env("INFLUX_TOKEN", "token")
        .env("SPLUNK_TOKEN", "00000000-0000-0000-0000-000000000000")
        .output()
        .expect("run gleaner");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_sample_converts_and_passes_check() {
    let cases = [
        ("telegraf", "telegraf.conf"),
        ("telegraf", "telegraf-k8s.conf"),
        ("fluent-bit", "fluent-bit.conf"),
        ("fluent-bit", "kube.conf"),
        ("fluent-bit", "fluent-bit-metrics.conf"),
        ("fluent-bit", "fluent-bit-helm.conf"),
        ("fluent-bit", "fluent-bit-node.conf"),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (from, name) in cases {
        let src = samples().join(name);
        let (code, toml, err) = gleaner(&["import", from, src.to_str().expect("utf-8 path")]);
        assert_eq!(code, 0, "{name}: {err}");
        // Every option left out is on stderr and, as a comment, in the config.
        for line in err.lines() {
            let rest = line
                .strip_prefix("not mapped: ")
                .unwrap_or_else(|| panic!("{name}: stderr line {line:?}"));
            let option = rest.split_once(": ").map_or(rest, |(_, o)| o);
            let option = option.rsplit_once(" (").map_or(option, |(o, _)| o);
            assert!(
                toml.contains(option),
                "{name}: {option:?} noted on stderr, not in the config"
            );
        }
        let out = dir.path().join(name.replace(".conf", ".toml"));
        std::fs::write(&out, &toml).expect("write");
        let (code, stdout, err) =
            gleaner(&["check", "--config", out.to_str().expect("utf-8 path")]);
        assert_eq!(
            code, 0,
            "{name}: gleaner check refused the import:\n{err}\n{toml}"
        );
        assert!(stdout.contains("valid"), "{stdout}");
    }
}

#[test]
fn a_converted_telegraf_config_gathers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("telegraf.conf");
    std::fs::write(
        &src,
        "[agent]\n  interval = \"10s\"\n  round_interval = true\n[[inputs.mem]]\n[[inputs.system]]\n\
         [[outputs.file]]\n  files = [\"stdout\"]\n",
    )
    .expect("write");
    let (code, toml, err) = gleaner(&["import", "telegraf", src.to_str().expect("utf-8 path")]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("round_interval"), "{err}");
    let conf = dir.path().join("gleaner.toml");
    std::fs::write(&conf, &toml).expect("write");
    let (code, out, err) = gleaner(&["--test", "--config", conf.to_str().expect("utf-8 path")]);
    assert_eq!(code, 0, "{err}\n{toml}");
    assert!(out.lines().any(|l| l.starts_with("mem,")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("system,")), "{out}");
    assert!(
        !out.lines().any(|l| l.starts_with("cpu,")),
        "cpu was not asked for: {out}"
    );
}

#[test]
fn an_unreadable_source_exits_2() {
    let (code, out, err) = gleaner(&["import", "fluent-bit", "/nonexistent/fluent-bit.conf"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.contains("cannot read /nonexistent/fluent-bit.conf"),
        "{err}"
    );
}
