//! [`Table`]: the processes `inputs.procstat` knows, read from `/proc` by us rather than by
//! `sysinfo`'s `System`, whose refresh reads `stat` of every process, then opens and closes
//! `statm`, `io` and the whole `status` of each chosen one (and `task` for its threads).
//!
//! What a gather reads, per process:
//! - every listed process: its name, from a descriptor kept open between gathers: `comm`
//!   (0.7 µs a read there, 4.5 µs to open, read and close it), or `stat` for a process
//!   chosen before, whose figures that one read then gives. A kept descriptor also tells a
//!   reused pid apart: once its process is gone every read fails, so a new process under the
//!   same pid is read afresh. When the name changes (an exec), the cached command line and
//!   executable are read again (an exec that keeps the name keeps them, as `sysinfo` did);
//! - once per process: `stat` (kernel thread or not, start time), and when the selector or
//!   the metric needs them the command line, the executable's name and the real uid;
//! - the chosen processes: `stat` (CPU ticks, threads), `statm` (memory: `stat`'s resident
//!   set is a per-CPU estimate, 10% low for a small process), `io`
//!   (`read_bytes`, `write_bytes`) and an `fstat` of `fd` held with `O_PATH` (its size is
//!   its number of descriptors on Linux >= 6.2; no path to walk), all kept open.
//!
//! Kept descriptors are bounded by a budget shared by every procstat instance: half of the
//! open-file limit, raised first to its hard limit as `sysinfo` did (and Go does for every
//! program), at most 4,096; past it a file is opened, read and closed each gather, and a
//! process without a kept `comm` is checked by its start time instead.

use std::collections::HashMap;
use std::time::Instant;

use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags, RawDir};
use rustix::io::Errno;

use super::kept::{Kept, read_at, read_kept};
use super::parse;

/// What a gather reports of a chosen process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Figures {
    /// Percent of one core since the previous read; 0 on the first.
    pub cpu_usage: f64,
    pub rss_bytes: u64,
    pub vms_bytes: u64,
    pub threads: u64,
    /// Start time, ns since the epoch.
    pub created_at_ns: i64,
    /// `read_bytes` and `write_bytes`; `None` when `io` is not ours to read.
    pub io: Option<(u64, u64)>,
    /// Open descriptors, when the kernel tells them by the size of `fd` (Linux >= 6.2).
    pub fds: Option<usize>,
}

/// One process.
#[derive(Debug, Default)]
struct Entry {
    /// `<pid>/comm`, kept open (see the module doc).
    comm: Option<Kept>,
    /// `<pid>/stat` and `<pid>/io` of a chosen process, kept open.
    stat: Option<Kept>,
    io: Option<Kept>,
    /// `<pid>/statm` of a chosen process, kept open.
    statm: Option<Kept>,
    /// `<pid>/fd` of a chosen process, kept open with `O_PATH`.
    fd_dir: Option<Kept>,
    /// The `stat` figures read by [`Table::seen`] this gather (the generation), and when.
    fresh: Option<(u64, parse::Stat, Instant)>,
    /// `io` could not be opened (another user's process, without privileges).
    io_denied: bool,
    name: String,
    kthread: bool,
    start_ticks: u64,
    /// The command line, arguments joined by spaces, once read.
    cmdline: Option<String>,
    /// The executable's file name, once read (`Some(None)`: unreadable).
    exe: Option<Option<String>>,
    /// The real uid, once read (`Some(None)`: unreadable).
    uid: Option<Option<u32>>,
    /// CPU ticks at the previous figures, and when they were read.
    prev_cpu: Option<(u64, Instant)>,
    /// The gather that last saw it.
    seen: u64,
}

/// The process table, kept between gathers.
#[derive(Debug)]
pub(super) struct Table {
    /// `/proc`, which every path is relative to.
    proc_dir: Option<OwnedFd>,
    entries: HashMap<u32, Entry>,
    generation: u64,
    /// `getdents64` output.
    dents: Vec<u8>,
    /// `<pid>/<file>`.
    path: String,
    /// File contents.
    buf: Vec<u8>,
    ticks_per_second: u64,
    page_size: u64,
    /// Boot time, clock ticks since the epoch.
    boot_ticks: u64,
}

