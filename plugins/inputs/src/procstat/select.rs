//! Which processes `inputs.procstat` reports: the selector of its config, and the lookup of
//! their pids in the process [`Table`] (threads and kernel threads are not processes here).

use std::path::{Path, PathBuf};

use regex::Regex;

use super::ProcstatConfig;
use super::table::Table;
use super::users::UserNames;

/// How processes are chosen.
#[derive(Debug, Clone)]
enum Kind {
    /// A regex on the process name (or its executable's file name).
    Exe(Regex),
    /// A regex on the command line.
    Pattern(Regex),
    /// Every process of a user (with no other selector).
    User,
    PidFile(PathBuf),
    /// A cgroup directory: its `cgroup.procs` and those of the cgroups below it.
    Cgroup(PathBuf),
    /// A systemd unit's cgroup, looked up under the v2, v1 and hybrid hierarchies.
    SystemdUnit(String),
}

/// The config's choice of processes.
#[derive(Debug, Clone)]
pub struct Selector {
    kind: Kind,
    /// The selector tag: `exe`, `pattern`, `user`, `pidfile`, `cgroup` or `systemd_unit`.
    tag: (&'static str, String),
    /// Only processes of this user (with `exe` or `pattern`, or alone).
    user: Option<String>,
}

/// Where the cgroup hierarchies are mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

impl Selector {
    /// The selector of a config: exactly one of exe, pattern, pid_file, cgroup and
    /// systemd_unit, or user alone. Errors name the key.
    pub fn from_config(c: &ProcstatConfig) -> Result<Selector, (&'static str, String)> {
        let set: Vec<&'static str> = [
            ("exe", &c.exe),
            ("pattern", &c.pattern),
            ("pid_file", &c.pid_file),
            ("cgroup", &c.cgroup),
            ("systemd_unit", &c.systemd_unit),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, _)| k)
        .collect();
        if set.len() > 1 {
            return Err((
                set[1],
                format!(
                    "choose processes by one of exe, pattern, pid_file, cgroup, systemd_unit; found {}",
                    set.join(" and ")
                ),
            ));
        }
        let user = (!c.user.is_empty()).then(|| c.user.clone());
        let regex = |key: &'static str, s: &str| {
            Regex::new(s).map_err(|e| (key, format!("invalid regex: {e}")))
        };
        let (kind, tag) = match set.first().copied() {
            Some("exe") => (Kind::Exe(regex("exe", &c.exe)?), ("exe", c.exe.clone())),
            Some("pattern") => (
                Kind::Pattern(regex("pattern", &c.pattern)?),
                ("pattern", c.pattern.clone()),
            ),
            Some("pid_file") => (
                Kind::PidFile(PathBuf::from(&c.pid_file)),
                ("pidfile", c.pid_file.clone()),
            ),
            Some("cgroup") => {
                let p = Path::new(&c.cgroup);
                let dir = if p.is_absolute() {
                    p.to_owned()
                } else {
                    Path::new(CGROUP_ROOT).join(p)
                };
                (Kind::Cgroup(dir), ("cgroup", c.cgroup.clone()))
            }
            Some(_) => (
                Kind::SystemdUnit(c.systemd_unit.clone()),
                ("systemd_unit", c.systemd_unit.clone()),
            ),
            None => match &user {
                Some(u) => (Kind::User, ("user", u.clone())),
                None => {
                    return Err(("exe", "choose processes: set one of exe, pattern, user, pid_file, cgroup or systemd_unit".to_owned()));
                }
            },
        };
        if user.is_some()
            && matches!(
                kind,
                Kind::PidFile(_) | Kind::Cgroup(_) | Kind::SystemdUnit(_)
            )
        {
            return Err(("user", "user narrows exe or pattern (or stands alone), not pid_file, cgroup or systemd_unit".to_owned()));
        }
        Ok(Selector { kind, tag, user })
    }

    /// The selector tag of every metric.
    pub fn tag(&self) -> (&'static str, String) {
        self.tag.clone()
    }

    /// The chosen pids, into `pids` (sorted). Choosing by name, command line or user lists
    /// `/proc` and reads each process's name (and what the selector needs, once per
    /// process); the other kinds read their pids from a file and look at those only.
    pub(super) fn pids(
        &self,
        table: &mut Table,
        users: &mut UserNames,
        pids: &mut Vec<u32>,
    ) -> Result<(), String> {
        pids.clear();
        match &self.kind {
            Kind::PidFile(path) => pids.push(read_pid_file(path)?),
            Kind::Cgroup(dir) => cgroup_pids(dir, pids)?,
            Kind::SystemdUnit(unit) => {
                let dir = unit_cgroup(unit).ok_or_else(|| {
                    format!("no cgroup for unit {unit} under {CGROUP_ROOT} (system.slice)")
                })?;
                cgroup_pids(&dir, pids)?;
            }
            Kind::Exe(_) | Kind::Pattern(_) | Kind::User => {
                table.list(pids)?;
                pids.retain(|&p| table.seen(p) && self.matches(p, table, users));
                pids.sort_unstable();
                return Ok(());
            }
        }
        pids.sort_unstable();
        pids.dedup();
        // A chosen process may have exited since; and a user filter applies to every kind.
        pids.retain(|&p| table.seen(p) && self.user_matches(p, table, users));
        Ok(())
    }

    /// Whether the seen process `pid` is chosen.
    fn matches(&self, pid: u32, table: &mut Table, users: &mut UserNames) -> bool {
        let hit = match &self.kind {
            Kind::Exe(re) => {
                table.name(pid).is_some_and(|n| re.is_match(n))
                    || table.exe_name(pid).is_some_and(|f| re.is_match(f))
            }
            Kind::Pattern(re) => match table.cmdline(pid) {
                Some(line) if !line.is_empty() => re.is_match(line),
                _ => table.name(pid).is_some_and(|n| re.is_match(n)),
            },
            _ => true,
        };
        hit && self.user_matches(pid, table, users)
    }

    fn user_matches(&self, pid: u32, table: &mut Table, users: &mut UserNames) -> bool {
        let Some(want) = &self.user else { return true };
        table
            .uid(pid)
            .and_then(|u| users.name(u))
            .is_some_and(|name| name == want)
    }
}

