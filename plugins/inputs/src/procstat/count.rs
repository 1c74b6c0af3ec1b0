//! [`DirCounter`]: the number of entries of `/proc/<pid>/fd` (`num_fds`) of the chosen
//! processes. One `stat` of the directory answers on current kernels: its size is its number
//! of descriptors (Linux ≥ 6.2); listing `fd` made the kernel build a dentry per descriptor, a
//! fifth of an all-process gather's CPU in `perf`. Where the figure is missing (an older
//! kernel gives size 0), the directory is counted with `getdents64` into a buffer reused from
//! process to process and gather to gather ([`rustix::fs::RawDir`]: no name is copied).

use rustix::fs::{Mode, OFlags, RawDir};
use rustix::io::Errno;

/// Reused buffers.
#[derive(Debug, Default)]
pub(super) struct DirCounter {
    /// `getdents64` output.
    dir: Vec<u8>,
    /// `/proc/<pid>/<sub>`.
    path: String,
}

impl DirCounter {
    /// Open descriptors of `pid`; `None` when they are not ours to see (or it exited).
    pub(super) fn fds(&mut self, pid: u32) -> Option<usize> {
        self.set_path(pid, "fd")?;
        match rustix::fs::stat(self.path.as_str()) {
            Ok(st) if st.st_size > 0 => usize::try_from(st.st_size).ok(),
            Ok(_) => self.list(),
            Err(_) => None,
        }
    }

    /// `/proc/<pid>/<sub>` into `path`.
    fn set_path(&mut self, pid: u32, sub: &str) -> Option<()> {
        use std::fmt::Write;
        self.path.clear();
        // Writing to a String does not fail; no allocation once it has grown.
        write!(self.path, "/proc/{pid}/{sub}").ok()
    }

    /// Entries of the directory at `path` other than `.` and `..`; `None` when it cannot be
    /// listed.
    fn list(&mut self) -> Option<usize> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = rustix::fs::open(self.path.as_str(), flags, Mode::empty()).ok()?;
        if self.dir.capacity() == 0 {
            self.dir.reserve(8 * 1024);
        }
        let mut n = 0;
        'listing: loop {
            let mut entries = RawDir::new(&fd, self.dir.spare_capacity_mut());
            while let Some(entry) = entries.next() {
                match entry {
                    Ok(e) => {
                        let name = e.file_name().to_bytes();
                        if name != b"." && name != b".." {
                            n += 1;
                        }
                    }
                    // The buffer cannot hold the next entry: grow it and go on from there.
                    Err(Errno::INVAL) => {
                        let more = self.dir.capacity() * 2;
                        self.dir.reserve(more);
                        continue 'listing;
                    }
                    Err(_) => return None,
                }
            }
            break;
        }
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::DirCounter;

    #[test]
    fn counts_a_sleeping_child_descriptors() {
        use std::process::{Command, Stdio};
        let mut child = Command::new("sleep")
            .arg("30")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sleep");
        let mut c = DirCounter::default();
        let pid = child.id();
        // Before it sleeps, it may still open and close files (locale data).
        crate::procstat::tests::wait_until_asleep(pid);
        let std_fds = || {
            std::fs::read_dir(format!("/proc/{pid}/fd"))
                .expect("fd dir")
                .count()
        };
        c.set_path(pid, "task");
        assert_eq!(c.list(), Some(1), "one thread");
        // sleep may still open and close files while it starts (locale data): compare with
        // std's listing taken just before and after, until the two agree.
        let mut compared = false;
        for _ in 0..1000 {
            let before = std_fds();
            let ours = c.fds(pid);
            c.set_path(pid, "fd");
            let listed = c.list();
            if std_fds() == before {
                assert!(before >= 3, "{before}");
                assert_eq!((ours, listed), (Some(before), Some(before)));
                compared = true;
                break;
            }
        }
        assert!(compared, "the child's descriptors never held still");
        let _kill = child.kill();
        let _wait = child.wait();
        assert_eq!(c.fds(u32::MAX), None);
    }
}
