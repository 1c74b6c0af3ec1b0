//! Chaos, short version (the full one is `bench --chaos`): `logs-hec` and `logs-rotate`
//! through tail → disk buffer → splunk_hec while the agent is killed with SIGKILL and
//! restarted at seeded moments (once with its offset database deleted), the receiver goes
//! down, answers a 503 storm, accepts slowly, and stays down long enough for a small buffer
//! (`when_full = "block"`) to fill. Every generated sequence id must arrive: lost == 0;
//! duplicates are printed. Both together take well under two minutes on a 2-core VM.

use std::time::Duration;

use gleaner_e2e::workload::chaos::{self, ChaosOpts, ChaosResult};
use gleaner_e2e::workload::rotate::{RotateConfig, Rotation};

fn opts(seed: u64) -> ChaosOpts {
    ChaosOpts {
        seed,
        lines: 40_000,
        rotate: RotateConfig {
            pods: 2,
            bytes_per_sec: 1_000_000,
            rotate_bytes: 1_000_000,
            rotation: Rotation::Rename,
            keep: 5,
            duration: Duration::from_secs(10),
            seed,
        },
        kills: 2,
        pause_ms: (200, 900),
        fault_ms: (200, 1200),
        max_bytes: "2MiB",
        fill_ms: 2500,
    }
}

fn check(r: &ChaosResult) {
    println!(
        "{}: {} events in {:.1}s, lost {}, duplicated {}, peak buffer {:.0} bytes",
        r.workload, r.events, r.secs, r.lost, r.duplicated, r.peak_buffer_bytes
    );
    for f in &r.faults {
        println!("  {f}");
    }
    assert!(r.events > 0, "nothing was generated");
    assert_eq!(
        r.lost,
        0,
        "{}: lost {} of {} ids (first: {:?}); agent log:\n{}",
        r.workload,
        r.lost,
        r.events,
        r.missing,
        &r.agent_log[r.agent_log.len().saturating_sub(6000)..]
    );
}

#[test]
fn logs_hec_survives_kills_outages_and_a_full_buffer() {
    check(&chaos::logs_hec(&opts(11)));
}

#[test]
fn logs_rotate_survives_kills_and_outages_while_rotating() {
    check(&chaos::logs_rotate(&opts(12)));
}
