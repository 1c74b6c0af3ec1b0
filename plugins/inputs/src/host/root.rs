//! [`HostRoot`]: where the host's `/proc`, `/sys` and mounts are (`/`, or e.g. `/hostfs` in
//! a container), every read of `inputs.host` goes through it; [`parse`], the bridge from a
//! file read under that root into a buffer we reuse to the `procfs` crate's parsers; and
//! [`NameFilter`], the include/exclude globs (`*`, `?`) for device and interface names.

use std::io::Read;
use std::path::{Path, PathBuf};

use gleaner_api::glob::Glob;

/// The root every host file is read under.
#[derive(Debug, Clone)]
pub(crate) struct HostRoot {
    root: PathBuf,
}

impl HostRoot {
    /// A root at `root` (`/` for the machine itself).
    pub(crate) fn new(root: impl Into<PathBuf>) -> Self {
        HostRoot { root: root.into() }
    }

    /// Whether this is the agent's own `/` (no prefix).
    pub(crate) fn is_slash(&self) -> bool {
        self.root == Path::new("/")
    }

    /// `<root>/<abs>` for an absolute host path such as `/proc/stat`.
    pub(crate) fn join(&self, abs: &str) -> PathBuf {
        self.root.join(abs.trim_start_matches('/'))
    }

    /// The host's mount table: `<root>/proc/1/mountinfo` under a prefix (the agent's own
    /// mount namespace is not the host's), else `/proc/self/mountinfo`.
    pub(crate) fn mountinfo(&self) -> PathBuf {
        if self.is_slash() {
            self.join("/proc/self/mountinfo")
        } else {
            self.join("/proc/1/mountinfo")
        }
    }

    /// Reads `<root>/<abs>` into `buf` (cleared first); `None` when it cannot be read.
    pub(crate) fn read_into(&self, abs: &str, buf: &mut String) -> Option<()> {
        read_path(&self.join(abs), buf)
    }
}

/// Reads `path` into `buf` (cleared first); `None` when it cannot be read as UTF-8.
pub(crate) fn read_path(path: &Path, buf: &mut String) -> Option<()> {
    buf.clear();
    let mut f = std::fs::File::open(path).ok()?;
    f.read_to_string(buf).ok()?;
    Some(())
}

/// Parses text read under the root with `procfs`'s parser for that file. The file is read
/// by [`HostRoot::read_into`] (a buffer reused from gather to gather, any root), not by
/// `procfs`'s `from_file`, which would allocate a path and an 8 KiB `BufReader` per file;
/// a `&[u8]` is already a `BufRead`. `None` when `procfs` rejects the text.
pub(crate) fn parse<T: procfs::FromBufRead>(text: &str) -> Option<T> {
    T::from_buf_read(text.as_bytes()).ok()
}

/// [`parse`] for the files `procfs` reads whole rather than by line (`loadavg`, `uptime`).
pub(crate) fn parse_whole<T: procfs::FromRead>(text: &str) -> Option<T> {
    T::from_read(text.as_bytes()).ok()
}

/// Include and exclude globs on a name: a name passes when `include` is empty or one of
/// its globs matches, and no `exclude` glob matches.
#[derive(Debug, Clone, Default)]
pub(crate) struct NameFilter {
    pub(crate) include: Vec<Glob>,
    pub(crate) exclude: Vec<Glob>,
}

impl NameFilter {
    /// Compiles the include and exclude patterns.
    pub(crate) fn new(include: &[String], exclude: &[String]) -> Self {
        let compile = |v: &[String]| v.iter().map(|p| Glob::new(p.as_str())).collect();
        NameFilter {
            include: compile(include),
            exclude: compile(exclude),
        }
    }

    /// Whether `name` passes.
    pub(crate) fn allows(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|g| g.matches(name)))
            && !self.exclude.iter().any(|g| g.matches(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_filter() {
        let f = NameFilter::new(&[], &["lo".into(), "veth*".into()]);
        assert!(f.allows("eth0") && !f.allows("lo") && !f.allows("veth12"));
        let f = NameFilter::new(&["sd?".into()], &[]);
        assert!(f.allows("sda") && !f.allows("sda1") && !f.allows("nvme0n1"));
    }

    #[test]
    fn joins_under_root() {
        let r = HostRoot::new("/hostfs");
        assert_eq!(r.join("/proc/stat"), Path::new("/hostfs/proc/stat"));
        assert_eq!(r.mountinfo(), Path::new("/hostfs/proc/1/mountinfo"));
        let r = HostRoot::new("/");
        assert_eq!(r.mountinfo(), Path::new("/proc/self/mountinfo"));
    }
}
