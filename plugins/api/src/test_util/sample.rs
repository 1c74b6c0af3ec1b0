//! The shared check of a plugin's sample config (what `gleaner sample-config` prints) against
//! the plugin itself. A sample is a `[[<kinds>.<name>]]` header, a few active `key = value`
//! lines, and commented options, `# key = value`, that show each option at its default or,
//! for an option without a default, an example (`# ca_file = "/etc/ssl/ca.pem"`).
//!
//! [`options`] finds the commented options, [`uncomment`] turns some of them on, and
//! [`assert_sample`] checks, for a plugin whose raw config struct a test can see: the sample
//! parses as shipped; with every option uncommented it still parses (every key exists, every
//! value has the right type); and uncommenting any option that claims to show a default
//! changes nothing, so each shown default is the real one. [`assert_sample_with`] does the
//! same through a parse function, for a plugin whose table is read in parts (the HTTP
//! outputs: their own keys, and the shared ones validated apart). The agent's registry test
//! (`agent/src/registry.rs`) also builds every plugin with each option uncommented alone.

use serde::de::DeserializeOwned;

use crate::ConfigError;
use crate::config::{PluginConfig, expand};

/// One commented option of a sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleOption {
    /// Its line (0-based) in the sample.
    pub line: usize,
    /// Its key.
    pub key: String,
}

/// The commented options of `sample`: lines `# key = value` whose text after `# ` is one TOML
/// key-value pair (`## prose` lines and `# [table]` headers are not options).
pub fn options(sample: &str) -> Vec<SampleOption> {
    sample
        .lines()
        .enumerate()
        .filter_map(|(line, l)| {
            let rest = l.strip_prefix("# ").filter(|r| !r.starts_with('['))?;
            let table = toml::de::DeTable::parse(rest).ok()?;
            let mut keys = table.get_ref().keys();
            let key = keys.next()?.get_ref().to_string();
            keys.next().is_none().then_some(SampleOption { line, key })
        })
        .collect()
}

