//! `inputs.kubelet` end to end against the fake kubelet (`gleaner_e2e::fake_kubelet`, TLS with
//! its own CA): `--test` prints exactly the golden lines of the fixture, `--once` delivers
//! them to a file, a huge node comes through whole (and over `max_body_size` is refused, which
//! fails `--test`); a 401 and a hanging kubelet are errors counted per input on `/metrics`
//! while the agent stays up; a rotated token file is read again.

use std::time::Duration;

use gleaner_e2e::fake_kubelet::{
    FakeKubelet, fixture_lines, fixture_summary, huge_summary, testdata,
};
use gleaner_e2e::{Agent, run_cli};

/// A config with one kubelet input on `fake` (CA-verified), `extra` appended to its table.
fn config(fake: &FakeKubelet, token_file: &str, extra: &str, out: &str) -> String {
    format!(
        r#"[agent]
omit_hostname = true
interval = "1s"
http_listen = "{{telemetry}}"
flush_interval = "100ms"

[[inputs.kubelet]]
url = "{url}"
bearer_token_file = "{token_file}"
ca_file = "{ca}"
timeout = "500ms"
{extra}

[[outputs.file]]
path = "{{dir}}/{out}"
"#,
        url = fake.url(),
        ca = testdata("ca.pem").display(),
    )
}

/// Writes `config` and a token file into a temp dir; returns the dir and the config path.
fn cli_config(fake: &FakeKubelet, token: &str, extra: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).expect("token");
    let text = config(fake, &token_file.display().to_string(), extra, "out.lp")
        .replace("{telemetry}", "")
        .replace("{dir}", &dir.path().display().to_string());
    let path = dir.path().join("gleaner.toml");
    std::fs::write(&path, text).expect("config");
    (dir, path.display().to_string())
}

#[test]
fn test_mode_prints_the_fixture_exactly() {
    let fake = FakeKubelet::start("s3cret", fixture_summary());
    let (_dir, cfg) = cli_config(&fake, "s3cret", "");
    let (code, out, err) = run_cli(&["--config", &cfg, "--test"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, fixture_lines(), "stderr:\n{err}");
    let seen = fake.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].request_line, "GET /stats/summary HTTP/1.1");
    assert_eq!(seen[0].token.as_deref(), Some("s3cret"));
}

#[test]
fn once_mode_delivers_the_fixture_to_the_output() {
    let fake = FakeKubelet::start("s3cret", fixture_summary());
    let (dir, cfg) = cli_config(&fake, "s3cret", "");
    let (code, _out, err) = run_cli(&["--config", &cfg, "--once"]);
    assert_eq!(code, 0, "{err}");
    let written = std::fs::read_to_string(dir.path().join("out.lp")).expect("output file");
    assert_eq!(written, fixture_lines());
}

#[test]
fn a_huge_node_comes_through_whole_and_over_the_limit_is_refused() {
    let pods = 4000;
    let body = huge_summary(pods);
    assert!(body.len() > 5 * 1024 * 1024, "{} bytes", body.len());
    let fake = FakeKubelet::start("t", body);
    let (_dir, cfg) = cli_config(&fake, "t", "");
    let (code, out, err) = run_cli(&["--config", &cfg, "--test"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), pods * 4 + 1);
    assert!(
        out.lines().any(|l| l.starts_with(
            "kubernetes_pod_network,namespace=ns-49,node_name=big-node,pod_name=pod-03999 "
        )),
        "last pod missing"
    );
    let (_dir, cfg) = cli_config(&fake, "t", "max_body_size = \"1MiB\"");
    let (code, out, err) = run_cli(&["--config", &cfg, "--test"]);
    assert_eq!(code, 1, "a failed gather fails --test: {err}");
    assert_eq!(out, "", "nothing from a refused body");
    assert!(err.contains("larger than 1048576 bytes"), "{err}");
    assert!(
        err.contains("inputs.kubelet.0 (kubelet_too_large x1)"),
        "{err}"
    );
}

/// The input's error counter line for `reason` on `/metrics`, if any.
fn error_count(metrics: &str, input: &str, reason: &str) -> u64 {
    let prefix = format!("gleaner_component_errors_total{{component_id=\"{input}\",");
    metrics
        .lines()
        .filter(|l| l.starts_with(&prefix) && l.contains(&format!("reason=\"{reason}\"}}")))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .next()
        .unwrap_or(0)
}

#[test]
fn unauthorized_and_hanging_kubelets_are_counted_errors_not_crashes() {
    let refusing = FakeKubelet::start("right-token", fixture_summary());
    let hanging = FakeKubelet::start("t", fixture_summary());
    hanging.set_hang(true);
    let dir = tempfile::tempdir().expect("tempdir");
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "wrong-token").expect("token");
    let good = dir.path().join("good");
    std::fs::write(&good, "t").expect("token");
    let mut text = config(
        &refusing,
        &wrong.display().to_string(),
        "alias = \"k401\"",
        "out.lp",
    );
    text.push_str(&format!(
        "\n[[inputs.kubelet]]\nalias = \"khang\"\nurl = \"{}\"\nbearer_token_file = \"{}\"\n\
         insecure_skip_verify = true\ntimeout = \"300ms\"\n",
        hanging.url(),
        good.display()
    ));
    let mut agent = Agent::start(&text);
    let metrics = agent.wait_metrics("401 and timeout errors counted twice each", |m| {
        error_count(m, "k401", "kubelet_unauthorized") >= 2
            && error_count(m, "khang", "kubelet_timeout") >= 2
    });
    assert_eq!(error_count(&metrics, "k401", "kubelet_timeout"), 0);
    assert!(refusing.seen().iter().all(|r| r.status == 401));
    // Still healthy, and serving again once the kubelet answers.
    assert!(
        agent.child.try_wait().expect("try_wait").is_none(),
        "agent exited"
    );
    hanging.set_hang(false);
    hanging.wait_for("an answered request", Duration::from_secs(30), |s| {
        s.iter().any(|r| r.status == 200)
    });
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}

#[test]
fn a_rotated_token_file_is_read_again() {
    let fake = FakeKubelet::start("token-one", fixture_summary());
    let dir = tempfile::tempdir().expect("tempdir");
    let token = dir.path().join("token");
    std::fs::write(&token, "token-one\n").expect("token");
    let mut agent = Agent::start(&config(&fake, &token.display().to_string(), "", "out.lp"));
    fake.wait_for(
        "a gather with the first token",
        Duration::from_secs(30),
        |s| {
            s.iter()
                .any(|r| r.status == 200 && r.token.as_deref() == Some("token-one"))
        },
    );
    // The kubelet now wants the rotated token; the file changes under the agent.
    fake.set_token("token-number-two");
    std::fs::write(&token, "token-number-two\n").expect("rotate");
    fake.wait_for(
        "a gather with the rotated token",
        Duration::from_secs(30),
        |s| {
            s.iter()
                .any(|r| r.status == 200 && r.token.as_deref() == Some("token-number-two"))
        },
    );
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
    let out = std::fs::read_to_string(agent.path("out.lp")).expect("output");
    assert!(out.contains("kubernetes_node,node_name=node-a "), "{out}");
}
