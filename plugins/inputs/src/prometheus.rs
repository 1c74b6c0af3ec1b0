//! `inputs.prometheus` (work in progress).

pub mod parse;
pub mod shard;
