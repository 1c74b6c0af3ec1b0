//! telegraf.conf -> Gleaner: `[agent]` and `[global_tags]`, the system inputs (cpu, mem, swap,
//! disk, diskio, net, system, processes, kernel: one `inputs.host`), kubernetes, prometheus,
//! statsd, the InfluxDB listeners, tail, procstat, exec and execd where this build has them,
//! and the outputs influxdb, influxdb_v2, http (remote write serializer, or line protocol and
//! JSON through `outputs.http`) and file. Processors and aggregators are noted with the filter
//! that does the same job.
//!
//! Over 400 lines on purpose: one flat mapping function per Telegraf plugin, each a list of
//! option renames read top to bottom beside Telegraf's docs; split by plugin, the table would
//! scatter over a dozen files of twenty lines.

use std::path::Path;

use toml::{Table, Value};

use super::emit::{Document, Section};
use super::values::{listen_address, show, size, telegraf_duration};
use super::{ImportError, has_plugin, selectors_supported};

/// Telegraf's system inputs, in `inputs.host`'s `collect` order.
const HOST_COLLECTORS: [&str; 9] = [
    "cpu",
    "mem",
    "swap",
    "disk",
    "diskio",
    "net",
    "system",
    "processes",
    "kernel",
];

/// Telegraf's metric selectors: the same keys and meaning in Gleaner (shared keys of every
/// plugin), so they are carried over as written.
const SELECTORS: [&str; 13] = [
    "namepass",
    "namedrop",
    "fieldpass",
    "fielddrop",
    "fieldinclude",
    "fieldexclude",
    "tagpass",
    "tagdrop",
    "taginclude",
    "tagexclude",
    "metricpass",
    "namepass_separator",
    "namedrop_separator",
];

pub(crate) fn convert(text: &str, path: &Path) -> Result<Document, ImportError> {
    let root: Table = text
        .parse()
        .map_err(|e: toml::de::Error| ImportError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    let file = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut c = Converter {
        file,
        doc: Document::default(),
        agent: None,
        host: None,
        inputs: Vec::new(),
        outputs: Vec::new(),
    };
    c.doc.header = vec![
        format!(
            "Converted from {} by `gleaner import telegraf`.",
            path.display()
        ),
        "Check it with `gleaner check --config <this file>`; options without an equivalent are"
            .to_owned(),
        "kept below as comments (`not mapped:`).".to_owned(),
    ];
    for (key, value) in root {
        match key.as_str() {
            "agent" => c.agent_table(value),
            "global_tags" => c.global_tags(value),
            "inputs" => c.plugins("inputs", value),
            "outputs" => c.plugins("outputs", value),
            "processors" | "aggregators" => c.plugins(&key, value),
            _ => {
                let origin = c.file.clone();
                c.doc.notes.push(super::Note {
                    origin,
                    option: format!("{key} = {}", show(&value)),
                    reason: "not a Telegraf section".to_owned(),
                });
            }
        }
    }
    let mut sections = Vec::new();
    sections.extend(c.agent);
    sections.extend(c.host);
    sections.extend(c.inputs);
    sections.extend(c.outputs);
    c.doc.sections = sections;
    Ok(c.doc)
}

struct Converter {
    file: String,
    doc: Document,
    agent: Option<Section>,
    host: Option<Section>,
    inputs: Vec<Section>,
    outputs: Vec<Section>,
}

/// A plugin's options not yet mapped; what is left at the end becomes notes.
struct Opts {
    origin: String,
    rest: Table,
}

impl Opts {
    fn take(&mut self, key: &str) -> Option<Value> {
        self.rest.remove(key)
    }

    fn take_str(&mut self, key: &str) -> Option<String> {
        match self.rest.remove(key) {
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                self.rest.insert(key.to_owned(), other);
                None
            }
            None => None,
        }
    }

    /// Moves `from` to `to` unchanged.
    fn copy(&mut self, s: &mut Section, from: &str, to: &str) {
        if let Some(v) = self.take(from) {
            s.set(to, v);
        }
    }

    fn duration(&mut self, s: &mut Section, from: &str, to: &str) {
        if let Some(v) = self.take(from) {
            match telegraf_duration(&v) {
                Some(d) => s.set(to, d),
                None => {
                    self.rest.insert(from.to_owned(), v);
                }
            }
        }
    }

    fn size(&mut self, s: &mut Section, from: &str, to: &str) {
        if let Some(v) = self.take(from) {
            match size(&v) {
                Some(d) => s.set(to, d),
                None => {
                    self.rest.insert(from.to_owned(), v);
                }
            }
        }
    }

    /// Notes a key with a specific reason (when present).
    fn explain(&mut self, s: &mut Section, key: &str, reason: &str) {
        if let Some(v) = self.take(key) {
            s.note(&self.origin, format!("{key} = {}", show(&v)), reason);
        }
    }

    /// Every key left becomes a note.
    fn finish(self, s: &mut Section) {
        for (k, v) in self.rest {
            s.note(
                &self.origin,
                format!("{k} = {}", show(&v)),
                "no equivalent option",
            );
        }
    }
}

