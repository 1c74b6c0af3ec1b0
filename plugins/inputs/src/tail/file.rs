//! File identity: (device, inode) plus a fingerprint of the file's first bytes, so a reused
//! inode (a new file that got the number of a deleted one) is told apart from the file whose
//! offset we remember; and where an open file is now (its name, or a sibling with its inode).

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Bytes hashed at most for a fingerprint.
pub(crate) const FINGERPRINT_BYTES: usize = 1024;

/// (device, inode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct FileKey {
    /// `st_dev`.
    pub(crate) dev: u64,
    /// `st_ino`.
    pub(crate) ino: u64,
}

impl FileKey {
    /// The key of a stat result.
    pub(crate) fn of(m: &std::fs::Metadata) -> Self {
        FileKey {
            dev: m.dev(),
            ino: m.ino(),
        }
    }
}

/// FNV-1a of the first `len` bytes (`len` ≤ [`FINGERPRINT_BYTES`]; shorter while the file
/// is shorter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Fingerprint {
    /// Bytes covered.
    pub(crate) len: u32,
    /// Their hash.
    pub(crate) hash: u64,
}

impl Fingerprint {
    /// The fingerprint of a byte prefix.
    pub(crate) fn of_bytes(b: &[u8]) -> Self {
        let b = &b[..b.len().min(FINGERPRINT_BYTES)];
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &x in b {
            h ^= u64::from(x);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Fingerprint {
            len: b.len() as u32,
            hash: h,
        }
    }

    /// Reads the first `len` bytes of `f` (fewer if it is shorter) and fingerprints them.
    pub(crate) fn read(f: &File, len: usize) -> io::Result<Self> {
        let mut buf = [0u8; FINGERPRINT_BYTES];
        let want = len.min(FINGERPRINT_BYTES);
        let mut got = 0;
        while got < want {
            let n = f.read_at(&mut buf[got..want], got as u64)?;
            if n == 0 {
                break;
            }
            got += n;
        }
        Ok(Self::of_bytes(&buf[..got]))
    }

    /// True when this fingerprint is complete (covers [`FINGERPRINT_BYTES`]).
    pub(crate) fn complete(&self) -> bool {
        self.len as usize >= FINGERPRINT_BYTES
    }

    /// True when `f` starts with the bytes this fingerprint covers.
    pub(crate) fn matches(&self, f: &File) -> io::Result<bool> {
        let now = Self::read(f, self.len as usize)?;
        Ok(now == *self)
    }
}

/// True when `f` starts with the gzip magic.
pub(crate) fn is_gzip(f: &File) -> bool {
    let mut magic = [0u8; 2];
    matches!(f.read_at(&mut magic, 0), Ok(2)) && magic == [0x1f, 0x8b]
}

/// The current name of an open file (Linux `/proc/self/fd`); `None` once it is deleted.
pub(crate) fn fd_path(f: &File) -> Option<PathBuf> {
    let p = std::fs::read_link(format!("/proc/self/fd/{}", f.as_raw_fd())).ok()?;
    let s = p.to_string_lossy();
    if s.ends_with(" (deleted)") {
        return None;
    }
    Some(p)
}

/// A file with inode `key` in the directory of `old` (renamed next to it).
pub(crate) fn find_by_inode(old: &Path, key: FileKey) -> Option<PathBuf> {
    let dir = old.parent()?;
    std::fs::read_dir(dir).ok()?.flatten().find_map(|e| {
        let m = e.metadata().ok()?;
        (FileKey::of(&m) == key).then(|| e.path())
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn fingerprint_grows_and_matches_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let mut f = File::create(&p).unwrap();
        f.write_all(b"hello").unwrap();
        let r = File::open(&p).unwrap();
        let fp = Fingerprint::read(&r, FINGERPRINT_BYTES).unwrap();
        assert_eq!(fp.len, 5);
        assert!(!fp.complete());
        f.write_all(&[b'x'; 2000]).unwrap();
        assert!(
            fp.matches(&r).unwrap(),
            "a grown file still matches its prefix"
        );
        let full = Fingerprint::read(&r, FINGERPRINT_BYTES).unwrap();
        assert!(full.complete());
        std::fs::write(&p, b"other content").unwrap();
        assert!(!fp.matches(&r).unwrap());
    }
}
