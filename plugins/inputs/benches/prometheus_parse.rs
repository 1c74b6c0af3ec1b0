//! Parser throughput (placeholder, filled below).
fn main() {}
