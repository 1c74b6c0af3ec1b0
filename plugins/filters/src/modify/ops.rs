//! The edits of `filters.modify`, applied in order to an attribute list (a record's own
//! list, or a copy of a shared one made once per file) or to a metric's tags and fields.

use gleaner_api::event::Attribute;
use gleaner_api::{FieldValue, Key, Metric};

use crate::template::Template;

/// A target type of `convert` (Telegraf's converter names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Type {
    /// Text.
    String,
    /// i64.
    Integer,
    /// u64.
    Unsigned,
    /// f64.
    Float,
    /// Bool.
    Boolean,
}

/// Letter case and whitespace edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    Lower,
    Upper,
    Trim,
}

/// One edit.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Rename {
        from: Key,
        to: Key,
    },
    Copy {
        from: Key,
        to: Key,
    },
    Set {
        key: Key,
        value: Template,
        only_absent: bool,
    },
    Convert {
        key: Key,
        to: Type,
    },
    Case {
        key: Key,
        how: Case,
    },
    Remove {
        key: Key,
    },
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Outcome {
    pub(crate) changed: bool,
    pub(crate) convert_failed: u64,
}

/// `v` as `to`; `None` when it does not convert.
pub(crate) fn convert(v: &FieldValue, to: Type) -> Option<FieldValue> {
    use FieldValue as V;
    let parse_bool = |s: &str| match s.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    };
    Some(match (to, v) {
        (Type::String, V::String(_)) => v.clone(),
        (Type::String, other) => V::String(other.to_string().into()),
        (Type::Integer, V::Int(i)) => V::Int(*i),
        (Type::Integer, V::UInt(u)) => V::Int(i64::try_from(*u).ok()?),
        (Type::Integer, V::Float(f)) => {
            V::Int(float_to(*f, i64::MIN as f64, i64::MAX as f64)? as i64)
        }
        (Type::Integer, V::Bool(b)) => V::Int(i64::from(*b)),
        (Type::Integer, V::String(s)) => match s.trim().parse::<i64>() {
            Ok(i) => V::Int(i),
            Err(_) => return convert(&V::Float(s.trim().parse().ok()?), to),
        },
        (Type::Unsigned, V::Int(i)) => V::UInt(u64::try_from(*i).ok()?),
        (Type::Unsigned, V::UInt(u)) => V::UInt(*u),
        (Type::Unsigned, V::Float(f)) => V::UInt(float_to(*f, 0.0, u64::MAX as f64)? as u64),
        (Type::Unsigned, V::Bool(b)) => V::UInt(u64::from(*b)),
        (Type::Unsigned, V::String(s)) => match s.trim().parse::<u64>() {
            Ok(u) => V::UInt(u),
            Err(_) => return convert(&V::Float(s.trim().parse().ok()?), to),
        },
        (Type::Float, V::Int(i)) => V::Float(*i as f64),
        (Type::Float, V::UInt(u)) => V::Float(*u as f64),
        (Type::Float, V::Float(f)) => V::Float(*f),
        (Type::Float, V::Bool(b)) => V::Float(f64::from(u8::from(*b))),
        (Type::Float, V::String(s)) => V::Float(s.trim().parse().ok()?),
        (Type::Boolean, V::Bool(b)) => V::Bool(*b),
        (Type::Boolean, V::Int(i)) => V::Bool(*i != 0),
        (Type::Boolean, V::UInt(u)) => V::Bool(*u != 0),
        (Type::Boolean, V::Float(f)) => V::Bool(*f != 0.0),
        (Type::Boolean, V::String(s)) => V::Bool(parse_bool(s)?),
    })
}

/// A float truncated toward zero, when it is finite and within `lo..=hi`.
fn float_to(f: f64, lo: f64, hi: f64) -> Option<f64> {
    (f.is_finite() && f >= lo && f <= hi).then(|| f.trunc())
}

fn case(s: &str, how: Case) -> String {
    match how {
        Case::Lower => s.to_lowercase(),
        Case::Upper => s.to_uppercase(),
        Case::Trim => s.trim().to_owned(),
    }
}

type List = Vec<Attribute>;

fn find(list: &List, key: &str) -> Option<usize> {
    list.iter().position(|(k, _)| k == key)
}

