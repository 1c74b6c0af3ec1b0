//! fluent-bit.conf (classic format) -> Gleaner: `[SERVICE]`, the inputs tail, systemd, syslog,
//! prometheus_scrape, node_exporter_metrics (and cpu, mem, disk, netif as `inputs.host`), the
//! filters kubernetes, modify, record_modifier, grep, parser and throttle, and the outputs
//! splunk, prometheus_remote_write, influxdb, stdout, file (http and opentelemetry where this
//! build has them). Routing: an input's `Tag` becomes its alias, and a filter's or output's
//! `Match` becomes `match` on the aliases of the inputs whose tag it matches (left out when it
//! matches every input).

mod parse;
mod plugins;

use std::path::Path;

use toml::Value;

use super::emit::{Document, Section};
use super::values::{fluent_bit_seconds, listen_address};
use super::{ImportError, Note};
use parse::{Block, Entry, wildcard};

#[cfg(test)]
pub(crate) use parse::{read as parse_for_tests, wildcard as wildcard_for_tests};

pub(crate) fn convert(text: &str, path: &Path) -> Result<Document, ImportError> {
    let blocks = parse::read(text, path)?;
    let mut c = Converter::default();
    c.doc.header = vec![
        format!(
            "Converted from {} by `gleaner import fluent-bit`.",
            path.display()
        ),
        "Check it with `gleaner check --config <this file>`; options without an equivalent are"
            .to_owned(),
        "kept below as comments (`not mapped:`). Each input's alias is its Fluent Bit Tag, and"
            .to_owned(),
        "Match became `match` on those aliases.".to_owned(),
    ];
    for b in blocks
        .iter()
        .filter(|b| b.kind == "SERVICE" || b.kind == "INPUT")
    {
        if b.kind == "SERVICE" {
            c.service(b);
        } else {
            c.input(b);
        }
    }
    for b in &blocks {
        match b.kind.as_str() {
            "SERVICE" | "INPUT" => {}
            "FILTER" => c.routed(b, true),
            "OUTPUT" => c.routed(b, false),
            "PARSER" | "MULTILINE_PARSER" => c.doc.notes.push(Note {
                origin: b.at.clone(),
                option: format!("[{}] {}", b.kind, b.get("name").unwrap_or("")),
                reason: "parsers are not read: use [[filters.parse]] (format = \"regex\" with a pattern)".to_owned(),
            }),
            other => c.doc.notes.push(Note {
                origin: b.at.clone(),
                option: format!("[{other}]"),
                reason: "not a Fluent Bit section Gleaner knows".to_owned(),
            }),
        }
    }
    let Converter {
        mut doc,
        agent,
        inputs,
        filters,
        outputs,
        ..
    } = c;
    doc.sections.extend(agent);
    doc.sections.extend(inputs.into_iter().map(|i| i.section));
    doc.sections.extend(filters);
    doc.sections.extend(outputs);
    Ok(doc)
}

/// An input and the Fluent Bit tags it stands for.
struct Input {
    section: Section,
    alias: String,
    tags: Vec<String>,
}

#[derive(Default)]
struct Converter {
    doc: Document,
    agent: Option<Section>,
    inputs: Vec<Input>,
    filters: Vec<Section>,
    outputs: Vec<Section>,
    /// Index in `inputs` of the `inputs.host` that Fluent Bit's metric inputs join.
    host: Option<usize>,
    /// Instances of each Fluent Bit input name, for default tags (`tail.0`).
    counts: std::collections::HashMap<String, usize>,
}

/// A block's entries not yet mapped; what is left at the end becomes notes.
pub(super) struct Entries {
    rest: Vec<Entry>,
}

impl Entries {
    fn new(b: &Block) -> Self {
        Entries {
            rest: b
                .entries
                .iter()
                .filter(|e| !matches!(e.key.as_str(), "name" | "match" | "tag" | "alias"))
                .cloned()
                .collect(),
        }
    }

