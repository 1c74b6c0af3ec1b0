//! Memory per cached pod, measured (not estimated): a counting global allocator wraps the
//! system one while 1,000 realistic pods (two containers, five labels, a 1 KiB
//! `last-applied-configuration` and managed fields that are dropped on arrival) go through
//! `PodMeta::from_pod` into a cache. Prints the figure for the notes; asserts a bound.

use std::alloc::System;
use std::time::Duration;

use gleaner_kube::{AnnotationFilter, PodCache, PodMeta};
use k8s_openapi::api::core::v1::Pod;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

struct KeepAgentAnnotations;

impl AnnotationFilter for KeepAgentAnnotations {
    fn keep(&self, key: &str) -> bool {
        key.starts_with("gleaner.io/") || key.starts_with("prometheus.io/")
    }
}

fn pod(i: usize) -> Pod {
    let json = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": format!("checkout-7d9f8c6b5-{i:05}"), "namespace": "shop",
            "uid": format!("0b7e6a52-1c1e-4b7a-9a51-{i:012}"), "resourceVersion": "123456789",
            "labels": {"app.kubernetes.io/name": "checkout", "app.kubernetes.io/instance": "prod",
                       "app.kubernetes.io/version": "1.4.2", "pod-template-hash": "7d9f8c6b5",
                       "team": "payments"},
            "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9102",
                            "kubectl.kubernetes.io/last-applied-configuration": "x".repeat(1024)},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                 "name": "checkout-7d9f8c6b5", "uid": "rs-uid-0001",
                                 "controller": true, "blockOwnerDeletion": true}],
            "managedFields": [{"manager": "kube-controller-manager", "operation": "Update",
                               "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:x": {}}}]
        },
        "spec": {"nodeName": "ip-10-0-12-34.eu-west-1.compute.internal",
                 "containers": [
                     {"name": "app", "image": "registry.example.com/payments/checkout:1.4.2",
                      "ports": [{"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9102}]},
                     {"name": "envoy", "image": "envoyproxy/envoy:v1.30.1",
                      "ports": [{"name": "admin", "containerPort": 9901}]}]},
        "status": {"phase": "Running", "podIP": "10.244.12.34", "hostIP": "10.0.12.34"}
    });
    serde_json::from_value(json).expect("pod")
}

#[test]
fn bytes_per_cached_pod() {
    const N: usize = 1000;
    let pods: Vec<Pod> = (0..N).map(pod).collect();
    let cache = PodCache::detached(Duration::from_secs(300));
    let region = Region::new(GLOBAL);
    for p in &pods {
        let m = PodMeta::from_pod(p, &KeepAgentAnnotations).expect("meta");
        cache.insert(m);
    }
    let stats = region.change();
    let held = stats
        .bytes_allocated
        .saturating_sub(stats.bytes_deallocated);
    let per_pod = held / N;
    println!(
        "{N} pods cached: {held} bytes held ({per_pod} per pod; estimate {} per pod), {} allocations",
        cache.heap_bytes() / N,
        stats.allocations
    );
    assert_eq!(cache.counts(), (N, 0));
    assert!(per_pod < 2048, "{per_pod} bytes per cached pod");
}
