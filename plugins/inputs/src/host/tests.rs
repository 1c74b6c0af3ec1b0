//! Tests of `inputs.host`: each collector against the fixture trees under
//! `testdata/host/` (t1: a full tree; t2: a later `/proc/stat` for CPU deltas and a utmp
//! under `/run` only) with exact
//! metrics, a missing root (errors counted, no panic), the sample config, and a live smoke
//! test against this machine's `/proc`.

use std::path::{Path, PathBuf};

use gleaner_api::test_util::run_input_once;
use gleaner_api::{Batch, ComponentMetrics, FieldValue, Metric, MetricKind, PluginConfig};

use super::disk::Space;
use super::gather::Gatherer;
use super::root::HostRoot;
use super::{DESCRIPTOR, HostConfig};

mod io;
mod users;

fn tree(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/host")
        .join(name)
}

/// A gatherer over `root` with the config `toml`, and fake `statvfs` answers.
fn gatherer(root: &Path, toml: &str) -> Gatherer {
    let cfg = PluginConfig::from_toml_str("inputs.host.0", toml).unwrap();
    let config: HostConfig = cfg.parse().unwrap();
    let mut g = Gatherer::new(HostRoot::new(root), &config);
    g.statfs = fake_statfs;
    g
}

fn fake_statfs(p: &Path) -> Option<Space> {
    let s = p.to_str()?;
    if s.ends_with("/t1/") || s.ends_with("/t1") {
        Some(Space {
            total: 1_000_000,
            free: 400_000,
            avail: 350_000,
            files: 1000,
            files_free: 250,
        })
    } else if s.ends_with("/data disk") {
        Some(Space {
            total: 2000,
            free: 1000,
            avail: 1000,
            files: 0,
            files_free: 0,
        })
    } else {
        None // /boot: as if stale
    }
}

fn gather(g: &mut Gatherer) -> (Vec<Metric>, Vec<(&'static str, u64)>) {
    let cm = ComponentMetrics::detached("host");
    let m = g.gather(&cm);
    (m, cm.snapshot().errors)
}

fn only(toml_collect: &str) -> String {
    format!("collect = [{toml_collect}]\n")
}

fn u(pairs: &[(&str, u64)]) -> Vec<(String, FieldValue)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), FieldValue::UInt(*v)))
        .collect()
}

fn tags(m: &Metric) -> Vec<(&str, &str)> {
    m.tags.iter().collect()
}

fn float(m: &Metric, k: &str) -> f64 {
    match m.field(k) {
        Some(FieldValue::Float(f)) => *f,
        other => panic!("{k}: {other:?}"),
    }
}

#[test]
fn cpu_first_gather_emits_nothing_second_emits_percentages() {
    let mut g = gatherer(&tree("t1"), &only("\"cpu\""));
    let (m, errs) = gather(&mut g);
    assert!(m.is_empty(), "first gather: no usage fields: {m:?}");
    assert!(errs.is_empty());
    g.root = HostRoot::new(tree("t2"));
    let (m, _) = gather(&mut g);
    let names: Vec<&str> = m.iter().filter_map(|m| m.tag("cpu")).collect();
    assert_eq!(names, ["cpu-total", "cpu0", "cpu1"]);
    let expect: [(&str, [f64; 10]); 3] = [
        (
            "cpu-total",
            [8.0, 0.0, 5.0, 80.0, 2.0, 1.0, 1.0, 1.0, 2.0, 0.0],
        ),
        ("cpu0", [10.0, 0.0, 5.0, 80.0, 2.0, 1.0, 1.0, 1.0, 0.0, 0.0]),
        ("cpu1", [6.0, 0.0, 5.0, 80.0, 2.0, 1.0, 1.0, 1.0, 4.0, 0.0]),
    ];
    let fields = [
        "usage_user",
        "usage_nice",
        "usage_system",
        "usage_idle",
        "usage_iowait",
        "usage_irq",
        "usage_softirq",
        "usage_steal",
        "usage_guest",
        "usage_guest_nice",
    ];
    for (metric, (cpu, want)) in m.iter().zip(expect) {
        assert_eq!(metric.measurement, "cpu");
        assert_eq!(metric.kind, MetricKind::Gauge);
        assert_eq!(tags(metric), [("cpu", cpu)]);
        assert_eq!(metric.fields.len(), 10);
        for (f, w) in fields.iter().zip(want) {
            assert!((float(metric, f) - w).abs() < 1e-9, "{cpu} {f}");
        }
    }
    // Same counters again: no time passed, nothing emitted.
    let (m, _) = gather(&mut g);
    assert!(m.is_empty());
}

