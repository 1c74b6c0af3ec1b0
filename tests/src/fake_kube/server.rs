//! The fake API server's HTTP side: routing, auth, lists, watches (a channel-fed chunked
//! body), owner GETs, and the 503 and delay controls.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::{Request, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::objects::{namespace_json, status};
use super::{Recorded, Resource, State, Verb, Watcher};

type Answer = Response<BoxBody<Bytes, Infallible>>;

/// A watch stream's body: the lines its channel receives, until the channel closes.
struct ChannelBody(mpsc::UnboundedReceiver<Bytes>);

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b))))
    }
}

fn json_answer(code: u16, body: &Value) -> Answer {
    Response::builder()
        .status(code)
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(body).unwrap_or_default())).boxed())
        .unwrap_or_default()
}

fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then_some(v)
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(h) = s.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(h, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) async fn handle(
    st: Arc<Mutex<State>>,
    req: Request<Incoming>,
) -> Result<Answer, Infallible> {
    let (parts, _body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let accept = parts
        .headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let auth_ok = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let st = st.lock().unwrap_or_else(PoisonError::into_inner);
            v == format!("Bearer {}", st.token)
        });
    let watch = query_param(&query, "watch").is_some_and(|v| v == "true" || v == "1");
    let verb = if watch {
        Verb::Watch
    } else if path.ends_with("/pods") || path.ends_with("/namespaces") || path.ends_with("/events")
    {
        Verb::List
    } else {
        Verb::Get
    };
    let delay = {
        let mut s = st.lock().unwrap_or_else(PoisonError::into_inner);
        s.requests.push(Recorded {
            verb,
            path: path.clone(),
            query: query.clone(),
        });
        s.delay
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut s = st.lock().unwrap_or_else(PoisonError::into_inner);
    if s.down {
        return Ok(json_answer(
            503,
            &status(
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request",
            ),
        ));
    }
    if !auth_ok {
        return Ok(json_answer(
            401,
            &status(401, "Unauthorized", "Unauthorized"),
        ));
    }
    let (resource, namespace) = match path.as_str() {
        "/api/v1/pods" => (Some(Resource::Pods), None),
        "/api/v1/namespaces" => (Some(Resource::Namespaces), None),
        "/apis/events.k8s.io/v1/events" => (Some(Resource::Events), None),
        p => match p
            .strip_prefix("/apis/events.k8s.io/v1/namespaces/")
            .and_then(|rest| rest.strip_suffix("/events"))
        {
            Some(ns) if !ns.contains('/') => (Some(Resource::Events), Some(ns.to_owned())),
            _ => (None, None),
        },
    };
    let node = query_param(&query, "fieldSelector")
        .map(percent_decode)
        .and_then(|f| f.strip_prefix("spec.nodeName=").map(str::to_owned));
    let answer = match (resource, watch) {
        (Some(r), false) => list(&s, r, node.as_deref(), namespace.as_deref(), &accept),
        (Some(r), true) => {
            let from = query_param(&query, "resourceVersion")
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            let bookmarks = query_param(&query, "allowWatchBookmarks") == Some("true");
            watch_stream(&mut s, r, (node, namespace), from, bookmarks)
        }
        (None, _) => get_owner(&s, &path),
    };
    Ok(answer)
}

fn list(
    s: &State,
    r: Resource,
    node: Option<&str>,
    namespace: Option<&str>,
    accept: &str,
) -> Answer {
    let rv = s.rv.to_string();
    let partial = accept.contains("as=PartialObjectMetadataList");
    let items: Vec<Value> = match r {
        Resource::Pods => s
            .pods
            .values()
            .filter(|(p, _)| node.is_none_or(|n| p.node == n))
            .map(|(p, v)| p.to_json(*v))
            .collect(),
        Resource::Namespaces => s
            .namespaces
            .iter()
            .map(|(n, (labels, v))| namespace_json(n, labels, *v))
            .collect(),
        Resource::Events => s
            .events
            .values()
            .filter(|(e, _)| namespace.is_none_or(|n| e.namespace == n))
            .map(|(e, v)| e.to_json(*v))
            .collect(),
    };
    let items: Vec<Value> = if partial {
        items
            .into_iter()
            .map(|mut o| {
                json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                       "metadata": o["metadata"].take()})
            })
            .collect()
    } else {
        items
    };
    let (kind, api) = match (partial, r) {
        (true, _) => ("PartialObjectMetadataList", "meta.k8s.io/v1"),
        (false, Resource::Pods) => ("PodList", "v1"),
        (false, Resource::Namespaces) => ("NamespaceList", "v1"),
        (false, Resource::Events) => ("EventList", "events.k8s.io/v1"),
    };
    json_answer(
        200,
        &json!({"kind": kind, "apiVersion": api, "metadata": {"resourceVersion": rv}, "items": items}),
    )
}

fn watch_stream(
    s: &mut State,
    r: Resource,
    (node, namespace): (Option<String>, Option<String>),
    from: u64,
    bookmarks: bool,
) -> Answer {
    let (tx, rx) = mpsc::unbounded_channel();
    if from < s.compacted {
        let gone = status(
            410,
            "Expired",
            &format!("too old resource version: {from} ({})", s.compacted),
        );
        let mut line =
            serde_json::to_vec(&json!({"type": "ERROR", "object": gone})).unwrap_or_default();
        line.push(b'\n');
        let _sent = tx.send(Bytes::from(line));
        drop(tx);
    } else {
        for e in &s.history {
            if e.rv > from
                && e.resource == r
                && (node.is_none() || e.node == node)
                && (namespace.is_none() || e.namespace == namespace)
            {
                let _sent = tx.send(e.line.clone());
            }
        }
        s.watchers.push(Watcher {
            resource: r,
            node,
            namespace,
            bookmarks,
            tx,
        });
    }
    Response::builder()
        .status(200)
        .header("Content-Type", "application/json")
        .body(ChannelBody(rx).boxed())
        .unwrap_or_default()
}

fn get_owner(s: &State, path: &str) -> Answer {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let found = match parts.as_slice() {
        ["apis", "apps", "v1", "namespaces", ns, "replicasets", name] => {
            s.owners
                .get(&("ReplicaSet".into(), (*ns).into(), (*name).into()))
        }
        ["apis", "batch", "v1", "namespaces", ns, "jobs", name] => {
            s.owners.get(&("Job".into(), (*ns).into(), (*name).into()))
        }
        _ => {
            return json_answer(
                404,
                &status(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                ),
            );
        }
    };
    match found {
        Some(o) => json_answer(200, &o.to_partial_json(s.rv)),
        None => json_answer(404, &status(404, "NotFound", "not found")),
    }
}
