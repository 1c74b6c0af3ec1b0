//! Errors that cross the plugin boundary: [`OutputError`] with the [`OutputErrorKind`] the
//! delivery worker acts on, [`EncodeError`] for pure encoders, and [`PluginError`] for an
//! input or output that had to stop.

use std::time::Duration;

/// What the delivery worker should do with a payload that failed to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputErrorKind {
    /// Try again later with backoff (network errors, 5xx, misconfiguration being fixed).
    Retryable,
    /// Try again after the given delay (429, 503 with `Retry-After`), else with backoff.
    RateLimited {
        /// The server's `Retry-After`, when it gave one.
        retry_after: Option<Duration>,
    },
    /// The payload is too big for the destination: split it and send the halves.
    TooLarge,
    /// Retrying cannot help: drop the payload and count it.
    Permanent,
}

impl OutputErrorKind {
    /// A short label for logs and the `reason` of error counters.
    pub const fn as_str(self) -> &'static str {
        match self {
            OutputErrorKind::Retryable => "retryable",
            OutputErrorKind::RateLimited { .. } => "rate_limited",
            OutputErrorKind::TooLarge => "too_large",
            OutputErrorKind::Permanent => "permanent",
        }
    }
}

/// A failed send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OutputError {
    /// What to do about it.
    pub kind: OutputErrorKind,
    /// What happened, lowercase, naming the destination.
    pub message: String,
}

impl OutputError {
    /// A retryable error.
    pub fn retryable(message: impl Into<String>) -> Self {
        OutputError {
            kind: OutputErrorKind::Retryable,
            message: message.into(),
        }
    }
    /// A permanent error.
    pub fn permanent(message: impl Into<String>) -> Self {
        OutputError {
            kind: OutputErrorKind::Permanent,
            message: message.into(),
        }
    }
    /// A rate-limit answer.
    pub fn rate_limited(retry_after: Option<Duration>, message: impl Into<String>) -> Self {
        OutputError {
            kind: OutputErrorKind::RateLimited { retry_after },
            message: message.into(),
        }
    }
    /// A payload-too-large answer.
    pub fn too_large(message: impl Into<String>) -> Self {
        OutputError {
            kind: OutputErrorKind::TooLarge,
            message: message.into(),
        }
    }
}

/// A batch could not be encoded at all (single bad events are dropped and counted instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode batch: {0}")]
pub struct EncodeError(pub String);

/// An input or output stopped with an error.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PluginError {
    /// What happened.
    pub message: String,
    /// The cause.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl PluginError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        PluginError {
            message: message.into(),
            source: None,
        }
    }

    /// An error with a message and a cause.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        PluginError {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}
