//! STUB: SourceFile, LocatedError, ConfigErrors.

use std::path::PathBuf;

use gleaner_api::ConfigError;

/// A config file's path and text.
#[derive(Debug)]
pub struct SourceFile {
    /// Path as given.
    pub path: PathBuf,
    /// Its text.
    pub text: std::sync::Arc<str>,
}

/// A config error with its file, line and column resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedError {
    /// File path.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// The error.
    pub error: ConfigError,
}

impl SourceFile {
    /// Resolves an error's span in this file.
    pub fn locate(&self, error: ConfigError) -> LocatedError {
        LocatedError { path: self.path.clone(), line: 0, column: 0, error }
    }
}

impl std::fmt::Display for LocatedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: {}", self.path.display(), self.line, self.column, self.error)
    }
}

/// One or more config errors (`gleaner check` prints them all).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors(pub Vec<LocatedError>);
