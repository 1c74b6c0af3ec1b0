//! STUB: to be written.

use gleaner_api::{Accepts, BuildContext, ConfigError, Output, OutputDescriptor, PluginConfig};

/// Registry entry.
pub const DESCRIPTOR: OutputDescriptor = OutputDescriptor {
    name: "file",
    summary: "stub",
    sample: "",
    accepts: Accepts::BOTH,
    build,
};

fn build(_cfg: &PluginConfig, _cx: &BuildContext) -> Result<Box<dyn Output>, ConfigError> {
    Err(ConfigError::new("not implemented"))
}