/// The table text of `sample` (its `[[...]]` header removed) with the commented options
/// whose key satisfies `pick` uncommented, and every `${VAR}` (or `${VAR:-default}`)
/// replaced by `env(VAR)`.
///
/// # Panics
/// When a `${...}` is malformed: this is a test helper.
pub fn uncomment(
    sample: &str,
    pick: impl Fn(&str) -> bool,
    env: &dyn Fn(&str) -> String,
) -> String {
    let picked: Vec<usize> = options(sample)
        .into_iter()
        .filter(|o| pick(&o.key))
        .map(|o| o.line)
        .collect();
    let mut out = String::new();
    for (i, l) in sample.lines().enumerate() {
        if l.starts_with("[[") {
            continue;
        }
        let l = match l.strip_prefix("# ") {
            Some(rest) if picked.contains(&i) => rest,
            _ => l,
        };
        let l = expand(l, &|name| Some(env(name)))
            .unwrap_or_else(|(m, _)| panic!("sample line {i}: {m}"));
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// Parses `text` as the table of `key_path` through `read`.
///
/// # Panics
/// With the error, located, when it does not parse.
fn parse<T>(key_path: &str, text: &str, what: &str, read: &Reader<'_, T>) -> T {
    PluginConfig::from_toml_str(key_path, text)
        .and_then(|cfg| read(&cfg))
        .unwrap_or_else(|e| panic!("{key_path}: {what} does not parse: {e}\n---\n{text}"))
}

/// How a plugin reads its table into something comparable.
pub type Reader<'a, T> = dyn Fn(&PluginConfig) -> Result<T, ConfigError> + 'a;

/// Checks the sample of the plugin at `key_path` (`outputs.influxdb.0`) against its raw
/// config struct `T` (see the module doc). `examples` are the commented options that show an
/// example rather than the default; `env` gives `${VAR}`s a value (others become `"x"`).
///
/// # Panics
/// When a check fails: this is a test helper.
pub fn assert_sample<T: DeserializeOwned + PartialEq + std::fmt::Debug>(
    key_path: &str,
    sample: &str,
    examples: &[&str],
    env: &[(&str, &str)],
) {
    assert_sample_with(key_path, sample, examples, env, &|cfg| cfg.parse::<T>());
}

/// [`assert_sample`] with the table read by `read` (for a plugin whose keys are parsed in
/// parts, `read` returns the parts, validated where a raw form would hide a default: an
/// unset key and one written at its default must read the same).
///
/// # Panics
/// When a check fails: this is a test helper.
pub fn assert_sample_with<T: PartialEq + std::fmt::Debug>(
    key_path: &str,
    sample: &str,
    examples: &[&str],
    env: &[(&str, &str)],
    read: &Reader<'_, T>,
) {
    let env = |name: &str| {
        env.iter()
            .find(|(k, _)| *k == name)
            .map_or_else(|| "x".to_owned(), |(_, v)| (*v).to_owned())
    };
    let opts = options(sample);
    assert!(!sample.trim().is_empty(), "{key_path}: empty sample");
    for e in examples {
        assert!(
            opts.iter().any(|o| o.key == *e),
            "{key_path}: `{e}` is listed as an example but the sample has no `# {e} = ...`"
        );
    }
    let shipped = parse(
        key_path,
        &uncomment(sample, |_| false, &env),
        "the sample",
        read,
    );
    let _all = parse(
        key_path,
        &uncomment(sample, |_| true, &env),
        "the sample with every option uncommented",
        read,
    );
    for opt in opts.iter().filter(|o| !examples.contains(&o.key.as_str())) {
        let one = uncomment(sample, |k| k == opt.key, &env);
        let with_default = parse(key_path, &one, &format!("`{}` uncommented", opt.key), read);
        assert_eq!(
            with_default, shipped,
            "{key_path}: `# {}` does not show the default (if it is an example, list it in \
             `examples`)",
            opt.key
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "[[outputs.x]]\n## Where.\nurl = \"http://h\"\n## How long.\n# timeout = \"5s\"\n# ca_file = \"/ca.pem\"\n# [agent.tags]\n# token = \"${TOKEN}\"\n";

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct X {
        url: String,
        #[serde(default = "five")]
        timeout: crate::Duration,
        ca_file: Option<String>,
        token: Option<String>,
    }

    fn five() -> crate::Duration {
        crate::Duration::from_secs(5)
    }

    #[test]
    fn options_are_the_commented_key_values() {
        let keys: Vec<String> = options(SAMPLE).into_iter().map(|o| o.key).collect();
        assert_eq!(keys, ["timeout", "ca_file", "token"]);
        let text = uncomment(SAMPLE, |k| k == "token", &|v| format!("<{v}>"));
        assert!(text.contains("\ntoken = \"<TOKEN>\"\n"), "{text}");
        assert!(text.contains("# timeout"), "{text}");
        assert!(!text.contains("[[outputs.x]]"), "{text}");
    }

    #[test]
    fn the_check_passes_on_true_defaults_and_fails_on_a_false_one() {
        assert_sample::<X>("outputs.x.0", SAMPLE, &["ca_file", "token"], &[]);
        let wrong = SAMPLE.replace("# timeout = \"5s\"", "# timeout = \"10s\"");
        let r = std::panic::catch_unwind(|| {
            assert_sample::<X>("outputs.x.0", &wrong, &["ca_file", "token"], &[]);
        });
        assert!(r.is_err(), "a wrong default passed");
        let typo = SAMPLE.replace("# timeout", "# timout");
        let r = std::panic::catch_unwind(|| {
            assert_sample::<X>("outputs.x.0", &typo, &["ca_file", "token"], &[]);
        });
        assert!(r.is_err(), "an unknown key passed");
    }

    #[test]
    fn the_check_through_a_reader_compares_what_it_reads() {
        let timeout = |cfg: &PluginConfig| cfg.parse::<X>().map(|x| x.timeout);
        assert_sample_with("outputs.x.0", SAMPLE, &["ca_file", "token"], &[], &timeout);
        let wrong = SAMPLE.replace("# timeout = \"5s\"", "# timeout = \"10s\"");
        let r = std::panic::catch_unwind(|| {
            assert_sample_with("outputs.x.0", &wrong, &["ca_file", "token"], &[], &timeout);
        });
        assert!(r.is_err(), "a wrong default passed");
    }
}
