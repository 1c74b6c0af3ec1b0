//! The Grafana dashboards of deploy/dashboards/ against a real Prometheus 2.x: Prometheus
//! scrapes a running agent's `/metrics` and receives, by remote write, the agent's host, kubelet
//! (the fake kubelet), self-scrape and process metrics. Every panel's PromQL query, with the
//! dashboard's variables set to a value their own queries return, must return data: a query
//! that names a metric the agent does not export (or a label it does not set) fails the test.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use gleaner_e2e::fake_kubelet::{FakeKubelet, fixture_summary, testdata};
use gleaner_e2e::peers::{Peer, encode_query_value};
use gleaner_e2e::{Agent, free_port, workspace_root};
use serde_json::Value;

fn dashboards() -> Vec<(PathBuf, Value)> {
    let dir = workspace_root().join("deploy/dashboards");
    let mut found: Vec<(PathBuf, Value)> = std::fs::read_dir(&dir)
        .expect("deploy/dashboards")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read dashboard");
            let v: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, v)
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// Every (panel title, expr) of a dashboard, rows' nested panels included.
fn queries(board: &Value) -> Vec<(String, String)> {
    fn walk(panels: &Value, out: &mut Vec<(String, String)>) {
        for p in panels.as_array().into_iter().flatten() {
            let title = p["title"].as_str().unwrap_or("").to_owned();
            for t in p["targets"].as_array().into_iter().flatten() {
                if let Some(e) = t["expr"].as_str() {
                    out.push((title.clone(), e.to_owned()));
                }
            }
            walk(&p["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&board["panels"], &mut out);
    out
}

/// `label_values(metric{sel}, label)` -> (selector, label).
fn label_values(q: &str) -> Option<(String, String)> {
    let inner = q.trim().strip_prefix("label_values(")?.strip_suffix(')')?;
    let (sel, label) = inner.rsplit_once(',')?;
    Some((sel.trim().to_owned(), label.trim().to_owned()))
}

/// Replaces `$name` / `${name}` (longest names first) and Grafana's own intervals.
fn substitute(expr: &str, vars: &BTreeMap<String, String>) -> String {
    let mut s = expr
        .replace("$__rate_interval", "1m")
        .replace("$__interval", "15s")
        .replace("$__range", "5m");
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    for n in names {
        s = s
            .replace(&format!("${{{n}}}"), &vars[n])
            .replace(&format!("${n}"), &vars[n]);
    }
    s
}

fn query(prom: &Peer, expr: &str) -> Result<Vec<Value>, String> {
    let r = prom.get(&format!("/api/v1/query?query={}", encode_query_value(expr)));
    let v: Value =
        serde_json::from_str(&r.body).map_err(|e| format!("not JSON ({e}): {}", r.body))?;
    if v["status"] != "success" {
        return Err(format!("{}: {}", r.status, v["error"]));
    }
    Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
}

/// The variables of a dashboard: each one's query must return a value; a variable that offers
/// "All" is then set to its all-value (Grafana's default), the others to the first value.
/// `datasource` needs no value in a query.
fn variables(prom: &Peer, board: &Value) -> Result<BTreeMap<String, String>, String> {
    let mut vars = BTreeMap::new();
    for v in board["templating"]["list"].as_array().into_iter().flatten() {
        let name = v["name"].as_str().unwrap_or("").to_owned();
        if v["type"] == "datasource" {
            continue;
        }
        let q = v["query"]["query"]
            .as_str()
            .or(v["query"].as_str())
            .unwrap_or("");
        let (sel, label) = label_values(q)
            .ok_or_else(|| format!("variable {name}: not label_values(...): {q}"))?;
        let sel = substitute(&sel, &vars);
        let series = query(prom, &sel)?;
        let value = series
            .iter()
            .find_map(|s| s["metric"][label.as_str()].as_str())
            .ok_or_else(|| format!("variable {name}: {sel} has no series with label {label}"))?;
        // A variable that offers "All" starts there (Grafana's default): its regex.
        let chosen = match v["allValue"].as_str() {
            Some(all) if v["includeAll"] == true => all.to_owned(),
            _ => value.to_owned(),
        };
        vars.insert(name, chosen);
    }
    Ok(vars)
}

/// The fixture summary with every sample `time` set to now (Prometheus refuses samples much
/// older than its newest block, and rates need samples at different times).
fn summary_now() -> Vec<u8> {
    fn walk(v: &mut Value, now: &str) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "time" && x.is_string() {
                        *x = Value::String(now.to_owned());
                    } else {
                        walk(x, now);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| walk(x, now)),
            _ => {}
        }
    }
    let mut v: Value = serde_json::from_slice(&fixture_summary()).expect("fixture JSON");
    let ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos() as i64;
    let mut now = Vec::new();
    gleaner_api::time::write_rfc3339(ns / 1_000_000_000 * 1_000_000_000, &mut now);
    walk(&mut v, &String::from_utf8_lossy(&now));
    serde_json::to_vec(&v).expect("JSON")
}

/// The queries (panel, expr) of every dashboard that return no data yet.
fn failing(prom: &Peer) -> Vec<String> {
    let mut bad = Vec::new();
    for (path, board) in dashboards() {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let vars = match variables(prom, &board) {
            Ok(v) => v,
            Err(e) => {
                bad.push(format!("{file}: {e}"));
                continue;
            }
        };
        for (title, expr) in queries(&board) {
            let q = substitute(&expr, &vars);
            match query(prom, &q) {
                Ok(r) if !r.is_empty() => {}
                Ok(_) => bad.push(format!("{file}: panel {title:?}: no data for {q}")),
                Err(e) => bad.push(format!("{file}: panel {title:?}: {e} for {q}")),
            }
        }
    }
    bad
}

#[test]
fn every_panel_query_returns_data_from_a_real_prometheus() {
    let boards = dashboards();
    assert_eq!(boards.len(), 3, "gleaner-agent, node and pods");
    for (path, b) in &boards {
        assert!(
            b["schemaVersion"].as_u64().is_some_and(|v| v >= 36),
            "{}: Grafana 10+ schema",
            path.display()
        );
        let vars = b["templating"]["list"].as_array().expect("templating");
        assert!(
            vars.iter().any(|v| v["type"] == "datasource"),
            "{}: a datasource variable",
            path.display()
        );
        assert!(queries(b).len() >= 8, "{}: too few panels", path.display());
    }

    let kubelet = FakeKubelet::start("s3cret", summary_now());
    let logs = tempfile::tempdir().expect("logs dir");
    let log = logs.path().join("app.log");
    let mut f = std::fs::File::create(&log).expect("log file");
    for i in 0..50 {
        writeln!(
            f,
            "{} request {i}",
            if i % 5 == 0 { "DEBUG" } else { "INFO" }
        )
        .expect("write log");
    }
    drop(f);
    let token = logs.path().join("token");
    std::fs::write(&token, "s3cret\n").expect("token");
    // Prometheus comes first so remote write has a receiver; it scrapes the agent on the
    // address the agent is then started on.
    let telemetry_port = free_port();
    let telemetry = format!("127.0.0.1:{telemetry_port}");
    let prom = Peer::prometheus_scraping(&[("gleaner", &telemetry)], "1s");
    let node_exporter = Peer::node_exporter();
    let refused = free_port();
    let config = format!(
        r#"[agent]
http_listen = "{telemetry}"
interval = "1s"
flush_interval = "200ms"
data_dir = "{{dir}}/data"
hostname = "node-a"

[[inputs.internal]]
[[inputs.host]]
[[inputs.kubelet]]
url = "{kubelet}"
bearer_token_file = "{token}"
ca_file = "{ca}"
[[inputs.prometheus]]
urls = ["{node_exporter}/metrics"]
interval = "2s"
[[inputs.tail]]
paths = ["{logs}/*.log"]
format = "raw"
read_from_head = true

[[filters.select]]
exclude = {{ body = "DEBUG*" }}

[[outputs.remote_write]]
url = "{prom}/api/v1/write"
[[outputs.file]]
path = "{{dir}}/logs.json"
kinds = ["logs"]
[[outputs.influxdb]]
url = "http://127.0.0.1:{refused}"
"#,
        kubelet = kubelet.url(),
        token = token.display(),
        ca = testdata("ca.pem").display(),
        logs = logs.path().display(),
        prom = prom.url(),
        node_exporter = node_exporter.url(),
    );
    let agent = Agent::start_at(&config, &telemetry);

    let deadline = Instant::now() + Duration::from_secs(120);
    let mut bad = failing(&prom);
    while !bad.is_empty() && Instant::now() < deadline {
        kubelet.set_body(summary_now());
        std::thread::sleep(Duration::from_secs(2));
        bad = failing(&prom);
    }
    assert!(
        bad.is_empty(),
        "{} dashboard queries return nothing:\n{}\n\nagent stderr:\n{}",
        bad.len(),
        bad.join("\n"),
        agent.stderr()
    );

    // The check fails where it must: a metric the agent does not export returns nothing.
    let made_up =
        query(&prom, "rate(gleaner_component_imaginary_events_total[1m])").expect("query runs");
    assert!(made_up.is_empty());
}
