//! Path globs for `paths` and `exclude_paths`: `*` and `?` within one path component,
//! `[abc]`, `[a-z]`, `[!x]` classes, and `**` as a whole component for any number of
//! directories. A glob is compiled once into per-component segments, so discovery can walk
//! the directories it implies and watch exactly those.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// A glob that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum GlobError {
    /// `paths` must be absolute, so the agent's working directory does not matter.
    #[error("{0:?} is not an absolute path")]
    NotAbsolute(String),
    /// A `[` without its `]`.
    #[error("unclosed `[` in {0:?}")]
    UnclosedClass(String),
    /// `**` mixed with other characters in one component.
    #[error("`**` must be a whole path component in {0:?}")]
    BadDoubleStar(String),
}

/// One element of a name pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    Byte(u8),
    Star,
    Question,
    Class {
        negated: bool,
        ranges: Vec<(u8, u8)>,
    },
}

/// One path component of a glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Matches exactly this name.
    Literal(Vec<u8>),
    /// A name pattern.
    Pattern(Vec<Token>),
    /// `**`: zero or more directories.
    AnyDirs,
}

impl Segment {
    /// True when `name` matches this (non-`**`) segment.
    pub(crate) fn matches(&self, name: &[u8]) -> bool {
        match self {
            Segment::Literal(l) => l == name,
            Segment::Pattern(t) => match_tokens(t, name),
            Segment::AnyDirs => true,
        }
    }
}

/// A compiled glob.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    text: String,
    root: PathBuf,
    /// Segments after the root.
    segments: Vec<Segment>,
    /// Whole-path matching for patterns without `/` (file name only).
    name_only: bool,
}

impl Glob {
    /// Compiles an absolute glob (`paths`).
    pub(crate) fn absolute(text: &str) -> Result<Glob, GlobError> {
        if !text.starts_with('/') {
            return Err(GlobError::NotAbsolute(text.to_owned()));
        }
        Self::compile(text, false)
    }

    /// Compiles an `exclude_paths` entry: absolute, or a bare file-name pattern (`*.gz`).
    pub(crate) fn exclude(text: &str) -> Result<Glob, GlobError> {
        if text.contains('/') {
            Self::absolute(text)
        } else {
            Self::compile(text, true)
        }
    }

    fn compile(text: &str, name_only: bool) -> Result<Glob, GlobError> {
        let mut root = PathBuf::from("/");
        let mut segments = Vec::new();
        let comps: Vec<&str> = text.split('/').filter(|c| !c.is_empty()).collect();
        for c in comps {
            let seg = compile_segment(c, text)?;
            match seg {
                Segment::Literal(l) if segments.is_empty() && !name_only => {
                    root.push(OsStr::from_bytes(&l));
                }
                s => segments.push(s),
            }
        }
        if segments.is_empty() && !name_only {
            // A literal path: its last component is the file.
            let file = root
                .file_name()
                .map(|f| f.as_bytes().to_vec())
                .unwrap_or_default();
            root.pop();
            segments.push(Segment::Literal(file));
        }
        Ok(Glob {
            text: text.to_owned(),
            root,
            segments,
            name_only,
        })
    }

    /// The glob as written.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The directory where walking starts (its leading literal components).
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Segments below the root; the last one names files.
    pub(crate) fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// True when `path` matches.
    pub(crate) fn matches(&self, path: &Path) -> bool {
        if self.name_only {
            let Some(name) = path.file_name() else {
                return false;
            };
            return self
                .segments
                .first()
                .is_some_and(|s| s.matches(name.as_bytes()));
        }
        let Ok(rest) = path.strip_prefix(&self.root) else {
            return false;
        };
        let names: Vec<&[u8]> = rest
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.as_bytes()),
                _ => None,
            })
            .collect();
        match_segments(&self.segments, &names)
    }
}

fn match_segments(segs: &[Segment], names: &[&[u8]]) -> bool {
    match segs.split_first() {
        None => names.is_empty(),
        Some((Segment::AnyDirs, rest)) => {
            (0..=names.len()).any(|skip| match_segments(rest, &names[skip..]))
        }
        Some((s, rest)) => names
            .split_first()
            .is_some_and(|(n, more)| s.matches(n) && match_segments(rest, more)),
    }
}

fn compile_segment(c: &str, whole: &str) -> Result<Segment, GlobError> {
    if c == "**" {
        return Ok(Segment::AnyDirs);
    }
    if c.contains("**") {
        return Err(GlobError::BadDoubleStar(whole.to_owned()));
    }
    let b = c.as_bytes();
    let mut tokens = Vec::new();
    let mut literal = true;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'*' => {
                literal = false;
                tokens.push(Token::Star);
            }
            b'?' => {
                literal = false;
                tokens.push(Token::Question);
            }
            b'[' => {
                literal = false;
                let mut j = i + 1;
                let negated = matches!(b.get(j), Some(b'!' | b'^'));
                if negated {
                    j += 1;
                }
                let mut ranges = Vec::new();
                let mut first = true;
                loop {
                    let Some(&ch) = b.get(j) else {
                        return Err(GlobError::UnclosedClass(whole.to_owned()));
                    };
                    if ch == b']' && !first {
                        break;
                    }
                    first = false;
                    if b.get(j + 1) == Some(&b'-') && b.get(j + 2).is_some_and(|&e| e != b']') {
                        ranges.push((ch, b[j + 2]));
                        j += 3;
                    } else {
                        ranges.push((ch, ch));
                        j += 1;
                    }
                }
                tokens.push(Token::Class { negated, ranges });
                i = j;
            }
            b'\\' if i + 1 < b.len() => {
                i += 1;
                tokens.push(Token::Byte(b[i]));
            }
            other => tokens.push(Token::Byte(other)),
        }
        i += 1;
    }
    if literal {
        Ok(Segment::Literal(b.to_vec()))
    } else {
        Ok(Segment::Pattern(tokens))
    }
}

/// Matches `name` against tokens; `*` backtracks to the last star only (linear in practice).
fn match_tokens(tokens: &[Token], name: &[u8]) -> bool {
    let (mut t, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let ok = match tokens.get(t) {
            Some(Token::Byte(b)) => *b == name[n],
            Some(Token::Question) => true,
            Some(Token::Class { negated, ranges }) => {
                ranges
                    .iter()
                    .any(|&(lo, hi)| lo <= name[n] && name[n] <= hi)
                    != *negated
            }
            Some(Token::Star) => {
                star = Some((t, n));
                t += 1;
                continue;
            }
            None => false,
        };
        if ok {
            t += 1;
            n += 1;
        } else if let Some((st, sn)) = star {
            t = st + 1;
            n = sn + 1;
            star = Some((st, sn + 1));
        } else {
            return false;
        }
    }
    tokens[t..].iter().all(|tok| *tok == Token::Star)
}

#[cfg(test)]
mod tests;
