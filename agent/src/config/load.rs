//! STUB: loading.

use std::path::Path;

use super::{Config, ConfigErrors};

/// Loads a file or a directory of `*.toml` files.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let _ = path;
    Err(ConfigErrors(Vec::new()))
}
