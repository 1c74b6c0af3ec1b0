//! Telegraf's selectors end to end through the binary: line protocol POSTed to
//! `inputs.http_listener` with the selectors of issue 18 (`namedrop`, `fieldexclude`, a
//! `tagdrop` table), a `filters.modify` restricted by `namepass`, and two `outputs.file`, one
//! of them choosing and trimming with `namepass` and `taginclude`; both files compared
//! exactly, and the drops read from `/metrics` under their selector reasons. Then `check` on
//! selector mistakes: each located at file:line:col with its key.

use std::time::Duration;

use gleaner_e2e::logs::wait_output;
use gleaner_e2e::{Agent, free_port, http, run_cli};

fn config(listen: &str) -> String {
    format!(
        r#"[agent]
omit_hostname = true
http_listen = "{{telemetry}}"
flush_interval = "100ms"
shutdown_timeout = "20s"

[agent.tags]
dc = "eu1"

[[inputs.http_listener]]
listen = "{listen}"
namedrop = ["debug_*"]
fieldexclude = ["*_raw"]
[inputs.http_listener.tagdrop]
env = ["dev*"]

[[filters.modify]]
namepass = ["app_*"]
set = {{ team = "payments" }}

[[outputs.file]]
alias = "all"
path = "{{dir}}/all.lp"

[[outputs.file]]
alias = "app"
path = "{{dir}}/app.lp"
namepass = ["app_*"]
taginclude = ["team", "env"]
"#
    )
}

/// The sum of a counter's samples for one component and reason.
fn dropped(body: &str, component: &str, reason: &str) -> f64 {
    body.lines()
        .filter(|l| {
            l.starts_with("gleaner_component_discarded_events_total")
                && l.contains(&format!("component_id=\"{component}\""))
                && l.contains(&format!("reason=\"{reason}\""))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn selectors_on_an_input_a_filter_and_an_output_shape_what_is_written() {
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&config(&listen));
    let body = concat!(
        "app_requests,env=prod,pod=a count=1i,body_raw=\"x\" 1\n",
        "debug_trace,env=prod v=1i 2\n",
        "app_requests,env=dev1 count=2i 3\n",
        "cpu,cpu=cpu0 usage=0.5,time_raw=7i 4\n",
        "only_raw,env=prod x_raw=1i 5\n",
        "app_latency,env=staging p99=0.25 6\n",
    );
    let r = http(
        &listen,
        "POST",
        "/write?db=test",
        &[("Content-Type", "text/plain")],
        body.as_bytes(),
    )
    .expect("POST /write");
    assert_eq!(r.status, 204, "{}", r.body);
    let all = agent.path("all.lp");
    let app = agent.path("app.lp");
    wait_output(&all, Duration::from_secs(30), "all.lp", |l| l.len() >= 3);
    wait_output(&app, Duration::from_secs(30), "app.lp", |l| l.len() >= 2);
    let m = agent.wait_metrics("selector drops", |m| {
        dropped(m, "app", "selector_namepass") >= 1.0
    });
    for (component, reason) in [
        ("inputs.http_listener.0", "selector_namedrop"),
        ("inputs.http_listener.0", "selector_tagdrop"),
        ("inputs.http_listener.0", "selector_no_fields"),
        ("app", "selector_namepass"),
    ] {
        assert_eq!(dropped(&m, component, reason), 1.0, "{component} {reason}");
    }
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
    // The agent's tag is added after the input's tagdrop and before the filter; the filter
    // edits only app_* metrics; the `app` output takes app_* metrics with two tags.
    assert_eq!(
        std::fs::read_to_string(&all).expect("all.lp"),
        concat!(
            "app_requests,dc=eu1,env=prod,pod=a,team=payments count=1i 1\n",
            "cpu,cpu=cpu0,dc=eu1 usage=0.5 4\n",
            "app_latency,dc=eu1,env=staging,team=payments p99=0.25 6\n",
        )
    );
    assert_eq!(
        std::fs::read_to_string(&app).expect("app.lp"),
        concat!(
            "app_requests,env=prod,team=payments count=1i 1\n",
            "app_latency,env=staging,team=payments p99=0.25 6\n",
        )
    );
}

#[test]
fn check_locates_selector_mistakes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("bad.toml");
    std::fs::write(
        &p,
        "[[inputs.internal]]\nnamepas = [\"cpu*\"]\n\n\
         [[filters.modify]]\nfieldinclude = [\"a\"]\nfieldpass = [\"b\"]\n\n\
         [[outputs.stdout]]\ntagpass = [\"env\"]\nnamedrop = []\n",
    )
    .expect("write");
    let (code, _out, err) = run_cli(&["check", "--config", p.to_str().expect("utf8")]);
    assert_eq!(code, 2, "{err}");
    let at = |line: usize, col: usize, rest: &str| format!("{}:{line}:{col}: {rest}", p.display());
    for want in [
        at(2, 1, "inputs.internal.0.namepas: unknown field `namepas`"),
        at(
            6,
            13,
            "filters.modify.0.fieldpass: `fieldpass` is another name for `fieldinclude`: give only one",
        ),
        at(
            9,
            11,
            "outputs.stdout.0.tagpass: expected a table, found array",
        ),
        at(10, 12, "outputs.stdout.0.namedrop: empty pattern list"),
    ] {
        assert!(err.contains(&want), "want {want:?} in:\n{err}");
    }
    assert!(err.contains("did you mean `namepass`?"), "{err}");
}
