//! [`Gatherer`]: the collectors' settings and state, and one gather of every enabled
//! collector under one timestamp. A collector whose file is missing or malformed emits
//! nothing and counts an error `host_<collector>` (`host_system_users` for an unreadable
//! utmp file; a missing one is no error). Runs on the blocking pool.

use gleaner_api::glob::Glob;
use std::path::Path;

use gleaner_api::{ComponentMetrics, Metric, now_ns};

use super::root::{HostRoot, NameFilter};
use super::{
    COLLECTORS, HostConfig, cpu, disk, diskio, kernel, mem, net, processes, swap, system, utmp,
};
use tracing::debug;

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
    pub(crate) utmp: Vec<u8>,
    pub(crate) scan: processes::Scan,
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
            utmp: Vec::new(),
            scan: processes::Scan::default(),
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
        let stat_ok = (self.on("cpu") || self.on("system") || self.on("kernel"))
            && root.read_into("/proc/stat", &mut self.stat).is_some();
        let stat = if stat_ok { self.stat.as_str() } else { "" };
        let fail = |ok: bool, reason: &'static str| {
            if !ok {
                errors.error(reason);
            }
        };

        if self.on("cpu") {
            fail(stat_ok, "host_cpu");
            if stat_ok {
                let now = cpu::parse_stat(stat);
                self.cpu
                    .collect(now, self.percpu, self.totalcpu, ts, &mut out);
            }
        }
        if self.on("mem") || self.on("swap") {
            let ok = root.read_into("/proc/meminfo", &mut self.buf).is_some();
            let info = mem::parse_meminfo(if ok { &self.buf } else { "" });
            if self.on("mem") {
                let m = mem::collect(&info, ts);
                fail(m.is_some(), "host_mem");
                out.extend(m);
            }
            if self.on("swap") {
                let m = swap::collect_space(&info, ts);
                fail(m.is_some(), "host_swap");
                out.extend(m);
            }
        }
        if self.on("swap") && root.read_into("/proc/vmstat", &mut self.buf).is_some() {
            out.extend(swap::collect_io(&self.buf, ts));
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
            let ok = root.read_into("/proc/diskstats", &mut self.buf).is_some();
            fail(ok, "host_diskio");
            if ok {
                diskio::collect(&self.buf, &self.devices, ts, &mut out);
            }
        }
        if self.on("net") {
            let ok = root.read_into("/proc/net/dev", &mut self.buf).is_some();
            fail(ok, "host_net");
            if ok {
                net::collect(&self.buf, &self.interfaces, ts, &mut out);
            }
        }
        if self.on("system") {
            let up = root
                .read_into("/proc/uptime", &mut self.extra)
                .map(|()| self.extra.as_str());
            let users = match utmp::read(&root, &mut self.utmp) {
                Ok(users) => users,
                Err(e) => {
                    debug!(error = %e, "system: n_users omitted");
                    errors.error("host_system_users");
                    None
                }
            };
            let m = root
                .read_into("/proc/loadavg", &mut self.buf)
                .and_then(|()| system::collect(&self.buf, up, users, stat, ts));
            fail(m.is_some(), "host_system");
            out.extend(m);
        }
        if self.on("processes") {
            let m = processes::collect(&root, &mut self.scan, ts);
            fail(m.is_some(), "host_processes");
            out.extend(m);
        }
        if self.on("kernel") {
            let vm = root
                .read_into("/proc/vmstat", &mut self.buf)
                .map(|()| self.buf.as_str());
            let entropy = root
                .read_into("/proc/sys/kernel/random/entropy_avail", &mut self.extra)
                .map(|()| self.extra.as_str());
            let m = kernel::collect(stat, vm, entropy, ts);
            fail(m.is_some(), "host_kernel");
            out.extend(m);
        }
        out
    }
}