impl Converter {
    fn origin(&self, path: &str) -> String {
        format!("{} [{path}]", self.file)
    }

    fn agent_section(&mut self) -> &mut Section {
        let origin = self.origin("agent");
        self.agent
            .get_or_insert_with(|| Section::table("agent", origin))
    }

    fn agent_table(&mut self, value: Value) {
        let Value::Table(rest) = value else { return };
        let mut o = Opts {
            origin: self.origin("agent"),
            rest,
        };
        let s = self.agent_section();
        o.duration(s, "interval", "interval");
        o.duration(s, "collection_jitter", "collection_jitter");
        o.duration(s, "flush_interval", "flush_interval");
        if let Some(h) = o.take_str("hostname")
            && !h.is_empty()
        {
            s.set("hostname", h);
        }
        o.copy(s, "omit_hostname", "omit_hostname");
        o.explain(
            s,
            "round_interval",
            "inputs gather on their own ticker, from the start",
        );
        o.explain(
            s,
            "metric_batch_size",
            "set batch_max_events (or max_samples_per_request) on each output",
        );
        o.explain(
            s,
            "metric_buffer_limit",
            "buffers are bounded in bytes: [outputs.<name>.buffer] max_bytes, on disk with agent.data_dir",
        );
        o.explain(s, "flush_jitter", "no flush jitter");
        o.explain(
            s,
            "precision",
            "timestamps keep their precision; outputs.influxdb has `precision`",
        );
        for key in ["debug", "quiet"] {
            o.explain(s, key, "use --log-level on the command line");
        }
        for key in [
            "logfile",
            "logtarget",
            "logfile_rotation_interval",
            "logfile_rotation_max_size",
            "logfile_rotation_max_archives",
            "log_with_timezone",
        ] {
            o.explain(s, key, "Gleaner logs to stderr (--log-format text|json)");
        }
        o.finish(s);
    }

    fn global_tags(&mut self, value: Value) {
        if let Value::Table(t) = value
            && !t.is_empty()
        {
            self.agent_section().set("tags", Value::Table(t));
        }
    }

    fn plugins(&mut self, kind: &str, value: Value) {
        let Value::Table(plugins) = value else { return };
        for (name, instances) in plugins {
            let instances = match instances {
                Value::Array(a) => a,
                t @ Value::Table(_) => vec![t],
                _ => continue,
            };
            for (i, inst) in instances.into_iter().enumerate() {
                let Value::Table(rest) = inst else { continue };
                let origin = if i == 0 {
                    self.origin(&format!("[{kind}.{name}]"))
                } else {
                    self.origin(&format!("[{kind}.{name}] #{}", i + 1))
                };
                let opts = Opts { origin, rest };
                match kind {
                    "inputs" => self.input(&name, opts),
                    "outputs" => self.output(&name, opts),
                    _ => self.left_out(kind, &name, opts),
                }
            }
        }
    }

