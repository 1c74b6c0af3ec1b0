//! `inputs.tail` edge cases operators hit (issues 15 and 16): a copytruncate rotation followed
//! by a restart, an offset database whose `-shm` file is truncated under the agent, the
//! database deleted while the agent is stopped (`read_from_head = false`), files the agent
//! may not read, and symlinks that lead out of the globs' roots.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use gleaner_e2e::logs::{append, cri, json_str, wait_output};
use gleaner_e2e::{Agent, free_port, gleaner_bin};

use super::{LONG, assert_exactly_once, config, out, pod_log, seq_counts, wait_seqs};

/// The value of the first `/metrics` sample whose line starts with `prefix` and contains
/// every one of `parts`.
fn metric(m: &str, prefix: &str, parts: &[&str]) -> Option<f64> {
    m.lines()
        .filter(|l| l.starts_with(prefix) && parts.iter().all(|p| l.contains(p)))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

fn error_count(m: &str, reason: &str) -> f64 {
    metric(
        m,
        "gleaner_component_errors_total{",
        &[&format!("reason=\"{reason}\""), "tail"],
    )
    .unwrap_or(0.0)
}

/// The offset database files of the only tail input under `<dir>/data/tail`.
fn db_files(agent: &Agent) -> Vec<std::path::PathBuf> {
    let dir = agent.path("data/tail");
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn copytruncate_then_a_restart_does_not_read_the_copy_again() {
    let mut agent = Agent::start(&config(""));
    let log = pod_log(agent.dir.path(), "ct", "app");
    let first: String = (0..1000).map(|i| cri(&i.to_string())).collect();
    append(&log, first.as_bytes());
    wait_seqs(&agent, 1000);
    // logrotate's copytruncate: copy to `0.log.1`, then truncate `0.log`.
    std::fs::copy(&log, log.with_file_name("0.log.1")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    let second: String = (1000..1500).map(|i| cri(&i.to_string())).collect();
    append(&log, second.as_bytes());
    wait_seqs(&agent, 1500);
    agent.wait_metrics("the counted truncation", |m| {
        error_count(m, "truncated") >= 1.0
    });
    agent.signal("TERM");
    assert!(agent.wait_exit(LONG).success(), "{}", agent.stderr());
    agent.restart();
    // The copy is an unknown rotated sibling of `0.log`; its content begins with what was
    // acknowledged before the truncation, so it is read from there (its end), not from 0.
    let third: String = (1500..1600).map(|i| cri(&i.to_string())).collect();
    append(&log, third.as_bytes());
    let text = wait_seqs(&agent, 1600);
    assert_exactly_once(&text, 1600);
    let m = agent.wait_metrics("lines read since the restart", |m| {
        metric(m, "gleaner_tail_lines_read_total{", &[]).is_some()
    });
    assert_eq!(
        metric(&m, "gleaner_tail_lines_read_total{", &[]),
        Some(100.0),
        "only the new lines are read after the restart:\n{m}"
    );
    assert!(
        agent.stderr().contains("0.log.1"),
        "the copy is named in the log"
    );
}

#[test]
fn copytruncate_while_the_agent_is_stopped_does_not_read_the_copy_again() {
    let mut agent = Agent::start(&config(""));
    let log = pod_log(agent.dir.path(), "ct", "app");
    let first: String = (0..1000).map(|i| cri(&i.to_string())).collect();
    append(&log, first.as_bytes());
    wait_seqs(&agent, 1000);
    agent.signal("TERM");
    assert!(agent.wait_exit(LONG).success(), "{}", agent.stderr());
    // logrotate runs while the agent is down; the application goes on writing.
    std::fs::copy(&log, log.with_file_name("0.log.1")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    let second: String = (1000..1500).map(|i| cri(&i.to_string())).collect();
    append(&log, second.as_bytes());
    agent.restart();
    let text = wait_seqs(&agent, 1500);
    assert_exactly_once(&text, 1500);
    let m = agent.wait_metrics("lines read since the restart", |m| {
        metric(m, "gleaner_tail_lines_read_total{", &[]).is_some()
    });
    assert_eq!(
        metric(&m, "gleaner_tail_lines_read_total{", &[]),
        Some(500.0),
        "only the new lines are read after the restart:\n{m}"
    );
}

#[test]
fn a_truncated_shm_file_does_not_kill_the_agent() {
    let agent = Agent::start(&config(""));
    let log = pod_log(agent.dir.path(), "shm", "app");
    let first: String = (0..200).map(|i| cri(&i.to_string())).collect();
    append(&log, first.as_bytes());
    wait_seqs(&agent, 200);
    // SQLite in WAL mode maps `<db>-shm`; cut under it, every access to the mapping is a
    // SIGBUS. The database must not depend on it.
    let shm: Vec<_> = db_files(&agent)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with("-shm"))
        .collect();
    for p in &shm {
        std::fs::OpenOptions::new()
            .write(true)
            .open(p)
            .unwrap()
            .set_len(0)
            .unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    let second: String = (200..400).map(|i| cri(&i.to_string())).collect();
    append(&log, second.as_bytes());
    let text = wait_seqs(&agent, 400);
    assert_exactly_once(&text, 400);
    // A few more commits after the delivery, then the agent must still answer.
    let more: String = (400..450).map(|i| cri(&i.to_string())).collect();
    append(&log, more.as_bytes());
    wait_seqs(&agent, 450);
    // The last commit happens at the stop: the agent must get there and exit cleanly.
    let mut agent = agent;
    agent.signal("TERM");
    let status = agent.wait_exit(LONG);
    assert!(status.success(), "{status}:\n{}", agent.stderr());
    assert!(
        shm.is_empty(),
        "the offset database uses no shared-memory file: {shm:?}"
    );
}

#[test]
fn a_deleted_offset_database_does_not_skip_lines_written_while_stopped() {
    let cfg = config("").replace("read_from_head = true", "read_from_head = false");
    let dir = tempfile::tempdir().unwrap();
    // Both present at the very first start, so read from their end then.
    let log = pod_log(dir.path(), "gap", "app");
    append(&log, cri("old line, before the first start").as_bytes());
    let idle = pod_log(dir.path(), "idle", "app");
    append(&idle, cri("idle line").as_bytes());
    let mut agent = start_in(dir, &cfg, false);
    // Both files seen (at their end) before anything is appended.
    agent.wait_metrics("both files followed", |m| {
        metric(m, "gleaner_tail_files_watched{", &[]) == Some(2.0)
    });
    let first: String = (0..100).map(|i| cri(&i.to_string())).collect();
    append(&log, first.as_bytes());
    wait_seqs(&agent, 100);
    agent.signal("TERM");
    assert!(agent.wait_exit(LONG).success(), "{}", agent.stderr());
    let tail_dir = agent.path("data/tail");
    let mut deleted = 0;
    for e in std::fs::read_dir(&tail_dir).unwrap().flatten() {
        if e.file_name().to_string_lossy().contains(".db") {
            std::fs::remove_file(e.path()).unwrap();
            deleted += 1;
        }
    }
    assert!(deleted > 0, "no database in {}", tail_dir.display());
    // Written while the agent is down (and its database gone) ...
    let second: String = (100..200).map(|i| cri(&i.to_string())).collect();
    append(&log, second.as_bytes());
    // ... and a file last written long before the stop.
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&idle)
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    agent.restart();
    let text = wait_seqs(&agent, 200);
    let c = seq_counts(&text);
    assert!((0..200).all(|i| c.contains_key(&i)), "a line is missing");
    let m = agent.wait_metrics("the counted loss of the database", |m| {
        error_count(m, "offsets_missing") >= 1.0
    });
    assert_eq!(error_count(&m, "offsets_missing"), 1.0, "{m}");
    let stderr = agent.stderr();
    assert!(
        stderr.contains("offset database missing") && stderr.contains("from_start=1 from_end=1"),
        "said loudly, the idle file from its end:\n{stderr}"
    );
}

/// Starts the agent on `config` in `dir` (prepared beforehand); with `no_dac_override`, as
/// root without the capabilities that bypass file permissions (the tests run as root, which
/// reads any file otherwise).
fn start_in(dir: tempfile::TempDir, config: &str, no_dac_override: bool) -> Agent {
    let telemetry_addr = format!("127.0.0.1:{}", free_port());
    let config = config
        .replace("{dir}", &dir.path().display().to_string())
        .replace("{telemetry}", &telemetry_addr);
    std::fs::write(dir.path().join("gleaner.toml"), config).expect("write config");
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    let mut cmd = if root && no_dac_override {
        let mut c = Command::new("setpriv");
        c.args([
            "--bounding-set=-dac_override,-dac_read_search",
            "--inh-caps=-dac_override,-dac_read_search",
            "--",
        ])
        .arg(gleaner_bin());
        c
    } else {
        Command::new(gleaner_bin())
    };
    let file = |name: &str| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join(name))
            .expect("log file")
    };
    let child = cmd
        .arg("--config")
        .arg(dir.path().join("gleaner.toml"))
        .arg("--log-level")
        .arg("debug")
        .stdout(file("stdout"))
        .stderr(file("stderr"))
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn gleaner");
    let mut agent = Agent {
        child,
        dir,
        telemetry_addr,
        nofile: None,
    };
    agent.wait_healthy();
    agent
}

#[test]
fn an_unreadable_file_is_named_once_counted_and_read_once_allowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = start_in(dir, &config(r#"refresh_interval = "200ms""#), true);
    let locked = pod_log(agent.dir.path(), "locked", "app");
    // Made unreadable before it appears where the glob looks.
    let staged = agent.path("staged.log");
    append(&staged, cri("0 behind a lock").as_bytes());
    std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::create_dir_all(locked.parent().unwrap()).unwrap();
    std::fs::rename(&staged, &locked).unwrap();
    let open = pod_log(agent.dir.path(), "open", "app");
    append(&open, cri("1 readable").as_bytes());
    wait_output(&out(&agent), LONG, "the readable line", |l| !l.is_empty());
    agent.wait_metrics("the counted unreadable file", |m| {
        error_count(m, "unreadable") >= 1.0
    });
    // Rescans are timed (200 ms): after about five of them, still one warning and one count.
    std::thread::sleep(Duration::from_secs(1));
    let m = agent.wait_metrics("the count", |m| error_count(m, "unreadable") >= 1.0);
    assert_eq!(error_count(&m, "unreadable"), 1.0, "{m}");
    let stderr = agent.stderr();
    let named: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("WARN") && l.contains(&*locked.to_string_lossy()))
        .collect();
    assert_eq!(named.len(), 1, "named once at warn:\n{stderr}");
    // Readable again: read from its start.
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o644)).unwrap();
    let text = wait_seqs(&agent, 2);
    assert_exactly_once(&text, 2);
}

