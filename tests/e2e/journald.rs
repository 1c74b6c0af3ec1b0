//! `inputs.journald` end to end, without systemd running: journal files are made offline by
//! `systemd-journal-remote` from a generated export stream (unique `sq=<n>` per entry,
//! `workload/journal_gen.rs`) and read through `journal_directory` by the real journalctl.
//!
//! - Two kill -9s while reading (a small disk buffer and a slow receiver keep the reading
//!   spread out): every id arrives; duplicates are printed and counted, never lost.
//! - A clean stop and start resumes after the acknowledged cursor: entries added to the
//!   journal afterwards arrive, and none of the earlier ones comes twice.
//! - A saved cursor whose entry the journal no longer holds (its files replaced, as vacuuming
//!   does) resumes at the oldest remaining entry and counts the gap.

use std::time::{Duration, Instant};

use gleaner_e2e::Agent;
use gleaner_e2e::workload::journal_gen::{children, make_journal};
use gleaner_e2e::workload::receiver::{Mode, Protocol, Receiver};
use gleaner_e2e::workload::scenario::journald::journald_hec_config;
use gleaner_e2e::workload::scenario::{metric_sum, stop_agent, wait_delivered};

/// Waits until the receiver holds at least `n` distinct ids.
fn wait_at_least(rx: &Receiver, n: u64, agent: &Agent) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while rx.tally.distinct() < n {
        assert!(
            Instant::now() < deadline,
            "only {} of {n} ids after 120 s:\n{}",
            rx.tally.distinct(),
            agent.stderr()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Kills (by pid) the journalctl children an agent killed with SIGKILL left behind.
fn reap_orphans(pids: &[u32]) {
    for pid in pids {
        // Most are gone already (a write to the dead agent's pipe ended them).
        let _status = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

#[test]
fn every_entry_arrives_across_two_kill9s_while_reading() {
    const N: u64 = 60_000;
    let journal = tempfile::tempdir().expect("tempdir");
    make_journal(journal.path(), "e2e", 0, N, 19);
    let rx = Receiver::start(Protocol::Hec);
    rx.set_mode(Mode::Slow(Duration::from_millis(40)));
    let config = journald_hec_config(journal.path(), &rx.url(), "max_bytes = \"1MiB\"");
    let mut agent = Agent::start(&config);
    let mut orphans = Vec::new();
    for k in 1..=2 {
        wait_at_least(&rx, N * k / 3, &agent);
        let page = agent.wait_metrics("journald figures", |p| {
            metric_sum(p, "gleaner_journald_entries_read_total").is_some()
        });
        let read = metric_sum(&page, "gleaner_journald_entries_read_total").unwrap_or(0.0);
        assert!(
            (read as u64) < N,
            "kill {k}: the journal was read to its end already ({read}); the kill must come while reading"
        );
        orphans.extend(children(agent.child.id()));
        agent.kill9();
        agent.restart();
    }
    rx.set_mode(Mode::Normal);
    let done = wait_delivered(&rx.tally, N, Duration::from_secs(60));
    stop_agent(&mut agent);
    reap_orphans(&orphans);
    let v = rx.tally.verdict(N);
    println!(
        "journald across two kill -9s: {N} entries, lost {}, duplicated {}",
        v.lost, v.duplicated
    );
    assert!(
        done && v.lost == 0,
        "lost {} (first missing: {:?}):\n{}",
        v.lost,
        rx.tally.missing(N, 10),
        agent.stderr()
    );
}

#[test]
fn a_restart_resumes_after_the_acknowledged_cursor_and_follows_new_files() {
    let journal = tempfile::tempdir().expect("tempdir");
    make_journal(journal.path(), "first", 0, 2_000, 5);
    let rx = Receiver::start(Protocol::Hec);
    let config = journald_hec_config(journal.path(), &rx.url(), "");
    let mut agent = Agent::start(&config);
    assert!(wait_delivered(&rx.tally, 2_000, Duration::from_secs(60)));
    // Followed: a new journal file in the directory is read without a restart.
    make_journal(journal.path(), "second", 2_000, 1_000, 6);
    assert!(wait_delivered(&rx.tally, 3_000, Duration::from_secs(60)));
    stop_agent(&mut agent);
    make_journal(journal.path(), "third", 3_000, 1_000, 7);
    agent.restart();
    assert!(wait_delivered(&rx.tally, 4_000, Duration::from_secs(60)));
    stop_agent(&mut agent);
    let v = rx.tally.verdict(4_000);
    assert_eq!(
        (v.lost, v.duplicated),
        (0, 0),
        "a clean restart re-sent or lost entries:\n{}",
        agent.stderr()
    );
}

#[test]
fn a_vacuumed_cursor_resumes_at_the_oldest_entry_and_counts_the_gap() {
    let journal = tempfile::tempdir().expect("tempdir");
    make_journal(journal.path(), "old", 0, 500, 8);
    let rx = Receiver::start(Protocol::Hec);
    let config = journald_hec_config(journal.path(), &rx.url(), "");
    let mut agent = Agent::start(&config);
    assert!(wait_delivered(&rx.tally, 500, Duration::from_secs(60)));
    stop_agent(&mut agent);
    // The entries of the saved cursor go (as vacuuming removes old files); newer ones stay.
    for e in std::fs::read_dir(journal.path()).expect("journal dir") {
        std::fs::remove_file(e.expect("entry").path()).expect("remove a journal file");
    }
    make_journal(journal.path(), "new", 500, 300, 9);
    agent.restart();
    assert!(wait_delivered(&rx.tally, 800, Duration::from_secs(60)));
    let page = agent.wait_metrics("the gap counted", |p| {
        metric_sum(p, "gleaner_journald_cursor_gaps_total") == Some(1.0)
    });
    assert!(page.contains("gleaner_journald_cursor_gaps_total"));
    stop_agent(&mut agent);
    let v = rx.tally.verdict(800);
    assert_eq!((v.lost, v.duplicated), (0, 0), "{}", agent.stderr());
    assert!(
        agent
            .stderr()
            .contains("no longer holds the entry of the saved cursor")
    );
}

#[test]
fn since_now_skips_what_was_there_at_the_first_start_only() {
    let journal = tempfile::tempdir().expect("tempdir");
    make_journal(journal.path(), "before", 0, 500, 10);
    let rx = Receiver::start(Protocol::Hec);
    let config = journald_hec_config(journal.path(), &rx.url(), "").replace(
        "[[inputs.journald]]\n",
        "[[inputs.journald]]\nsince_now = true\n",
    );
    let mut agent = Agent::start(&config);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !agent.stderr().contains("journalctl started") {
        assert!(Instant::now() < deadline, "journalctl never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    make_journal(journal.path(), "after", 500, 200, 11);
    wait_at_least(&rx, 200, &agent);
    stop_agent(&mut agent);
    // Not a first start any more: what came while the agent was stopped is read.
    make_journal(journal.path(), "stopped", 700, 100, 12);
    agent.restart();
    wait_at_least(&rx, 300, &agent);
    stop_agent(&mut agent);
    let v = rx.tally.verdict(800);
    assert_eq!(
        v.lost, 500,
        "exactly the 500 entries there before the first start are skipped"
    );
    assert_eq!(v.duplicated, 0);
    assert_eq!(rx.tally.missing(800, 600), (0..500).collect::<Vec<u64>>());
}