    fn left_out(&mut self, kind: &str, name: &str, o: Opts) {
        let reason = match (kind, name) {
            ("processors", "rename" | "converter" | "strings" | "override" | "enum") => {
                "use [[filters.modify]] (rename, convert, lowercase/uppercase/trim, set)"
            }
            ("processors", "regex" | "parser") => "use [[filters.parse]] or [[filters.modify]]",
            ("processors", "filter") => "use [[filters.select]]",
            ("processors", _) => "no equivalent processor",
            ("aggregators", _) => "Gleaner has no aggregators",
            ("inputs", _) => "no equivalent input",
            _ => "no equivalent output",
        };
        self.doc.notes.push(super::Note {
            origin: o.origin,
            option: format!("[[{kind}.{name}]]"),
            reason: reason.to_owned(),
        });
    }

    /// Keys every Telegraf input takes.
    fn input_common(o: &mut Opts, s: &mut Section, selectors: bool) {
        o.duration(s, "interval", "interval");
        o.duration(s, "collection_jitter", "collection_jitter");
        if let Some(a) = o.take_str("alias") {
            s.set("alias", alias(&a));
        }
        if selectors {
            copy_selectors(o, s);
        }
        o.explain(
            s,
            "tags",
            "add tags with [[filters.static]] or [[filters.modify]] set",
        );
        for key in ["name_override", "name_prefix", "name_suffix"] {
            o.explain(s, key, "rename measurements with [[filters.modify]]");
        }
        o.explain(s, "precision", "timestamps keep their precision");
        o.explain(s, "collection_offset", "no collection offset");
    }

    fn input(&mut self, name: &str, mut o: Opts) {
        if HOST_COLLECTORS.contains(&name) {
            return self.host_input(name, o);
        }
        let target = match name {
            "kubernetes" => "kubelet",
            "influxdb_listener" | "http_listener" | "http_listener_v2" | "influxdb_v2_listener" => {
                "http_listener"
            }
            "prometheus" | "statsd" | "tail" | "procstat" | "exec" | "execd" | "syslog"
            | "temp" => name,
            _ => return self.left_out("inputs", name, o),
        };
        if !has_plugin("inputs", target) {
            return self.left_out("inputs", name, o);
        }
        let mut s = Section::plugin(&format!("inputs.{target}"), o.origin.clone());
        Self::input_common(&mut o, &mut s, true);
        match name {
            "kubernetes" => kubernetes(&mut o, &mut s),
            "prometheus" => prometheus(&mut o, &mut s),
            "statsd" => statsd(&mut o, &mut s),
            "tail" => tail(&mut o, &mut s, self.inputs.len()),
            "procstat" => {
                for key in [
                    "exe",
                    "pattern",
                    "user",
                    "pid_file",
                    "cgroup",
                    "systemd_unit",
                    "pid_tag",
                ] {
                    o.copy(&mut s, key, key);
                }
            }
            "exec" => {
                o.copy(&mut s, "commands", "commands");
                o.duration(&mut s, "timeout", "timeout");
                o.copy(&mut s, "data_format", "data_format");
            }
            "execd" => {
                o.copy(&mut s, "command", "command");
                o.copy(&mut s, "signal", "signal");
                o.duration(&mut s, "restart_delay", "restart_delay");
                o.copy(&mut s, "data_format", "data_format");
            }
            "syslog" => {
                o.copy(&mut s, "server", "listen");
                o.copy(&mut s, "framing", "framing");
            }
            _ => listener(name, &mut o, &mut s),
        }
        o.finish(&mut s);
        self.inputs.push(s);
    }

