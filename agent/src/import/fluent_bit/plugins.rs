//! Fluent Bit plugins -> Gleaner sections, option by option. Each mapper takes the options it
//! knows from [`Entries`] and leaves the rest to become notes.
//!
//! Over 400 lines on purpose: one flat mapping function per Fluent Bit plugin, each a list of
//! option renames read top to bottom beside Fluent Bit's docs.

use toml::{Table, Value};

use super::Entries;
use super::parse::Block;
use crate::import::emit::Section;
use crate::import::has_plugin;
use crate::import::values::{fluent_bit_bool, fluent_bit_seconds, size_str};

/// Fluent Bit inputs that `inputs.host` covers.
pub(crate) fn is_host_input(name: &str) -> bool {
    matches!(
        name,
        "node_exporter_metrics" | "cpu" | "mem" | "disk" | "netif"
    )
}

fn on(v: Option<String>) -> Option<bool> {
    v.as_deref().and_then(fluent_bit_bool)
}

fn list(v: &str) -> Vec<Value> {
    v.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Value::String(s.to_owned()))
        .collect()
}

/// `http(s)://host:port` from Host, Port and tls.
fn base_url(e: &mut Entries, default_port: u16) -> (String, bool) {
    let host = e.take("host").unwrap_or_else(|| "127.0.0.1".to_owned());
    let port = e.take("port").unwrap_or_else(|| default_port.to_string());
    let tls = on(e.take("tls")).unwrap_or(false);
    let scheme = if tls { "https" } else { "http" };
    (format!("{scheme}://{host}:{port}"), tls)
}

fn tls_verify(e: &mut Entries, s: &mut Section) {
    if on(e.take("tls.verify")) == Some(false) {
        s.set("insecure_skip_verify", true);
    }
    if let Some(ca) = e.take("tls.ca_file") {
        s.set("ca_file", ca);
    }
    if let Some(c) = e.take("tls.crt_file") {
        s.set("cert_file", c);
    }
    if let Some(k) = e.take("tls.key_file") {
        s.set("key_file", k);
    }
    e.explain(s, "tls.debug", "no TLS debug level");
    e.explain(s, "tls.vhost", "the URL's host is the TLS server name");
}

pub(crate) fn input(name: &str, b: &Block, e: &mut Entries, index: usize) -> Option<Section> {
    let target = match name {
        "tail" => "tail",
        "systemd" => "journald",
        "syslog" => "syslog",
        "prometheus_scrape" => "prometheus",
        "kubernetes_events" => "kubernetes_events",
        "opentelemetry" => "otlp",
        _ => return None,
    };
    if !has_plugin("inputs", target) {
        return None;
    }
    let mut s = Section::plugin(&format!("inputs.{target}"), b.at.clone());
    match name {
        "tail" => tail(e, &mut s, index),
        "systemd" => {
            let mut units = Vec::new();
            let mut matches = Vec::new();
            for f in e.take_all("systemd_filter") {
                match f.value.strip_prefix("_SYSTEMD_UNIT=") {
                    Some(u) => units.push(Value::String(u.to_owned())),
                    None => matches.push(Value::String(f.value.clone())),
                }
            }
            if !units.is_empty() {
                s.set("units", Value::Array(units));
            }
            if !matches.is_empty() {
                s.set("include_matches", Value::Array(matches));
            }
            if let Some(p) = e.take("path") {
                s.set("journal_directory", p);
            }
            if on(e.take("read_from_tail")) == Some(true) {
                s.set("since_now", true);
            }
            // Fluent Bit's DB holds its own cursor format: the cursor starts afresh in ours.
            e.explain(
                &mut s,
                "db",
                "the journal cursor is kept in the input's own database",
            );
            s.set(
                "db",
                format!("/var/lib/gleaner/journald/imported-{index}.db"),
            );
            e.explain(
                &mut s,
                "systemd_filter_type",
                "units and matches combine as journalctl's",
            );
        }
        "syslog" => {
            let mode = e
                .take("mode")
                .unwrap_or_else(|| "unix_udp".to_owned())
                .to_ascii_lowercase();
            let listen = e.take("listen").unwrap_or_else(|| "0.0.0.0".to_owned());
            let port = e.take("port").unwrap_or_else(|| "5140".to_owned());
            let path = e
                .take("path")
                .unwrap_or_else(|| "/tmp/fluent-bit.sock".to_owned());
            let url = match mode.as_str() {
                "tcp" => format!("tcp://{listen}:{port}"),
                "udp" => format!("udp://{listen}:{port}"),
                _ => format!("unix://{path}"),
            };
            s.set("listen", url);
            if let Some(m) = e.take("unix_perm") {
                s.set("socket_mode", m);
            }
            if let Some(v) = e.take("buffer_max_size").and_then(|v| size_str(&v)) {
                s.set("max_message_bytes", v);
            }
            e.explain(
                &mut s,
                "parser",
                "RFC 5424 and RFC 3164 are recognised per message",
            );
        }
        "prometheus_scrape" => {
            let host = e.take("host").unwrap_or_else(|| "127.0.0.1".to_owned());
            let port = e.take("port").unwrap_or_else(|| "80".to_owned());
            let path = e
                .take("metrics_path")
                .unwrap_or_else(|| "/metrics".to_owned());
            s.set(
                "urls",
                Value::Array(vec![Value::String(format!("http://{host}:{port}{path}"))]),
            );
            if let Some(v) = e
                .take("scrape_interval")
                .and_then(|v| fluent_bit_seconds(&v))
            {
                s.set("interval", v);
            }
        }
        "kubernetes_events" => {
            if let Some(ns) = e.take("kube_namespace") {
                s.set("namespaces", Value::Array(list(&ns)));
            }
            match e.take("db") {
                Some(db) => s.set("db", db),
                None => s.set(
                    "db",
                    format!("/var/lib/gleaner/kubernetes_events/imported-{index}.db"),
                ),
            }
            e.explain(
                &mut s,
                "kube_url",
                "the API server comes from the in-cluster config (or `kubeconfig`)",
            );
            e.explain(&mut s, "interval_sec", "events are watched, not polled");
            e.explain(
                &mut s,
                "kube_retention_time",
                "what was sent is remembered by uid (`remember`)",
            );
        }
        "opentelemetry" => {
            let listen = e.take("listen").unwrap_or_else(|| "0.0.0.0".to_owned());
            let port = e.take("port").unwrap_or_else(|| "4318".to_owned());
            s.set("listen", format!("{listen}:{port}"));
        }
        _ => {}
    }
    Some(s)
}

