//! The processing filters end to end through the binary: container logs tailed, parsed
//! (json, time and level), selected, modified and throttled with the config of issue 18 as
//! written, into `outputs.file`, compared byte for byte with a golden file
//! (`tests/testdata/processing/`); and `gleaner check` on a bad regex and an unknown filter
//! option (file:line:col, the position in the pattern, a did-you-mean hint).

use std::time::Duration;

use gleaner_e2e::logs::{append, wait_output};
use gleaner_e2e::{Agent, run_cli, workspace_root};

fn testdata(name: &str) -> std::path::PathBuf {
    workspace_root()
        .join("tests/testdata/processing")
        .join(name)
}

#[test]
fn tail_parse_select_modify_into_a_file_matches_the_golden_file() {
    let config = std::fs::read_to_string(testdata("gleaner.toml")).expect("config");
    let golden = std::fs::read_to_string(testdata("out.golden.jsonl")).expect("golden");
    let mut agent = Agent::start(&config);
    let log = agent
        .dir
        .path()
        .join("pods/shop_web-1_0b5c7d2e-uid/app/0.log");
    append(&log, &std::fs::read(testdata("app.log")).expect("app.log"));
    let want = golden.lines().count();
    let out = agent.path("out.jsonl");
    wait_output(&out, Duration::from_secs(60), "the filtered records", |l| {
        l.len() >= want
    });
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
    let got = std::fs::read_to_string(&out).expect("out.jsonl");
    if std::env::var_os("GOLDEN_UPDATE").is_some() {
        std::fs::write(testdata("out.golden.jsonl"), &got).expect("write golden");
        return;
    }
    assert_eq!(got, golden, "out.jsonl differs from out.golden.jsonl");
    let stderr = agent.stderr();
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn check_reports_a_bad_regex_and_an_unknown_filter_option_with_their_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("bad.toml");
    std::fs::write(
        &p,
        "[[inputs.internal]]\n\n[[filters.select]]\nexclude = { body = ['/GET /health(z/'] }\n\n\
         [[filters.throttle]]\nlimt = 10\n\n[[outputs.stdout]]\n",
    )
    .expect("write");
    let (code, _out, err) = run_cli(&["check", "--config", p.to_str().expect("utf8")]);
    assert_eq!(code, 2, "{err}");
    let regex = format!(
        "{}:4:34: filters.select.0.exclude.body.0: invalid regex \"GET /health(z\" at character 12 of the pattern: unclosed group",
        p.display()
    );
    assert!(err.contains(&regex), "want {regex:?} in:\n{err}");
    let option = format!(
        "{}:7:1: filters.throttle.0.limt: unknown field `limt`",
        p.display()
    );
    assert!(err.contains(&option), "want {option:?} in:\n{err}");
    assert!(err.contains("did you mean `limit`?"), "{err}");
}