    fn host_input(&mut self, name: &str, mut o: Opts) {
        let origin = o.origin.clone();
        let s = self
            .host
            .get_or_insert_with(|| Section::plugin("inputs.host", origin));
        let mut collect: Vec<String> = match s.get("collect") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        if !collect.iter().any(|c| c == name) {
            collect.push(name.to_owned());
        }
        collect.sort_by_key(|c| HOST_COLLECTORS.iter().position(|h| h == c));
        if collect.len() == HOST_COLLECTORS.len() {
            s.keys.retain(|(k, _)| k != "collect");
        } else {
            s.set(
                "collect",
                Value::Array(collect.into_iter().map(Value::String).collect()),
            );
        }
        // One input does the nine plugins' work: the first interval wins.
        let had_interval = s.get("interval").cloned();
        Self::input_common(&mut o, s, false);
        if let Some(first) = had_interval
            && s.get("interval") != Some(&first)
        {
            let this = s.get("interval").cloned();
            s.set("interval", first);
            if let Some(v) = this {
                s.note(
                    &o.origin,
                    format!("interval = {}", show(&v)),
                    "inputs.host has one interval for all collectors: the first one is kept",
                );
            }
        }
        for key in SELECTORS {
            o.explain(s, key, "inputs.host joins several Telegraf inputs: put selectors on the host input or its outputs by hand");
        }
        match name {
            "cpu" => {
                o.copy(s, "percpu", "percpu");
                o.copy(s, "totalcpu", "totalcpu");
                o.explain(s, "collect_cpu_time", "cpu reports usage percentages only");
                o.explain(s, "report_active", "cpu reports usage percentages only");
            }
            "disk" => {
                o.copy(s, "ignore_fs", "ignore_fs");
                o.copy(s, "mount_points", "mount_points");
            }
            "diskio" => o.copy(s, "devices", "devices"),
            "net" => o.copy(s, "interfaces", "interfaces"),
            _ => {}
        }
        o.finish(s);
    }

    fn output(&mut self, name: &str, mut o: Opts) {
        if name == "file" {
            return self.file_output(o);
        }
        let data_format = o.take_str("data_format");
        let target = match (name, data_format.as_deref()) {
            ("influxdb" | "influxdb_v2", _) => "influxdb",
            ("http", Some("prometheusremotewrite")) => "remote_write",
            ("http", _) => "http",
            _ => "",
        };
        if target.is_empty() || !has_plugin("outputs", target) {
            if let Some(f) = data_format {
                o.rest.insert("data_format".to_owned(), Value::String(f));
            }
            return self.left_out("outputs", name, o);
        }
        let mut s = Section::plugin(&format!("outputs.{target}"), o.origin.clone());
        output_common(&mut o, &mut s, target);
        match (name, target) {
            ("influxdb", _) => influxdb_v1(&mut o, &mut s),
            ("influxdb_v2", _) => influxdb_v2(&mut o, &mut s),
            (_, "remote_write") => {
                o.copy(&mut s, "url", "url");
                if let Some(Value::Table(mut h)) = o.take("headers") {
                    for fixed in [
                        "Content-Type",
                        "Content-Encoding",
                        "X-Prometheus-Remote-Write-Version",
                        "User-Agent",
                    ] {
                        if let Some((k, v)) = h
                            .iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(fixed))
                            .map(|(k, v)| (k.clone(), v.clone()))
                        {
                            h.remove(&k);
                            s.note(
                                &o.origin,
                                format!("headers.{k} = {}", show(&v)),
                                "set by remote_write itself",
                            );
                        }
                    }
                    if !h.is_empty() {
                        s.set("headers", Value::Table(h));
                    }
                }
                o.copy(&mut s, "username", "username");
                o.copy(&mut s, "password", "password");
            }
            _ => {
                o.copy(&mut s, "url", "url");
                o.copy(&mut s, "username", "username");
                o.copy(&mut s, "password", "password");
                let format = match data_format.as_deref() {
                    Some("json") => "json_array",
                    _ => "influx",
                };
                s.set("format", format);
                if data_format.as_deref() == Some("json") {
                    s.note(
                        &o.origin,
                        "data_format = \"json\"".to_owned(),
                        "Telegraf's JSON batch object becomes a JSON array of events",
                    );
                }
            }
        }
        http_common(&mut o, &mut s);
        o.finish(&mut s);
        self.outputs.push(s);
    }

    fn file_output(&mut self, mut o: Opts) {
        let files: Vec<String> = match o.take("files") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => vec!["stdout".to_owned()],
        };
        let json = match o.take_str("data_format") {
            None => false,
            Some(f) if f == "influx" => false,
            Some(f) if f == "json" => true,
            Some(f) => {
                o.rest.insert("data_format".to_owned(), Value::String(f));
                false
            }
        };
        let rotate_bytes = o.take("rotation_max_size");
        let rotate_files = o.take("rotation_max_archives");
        let mut first = true;
        let origin = o.origin.clone();
        for f in files {
            let mut s = if f == "stdout" {
                let mut s = Section::plugin("outputs.stdout", origin.clone());
                if json {
                    s.set("format", "json");
                }
                s
            } else {
                let mut s = Section::plugin("outputs.file", origin.clone());
                s.set("path", f.as_str());
                if let Some(v) = rotate_bytes.as_ref().and_then(size) {
                    s.set("rotate_max_bytes", v);
                }
                if let Some(v) = &rotate_files {
                    s.set("rotate_max_files", v.clone());
                }
                if json {
                    s.note(
                        &origin,
                        "data_format = \"json\"".to_owned(),
                        "outputs.file writes metrics as line protocol",
                    );
                }
                s
            };
            if first {
                output_common(&mut o, &mut s, "file");
                first = false;
            }
            self.outputs.push(s);
        }
        if let Some(last) = self.outputs.last_mut() {
            o.explain(
                last,
                "rotation_interval",
                "outputs.file rotates by size only",
            );
            o.finish(last);
        }
    }
}

