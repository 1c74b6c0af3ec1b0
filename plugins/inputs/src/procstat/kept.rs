//! Descriptors of `/proc` files: [`Kept`] open between gathers within a budget shared by
//! every procstat instance (half of the open-file limit, raised first to its hard limit as
//! `sysinfo` did and Go does for every program, at most 4,096), read from their start each
//! time ([`read_kept`]); or opened, read whole and closed ([`read_at`]).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicIsize, Ordering};

use rustix::fd::OwnedFd;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// Reads `path` (relative to `dir`) whole into `buf`; false when it cannot be read (the
/// process exited). `inputs.host`'s process walk reads `/proc/<pid>/stat` with it too.
pub(crate) fn read_at(dir: &OwnedFd, path: &str, buf: &mut Vec<u8>) -> bool {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC;
    let Ok(fd) = rustix::fs::openat(dir, path, flags, Mode::empty()) else {
        return false;
    };
    buf.clear();
    loop {
        if buf.capacity() - buf.len() < 512 {
            buf.reserve(buf.capacity().max(1024));
        }
        match rustix::io::read(&fd, rustix::buffer::spare_capacity(buf)) {
            Ok(0) => return true,
            Ok(_) | Err(Errno::INTR) => {}
            Err(_) => return false,
        }
    }
}

/// Reads a kept file whole from its start into `buf`.
pub(super) fn read_kept(kept: &Kept, buf: &mut Vec<u8>) -> Result<(), Errno> {
    loop {
        buf.clear();
        let n = rustix::io::pread(&kept.fd, rustix::buffer::spare_capacity(buf), 0)?;
        // A full buffer may have cut the file: read it again into a larger one.
        if n < buf.capacity() {
            return Ok(());
        }
        buf.reserve(buf.capacity().max(1024) * 2);
    }
}

/// A descriptor kept open between gathers, counted against the shared budget.
#[derive(Debug)]
pub(super) struct Kept {
    pub(super) fd: OwnedFd,
}

impl Kept {
    /// Opens `path` (relative to `dir`) with `flags` to keep; `None` when it cannot be opened or the
    /// budget is spent.
    pub(super) fn open(dir: &OwnedFd, path: &str, flags: OFlags) -> Option<Kept> {
        budget()
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n > 0).then(|| n - 1)
            })
            .ok()?;
        match rustix::fs::openat(dir, path, flags | OFlags::CLOEXEC, Mode::empty()) {
            Ok(fd) => Some(Kept { fd }),
            Err(_) => {
                budget().fetch_add(1, Ordering::AcqRel);
                None
            }
        }
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        budget().fetch_add(1, Ordering::AcqRel);
    }
}

/// Descriptors procstat may still keep open.
fn budget() -> &'static AtomicIsize {
    static BUDGET: OnceLock<AtomicIsize> = OnceLock::new();
    BUDGET.get_or_init(|| {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let mut limit = getrlimit(Resource::Nofile);
        if limit.current < limit.maximum {
            let raised = rustix::process::Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            };
            if setrlimit(Resource::Nofile, raised).is_ok() {
                limit = raised;
            }
        }
        let soft = limit.current.unwrap_or(u64::MAX);
        AtomicIsize::new(isize::try_from((soft / 2).min(4096)).unwrap_or(4096))
    })
}
