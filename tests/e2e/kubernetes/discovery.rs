//! `inputs.prometheus` with `kubernetes = { role = "pod" }` against the fake API server:
//! targets appear, change labels and disappear with the watch (no polling), each scraped
//! with its pod's target labels; only this node's pods are watched.

use std::time::Duration;

use gleaner_api::test_util::input_context;
use gleaner_api::{Batch, BuildContext, Envelope, PluginConfig, RunMode};
use gleaner_e2e::exposition::{Exposition, Page};
use gleaner_e2e::fake_kube::{FakeKube, FakePod, Verb};
use tokio::sync::mpsc;

use super::NODE;

const PAGE: &str = "# TYPE app_requests_total counter\napp_requests_total 7\n";

/// The pods seen in the next batch that has an `up` series for them (at most 20 s).
async fn scraped_pods(
    rx: &mut mpsc::Receiver<Envelope>,
    want: impl Fn(&[(String, String)]) -> bool,
) -> Vec<(String, String)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let env = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("a scrape within 20 s")
            .expect("input running");
        if let Some(a) = env.ack {
            a.ack();
        }
        let Batch::Metrics(ms) = env.batch else {
            continue;
        };
        let mut pods: Vec<(String, String)> = ms
            .iter()
            .filter(|m| m.fields.iter().any(|(k, _)| k == "app_requests_total"))
            .filter_map(|m| Some((m.tag("pod")?.to_owned(), m.tag("app")?.to_owned())))
            .collect();
        pods.sort();
        pods.dedup();
        if want(&pods) {
            return pods;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_targets_follow_the_watch() {
    let page = Exposition::start(Page::Body("text/plain; version=0.0.4", PAGE.to_owned()));
    let port = page.addr.rsplit(':').next().expect("port").to_owned();
    let kube = FakeKube::start();
    let pod = |name: &str, uid: &str, node: &str, app: &str| {
        FakePod::new("shop", name, uid, node)
            .with_ip("127.0.0.1")
            .with_label("app", app)
            .with_annotation("prometheus.io/scrape", "true")
            .with_annotation("prometheus.io/port", &port)
    };
    kube.apply_pod(pod("web-1", "uid-1", NODE, "web"));
    kube.apply_pod(pod("far-1", "uid-far", "node-2", "web"));
    kube.apply_pod(FakePod::new("shop", "quiet", "uid-q", NODE).with_ip("127.0.0.1"));

    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = kube.write_kubeconfig(dir.path());
    let toml = format!(
        "kubernetes = {{ role = \"pod\", node_name = \"{NODE}\", pod_labels = [\"app\"], kubeconfig = {:?} }}\n",
        kubeconfig.display().to_string()
    );
    let mut bcx = BuildContext::for_test("inputs.prometheus.0");
    bcx.interval = gleaner_api::Duration::from_secs(1);
    let cfg = PluginConfig::from_toml_str("inputs.prometheus.0", &toml).expect("toml");
    let input = (gleaner_inputs::prometheus::DESCRIPTOR.build)(&cfg, &bcx).expect("builds");
    let (cx, mut rx, stop) = input_context(&bcx, RunMode::Continuous, 64);
    let task = tokio::spawn(input.run(cx));

    let pods = scraped_pods(&mut rx, |p| !p.is_empty()).await;
    assert_eq!(
        pods,
        [("web-1".to_owned(), "web".to_owned())],
        "only this node's opted-in pod"
    );

    // Added, relabelled, deleted: each is picked up from the watch.
    kube.apply_pod(pod("web-2", "uid-2", NODE, "web"));
    scraped_pods(&mut rx, |p| p.iter().any(|(n, _)| n == "web-2")).await;
    kube.apply_pod(pod("web-1", "uid-1", NODE, "web-v2"));
    scraped_pods(&mut rx, |p| {
        p.contains(&("web-1".to_owned(), "web-v2".to_owned()))
    })
    .await;
    kube.delete_pod("uid-2");
    let last = scraped_pods(&mut rx, |p| !p.iter().any(|(n, _)| n == "web-2")).await;
    assert_eq!(last, [("web-1".to_owned(), "web-v2".to_owned())]);

    // One pod watch, scoped to the node; no polling lists.
    assert_eq!(kube.count(Verb::List, "/api/v1/pods"), 1);
    let list = kube
        .requests()
        .into_iter()
        .find(|r| r.verb == Verb::List)
        .expect("list");
    assert!(
        list.query.contains("spec.nodeName%3Dnode-1"),
        "{}",
        list.query
    );
    stop.trigger();
    let _ended = tokio::time::timeout(Duration::from_secs(10), task).await;
}
