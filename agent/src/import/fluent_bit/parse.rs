//! Reads Fluent Bit's classic config format: `[SECTION]` headers, indented `Key Value` entries
//! (keys case-insensitive, repeatable), `#` comments, `@SET name=value` variables used as
//! `${name}`, and `@INCLUDE path` (relative to the including file; `*` in the file name).
//! Environment variables (`${HOME}`) are left as written: Gleaner substitutes them the same way.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::import::ImportError;

/// Includes nested deeper than this are refused (a file that includes itself).
const MAX_INCLUDE_DEPTH: usize = 8;

/// One `Key Value` line.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Lowercased.
    pub(crate) key: String,
    /// As written.
    pub(crate) raw_key: String,
    pub(crate) value: String,
    /// `file:line`.
    pub(crate) at: String,
}

/// One `[SECTION]` and its entries.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    /// Uppercased: SERVICE, INPUT, FILTER, OUTPUT, PARSER, MULTILINE_PARSER, ...
    pub(crate) kind: String,
    pub(crate) at: String,
    pub(crate) entries: Vec<Entry>,
}

impl Block {
    /// The last value of `key` (lowercase).
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.key == key)
            .map(|e| e.value.as_str())
    }

    /// The plugin name, lowercased.
    pub(crate) fn name(&self) -> String {
        self.get("name").unwrap_or("").trim().to_ascii_lowercase()
    }
}

/// Reads `text` (the file at `path`) and every file it includes.
pub(crate) fn read(text: &str, path: &Path) -> Result<Vec<Block>, ImportError> {
    let mut reader = Reader {
        vars: HashMap::new(),
        blocks: Vec::new(),
    };
    reader.file(text, path, 0)?;
    Ok(reader.blocks)
}

struct Reader {
    vars: HashMap<String, String>,
    blocks: Vec<Block>,
}

impl Reader {
    fn file(&mut self, text: &str, path: &Path, depth: usize) -> Result<(), ImportError> {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let error = |line: usize, message: String| ImportError::Parse {
            path: path.to_owned(),
            message: format!("line {line}: {message}"),
        };
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let at = format!("{name}:{line_no}");
            let line = raw.trim_end_matches('\r');
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if let Some(rest) = strip_prefix_ci(trimmed, "@include") {
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(error(
                        line_no,
                        format!("includes nested more than {MAX_INCLUDE_DEPTH} deep"),
                    ));
                }
                for included in include_paths(path, &self.substitute(rest.trim())) {
                    let text =
                        std::fs::read_to_string(&included).map_err(|source| ImportError::Read {
                            path: included.clone(),
                            source,
                        })?;
                    self.file(&text, &included, depth + 1)?;
                }
                continue;
            }
            if let Some(rest) = strip_prefix_ci(trimmed, "@set") {
                let Some((k, v)) = rest.trim().split_once('=') else {
                    return Err(error(line_no, "@SET needs name=value".to_owned()));
                };
                let v = self.substitute(v.trim());
                self.vars.insert(k.trim().to_owned(), v);
                continue;
            }
            if trimmed.starts_with('[') {
                let Some(kind) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else {
                    return Err(error(
                        line_no,
                        format!("a section header must be [NAME], found {trimmed:?}"),
                    ));
                };
                self.blocks.push(Block {
                    kind: kind.trim().to_ascii_uppercase(),
                    at,
                    entries: Vec::new(),
                });
                continue;
            }
            let Some(block) = self.blocks.last_mut() else {
                return Err(error(
                    line_no,
                    format!("{trimmed:?} is outside any [SECTION]"),
                ));
            };
            let (key, value) = match trimmed.split_once(char::is_whitespace) {
                Some((k, v)) => (k, v.trim()),
                None => (trimmed, ""),
            };
            let value = substitute(&self.vars, value);
            block.entries.push(Entry {
                key: key.to_ascii_lowercase(),
                raw_key: key.to_owned(),
                value,
                at,
            });
        }
        Ok(())
    }

    fn substitute(&self, s: &str) -> String {
        substitute(&self.vars, s)
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    let rest = &s[prefix.len()..];
    (head.eq_ignore_ascii_case(prefix) && rest.starts_with(char::is_whitespace)).then_some(rest)
}

/// `${name}` replaced by an `@SET` variable; other `${...}` kept.
fn substitute(vars: &HashMap<String, String>, s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match vars.get(name) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&rest[start..start + 3 + end]),
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The files an `@INCLUDE` names: relative to the including file's directory; a `*` in the
/// file name matches any run of characters (in name order).
fn include_paths(from: &Path, pattern: &str) -> Vec<PathBuf> {
    let base = from.parent().unwrap_or(Path::new("."));
    let full = base.join(pattern);
    let Some(file) = full.file_name().map(|f| f.to_string_lossy().into_owned()) else {
        return vec![full];
    };
    if !file.contains('*') {
        return vec![full];
    }
    let dir = full.parent().unwrap_or(base).to_owned();
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| wildcard(&file, &e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// Fluent Bit's tag matching: `*` matches any run of characters, everything else itself.
pub(crate) fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}
