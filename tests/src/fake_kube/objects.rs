//! Objects the fake API server serves, as the API writes them: pods (with owner references,
//! containers, labels, annotations), ReplicaSets and Jobs (metadata with their own owner),
//! namespaces, Events of `events.k8s.io/v1` (a series once they repeat),
//! `PartialObjectMetadata`, and `Status` errors (metav1.Status: `kind: Status`,
//! `status: Failure`, `reason`, `code`).

use serde_json::{Value, json};

/// A pod to serve. Build with [`FakePod::new`] and the `with_*` methods.
#[derive(Debug, Clone)]
pub struct FakePod {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.uid`.
    pub uid: String,
    /// `spec.nodeName`.
    pub node: String,
    /// Labels.
    pub labels: Vec<(String, String)>,
    /// Annotations.
    pub annotations: Vec<(String, String)>,
    /// Containers: name and image.
    pub containers: Vec<(String, String)>,
    /// Controlling owner: kind, name, uid.
    pub owner: Option<(String, String, String)>,
    /// `status.podIP`.
    pub ip: String,
}

impl FakePod {
    /// A running pod with one container `app` (image `registry/<name>:1`) on `node`.
    pub fn new(namespace: &str, name: &str, uid: &str, node: &str) -> FakePod {
        FakePod {
            namespace: namespace.into(),
            name: name.into(),
            uid: uid.into(),
            node: node.into(),
            labels: Vec::new(),
            annotations: Vec::new(),
            containers: vec![("app".into(), format!("registry/{name}:1"))],
            owner: None,
            ip: "10.244.1.7".into(),
        }
    }

    /// Sets `status.podIP` (tests that scrape a pod use 127.0.0.1).
    #[must_use]
    pub fn with_ip(mut self, ip: &str) -> Self {
        self.ip = ip.into();
        self
    }

    /// Adds a label.
    #[must_use]
    pub fn with_label(mut self, k: &str, v: &str) -> Self {
        self.labels.push((k.into(), v.into()));
        self
    }

    /// Adds an annotation.
    #[must_use]
    pub fn with_annotation(mut self, k: &str, v: &str) -> Self {
        self.annotations.push((k.into(), v.into()));
        self
    }

    /// Replaces the containers.
    #[must_use]
    pub fn with_containers(mut self, c: &[(&str, &str)]) -> Self {
        self.containers = c.iter().map(|(n, i)| ((*n).into(), (*i).into())).collect();
        self
    }

    /// Sets the controlling owner.
    #[must_use]
    pub fn owned_by(mut self, kind: &str, name: &str, uid: &str) -> Self {
        self.owner = Some((kind.into(), name.into(), uid.into()));
        self
    }

    /// The pod as the API serves it, at `resource_version`.
    pub fn to_json(&self, resource_version: u64) -> Value {
        let map = |v: &[(String, String)]| {
            Value::Object(
                v.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            )
        };
        let mut metadata = json!({
            "name": self.name,
            "namespace": self.namespace,
            "uid": self.uid,
            "resourceVersion": resource_version.to_string(),
            "creationTimestamp": "2026-11-21T08:00:00Z",
            "labels": map(&self.labels),
            "annotations": map(&self.annotations),
            // Real pods carry these; the agent must drop them.
            "managedFields": [{"manager": "kube-controller-manager", "operation": "Update",
                               "apiVersion": "v1", "fieldsType": "FieldsV1",
                               "fieldsV1": {"f:metadata": {"f:labels": {}}}}],
        });
        if let Some((kind, name, uid)) = &self.owner {
            let api = match kind.as_str() {
                "Job" => "batch/v1",
                _ => "apps/v1",
            };
            metadata["ownerReferences"] = json!([{
                "apiVersion": api, "kind": kind, "name": name, "uid": uid,
                "controller": true, "blockOwnerDeletion": true
            }]);
        }
        let containers: Vec<Value> = self
            .containers
            .iter()
            .map(|(n, i)| {
                json!({"name": n, "image": i, "ports": [{"name": "metrics", "containerPort": 9102, "protocol": "TCP"}],
                       "resources": {}, "terminationMessagePath": "/dev/termination-log",
                       "imagePullPolicy": "IfNotPresent"})
            })
            .collect();
        json!({
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": metadata,
            "spec": {"nodeName": self.node, "containers": containers,
                     "restartPolicy": "Always", "serviceAccountName": "default"},
            "status": {"phase": "Running", "podIP": self.ip, "hostIP": "192.168.0.10",
                       "conditions": [{"type": "Ready", "status": "True"}]}
        })
    }
}

/// An owner object (ReplicaSet or Job) and its own controlling owner.
#[derive(Debug, Clone)]
pub struct FakeOwner {
    /// `ReplicaSet` or `Job`.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Uid.
    pub uid: String,
    /// Its controlling owner: kind and name (`Deployment`, `CronJob`).
    pub owner: Option<(String, String)>,
}

impl FakeOwner {
    /// As `PartialObjectMetadata` (what a metadata-only GET answers).
    pub fn to_partial_json(&self, resource_version: u64) -> Value {
        let mut metadata = json!({
            "name": self.name, "namespace": self.namespace, "uid": self.uid,
            "resourceVersion": resource_version.to_string(),
        });
        if let Some((kind, name)) = &self.owner {
            let api = if kind == "CronJob" {
                "batch/v1"
            } else {
                "apps/v1"
            };
            metadata["ownerReferences"] = json!([{
                "apiVersion": api, "kind": kind, "name": name, "uid": format!("{name}-uid"),
                "controller": true, "blockOwnerDeletion": true
            }]);
        }
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata})
    }
}

/// An Event (`events.k8s.io/v1`) to serve. Build with [`FakeEvent::new`]; repeat it with
/// [`FakeEvent::repeated`].
#[derive(Debug, Clone)]
pub struct FakeEvent {
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.uid`.
    pub uid: String,
    /// `reason`.
    pub reason: String,
    /// `type`: `Normal` or `Warning`.
    pub event_type: String,
    /// `note`.
    pub note: String,
    /// `regarding`: kind, name, uid (in the event's namespace).
    pub regarding: (String, String, String),
    /// Occurrences: 1 is a single event; more is a `series` with this count.
    pub count: u32,
}