/// Carries the selectors over as written (same names and meaning), where this build has them;
/// `metricpass` (CEL) and the `*_separator` options have no equivalent.
fn copy_selectors(o: &mut Opts, s: &mut Section) {
    for key in SELECTORS {
        if key == "metricpass" {
            o.explain(
                s,
                key,
                "CEL expressions are not supported: use [[filters.select]] or the other selectors",
            );
        } else if key.ends_with("_separator") {
            o.explain(s, key, "globs have no separators: `*` also matches them");
        } else if selectors_supported() {
            o.copy(s, key, key);
        } else {
            o.explain(
                s,
                key,
                "this build has no metric selectors: use [[filters.select]]",
            );
        }
    }
}

/// An alias as Gleaner takes it: letters, digits, `_`, `.` and `-`.
fn alias(a: &str) -> String {
    let s: String = a
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if s.is_empty() {
        "imported".to_owned()
    } else {
        s
    }
}

fn kubernetes(o: &mut Opts, s: &mut Section) {
    o.copy(s, "url", "url");
    o.copy(s, "bearer_token", "bearer_token_file");
    o.explain(
        s,
        "bearer_token_string",
        "write the token to a file and set bearer_token_file",
    );
    o.duration(s, "response_timeout", "timeout");
    o.copy(s, "tls_ca", "ca_file");
    o.copy(s, "insecure_skip_verify", "insecure_skip_verify");
    o.explain(
        s,
        "label_include",
        "pod labels come from [[filters.kubernetes]] labels",
    );
    o.explain(
        s,
        "label_exclude",
        "pod labels come from [[filters.kubernetes]] labels",
    );
}

