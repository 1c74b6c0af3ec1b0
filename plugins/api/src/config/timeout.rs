//! The request timeout of an input that gathers every `interval`, by Prometheus's rule for
//! `scrape_timeout`: a timeout the user wrote must be above zero and not longer than the
//! interval (a config error otherwise); one the user did not write is the plugin's default,
//! clamped to the interval, so a short `interval` alone never makes a config invalid.

use std::time::Duration;

use super::{ConfigError, PluginConfig};
use crate::config_types::Duration as ConfigDuration;

impl PluginConfig {
    /// The effective timeout at `key`: `explicit` checked against `interval`, else `default`
    /// clamped to `interval`.
    pub fn gather_timeout(
        &self,
        key: &str,
        explicit: Option<ConfigDuration>,
        default: Duration,
        interval: Duration,
    ) -> Result<Duration, ConfigError> {
        let Some(t) = explicit else {
            return Ok(default.min(interval));
        };
        if t.get().is_zero() || t.get() > interval {
            return Err(self
                .error_at(
                    key,
                    format!(
                        "{key} ({t}) must be greater than zero and not longer than the interval ({})",
                        ConfigDuration(interval)
                    ),
                )
                .with_hint(format!(
                    "lower {key}, or raise this input's interval; left unset, {key} is {} or the interval when shorter",
                    ConfigDuration(default)
                )));
        }
        Ok(t.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn an_unset_timeout_is_clamped_to_the_interval() {
        let cfg = PluginConfig::from_toml_str("inputs.kubelet.0", "").unwrap();
        assert_eq!(
            cfg.gather_timeout("timeout", None, secs(5), secs(1)),
            Ok(secs(1))
        );
        assert_eq!(
            cfg.gather_timeout("timeout", None, secs(5), secs(60)),
            Ok(secs(5))
        );
    }

    #[test]
    fn an_explicit_timeout_may_equal_but_not_exceed_the_interval() {
        let text = "timeout = \"2s\"\n";
        let cfg = PluginConfig::from_toml_str("inputs.kubelet.0", text).unwrap();
        let two = Some(ConfigDuration(secs(2)));
        assert_eq!(
            cfg.gather_timeout("timeout", two, secs(5), secs(2)),
            Ok(secs(2))
        );
        let e = cfg
            .gather_timeout("timeout", two, secs(5), secs(1))
            .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("inputs.kubelet.0.timeout"));
        assert_eq!(
            e.message,
            "timeout (2s) must be greater than zero and not longer than the interval (1s)"
        );
        assert_eq!(&text[e.span.unwrap()], "\"2s\"");
        let zero = Some(ConfigDuration(secs(0)));
        assert!(
            cfg.gather_timeout("timeout", zero, secs(5), secs(2))
                .is_err()
        );
    }
}
