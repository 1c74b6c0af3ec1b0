//! The selectors against the shapes of Telegraf's documented examples (docs/CONFIGURATION.md,
//! "Metric Filtering"), written in our own words, and the config errors.

use super::*;
use crate::config::ConfigError;
use crate::event::FieldValue;
use toml::de::DeTable;

fn sel(text: &str) -> Selectors {
    let t = DeTable::parse(text).expect("toml");
    Selectors::from_table(t.get_ref(), "inputs.x.0")
        .expect("valid selectors")
        .expect("some selectors")
}

fn errors(text: &str) -> Vec<ConfigError> {
    let t = DeTable::parse(text).expect("toml");
    Selectors::from_table(t.get_ref(), "inputs.x.0").expect_err("invalid selectors")
}

fn metric(name: &str, tags: &[(&str, &str)], fields: &[&str]) -> Metric {
    let mut m = Metric::new(name, 1);
    for (k, v) in tags {
        m = m.with_tag(*k, *v);
    }
    for f in fields {
        m = m.with_field(*f, FieldValue::Int(1));
    }
    m
}

fn field_keys(m: &Metric) -> Vec<&str> {
    m.fields.iter().map(|(k, _)| k.as_str()).collect()
}

fn tag_keys(m: &Metric) -> Vec<&str> {
    m.tags.keys().collect()
}

/// Select then modify, as an input or output does.
fn run(s: &Selectors, m: Metric) -> Result<Metric, Rejection> {
    let mut v = vec![m];
    let drops = s.apply(&mut v, |_| {});
    match v.pop() {
        Some(m) => Ok(m),
        None => Err(*Rejection::ALL
            .iter()
            .find(|r| drops.get(**r) == 1)
            .expect("one drop counted")),
    }
}

#[test]
fn a_table_without_selectors_has_none() {
    let t = DeTable::parse("listen = \"x\"\n").expect("toml");
    assert_eq!(Selectors::from_table(t.get_ref(), "inputs.x.0"), Ok(None));
}

#[test]
fn tagdrop_drops_the_listed_cpus_and_fieldexclude_trims() {
    // A per-cpu input that leaves out two cpus and one field.
    let s = sel("fieldexclude = [\"cpu_time\"]\n[tagdrop]\ncpu = [\"cpu6\", \"cpu7\"]\n");
    let m = |cpu| metric("cpu", &[("cpu", cpu)], &["usage_user", "cpu_time"]);
    assert_eq!(run(&s, m("cpu6")), Err(Rejection::TagDrop));
    assert_eq!(run(&s, m("cpu7")), Err(Rejection::TagDrop));
    let kept = run(&s, m("cpu0")).expect("cpu0 passes");
    assert_eq!(field_keys(&kept), ["usage_user"]);
    // A metric without the tag is not dropped by it.
    assert!(run(&s, metric("cpu", &[], &["usage_user"])).is_ok());
}

#[test]
fn tagpass_entries_are_alternatives() {
    // Disks pass when the filesystem is ext4 or xfs, or when the path is /opt or /home*.
    let s = sel("[tagpass]\nfstype = [\"ext4\", \"xfs\"]\npath = [\"/opt\", \"/home*\"]\n");
    let disk = |fstype, path| metric("disk", &[("fstype", fstype), ("path", path)], &["free"]);
    assert!(run(&s, disk("ext4", "/var")).is_ok());
    assert!(run(&s, disk("tmpfs", "/home/alice")).is_ok());
    assert!(run(&s, disk("tmpfs", "/opt")).is_ok());
    assert_eq!(run(&s, disk("tmpfs", "/optional")), Err(Rejection::TagPass));
    assert_eq!(run(&s, disk("btrfs", "/var")), Err(Rejection::TagPass));
    // No tag of the table at all: not taken.
    assert_eq!(
        run(&s, metric("disk", &[], &["free"])),
        Err(Rejection::TagPass)
    );
}

#[test]
fn tagdrop_on_an_instance_prefix() {
    let s = sel("[tagdrop]\ninstance = [\"isatap*\", \"Local*\"]\n");
    let net = |i| metric("win_net", &[("instance", i)], &["bytes"]);
    assert_eq!(run(&s, net("isatap.{1234}")), Err(Rejection::TagDrop));
    assert_eq!(
        run(&s, net("Local Area Connection")),
        Err(Rejection::TagDrop)
    );
    assert!(run(&s, net("Ethernet0")).is_ok());
}