    /// The last value of `key`; every occurrence is consumed.
    pub(super) fn take(&mut self, key: &str) -> Option<String> {
        let mut last = None;
        self.rest.retain(|e| {
            if e.key == key {
                last = Some(e.value.clone());
                false
            } else {
                true
            }
        });
        last
    }

    /// Every occurrence of `key`, in order.
    pub(super) fn take_all(&mut self, key: &str) -> Vec<Entry> {
        let (taken, rest) = std::mem::take(&mut self.rest)
            .into_iter()
            .partition(|e| e.key == key);
        self.rest = rest;
        taken
    }

    pub(super) fn explain(&mut self, s: &mut Section, key: &str, reason: &str) {
        for e in self.take_all(key) {
            s.note(&e.at, format!("{} {}", e.raw_key, e.value), reason);
        }
    }

    /// Every entry left becomes a note.
    pub(super) fn finish(self, s: &mut Section) {
        for e in self.rest {
            s.note(
                &e.at,
                format!("{} {}", e.raw_key, e.value),
                "no equivalent option",
            );
        }
    }
}

impl Converter {
    fn agent_section(&mut self, at: &str) -> &mut Section {
        self.agent
            .get_or_insert_with(|| Section::table("agent", at.to_owned()))
    }

    fn service(&mut self, b: &Block) {
        let mut e = Entries::new(b);
        let s = self.agent_section(&b.at);
        if let Some(v) = e.take("flush").and_then(|f| fluent_bit_seconds(&f)) {
            s.set("flush_interval", v);
        }
        if let Some(v) = e.take("grace").and_then(|f| fluent_bit_seconds(&f)) {
            s.set("shutdown_timeout", v);
        }
        if let Some(p) = e.take("storage.path") {
            s.set("data_dir", p);
        }
        let server = e.take("http_server");
        let listen = e.take("http_listen");
        let port = e.take("http_port");
        if server.as_deref().and_then(super::values::fluent_bit_bool) == Some(true) {
            let host = listen.unwrap_or_else(|| "0.0.0.0".to_owned());
            let port = port.unwrap_or_else(|| "2020".to_owned());
            s.set("http_listen", listen_address(&format!("{host}:{port}")));
        }
        e.explain(s, "log_level", "use --log-level on the command line");
        e.explain(s, "log_file", "Gleaner logs to stderr");
        e.explain(
            s,
            "daemon",
            "Gleaner runs in the foreground (systemd or Kubernetes supervises it)",
        );
        e.explain(
            s,
            "parsers_file",
            "parsers are not read: use [[filters.parse]]",
        );
        e.explain(
            s,
            "health_check",
            "/health is always served on agent.http_listen",
        );
        e.explain(s, "hot_reload", "Gleaner reloads on SIGHUP");
        for key in [
            "storage.sync",
            "storage.checksum",
            "storage.backlog.mem_limit",
            "storage.metrics",
            "storage.max_chunks_up",
        ] {
            e.explain(
                s,
                key,
                "disk buffers are configured per output ([outputs.<name>.buffer])",
            );
        }
        e.finish(s);
    }

    /// A unique alias for `tag` (`kube.*` -> `kube`).
    fn alias_for(&self, tag: &str) -> String {
        let cleaned: String = tag
            .trim_end_matches(['*', '.'])
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let base = if cleaned.is_empty() {
            "input".to_owned()
        } else {
            cleaned
        };
        let mut alias = base.clone();
        let mut n = 2;
        while self.inputs.iter().any(|i| i.alias == alias) {
            alias = format!("{base}-{n}");
            n += 1;
        }
        alias
    }