/// Applies `ops` to an attribute list.
pub(crate) fn apply_list(ops: &[Op], list: &mut List, text: &mut (String, String)) -> Outcome {
    let mut o = Outcome::default();
    for op in ops {
        match op {
            Op::Rename { from, to } => {
                if from == to {
                    continue;
                }
                // One pass: the first `from`, and whether a `to` is there to be replaced.
                // Without one (the usual case) the rename is a swap of the key.
                let (mut at, mut has_to) = (None, false);
                for (i, (k, _)) in list.iter().enumerate() {
                    if k == to {
                        has_to = true;
                    } else if at.is_none() && k == from {
                        at = Some(i);
                    }
                }
                let Some(mut i) = at else { continue };
                if has_to {
                    list.retain(|(k, _)| k != to);
                    match find(list, from) {
                        Some(j) => i = j,
                        None => continue,
                    }
                }
                list[i].0 = to.clone();
                o.changed = true;
            }
            Op::Copy { from, to } => {
                if let Some(i) = find(list, from) {
                    let v = list[i].1.clone();
                    match find(list, to) {
                        Some(j) => list[j].1 = v,
                        None => list.push((to.clone(), v)),
                    }
                    o.changed = true;
                }
            }
            Op::Set {
                key,
                value,
                only_absent,
            } => {
                let at = find(list, key);
                if at.is_some() && *only_absent {
                    continue;
                }
                let rendered = match value.as_literal() {
                    Some(l) => l.to_owned(),
                    None => {
                        value.render_list(list, &mut text.0, &mut text.1);
                        text.0.clone()
                    }
                };
                let v = FieldValue::String(rendered.into());
                match at {
                    Some(i) => list[i].1 = v,
                    None => list.push((key.clone(), v)),
                }
                o.changed = true;
            }
            Op::Convert { key, to } => {
                if let Some(i) = find(list, key) {
                    match convert(&list[i].1, *to) {
                        Some(v) => {
                            list[i].1 = v;
                            o.changed = true;
                        }
                        None => o.convert_failed += 1,
                    }
                }
            }
            Op::Case { key, how } => {
                if let Some(i) = find(list, key)
                    && let FieldValue::String(s) = &list[i].1
                {
                    list[i].1 = FieldValue::String(case(s, *how).into());
                    o.changed = true;
                }
            }
            Op::Remove { key } => {
                let before = list.len();
                list.retain(|(k, _)| k != key);
                o.changed |= list.len() != before;
            }
        }
    }
    o
}

fn field_index(m: &Metric, key: &str) -> Option<usize> {
    m.fields.iter().position(|(k, _)| k == key)
}

fn remove_tag(m: &mut Metric, key: &str) -> Option<String> {
    m.tags.remove(key)
}

/// Applies `ops` to a metric: a name is a tag, else a field; `set`/`add` write tags.
pub(crate) fn apply_metric(ops: &[Op], m: &mut Metric, text: &mut (String, String)) -> Outcome {
    let mut o = Outcome::default();
    for op in ops {
        match op {
            Op::Rename { from, to } => {
                if let Some(v) = remove_tag(m, from) {
                    m.insert_tag(to.to_string_owned(), v);
                } else if from != to && field_index(m, from).is_some() {
                    m.fields.retain(|(k, _)| k != to);
                    if let Some(i) = field_index(m, from) {
                        to.as_str().clone_into(&mut m.fields[i].0);
                    }
                }
            }
            Op::Copy { from, to } => {
                if let Some(v) = m.tag(from).map(str::to_owned) {
                    m.insert_tag(to.to_string_owned(), v);
                } else if let Some(v) = m.field(from).cloned() {
                    match field_index(m, to) {
                        Some(j) => m.fields[j].1 = v,
                        None => m.fields.push((to.to_string_owned(), v)),
                    }
                }
            }
            Op::Set {
                key,
                value,
                only_absent,
            } => {
                if *only_absent && m.tag(key).is_some() {
                    continue;
                }
                value.render_metric(m, &mut text.0, &mut text.1);
                if !text.0.is_empty() {
                    m.insert_tag(key.to_string_owned(), text.0.clone());
                }
            }
            Op::Convert { key, to } => {
                if let Some(i) = field_index(m, key) {
                    match convert(&m.fields[i].1, *to) {
                        Some(v) => m.fields[i].1 = v,
                        None => o.convert_failed += 1,
                    }
                } else if let Some(t) = m.tag(key) {
                    // Telegraf's converter: a converted tag becomes a field.
                    match convert(&FieldValue::String(t.into()), *to) {
                        Some(v) => {
                            remove_tag(m, key);
                            m.fields.push((key.to_string_owned(), v));
                        }
                        None => o.convert_failed += 1,
                    }
                }
            }
            Op::Case { key, how } => {
                if let Some(t) = m.tag(key) {
                    let v = case(t, *how);
                    m.insert_tag(key.to_string_owned(), v);
                } else if let Some(i) = field_index(m, key)
                    && let FieldValue::String(s) = &m.fields[i].1
                {
                    m.fields[i].1 = FieldValue::String(case(s, *how).into());
                }
            }
            Op::Remove { key } => {
                if remove_tag(m, key).is_none() {
                    m.fields.retain(|(k, _)| k != key);
                }
            }
        }
    }
    o
}