fn tail(e: &mut Entries, s: &mut Section, index: usize) {
    let mut paths = Vec::new();
    for p in e.take_all("path") {
        paths.extend(list(&p.value));
    }
    s.set("paths", Value::Array(paths));
    let mut exclude = Vec::new();
    for p in e.take_all("exclude_path") {
        exclude.extend(list(&p.value));
    }
    if !exclude.is_empty() {
        s.set("exclude_paths", Value::Array(exclude));
    }
    let mut formats = Vec::new();
    let mut preset = None;
    for m in e.take_all("multiline.parser") {
        for p in list(&m.value) {
            match p.as_str() {
                Some(f @ ("cri" | "docker")) => formats.push(f.to_owned()),
                Some(l @ ("java" | "python" | "go")) => preset = Some(l.to_owned()),
                Some(other) => s.note(&m.at, format!("multiline.parser {other}"), "custom multiline parsers are not read: set `multiline = { start = '<regex>' }`"),
                None => {}
            }
        }
    }
    if let Some(p) = e.take("parser") {
        match p.as_str() {
            "cri" | "docker" => formats.push(p),
            other => s.note(
                "Parser",
                format!("Parser {other}"),
                "parse the lines with [[filters.parse]]",
            ),
        }
    }
    formats.dedup();
    let format = match formats.as_slice() {
        [] => "raw",
        [one] => one.as_str(),
        _ => "auto",
    };
    s.set("format", format.to_owned());
    if let Some(p) = preset {
        s.set("multiline", p);
    }
    match e.take("db") {
        Some(db) => s.set("db", db),
        None => s.set("db", format!("/var/lib/gleaner/tail/imported-{index}.db")),
    }
    if let Some(v) = on(e.take("read_from_head")) {
        s.set("read_from_head", v);
    }
    if let Some(v) = e
        .take("refresh_interval")
        .and_then(|v| fluent_bit_seconds(&v))
    {
        s.set("refresh_interval", v);
    }
    if let Some(v) = e.take("rotate_wait").and_then(|v| fluent_bit_seconds(&v)) {
        s.set("rotate_wait_max", v);
    }
    if let Some(v) = e.take("buffer_max_size").and_then(|v| size_str(&v)) {
        s.set("max_line_bytes", v);
    }
    if let Some(v) = e.take("ignore_older").and_then(|v| fluent_bit_seconds(&v)) {
        s.set("ignore_older", v);
    }
    e.explain(
        s,
        "skip_long_lines",
        "a line past max_line_bytes is cut, flagged `truncated` and counted",
    );
    e.explain(
        s,
        "mem_buf_limit",
        "the pipeline is bounded by agent.max_in_flight_events and each output's buffer max_bytes",
    );
    e.explain(
        s,
        "buffer_chunk_size",
        "read buffers are sized by the input",
    );
    for k in [
        "db.sync",
        "db.locking",
        "db.journal_mode",
        "db.compare_filename",
    ] {
        e.explain(
            s,
            k,
            "the offsets database is managed by the input (WAL, exclusive lock)",
        );
    }
    e.explain(s, "path_key", "the file path is attribute `log.file.path`");
    e.explain(s, "docker_mode", "use `multiline` on the tail input");
    e.explain(s, "skip_empty_lines", "empty lines are records");
    e.explain(
        s,
        "inotify_watcher",
        "inotify is always used, with a rescan every refresh_interval",
    );
}