fn prometheus(o: &mut Opts, s: &mut Section) {
    o.copy(s, "urls", "urls");
    o.copy(s, "bearer_token", "bearer_token_file");
    o.copy(s, "username", "username");
    o.copy(s, "password", "password");
    o.duration(s, "response_timeout", "timeout");
    o.duration(s, "timeout", "timeout");
    o.copy(s, "tls_ca", "ca_file");
    o.copy(s, "tls_cert", "cert_file");
    o.copy(s, "tls_key", "key_file");
    o.copy(s, "insecure_skip_verify", "insecure_skip_verify");
    if matches!(
        o.take("monitor_kubernetes_pods"),
        Some(Value::Boolean(true))
    ) {
        let mut k = Table::new();
        k.insert("role".to_owned(), Value::String("pod".to_owned()));
        let scope = match o.take_str("pod_scrape_scope").as_deref() {
            Some("node") => "node",
            _ => "cluster",
        };
        k.insert("scope".to_owned(), Value::String(scope.to_owned()));
        if let Some(ns) = o.take_str("monitor_kubernetes_pods_namespace")
            && !ns.is_empty()
        {
            k.insert(
                "namespaces".to_owned(),
                Value::Array(vec![Value::String(ns)]),
            );
        }
        if let Some(sel) = o.take_str("kubernetes_label_selector")
            && !sel.is_empty()
        {
            k.insert("label_selector".to_owned(), Value::String(sel));
        }
        s.set("kubernetes", Value::Table(k));
    }
    o.explain(
        s,
        "bearer_token_string",
        "write the token to a file and set bearer_token_file",
    );
    o.explain(
        s,
        "metric_version",
        "series keep Prometheus's names (metric_version = 2's shape)",
    );
    o.explain(s, "url_tag", "the target is the `instance` label");
}

fn statsd(o: &mut Opts, s: &mut Section) {
    o.copy(s, "service_address", "service_address");
    if let Some(p) = o.take_str("protocol") {
        s.set("protocol", p.trim_end_matches(['4', '6']).to_owned());
    }
    for key in [
        "delete_gauges",
        "delete_counters",
        "delete_sets",
        "delete_timings",
        "percentiles",
        "metric_separator",
        "datadog_extensions",
        "datadog_keep_container_tag",
        "percentile_limit",
        "max_tcp_connections",
        "tcp_keep_alive",
        "sanitize_name_method",
        "convert_names",
        "float_counters",
        "allowed_pending_messages",
    ] {
        o.copy(s, key, key);
    }
    o.copy(s, "parse_data_dog_tags", "datadog_extensions");
    o.duration(s, "tcp_keep_alive_period", "tcp_keep_alive_period");
    o.duration(s, "max_ttl", "max_ttl");
    o.size(s, "read_buffer_size", "read_buffer_size");
    o.explain(
        s,
        "templates",
        "graphite templates are not supported: rename with [[filters.modify]]",
    );
}

fn tail(o: &mut Opts, s: &mut Section, index: usize) {
    o.copy(s, "files", "paths");
    o.copy(s, "from_beginning", "read_from_head");
    s.set("format", "raw");
    s.set("db", format!("/var/lib/gleaner/tail/imported-{index}.db"));
    if let Some(f) = o.take_str("data_format") {
        s.note(
            &o.origin,
            format!("data_format = {f:?}"),
            "Gleaner's tail reads lines as log records; parse them with [[filters.parse]]",
        );
    }
    o.explain(
        s,
        "watch_method",
        "Gleaner watches with inotify and rescans every refresh_interval",
    );
    o.explain(s, "pipe", "named pipes are not followed");
    o.explain(
        s,
        "character_encoding",
        "invalid UTF-8 is kept or replaced (`encoding`)",
    );
    o.explain(
        s,
        "multiline",
        "use `multiline` (a start regex or a preset) on the tail input",
    );
}

fn listener(name: &str, o: &mut Opts, s: &mut Section) {
    if let Some(a) = o.take_str("service_address") {
        s.set("listen", listen_address(&a));
    }
    o.size(s, "max_body_size", "max_body_size");
    o.duration(s, "read_timeout", "read_timeout");
    o.duration(s, "write_timeout", "write_timeout");
    o.copy(s, "basic_username", "basic_username");
    o.copy(s, "basic_password", "basic_password");
    if name == "http_listener_v2" {
        if let Some(f) = o.take_str("data_format")
            && f != "influx"
        {
            s.note(
                &o.origin,
                format!("data_format = {f:?}"),
                "inputs.http_listener takes line protocol only",
            );
        }
        o.explain(
            s,
            "paths",
            "inputs.http_listener serves /write and /api/v2/write",
        );
        o.explain(
            s,
            "path",
            "inputs.http_listener serves /write and /api/v2/write",
        );
    }
}

