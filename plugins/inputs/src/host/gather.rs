//! [`Gatherer`]: the collectors' settings and state, and one gather of every enabled
//! collector under one timestamp. Each `/proc` file is read under the host root into a
//! reused buffer and parsed by the `procfs` crate's parser for it (`/proc/stat` and
//! `/proc/vmstat` once per gather for all the collectors that use them). A collector whose file is missing or malformed emits
//! nothing and counts an error `host_<collector>` (`host_system_users` for an unreadable
//! utmp file; a missing one is no error). Runs on the blocking pool.

use gleaner_api::glob::Glob;
use std::path::Path;

use gleaner_api::{ComponentMetrics, Metric, now_ns};

use procfs::net::InterfaceDeviceStatus;
use procfs::{
    DiskStats, ExplicitSystemInfo, FromBufReadSI, KernelStats, LoadAverage, Meminfo, Uptime, VmStat,
};

use super::root::{HostRoot, NameFilter, parse, parse_whole};
use super::{
    COLLECTORS, HostConfig, cpu, disk, diskio, kernel, mem, net, processes, swap, system, utmp,
};
use tracing::debug;

/// The `/proc/vmstat` counters `swap` and `kernel` report.
const VMSTAT_KEYS: [&str; 4] = ["pswpin", "pswpout", "pgpgin", "pgpgout"];

/// The collectors' settings and state, moved to the blocking pool for each gather.
pub(crate) struct Gatherer {
    pub(crate) root: HostRoot,
    pub(crate) enabled: [bool; 9],
    pub(crate) percpu: bool,
    pub(crate) totalcpu: bool,
    pub(crate) ignore_fs: Vec<String>,
    pub(crate) mount_points: Vec<Glob>,
    pub(crate) devices: NameFilter,
    pub(crate) interfaces: NameFilter,
    pub(crate) cpu: cpu::CpuState,
    /// `statvfs`, replaceable in tests.
    pub(crate) statfs: fn(&Path) -> Option<disk::Space>,
    /// Reused read buffers.
    pub(crate) stat: String,
    pub(crate) buf: String,
    pub(crate) extra: String,
    /// The lines of `/proc/vmstat` we report.
    vm: String,
    pub(crate) utmp: Vec<u8>,
    pub(crate) scan: processes::Scan,
    /// What `procfs`'s `/proc/stat` parser asks for (clock ticks per second; unused by the
    /// counters we read, which stay in ticks).
    si: ExplicitSystemInfo,
}

impl Gatherer {
    pub(crate) fn new(root: HostRoot, c: &HostConfig) -> Self {
        let mut enabled = [false; 9];
        for (i, name) in COLLECTORS.iter().enumerate() {
            enabled[i] = c.collect.iter().any(|x| x == name);
        }
        Gatherer {
            root,
            enabled,
            percpu: c.percpu,
            totalcpu: c.totalcpu,
            ignore_fs: c.ignore_fs.clone(),
            mount_points: c
                .mount_points
                .iter()
                .map(|p| Glob::new(p.as_str()))
                .collect(),
            devices: NameFilter::new(&c.devices, &c.exclude_devices),
            interfaces: NameFilter::new(&c.interfaces, &c.exclude_interfaces),
            cpu: cpu::CpuState::default(),
            statfs: disk::statvfs,
            stat: String::new(),
            buf: String::new(),
            extra: String::new(),
            vm: String::new(),
            utmp: Vec::new(),
            scan: processes::Scan::default(),
            si: ExplicitSystemInfo {
                boot_time_secs: 0,
                ticks_per_second: procfs::ticks_per_second(),
                page_size: procfs::page_size(),
                is_little_endian: cfg!(target_endian = "little"),
            },
        }
    }

    fn on(&self, name: &str) -> bool {
        COLLECTORS
            .iter()
            .position(|c| *c == name)
            .is_some_and(|i| self.enabled[i])
    }