/// Fluent Bit's metric inputs joined into one `inputs.host`.
pub(crate) fn host(name: &str, e: &mut Entries, s: &mut Section) {
    let add: &[&str] = match name {
        "node_exporter_metrics" => &[
            "cpu",
            "mem",
            "swap",
            "disk",
            "diskio",
            "net",
            "system",
            "processes",
            "kernel",
        ],
        "cpu" => &["cpu"],
        "mem" => &["mem", "swap"],
        "disk" => &["diskio"],
        _ => &["net"],
    };
    let mut collect: Vec<String> = match s.get("collect") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    for c in add {
        if !collect.iter().any(|x| x == c) {
            collect.push((*c).to_owned());
        }
    }
    if collect.len() == 9 {
        s.keys.retain(|(k, _)| k != "collect");
    } else {
        s.set(
            "collect",
            Value::Array(collect.into_iter().map(Value::String).collect()),
        );
    }
    let interval = e
        .take("scrape_interval")
        .or_else(|| e.take("interval_sec"))
        .and_then(|v| fluent_bit_seconds(&v));
    if let Some(v) = interval
        && s.get("interval").is_none()
    {
        s.set("interval", v);
    }
    if let Some(p) = e.take("path.procfs") {
        let root = p.trim_end_matches('/').trim_end_matches("/proc");
        s.set("host_root", if root.is_empty() { "/" } else { root });
    }
    if name == "netif"
        && let Some(i) = e.take("interface")
    {
        s.set("interfaces", Value::Array(vec![Value::String(i)]));
    }
    e.explain(s, "path.sysfs", "/sys is read under host_root");
    e.explain(
        s,
        "metrics",
        "inputs.host's collectors are set with `collect` (Telegraf's names)",
    );
    e.explain(s, "interval_nsec", "intervals are whole durations");
}

pub(crate) fn filter(name: &str, b: &Block, e: &mut Entries) -> Option<Vec<Section>> {
    let target = match name {
        "kubernetes" => "kubernetes",
        "modify" | "record_modifier" => "modify",
        "grep" => "select",
        "parser" => "parse",
        "throttle" => "throttle",
        _ => return None,
    };
    let mut s = Section::plugin(&format!("filters.{target}"), b.at.clone());
    match name {
        "kubernetes" => kubernetes(e, &mut s),
        "modify" => modify(e, &mut s),
        "record_modifier" => {
            let mut set = Table::new();
            for r in e.take_all("record") {
                if let Some((k, v)) = r.value.split_once(char::is_whitespace) {
                    set.insert(attribute(k), Value::String(v.trim().to_owned()));
                }
            }
            if !set.is_empty() {
                s.set("set", Value::Table(set));
            }
            let remove: Vec<Value> = e
                .take_all("remove_key")
                .iter()
                .map(|r| Value::String(attribute(&r.value)))
                .collect();
            if !remove.is_empty() {
                s.set("remove", Value::Array(remove));
            }
            e.explain(&mut s, "allowlist_key", "list what to remove with `remove`");
            e.explain(&mut s, "whitelist_key", "list what to remove with `remove`");
        }
        "grep" => return Some(grep(e, b)),
        "parser" => {
            let parser = e.take("parser").unwrap_or_default();
            let format = match parser.as_str() {
                "json" | "docker" => "json",
                "logfmt" => "logfmt",
                _ => {
                    s.note(&b.at, format!("Parser {parser}"), "only json and logfmt parsers are mapped; write a regex with format = \"regex\"");
                    "json"
                }
            };
            s.set("format", format);
            if let Some(k) = e.take("key_name") {
                s.set("source", source_name(&k));
            }
            if let Some(keep) = on(e.take("preserve_key")) {
                s.set("keep_original", keep);
            }
            e.explain(
                &mut s,
                "reserve_data",
                "the record's other attributes are always kept",
            );
        }
        _ => {
            if let Some(r) = e.take("rate") {
                s.set(
                    "limit",
                    r.parse::<i64>().map_or(Value::String(r), Value::Integer),
                );
            }
            if let Some(w) = e.take("interval").and_then(|w| fluent_bit_seconds(&w)) {
                s.set("window", w);
            }
            s.set("key", "");
            e.explain(
                &mut s,
                "window",
                "the limit is per fixed window (`window`), not a sliding average over several",
            );
            e.explain(&mut s, "print_status", "drops are counted in /metrics");
        }
    }
    Some(vec![s])
}