#[test]
fn symlinks_are_followed_only_into_allowed_directories() {
    let agent = Agent::start(&config(r#"follow_symlinks_into = ["{dir}/widened"]"#));
    let dir = agent.dir.path().to_owned();
    let write = |p: &Path, text: &str| append(p, text.as_bytes());
    // Outside every root: refused (think /etc/shadow).
    write(&dir.join("secret/shadow"), &cri("999 secret"));
    // Inside the glob's root, and in the widened directory: followed.
    write(
        &dir.join("pods/store/real.log.keep"),
        &cri("0 inside the root"),
    );
    write(&dir.join("widened/app.log.keep"), &cri("1 widened"));
    let link = |target: &Path, pod: &str| {
        let l = pod_log(&dir, pod, "app");
        std::fs::create_dir_all(l.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, &l).unwrap();
    };
    link(&dir.join("secret/shadow"), "evil");
    link(&dir.join("pods/store/real.log.keep"), "inside");
    link(&dir.join("widened/app.log.keep"), "widened");
    let m = agent.wait_metrics("the counted refusal", |m| {
        error_count(m, "symlink_refused") >= 1.0
    });
    assert_eq!(error_count(&m, "symlink_refused"), 1.0, "{m}");
    let text = wait_seqs(&agent, 2);
    assert_exactly_once(&text, 2);
    assert!(
        !text
            .lines()
            .any(|l| json_str(l, "message").is_some_and(|m| m.contains("secret"))),
        "{text}"
    );
    assert!(
        agent.stderr().contains("secret/shadow"),
        "the refusal names the target:\n{}",
        agent.stderr()
    );
}
