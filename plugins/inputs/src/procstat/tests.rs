//! procstat against real processes this test starts: found by exe, by pattern, by pid file and
//! with a user filter, with RSS and threads as /proc reports them; a failed lookup; config
//! errors.

use std::path::PathBuf;
use std::process::{Child, Command};

use gleaner_api::{ComponentMetrics, FieldValue, Metric, PluginConfig};

use super::{Gatherer, ProcstatConfig, Selector};

/// A copy of `sleep` under a unique name (the process name is the file name), running.
struct Probe {
    child: Child,
    name: String,
    _dir: tempfile::TempDir,
}

impl Probe {
    /// `which` tells the tests apart (they run at once in one process): at most 15
    /// characters in all, the kernel's limit on a process name.
    fn start(which: char, arg: &str) -> Probe {
        let dir = tempfile::tempdir().expect("tempdir");
        let name = format!("glprobe{which}{}", std::process::id() % 100_000);
        let bin = dir.path().join(&name);
        let sleep = ["/bin/sleep", "/usr/bin/sleep"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| std::fs::metadata(p).is_ok())
            .expect("sleep binary");
        std::fs::copy(sleep, &bin).expect("copy sleep");
        // Another test's fork may still hold the copy's write descriptor (inherited between
        // its fork and exec), so exec can meet ETXTBSY for a moment: try again, backing off
        // (no event tells when the other child has exec'd).
        let mut tries = 0;
        let child = loop {
            match Command::new(&bin).arg(arg).spawn() {
                Err(e) if e.raw_os_error() == Some(26) && tries < 100 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                other => break other.expect("start probe"),
            }
        };
        // Before it sleeps, it is still loading and its RSS grows.
        wait_until_asleep(child.id());
        Probe {
            child,
            name,
            _dir: dir,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `field` of /proc/<pid>/status, first number.
    fn status(&self, field: &str) -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("status");
        text.lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| {
                v.trim_start_matches(':')
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("{field} in {text}"))
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let _kill = self.child.kill();
        let _wait = self.child.wait();
    }
}

fn gather(toml: &str) -> (Vec<Metric>, std::sync::Arc<ComponentMetrics>) {
    let cfg = PluginConfig::from_toml_str("inputs.procstat.0", toml).expect("toml");
    let config: ProcstatConfig = cfg.parse().expect("config");
    let selector = Selector::from_config(&config).expect("selector");
    let mut g = Gatherer::new(selector, config);
    let errors = ComponentMetrics::detached("procstat");
    (g.gather(&errors), errors)
}

fn int(m: &Metric, f: &str) -> i64 {
    match m.field(f) {
        Some(FieldValue::Int(v)) => *v,
        other => panic!("{f}: {other:?} in {m:?}"),
    }
}

fn uint(m: &Metric, f: &str) -> u64 {
    match m.field(f) {
        Some(FieldValue::UInt(v)) => *v,
        other => panic!("{f}: {other:?} in {m:?}"),
    }
}

fn lookup(ms: &[Metric]) -> &Metric {
    ms.iter()
        .find(|m| m.measurement == "procstat_lookup")
        .expect("procstat_lookup")
}

#[test]
fn found_by_exe_with_rss_and_threads_as_proc_says() {
    let probe = Probe::start('e', "30");
    let (ms, _) = gather(&format!("exe = \"^{}$\"", probe.name));
    let procs: Vec<&Metric> = ms.iter().filter(|m| m.measurement == "procstat").collect();
    assert_eq!(procs.len(), 1, "{ms:?}");
    let m = procs[0];
    assert_eq!(int(m, "pid"), i64::from(probe.pid()));
    assert_eq!(m.tag("process_name"), Some(probe.name.as_str()));
    assert_eq!(m.tag("exe"), Some(format!("^{}$", probe.name).as_str()));
    assert!(m.tag("user").is_some(), "{m:?}");
    assert_memory_and_threads_match_proc(m, &probe);
    let fds = std::fs::read_dir(format!("/proc/{}/fd", probe.pid()))
        .expect("fd dir")
        .count() as i64;
    assert_eq!(int(m, "num_fds"), fds);
    assert!(int(m, "created_at") > 1_600_000_000_000_000_000);
    let l = lookup(&ms);
    assert_eq!(
        (
            int(l, "pid_count"),
            int(l, "running"),
            int(l, "result_code")
        ),
        (1, 1, 0)
    );
    assert_eq!(l.tag("pid_finder"), Some("native"));
}

#[test]
fn found_by_pattern_and_by_pid_file() {
    let probe = Probe::start('p', "30.4217");
    let (ms, _) = gather("pattern = 'glprobep\\d+ 30\\.4217'\npid_tag = true");
    let procs: Vec<&Metric> = ms.iter().filter(|m| m.measurement == "procstat").collect();
    assert_eq!(procs.len(), 1, "{ms:?}");
    assert_eq!(procs[0].tag("pid"), Some(probe.pid().to_string().as_str()));
    assert!(procs[0].field("pid").is_none(), "pid is a tag, not a field");

    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("probe.pid");
    std::fs::write(&pid_file, format!("{}\n", probe.pid())).expect("pid file");
    let (ms, _) = gather(&format!("pid_file = {:?}", pid_file.display().to_string()));
    let m = ms
        .iter()
        .find(|m| m.measurement == "procstat")
        .expect("found by pid file");
    assert_eq!(int(m, "pid"), i64::from(probe.pid()));
    assert_eq!(
        m.tag("pidfile"),
        Some(pid_file.display().to_string().as_str())
    );
}

#[test]
fn a_user_narrows_the_choice() {
    let probe = Probe::start('u', "30");
    let me = Command::new("id").arg("-un").output().expect("id -un");
    let me = String::from_utf8_lossy(&me.stdout).trim().to_owned();
    let (ms, _) = gather(&format!("exe = \"^{}$\"\nuser = \"{me}\"", probe.name));
    assert_eq!(int(lookup(&ms), "pid_count"), 1);
    let (ms, _) = gather(&format!(
        "exe = \"^{}$\"\nuser = \"no-such-user-x\"",
        probe.name
    ));
    assert_eq!(int(lookup(&ms), "pid_count"), 0);
    assert_eq!(int(lookup(&ms), "result_code"), 0);
}

#[test]
fn an_unreadable_pid_file_is_a_failed_lookup_counted_as_an_error() {
    let (ms, errors) = gather("pid_file = \"/nonexistent/x.pid\"");
    assert_eq!(ms.len(), 1);
    let l = lookup(&ms);
    assert_eq!((int(l, "pid_count"), int(l, "result_code")), (0, 1));
    assert_eq!(errors.snapshot().errors, vec![("lookup", 1)]);
}

#[test]
fn config_errors_name_the_key() {
    let err = |toml: &str| {
        let cfg = PluginConfig::from_toml_str("inputs.procstat.0", toml).expect("toml");
        let config: ProcstatConfig = cfg.parse().expect("config");
        Selector::from_config(&config).expect_err(toml)
    };
    assert_eq!(err("").0, "exe");
    assert_eq!(err("exe = \"a\"\npattern = \"b\"").0, "pattern");
    let (key, msg) = err("pattern = \"(unclosed\"");
    assert_eq!(key, "pattern");
    assert!(msg.contains("invalid regex"), "{msg}");
    assert_eq!(err("pid_file = \"/x\"\nuser = \"root\"").0, "user");
}

#[test]
fn a_systemd_unit_without_a_cgroup_is_a_failed_lookup() {
    let (ms, _) = gather("systemd_unit = \"no-such-unit-x.service\"");
    assert_eq!(int(lookup(&ms), "result_code"), 1);
}

#[test]
fn every_process_chosen_twice_gives_the_probe_figures_from_kept_descriptors() {
    let probe = Probe::start('a', "30");
    let cfg = PluginConfig::from_toml_str("inputs.procstat.0", "pattern = \".\"").expect("toml");
    let config: ProcstatConfig = cfg.parse().expect("config");
    let selector = Selector::from_config(&config).expect("selector");
    let mut g = Gatherer::new(selector, config);
    let errors = ComponentMetrics::detached("procstat");
    // The second gather reads the probe through the descriptors the first one kept.
    g.gather(&errors);
    let ms = g.gather(&errors);
    let m = ms
        .iter()
        .find(|m| {
            m.measurement == "procstat"
                && m.field("pid") == Some(&FieldValue::Int(i64::from(probe.pid())))
        })
        .expect("the probe among every process");
    assert_memory_and_threads_match_proc(m, &probe);
    assert!(int(m, "created_at") > 1_600_000_000_000_000_000);
    assert!(int(lookup(&ms), "pid_count") > 1);
}

/// The stat line's start time, in ns since the epoch, to the clock tick.
fn start_ns(pid: u32) -> i64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let rest = stat.rsplit_once(')').expect("comm").1;
    let ticks: u64 = rest
        .split(' ')
        .nth(20)
        .expect("field 22")
        .parse()
        .expect("ticks");
    let hz = procfs::ticks_per_second();
    let boot = procfs::boot_time_secs().expect("btime");
    i64::try_from(u128::from(boot * hz + ticks) * 1_000_000_000 / u128::from(hz)).expect("ns")
}