/// A record key as Gleaner names it: `log`/`message` is the body; `$kubernetes['pod_name']`
/// and `kubernetes.pod_name` are the `k8s.*` attributes.
fn attribute(key: &str) -> String {
    let k = key.trim();
    let path: Vec<String> = if let Some(rest) = k.strip_prefix('$') {
        let mut parts = Vec::new();
        let head = rest.split('[').next().unwrap_or(rest);
        parts.push(head.to_owned());
        for seg in rest.split('[').skip(1) {
            parts.push(
                seg.trim_end_matches(']')
                    .trim_matches(['\'', '"'])
                    .to_owned(),
            );
        }
        parts
    } else {
        k.split('.').map(str::to_owned).collect()
    };
    if path.first().map(String::as_str) == Some("kubernetes") {
        let rest: Vec<&str> = path[1..].iter().map(String::as_str).collect();
        return match rest.as_slice() {
            ["namespace_name"] => "k8s.namespace".to_owned(),
            ["pod_name"] => "k8s.pod".to_owned(),
            ["pod_id"] => "k8s.pod_uid".to_owned(),
            ["container_name"] => "k8s.container".to_owned(),
            ["container_image"] => "k8s.container_image".to_owned(),
            ["host"] => "k8s.node".to_owned(),
            ["labels", l] => format!("k8s.labels.{l}"),
            ["annotations", a] => format!("k8s.annotations.{a}"),
            _ => format!("k8s.{}", rest.join(".")),
        };
    }
    path.join(".")
}

/// A parse source: the message is `body`.
fn source_name(key: &str) -> String {
    match attribute(key).as_str() {
        "log" | "message" => "body".to_owned(),
        other => other.to_owned(),
    }
}

fn kubernetes(e: &mut Entries, s: &mut Section) {
    // Fluent Bit's defaults: Labels On, Annotations On, both K8S-Logging switches Off.
    if on(e.take("labels")) != Some(false) {
        s.set("labels", Value::Array(vec![Value::String("*".to_owned())]));
    } else {
        s.set("labels", Value::Array(Vec::new()));
    }
    if on(e.take("annotations")) != Some(false) {
        s.set(
            "annotations",
            Value::Array(vec![Value::String("*".to_owned())]),
        );
    }
    if on(e.take("namespace_labels")) == Some(true) {
        s.set(
            "namespace_labels",
            Value::Array(vec![Value::String("*".to_owned())]),
        );
    }
    let parser = on(e.take("k8s-logging.parser")).unwrap_or(false);
    let exclude = on(e.take("k8s-logging.exclude")).unwrap_or(false);
    s.set("use_pod_annotations", parser || exclude);
    if parser != exclude {
        s.note(
            "K8S-Logging",
            format!("K8S-Logging.Parser {parser}, K8S-Logging.Exclude {exclude}"),
            "Gleaner honours gleaner.io/parser and gleaner.io/exclude together",
        );
    }
    if on(e.take("merge_log")) == Some(true) {
        s.set("default_parser", "json");
    }
    e.explain(
        s,
        "merge_log_key",
        "parsed members become log.<key> attributes",
    );
    e.explain(s, "keep_log", "the message is kept");
    e.explain(
        s,
        "kube_url",
        "the API server comes from the in-cluster config (or `kubeconfig`)",
    );
    e.explain(
        s,
        "kube_ca_file",
        "the in-cluster service account's CA is used",
    );
    e.explain(
        s,
        "kube_token_file",
        "the in-cluster service account's token is used",
    );
    e.explain(
        s,
        "kube_tag_prefix",
        "pod coordinates come from the log file's path",
    );
    e.explain(
        s,
        "regex_parser",
        "pod coordinates come from the log file's path",
    );
    e.explain(
        s,
        "use_kubelet",
        "one watch of the node's pods on the API server",
    );
    e.explain(s, "buffer_size", "API answers are streamed");
    e.explain(
        s,
        "kube_meta_cache_ttl",
        "the pod watch keeps the cache current (deleted_pod_ttl)",
    );
}