#[test]
fn fieldexclude_and_fieldinclude() {
    let s = sel("fieldexclude = [\"usage_guest\", \"usage_steal\"]\n");
    let m = run(
        &s,
        metric("cpu", &[], &["usage_user", "usage_guest", "usage_steal"]),
    )
    .expect("kept");
    assert_eq!(field_keys(&m), ["usage_user"]);

    let s = sel("fieldinclude = [\"inodes*\"]\n");
    let m = run(
        &s,
        metric("disk", &[], &["free", "inodes_free", "inodes_used"]),
    )
    .expect("kept");
    assert_eq!(field_keys(&m), ["inodes_free", "inodes_used"]);
    // A metric left with no field is dropped.
    assert_eq!(
        run(&s, metric("disk", &[], &["free", "used"])),
        Err(Rejection::NoFields)
    );
}

#[test]
fn fieldinclude_then_fieldexclude() {
    let s = sel("fieldinclude = [\"usage_*\"]\nfieldexclude = [\"usage_guest*\"]\n");
    let m = run(
        &s,
        metric("cpu", &[], &["usage_user", "usage_guest_nice", "time_user"]),
    )
    .expect("kept");
    assert_eq!(field_keys(&m), ["usage_user"]);
}

#[test]
fn fieldpass_and_fielddrop_are_the_old_names() {
    assert_eq!(
        sel("fieldpass = [\"a*\"]\nfielddrop = [\"ab\"]\n"),
        sel("fieldinclude = [\"a*\"]\nfieldexclude = [\"ab\"]\n")
    );
    let e = errors("fieldinclude = [\"a\"]\nfieldpass = [\"b\"]\n");
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].key.as_deref(), Some("inputs.x.0.fieldpass"));
    assert!(e[0].message.contains("another name for `fieldinclude`"));
}

#[test]
fn namepass_and_namedrop_both_apply() {
    // Drop the container series of a scrape; keep only the rest client ones of another.
    let drop = sel("namedrop = [\"container_*\"]\n");
    assert_eq!(
        run(&drop, metric("container_cpu_seconds", &[], &["v"])),
        Err(Rejection::NameDrop)
    );
    assert!(run(&drop, metric("process_cpu_seconds", &[], &["v"])).is_ok());
    let pass = sel("namepass = [\"rest_client_*\"]\n");
    assert!(run(&pass, metric("rest_client_requests", &[], &["v"])).is_ok());
    assert_eq!(
        run(&pass, metric("go_goroutines", &[], &["v"])),
        Err(Rejection::NamePass)
    );
    // Both: passes namepass, then must not match namedrop.
    let both = sel("namepass = [\"aero*\"]\nnamedrop = [\"aerospike_debug*\"]\n");
    assert!(run(&both, metric("aerospike_node", &[], &["v"])).is_ok());
    assert_eq!(
        run(&both, metric("aerospike_debug_x", &[], &["v"])),
        Err(Rejection::NameDrop)
    );
    assert_eq!(
        run(&both, metric("cpu", &[], &["v"])),
        Err(Rejection::NamePass)
    );
}

#[test]
fn tagpass_and_tagdrop_both_apply_and_drop_wins() {
    let s = sel("[tagpass]\ncpu = [\"cpu*\"]\n[tagdrop]\ncpu = [\"cpu7\"]\n");
    assert!(run(&s, metric("cpu", &[("cpu", "cpu0")], &["v"])).is_ok());
    assert_eq!(
        run(&s, metric("cpu", &[("cpu", "cpu7")], &["v"])),
        Err(Rejection::TagDrop)
    );
}

#[test]
fn taginclude_and_tagexclude_trim_tags() {
    let s = sel("taginclude = [\"cpu\"]\n");
    let m = run(
        &s,
        metric(
            "cpu",
            &[("cpu", "cpu0"), ("host", "a"), ("dc", "x")],
            &["v"],
        ),
    )
    .expect("kept");
    assert_eq!(tag_keys(&m), ["cpu"]);
    let s = sel("tagexclude = [\"fstype\"]\n");
    let m = run(
        &s,
        metric("disk", &[("fstype", "ext4"), ("path", "/")], &["v"]),
    )
    .expect("kept");
    assert_eq!(tag_keys(&m), ["path"]);
    // taginclude first, then tagexclude on what is left.
    let s = sel("taginclude = [\"p*\"]\ntagexclude = [\"path\"]\n");
    let m = run(
        &s,
        metric(
            "disk",
            &[("fstype", "ext4"), ("path", "/"), ("pool", "a")],
            &["v"],
        ),
    )
    .expect("kept");
    assert_eq!(tag_keys(&m), ["pool"]);
}