#[test]
fn created_at_is_the_start_time_to_the_clock_tick() {
    let probe = Probe::start('c', "30");
    let (ms, _) = gather(&format!("exe = \"^{}$\"", probe.name));
    let m = ms
        .iter()
        .find(|m| m.measurement == "procstat")
        .expect("the probe");
    assert_eq!(int(m, "created_at"), start_ns(probe.pid()));
}

#[test]
fn a_process_that_execs_is_matched_by_its_new_command_line() {
    // A shell that waits for a line, then execs a link to sleep under a name of ours (the
    // process name is the link's): the name and the command line change, the pid does not.
    let dir = tempfile::tempdir().expect("tempdir");
    let name = format!("glprobex{}", std::process::id() % 100_000);
    let sleep = ["/bin/sleep", "/usr/bin/sleep"]
        .into_iter()
        .find(|p| std::fs::metadata(p).is_ok())
        .expect("sleep binary");
    let link = dir.path().join(&name);
    std::os::unix::fs::symlink(sleep, &link).expect("link");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("read x; exec \"$0\" \"30.$x\"")
        .arg(&link)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("sh");
    let pid = child.id();
    let pattern = format!("pattern = '{name} 30\\.5151'");
    let cfg = PluginConfig::from_toml_str("inputs.procstat.0", &pattern).expect("toml");
    let config: ProcstatConfig = cfg.parse().expect("config");
    let mut g = Gatherer::new(Selector::from_config(&config).expect("selector"), config);
    let errors = ComponentMetrics::detached("procstat");
    assert_eq!(int(lookup(&g.gather(&errors)), "pid_count"), 0, "not yet");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"5151\n").expect("write");
    }
    // No event tells when the exec is done: watch the name change, up to 10 s.
    let comm = format!("/proc/{pid}/comm");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read_to_string(&comm).unwrap_or_default().trim() != name {
        assert!(
            std::time::Instant::now() < deadline,
            "the shell never exec'd"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let ms = g.gather(&errors);
    let _kill = child.kill();
    let _wait = child.wait();
    let m = ms
        .iter()
        .find(|m| m.measurement == "procstat")
        .unwrap_or_else(|| panic!("found after its exec: {ms:?}"));
    assert_eq!(int(m, "pid"), i64::from(pid));
    assert_eq!(m.tag("process_name"), Some(name.as_str()));
}

#[test]
fn a_process_that_exits_is_forgotten_with_its_descriptors() {
    let mut probe = Probe::start('f', "30");
    let cfg =
        PluginConfig::from_toml_str("inputs.procstat.0", &format!("exe = \"^{}$\"", probe.name))
            .expect("toml");
    let config: ProcstatConfig = cfg.parse().expect("config");
    let mut g = Gatherer::new(Selector::from_config(&config).expect("selector"), config);
    let errors = ComponentMetrics::detached("procstat");
    assert_eq!(int(lookup(&g.gather(&errors)), "pid_count"), 1);
    assert!(g.table.knows(probe.pid()));
    let _kill = probe.child.kill();
    let _wait = probe.child.wait();
    assert_eq!(int(lookup(&g.gather(&errors)), "pid_count"), 0);
    assert!(
        !g.table.knows(probe.pid()),
        "forgotten, its descriptors closed"
    );
}

/// Waits until process `pid` sleeps (state S in /proc/<pid>/stat): until then a starting
/// child still maps libraries, opens locale files and grows. No event tells when; look every
/// millisecond, up to 10 s.
pub(super) fn wait_until_asleep(pid: u32) {
    let stat = format!("/proc/{pid}/stat");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read_to_string(&stat)
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, r)| r.starts_with('S')))
        != Some(true)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "process {pid} never slept"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// `m`'s RSS within 10% of /proc's `VmRSS` for `probe`, its VMS at least its RSS, and its
/// thread count /proc's `Threads`.
fn assert_memory_and_threads_match_proc(m: &Metric, probe: &Probe) {
    let rss = uint(m, "memory_rss") as f64;
    let proc_rss = (probe.status("VmRSS") * 1024) as f64;
    assert!(
        (rss - proc_rss).abs() <= proc_rss * 0.10,
        "rss {rss} vs /proc {proc_rss}"
    );
    assert!(uint(m, "memory_vms") >= uint(m, "memory_rss"));
    assert_eq!(int(m, "num_threads") as u64, probe.status("Threads"));
}