    fn input(&mut self, b: &Block) {
        let name = b.name();
        let index = {
            let n = self.counts.entry(name.clone()).or_default();
            *n += 1;
            *n - 1
        };
        let tag = b
            .get("tag")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{name}.{index}"));
        let mut e = Entries::new(b);
        if plugins::is_host_input(&name) {
            return self.host_input(b, &name, &tag, e);
        }
        let Some(mut s) = plugins::input(&name, b, &mut e, self.inputs.len()) else {
            self.doc.notes.push(Note {
                origin: b.at.clone(),
                option: format!("[INPUT] Name {name}"),
                reason: "no equivalent input".to_owned(),
            });
            return;
        };
        let alias = self.alias_for(&tag);
        s.keys
            .insert(0, ("alias".to_owned(), Value::String(alias.clone())));
        e.finish(&mut s);
        self.inputs.push(Input {
            section: s,
            alias,
            tags: vec![tag],
        });
    }

    fn host_input(&mut self, b: &Block, name: &str, tag: &str, mut e: Entries) {
        let i = match self.host {
            Some(i) => i,
            None => {
                let alias = self.alias_for(tag);
                let mut s = Section::plugin("inputs.host", b.at.clone());
                s.set("alias", alias.as_str());
                s.set("collect", Value::Array(Vec::new()));
                self.inputs.push(Input {
                    section: s,
                    alias,
                    tags: Vec::new(),
                });
                self.host = Some(self.inputs.len() - 1);
                self.inputs.len() - 1
            }
        };
        let input = &mut self.inputs[i];
        input.tags.push(tag.to_owned());
        plugins::host(name, &mut e, &mut input.section);
        e.finish(&mut input.section);
    }

    /// A filter or output, with its Match turned into `match`.
    fn routed(&mut self, b: &Block, filter: bool) {
        let name = b.name();
        let mut e = Entries::new(b);
        let section = if filter {
            plugins::filter(&name, b, &mut e)
        } else {
            plugins::output(&name, b, &mut e)
        };
        let Some(mut sections) = section else {
            self.doc.notes.push(Note {
                origin: b.at.clone(),
                option: format!("[{}] Name {name}", b.kind),
                reason: format!("no equivalent {}", if filter { "filter" } else { "output" }),
            });
            return;
        };
        let route = self.route(b);
        for s in &mut sections {
            if let Some(m) = &route {
                s.keys.insert(0, ("match".to_owned(), m.clone()));
            }
        }
        if let Some(last) = sections.last_mut() {
            if let Some(r) = b.entries.iter().rev().find(|x| x.key == "match_regex") {
                last.note(
                    &r.at,
                    format!("{} {}", r.raw_key, r.value),
                    "regex routing is not supported: list the inputs in `match`",
                );
            }
            e.finish(last);
        }
        if filter {
            self.filters.extend(sections);
        } else {
            self.outputs.extend(sections);
        }
    }

    /// `match` for a block's Match: the aliases of the inputs whose tag it matches; `None`
    /// when it matches every input (Gleaner's default).
    fn route(&self, b: &Block) -> Option<Value> {
        let pattern = b.get("match").unwrap_or("").trim();
        if pattern.is_empty() && b.get("match_regex").is_none() {
            // No Match: Fluent Bit routes nothing to it.
            return Some(Value::Array(Vec::new()));
        }
        if pattern.is_empty() {
            return None;
        }
        let matched: Vec<&Input> = self
            .inputs
            .iter()
            .filter(|i| i.tags.iter().any(|t| tag_matches(pattern, t)))
            .collect();
        if matched.len() == self.inputs.len() && !self.inputs.is_empty() {
            return None;
        }
        Some(Value::Array(
            matched
                .iter()
                .map(|i| Value::String(i.alias.clone()))
                .collect(),
        ))
    }
}

/// Whether a Match `pattern` takes the records of an input tagged `tag`. A `*` in an input's
/// tag is expanded by Fluent Bit to the file's path with `/` as `.`; a representative path of
/// a container log stands for it (`kube.*` -> `kube.var.log.containers.x.log`), so `kube.*`,
/// `kube.var.*` and `*` take such an input and `*_metrics` does not.
fn tag_matches(pattern: &str, tag: &str) -> bool {
    wildcard(pattern, tag) || wildcard(pattern, &tag.replace('*', "var.log.containers.x.log"))
}
