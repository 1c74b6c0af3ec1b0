//! Joins the three static plugin lists (`gleaner_inputs::INPUTS`, `gleaner_filters::FILTERS`,
//! `gleaner_outputs::OUTPUTS`) and looks plugins up by their TOML name. An unknown name is an
//! error that lists the known ones. Its tests check that every plugin's sample builds, and
//! that README.md lists every plugin and crate (`registry/readme.rs`).

#[cfg(test)]
mod readme;

use gleaner_api::config::did_you_mean;
use gleaner_api::{
    ComponentKind, ConfigError, FilterDescriptor, InputDescriptor, OutputDescriptor,
};

/// Every input plugin, in sample-config order.
pub fn inputs() -> &'static [InputDescriptor] {
    gleaner_inputs::INPUTS
}

/// Every filter plugin, in sample-config order.
pub fn filters() -> &'static [FilterDescriptor] {
    gleaner_filters::FILTERS
}

/// Every output plugin, in sample-config order.
pub fn outputs() -> &'static [OutputDescriptor] {
    gleaner_outputs::OUTPUTS
}

/// The input called `name`.
pub fn input(name: &str) -> Result<&'static InputDescriptor, ConfigError> {
    inputs().iter().find(|d| d.name == name).ok_or_else(|| {
        unknown(
            ComponentKind::Input,
            name,
            &names(inputs().iter().map(|d| d.name)),
        )
    })
}

/// The filter called `name`.
pub fn filter(name: &str) -> Result<&'static FilterDescriptor, ConfigError> {
    filters().iter().find(|d| d.name == name).ok_or_else(|| {
        unknown(
            ComponentKind::Filter,
            name,
            &names(filters().iter().map(|d| d.name)),
        )
    })
}

/// The output called `name`.
pub fn output(name: &str) -> Result<&'static OutputDescriptor, ConfigError> {
    outputs().iter().find(|d| d.name == name).ok_or_else(|| {
        unknown(
            ComponentKind::Output,
            name,
            &names(outputs().iter().map(|d| d.name)),
        )
    })
}

