//! The parsers of the `/proc/<pid>` files a procstat gather reads: the `stat` line (name,
//! flags, CPU ticks, threads, start time), `statm` (memory), the `read_bytes`/`write_bytes`
//! lines of `io` and the real uid of `status`, from bytes and without allocating. `procfs_core`'s `Stat` and `Io` read the same
//! files but cost 0.86 and 0.97 µs per process (a copy of the line, an owned `comm`; a
//! `HashMap` of seven owned keys for `io`) against 0.35 and 0.03 µs here: 0.9 ms of a 500-process
//! gather whose budget is 5 ms (docs/decisions.md, *`inputs.procstat`*).

/// `PF_KTHREAD` of the kernel's process flags: a kernel thread.
const PF_KTHREAD: u64 = 0x0020_0000;

/// The figures of one `/proc/<pid>/stat` line a gather uses (fields 3 to 22 must be there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Stat {
    /// A kernel thread (`flags`, field 9).
    pub kthread: bool,
    /// `utime` + `stime` (fields 14 and 15), clock ticks.
    pub cpu_ticks: u64,
    /// Field 20.
    pub num_threads: u64,
    /// Field 22: clock ticks after boot.
    pub start_ticks: u64,
}

/// The name (`comm`, field 2, between the first `(` and the last `)`) and the figures of a
/// stat line; `None` when it is malformed.
pub(super) fn stat(line: &[u8]) -> Option<(&[u8], Stat)> {
    let open = line.iter().position(|&b| b == b'(')?;
    let close = line.iter().rposition(|&b| b == b')')?;
    let name = line.get(open + 1..close)?;
    // Field 3 (the state) comes first after ") ".
    let mut cols = line.get(close + 2..)?.split(|&b| b == b' ');
    let mut s = Stat::default();
    // Fields are counted from the previous one read: 9 is the 7th after 3 (index 6).
    let flags = field(&mut cols, 6)?;
    s.kthread = flags & PF_KTHREAD != 0;
    let utime = field(&mut cols, 4)?;
    let stime = field(&mut cols, 0)?;
    s.cpu_ticks = utime.saturating_add(stime);
    s.num_threads = field(&mut cols, 4)?;
    s.start_ticks = field(&mut cols, 1)?;
    Some((name, s))
}

/// The number `n` columns after the last one taken.
fn field<'a>(cols: &mut impl Iterator<Item = &'a [u8]>, n: usize) -> Option<u64> {
    number(cols.nth(n)?)
}

/// The size and the resident set of `/proc/<pid>/statm`, in pages. `stat` has them too, but
/// its resident set is the kernel's per-CPU estimate (10% under `VmRSS` for a small process
/// on Linux 6.18); `statm` sums it, as `status` does.
pub(super) fn statm(text: &[u8]) -> Option<(u64, u64)> {
    let mut cols = text.trim_ascii_end().split(|&b| b == b' ');
    Some((number(cols.next()?)?, number(cols.next()?)?))
}

/// `read_bytes` and `write_bytes` of `/proc/<pid>/io`; `None` when either is missing.
pub(super) fn io(text: &[u8]) -> Option<(u64, u64)> {
    let (mut read, mut write) = (None, None);
    for line in text.split(|&b| b == b'\n') {
        if let Some(v) = line.strip_prefix(b"read_bytes: ") {
            read = number(v);
        } else if let Some(v) = line.strip_prefix(b"write_bytes: ") {
            write = number(v);
        }
    }
    Some((read?, write?))
}

/// The `Uid:` line's first number (the real uid) of `/proc/<pid>/status`.
pub(super) fn real_uid(status: &[u8]) -> Option<u32> {
    let line = status
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"Uid:"))?;
    let first = line
        .split(|&b| b == b'\t' || b == b' ')
        .find(|f| !f.is_empty())?;
    u32::try_from(number(first)?).ok()
}

/// A decimal number of ASCII digits only.
fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if d.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{Stat, io, real_uid, stat, statm};

    /// A stat line of Linux 6.x (a name with a space and a parenthesis, as `comm` may hold).
    const LINE: &[u8] = b"4242 (my (proc) x) S 1 4242 4242 0 -1 4194560 1500 0 3 0 \
        250 120 0 0 20 0 7 0 98765 123456789 3210 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 \
        17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

    #[test]
    fn a_stat_line_gives_name_and_figures() {
        let (name, s) = stat(LINE).expect("parsed");
        assert_eq!(name, b"my (proc) x");
        assert_eq!(
            s,
            Stat {
                kthread: false,
                cpu_ticks: 370,
                num_threads: 7,
                start_ticks: 98765,
            }
        );
    }

    #[test]
    fn a_kernel_thread_is_told_by_its_flags() {
        let line = b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 3 0 0 20 0 1 0 9 0 0 \
            18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0";
        let (name, s) = stat(line).expect("parsed");
        assert_eq!(
            (name, s.kthread, s.start_ticks),
            (&b"kthreadd"[..], true, 9)
        );
    }

    #[test]
    fn malformed_stat_lines_are_refused() {
        assert_eq!(stat(b""), None);
        assert_eq!(stat(b"12 (x S 1 2"), None);
        assert_eq!(
            stat(b"12 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18"),
            None
        );
        assert_eq!(stat(b"12 (x) S 1 2 3 4 5 nope 7 8 9 10 11 12 13"), None);
    }

    #[test]
    fn io_and_status_give_their_numbers() {
        let text = b"rchar: 100\nwchar: 200\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\n\
            write_bytes: 8192\ncancelled_write_bytes: 0\n";
        assert_eq!(io(text), Some((4096, 8192)));
        assert_eq!(io(b"rchar: 1\n"), None);
        assert_eq!(statm(b"2000 454 400 5 0 90 0\n"), Some((2000, 454)));
        assert_eq!(statm(b"2000\n"), None);
        let status = b"Name:\tsleep\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t5\t5\t5\t5\n";
        assert_eq!(real_uid(status), Some(1000));
        assert_eq!(real_uid(b"Name:\tx\n"), None);
    }
}
