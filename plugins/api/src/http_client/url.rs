//! Configured URLs: checked once at build ([`parse_url`]), joined with a path
//! ([`join_path`], [`with_path`]) and shown in logs and errors without credentials
//! ([`display_url`], [`redact_url`]).
//!
//! Credentials in a URL (`http://user:pass@host/`) are refused rather than used: a URL is
//! written in log lines, error messages and (for a scrape target) the `instance` label, so a
//! password in it would leak wherever the URL goes. Every plugin has its own keys for them
//! (`username` and `password`, a token or a token file). The refusal itself shows the URL with
//! its user information replaced by `***`.

use crate::config::{ConfigError, PluginConfig};

/// A configured URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UrlError {
    /// What is wrong; the URL in it is redacted.
    pub message: String,
    /// How to fix it, when there is more to say.
    pub hint: Option<&'static str>,
}

impl UrlError {
    fn new(message: String) -> Self {
        UrlError {
            message,
            hint: None,
        }
    }

    /// The config error at `key` of `cfg`.
    pub fn at(self, cfg: &PluginConfig, key: &str) -> ConfigError {
        let e = cfg.error_at(key, self.message);
        match self.hint {
            Some(h) => e.with_hint(h),
            None => e,
        }
    }
}

/// Checks a configured URL: absolute, `http` or `https`, a host, no credentials. Returns the
/// parsed URI.
pub fn parse_url(s: &str) -> Result<http::Uri, UrlError> {
    let shown = redact_url(s);
    let uri: http::Uri = s
        .parse()
        .map_err(|e| UrlError::new(format!("invalid url {shown:?}: {e}")))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => {
            return Err(UrlError::new(format!(
                "invalid url {shown:?}: the scheme must be http or https"
            )));
        }
    }
    let Some(authority) = uri.authority() else {
        return Err(UrlError::new(format!("invalid url {shown:?}: no host")));
    };
    // An unencoded `/` in a password (`http://user:pa/ss@host/`) cuts the authority short,
    // leaving `pa` as a port.
    let after_host = authority.as_str().rsplit(']').next().unwrap_or_default();
    if after_host.contains(':') && authority.port_u16().is_none() {
        return Err(UrlError::new(format!(
            "invalid url {shown:?}: the port is not a number"
        )));
    }
    if authority.as_str().contains('@') {
        return Err(UrlError {
            message: format!("credentials in url {shown:?} are not used"),
            hint: Some(
                "remove them from the url and set the plugin's `username` and `password`, or its \
                 token, instead: urls are written in logs",
            ),
        });
    }
    Ok(uri)
}

/// `s` with what may be user information (`user:password@`) replaced by `***@`, for error
/// messages about a URL that may not even parse. Everything between the scheme and the last
/// `@` is hidden: a password may hold `/`, `?` or `#`, so an `@` in a path hides more than
/// needed, never less.
pub fn redact_url(s: &str) -> std::borrow::Cow<'_, str> {
    let start = s.find("://").map_or(0, |i| i + 3);
    match s[start..].rfind('@') {
        Some(at) => format!("{}***{}", &s[..start], &s[start + at..]).into(),
        None => s.into(),
    }
}

/// `scheme://host:port/path` of a URI, for logs: no user information, no query string.
pub fn display_url(uri: &http::Uri) -> String {
    let authority = uri.authority().map_or("", |a| a.as_str());
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    format!(
        "{}://{}{}",
        uri.scheme_str().unwrap_or("http"),
        host_port,
        uri.path()
    )
}

/// `base` with its path replaced by `path` and the query set to `query` (when not empty).
pub fn with_path(base: &http::Uri, path: &str, query: &str) -> http::Uri {
    let pq = if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    };
    let mut parts = base.clone().into_parts();
    parts.path_and_query = pq.parse().ok();
    http::Uri::from_parts(parts).unwrap_or_else(|_| base.clone())
}

/// `base`'s path with `suffix` appended (a base path of `/` counts as empty).
pub fn join_path(base: &http::Uri, suffix: &str) -> String {
    let p = base.path().trim_end_matches('/');
    format!("{p}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_a_url_are_refused_without_showing_them() {
        for url in [
            "http://user:s3cret@influx:8086",
            "https://user:s3cret@splunk:8088/",
            "http://s3cret@h/",
            // Not even a valid URL: still redacted.
            "http://user:s3 cret@h/",
            "http://user:s3/cret@h/",
            "user:s3cret@h:80",
        ] {
            let e = parse_url(url).expect_err(url);
            assert!(!e.message.contains("s3"), "{url}: {}", e.message);
            assert!(!e.message.contains("user"), "{url}: {}", e.message);
        }
        let e = parse_url("http://user:s3cret@influx:8086/x").expect_err("creds");
        assert_eq!(
            e.message,
            "credentials in url \"http://***@influx:8086/x\" are not used"
        );
        assert!(
            e.hint
                .is_some_and(|h| h.contains("`username` and `password`"))
        );
        let cfg = PluginConfig::from_toml_str("outputs.influxdb.0", "url = \"x\"\n").unwrap();
        let located = e.at(&cfg, "url");
        assert_eq!(located.key.as_deref(), Some("outputs.influxdb.0.url"));
        assert!(located.hint.is_some());
    }

    #[test]
    fn hosts_and_ports_are_checked() {
        assert!(parse_url("http://[::1]:8086/").is_ok());
        assert!(parse_url("https://h/").is_ok());
        let e = parse_url("http://h:80x/").expect_err("port");
        assert!(
            e.message.contains("the port is not a number"),
            "{}",
            e.message
        );
    }

    #[test]
    fn urls_are_shown_without_credentials() {
        assert_eq!(redact_url("http://u:p@h:1/x"), "http://***@h:1/x");
        assert_eq!(redact_url("http://h:1/x"), "http://h:1/x");
        assert_eq!(redact_url("u:p@h"), "***@h");
        let uri: http::Uri = "http://u:p@h:1/x?token=t".parse().unwrap();
        assert_eq!(display_url(&uri), "http://h:1/x");
    }
}
