//! The real binary: `inputs.tail` on a kubelet-layout tree → `filters.kubernetes` (a
//! kubeconfig pointing at the fake API server) → `outputs.file`. The path's coordinates
//! become full metadata, the workload comes from one owner GET, the filter's figures show on
//! `/metrics`, and SIGTERM still stops the agent promptly with the watch open.

use std::time::Duration;

use gleaner_e2e::Agent;
use gleaner_e2e::fake_kube::{FakeKube, FakeOwner, FakePod, Verb};
use gleaner_e2e::logs::{append, cri, json_str, wait_output};

#[test]
fn tail_to_file_through_the_filter_carries_full_metadata() {
    let kube = FakeKube::start();
    kube.add_owner(FakeOwner {
        kind: "ReplicaSet".into(),
        namespace: "shop".into(),
        name: "web-7d9f8c".into(),
        uid: "rs-1".into(),
        owner: Some(("Deployment".into(), "web".into())),
    });
    kube.apply_pod(
        FakePod::new(
            "shop",
            "web-7d9f8c-x2x9z",
            "0b7e6a52-1c1e-4b7a-9a51-3f2f0c6d9e11",
            "node-1",
        )
        .with_label("app.kubernetes.io/name", "web")
        .with_containers(&[("app", "registry/web:1.4")])
        .owned_by("ReplicaSet", "web-7d9f8c", "rs-1"),
    );
    let kdir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = kube.write_kubeconfig(kdir.path());
    let config = format!(
        r#"[agent]
omit_hostname = true
http_listen = "{{telemetry}}"
data_dir = "{{dir}}/data"
flush_interval = "100ms"

[[inputs.tail]]
paths = ["{{dir}}/pods/*/*/*.log"]
read_from_head = true

[[filters.kubernetes]]
kubeconfig = "{}"
node_name = "node-1"

[[outputs.file]]
path = "{{dir}}/out.jsonl"
"#,
        kubeconfig.display()
    );
    let mut agent = Agent::start(&config);
    let log = agent
        .dir
        .path()
        .join("pods/shop_web-7d9f8c-x2x9z_0b7e6a52-1c1e-4b7a-9a51-3f2f0c6d9e11/app/0.log");
    append(&log, cri("order 42 placed").as_bytes());
    let text = wait_output(
        &agent.path("out.jsonl"),
        Duration::from_secs(30),
        "an enriched line",
        |lines| lines.iter().any(|l| l.contains("k8s.workload")),
    );
    let line = text
        .lines()
        .find(|l| l.contains("k8s.workload"))
        .expect("line");
    assert_eq!(
        json_str(line, "message").as_deref(),
        Some("order 42 placed")
    );
    assert_eq!(
        json_str(line, "k8s.workload_kind").as_deref(),
        Some("Deployment")
    );
    assert_eq!(json_str(line, "k8s.workload").as_deref(), Some("web"));
    assert_eq!(
        json_str(line, "k8s.container_image").as_deref(),
        Some("registry/web:1.4")
    );
    assert_eq!(json_str(line, "k8s.node").as_deref(), Some("node-1"));
    assert_eq!(
        json_str(line, "k8s.labels.app.kubernetes.io/name").as_deref(),
        Some("web")
    );
    agent.wait_metrics("the filter's figures", |m| {
        m.contains("gleaner_kubernetes_pods_cached")
            && m.contains("gleaner_kubernetes_watch_connected")
    });
    assert_eq!(kube.count(Verb::Get, "/replicasets/web-7d9f8c"), 1);
    agent.signal("TERM");
    let status = agent.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "{status:?}\n{}", agent.stderr());
}
