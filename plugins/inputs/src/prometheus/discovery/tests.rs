//! Discovery rules on hand-made cache entries: opt-in annotations, ports, scope, namespaces,
//! selectors, label allow-lists, services and endpoints.

use std::sync::Arc;

use gleaner_kube::{
    ContainerMeta, EndpointMeta, EndpointSliceMeta, NamedPort, PodMeta, PortMeta, ServiceMeta,
};

use super::{Discovery, KubernetesSd};

fn table(toml: &str) -> Result<KubernetesSd, gleaner_api::ConfigError> {
    gleaner_api::PluginConfig::from_toml_str("inputs.prometheus.0.kubernetes", toml)?.parse()
}

fn sd(toml: &str) -> Discovery {
    let table: KubernetesSd = table(toml).expect("table");
    table
        .validate(
            "kubernetes-pods",
            &[("cluster".into(), "c1".into())],
            "host",
        )
        .expect("valid")
}

fn pairs(v: &[(&str, &str)]) -> Vec<(Box<str>, Box<str>)> {
    let mut v: Vec<(Box<str>, Box<str>)> =
        v.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
    v.sort();
    v
}

fn pod(name: &str, node: &str, annotations: &[(&str, &str)]) -> PodMeta {
    PodMeta {
        uid: Arc::from(format!("uid-{name}")),
        namespace: "shop".into(),
        name: name.into(),
        node: node.into(),
        ip: Some("10.244.1.7".into()),
        phase: "Running".into(),
        labels: pairs(&[("app.kubernetes.io/name", "web"), ("tier", "front")]),
        annotations: pairs(annotations),
        containers: vec![ContainerMeta {
            name: "app".into(),
            image: "web:1".into(),
            ports: vec![PortMeta {
                name: Some("metrics".into()),
                port: 9102,
                protocol: "TCP".into(),
            }],
        }],
        owner: None,
        resource_version: "1".into(),
    }
}

fn labels(t: &super::Target) -> Vec<(String, String)> {
    t.labels().to_vec()
}

#[test]
fn pods_opt_in_by_annotation_with_port_path_and_scheme() {
    let d = sd("role = \"pod\"\nnode_name = \"node-1\"\npod_labels = [\"app.kubernetes.io/*\"]\n");
    let t = d
        .pod_target(&pod(
            "web-1",
            "node-1",
            &[
                ("prometheus.io/scrape", "true"),
                ("prometheus.io/port", "9102"),
                ("prometheus.io/path", "stats"),
                ("prometheus.io/scheme", "https"),
            ],
        ))
        .expect("target");
    assert_eq!(t.url.to_string(), "https://10.244.1.7:9102/stats");
    let l = labels(&t);
    for want in [
        ("app_kubernetes_io_name", "web"),
        ("cluster", "c1"),
        ("container", "app"),
        ("instance", "10.244.1.7:9102"),
        ("job", "kubernetes-pods"),
        ("namespace", "shop"),
        ("node", "node-1"),
        ("pod", "web-1"),
    ] {
        assert!(
            l.contains(&(want.0.to_owned(), want.1.to_owned())),
            "{want:?} in {l:?}"
        );
    }
    assert!(
        !l.iter().any(|(k, _)| k == "tier"),
        "labels are allow-listed"
    );
    // No port annotation: the port named `metrics`; gleaner.io/ wins over prometheus.io/.
    let t = d
        .pod_target(&pod(
            "web-2",
            "node-1",
            &[
                ("prometheus.io/scrape", "false"),
                ("gleaner.io/scrape", "true"),
            ],
        ))
        .expect("target");
    assert_eq!(t.url.to_string(), "http://10.244.1.7:9102/metrics");
}