impl Table {
    pub(super) fn new() -> Table {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let ticks_per_second = procfs::ticks_per_second().max(1);
        let boot_ticks = procfs::boot_time_secs()
            .unwrap_or(0)
            .saturating_mul(ticks_per_second);
        Table {
            proc_dir: rustix::fs::open("/proc", flags, Mode::empty()).ok(),
            entries: HashMap::new(),
            generation: 0,
            dents: Vec::new(),
            path: String::new(),
            buf: Vec::with_capacity(1024),
            ticks_per_second,
            page_size: procfs::page_size(),
            boot_ticks,
        }
    }

    /// Starts a gather: processes not [`seen`](Table::seen) before [`end`](Table::end) are
    /// forgotten.
    pub(super) fn begin(&mut self) {
        self.generation += 1;
    }

    /// Forgets the processes this gather did not see (their descriptors are closed).
    pub(super) fn end(&mut self) {
        let g = self.generation;
        self.entries.retain(|_, e| e.seen == g);
    }

    /// The pids listed in `/proc` (processes: threads are not listed there), into `pids`.
    pub(super) fn list(&mut self, pids: &mut Vec<u32>) -> Result<(), String> {
        pids.clear();
        let dir = self.proc_dir.as_ref().ok_or("cannot open /proc")?;
        if self.dents.capacity() == 0 {
            self.dents.reserve(32 * 1024);
        }
        // Listing from the start again (the descriptor is reused from gather to gather).
        rustix::fs::seek(dir, rustix::fs::SeekFrom::Start(0))
            .map_err(|e| format!("cannot list /proc: {e}"))?;
        'listing: loop {
            let mut entries = RawDir::new(dir, self.dents.spare_capacity_mut());
            while let Some(entry) = entries.next() {
                match entry {
                    Ok(e) => {
                        if let Some(pid) = pid_of(e.file_name().to_bytes()) {
                            pids.push(pid);
                        }
                    }
                    // The buffer cannot hold the next entry: grow it and go on from there.
                    Err(Errno::INVAL) => {
                        let more = self.dents.capacity() * 2;
                        self.dents.reserve(more);
                        continue 'listing;
                    }
                    Err(e) => return Err(format!("cannot list /proc: {e}")),
                }
            }
            return Ok(());
        }
    }

    /// Marks `pid` seen by this gather, reading its name (and, the first time, its start
    /// time and kind); false when it is gone or a kernel thread.
    pub(super) fn seen(&mut self, pid: u32) -> bool {
        let Some(dir) = self.proc_dir.as_ref() else {
            return false;
        };
        if let Some(e) = self.entries.get_mut(&pid) {
            // The name comes from the kept `stat` of a process chosen before (whose figures
            // are then read once this gather), else from the kept `comm`, else from `stat`
            // read afresh and checked by its start time. A kept descriptor that cannot be
            // read means the process is gone.
            let generation = self.generation;
            let name = if let Some(stat) = &e.stat {
                read_kept(stat, &mut self.buf)
                    .ok()
                    .and_then(|()| parse::stat(&self.buf))
                    .filter(|(_, s)| s.start_ticks == e.start_ticks)
                    .map(|(name, s)| {
                        e.fresh = Some((generation, s, Instant::now()));
                        name
                    })
            } else if let Some(comm) = &e.comm {
                read_kept(comm, &mut self.buf)
                    .ok()
                    .map(|()| trim_newline(&self.buf))
            } else {
                set_path(&mut self.path, pid, "stat");
                read_at(dir, &self.path, &mut self.buf)
                    .then(|| parse::stat(&self.buf))
                    .flatten()
                    .filter(|(_, s)| s.start_ticks == e.start_ticks)
                    .map(|(name, _)| name)
            };
            if let Some(name) = name {
                if name != e.name.as_bytes() {
                    // An exec: what the command line and executable were is stale.
                    e.name = String::from_utf8_lossy(name).into_owned();
                    e.cmdline = None;
                    e.exe = None;
                }
                e.seen = generation;
                return !e.kthread;
            }
            // Gone, and the pid listed again: a new process.
            self.entries.remove(&pid);
        }
        set_path(&mut self.path, pid, "stat");
        if !read_at(dir, &self.path, &mut self.buf) {
            return false;
        }
        let Some((name, stat)) = parse::stat(&self.buf) else {
            return false;
        };
        let mut e = Entry {
            name: String::from_utf8_lossy(name).into_owned(),
            kthread: stat.kthread,
            start_ticks: stat.start_ticks,
            seen: self.generation,
            ..Entry::default()
        };
        // Kernel threads too: a read that fails tells their pid was reused.
        set_path(&mut self.path, pid, "comm");
        e.comm = Kept::open(dir, &self.path, OFlags::RDONLY);
        let kthread = e.kthread;
        self.entries.insert(pid, e);
        !kthread
    }

    /// Whether `pid` is in the table (its descriptors open).
    #[cfg(test)]
    pub(super) fn knows(&self, pid: u32) -> bool {
        self.entries.contains_key(&pid)
    }

    /// The name (`comm`) of a seen process.
    pub(super) fn name(&self, pid: u32) -> Option<&str> {
        self.entries.get(&pid).map(|e| e.name.as_str())
    }

    /// The command line of a seen process, its arguments joined by spaces (empty for a
    /// zombie), read once.
    pub(super) fn cmdline(&mut self, pid: u32) -> Option<&str> {
        let dir = self.proc_dir.as_ref()?;
        let e = self.entries.get_mut(&pid)?;
        if e.cmdline.is_none() {
            set_path(&mut self.path, pid, "cmdline");
            let mut line = String::new();
            if read_at(dir, &self.path, &mut self.buf) {
                for arg in self.buf.split(|&b| b == 0) {
                    let arg = arg.trim_ascii();
                    if !arg.is_empty() {
                        if !line.is_empty() {
                            line.push(' ');
                        }
                        line.push_str(&String::from_utf8_lossy(arg));
                    }
                }
            }
            e.cmdline = Some(line);
        }
        e.cmdline.as_deref()
    }

    /// The file name of a seen process's executable, read once; `None` when it cannot be
    /// read (another user's process without privileges).
    pub(super) fn exe_name(&mut self, pid: u32) -> Option<&str> {
        let dir = self.proc_dir.as_ref()?;
        let e = self.entries.get_mut(&pid)?;
        if e.exe.is_none() {
            set_path(&mut self.path, pid, "exe");
            let target = rustix::fs::readlinkat(dir, self.path.as_str(), Vec::new()).ok();
            e.exe = Some(target.and_then(|t| {
                let t = t.as_bytes();
                // A replaced or removed executable reads as "<path> (deleted)".
                let t = t.strip_suffix(b" (deleted)").unwrap_or(t);
                let file = t.rsplit(|&b| b == b'/').next()?;
                (!file.is_empty()).then(|| String::from_utf8_lossy(file).into_owned())
            }));
        }
        e.exe.as_ref().and_then(Option::as_deref)
    }

    /// The real uid of a seen process, read once.
    pub(super) fn uid(&mut self, pid: u32) -> Option<u32> {
        let dir = self.proc_dir.as_ref()?;
        let e = self.entries.get_mut(&pid)?;
        if e.uid.is_none() {
            set_path(&mut self.path, pid, "status");
            let uid = read_at(dir, &self.path, &mut self.buf)
                .then(|| parse::real_uid(&self.buf))
                .flatten();
            e.uid = Some(uid);
        }
        e.uid.flatten()
    }

    /// The figures of a seen process; `None` when it is gone (or was replaced by a new
    /// process under its pid since [`seen`](Table::seen)). Updates its name.
    pub(super) fn figures(&mut self, pid: u32) -> Option<Figures> {
        let dir = self.proc_dir.as_ref()?;
        let e = self.entries.get_mut(&pid)?;
        let (stat, now) = match e.fresh.take() {
            Some((generation, stat, at)) if generation == self.generation => (stat, at),
            _ => {
                set_path(&mut self.path, pid, "stat");
                if !read_keeping(dir, &mut e.stat, &self.path, &mut self.buf) {
                    return None;
                }
                let (name, stat) = parse::stat(&self.buf)?;
                if stat.start_ticks != e.start_ticks {
                    return None;
                }
                if name != e.name.as_bytes() {
                    e.name = String::from_utf8_lossy(name).into_owned();
                }
                (stat, Instant::now())
            }
        };
        let cpu_usage = match e.prev_cpu {
            Some((ticks, at)) => {
                let secs = now.duration_since(at).as_secs_f64();
                let used =
                    stat.cpu_ticks.saturating_sub(ticks) as f64 / self.ticks_per_second as f64;
                if secs > 0.0 { used / secs * 100.0 } else { 0.0 }
            }
            None => 0.0,
        };
        e.prev_cpu = Some((stat.cpu_ticks, now));
        set_path(&mut self.path, pid, "statm");
        let read = read_keeping(dir, &mut e.statm, &self.path, &mut self.buf);
        let (vm_pages, rss_pages) = read.then(|| parse::statm(&self.buf)).flatten()?;
        let io = if e.io_denied {
            None
        } else {
            set_path(&mut self.path, pid, "io");
            let read = read_keeping(dir, &mut e.io, &self.path, &mut self.buf);
            if !read {
                e.io_denied = true;
                e.io = None;
            }
            read.then(|| parse::io(&self.buf)).flatten()
        };
        // The size of `fd` is its number of descriptors (Linux >= 6.2): one `fstat` of a kept
        // `O_PATH` descriptor, no path to walk. 0 on older kernels: counted by the caller.
        set_path(&mut self.path, pid, "fd");
        if e.fd_dir.is_none() {
            e.fd_dir = Kept::open(dir, &self.path, OFlags::PATH | OFlags::DIRECTORY);
        }
        let fds = e
            .fd_dir
            .as_ref()
            .and_then(|kept| rustix::fs::fstat(&kept.fd).ok())
            .and_then(|st| usize::try_from(st.st_size).ok())
            .filter(|&n| n > 0);
        let start_ns = u128::from(self.boot_ticks.saturating_add(stat.start_ticks)) * 1_000_000_000
            / u128::from(self.ticks_per_second);
        Some(Figures {
            cpu_usage,
            rss_bytes: rss_pages.saturating_mul(self.page_size),
            vms_bytes: vm_pages.saturating_mul(self.page_size),
            threads: stat.num_threads,
            created_at_ns: i64::try_from(start_ns).unwrap_or(i64::MAX),
            io,
            fds,
        })
    }
}

/// Reads `path` (under `dir`) into `buf` through `kept`, opening it and keeping it open the
/// first time (when the descriptor budget allows), else opening, reading and closing it;
/// false when it cannot be read.
fn read_keeping(dir: &OwnedFd, kept: &mut Option<Kept>, path: &str, buf: &mut Vec<u8>) -> bool {
    if kept.is_none() {
        *kept = Kept::open(dir, path, OFlags::RDONLY);
    }
    match kept {
        Some(k) => read_kept(k, buf).is_ok(),
        None => read_at(dir, path, buf),
    }
}

/// A pid from a `/proc` entry name.
fn pid_of(name: &[u8]) -> Option<u32> {
    if name.is_empty() || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

/// `<pid>/<file>` into `path`.
fn set_path(path: &mut String, pid: u32, file: &str) {
    use std::fmt::Write;
    path.clear();
    // Writing to a String does not fail.
    let _infallible = write!(path, "{pid}/{file}");
}

fn trim_newline(b: &[u8]) -> &[u8] {
    b.strip_suffix(b"\n").unwrap_or(b)
}
