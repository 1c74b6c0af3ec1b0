//! Where config errors are: [`SourceFile`] (a config file's path and text), [`LocatedError`]
//! (a [`ConfigError`] with its byte span turned into a 1-based line and column) and
//! [`ConfigErrors`] (every error `load` found, printed one per line by `gleaner check`).
//!
//! Columns count characters, not bytes, so a key after a multi-byte string is reported where an
//! editor shows it. An error without a span is printed as `path: key: message (hint)`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gleaner_api::ConfigError;

/// A config file's path and text.
pub struct SourceFile {
    /// Path as given (for a directory: the directory joined with the file name).
    pub path: PathBuf,
    /// Its text.
    pub text: Arc<str>,
}

impl SourceFile {
    /// Reads a config file; the error (one [`LocatedError`], without a line) names the file.
    pub fn read(path: &Path) -> Result<SourceFile, ConfigErrors> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(SourceFile {
                path: path.to_owned(),
                text: Arc::from(text),
            }),
            Err(e) => Err(LocatedError::unlocated(
                path,
                ConfigError::new(format!("cannot read config file: {e}")),
            )
            .into()),
        }
    }

    /// Resolves an error's span in this file to a line and column (both 0 when the error has
    /// no span).
    pub fn locate(&self, error: ConfigError) -> LocatedError {
        let (line, column) = match &error.span {
            Some(span) => line_col(&self.text, span.start),
            None => (0, 0),
        };
        LocatedError {
            path: self.path.clone(),
            line,
            column,
            error,
        }
    }
}

impl fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceFile")
            .field("path", &self.path)
            .field("bytes", &self.text.len())
            .finish_non_exhaustive()
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`. An offset past the
/// end, or inside a character, is moved back to the nearest character boundary.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// A config error with its file, line and column resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedError {
    /// File path.
    pub path: PathBuf,
    /// 1-based line; 0 when unknown.
    pub line: usize,
    /// 1-based column (in characters); 0 when unknown.
    pub column: usize,
    /// The error.
    pub error: ConfigError,
}

impl LocatedError {
    /// An error about a whole file or directory (no line, no column).
    pub fn unlocated(path: &Path, error: ConfigError) -> Self {
        LocatedError {
            path: path.to_owned(),
            line: 0,
            column: 0,
            error,
        }
    }
}

impl fmt::Display for LocatedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.error)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                self.line,
                self.column,
                self.error
            )
        }
    }
}

impl std::error::Error for LocatedError {}

/// One or more config errors (`gleaner check` prints them all, one per line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors(pub Vec<LocatedError>);

impl ConfigErrors {
    /// The errors, in file order, then position order.
    pub fn iter(&self) -> std::slice::Iter<'_, LocatedError> {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a LocatedError;
    type IntoIter = std::slice::Iter<'a, LocatedError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl From<LocatedError> for ConfigErrors {
    fn from(e: LocatedError) -> Self {
        ConfigErrors(vec![e])
    }
}
