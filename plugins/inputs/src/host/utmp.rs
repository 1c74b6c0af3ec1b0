//! `system.n_users` and `system.n_unique_users`: the logged-in sessions of the host's utmp
//! file (`<root>/var/run/utmp`, else `<root>/run/utmp`), as `who` counts them.
//!
//! The file is an array of glibc's `struct utmp` as laid out on x86_64 (and every 64-bit
//! Linux glibc port with 32-bit `ut_tv`): 384 bytes, `ut_type` an `i16` at offset 0 and
//! `ut_user` 32 bytes at offset 44 (NUL-padded, not always NUL-terminated). A session is a
//! record of type `USER_PROCESS` (7). A short record at the end (the file being written) is
//! ignored. Parsed by hand from bytes: no `unsafe`, no libc.
//!
//! Like Telegraf, a host without a utmp file (most containers, minimal images) simply has no
//! `n_users`: that is not an error. Any other read failure is one error per gather.

use std::io::Read;

use super::root::HostRoot;

/// Size of one `struct utmp` record.
pub(crate) const RECORD: usize = 384;
/// Offset and length of `ut_user`.
const USER: std::ops::Range<usize> = 44..76;
/// `ut_type` of a login session.
const USER_PROCESS: i16 = 7;

/// The counts of one utmp file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Users {
    /// Sessions (`USER_PROCESS` records).
    pub(crate) sessions: i64,
    /// Distinct user names among them.
    pub(crate) unique: i64,
}

/// Reading the utmp file failed for another reason than its absence.
#[derive(Debug, thiserror::Error)]
#[error("cannot read utmp {path}: {source}")]
pub(crate) struct ReadUtmpError {
    path: String,
    source: std::io::Error,
}

/// Counts the sessions of `<root>/var/run/utmp` (else `<root>/run/utmp`) read into `buf`;
/// `Ok(None)` when neither file exists.
pub(crate) fn read(root: &HostRoot, buf: &mut Vec<u8>) -> Result<Option<Users>, ReadUtmpError> {
    for candidate in ["/var/run/utmp", "/run/utmp"] {
        let path = root.join(candidate);
        buf.clear();
        let read = std::fs::File::open(&path).and_then(|mut f| f.read_to_end(buf));
        match read {
            Ok(_) => return Ok(Some(count(buf))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(ReadUtmpError {
                    path: path.display().to_string(),
                    source,
                });
            }
        }
    }
    Ok(None)
}

/// Counts the `USER_PROCESS` records of a utmp image, and their distinct user names.
pub(crate) fn count(data: &[u8]) -> Users {
    // Distinct names, by value; a host has few sessions, so a linear scan is cheapest.
    let mut names: Vec<&[u8]> = Vec::new();
    let mut sessions = 0;
    for rec in data.chunks_exact(RECORD) {
        if i16::from_ne_bytes([rec[0], rec[1]]) != USER_PROCESS {
            continue;
        }
        sessions += 1;
        let user = &rec[USER];
        let user = &user[..user.iter().position(|&b| b == 0).unwrap_or(user.len())];
        if !names.contains(&user) {
            names.push(user);
        }
    }
    Users {
        sessions,
        unique: names.len() as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: i16, user: &[u8]) -> Vec<u8> {
        let mut r = vec![0u8; RECORD];
        r[..2].copy_from_slice(&kind.to_ne_bytes());
        r[USER.start..USER.start + user.len()].copy_from_slice(user);
        r
    }

    #[test]
    fn counts_user_processes_and_distinct_names() {
        let mut data = Vec::new();
        data.extend(record(2, b"reboot")); // BOOT_TIME
        data.extend(record(USER_PROCESS, b"alice"));
        data.extend(record(8, b"carol")); // DEAD_PROCESS
        data.extend(record(USER_PROCESS, b"bob"));
        data.extend(record(USER_PROCESS, b"alice"));
        // A 32-byte name fills the field with no NUL.
        data.extend(record(USER_PROCESS, &[b'x'; 32]));
        data.extend(&record(USER_PROCESS, b"partial")[..100]);
        assert_eq!(
            count(&data),
            Users {
                sessions: 4,
                unique: 3
            }
        );
        assert_eq!(
            count(&[]),
            Users {
                sessions: 0,
                unique: 0
            }
        );
    }
}
