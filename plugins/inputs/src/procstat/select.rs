//! Which processes `inputs.procstat` reports: the selector of its config, and the lookup of
//! their pids in a sysinfo process table (threads are not processes here).

use std::path::{Path, PathBuf};

use regex::Regex;
use sysinfo::{Pid, Process, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind, Users};

use super::{ProcstatConfig, pid};

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

    /// The chosen pids, with their figures refreshed in `system` by `refresh`. Matching by
    /// name, command line or user first reads every process's name, command line and user
    /// (once per process); only the chosen ones get the full refresh. With `most` (the last
    /// gather chose more than half of the processes) the full refresh is done in that same
    /// pass over all of them instead: a refresh of chosen pids reads each one's `stat` again
    /// and its whole `status` (sysinfo checks the thread group), which costs more than the
    /// `statm` and `io` of the few processes left out.
    pub fn pids(
        &self,
        system: &mut System,
        users: &Users,
        refresh: ProcessRefreshKind,
        most: bool,
    ) -> Result<Vec<Pid>, String> {
        let by_names = matches!(self.kind, Kind::Exe(_) | Kind::Pattern(_) | Kind::User);
        let mut pids: Vec<Pid> = match &self.kind {
            Kind::PidFile(path) => vec![read_pid_file(path)?],
            Kind::Cgroup(dir) => cgroup_pids(dir)?,
            Kind::SystemdUnit(unit) => {
                let dir = unit_cgroup(unit).ok_or_else(|| {
                    format!("no cgroup for unit {unit} under {CGROUP_ROOT} (system.slice)")
                })?;
                cgroup_pids(&dir)?
            }
            Kind::Exe(_) | Kind::Pattern(_) | Kind::User => {
                // Threads are not listed here (`without_tasks`): reading every process's
                // /proc/<pid>/task is most of a pass over the table, and only the chosen
                // processes' thread counts are reported.
                let names = if most {
                    refresh
                } else {
                    ProcessRefreshKind::nothing()
                        .without_tasks()
                        .with_exe(UpdateKind::OnlyIfNotSet)
                        .with_cmd(UpdateKind::OnlyIfNotSet)
                        .with_user(UpdateKind::OnlyIfNotSet)
                };
                system.refresh_processes_specifics(ProcessesToUpdate::All, true, names);
                // One command line buffer for the whole pass.
                let mut line = String::new();
                system
                    .processes()
                    .values()
                    .filter(|p| p.thread_kind().is_none() && self.matches(p, users, &mut line))
                    .map(Process::pid)
                    .collect()
            }
        };
        pids.sort_unstable();
        pids.dedup();
        if !(most && by_names) {
            system.refresh_processes_specifics(ProcessesToUpdate::Some(&pids), true, refresh);
        }
        // A chosen process may have exited since; and a user filter applies to every kind.
        pids.retain(|p| {
            system
                .process(*p)
                .is_some_and(|proc_| self.user.is_none() || self.user_matches(proc_, users))
        });
        Ok(pids)
    }

    /// Whether `p` is chosen; `line` is scratch space for its command line.
    fn matches(&self, p: &Process, users: &Users, line: &mut String) -> bool {
        let hit = match &self.kind {
            Kind::Exe(re) => {
                re.is_match(&p.name().to_string_lossy())
                    || p.exe()
                        .and_then(Path::file_name)
                        .is_some_and(|f| re.is_match(&f.to_string_lossy()))
            }
            Kind::Pattern(re) => {
                let cmd = p.cmd();
                if cmd.is_empty() {
                    re.is_match(&p.name().to_string_lossy())
                } else {
                    line.clear();
                    for (i, a) in cmd.iter().enumerate() {
                        if i > 0 {
                            line.push(' ');
                        }
                        line.push_str(&a.to_string_lossy());
                    }
                    re.is_match(line)
                }
            }
            _ => true,
        };
        hit && (self.user.is_none() || self.user_matches(p, users))
    }

    fn user_matches(&self, p: &Process, users: &Users) -> bool {
        let Some(want) = &self.user else { return true };
        p.user_id()
            .and_then(|u| users.get_user_by_id(u))
            .is_some_and(|u| u.name() == want)
    }
}

fn read_pid_file(path: &Path) -> Result<Pid, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read pid file {}: {e}", path.display()))?;
    text.trim().parse::<u32>().map(pid).map_err(|_| {
        format!(
            "pid file {} does not hold a pid: {:?}",
            path.display(),
            text.trim()
        )
    })
}

/// The pids in `dir/cgroup.procs` and in the cgroups below `dir`.
fn cgroup_pids(dir: &Path) -> Result<Vec<Pid>, String> {
    let mut pids = Vec::new();
    let mut stack = vec![dir.to_owned()];
    let mut first = true;
    while let Some(d) = stack.pop() {
        match std::fs::read_to_string(d.join("cgroup.procs")) {
            Ok(text) => pids.extend(
                text.lines()
                    .filter_map(|l| l.trim().parse::<u32>().ok())
                    .map(pid),
            ),
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
    Ok(pids)
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