fn names(it: impl Iterator<Item = &'static str>) -> Vec<&'static str> {
    it.collect()
}

fn unknown(kind: ComponentKind, name: &str, known: &[&'static str]) -> ConfigError {
    let known_list = if known.is_empty() {
        "none".to_owned()
    } else {
        known.join(", ")
    };
    let hint = match did_you_mean(name, known) {
        Some(best) => format!(
            "did you mean `{best}`? known {}s: {known_list}",
            kind.as_str()
        ),
        None => format!("known {}s: {known_list}", kind.as_str()),
    };
    ConfigError::new(format!("unknown {} plugin `{name}`", kind.as_str())).with_hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snake(name: &str) -> bool {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !name.starts_with('_')
    }

    #[test]
    fn names_unique_and_snake_case() {
        let all: Vec<(&str, &str)> = inputs()
            .iter()
            .map(|d| ("input", d.name))
            .chain(filters().iter().map(|d| ("filter", d.name)))
            .chain(outputs().iter().map(|d| ("output", d.name)))
            .collect();
        for (i, (kind, name)) in all.iter().enumerate() {
            assert!(snake(name), "{kind} name {name:?} is not snake_case");
            assert!(
                !all[..i].iter().any(|(k, n)| k == kind && n == name),
                "{kind} {name} listed twice"
            );
        }
    }

    #[test]
    fn unknown_lists_known_names() {
        let err = output("stdot").unwrap_err();
        assert_eq!(err.message, "unknown output plugin `stdot`");
        let hint = err.hint.unwrap();
        assert!(hint.starts_with("did you mean `stdout`?"), "{hint}");
        assert!(hint.contains("file"), "{hint}");
    }

    #[test]
    fn every_sample_loads_and_builds_alone() {
        let dir = tempfile::tempdir().unwrap();
        let samples = inputs()
            .iter()
            .map(|d| (d.name, d.sample))
            .chain(filters().iter().map(|d| (d.name, d.sample)))
            .chain(outputs().iter().map(|d| (d.name, d.sample)));
        for (name, sample) in samples {
            assert!(!sample.trim().is_empty(), "{name} has no sample");
            let path = dir.path().join(format!("{name}.toml"));
            std::fs::write(&path, sample).unwrap();
            let telemetry = gleaner_api::Telemetry::new();
            if let Err(e) = crate::run::load_and_build(&path, &telemetry) {
                panic!("the sample of {name} does not build:\n{e}\n---\n{sample}");
            }
        }
    }

    /// Values for the `${VAR}`s of the samples.
    fn sample_env(name: &str) -> String {
        match name {
            "SHARD_INDEX" => "0",
            "SHARD_TOTAL" => "1",
            "POD_NAME" => "gleaner-poller-0",
            "NODE_IP" => "10.0.0.1",
            _ => "x",
        }
        .to_owned()
    }

    /// Options that only make sense with others: `(keys uncommented together, a line added,
    /// active keys removed)` for option `key` of `plugin`.
    fn companions(
        plugin: &str,
        key: &str,
    ) -> (
        &'static [&'static str],
        &'static str,
        &'static [&'static str],
    ) {
        match (plugin, key) {
            (_, "cert_file" | "key_file") => (&["cert_file", "key_file"], "", &[]),
            ("inputs.http_listener", "basic_username" | "basic_password") => {
                (&["basic_username", "basic_password"], "", &[])
            }
            (_, "username" | "password") => (&["username", "password"], "", &[]),
            ("outputs.influxdb", "org" | "bucket" | "token") => {
                (&["org", "bucket", "token"], "api = \"v2\"\n", &[])
            }
            ("outputs.splunk_hec", "token_file") => (&["token_file"], "", &["token"]),
            ("inputs.syslog", "tls_cert_file" | "tls_key_file" | "tls_client_ca_file") => (
                &["tls_cert_file", "tls_key_file", "tls_client_ca_file"],
                "listen = \"tcp://127.0.0.1:6514\"\n",
                &["listen"],
            ),
            ("filters.parse", "pattern") => (&[], "format = \"regex\"\n", &["format"]),
            ("inputs.syslog", "socket_mode") => (
                &[],
                "listen = \"unix:///run/gleaner/syslog.sock\"\n",
                &["listen"],
            ),
            _ => (&[], "", &[]),
        }
    }

    /// The shared sample check, for every plugin through the registry: each commented option
    /// of its sample, uncommented alone, still builds (the key exists, its value has the
    /// right type and passes the plugin's checks). Plugins whose raw config struct a test can
    /// see also check that each shown default is the real one
    /// (`gleaner_api::test_util::sample::assert_sample`, in the plugin's own tests).
    #[test]
    fn every_sample_option_builds_when_uncommented() {
        use gleaner_api::test_util::sample::{options, uncomment};
        let dir = tempfile::tempdir().unwrap();
        let samples = inputs()
            .iter()
            .map(|d| ("inputs", d.name, d.sample))
            .chain(filters().iter().map(|d| ("filters", d.name, d.sample)))
            .chain(outputs().iter().map(|d| ("outputs", d.name, d.sample)));
        let mut failures = Vec::new();
        for (kinds, name, sample) in samples {
            let plugin = format!("{kinds}.{name}");
            for opt in options(sample) {
                let (with, extra, without) = companions(&plugin, &opt.key);
                let table = uncomment(sample, |k| k == opt.key || with.contains(&k), &sample_env);
                let table: String = table
                    .lines()
                    .filter(|l| !without.iter().any(|k| l.starts_with(&format!("{k} ="))))
                    .map(|l| format!("{l}\n"))
                    .collect();
                let text = format!("[[{plugin}]]\n{extra}{table}");
                let path = dir.path().join(format!("{name}-{}.toml", opt.key));
                std::fs::write(&path, &text).unwrap();
                let telemetry = gleaner_api::Telemetry::new();
                if let Err(e) = crate::run::load_and_build(&path, &telemetry) {
                    failures.push(format!(
                        "{kinds}.{name} with `{}` uncommented: {e}",
                        opt.key
                    ));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