fn read_pid_file(path: &Path) -> Result<u32, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read pid file {}: {e}", path.display()))?;
    text.trim().parse::<u32>().map_err(|_| {
        format!(
            "pid file {} does not hold a pid: {:?}",
            path.display(),
            text.trim()
        )
    })
}

/// The pids in `dir/cgroup.procs` and in the cgroups below `dir`, added to `pids`.
fn cgroup_pids(dir: &Path, pids: &mut Vec<u32>) -> Result<(), String> {
    let mut stack = vec![dir.to_owned()];
    let mut first = true;
    while let Some(d) = stack.pop() {
        match std::fs::read_to_string(d.join("cgroup.procs")) {
            Ok(text) => pids.extend(text.lines().filter_map(|l| l.trim().parse::<u32>().ok())),
            Err(e) if first => {
                return Err(format!(
                    "cannot read {}: {e}",
                    d.join("cgroup.procs").display()
                ));
            }
            Err(_) => {}
        }
        first = false;
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(entry.path());
            }
        }
    }
    Ok(())
}

/// A unit's cgroup directory: cgroup v2, then v1's systemd hierarchy, then hybrid.
fn unit_cgroup(unit: &str) -> Option<PathBuf> {
    ["", "systemd", "unified"]
        .iter()
        .map(|h| {
            Path::new(CGROUP_ROOT)
                .join(h)
                .join("system.slice")
                .join(unit)
        })
        .find(|d| d.join("cgroup.procs").is_file())
}
