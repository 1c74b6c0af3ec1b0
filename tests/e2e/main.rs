//! End-to-end tests of the built `gleaner` binary (one test binary, one module per area).

mod cli;
mod local;
mod outputs;
