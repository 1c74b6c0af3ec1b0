//! The shipped deployment files stay runnable: every config in configs/ passes `gleaner
//! check` with the environment its manifest provides, and each manifest's ConfigMap embeds
//! its config verbatim (so editing one without the other fails here).

use std::process::Command;

use gleaner_e2e::{gleaner_bin, workspace_root};

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
        &[("SHARD_INDEX", "1"), ("SHARD_TOTAL", "3")],
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
        ("daemonset.yaml", "daemonset.toml"),
        ("standalone.yaml", "standalone.toml"),
        ("sidecar-example.yaml", "sidecar.toml"),
    ] {
        let yaml = std::fs::read_to_string(root.join("deploy").join(manifest)).expect("manifest");
        let toml = std::fs::read_to_string(root.join("configs").join(config)).expect("config");
        let embedded = block_scalar(&yaml, config)
            .unwrap_or_else(|| panic!("deploy/{manifest} has no `{config}: |` ConfigMap key"));
        assert_eq!(
            embedded.trim_end(),
            toml.trim_end(),
            "deploy/{manifest} embeds a different configs/{config}"
        );
    }
}

#[test]
fn daemonset_grants_and_mounts_what_the_agent_needs_and_no_more() {
    let yaml =
        std::fs::read_to_string(workspace_root().join("deploy/daemonset.yaml")).expect("yaml");
    for needed in [
        "resources: [\"pods\", \"namespaces\"]",
        "resources: [\"replicasets\"]",
        "resources: [\"jobs\"]",
        "resources: [\"nodes/stats\"]",
        "hostNetwork: true",
        "dnsPolicy: ClusterFirstWithHostNet",
        "mountPropagation: HostToContainer",
        "fieldPath: spec.nodeName",
        "fieldPath: status.hostIP",
        "readOnlyRootFilesystem: true",
        "allowPrivilegeEscalation: false",
        "path: /var/lib/gleaner",
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
