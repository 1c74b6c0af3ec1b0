//! A faithful fake Kubernetes API server for the `kubernetes` filter, discovery and
//! `kubernetes_events` tests.
//!
//! It follows the Kubernetes API conventions of "Kubernetes API Concepts"
//! (kubernetes.io/docs/reference/using-api/api-concepts: "Efficient detection of changes",
//! "Watch bookmarks", "Resource versions", "410 Gone responses", "Retrieving large results
//! sets in chunks") and the `Status` kind of metav1 (kubernetes.io/docs/reference/
//! kubernetes-api/common-definitions/status), as summarised in docs/protocols.md
//! ("Kubernetes list and watch"):
//! - `GET /api/v1/pods` and `GET /api/v1/namespaces`: a list (`PodList`, or
//!   `PartialObjectMetadataList` when the `Accept` header asks `as=PartialObjectMetadataList`)
//!   whose `metadata.resourceVersion` is the current version; `fieldSelector=spec.nodeName=X`
//!   filters pods; `resourceVersion=0` (any, from the watch cache) and `limit` are accepted,
//!   and the whole set comes in one page;
//! - the same paths with `watch=true&resourceVersion=N`: a chunked stream of JSON lines
//!   `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}` with every change
//!   after N and then live ones; bookmarks (only with `allowWatchBookmarks=true`) carry just
//!   `metadata.resourceVersion`; a version older than the compacted history answers one
//!   `ERROR` event with a `Status` of code 410 (reason `Expired`) and ends the stream;
//! - `GET /apis/events.k8s.io/v1/events` and `/apis/events.k8s.io/v1/namespaces/{ns}/events`
//!   (Events of `events.k8s.io/v1`, "Event v1" in the API reference: kubernetes.io/docs/
//!   reference/kubernetes-api/cluster-resources/event-v1): an `EventList`, and the same
//!   watch rules (history after N, bookmarks, 410 once compacted), filtered by namespace;
//! - `GET /apis/apps/v1/namespaces/{ns}/replicasets/{name}` and
//!   `/apis/batch/v1/namespaces/{ns}/jobs/{name}`: the object's metadata as
//!   `PartialObjectMetadata`, or 404 `NotFound`;
//! - auth `Authorization: Bearer <token>`; anything else → 401 `Unauthorized`.
//!
//! Test controls: add, change and delete pods and events (bumping the resource version and
//! notifying watches), send bookmarks, drop every open watch (a connection loss), compact the
//! history (so the next watch gets 410 and must re-list; `expire_watches` does both, a 410
//! on demand), answer 503 to everything (`set_down`), and
//! delay every answer (`set_delay`). Every request is recorded with its verb.
//!
//! It runs on its own thread and runtime, so plain `#[test]`s can use it; it stops on drop.

mod objects;
mod server;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;

use crate::fake_server::ServerThread;
use serde_json::{Value, json};
use tokio::sync::mpsc;

pub use objects::{FakeEvent, FakeOwner, FakePod};

/// What a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// A list.
    List,
    /// A watch.
    Watch,
    /// A GET of one object.
    Get,
}

/// One request the fake answered.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Its verb.
    pub verb: Verb,
    /// The path.
    pub path: String,
    /// The raw query string.
    pub query: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource {
    Pods,
    Namespaces,
    Events,
}

struct Event {
    rv: u64,
    resource: Resource,
    node: Option<String>,
    namespace: Option<String>,
    line: Bytes,
}

struct Watcher {
    resource: Resource,
    node: Option<String>,
    /// A namespaced watch (`/namespaces/{ns}/events`) sees only that namespace.
    namespace: Option<String>,
    bookmarks: bool,
    tx: mpsc::UnboundedSender<Bytes>,
}

#[derive(Default)]
struct State {
    token: String,
    rv: u64,
    pods: BTreeMap<String, (FakePod, u64)>,
    namespaces: BTreeMap<String, (Vec<(String, String)>, u64)>,
    events: BTreeMap<String, (FakeEvent, u64)>,
    owners: HashMap<(String, String, String), FakeOwner>,
    history: Vec<Event>,
    compacted: u64,
    watchers: Vec<Watcher>,
    down: bool,
    delay: Duration,
    requests: Vec<Recorded>,
}

impl State {
    fn push(&mut self, resource: Resource, node: Option<String>, typ: &str, object: Value) {
        let namespace = object["metadata"]["namespace"].as_str().map(str::to_owned);
        let mut line =
            serde_json::to_vec(&json!({"type": typ, "object": object})).unwrap_or_default();
        line.push(b'\n');
        let line = Bytes::from(line);
        self.watchers.retain(|w| {
            if w.resource != resource
                || (w.node.is_some() && w.node != node)
                || (w.namespace.is_some() && w.namespace != namespace)
            {
                return true;
            }
            w.tx.send(line.clone()).is_ok()
        });
        self.history.push(Event {
            rv: self.rv,
            resource,
            node,
            namespace,
            line,
        });
    }
}

/// The running fake. Dropping it stops it.
pub struct FakeKube {
    server: ServerThread,
    state: Arc<Mutex<State>>,
}

impl FakeKube {
    /// The bearer token the fake accepts.
    pub const TOKEN: &'static str = "fake-sa-token";

