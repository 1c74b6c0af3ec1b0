//! The performance and resilience suite's workloads (issue 9): deterministic, seeded
//! generators of what a node produces (container logs in the kubelet layout, a rotating
//! writer, a Prometheus page whose values change per scrape) and lean counting receivers
//! (Splunk HEC, remote write, line protocol) that check every sequence id arrived and count
//! duplicates. `scenario` runs the release agent on one workload and measures it (the
//! `bench` binary prints the figures); `chaos` adds kills, outages and full buffers to the
//! same runs (the `bench --chaos` mode and `tests/e2e/chaos.rs`).
//!
//! Sequence ids: every logical log record carries the token `sq=<n>` (in plain, JSON and
//! stack-trace lines alike, and in the first piece of a split P/F line), so a receiver finds
//! it by a byte scan whatever the encoding around it; ids are dense from 0, so the tally is
//! a counter per id.

pub mod chaos;
pub mod cri_gen;
pub mod expo;
pub mod journal_gen;
pub mod paced;
pub mod proc_stats;
pub mod protocols;
pub mod receiver;
pub mod rng;
pub mod rotate;
pub mod scenario;
pub mod tally;