fn modify(e: &mut Entries, s: &mut Section) {
    // `names`: the values are record keys too (rename, copy), not data (set, add).
    let pairs = |e: &mut Entries, keys: &[&str], names: bool| -> Table {
        let mut t = Table::new();
        for k in keys {
            for r in e.take_all(k) {
                if let Some((a, b)) = r.value.split_once(char::is_whitespace) {
                    let b = b.trim();
                    let value = if names { attribute(b) } else { b.to_owned() };
                    t.insert(attribute(a), Value::String(value));
                }
            }
        }
        t
    };
    let rename = pairs(e, &["rename", "hard_rename"], true);
    let copy = pairs(e, &["copy", "hard_copy"], true);
    let set = pairs(e, &["set"], false);
    let add = pairs(e, &["add"], false);
    for (key, t) in [
        ("rename", rename),
        ("copy", copy),
        ("set", set),
        ("add", add),
    ] {
        if !t.is_empty() {
            s.set(key, Value::Table(t));
        }
    }
    let remove: Vec<Value> = e
        .take_all("remove")
        .iter()
        .map(|r| Value::String(attribute(&r.value)))
        .collect();
    if !remove.is_empty() {
        s.set("remove", Value::Array(remove));
    }
    e.explain(s, "remove_wildcard", "list the names in `remove`");
    e.explain(s, "remove_regex", "list the names in `remove`");
    e.explain(
        s,
        "condition",
        "conditional edits: route the records with [[filters.select]] or `match`",
    );
}

/// grep's Regex rules (all must match) and Exclude rules (any drops) as one or two selects.
fn grep(e: &mut Entries, b: &Block) -> Vec<Section> {
    let rules = |e: &mut Entries, key: &str| -> Table {
        let mut t = Table::new();
        for r in e.take_all(key) {
            if let Some((k, re)) = r.value.split_once(char::is_whitespace) {
                let name = source_name(k);
                let pattern = Value::String(format!("/{}/", re.trim()));
                match t.get_mut(&name) {
                    Some(Value::Array(a)) => a.push(pattern),
                    _ => {
                        t.insert(name, Value::Array(vec![pattern]));
                    }
                }
            }
        }
        t
    };
    let include = rules(e, "regex");
    let exclude = rules(e, "exclude");
    let op = e.take("logical_op").map(|o| o.to_ascii_lowercase());
    let mut out = Vec::new();
    if !include.is_empty() {
        let mut s = Section::plugin("filters.select", b.at.clone());
        s.set("include", Value::Table(include));
        s.set(
            "combine",
            if op.as_deref() == Some("or") {
                "any"
            } else {
                "all"
            },
        );
        out.push(s);
    }
    if !exclude.is_empty() {
        let mut s = Section::plugin("filters.select", b.at.clone());
        s.set("exclude", Value::Table(exclude));
        s.set(
            "combine",
            if op.as_deref() == Some("and") {
                "all"
            } else {
                "any"
            },
        );
        out.push(s);
    }
    if out.is_empty() {
        out.push(Section::plugin("filters.select", b.at.clone()));
    }
    out
}

