//! `{name}` templates: values of `filters.modify`'s `set`/`add` and `filters.throttle`'s
//! `key`, such as `"{k8s.namespace}/{k8s.pod}"`. A reference names an attribute (on a
//! metric: `name` for the measurement, else a tag, else a field); an absent one renders as
//! nothing. `{{` and `}}` are literal braces. Templates are parsed once, at load.

use gleaner_api::{LogRecord, Metric};

use crate::condition::value_text;

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Ref(String),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses `s`; the error says what is wrong.
    pub(crate) fn parse(s: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = s;
        while let Some(i) = rest.find(['{', '}']) {
            text.push_str(&rest[..i]);
            let c = rest.as_bytes()[i];
            let after = &rest[i + 1..];
            if after.as_bytes().first() == Some(&c) {
                text.push(char::from(c));
                rest = &after[1..];
                continue;
            }
            if c == b'}' {
                return Err(format!(
                    "unmatched `}}` in {s:?} (write `}}}}` for a brace)"
                ));
            }
            let Some(end) = after.find('}') else {
                return Err(format!("unclosed `{{` in {s:?} (write `{{{{` for a brace)"));
            };
            let name = &after[..end];
            if name.is_empty() || name.contains('{') {
                return Err(format!("empty or nested reference in {s:?}"));
            }
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(Piece::Ref(name.to_owned()));
            rest = &after[end + 1..];
        }
        text.push_str(rest);
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template { pieces })
    }

    /// The template's text when it references nothing.
    pub(crate) fn as_literal(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [] => Some(""),
            [Piece::Text(t)] => Some(t),
            _ => None,
        }
    }

    /// The names it references.
    pub(crate) fn refs(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Ref(r) => Some(r.as_str()),
            Piece::Text(_) => None,
        })
    }

    fn render(&self, out: &mut String, mut lookup: impl FnMut(&str, &mut String)) {
        out.clear();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Ref(name) => lookup(name, out),
            }
        }
    }

    /// Renders against a record's attributes into `out` (cleared first).
    pub(crate) fn render_log(&self, r: &LogRecord, out: &mut String, scratch: &mut String) {
        self.render(out, |name, out| {
            if let Some(v) = r.attributes.get(name) {
                out.push_str(value_text(v, scratch));
            }
        });
    }

    /// Renders against a metric into `out` (cleared first).
    pub(crate) fn render_metric(&self, m: &Metric, out: &mut String, scratch: &mut String) {
        self.render(out, |name, out| {
            if name == "name" {
                out.push_str(&m.measurement);
            } else if let Some(t) = m.tag(name) {
                out.push_str(t);
            } else if let Some(v) = m.field(name) {
                out.push_str(value_text(v, scratch));
            }
        });
    }

    /// Renders against a plain attribute list (a shared head) into `out`.
    pub(crate) fn render_list(
        &self,
        list: &[gleaner_api::event::Attribute],
        out: &mut String,
        scratch: &mut String,
    ) {
        self.render(out, |name, out| {
            if let Some((_, v)) = list.iter().find(|(k, _)| k == name) {
                out.push_str(value_text(v, scratch));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use gleaner_api::Stream;

    use super::*;
    use gleaner_api::FieldValue;

    #[test]
    fn references_render_and_braces_escape() {
        let t = Template::parse("{k8s.namespace}/{k8s.pod} {{x}} {missing}.").expect("parses");
        let r = LogRecord::new(0, "m", Stream::Stdout)
            .with_attribute("k8s.namespace", FieldValue::String("shop".into()))
            .with_attribute("k8s.pod", FieldValue::Int(7));
        let (mut out, mut scratch) = (String::new(), String::new());
        t.render_log(&r, &mut out, &mut scratch);
        assert_eq!(out, "shop/7 {x} .");
        assert_eq!(
            t.refs().collect::<Vec<_>>(),
            ["k8s.namespace", "k8s.pod", "missing"]
        );
        assert_eq!(
            Template::parse("a{{b").expect("ok").as_literal(),
            Some("a{b")
        );
        let m = Metric::new("cpu", 0).with_tag("host", "h1");
        Template::parse("{name}@{host}")
            .expect("ok")
            .render_metric(&m, &mut out, &mut scratch);
        assert_eq!(out, "cpu@h1");
    }

    #[test]
    fn malformed_templates_are_refused() {
        for bad in ["{a", "a}", "{}", "{a{b}"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }
}
