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
//! outputs: their own keys, and the shared ones validated apart); [`assert_sample_debug`]
//! and [`assert_sample_debug_with`] compare by `Debug` text, for what is not `PartialEq`.
//! The keys the engine handles (`interval`, `match`, ...) are removed first, as it does.
//! [`assert_default`] checks that an empty table reads as the struct's `Default` (the serde
//! defaults and the `Default` impl agree).
//!
//! Every registered plugin has such a check: each plugin crate's `sample_checks.rs` lists one
//! per plugin (the plugin module's `check_sample`), and [`assert_every_plugin_checked`] fails
//! for a registered plugin that has none, then runs them all. The agent's registry test
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

/// The keys the engine takes out of a plugin table before the plugin reads it (`interval`
/// of an input, `match` of a filter, `kinds` of an output; the agent's
/// `config::sections::shared_keys` is the list by kind), removed here whatever the kind.
const SHARED_KEYS: [&str; 6] = [
    "alias",
    "interval",
    "collection_jitter",
    "match",
    "buffer",
    "kinds",
];

/// Parses `text` as the table of `key_path` through `read`, the shared keys removed.
///
/// # Panics
/// With the error, located, when it does not parse.
fn parse<T>(key_path: &str, text: &str, what: &str, read: &Reader<'_, T>) -> T {
    toml::de::DeTable::parse(text)
        .map_err(|e| ConfigError::from_toml(&e))
        .and_then(|_| {
            let strip = SHARED_KEYS.iter().map(|k| (*k).to_owned()).collect();
            read(&PluginConfig::new(key_path, text.into(), Vec::new(), strip))
        })
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
    let mut wrong = Vec::new();
    for opt in opts.iter().filter(|o| !examples.contains(&o.key.as_str())) {
        let one = uncomment(sample, |k| k == opt.key, &env);
        let with_default = parse(key_path, &one, &format!("`{}` uncommented", opt.key), read);
        if with_default != shipped {
            wrong.push(format!(
                "`# {}` does not show the default:\n  uncommented: {with_default:?}\n  \
                 as shipped:  {shipped:?}",
                opt.key
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{key_path}: {}\n(an option that shows an example rather than its default goes in \
         `examples`)",
        wrong.join("\n")
    );
}

/// [`assert_sample`] for a config struct that is not `PartialEq`: the parsed structs are
/// compared by their `Debug` text (which shows every field of a plain config struct).
///
/// # Panics
/// When a check fails: this is a test helper.
pub fn assert_sample_debug<T: DeserializeOwned + std::fmt::Debug>(
    key_path: &str,
    sample: &str,
    examples: &[&str],
    env: &[(&str, &str)],
) {
    assert_sample_with(key_path, sample, examples, env, &|cfg| {
        cfg.parse::<T>().map(|t| DebugText(format!("{t:?}")))
    });
}

/// [`assert_sample_with`] comparing what `read` returns by its `Debug` text (for a plugin
/// whose validated settings show its defaults where the raw struct has `Option`s that
/// validation fills in, and that are not `PartialEq`).
///
/// # Panics
/// When a check fails: this is a test helper.
pub fn assert_sample_debug_with<T: std::fmt::Debug>(
    key_path: &str,
    sample: &str,
    examples: &[&str],
    env: &[(&str, &str)],
    read: &Reader<'_, T>,
) {
    assert_sample_with(key_path, sample, examples, env, &|cfg| {
        read(cfg).map(|t| DebugText(format!("{t:?}")))
    });
}

/// A value's `Debug` text, itself shown unquoted.
#[derive(PartialEq)]
struct DebugText(String);

impl std::fmt::Debug for DebugText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks that an empty table reads as `T::default()` (compared by `Debug` text): the
/// defaults serde fills in (`#[serde(default = "...")]`) are the `Default` impl's.
///
/// # Panics
/// When they differ: this is a test helper.
pub fn assert_default<T: DeserializeOwned + Default + std::fmt::Debug>(key_path: &str) {
    let empty = parse(key_path, "", "an empty table", &|cfg| cfg.parse::<T>());
    assert_eq!(
        format!("{empty:#?}"),
        format!("{:#?}", T::default()),
        "{key_path}: an empty table does not read as `Default`"
    );
}

/// The registry-wide check: every plugin named in `registered` (a crate's registry list, of
/// kind `kinds`: "inputs", "filters", "outputs") has an entry in `checks`, every entry names
/// a registered plugin, and every check passes. All failures are reported together.
///
/// # Panics
/// When a plugin has no check, a check names no plugin, or a check fails: this is a test
/// helper.
pub fn assert_every_plugin_checked(
    kinds: &str,
    registered: impl IntoIterator<Item = &'static str>,
    checks: &[(&str, fn())],
) {
    let registered: Vec<&str> = registered.into_iter().collect();
    let mut failures = Vec::new();
    for name in &registered {
        if !checks.iter().any(|(n, _)| n == name) {
            failures.push(format!(
                "{kinds}.{name} has no sample check: give its module a \
                 `#[cfg(test)] pub(crate) fn check_sample()` (gleaner_api::test_util::sample) \
                 and list it in its crate's src/sample_checks.rs"
            ));
        }
    }
    for (name, check) in checks {
        if !registered.contains(name) {
            failures.push(format!("{kinds}.{name} is checked but not registered"));
            continue;
        }
        if let Err(panic) = std::panic::catch_unwind(check) {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            failures.push(format!("{kinds}.{name}: {message}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
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

    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct D {
        #[serde(default = "seven")]
        n: u32,
    }

    fn seven() -> u32 {
        7
    }

    #[test]
    fn the_debug_check_and_the_default_check() {
        let sample = "[[inputs.d]]\n# n = 0\n";
        assert_sample_debug::<X>("outputs.x.0", SAMPLE, &["ca_file", "token"], &[]);
        let r =
            std::panic::catch_unwind(|| assert_sample_debug::<D>("inputs.d.0", sample, &[], &[]));
        assert!(r.is_err(), "a wrong default passed");
        assert_sample_debug::<D>("inputs.d.0", &sample.replace('0', "7"), &[], &[]);
        // serde says 7, `Default` says 0.
        assert_eq!(D::default().n, 0);
        let r = std::panic::catch_unwind(|| assert_default::<D>("inputs.d.0"));
        assert!(r.is_err(), "differing defaults passed");
    }

    #[test]
    fn every_registered_plugin_needs_a_passing_check() {
        fn pass() {}
        fn fail() {
            panic!("wrong default");
        }
        assert_every_plugin_checked("inputs", ["a", "b"], &[("a", pass), ("b", pass)]);
        for (registered, checks, want) in [
            (
                &["a", "b"][..],
                &[("a", pass as fn())][..],
                "inputs.b has no sample check",
            ),
            (
                &["a"][..],
                &[("a", pass as fn()), ("c", pass)][..],
                "inputs.c is checked but not registered",
            ),
            (
                &["a"][..],
                &[("a", fail as fn())][..],
                "inputs.a: wrong default",
            ),
        ] {
            let r = std::panic::catch_unwind(|| {
                assert_every_plugin_checked("inputs", registered.iter().copied(), checks);
            });
            let panic = r.expect_err(want);
            let message = panic.downcast_ref::<String>().expect("a message");
            assert!(message.contains(want), "{message}");
        }
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