pub(crate) fn output(name: &str, b: &Block, e: &mut Entries) -> Option<Vec<Section>> {
    let target = match name {
        "splunk" => "splunk_hec",
        "prometheus_remote_write" => "remote_write",
        "influxdb" => "influxdb",
        "stdout" => "stdout",
        "file" => "file",
        "http" => "http",
        "opentelemetry" => "otlp",
        _ => return None,
    };
    if !has_plugin("outputs", target) {
        return None;
    }
    let mut s = Section::plugin(&format!("outputs.{target}"), b.at.clone());
    match name {
        "splunk" => {
            let (url, _) = base_url(e, 8088);
            s.set("endpoint", url);
            if let Some(t) = e.take("splunk_token") {
                s.set("token", t);
            }
            for (from, to) in [
                ("event_index", "index"),
                ("event_source", "source"),
                ("event_sourcetype", "sourcetype"),
                ("event_host", "host"),
            ] {
                if let Some(v) = e.take(from) {
                    s.set(to, v);
                }
            }
            if e.take("compress").as_deref() == Some("gzip") {
                s.set("content_encoding", "gzip");
            }
            tls_verify(e, &mut s);
            e.explain(
                &mut s,
                "splunk_send_raw",
                "events are sent with their envelope",
            );
            e.explain(
                &mut s,
                "event_key",
                "the event is the message (or the parsed log.* object)",
            );
            e.explain(
                &mut s,
                "event_field",
                "indexed fields are chosen with `fields` (globs on attributes)",
            );
            e.explain(&mut s, "http_user", "HEC authenticates with the token");
            e.explain(&mut s, "http_passwd", "HEC authenticates with the token");
        }
        "prometheus_remote_write" => {
            let (url, _) = base_url(e, 80);
            let uri = e.take("uri").unwrap_or_else(|| "/api/v1/write".to_owned());
            s.set("url", format!("{url}{uri}"));
            headers(e, &mut s);
            if let Some(u) = e.take("http_user") {
                s.set("username", u);
            }
            if let Some(p) = e.take("http_passwd") {
                s.set("password", p);
            }
            tls_verify(e, &mut s);
            e.explain(&mut s, "add_label", "add tags with [[filters.static]] tags");
        }
        "influxdb" => {
            let (url, _) = base_url(e, 8086);
            s.set("url", url);
            if let Some(bucket) = e.take("bucket") {
                s.set("api", "v2");
                s.set("bucket", bucket);
                if let Some(o) = e.take("org") {
                    s.set("org", o);
                }
                if let Some(t) = e.take("http_token") {
                    s.set("token", t);
                }
            } else {
                s.set(
                    "database",
                    e.take("database").unwrap_or_else(|| "fluentbit".to_owned()),
                );
                if let Some(u) = e.take("http_user") {
                    s.set("username", u);
                }
                if let Some(p) = e.take("http_passwd") {
                    s.set("password", p);
                }
            }
            tls_verify(e, &mut s);
            e.explain(&mut s, "sequence_tag", "points keep their own timestamps");
            e.explain(
                &mut s,
                "tag_keys",
                "log attributes become tags by `logs_tag_attributes`",
            );
        }
        "stdout" => {
            e.explain(
                &mut s,
                "format",
                "logs are JSON lines, metrics line protocol (format = \"json\" for JSON)",
            );
            e.explain(&mut s, "json_date_key", "the time is the `time` member");
            e.explain(&mut s, "json_date_format", "times are RFC 3339");
        }
        "file" => {
            let dir = e.take("path").unwrap_or_else(|| ".".to_owned());
            let file = e
                .take("file")
                .unwrap_or_else(|| "fluent-bit.out".to_owned());
            s.set("path", format!("{}/{}", dir.trim_end_matches('/'), file));
            e.explain(
                &mut s,
                "format",
                "logs are JSON lines, metrics line protocol",
            );
            e.explain(&mut s, "mkdir", "the directory must exist");
        }
        "http" => {
            let (url, _) = base_url(e, 80);
            let uri = e.take("uri").unwrap_or_else(|| "/".to_owned());
            s.set("url", format!("{url}{uri}"));
            let format = match e.take("format").as_deref() {
                Some("json_lines") => "ndjson",
                _ => "json_array",
            };
            s.set("format", format);
            headers(e, &mut s);
            tls_verify(e, &mut s);
        }
        _ => {
            let (url, _) = base_url(e, 4318);
            s.set("endpoint", url);
            headers(e, &mut s);
            tls_verify(e, &mut s);
        }
    }
    if let Some(limit) = e
        .take("storage.total_limit_size")
        .and_then(|v| size_str(&v))
    {
        let mut t = Table::new();
        t.insert("max_bytes".to_owned(), limit);
        s.set("buffer", Value::Table(t));
    }
    e.explain(
        &mut s,
        "retry_limit",
        "Gleaner retries with backoff until delivered (dead_letter keeps what is refused for good)",
    );
    e.explain(&mut s, "workers", "one request in flight per output");
    Some(vec![s])
}

fn headers(e: &mut Entries, s: &mut Section) {
    let mut t = Table::new();
    for h in e.take_all("header") {
        if let Some((k, v)) = h.value.split_once(char::is_whitespace) {
            t.insert(k.to_owned(), Value::String(v.trim().to_owned()));
        }
    }
    if !t.is_empty() {
        s.set("headers", Value::Table(t));
    }
}
