//! Tests of the disk, diskio and net collectors against `testdata/host/t1`, a root with
//! no files at all, and a live gather of this machine's `/proc`.

use gleaner_api::{FieldValue, MetricKind, PluginConfig};

use super::super::HostConfig;
use super::super::gather::Gatherer;
use super::super::root::HostRoot;
use super::{float, gather, gatherer, only, tags, tree, u};

#[test]
fn disk_from_host_mountinfo() {
    let (m, errs) = gather(&mut gatherer(&tree("t1"), &only("\"disk\"")));
    assert!(errs.is_empty());
    // proc, devtmpfs and tmpfs ignored; /boot (mounted over by vfat) fails statvfs.
    assert_eq!(m.len(), 2, "{m:?}");
    assert_eq!(m[0].kind, MetricKind::Gauge);
    assert_eq!(
        tags(&m[0]),
        [
            ("device", "sda1"),
            ("fstype", "ext4"),
            ("mode", "rw"),
            ("path", "/")
        ]
    );
    assert_eq!(
        m[0].fields[..3],
        u(&[("total", 1_000_000), ("free", 350_000), ("used", 600_000)])[..]
    );
    assert!((float(&m[0], "used_percent") - 100.0 * 600_000.0 / 950_000.0).abs() < 1e-9);
    assert_eq!(
        m[0].fields[4..7],
        u(&[
            ("inodes_total", 1000),
            ("inodes_free", 250),
            ("inodes_used", 750)
        ])[..]
    );
    assert_eq!(float(&m[0], "inodes_used_percent"), 75.0);
    assert_eq!(m[1].tag("path"), Some("/data disk"));
    assert_eq!(m[1].tag("fstype"), Some("xfs"));
    assert_eq!(float(&m[1], "inodes_used_percent"), 0.0);

    let (m, _) = gather(&mut gatherer(
        &tree("t1"),
        "collect = [\"disk\"]\nmount_points = [\"/data*\"]\n",
    ));
    assert_eq!(m.len(), 1);
    let mounts = super::super::disk::parse_mountinfo(
        "26 22 8:3 / /boot ro,relatime shared:4 - ext4 /dev/sda3 ro\n",
    );
    assert!(mounts[0].read_only);
}

#[test]
fn diskio_counters_and_in_flight_gauge() {
    let (m, errs) = gather(&mut gatherer(&tree("t1"), &only("\"diskio\"")));
    assert!(errs.is_empty());
    let names: Vec<_> = m.iter().map(|m| (m.tag("name").unwrap(), m.kind)).collect();
    use MetricKind::{Counter, Gauge};
    assert_eq!(
        names,
        [
            ("sda", Counter),
            ("sda", Gauge),
            ("sda1", Counter),
            ("sda1", Gauge),
            ("nvme0n1", Counter),
            ("nvme0n1", Gauge)
        ]
    );
    assert_eq!(m[0].measurement, "diskio");
    assert_eq!(
        m[0].fields,
        u(&[
            ("reads", 1000),
            ("merged_reads", 200),
            ("read_bytes", 80_000 * 512),
            ("read_time", 5000),
            ("writes", 2000),
            ("merged_writes", 300),
            ("write_bytes", 160_000 * 512),
            ("write_time", 9000),
            ("io_time", 7000),
            ("weighted_io_time", 14_000),
        ])
    );
    assert_eq!(m[1].fields, u(&[("iops_in_progress", 2)]));
    let (m, _) = gather(&mut gatherer(
        &tree("t1"),
        "collect = [\"diskio\"]\ndevices = [\"sd*\"]\nexclude_devices = [\"sd?1\"]\n",
    ));
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].tag("name"), Some("sda"));
}

#[test]
fn net_counters_per_interface() {
    let (m, errs) = gather(&mut gatherer(&tree("t1"), &only("\"net\"")));
    assert!(errs.is_empty());
    let names: Vec<_> = m.iter().map(|m| m.tag("interface").unwrap()).collect();
    assert_eq!(names, ["eth0", "veth1a2b"], "lo excluded by default");
    assert_eq!(
        (m[0].measurement.as_str(), m[0].kind),
        ("net", MetricKind::Counter)
    );
    assert_eq!(
        m[0].fields,
        u(&[
            ("bytes_recv", 987_654_321),
            ("packets_recv", 654_321),
            ("err_in", 1),
            ("drop_in", 2),
            ("bytes_sent", 123_456_789),
            ("packets_sent", 54_321),
            ("err_out", 3),
            ("drop_out", 4),
        ])
    );
    let (m, _) = gather(&mut gatherer(
        &tree("t1"),
        "collect = [\"net\"]\ninterfaces = [\"*\"]\nexclude_interfaces = [\"veth*\"]\n",
    ));
    let names: Vec<_> = m.iter().map(|m| m.tag("interface").unwrap()).collect();
    assert_eq!(names, ["lo", "eth0"]);
}

#[test]
fn missing_files_count_errors_and_emit_nothing() {
    let (m, errs) = gather(&mut gatherer(&tree("does-not-exist"), ""));
    assert!(m.is_empty());
    let mut reasons: Vec<_> = errs.iter().map(|(r, n)| (*r, *n)).collect();
    reasons.sort_unstable();
    assert_eq!(
        reasons,
        [
            ("host_cpu", 1),
            ("host_disk", 1),
            ("host_diskio", 1),
            ("host_kernel", 1),
            ("host_mem", 1),
            ("host_net", 1),
            ("host_processes", 1),
            ("host_swap", 1),
            ("host_system", 1),
        ]
    );
}

#[test]
fn live_proc_of_this_machine() {
    let cfg = PluginConfig::from_toml_str("inputs.host.0", "host_root = \"/\"\n").unwrap();
    let config: HostConfig = cfg.parse().unwrap();
    let mut g = Gatherer::new(HostRoot::new("/"), &config);
    let (first, _) = gather(&mut g);
    let total = first
        .iter()
        .find(|m| m.measurement == "mem")
        .and_then(|m| m.field("total").cloned());
    assert!(
        matches!(total, Some(FieldValue::UInt(t)) if t > 0),
        "{total:?}"
    );
    assert!(first.iter().any(|m| m.measurement == "system"));
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (second, errs) = gather(&mut g);
    assert!(
        second.iter().any(|m| m.measurement == "cpu"),
        "no cpu metric on the second gather"
    );
    assert!(
        errs.iter()
            .all(|(r, _)| *r != "host_cpu" && *r != "host_mem")
    );
}
