//! The `Authorization` header of an HTTP output, and the checks of the keys that set it.
//!
//! Key names differ per protocol (`token`, `bearer_token`, `username`), so each output reads
//! its own keys and builds an [`Auth`] with the helpers here; the header itself is made in
//! one place, for every request, so a token file that changes is picked up.

use std::path::PathBuf;

use gleaner_api::{ConfigError, OutputError, PluginConfig, Secret};
use http::HeaderValue;
use tracing::error;

use crate::http_client::{self, SecretSource};

/// How requests authenticate.
#[derive(Debug, Clone)]
pub(crate) enum Auth {
    /// No `Authorization` header.
    None,
    /// `Basic base64(user:password)`, made once.
    Basic(HeaderValue),
    /// `<scheme> <secret>`, the secret given inline or read from a file.
    Token {
        /// `Bearer`, `Splunk`, `Token`.
        scheme: &'static str,
        /// What the secret is called in logs and errors (`token`, `bearer token`).
        what: &'static str,
        secret: SecretSource,
    },
}

impl Auth {
    /// Basic auth; `None` (no header) when the text cannot be a header.
    pub(crate) fn basic(username: &str, password: &str) -> Auth {
        http_client::basic_auth(username, password).map_or(Auth::None, Auth::Basic)
    }

    /// The header for the next request; `name` is the output's, for errors. A secret file
    /// that cannot be read, or holds what a header cannot carry, is a retryable error: the
    /// data waits while an operator fixes it.
    pub(crate) async fn header(&mut self, name: &str) -> Result<Option<HeaderValue>, OutputError> {
        match self {
            Auth::None => Ok(None),
            Auth::Basic(v) => Ok(Some(v.clone())),
            Auth::Token {
                scheme,
                what,
                secret,
            } => {
                let token = secret.current().await.map_err(|e| {
                    error!(error = %e, "{name}: cannot read the {what}; data is kept and retried");
                    OutputError::retryable(format!("{name}: {e}"))
                })?;
                http_client::sensitive_header(&format!("{scheme} {}", token.expose()))
                    .map(Some)
                    .ok_or_else(|| {
                        error!("{name}: the {what} holds characters a header cannot carry; data is kept and retried");
                        OutputError::retryable(format!("{name}: invalid {what}"))
                    })
            }
        }
    }
}

/// A secret that goes into a header must be non-empty header text.
fn check_header_text(cfg: &PluginConfig, key: &str, value: &str) -> Result<(), ConfigError> {
    if value.is_empty() || http_client::sensitive_header(value).is_none() {
        return Err(cfg.error_at(
            key,
            format!("`{key}` is empty or holds characters a header cannot carry"),
        ));
    }
    Ok(())
}

/// A token given inline (`inline_key`) or in a file (`file_key`), not both; `None` when
/// neither is given.
pub(crate) fn token_source(
    cfg: &PluginConfig,
    (inline_key, inline): (&str, Option<Secret>),
    (file_key, file): (&str, Option<PathBuf>),
) -> Result<Option<SecretSource>, ConfigError> {
    match (inline, file) {
        (Some(t), None) => {
            check_header_text(cfg, inline_key, t.expose())?;
            Ok(Some(SecretSource::Inline(t)))
        }
        (None, Some(path)) => Ok(Some(SecretSource::file(path))),
        (Some(_), Some(_)) => Err(cfg.error_at(
            file_key,
            format!("give `{inline_key}` or `{file_key}`, not both"),
        )),
        (None, None) => Ok(None),
    }
}

/// The `Authorization` of an output that offers a bearer token (inline or in a file) or basic
/// auth, under the keys `bearer_token`, `bearer_token_file`, `username` and `password`
/// (remote_write, http): at most one of the two, and no password without a user.
pub(crate) fn bearer_or_basic(
    cfg: &PluginConfig,
    bearer_token: Option<Secret>,
    bearer_token_file: Option<PathBuf>,
    username: Option<String>,
    password: Option<Secret>,
) -> Result<Auth, ConfigError> {
    let bearer = token_source(
        cfg,
        ("bearer_token", bearer_token),
        ("bearer_token_file", bearer_token_file),
    )?;
    match (bearer, username) {
        (Some(_), Some(_)) => Err(cfg.error_at(
            "username",
            "basic auth and a bearer token exclude each other",
        )),
        (Some(secret), None) => Ok(Auth::Token {
            scheme: "Bearer",
            what: "bearer token",
            secret,
        }),
        (None, Some(username)) => Ok(Auth::basic(
            &username,
            password.as_ref().map_or("", |p| p.expose()),
        )),
        (None, None) if password.is_some() => {
            Err(cfg.error_at("password", "`password` needs `username`"))
        }
        (None, None) => Ok(Auth::None),
    }
}
