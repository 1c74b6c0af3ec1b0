//! Message parsers a pod picks with its `gleaner.io/parser` annotation: `json` (an object:
//! its top-level members) and `logfmt` (`key=value key2="quoted \"value\"" flag`). Parsed
//! members become `log.<key>` attributes: strings, numbers and booleans keep their type,
//! nested objects and arrays are kept as their JSON text, nulls are left out. A message that
//! does not parse is left as it was (and counted by the caller), never dropped.

use gleaner_api::FieldValue;
use serde_json::Value;

/// Attribute prefix of parsed members; outputs treat `log.*` as the parsed message (the
/// Splunk HEC output sends them as the event object).
pub(crate) const PARSED_PREFIX: &str = "log.";

/// A parser named by an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parser {
    /// A JSON object per message.
    Json,
    /// logfmt pairs.
    Logfmt,
}

impl Parser {
    /// The parser an annotation value names.
    pub(crate) fn named(value: &str) -> Option<Parser> {
        match value.trim() {
            "json" => Some(Parser::Json),
            "logfmt" => Some(Parser::Logfmt),
            _ => None,
        }
    }

    /// Parses `body` and appends `log.<key>` attributes; false when it does not parse.
    pub(crate) fn apply(self, body: &[u8], out: &mut Vec<(String, FieldValue)>) -> bool {
        match self {
            Parser::Json => json(body, out),
            Parser::Logfmt => logfmt(body, out),
        }
    }
}

fn attr(key: &str) -> String {
    let mut k = String::with_capacity(PARSED_PREFIX.len() + key.len());
    k.push_str(PARSED_PREFIX);
    k.push_str(key);
    k
}

/// A JSON object's members in the order written (serde_json's own map sorts them).
struct Members(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members, A::Error> {
                let mut v = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(kv) = map.next_entry::<String, Value>()? {
                    v.push(kv);
                }
                Ok(Members(v))
            }
        }
        d.deserialize_map(V)
    }
}

fn json(body: &[u8], out: &mut Vec<(String, FieldValue)>) -> bool {
    let Ok(Members(members)) = serde_json::from_slice::<Members>(trim(body)) else {
        return false;
    };
    for (k, v) in members {
        let value = match v {
            Value::Null => continue,
            Value::Bool(b) => FieldValue::Bool(b),
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => FieldValue::Int(i),
                (None, Some(u), _) => FieldValue::UInt(u),
                (None, None, Some(f)) => FieldValue::Float(f),
                (None, None, None) => FieldValue::String(n.to_string()),
            },
            Value::String(s) => FieldValue::String(s),
            nested @ (Value::Array(_) | Value::Object(_)) => FieldValue::String(nested.to_string()),
        };
        out.push((attr(&k), value));
    }
    true
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    b.get(start..end).unwrap_or_default()
}

fn logfmt(body: &[u8], out: &mut Vec<(String, FieldValue)>) -> bool {
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    let start = out.len();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        if key.is_empty() || key.contains('"') {
            out.truncate(start);
            return false;
        }
        rest = &rest[key_end..];
        let value = if let Some(after) = rest.strip_prefix('=') {
            if let Some(quoted) = after.strip_prefix('"') {
                let Some((v, consumed)) = unquote(quoted) else {
                    out.truncate(start);
                    return false;
                };
                rest = &quoted[consumed..];
                FieldValue::String(v)
            } else {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                let v = &after[..end];
                rest = &after[end..];
                FieldValue::String(v.to_owned())
            }
        } else {
            FieldValue::Bool(true)
        };
        out.push((attr(key), value));
        rest = rest.trim_start();
    }
    out.len() > start
}

/// The text of a quoted value (after its opening quote) and the bytes it took, closing
/// quote included.
fn unquote(s: &str) -> Option<(String, usize)> {
    let mut v = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((v, i + 1)),
            '\\' => match chars.next()?.1 {
                'n' => v.push('\n'),
                't' => v.push('\t'),
                'r' => v.push('\r'),
                other => v.push(other),
            },
            c => v.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(p: Parser, s: &str) -> Option<Vec<(String, FieldValue)>> {
        let mut out = Vec::new();
        p.apply(s.as_bytes(), &mut out).then_some(out)
    }

    #[test]
    fn json_members_keep_their_types() {
        let got = parse(
            Parser::Json,
            r#" {"level":"info","status":200,"ms":1.5,"ok":true,"n":null,"ctx":{"a":[1,2]}} "#,
        )
        .expect("parses");
        assert_eq!(
            got,
            vec![
                ("log.level".into(), FieldValue::String("info".into())),
                ("log.status".into(), FieldValue::Int(200)),
                ("log.ms".into(), FieldValue::Float(1.5)),
                ("log.ok".into(), FieldValue::Bool(true)),
                (
                    "log.ctx".into(),
                    FieldValue::String(r#"{"a":[1,2]}"#.into())
                ),
            ]
        );
        assert!(parse(Parser::Json, "[1,2]").is_none());
        assert!(parse(Parser::Json, "plain text").is_none());
        assert!(parse(Parser::Json, r#"{"cut": "#).is_none());
    }

    #[test]
    fn logfmt_pairs_quotes_and_flags() {
        let got = parse(
            Parser::Logfmt,
            r#"level=warn msg="disk \"sda\" full" path=/var dry_run"#,
        )
        .expect("parses");
        assert_eq!(
            got,
            vec![
                ("log.level".into(), FieldValue::String("warn".into())),
                (
                    "log.msg".into(),
                    FieldValue::String("disk \"sda\" full".into())
                ),
                ("log.path".into(), FieldValue::String("/var".into())),
                ("log.dry_run".into(), FieldValue::Bool(true)),
            ]
        );
        assert!(parse(Parser::Logfmt, r#"msg="never closed"#).is_none());
        assert!(parse(Parser::Logfmt, "").is_none());
        assert!(parse(Parser::Logfmt, "=x").is_none());
    }
}
