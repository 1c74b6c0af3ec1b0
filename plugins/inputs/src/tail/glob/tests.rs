use std::path::Path;

use super::{Glob, GlobError};

fn m(glob: &str, path: &str) -> bool {
    Glob::absolute(glob).unwrap().matches(Path::new(path))
}

#[test]
fn kubelet_pattern() {
    let g = "/var/log/pods/*/*/*.log";
    assert!(m(g, "/var/log/pods/ns_pod_uid/c/0.log"));
    assert!(!m(g, "/var/log/pods/ns_pod_uid/c/0.log.20240101-000000"));
    assert!(!m(g, "/var/log/pods/ns_pod_uid/0.log"));
    assert!(!m(g, "/var/log/pods/a/b/c/0.log"));
    assert_eq!(
        Glob::absolute(g).unwrap().root(),
        Path::new("/var/log/pods")
    );
}

#[test]
fn classes_question_and_double_star() {
    assert!(m("/l/[0-9].log", "/l/7.log"));
    assert!(!m("/l/[!0-9].log", "/l/7.log"));
    assert!(m("/l/?.log", "/l/a.log"));
    assert!(!m("/l/?.log", "/l/ab.log"));
    assert!(m("/l/**/*.log", "/l/x.log"));
    assert!(m("/l/**/*.log", "/l/a/b/c/x.log"));
    assert!(!m("/l/**/*.log", "/m/x.log"));
    assert!(m("/l/*a*b*", "/l/xxaxxbxx"));
    assert!(!m("/l/*a*b", "/l/xxaxxbxx"));
}

#[test]
fn literal_path() {
    let g = Glob::absolute("/var/log/app.log").unwrap();
    assert_eq!(g.root(), Path::new("/var/log"));
    assert!(g.matches(Path::new("/var/log/app.log")));
    assert!(!g.matches(Path::new("/var/log/app.log.1")));
}

#[test]
fn exclude_by_name_or_path() {
    let gz = Glob::exclude("*.gz").unwrap();
    assert!(gz.matches(Path::new("/var/log/pods/a/b/0.log.1.gz")));
    assert!(!gz.matches(Path::new("/var/log/pods/a/b/0.log")));
    let ns = Glob::exclude("/var/log/pods/kube-system_*/**").unwrap();
    assert!(ns.matches(Path::new("/var/log/pods/kube-system_x_y/c/0.log")));
    assert!(!ns.matches(Path::new("/var/log/pods/default_x_y/c/0.log")));
}

#[test]
fn errors() {
    assert_eq!(
        Glob::absolute("var/log/*.log").unwrap_err(),
        GlobError::NotAbsolute("var/log/*.log".into())
    );
    assert!(matches!(
        Glob::absolute("/var/[ab.log"),
        Err(GlobError::UnclosedClass(_))
    ));
    assert!(matches!(
        Glob::absolute("/var/a**/x"),
        Err(GlobError::BadDoubleStar(_))
    ));
}