    /// Starts the fake on a free 127.0.0.1 port, empty, at resource version 100.
    ///
    /// # Panics
    /// When it cannot bind.
    pub fn start() -> FakeKube {
        let state = Arc::new(Mutex::new(State {
            token: FakeKube::TOKEN.to_owned(),
            rv: 100,
            ..State::default()
        }));
        let server = ServerThread::spawn("fake kube", Arc::clone(&state), server::handle);
        FakeKube { server, state }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// A kubeconfig file (in `dir`) pointing at the fake with its token.
    ///
    /// # Panics
    /// When the file cannot be written.
    pub fn write_kubeconfig(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("kubeconfig.yaml");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\n\
             users:\n- name: agent\n  user:\n    token: {}\ncontexts:\n- name: fake\n  context:\n    \
             cluster: fake\n    user: agent\ncurrent-context: fake\n",
            self.url(),
            FakeKube::TOKEN
        );
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds or replaces (same uid) a pod: ADDED or MODIFIED to its watches.
    pub fn apply_pod(&self, pod: FakePod) {
        let mut st = self.state();
        st.rv += 1;
        let rv = st.rv;
        let typ = if st.pods.contains_key(&pod.uid) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        let object = pod.to_json(rv);
        let node = Some(pod.node.clone());
        st.pods.insert(pod.uid.clone(), (pod, rv));
        st.push(Resource::Pods, node, typ, object);
    }

    /// Deletes the pod with `uid`: DELETED to its watches.
    pub fn delete_pod(&self, uid: &str) {
        let mut st = self.state();
        let Some((pod, _)) = st.pods.remove(uid) else {
            return;
        };
        st.rv += 1;
        let rv = st.rv;
        let node = Some(pod.node.clone());
        st.push(Resource::Pods, node, "DELETED", pod.to_json(rv));
    }

    /// Adds or replaces a namespace with labels.
    pub fn apply_namespace(&self, name: &str, labels: &[(&str, &str)]) {
        let mut st = self.state();
        st.rv += 1;
        let rv = st.rv;
        let labels: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        let typ = if st.namespaces.contains_key(name) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        let object = objects::namespace_json(name, &labels, rv);
        st.namespaces.insert(name.into(), (labels, rv));
        st.push(Resource::Namespaces, None, typ, object);
    }

    /// Adds or replaces (same uid) an Event: ADDED or MODIFIED to its watches.
    pub fn apply_event(&self, event: FakeEvent) {
        let mut st = self.state();
        st.rv += 1;
        let rv = st.rv;
        let typ = if st.events.contains_key(&event.uid) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        let object = event.to_json(rv);
        st.events.insert(event.uid.clone(), (event, rv));
        st.push(Resource::Events, None, typ, object);
    }

    /// Deletes the Event with `uid` (as its TTL would): DELETED to its watches.
    pub fn delete_event(&self, uid: &str) {
        let mut st = self.state();
        let Some((event, _)) = st.events.remove(uid) else {
            return;
        };
        st.rv += 1;
        let rv = st.rv;
        st.push(Resource::Events, None, "DELETED", event.to_json(rv));
    }

    /// Serves a ReplicaSet or Job for owner GETs.
    pub fn add_owner(&self, owner: FakeOwner) {
        let key = (
            owner.kind.clone(),
            owner.namespace.clone(),
            owner.name.clone(),
        );
        self.state().owners.insert(key, owner);
    }

    /// Sends a BOOKMARK at the current version to every pod and event watch that allows
    /// them (the object is of the watched kind and carries only its resource version).
    pub fn bookmark(&self) {
        let mut st = self.state();
        let rv = st.rv.to_string();
        let line = |kind: &str, api: &str| {
            let mut line = serde_json::to_vec(&json!({"type": "BOOKMARK", "object": {
                "kind": kind, "apiVersion": api, "metadata": {"resourceVersion": rv,
                "annotations": {"k8s.io/initial-events-end": "true"}}}}))
            .unwrap_or_default();
            line.push(b'\n');
            Bytes::from(line)
        };
        let pods = line("Pod", "v1");
        let events = line("Event", "events.k8s.io/v1");
        st.watchers.retain(|w| {
            let line = match w.resource {
                Resource::Pods => &pods,
                Resource::Events => &events,
                Resource::Namespaces => return true,
            };
            !w.bookmarks || w.tx.send(line.clone()).is_ok()
        });
    }

    /// Ends every open watch stream, as a lost connection would.
    pub fn drop_watches(&self) {
        self.state().watchers.clear();
    }

    /// Forgets the change history: a watch from any older version gets 410 Gone.
    pub fn compact(&self) {
        let mut st = self.state();
        st.compacted = st.rv;
        st.history.clear();
    }

    /// A 410 Gone on demand: forgets the history and ends every open watch, so each
    /// watcher's next watch (from its last version) gets 410 and must list again.
    pub fn expire_watches(&self) {
        let mut st = self.state();
        // The version moves on (as another object's change would move etcd's revision), so a
        // watcher that had seen everything is also too old.
        st.rv += 1;
        st.compacted = st.rv;
        st.history.clear();
        st.watchers.clear();
    }

    /// While down, every request is answered 503 and open watches end.
    pub fn set_down(&self, down: bool) {
        let mut st = self.state();
        st.down = down;
        if down {
            st.watchers.clear();
        }
    }

    /// Delays every answer by `delay`.
    pub fn set_delay(&self, delay: Duration) {
        self.state().delay = delay;
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    /// Requests so far with `verb` whose path contains `path_part`.
    pub fn count(&self, verb: Verb, path_part: &str) -> usize {
        self.state()
            .requests
            .iter()
            .filter(|r| r.verb == verb && r.path.contains(path_part))
            .count()
    }

    /// Open watch streams now.
    pub fn open_watches(&self) -> usize {
        self.state()
            .watchers
            .iter()
            .filter(|w| !w.tx.is_closed())
            .count()
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        // Open watches end with their channels, so the server's thread (joined when the
        // field drops) does not wait on them.
        self.server.signal_stop();
        self.state().watchers.clear();
    }
}
