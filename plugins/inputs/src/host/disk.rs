//! `disk`: space and inodes of every mounted filesystem, from the host's mount table
//! (`mountinfo`, see [`HostRoot::mountinfo`]) and `statvfs` of `<root>/<mount point>`.
//! Tags `path` (the host's mount point), `device` (source without `/dev/`), `fstype`, `mode`
//! (`rw`/`ro`); gauge fields `total`, `free` (available to unprivileged users), `used`,
//! `used_percent` (`used / (used + free)`, as `df` and Telegraf), `inodes_total`,
//! `inodes_free`, `inodes_used`, `inodes_used_percent`. Filesystems in `ignore_fs`, mount
//! points not matching `mount_points`, and mounts whose `statvfs` fails (a stale NFS, a
//! path the container cannot see) are skipped. When a mount point is mounted over, the last
//! (visible) mount counts.

use gleaner_api::{FieldValue, Metric, MetricKind};

use gleaner_api::glob::Glob;

use super::root::HostRoot;

/// One line of mountinfo.
#[derive(Debug, PartialEq)]
pub(crate) struct Mount {
    pub(crate) path: String,
    pub(crate) device: String,
    pub(crate) fstype: String,
    pub(crate) read_only: bool,
}

/// What `statvfs` says, in bytes and inodes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Space {
    pub(crate) total: u64,
    pub(crate) free: u64,
    pub(crate) avail: u64,
    pub(crate) files: u64,
    pub(crate) files_free: u64,
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = u32::from(b[i + 1] - b'0') * 64
                + u32::from(b[i + 2] - b'0') * 8
                + u32::from(b[i + 3] - b'0');
            out.push(u8::try_from(v).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses mountinfo (`proc(5)`): `id parent maj:min root mount_point options [optional…] -
/// fstype source super_options`.
pub(crate) fn parse_mountinfo(text: &str) -> Vec<Mount> {
    let mut out: Vec<Mount> = Vec::new();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let left: Vec<&str> = left.split(' ').collect();
        let mut right = right.split(' ');
        let (Some(path), Some(opts)) = (left.get(4), left.get(5)) else {
            continue;
        };
        let (Some(fstype), Some(source)) = (right.next(), right.next()) else {
            continue;
        };
        let path = unescape(path);
        let source = unescape(source);
        let mount = Mount {
            device: source.strip_prefix("/dev/").unwrap_or(&source).to_owned(),
            fstype: fstype.to_owned(),
            read_only: opts.split(',').any(|o| o == "ro"),
            path,
        };
        out.retain(|m| m.path != mount.path);
        out.push(mount);
    }
    out
}

/// `statvfs` of `path`, safely through rustix; `None` when it fails.
pub(crate) fn statvfs(path: &std::path::Path) -> Option<Space> {
    let s = rustix::fs::statvfs(path).ok()?;
    let frsize = if s.f_frsize == 0 {
        s.f_bsize
    } else {
        s.f_frsize
    };
    Some(Space {
        total: s.f_blocks.saturating_mul(frsize),
        free: s.f_bfree.saturating_mul(frsize),
        avail: s.f_bavail.saturating_mul(frsize),
        files: s.f_files,
        files_free: s.f_ffree,
    })
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// The `disk` metric of one mount.
pub(crate) fn metric(m: &Mount, s: &Space, ts: i64) -> Metric {
    let used = s.total.saturating_sub(s.free);
    let inodes_used = s.files.saturating_sub(s.files_free);
    Metric::new("disk", ts)
        .with_kind(MetricKind::Gauge)
        .with_tag("path", m.path.as_str())
        .with_tag("device", m.device.as_str())
        .with_tag("fstype", m.fstype.as_str())
        .with_tag("mode", if m.read_only { "ro" } else { "rw" })
        .with_field("total", FieldValue::UInt(s.total))
        .with_field("free", FieldValue::UInt(s.avail))
        .with_field("used", FieldValue::UInt(used))
        .with_field("used_percent", FieldValue::Float(pct(used, used + s.avail)))
        .with_field("inodes_total", FieldValue::UInt(s.files))
        .with_field("inodes_free", FieldValue::UInt(s.files_free))
        .with_field("inodes_used", FieldValue::UInt(inodes_used))
        .with_field(
            "inodes_used_percent",
            FieldValue::Float(pct(inodes_used, s.files)),
        )
}

/// One metric per mount that passes the filters and whose `stat` succeeds.
pub(crate) fn collect(
    root: &HostRoot,
    mounts: &[Mount],
    ignore_fs: &[String],
    mount_points: &[Glob],
    stat: &dyn Fn(&std::path::Path) -> Option<Space>,
    ts: i64,
    out: &mut Vec<Metric>,
) {
    for m in mounts {
        if ignore_fs.contains(&m.fstype)
            || (!mount_points.is_empty() && !mount_points.iter().any(|g| g.matches(&m.path)))
        {
            continue;
        }
        if let Some(s) = stat(&root.join(&m.path)) {
            out.push(metric(m, &s, ts));
        }
    }
}

/// Reads the host's mount table into `buf`; false when it cannot be read.
pub(crate) fn read_mounts(root: &HostRoot, buf: &mut String) -> bool {
    super::root::read_path(&root.mountinfo(), buf).is_some()
}
