//! `gleaner import telegraf PATH` and `gleaner import fluent-bit PATH`: convert an existing
//! telegraf.conf (TOML) or fluent-bit.conf (the classic format, with `@INCLUDE` and `@SET`)
//! into Gleaner's TOML. The common plugins are mapped option by option; every option without an
//! equivalent is kept as a comment under its section and returned as a [`Note`], so nothing is
//! dropped silently. The result is meant to pass `gleaner check` as it is.
//!
//! Fluent Bit's YAML format is not read: it is recent and rare in the configs users bring;
//! `fluent-bit --dry-run` does not convert it either, so a user with YAML converts by hand.

mod emit;
mod fluent_bit;
mod telegraf;
mod values;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use emit::Note;

/// Which agent's config is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Telegraf,
    FluentBit,
}

/// Why a config could not be converted at all (an option that cannot be mapped is a [`Note`]).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
}

/// A converted config.
#[derive(Debug)]
pub struct Conversion {
    /// Gleaner TOML, notes included as comments.
    pub text: String,
    /// Every option that was not carried over.
    pub notes: Vec<Note>,
}

/// Converts the config at `path`.
pub fn convert_file(source: Source, path: &Path) -> Result<Conversion, ImportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ImportError::Read {
        path: path.to_owned(),
        source,
    })?;
    let doc = match source {
        Source::Telegraf => telegraf::convert(&text, path)?,
        Source::FluentBit => fluent_bit::convert(&text, path)?,
    };
    Ok(Conversion {
        text: doc.render(),
        notes: doc.all_notes().into_iter().cloned().collect(),
    })
}

/// Whether this build has the plugin `kind.name` (`"inputs"`, `"journald"`): plugins that other
/// work adds are mapped once they exist, and noted as missing before.
fn has_plugin(kind: &str, name: &str) -> bool {
    match kind {
        "inputs" => crate::registry::input(name).is_ok(),
        "filters" => crate::registry::filter(name).is_ok(),
        _ => crate::registry::output(name).is_ok(),
    }
}

/// Whether this build takes Telegraf's selectors (`namepass`, `tagdrop`, ...) as shared keys.
fn selectors_supported() -> bool {
    static SUPPORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SUPPORTED.get_or_init(|| crate::sample::render().contains("namepass"))
}