/// Keys every Telegraf output takes.
fn output_common(o: &mut Opts, s: &mut Section, target: &str) {
    if let Some(a) = o.take_str("alias") {
        s.set("alias", alias(&a));
    }
    copy_selectors(o, s);
    match target {
        "influxdb" | "http" => {
            if let Some(v) = o.take("metric_batch_size") {
                s.set("batch_max_events", v);
            }
        }
        "remote_write" => {
            if let Some(v) = o.take("metric_batch_size") {
                s.set("max_samples_per_request", v);
            }
        }
        _ => {}
    }
    o.explain(
        s,
        "metric_buffer_limit",
        "buffers are bounded in bytes: [outputs.<name>.buffer] max_bytes",
    );
    o.explain(
        s,
        "flush_interval",
        "agent.flush_interval applies to every output",
    );
    o.explain(s, "flush_jitter", "no flush jitter");
}

/// HTTP keys of Telegraf's HTTP outputs.
fn http_common(o: &mut Opts, s: &mut Section) {
    o.duration(s, "timeout", "timeout");
    o.copy(s, "content_encoding", "content_encoding");
    o.copy(s, "http_headers", "headers");
    o.copy(s, "headers", "headers");
    o.copy(s, "tls_ca", "ca_file");
    o.copy(s, "tls_cert", "cert_file");
    o.copy(s, "tls_key", "key_file");
    o.copy(s, "insecure_skip_verify", "insecure_skip_verify");
    o.explain(s, "user_agent", "Gleaner sends its own User-Agent");
    o.explain(
        s,
        "http_proxy",
        "set HTTP_PROXY/HTTPS_PROXY in the environment",
    );
}

fn influxdb_v1(o: &mut Opts, s: &mut Section) {
    copy_urls(o, s);
    // Telegraf's default database is "telegraf": keep writing where it wrote.
    let db = o
        .take("database")
        .unwrap_or(Value::String("telegraf".to_owned()));
    s.set("database", db);
    o.copy(s, "retention_policy", "retention_policy");
    o.copy(s, "username", "username");
    o.copy(s, "password", "password");
    o.copy(s, "skip_database_creation", "skip_database_creation");
    o.copy(s, "influx_uint_support", "uint_support");
    o.explain(
        s,
        "write_consistency",
        "InfluxDB Enterprise write consistency is not set",
    );
    o.explain(s, "udp_payload", "UDP is not supported: use an http:// URL");
    o.explain(
        s,
        "database_tag",
        "one database per output: route with `match` to several outputs",
    );
    o.explain(s, "retention_policy_tag", "one retention policy per output");
    o.explain(s, "exclude_database_tag", "one database per output");
    o.explain(
        s,
        "exclude_retention_policy_tag",
        "one retention policy per output",
    );
}

fn influxdb_v2(o: &mut Opts, s: &mut Section) {
    s.set("api", "v2");
    copy_urls(o, s);
    o.copy(s, "token", "token");
    o.copy(s, "organization", "org");
    o.copy(s, "bucket", "bucket");
    o.copy(s, "influx_uint_support", "uint_support");
    o.explain(
        s,
        "bucket_tag",
        "one bucket per output: route with `match` to several outputs",
    );
    o.explain(s, "exclude_bucket_tag", "one bucket per output");
}

fn copy_urls(o: &mut Opts, s: &mut Section) {
    match o.take("urls") {
        Some(Value::Array(a)) if a.len() == 1 => s.set("url", a[0].clone()),
        Some(v) => s.set("urls", v),
        None => {
            if let Some(u) = o.take("url") {
                s.set("url", u);
            }
        }
    }
}
