//! [`HostRoot`]: where the host's `/proc`, `/sys` and mounts are (`/`, or e.g. `/hostfs` in
//! a container), every read of `inputs.host` goes through it; and [`NameFilter`], the
//! include/exclude globs (`*`, `?`) for device and interface names.

use std::io::Read;
use std::path::{Path, PathBuf};

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

/// Include and exclude globs on a name: a name passes when `include` is empty or one of
/// its globs matches, and no `exclude` glob matches.
#[derive(Debug, Clone, Default)]
pub(crate) struct NameFilter {
    pub(crate) include: Vec<String>,
    pub(crate) exclude: Vec<String>,
}

impl NameFilter {
    /// Whether `name` passes.
    pub(crate) fn allows(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|g| glob_match(g, name)))
            && !self.exclude.iter().any(|g| glob_match(g, name))
    }
}

/// `*` (any run, `/` included) and `?` (one character); everything else literal.
pub(crate) fn glob_match(glob: &str, name: &str) -> bool {
    let (g, n): (Vec<char>, Vec<char>) = (glob.chars().collect(), name.chars().collect());
    let (mut gi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match g.get(gi) {
            Some('*') => {
                star = Some((gi, ni));
                gi += 1;
            }
            Some(c) if *c == '?' || *c == n[ni] => {
                gi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sg, sn)) => {
                    gi = sg + 1;
                    ni = sn + 1;
                    star = Some((sg, sn + 1));
                }
                None => return false,
            },
        }
    }
    g[gi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("eth*", "eth0"));
        assert!(glob_match("*", ""));
        assert!(glob_match("sd?", "sda"));
        assert!(!glob_match("sd?", "sda1"));
        assert!(glob_match("/var/*", "/var/lib/x"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(!glob_match("lo", "lo0"));
        let f = NameFilter {
            include: vec![],
            exclude: vec!["lo".into(), "veth*".into()],
        };
        assert!(f.allows("eth0") && !f.allows("lo") && !f.allows("veth12"));
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
