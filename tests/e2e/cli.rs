//! The CLI contract: `check` exit codes and error format, `sample-config` output that
//! `check` accepts, every shipped config in `configs/` valid, `--version`, `--test`, and the
//! exit code 1 of `--test` and `--once` when a gather or a delivery failed.

use gleaner_e2e::fake_influx::{FakeInflux, Mode};
use gleaner_e2e::fake_kubelet::{FakeKubelet, fixture_summary, testdata};
use gleaner_e2e::{free_port, run_cli};

/// Writes `text` as `gleaner.toml` in a new temp dir (`{dir}` replaced by the dir).
fn write_config(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("gleaner.toml");
    std::fs::write(&p, text.replace("{dir}", &dir.path().display().to_string()))
        .expect("write config");
    (dir, p.display().to_string())
}

#[test]
fn check_valid_config_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ok.toml");
    std::fs::write(&p, "[[inputs.internal]]\n[[outputs.stdout]]\n").unwrap();
    let (code, out, err) = run_cli(&["check", "--config", p.to_str().unwrap()]);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert!(
        out.contains("valid (1 inputs, 0 filters, 1 outputs)"),
        "{out}"
    );
}

#[test]
fn check_invalid_config_exits_2_with_location() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, "[agent]\ninterval = \"10s\"\n\n[[inputs.internl]]\n").unwrap();
    let (code, _out, err) = run_cli(&["check", "--config", p.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    let expected = format!(
        "{}:4:1: inputs.internl: unknown input plugin `internl`",
        p.display()
    );
    assert!(err.contains(&expected), "want {expected:?} in:\n{err}");
    assert!(err.contains("did you mean `internal`?"), "{err}");
}

#[test]
fn check_missing_file_exits_2() {
    let (code, _out, err) = run_cli(&["check", "--config", "/nonexistent/gleaner.toml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/nonexistent/gleaner.toml"), "{err}");
}

#[test]
fn sample_config_passes_check() {
    let (code, sample, err) = run_cli(&["sample-config"]);
    assert_eq!(code, 0, "{err}");
    for name in [
        "[[inputs.internal]]",
        "[[inputs.http_listener]]",
        "[[outputs.stdout]]",
        "[[outputs.file]]",
    ] {
        assert!(sample.contains(name), "sample-config lacks {name}");
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sample.toml");
    std::fs::write(&p, &sample).unwrap();
    let (code, out, err) = run_cli(&["check", "--config", p.to_str().unwrap()]);
    assert_eq!(code, 0, "sample-config does not pass check:\n{err}\n{out}");
}

#[test]
fn version_flag() {
    let (code, out, _) = run_cli(&["--version"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("gleaner "), "{out}");
}

#[test]
fn test_mode_prints_line_protocol_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.toml");
    std::fs::write(
        &p,
        "[agent]\nhostname = \"h1\"\n[agent.tags]\ncluster = \"c\"\n[[inputs.internal]]\n[[outputs.file]]\npath = \"/nonexistent/never-written\"\n",
    )
    .unwrap();
    let (code, out, err) = run_cli(&["--config", p.to_str().unwrap(), "--test"]);
    assert_eq!(code, 0, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("internal_agent,"))
        .unwrap_or_else(|| panic!("no internal_agent line in:\n{out}"));
    assert!(
        line.contains("cluster=c") && line.contains("host=h1"),
        "{line}"
    );
}

#[test]
fn output_kinds_are_checked_against_what_the_output_can_encode() {
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("ok.toml");
    std::fs::write(
        &ok,
        "[[inputs.internal]]\n[[outputs.influxdb]]\nurl = \"http://127.0.0.1:1\"\nkinds = [\"metrics\", \"logs\"]\n",
    )
    .unwrap();
    let (code, out, err) = run_cli(&["check", "--config", ok.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[inputs.internal]]\n[[outputs.remote_write]]\nurl = \"http://127.0.0.1:1/api/v1/write\"\nkinds = [\"logs\"]\n",
    )
    .unwrap();
    let (code, _out, err) = run_cli(&["check", "--config", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("outputs.remote_write.0.kinds: outputs.remote_write cannot encode every kind asked for (it takes: \"metrics\")"), "{err}");

    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, "[[outputs.stdout]]\nkinds = [\"log\"]\n").unwrap();
    let (code, _out, err) = run_cli(&["check", "--config", typo.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            ":2:10: outputs.stdout.0.kinds: unknown event kind \"log\" (did you mean `logs`?)"
        ),
        "{err}"
    );
}

#[test]
fn test_mode_exits_1_and_names_the_input_when_a_scrape_is_refused() {
    // Nothing listens on the port: the scrape is refused.
    let port = free_port();
    let (_dir, cfg) = write_config(&format!(
        "[agent]\nomit_hostname = true\n[[inputs.prometheus]]\nurls = [\"http://127.0.0.1:{port}/metrics\"]\n"
    ));
    let (code, out, err) = run_cli(&["--config", &cfg, "--test"]);
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        err.contains(
            "error: --test failed:\ninput plugins recorded 1 error: inputs.prometheus.0 (scrape_transport x1)"
        ),
        "{err}"
    );
    // What could be gathered is still printed (the target's `up = 0`).
    assert!(out.lines().any(|l| l.contains(" up=0 ")), "{out}");
}

#[test]
fn test_mode_exits_1_when_the_kubelet_answers_401() {
    let fake = FakeKubelet::start("right-token", fixture_summary());
    let (dir, cfg) = write_config(&format!(
        "[[inputs.kubelet]]\nurl = \"{}\"\nbearer_token_file = \"{{dir}}/token\"\nca_file = \"{}\"\n",
        fake.url(),
        testdata("ca.pem").display()
    ));
    std::fs::write(dir.path().join("token"), "wrong-token").unwrap();
    let (code, out, err) = run_cli(&["--config", &cfg, "--test"]);
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        err.contains("inputs.kubelet.0 (kubelet_unauthorized x1)"),
        "{err}"
    );
    assert_eq!(out, "");
}

