//! The shipped deployment files stay runnable: every config in configs/ passes `gleaner
//! check` with the environment its manifest provides, and each manifest's ConfigMap embeds
//! its config verbatim (so editing one without the other fails here). Each ClusterRole grants
//! exactly what its config uses (checked against what plugins/kube, plugins/filters and
//! inputs.kubernetes_events call: watches list and watch, owner lookups get), and the
//! standalone poller's shard index comes from the pod-index label, else the pod name, and is
//! never a silent 0.

use std::process::Command;

use gleaner_e2e::{gleaner_bin, workspace_root};

/// The kustomize overlays the manifests are written in; deploy/<name>.yaml are rendered from
/// them (scripts/render-deploy.sh) and checked against `kubectl kustomize` below.
const OVERLAYS: &str = "deploy/kustomize/overlays";

/// `gleaner check` on `configs/<name>` with `env`; panics with the agent's message if invalid.
fn check(name: &str, env: &[(&str, &str)]) {
    let path = workspace_root().join("configs").join(name);
    let out = Command::new(gleaner_bin())
        .arg("check")
        .arg("--config")
        .arg(&path)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .expect("run gleaner check");
    assert!(
        out.status.success(),
        "configs/{name} does not pass check:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every config in configs/, with the environment its manifest (or README) provides.
const SHIPPED: &[(&str, &[(&str, &str)])] = &[
    ("local.toml", &[]),
    (
        "daemonset.toml",
        &[
            ("NODE_NAME", "node-1"),
            ("NODE_IP", "10.0.0.1"),
            ("HOST_ROOT", "/"),
            ("SPLUNK_HEC_TOKEN", "00000000-0000-0000-0000-000000000000"),
        ],
    ),
    (
        "standalone.toml",
        &[
            ("SHARD_INDEX", "1"),
            ("SHARD_TOTAL", "3"),
            ("SPLUNK_HEC_TOKEN", "00000000-0000-0000-0000-000000000000"),
        ],
    ),
    (
        "sidecar.toml",
        &[
            ("POD_NAME", "shop-1"),
            ("POD_NAMESPACE", "default"),
            ("NODE_NAME", "node-1"),
            ("APP_NAME", "shop"),
            ("SPLUNK_HEC_TOKEN", "00000000-0000-0000-0000-000000000000"),
        ],
    ),
];

#[test]
fn every_shipped_config_passes_check() {
    let dir = workspace_root().join("configs");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .expect("configs/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    found.sort();
    let mut known: Vec<String> = SHIPPED.iter().map(|(n, _)| (*n).to_owned()).collect();
    known.sort();
    assert_eq!(
        found, known,
        "a config in configs/ without its environment here"
    );
    for (name, env) in SHIPPED {
        check(name, env);
    }
}

#[test]
fn a_missing_secret_is_a_check_error_naming_the_variable() {
    let path = workspace_root().join("configs/daemonset.toml");
    let out = Command::new(gleaner_bin())
        .args(["check", "--config"])
        .arg(&path)
        .env_clear()
        .envs([("NODE_NAME", "n"), ("NODE_IP", "10.0.0.1")])
        .output()
        .expect("run gleaner check");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SPLUNK_HEC_TOKEN"), "{err}");
}

/// The text of the `key: |` block scalar in `yaml` (its lines with the indent removed).
fn block_scalar(yaml: &str, key: &str) -> Option<String> {
    let mut lines = yaml.lines();
    lines.find(|l| l.trim_end() == format!("  {key}: |"))?;
    let mut out = String::new();
    for l in lines {
        if l.is_empty() {
            out.push('\n');
        } else if let Some(rest) = l.strip_prefix("    ") {
            out.push_str(rest);
            out.push('\n');
        } else {
            break;
        }
    }
    Some(out)
}

#[test]
fn manifests_embed_their_configs_verbatim() {
    let root = workspace_root();
    for (manifest, config) in [
        ("daemonset/gleaner.yaml", "daemonset.toml"),
        ("standalone/gleaner-poller.yaml", "standalone.toml"),
        ("sidecar-example/shop.yaml", "sidecar.toml"),
    ] {
        let yaml = std::fs::read_to_string(root.join(OVERLAYS).join(manifest)).expect("manifest");
        let toml = std::fs::read_to_string(root.join("configs").join(config)).expect("config");
        let embedded = block_scalar(&yaml, config)
            .unwrap_or_else(|| panic!("{OVERLAYS}/{manifest} has no `{config}: |` ConfigMap key"));
        assert_eq!(
            embedded.trim_end(),
            toml.trim_end(),
            "{OVERLAYS}/{manifest} embeds a different configs/{config}"
        );
    }
}

#[test]
fn daemonset_grants_and_mounts_what_the_agent_needs_and_no_more() {
    let yaml = std::fs::read_to_string(
        workspace_root()
            .join(OVERLAYS)
            .join("daemonset/gleaner.yaml"),
    )
    .expect("yaml");
    for needed in [
        "hostNetwork: true",
        "hostPID: true",
        "dnsPolicy: ClusterFirstWithHostNet",
        "mountPropagation: HostToContainer",
        "fieldPath: spec.nodeName",
        "fieldPath: status.hostIP",
        "readOnlyRootFilesystem: true",
        "allowPrivilegeEscalation: false",
        "path: /var/lib/gleaner",
        "path: /run/log/journal",
    ] {
        assert!(
            yaml.contains(needed),
            "deploy/daemonset.yaml lacks {needed}"
        );
    }
    // Rules only (comments may name what is not granted).
    let rules: Vec<&str> = yaml
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("resources:") || l.starts_with("verbs:"))
        .collect();
    for forbidden in ["nodes/proxy", "\"*\"", "secrets"] {
        assert!(
            !rules.iter().any(|l| l.contains(forbidden)),
            "deploy/daemonset.yaml grants {forbidden}: {rules:?}"
        );
    }
    assert!(!yaml.contains("privileged: true"));
}

/// The rules of the (one) ClusterRole in `yaml`, as `(apiGroup or nonResourceURL, resource,
/// sorted verbs)`, one per resource.
fn rules(yaml: &str) -> Vec<(String, String, String)> {
    let list = |l: &str| -> Vec<String> {
        let inner = l.split_once('[').and_then(|(_, r)| r.split_once(']'));
        inner
            .map(|(i, _)| {
                i.split(',')
                    .map(|x| x.trim().trim_matches('"').to_owned())
                    .filter(|x| !x.is_empty() || i.trim() == "\"\"")
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    let mut in_rules = false;
    let (mut groups, mut resources): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    for line in yaml.lines() {
        if line.starts_with("rules:") {
            in_rules = true;
            continue;
        }
        if !in_rules {
            continue;
        }
        if line.starts_with("---") {
            break;
        }
        let l = line.trim().trim_start_matches("- ");
        if l.starts_with("apiGroups:") {
            groups = list(l);
        } else if l.starts_with("nonResourceURLs:") {
            groups = vec!["nonResourceURLs".to_owned()];
            resources = list(l);
        } else if l.starts_with("resources:") {
            resources = list(l);
        } else if l.starts_with("verbs:") {
            let mut verbs = list(l);
            verbs.sort();
            for g in &groups {
                for r in &resources {
                    out.push((g.clone(), r.clone(), verbs.join(",")));
                }
            }
        }
    }
    out.sort();
    out
}

fn owned(rules: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = rules
        .iter()
        .map(|(g, r, v)| ((*g).to_owned(), (*r).to_owned(), (*v).to_owned()))
        .collect();
    v.sort();
    v
}

#[test]
fn cluster_roles_grant_exactly_what_the_shipped_configs_use() {
    let root = workspace_root();
    let daemonset =
        std::fs::read_to_string(root.join(OVERLAYS).join("daemonset/gleaner.yaml")).expect("yaml");
    assert_eq!(
        rules(&daemonset),
        owned(&[
            // filters.kubernetes and prometheus role "pod": one watch of this node's pods.
            ("", "pods", "list,watch"),
            // Owner lookups: get_metadata_opt on the ReplicaSet or Job (plugins/kube/src/owners.rs).
            ("apps", "replicasets", "get"),
            ("batch", "jobs", "get"),
            // inputs.kubelet.
            ("", "nodes/stats", "get"),
        ]),
        "deploy/daemonset.yaml"
    );
    // namespace_labels is unset in the shipped config, so no namespaces watch.
    let config = std::fs::read_to_string(root.join("configs/daemonset.toml")).expect("toml");
    assert!(!config.contains("namespace_labels"));

    let standalone =
        std::fs::read_to_string(root.join(OVERLAYS).join("standalone/gleaner-poller.yaml"))
            .expect("yaml");
    assert_eq!(
        rules(&standalone),
        owned(&[
            // role "endpoints": Services and EndpointSlices, never core Endpoints.
            ("", "services", "list,watch"),
            ("discovery.k8s.io", "endpointslices", "list,watch"),
            // inputs.kubernetes_events: one cluster-wide watch of events.k8s.io Events
            // (plugins/kube/src/events.rs); the DaemonSet has none.
            ("events.k8s.io", "events", "list,watch"),
            ("nonResourceURLs", "/metrics", "get"),
        ]),
        "deploy/standalone.yaml"
    );
}

/// `gleaner check` on configs/standalone.toml with `env`: (exit code, stderr).
fn check_standalone(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = Command::new(gleaner_bin())
        .args(["check", "--config"])
        .arg(workspace_root().join("configs/standalone.toml"))
        .env_clear()
        .env("SPLUNK_HEC_TOKEN", "00000000-0000-0000-0000-000000000000")
        .envs(env.iter().copied())
        .output()
        .expect("run gleaner check");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_shard_index_comes_from_the_pod_name_without_the_label_and_is_never_a_silent_0() {
    // The label present, or absent with the pod name's ordinal: valid.
    for env in [
        &[
            ("SHARD_INDEX", "2"),
            ("SHARD_TOTAL", "3"),
            ("POD_NAME", "gleaner-poller-2"),
        ][..],
        &[
            ("SHARD_INDEX", ""),
            ("SHARD_TOTAL", "3"),
            ("POD_NAME", "gleaner-poller-2"),
        ][..],
    ] {
        let (code, err) = check_standalone(env);
        assert_eq!(code, Some(0), "{env:?}: {err}");
    }
    // The ordinal from the pod name must still be below the total.
    let (code, err) = check_standalone(&[
        ("SHARD_INDEX", ""),
        ("SHARD_TOTAL", "2"),
        ("POD_NAME", "gleaner-poller-2"),
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("shard.index 2 is not below shard.total 2"),
        "{err}"
    );
    // Empty with no pod name, or not a number: an error, not shard 0.
    let (code, err) = check_standalone(&[("SHARD_INDEX", ""), ("SHARD_TOTAL", "3")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("shard.index is empty"), "{err}");
    let (code, err) = check_standalone(&[("SHARD_INDEX", "one"), ("SHARD_TOTAL", "3")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("shard.index \"one\" is not a whole number"),
        "{err}"
    );
}

/// `kubectl kustomize` of `overlay` (a directory under deploy/kustomize/overlays).
fn kustomize(overlay: &str) -> String {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(workspace_root().join(OVERLAYS).join(overlay))
        .output()
        .expect("run kubectl (Debian: kubernetes-client; scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "kubectl kustomize {overlay}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 manifest")
}

/// The rendered manifests are what their overlays render to (after their comment header),
/// so `kubectl apply -f deploy/<name>.yaml` and `kubectl apply -k` install the same objects.
#[test]
fn rendered_manifests_match_their_kustomize_overlays() {
    for name in ["daemonset", "standalone", "sidecar-example"] {
        let path = workspace_root().join("deploy").join(format!("{name}.yaml"));
        let rendered = std::fs::read_to_string(&path).expect("rendered manifest");
        let body: String = rendered
            .lines()
            .skip_while(|l| l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            body,
            kustomize(name),
            "deploy/{name}.yaml is not the render of {OVERLAYS}/{name}: run scripts/render-deploy.sh"
        );
    }
}

/// The overlays share the base: the node agents and the poller are in the `gleaner`
/// namespace, which each rendered manifest creates, and every object is labelled as Gleaner's
/// (not the sidecar example's: those objects are the application's).
#[test]
fn overlays_share_the_base_namespace_and_label() {
    for name in ["daemonset", "standalone"] {
        let yaml = kustomize(name);
        assert!(yaml.starts_with("apiVersion: v1\nkind: Namespace\nmetadata:\n  labels:\n    app.kubernetes.io/part-of: gleaner\n  name: gleaner\n"), "{name}:\n{yaml}");
        let objects = yaml.split("\n---\n").count();
        let labelled = yaml.matches("app.kubernetes.io/part-of: gleaner").count();
        assert!(
            labelled >= objects,
            "{name}: {labelled} labels for {objects} objects"
        );
    }
}
