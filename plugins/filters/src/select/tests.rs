//! `filters.select` on `testdata/records.tsv`.

use gleaner_api::{Batch, Metric};

use super::DESCRIPTOR;
use crate::testkit::{bodies, build, filter, k8s_records, run_logs};

#[test]
fn exclude_drops_matches_and_counts_them() {
    let (mut f, m) = filter(
        &DESCRIPTOR,
        "exclude = { \"log.level\" = [\"debug\", \"trace\"], body = \"/healthz/\" }\n",
    );
    let out = run_logs(f.as_mut(), k8s_records());
    assert_eq!(out.len(), 7);
    assert!(
        !bodies(&out)
            .iter()
            .any(|b| b.contains("healthz") || b.contains("cache hit"))
    );
    assert_eq!(m.dropped_count("select_excluded"), 3);
}

#[test]
fn include_keeps_only_matches_and_all_needs_every_condition() {
    let (mut f, m) = filter(
        &DESCRIPTOR,
        "include = { \"k8s.namespace\" = [\"payments*\"], \"log.level\" = \"info\" }\n\
         combine = \"all\"\n",
    );
    let out = run_logs(f.as_mut(), k8s_records());
    assert_eq!(bodies(&out), ["charge created"]);
    assert_eq!(m.dropped_count("select_not_included"), 9);
    let (mut f, _) = filter(
        &DESCRIPTOR,
        "include = { \"k8s.namespace\" = \"kube-system\" }\nexclude = { body = \"/^\\\\[INFO\\\\]/\" }\n",
    );
    let out = run_logs(f.as_mut(), k8s_records());
    assert_eq!(bodies(&out).len(), 1);
    assert!(bodies(&out)[0].starts_with("[ERROR]"));
}

#[test]
fn metrics_pass_unless_asked_for() {
    let batch = || {
        Batch::Metrics(vec![
            Metric::new("debug_requests", 0),
            Metric::new("requests", 0).with_tag("env", "dev-3"),
            Metric::new("requests", 0).with_tag("env", "prod"),
        ])
    };
    let (mut f, _) = filter(&DESCRIPTOR, "include = { body = \"x\" }\n");
    let mut b = batch();
    f.process(&mut b);
    assert_eq!(b.len(), 3, "kinds defaults to logs");
    let (mut f, _) = filter(
        &DESCRIPTOR,
        "exclude = { name = \"debug_*\", env = \"dev*\" }\nkinds = [\"metrics\"]\n",
    );
    let mut b = batch();
    f.process(&mut b);
    let Batch::Metrics(ms) = b else {
        panic!("kind")
    };
    assert_eq!(ms.len(), 1);
    assert_eq!(ms[0].tag("env"), Some("prod"));
}

#[test]
fn without_conditions_everything_passes() {
    let (mut f, _) = filter(&DESCRIPTOR, "");
    assert_eq!(run_logs(f.as_mut(), k8s_records()).len(), 10);
}

#[test]
fn config_errors() {
    for (toml, key) in [
        (
            "exclude = { body = \"/(/\" }\n",
            "filters.select.0.exclude.body",
        ),
        (
            "exclude = { body = \"x\" }\ncombine = \"most\"\n",
            "filters.select.0.combine",
        ),
        (
            "exclude = { body = \"x\" }\nkinds = [\"traces\"]\n",
            "filters.select.0.kinds",
        ),
        ("exlude = { body = \"x\" }\n", "filters.select.0.exlude"),
    ] {
        let e = build(&DESCRIPTOR, toml)
            .err()
            .unwrap_or_else(|| panic!("{toml} builds"));
        assert_eq!(e.key.as_deref(), Some(key), "{toml}: {e}");
    }
}

#[test]
fn a_shared_list_decides_unless_the_record_s_own_attributes_hold_a_condition_name() {
    use gleaner_api::{Attributes, FieldValue, LogRecord, SharedAttributes, Stream};
    let s = |v: &str| FieldValue::String(v.into());
    let plain: SharedAttributes = vec![("file".into(), s("/a.log"))].into();
    let debug: SharedAttributes = vec![("level".into(), s("debug"))].into();
    let rec = |list: &SharedAttributes, own: Option<&str>, body: &str| {
        let mut r = LogRecord::new(0, body, Stream::Stdout);
        r.attributes = Attributes::from_shared(list.clone());
        if let Some(level) = own {
            r.attributes.push("level", s(level));
        }
        r
    };
    let (mut f, m) = filter(&DESCRIPTOR, "exclude = { level = \"debug\" }\n");
    let out = run_logs(
        f.as_mut(),
        vec![
            rec(&plain, None, "kept 1"),
            rec(&plain, Some("debug"), "dropped: own"),
            rec(&plain, Some("info"), "kept 2"),
            rec(&plain, None, "kept 3"),
            rec(&debug, None, "dropped: list"),
            rec(&debug, Some("info"), "dropped: the list's comes first"),
            rec(&plain, Some("debug"), "dropped: own again"),
        ],
    );
    assert_eq!(bodies(&out), ["kept 1", "kept 2", "kept 3"]);
    assert_eq!(m.dropped_count("select_excluded"), 4);
}
