//! STUB: to be written.

use gleaner_api::{BuildContext, ConfigError, Input, InputDescriptor, PluginConfig};

/// Registry entry.
pub const DESCRIPTOR: InputDescriptor = InputDescriptor {
    name: "http_listener",
    summary: "stub",
    sample: "",
    build,
};

fn build(_cfg: &PluginConfig, _cx: &BuildContext) -> Result<Box<dyn Input>, ConfigError> {
    Err(ConfigError::new("not implemented"))
}
