//! InfluxDB line protocol: the encoder every metric output and `--test` use, and the parser
//! behind `inputs.http_listener`. Both live here because plugins may not depend on each other
//! and the two must agree on every escape.
//!
//! - `encode.rs`: [`encode_metric`], Telegraf-compatible escaping, never writes an invalid line.
//! - `split.rs`: splits a body into lines where InfluxDB 1.x does (strings span lines, a
//!   backslash joins them).
//! - `parse.rs`: [`parse_lines`], InfluxDB 1.x's verdict and stored point, one [`LineError`]
//!   per bad line; `parse/fields.rs` reads the field part.
//! - `precision.rs`: [`Precision`], the `precision` query parameter of the write APIs.
//!
//! What the encoder writes the parser reads back unchanged, except where line protocol cannot
//! carry a value (see `encode.rs`: control characters and trailing backslashes in names,
//! empty tags, a backslash right before some delimiters, NaN/±Inf, a measurement starting
//! with `#`, which reads as a comment).

mod encode;
mod parse;
mod precision;
mod split;

pub use encode::{EncodeOutcome, encode_metric, trimmed_parts, write_timestamp};
pub use parse::{LineError, ParseOutput, parse_lines};
pub use precision::{Precision, PrecisionError};

#[cfg(test)]
mod tests;