#[test]
fn cpu_percpu_and_totalcpu_switch_off() {
    let mut g = gatherer(&tree("t1"), "collect = [\"cpu\"]\npercpu = false\n");
    gather(&mut g);
    g.root = HostRoot::new(tree("t2"));
    let (m, _) = gather(&mut g);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].tag("cpu"), Some("cpu-total"));
    let mut g = gatherer(&tree("t1"), "collect = [\"cpu\"]\ntotalcpu = false\n");
    gather(&mut g);
    g.root = HostRoot::new(tree("t2"));
    let (m, _) = gather(&mut g);
    assert_eq!(m.len(), 2);
}

#[test]
fn mem_and_swap() {
    let (m, errs) = gather(&mut gatherer(&tree("t1"), &only("\"mem\", \"swap\"")));
    assert!(errs.is_empty());
    assert_eq!(m.len(), 3);
    let mem = &m[0];
    assert_eq!(
        (mem.measurement.as_str(), mem.kind),
        ("mem", MetricKind::Gauge)
    );
    assert!(mem.tags.is_empty());
    let k = 1024;
    assert_eq!(mem.field("total"), Some(&FieldValue::UInt(16_318_440 * k)));
    assert_eq!(
        mem.field("available"),
        Some(&FieldValue::UInt(8_159_220 * k))
    );
    assert_eq!(mem.field("used"), Some(&FieldValue::UInt(8_159_220 * k)));
    assert_eq!(mem.field("free"), Some(&FieldValue::UInt(1_234_560 * k)));
    assert_eq!(float(mem, "used_percent"), 50.0);
    assert_eq!(float(mem, "available_percent"), 50.0);
    assert_eq!(mem.field("buffered"), Some(&FieldValue::UInt(204_800 * k)));
    assert_eq!(mem.field("cached"), Some(&FieldValue::UInt(6_000_000 * k)));
    assert_eq!(mem.field("shared"), Some(&FieldValue::UInt(300_000 * k)));
    assert_eq!(mem.field("huge_pages_total"), Some(&FieldValue::UInt(0)));
    assert_eq!(
        mem.field("huge_page_size"),
        Some(&FieldValue::UInt(2048 * k))
    );
    assert_eq!(mem.fields.len(), 6 + 24);

    let swap = &m[1];
    assert_eq!(
        (swap.measurement.as_str(), swap.kind),
        ("swap", MetricKind::Gauge)
    );
    assert_eq!(
        swap.fields[..3],
        u(&[
            ("total", 2_097_148 * k),
            ("used", 1_048_574 * k),
            ("free", 1_048_574 * k)
        ])[..]
    );
    assert_eq!(float(swap, "used_percent"), 50.0);
    let io = &m[2];
    assert_eq!(
        (io.measurement.as_str(), io.kind),
        ("swap", MetricKind::Counter)
    );
    assert_eq!(io.fields, u(&[("in", 10 * 4096), ("out", 20 * 4096)]));
}

#[test]
fn system_and_kernel() {
    let (m, errs) = gather(&mut gatherer(&tree("t1"), &only("\"system\", \"kernel\"")));
    assert!(errs.is_empty());
    let sys = &m[0];
    assert_eq!(
        (sys.measurement.as_str(), sys.kind),
        ("system", MetricKind::Gauge)
    );
    assert_eq!(
        sys.fields,
        vec![
            ("load1".to_owned(), FieldValue::Float(0.52)),
            ("load5".to_owned(), FieldValue::Float(0.58)),
            ("load15".to_owned(), FieldValue::Float(0.59)),
            ("n_users".to_owned(), FieldValue::Int(3)),
            ("n_unique_users".to_owned(), FieldValue::Int(2)),
            ("n_cpus".to_owned(), FieldValue::Int(2)),
            ("uptime".to_owned(), FieldValue::UInt(350_735)),
        ]
    );
    let k = &m[1];
    assert_eq!(
        (k.measurement.as_str(), k.kind),
        ("kernel", MetricKind::Counter)
    );
    assert_eq!(
        k.fields,
        u(&[
            ("interrupts", 123_456),
            ("context_switches", 987_654),
            ("boot_time", 1_700_000_000),
            ("processes_forked", 4321),
            ("disk_pages_in", 1000),
            ("disk_pages_out", 2000),
            ("entropy_avail", 256),
        ])
    );
}

