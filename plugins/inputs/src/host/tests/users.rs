//! Tests of `system.n_users` / `n_unique_users`: the utmp fixtures (`t1/var/run/utmp`, and
//! `t2/run/utmp`, found through the `/run` fallback), a host without utmp (fields omitted,
//! no error) and an unreadable utmp (one error per gather, the rest of `system` intact).

use std::path::Path;

use gleaner_api::FieldValue;

use super::super::root::HostRoot;
use super::super::utmp::{self, Users};
use super::{gather, gatherer, only, tree};

fn copy_proc_files(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("proc")).expect("mkdir");
    for f in ["loadavg", "uptime", "stat"] {
        std::fs::copy(from.join("proc").join(f), to.join("proc").join(f)).expect("copy");
    }
}

#[test]
fn utmp_falls_back_to_run_and_ignores_a_short_last_record() {
    let mut buf = Vec::new();
    let got = utmp::read(&HostRoot::new(tree("t2")), &mut buf).expect("readable");
    assert_eq!(
        got,
        Some(Users {
            sessions: 1,
            unique: 1
        })
    );
    let got = utmp::read(&HostRoot::new(tree("t1")), &mut buf).expect("readable");
    assert_eq!(
        got,
        Some(Users {
            sessions: 3,
            unique: 2
        })
    );
}

#[test]
fn no_utmp_means_no_n_users_and_no_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_proc_files(&tree("t1"), dir.path());
    let mut g = gatherer(dir.path(), &only("\"system\""));
    for _ in 0..3 {
        let (m, errs) = gather(&mut g);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(m.len(), 1);
        assert!(m[0].field("n_users").is_none() && m[0].field("n_unique_users").is_none());
        assert_eq!(m[0].field("n_cpus"), Some(&FieldValue::Int(2)));
    }
}

#[test]
fn an_unreadable_utmp_is_one_error_per_gather() {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_proc_files(&tree("t1"), dir.path());
    // A directory where the file should be: open succeeds, read fails (EISDIR).
    std::fs::create_dir_all(dir.path().join("var/run/utmp")).expect("mkdir");
    let mut g = gatherer(dir.path(), &only("\"system\""));
    for round in 1..=3u64 {
        let (m, errs) = gather(&mut g);
        assert_eq!(errs, [("host_system_users", 1)], "round {round}");
        assert_eq!(m.len(), 1, "the rest of system is still there");
        assert!(m[0].field("n_users").is_none());
        assert!(m[0].field("load1").is_some());
    }
}
