//! The converted config as it is written: sections in order, each with its keys (TOML values)
//! and, under them, the source's options that have no equivalent, as comments. The same notes
//! are what `gleaner import` prints on stderr.

use toml::Value;

/// An option of the source config that was not carried over, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Where it was: `telegraf.conf [[inputs.cpu]]`, `fluent-bit.conf:12`.
    pub origin: String,
    /// The option as written in the source (`round_interval = true`, `Mem_Buf_Limit 5MB`).
    pub option: String,
    /// Why it has no equivalent, and what to do instead where there is something.
    pub reason: String,
}

/// One `[agent]` or `[[kind.name]]` section of the converted config.
#[derive(Debug)]
pub(crate) struct Section {
    /// `agent` or `inputs.host`.
    pub(crate) path: String,
    /// A table (`[agent]`) rather than an array of tables (`[[inputs.host]]`).
    pub(crate) single: bool,
    /// Where the section came from, written above it.
    pub(crate) origin: String,
    pub(crate) keys: Vec<(String, Value)>,
    pub(crate) notes: Vec<Note>,
}

impl Section {
    pub(crate) fn plugin(path: &str, origin: impl Into<String>) -> Self {
        Section {
            path: path.to_owned(),
            single: false,
            origin: origin.into(),
            keys: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub(crate) fn table(path: &str, origin: impl Into<String>) -> Self {
        Section {
            single: true,
            ..Section::plugin(path, origin)
        }
    }

    /// Sets `key` (replacing an earlier value of it).
    pub(crate) fn set(&mut self, key: &str, value: impl Into<Value>) {
        let value = value.into();
        match self.keys.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.keys.push((key.to_owned(), value)),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.keys.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn note(&mut self, origin: &str, option: String, reason: impl Into<String>) {
        self.notes.push(Note {
            origin: origin.to_owned(),
            option,
            reason: reason.into(),
        });
    }
}

/// The whole converted config.
#[derive(Debug, Default)]
pub(crate) struct Document {
    /// Comment lines at the top.
    pub(crate) header: Vec<String>,
    pub(crate) sections: Vec<Section>,
    /// Notes that belong to no section (a whole plugin left out).
    pub(crate) notes: Vec<Note>,
}

impl Document {
    /// Every note, in the order the sections are written.
    pub(crate) fn all_notes(&self) -> Vec<&Note> {
        self.notes
            .iter()
            .chain(self.sections.iter().flat_map(|s| s.notes.iter()))
            .collect()
    }

    /// The TOML text.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.header {
            push_comment(&mut out, line);
        }
        if !self.notes.is_empty() {
            out.push_str("#\n# Left out (no equivalent in Gleaner):\n");
            for n in &self.notes {
                push_comment(
                    &mut out,
                    &format!("  {}: {} ({})", n.origin, n.option, n.reason),
                );
            }
        }
        for s in &self.sections {
            out.push('\n');
            push_comment(&mut out, &format!("from {}", s.origin));
            if s.single {
                out.push_str(&format!("[{}]\n", s.path));
            } else {
                out.push_str(&format!("[[{}]]\n", s.path));
            }
            for (k, v) in &s.keys {
                out.push_str(&format!("{} = {}\n", key(k), value(v)));
            }
            for n in &s.notes {
                push_comment(
                    &mut out,
                    &format!("not mapped: {} ({})", n.option, n.reason),
                );
            }
        }
        out
    }
}

fn push_comment(out: &mut String, text: &str) {
    for line in text.lines() {
        out.push('#');
        if !line.is_empty() {
            out.push(' ');
            out.push_str(line);
        }
        out.push('\n');
    }
    if text.is_empty() {
        out.push_str("#\n");
    }
}

/// A key, quoted unless it is bare.
fn key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        k.to_owned()
    } else {
        Value::String(k.to_owned()).to_string()
    }
}

/// A value on one line (tables inline).
fn value(v: &Value) -> String {
    match v {
        Value::Table(t) => {
            let items: Vec<String> = t
                .iter()
                .map(|(k, v)| format!("{} = {}", key(k), value(v)))
                .collect();
            if items.is_empty() {
                "{}".to_owned()
            } else {
                format!("{{ {} }}", items.join(", "))
            }
        }
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(value).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}