#[test]
fn once_exits_1_when_an_output_rejects_the_events() {
    let influx = FakeInflux::start();
    influx.set_mode(Mode::Fail {
        status: 400,
        retry_after: None,
        error: "unable to parse".into(),
    });
    let (_dir, cfg) = write_config(&format!(
        "[agent]\nhttp_listen = \"\"\n[[inputs.internal]]\n[[outputs.influxdb]]\nurl = \"{}\"\ncontent_encoding = \"identity\"\n",
        influx.url()
    ));
    let (code, _out, err) = run_cli(&["--config", &cfg, "--once"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("error: --once failed:\noutput plugins could not deliver "),
        "{err}"
    );
    assert!(
        err.contains("outputs.influxdb.0 (dropped: permanent_error x"),
        "{err}"
    );
    assert!(!err.contains("input plugins recorded"), "{err}");
}

#[test]
fn once_exits_1_when_events_stay_in_the_disk_buffer() {
    // The destination is down: after `shutdown_timeout` the events stay on disk.
    let port = free_port();
    let (_dir, cfg) = write_config(&format!(
        "[agent]\nhttp_listen = \"\"\ndata_dir = \"{{dir}}/data\"\nshutdown_timeout = \"1s\"\n\
         [[inputs.internal]]\n[[outputs.influxdb]]\nurl = \"http://127.0.0.1:{port}\"\n\
         [outputs.influxdb.buffer]\ntype = \"disk\"\nretry_initial_backoff = \"100ms\"\n"
    ));
    let (code, _out, err) = run_cli(&["--config", &cfg, "--once"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("left in its disk buffer for the next start)"),
        "{err}"
    );
}

#[test]
fn check_accepts_a_short_interval_without_a_timeout_and_rejects_a_written_longer_one() {
    let (_dir, cfg) = write_config(
        "[[inputs.kubelet]]\nurl = \"https://127.0.0.1:10250\"\ninterval = \"1s\"\n\
         [[inputs.prometheus]]\nurls = [\"http://127.0.0.1:9100/metrics\"]\ninterval = \"2s\"\n\
         [[outputs.stdout]]\n",
    );
    let (code, out, err) = run_cli(&["check", "--config", &cfg]);
    assert_eq!(code, 0, "{out}{err}");
    let (_dir, cfg) = write_config(
        "[[inputs.kubelet]]\nurl = \"https://127.0.0.1:10250\"\ninterval = \"1s\"\ntimeout = \"3s\"\n[[outputs.stdout]]\n",
    );
    let (code, _out, err) = run_cli(&["check", "--config", &cfg]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(":4:11: inputs.kubelet.0.timeout: timeout (3s) must be greater than zero and not longer than the interval (1s)"),
        "{err}"
    );
}

#[test]
fn check_reports_every_error_of_a_config_in_file_order() {
    // Errors in [agent] used to hide every plugin error until they were fixed.
    let (_dir, cfg) = write_config(
        "[[outputs.file]]\npath = 5\n\
         [agent]\nintervall = \"10s\"\ndata_dir = 7\n\
         [[inputs.tial]]\n\
         [[inputs.tail]]\npaths = [\"/var/log/*.log\"]\nformat = \"cri\"\n\
         [[inputs.kubelet]]\nurl = \"https://127.0.0.1:10250\"\ninterval = \"1s\"\ntimeout = \"2s\"\n",
    );
    let (code, _out, err) = run_cli(&["check", "--config", &cfg]);
    assert_eq!(code, 2, "{err}");
    let lines: Vec<&str> = err.lines().collect();
    let want = [
        ":2:8: outputs.file.0.path: ",
        ":4:1: agent.intervall: unknown field `intervall`",
        ":5:12: agent.data_dir: ",
        ":6:1: inputs.tial: unknown input plugin `tial` (did you mean `tail`?",
        ":13:11: inputs.kubelet.0.timeout: timeout (2s) must be",
    ];
    assert_eq!(lines.len(), want.len(), "{err}");
    for (line, want) in lines.iter().zip(want) {
        assert!(line.contains(want), "want {want:?} in {line:?}\n{err}");
    }
}

#[test]
fn check_refuses_credentials_in_urls_and_never_echoes_a_secret() {
    let (_dir, cfg) = write_config(
        "[[inputs.prometheus]]\nurls = [\"http://scraper:pr0m-pass@127.0.0.1:9100/metrics\"]\n\
         [[outputs.influxdb]]\nurl = \"http://admin:infl0x-pass@127.0.0.1:8086\"\n\
         [[outputs.remote_write]]\nurl = \"http://rw:p@ss w0rd@127.0.0.1:9090/api/v1/write\"\n\
         [[outputs.splunk_hec]]\nendpoint = \"https://127.0.0.1:8088\"\ntoken = 12345678901234\n",
    );
    let (code, _out, err) = run_cli(&["check", "--config", &cfg]);
    assert_eq!(code, 2, "{err}");
    for secret in [
        "pr0m-pass",
        "infl0x-pass",
        "w0rd",
        "12345678901234",
        "admin",
        "scraper",
    ] {
        assert!(!err.contains(secret), "{secret} echoed:\n{err}");
    }
    assert!(
        err.contains(":2:8: inputs.prometheus.0.urls: credentials in url \"http://***@127.0.0.1:9100/metrics\" are not used (remove them from the url and set the plugin's `username` and `password`, or its token, instead"),
        "{err}"
    );
    assert!(
        err.contains(
            "outputs.influxdb.0.url: credentials in url \"http://***@127.0.0.1:8086\" are not used"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "outputs.remote_write.0.url: invalid url \"http://***@127.0.0.1:9090/api/v1/write\""
        ),
        "{err}"
    );
    assert!(
        err.contains("outputs.splunk_hec.0.token: invalid type: integer, expected a string (the value is not shown: it is a secret)"),
        "{err}"
    );
}
