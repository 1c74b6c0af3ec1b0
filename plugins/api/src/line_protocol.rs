//! InfluxDB line protocol: the encoder every metric output and `--test` use, and the parser
//! behind `inputs.http_listener`. Both live here because plugins may not depend on each other
//! and the two must agree on every escape.
//!
//! STUB: signatures fixed; bodies to be written (see encode.rs / parse.rs).

mod encode;
mod parse;

pub use encode::{encode_metric, EncodeOutcome};
pub use parse::{parse_lines, LineError, ParseOutput, Precision};
