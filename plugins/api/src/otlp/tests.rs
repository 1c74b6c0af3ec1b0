use super::*;

#[test]
fn every_renamed_key_comes_back() {
    for key in [
        "host",
        "k8s.namespace",
        "k8s.pod",
        "k8s.pod_uid",
        "k8s.container",
        "k8s.node",
        "k8s.restart_count",
        "k8s.labels.app.kubernetes.io/name",
        "k8s.annotations.team",
        "k8s.namespace_labels.env",
        "resource.service.name",
    ] {
        let Place::Resource(r) = place(key) else {
            panic!("{key} is not a resource attribute");
        };
        assert_eq!(
            from_resource(&r),
            FromResource::Key(Cow::Borrowed(key)),
            "{key}"
        );
    }
}

#[test]
fn semantic_convention_names() {
    assert_eq!(place("k8s.pod"), Place::Resource("k8s.pod.name".into()));
    assert_eq!(place("k8s.pod_uid"), Place::Resource("k8s.pod.uid".into()));
    assert_eq!(
        place("k8s.labels.app"),
        Place::Resource("k8s.pod.label.app".into())
    );
    assert_eq!(place("k8s.metadata"), Place::Record);
    assert_eq!(place("file"), Place::Record);
    assert_eq!(place("scope.name"), Place::ScopeName);
    assert_eq!(place("scope.attributes.x"), Place::ScopeAttribute("x"));
    assert_eq!(place("scope.other"), Place::Record);
    assert_eq!(place(WORKLOAD), Place::Workload);
    assert_eq!(
        from_resource("k8s.deployment.name"),
        FromResource::Workload("Deployment")
    );
    assert_eq!(
        from_resource("service.name"),
        FromResource::Key("resource.service.name".into())
    );
}

#[test]
fn severity_numbers_follow_the_log_data_model() {
    assert_eq!(severity_number("INFO"), 9);
    assert_eq!(severity_number("warning"), 13);
    assert_eq!(severity_number("err"), 17);
    assert_eq!(severity_number("whatever"), 0);
}

#[test]
fn hex_round_trip_and_bad_input() {
    let id = [0u8, 1, 0xab, 0xff];
    assert_eq!(hex(&id), "0001abff");
    assert_eq!(unhex("0001ABff"), Some(id.to_vec()));
    assert_eq!(unhex("abc"), None);
    assert_eq!(unhex("zz"), None);
}

#[test]
fn bounds_format_canonically() {
    assert_eq!(format_bound(1.0), "1.0");
    assert_eq!(format_bound(0.005), "0.005");
    assert_eq!(format_bound(2.5), "2.5");
    assert_eq!(format_bound(f64::INFINITY), "+Inf");
    for v in [1.0, 0.005, 2.5, 1e-9, 123456.75] {
        assert_eq!(parse_bound(&format_bound(v)), Some(v));
    }
}

#[test]
fn is_record_key_agrees_with_place() {
    for key in [
        "host",
        "hostname",
        "k8s.pod",
        "k8s.pod_uid",
        "k8s.podx",
        "k8s.labels.app",
        "k8s.workload",
        "k8s.workload_kind",
        "k8s.other",
        "resource.service.name",
        "scope.name",
        "scope.version",
        "scope.attributes.a",
        "scope.other",
        "scope.",
        "log.iostream",
        "",
    ] {
        assert_eq!(is_record_key(key), place(key) == Place::Record, "{key}");
    }
}
