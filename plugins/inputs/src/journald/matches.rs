//! Journal match expressions, in journalctl's syntax: a list of `FIELD=value` terms and `+`
//! separators. Terms between two `+` form a group; within a group, terms on the same field
//! are alternatives (OR) and terms on different fields must all hold (AND); an entry matches
//! when any group does. `include_matches` (with `units` merged in) is handed to journalctl
//! as it is, so the journal's own indexes filter; `exclude_matches` is evaluated here on each
//! entry (journalctl has no negation).

use super::export::Entry;

/// One `FIELD=value` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Term {
    /// The field name (`_SYSTEMD_UNIT`).
    pub(crate) field: String,
    /// The exact value.
    pub(crate) value: String,
}

/// A parsed expression: groups of terms (an empty list matches nothing and is never built).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Matches {
    groups: Vec<Vec<Term>>,
}

/// True for a journal field name: `A-Z`, `0-9` and `_`, not starting with a digit, at most
/// 64 bytes (journald refuses others).
pub(crate) fn valid_field_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

impl Matches {
    /// Parses `terms`; the error names the bad term.
    pub(crate) fn parse(terms: &[String]) -> Result<Matches, String> {
        let mut groups = vec![Vec::new()];
        for t in terms {
            if t == "+" {
                groups.push(Vec::new());
                continue;
            }
            let Some((field, value)) = t.split_once('=') else {
                return Err(format!("{t:?} is not FIELD=value or \"+\""));
            };
            if !valid_field_name(field) {
                return Err(format!(
                    "{field:?} in {t:?} is not a journal field name (A-Z, 0-9, _)"
                ));
            }
            if let Some(g) = groups.last_mut() {
                g.push(Term {
                    field: field.to_owned(),
                    value: value.to_owned(),
                });
            }
        }
        if groups.iter().any(Vec::is_empty) && !terms.is_empty() {
            return Err("a \"+\" must stand between two groups of FIELD=value terms".to_owned());
        }
        groups.retain(|g| !g.is_empty());
        Ok(Matches { groups })
    }

    /// True when there is no term (everything passes `include`, nothing is excluded).
    pub(crate) fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Adds `_SYSTEMD_UNIT=<unit>` alternatives to every group (or makes the only group).
    pub(crate) fn and_units(&mut self, units: &[String]) {
        if units.is_empty() {
            return;
        }
        if self.groups.is_empty() {
            self.groups.push(Vec::new());
        }
        for g in &mut self.groups {
            for u in units {
                g.push(Term {
                    field: "_SYSTEMD_UNIT".to_owned(),
                    value: u.clone(),
                });
            }
        }
    }

    /// The journalctl arguments: the terms, `+` between groups.
    pub(crate) fn args(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (i, g) in self.groups.iter().enumerate() {
            if i > 0 {
                out.push("+".to_owned());
            }
            out.extend(g.iter().map(|t| format!("{}={}", t.field, t.value)));
        }
        out
    }

    /// Every field name the expression reads.
    pub(crate) fn fields(&self) -> impl Iterator<Item = &str> {
        self.groups.iter().flatten().map(|t| t.field.as_str())
    }

    /// True when `entry` matches (journal semantics, see the module doc).
    pub(crate) fn matches(&self, entry: &Entry<'_>) -> bool {
        self.groups.iter().any(|g| {
            g.iter().all(|t| {
                // This term's field must equal one of the group's values for that field.
                g.iter().filter(|o| o.field == t.field).any(|o| {
                    entry
                        .fields()
                        .any(|(n, v)| n == o.field.as_bytes() && v == o.value.as_bytes())
                })
            })
        })
    }
}

/// journalctl's unit name mangling for plain names: `kubelet` means `kubelet.service`.
pub(crate) fn unit_name(u: &str) -> String {
    if u.contains('.') {
        u.to_owned()
    } else {
        format!("{u}.service")
    }
}

#[cfg(test)]
mod tests {
    use super::super::export::{Next, Parser};
    use super::*;

    fn m(terms: &[&str]) -> Result<Matches, String> {
        Matches::parse(&terms.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    fn check(expr: &Matches, entry: &[u8]) -> bool {
        let mut p = Parser::new(1 << 16);
        p.feed(entry);
        match p.next() {
            Next::Entry(e) => expr.matches(&e),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn groups_fields_and_alternatives_follow_journalctl() {
        let e = b"_SYSTEMD_UNIT=kubelet.service\nPRIORITY=3\n\n";
        let x = m(&[
            "_SYSTEMD_UNIT=kubelet.service",
            "_SYSTEMD_UNIT=containerd.service",
        ])
        .unwrap();
        assert!(check(&x, e));
        let x = m(&["_SYSTEMD_UNIT=kubelet.service", "PRIORITY=6"]).unwrap();
        assert!(!check(&x, e), "different fields: AND");
        let x = m(&["_SYSTEMD_UNIT=other.service", "+", "PRIORITY=3"]).unwrap();
        assert!(check(&x, e), "groups: OR");
        assert_eq!(
            x.args(),
            vec!["_SYSTEMD_UNIT=other.service", "+", "PRIORITY=3"]
        );
    }

    #[test]
    fn units_are_anded_into_every_group() {
        let mut x = m(&["PRIORITY=3", "+", "PRIORITY=4"]).unwrap();
        x.and_units(&[unit_name("kubelet")]);
        assert_eq!(
            x.args(),
            vec![
                "PRIORITY=3",
                "_SYSTEMD_UNIT=kubelet.service",
                "+",
                "PRIORITY=4",
                "_SYSTEMD_UNIT=kubelet.service"
            ]
        );
        let mut y = Matches::default();
        y.and_units(&["a.service".to_owned()]);
        assert_eq!(y.args(), vec!["_SYSTEMD_UNIT=a.service"]);
    }

    #[test]
    fn bad_terms_are_named() {
        assert!(m(&["unit=x"]).unwrap_err().contains("\"unit\""));
        assert!(m(&["NOEQUALS"]).unwrap_err().contains("FIELD=value"));
        assert!(m(&["+", "A=1"]).is_err());
        assert!(m(&["A=1", "+"]).is_err());
        assert!(m(&[]).unwrap().is_empty());
        assert!(m(&["A=1=2"]).is_ok(), "a value may hold '='");
    }
}