#[test]
fn routing_by_a_tag_then_removing_it() {
    // One output takes what has no `influxdb_database` tag; the other takes `other` and
    // removes the tag before writing.
    let default = sel("[tagdrop]\ninfluxdb_database = [\"*\"]\n");
    let other =
        sel("tagexclude = [\"influxdb_database\"]\n[tagpass]\ninfluxdb_database = [\"other\"]\n");
    let tagged = metric("disk", &[("influxdb_database", "other")], &["free"]);
    let plain = metric("disk", &[], &["free"]);
    assert_eq!(run(&default, tagged.clone()), Err(Rejection::TagDrop));
    assert!(run(&default, plain.clone()).is_ok());
    assert_eq!(run(&other, plain), Err(Rejection::TagPass));
    assert!(run(&other, tagged).expect("kept").tags.is_empty());
}

#[test]
fn tag_selection_sees_tags_before_between_and_modification_after() {
    // As in Telegraf's inputs: tagpass is judged before the agent's tags are added, and
    // taginclude removes them unless listed.
    let s = sel("taginclude = [\"cpu\"]\n[tagpass]\nhost = [\"*\"]\n");
    let mut v = vec![metric("cpu", &[("cpu", "cpu0")], &["v"])];
    let drops = s.apply(&mut v, |m| m.insert_tag_if_absent("host", "n1"));
    assert_eq!(drops.get(Rejection::TagPass), 1);
    let s = sel("taginclude = [\"cpu\"]\n");
    let mut v = vec![metric("cpu", &[("cpu", "cpu0")], &["v"])];
    s.apply(&mut v, |m| m.insert_tag_if_absent("host", "n1"));
    assert_eq!(tag_keys(&v[0]), ["cpu"]);
}

#[test]
fn apply_keeps_order_and_counts_each_reason() {
    let s =
        sel("namedrop = [\"debug_*\"]\nfieldexclude = [\"*_raw\"]\n[tagdrop]\nenv = [\"dev*\"]\n");
    let mut v = vec![
        metric("a", &[], &["x"]),
        metric("debug_a", &[], &["x"]),
        metric("b", &[("env", "dev1")], &["x"]),
        metric("c", &[], &["x_raw"]),
        metric("d", &[("env", "prod")], &["x", "y_raw"]),
    ];
    let drops = s.apply(&mut v, |_| {});
    let names: Vec<&str> = v.iter().map(|m| m.measurement.as_str()).collect();
    assert_eq!(names, ["a", "d"]);
    assert_eq!(field_keys(&v[1]), ["x"]);
    assert_eq!(
        drops.nonzero().collect::<Vec<_>>(),
        [
            ("selector_namedrop", 1),
            ("selector_tagdrop", 1),
            ("selector_no_fields", 1)
        ]
    );
    assert_eq!(drops.total(), 3);
}

#[test]
fn a_single_string_is_one_pattern() {
    assert_eq!(sel("namepass = \"cpu*\"\n"), sel("namepass = [\"cpu*\"]\n"));
    assert_eq!(
        sel("tagpass = { cpu = \"cpu0\" }\n"),
        sel("[tagpass]\ncpu = [\"cpu0\"]\n")
    );
}

#[test]
fn config_errors_name_the_key_and_span() {
    let text = "namepass = []\nnamedrop = [\"a\", 5]\ntagpass = [\"x\"]\ntagdrop = {}\n\
                taginclude = 3\n[fieldexclude]\n";
    let e = errors(text);
    let got: Vec<(&str, &str, &str)> = e
        .iter()
        .map(|e| {
            (
                e.key.as_deref().unwrap_or(""),
                e.message.as_str(),
                &text[e.span.clone().expect("span")],
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("inputs.x.0.namepass", "empty pattern list", "[]"),
            (
                "inputs.x.0.namedrop.1",
                "expected a string, found integer",
                "5"
            ),
            (
                "inputs.x.0.tagpass",
                "expected a table, found array",
                "[\"x\"]"
            ),
            ("inputs.x.0.tagdrop", "empty table", "{}"),
            (
                "inputs.x.0.fieldexclude",
                "expected a string or an array of strings, found table",
                "[fieldexclude]"
            ),
            (
                "inputs.x.0.taginclude",
                "expected a string or an array of strings, found integer",
                "3"
            ),
        ]
    );
    assert!(
        e[0].hint
            .as_deref()
            .is_some_and(|h| h.contains("globs on measurement names")),
        "{:?}",
        e[0].hint
    );
}

#[test]
fn tagpass_value_errors_name_the_tag() {
    let e = errors("[tagpass]\nenv = []\n");
    assert_eq!(e[0].key.as_deref(), Some("inputs.x.0.tagpass.env"));
    assert_eq!(e[0].message, "empty pattern list");
}