    /// One gather: every enabled collector, one timestamp.
    pub(crate) fn gather(&mut self, errors: &ComponentMetrics) -> Vec<Metric> {
        let ts = now_ns();
        let mut out = Vec::with_capacity(64);
        let root = self.root.clone();
        let fail = |ok: bool, reason: &'static str| {
            if !ok {
                errors.error(reason);
            }
        };
        // /proc/stat feeds cpu, system (n_cpus) and kernel; /proc/vmstat swap and kernel:
        // each is read and parsed once.
        let stats: Option<KernelStats> = if self.on("cpu") || self.on("system") || self.on("kernel")
        {
            root.read_into("/proc/stat", &mut self.stat)
                .and_then(|()| KernelStats::from_buf_read(self.stat.as_bytes(), &self.si).ok())
        } else {
            None
        };
        let vmstat: Option<VmStat> = if self.on("swap") || self.on("kernel") {
            root.read_into("/proc/vmstat", &mut self.buf)
                .and_then(|()| {
                    // `VmStat` makes an owned key per line, ~180 lines for the 4 we report:
                    // it gets only those (370 → 12 allocations per gather).
                    self.vm.clear();
                    for line in self.buf.lines() {
                        let key = line.split(' ').next().unwrap_or("");
                        if VMSTAT_KEYS.contains(&key) {
                            self.vm.push_str(line);
                            self.vm.push('\n');
                        }
                    }
                    parse(&self.vm)
                })
        } else {
            None
        };

        if self.on("cpu") {
            fail(stats.is_some(), "host_cpu");
            if let Some(s) = &stats {
                let now = cpu::times(s, &self.stat);
                self.cpu
                    .collect(now, self.percpu, self.totalcpu, ts, &mut out);
            }
        }
        if self.on("mem") || self.on("swap") {
            let info: Option<Meminfo> = root
                .read_into("/proc/meminfo", &mut self.buf)
                .and_then(|()| parse(&self.buf));
            if self.on("mem") {
                fail(info.is_some(), "host_mem");
                out.extend(info.as_ref().map(|i| mem::collect(i, ts)));
            }
            if self.on("swap") {
                fail(info.is_some(), "host_swap");
                out.extend(info.as_ref().map(|i| swap::collect_space(i, ts)));
            }
        }
        if self.on("swap")
            && let Some(vm) = &vmstat
        {
            out.extend(swap::collect_io(vm, ts));
        }
        if self.on("disk") {
            let ok = disk::read_mounts(&root, &mut self.buf);
            fail(ok, "host_disk");
            if ok {
                let mounts = disk::parse_mountinfo(&self.buf);
                let statfs = self.statfs;
                disk::collect(
                    &root,
                    &mounts,
                    &self.ignore_fs,
                    &self.mount_points,
                    &statfs,
                    ts,
                    &mut out,
                );
            }
        }
        if self.on("diskio") {
            let stats: Option<DiskStats> = root
                .read_into("/proc/diskstats", &mut self.buf)
                .and_then(|()| parse(&self.buf));
            fail(stats.is_some(), "host_diskio");
            if let Some(s) = &stats {
                diskio::collect(s, &self.devices, ts, &mut out);
            }
        }
        if self.on("net") {
            let dev: Option<InterfaceDeviceStatus> = root
                .read_into("/proc/net/dev", &mut self.buf)
                .and_then(|()| parse(&self.buf));
            fail(dev.is_some(), "host_net");
            if let Some(d) = &dev {
                net::collect(d, &self.buf, &self.interfaces, ts, &mut out);
            }
        }
        if self.on("system") {
            let up: Option<Uptime> = root
                .read_into("/proc/uptime", &mut self.extra)
                .and_then(|()| parse_whole(&self.extra));
            let users = match utmp::read(&root, &mut self.utmp) {
                Ok(users) => users,
                Err(e) => {
                    debug!(error = %e, "system: n_users omitted");
                    errors.error("host_system_users");
                    None
                }
            };
            let load: Option<LoadAverage> = root
                .read_into("/proc/loadavg", &mut self.buf)
                .and_then(|()| parse_whole(&self.buf));
            let n_cpus = stats.as_ref().map(|s| s.cpu_time.len());
            let m = load.map(|l| system::collect(&l, up.as_ref(), users, n_cpus, ts));
            fail(m.is_some(), "host_system");
            out.extend(m);
        }
        if self.on("processes") {
            let m = processes::collect(&root, &mut self.scan, ts);
            fail(m.is_some(), "host_processes");
            out.extend(m);
        }
        if self.on("kernel") {
            let entropy = root
                .read_into("/proc/sys/kernel/random/entropy_avail", &mut self.extra)
                .map(|()| self.extra.as_str());
            let m = stats
                .as_ref()
                .map(|s| kernel::collect(s, &self.stat, vmstat.as_ref(), entropy, ts));
            fail(m.is_some(), "host_kernel");
            out.extend(m);
        }
        out
    }
}