#[test]
fn pods_not_opted_in_elsewhere_or_not_running_are_not_targets() {
    let d = sd(
        "role = \"pod\"\nnode_name = \"node-1\"\nnamespaces = [\"shop\"]\nlabel_selector = \"tier=front, !canary\"\n",
    );
    let yes = [("prometheus.io/scrape", "true")];
    assert!(d.pod_target(&pod("a", "node-1", &yes)).is_some());
    assert!(
        d.pod_target(&pod("b", "node-1", &[])).is_none(),
        "no opt-in"
    );
    assert!(
        d.pod_target(&pod("c", "node-2", &yes)).is_none(),
        "another node"
    );
    let mut done = pod("d", "node-1", &yes);
    done.phase = "Succeeded".into();
    assert!(d.pod_target(&done).is_none(), "finished pod");
    let mut other_ns = pod("e", "node-1", &yes);
    other_ns.namespace = "kube-system".into();
    assert!(d.pod_target(&other_ns).is_none(), "namespace filter");
    let mut canary = pod("f", "node-1", &yes);
    canary.labels = pairs(&[("tier", "front"), ("canary", "1")]);
    assert!(d.pod_target(&canary).is_none(), "label selector");
    let cluster = sd("role = \"pod\"\nscope = \"cluster\"\n");
    assert!(
        cluster.pod_target(&pod("g", "node-9", &yes)).is_some(),
        "cluster scope"
    );
}

fn service(annotations: &[(&str, &str)]) -> ServiceMeta {
    ServiceMeta {
        namespace: "shop".into(),
        name: "api".into(),
        annotations: pairs(annotations),
        labels: pairs(&[("tier", "front")]),
        ports: vec![NamedPort {
            name: Some("http".into()),
            port: 8080,
        }],
    }
}

#[test]
fn services_and_their_ready_endpoints() {
    let svc = service(&[
        ("prometheus.io/scrape", "true"),
        ("prometheus.io/port", "9090"),
    ]);
    let s = sd("role = \"service\"\nscope = \"cluster\"\n");
    let t = s.service_target(&svc).expect("service target");
    assert_eq!(t.url.to_string(), "http://api.shop.svc:9090/metrics");
    assert!(labels(&t).contains(&("service".into(), "api".into())));
    assert!(s.service_target(&service(&[])).is_none());

    let slice = EndpointSliceMeta {
        namespace: "shop".into(),
        service: "api".into(),
        ports: vec![NamedPort {
            name: Some("http".into()),
            port: 8080,
        }],
        endpoints: vec![
            EndpointMeta {
                address: "10.0.0.1".into(),
                ready: true,
                node: Some("node-1".into()),
                pod: Some("api-1".into()),
            },
            EndpointMeta {
                address: "10.0.0.2".into(),
                ready: false,
                node: Some("node-1".into()),
                pod: Some("api-2".into()),
            },
            EndpointMeta {
                address: "10.0.0.3".into(),
                ready: true,
                node: Some("node-2".into()),
                pod: Some("api-3".into()),
            },
        ],
    };
    let mut out = Vec::new();
    sd("role = \"endpoints\"\nscope = \"cluster\"\n").endpoint_targets(&svc, &slice, &mut out);
    let urls: Vec<String> = out.iter().map(|t| t.url.to_string()).collect();
    assert_eq!(
        urls,
        [
            "http://10.0.0.1:9090/metrics",
            "http://10.0.0.3:9090/metrics"
        ]
    );
    assert!(labels(&out[0]).contains(&("pod".into(), "api-1".into())));
    let mut on_node = Vec::new();
    sd("role = \"endpoints\"\nnode_name = \"node-2\"\n").endpoint_targets(
        &svc,
        &slice,
        &mut on_node,
    );
    assert_eq!(on_node.len(), 1, "node scope keeps this node's endpoints");
}

#[test]
fn bad_selectors_are_refused() {
    let t = table("role = \"pod\"\nlabel_selector = \"tier in (a, b)\"\n").expect("table");
    assert!(t.validate("j", &[], "h").is_err());
    assert!(table("role = \"node\"\n").is_err(), "unknown role");
}
