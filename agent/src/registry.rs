//! Joins the three static plugin lists (`gleaner_inputs::INPUTS`, `gleaner_filters::FILTERS`,
//! `gleaner_outputs::OUTPUTS`) and looks plugins up by their TOML name. An unknown name is an
//! error that lists the known ones.

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

    #[test]
    fn every_plugin_in_readme() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
        for name in inputs()
            .iter()
            .map(|d| d.name)
            .chain(filters().iter().map(|d| d.name))
            .chain(outputs().iter().map(|d| d.name))
        {
            assert!(
                readme.contains(&format!("`{name}`")),
                "README plugin table lacks `{name}`"
            );
        }
    }
}