#[test]
fn processes_by_state() {
    let (m, errs) = gather(&mut gatherer(&tree("t1"), &only("\"processes\"")));
    assert!(errs.is_empty());
    assert_eq!(m.len(), 1);
    assert_eq!(
        (m[0].measurement.as_str(), m[0].kind),
        ("processes", MetricKind::Gauge)
    );
    let want: Vec<(String, FieldValue)> = [
        ("running", 1),
        ("sleeping", 2),
        ("blocked", 1),
        ("zombies", 1),
        ("stopped", 1),
        ("idle", 1),
        ("dead", 0),
        ("paging", 0),
        ("parked", 0),
        ("total", 7),
        ("total_threads", 11),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), FieldValue::Int(*v)))
    .collect();
    assert_eq!(m[0].fields, want);
}

#[test]
fn unknown_collector_is_a_config_error() {
    let cfg = PluginConfig::from_toml_str("inputs.host.0", "collect = [\"gpu\"]\n").unwrap();
    let cx = gleaner_api::BuildContext::for_test("inputs.host.0");
    let err = (DESCRIPTOR.build)(&cfg, &cx).err().expect("rejected");
    assert!(err.to_string().contains("gpu"), "{err}");
    let cfg = PluginConfig::from_toml_str("inputs.host.0", "percpus = true\n").unwrap();
    assert!((DESCRIPTOR.build)(&cfg, &cx).is_err());
}

#[tokio::test]
async fn runs_once_through_the_input() {
    let toml = format!(
        "host_root = {:?}\ncollect = [\"mem\", \"net\"]\n",
        tree("t1").to_str().unwrap()
    );
    let batches = run_input_once(&DESCRIPTOR, &toml).await;
    assert_eq!(batches.len(), 1);
    let Batch::Metrics(m) = &batches[0] else {
        panic!("logs")
    };
    let names: Vec<&str> = m.iter().map(|m| m.measurement.as_str()).collect();
    assert_eq!(names, ["mem", "net", "net"]);
}

#[test]
fn cpu_hot_add_and_counter_decrease_emit_nothing_for_that_cpu() {
    use super::cpu::{CpuState, Times, times};
    use procfs::FromBufReadSI;
    // The CPU lines of a /proc/stat as the collector reads them: procfs's parser, which
    // also wants the lines every kernel writes after them.
    let parse_stat = |cpus: &str| -> Vec<(String, Times)> {
        let text = format!("cpu  0 0 0 0\n{cpus}ctxt 1\nbtime 2\nprocesses 3\n");
        let si = procfs::ExplicitSystemInfo {
            boot_time_secs: 0,
            ticks_per_second: 100,
            page_size: 4096,
            is_little_endian: true,
        };
        let stats = procfs::KernelStats::from_buf_read(text.as_bytes(), &si).unwrap();
        times(&stats, &text)
    };
    let mut st = CpuState::default();
    let mut out = Vec::new();
    st.collect(
        parse_stat("cpu0 10 0 10 100 0 0 0 0 0 0\n"),
        true,
        true,
        1,
        &mut out,
    );
    // cpu0 went back (hotplug reset); cpu1 is new: neither has a usable delta.
    let now = "cpu0 5 0 5 50 0 0 0 0 0 0\ncpu1 10 0 10 100 0 0 0 0 0 0\n";
    st.collect(parse_stat(now), true, true, 2, &mut out);
    assert!(out.is_empty(), "{out:?}");
    let later = "cpu0 15 0 5 60 0 0 0 0 0 0\ncpu1 10 0 20 110 0 0 0 0 0 0\n";
    st.collect(parse_stat(later), true, true, 3, &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(float(&out[0], "usage_user"), 50.0);
    assert_eq!(float(&out[1], "usage_system"), 50.0);
}