impl FakeEvent {
    /// A single `Normal` event in `namespace` about pod `pod` (uid `<pod>-uid`), reported by
    /// the kubelet.
    pub fn new(namespace: &str, uid: &str, reason: &str, note: &str, pod: &str) -> FakeEvent {
        FakeEvent {
            namespace: namespace.into(),
            name: format!("{pod}.{uid}"),
            uid: uid.into(),
            reason: reason.into(),
            event_type: "Normal".into(),
            note: note.into(),
            regarding: ("Pod".into(), pod.into(), format!("{pod}-uid")),
            count: 1,
        }
    }

    /// The same event seen `count` times in all (a series).
    #[must_use]
    pub fn repeated(mut self, count: u32) -> Self {
        self.count = count;
        self
    }

    /// The event as the API serves it, at `resource_version`.
    pub fn to_json(&self, resource_version: u64) -> Value {
        let (kind, name, uid) = &self.regarding;
        let mut e = json!({
            "kind": "Event",
            "apiVersion": "events.k8s.io/v1",
            "metadata": {
                "name": self.name, "namespace": self.namespace, "uid": self.uid,
                "resourceVersion": resource_version.to_string(),
                "creationTimestamp": "2026-11-21T08:00:00Z",
                "managedFields": [{"manager": "kubelet", "operation": "Update",
                                   "apiVersion": "events.k8s.io/v1", "fieldsType": "FieldsV1",
                                   "fieldsV1": {"f:note": {}}}],
            },
            "eventTime": "2026-11-21T08:00:00.000000Z",
            "reportingController": "kubelet",
            "reportingInstance": "node-1",
            "action": "Sync",
            "reason": self.reason,
            "regarding": {"kind": kind, "namespace": self.namespace, "name": name, "uid": uid,
                          "apiVersion": "v1"},
            "note": self.note,
            "type": self.event_type,
        });
        if self.count > 1 {
            e["series"] = json!({"count": self.count,
                                 "lastObservedTime": "2026-11-21T08:05:00.000000Z"});
        }
        e
    }
}

/// A namespace with labels.
pub(super) fn namespace_json(
    name: &str,
    labels: &[(String, String)],
    resource_version: u64,
) -> Value {
    let labels: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({"kind": "Namespace", "apiVersion": "v1",
           "metadata": {"name": name, "uid": format!("ns-{name}"),
                        "resourceVersion": resource_version.to_string(), "labels": labels},
           "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
}

/// A `Status` error body.
pub(super) fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}
