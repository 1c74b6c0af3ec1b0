use super::*;
use crate::buffer::OutputBuffer;
use crate::buffer::memory::OutputQueue;
use crate::config::WhenFull;
use gleaner_api::selector::Selectors;
use gleaner_api::{
    Ack, AckStatus, Acknowledgements, ComponentMetrics, LogRecord, Metric, Stream, Tags,
};

struct Out {
    queue: Arc<OutputQueue>,
}

fn route(globs: Option<&[&str]>, accepts: Accepts) -> (Route, Out) {
    let m = ComponentMetrics::detached("o");
    let queue = Arc::new(OutputQueue::new(
        16,
        u64::MAX,
        WhenFull::Block,
        Arc::clone(&m),
    ));
    let r = Route {
        globs: globs.map(|g| g.iter().map(|s| Glob::new(*s)).collect()),
        accepts,
        buffer: OutputBuffer::Memory(Arc::clone(&queue)),
        selectors: None,
        metrics: m,
    };
    (r, Out { queue })
}

fn metrics_batch() -> Batch {
    Batch::Metrics(vec![
        Metric::new("m", 1)
            .with_tag("host", "own")
            .with_field("f", gleaner_api::FieldValue::Int(1)),
    ])
}

fn logs_batch() -> Batch {
    Batch::Logs(vec![LogRecord::new(1, "line", Stream::Stdout)])
}

fn env(input: &str, batch: Batch, acks: &Acknowledgements, id: u64) -> Envelope {
    Envelope {
        input: Arc::from(input),
        batch,
        ack: Some(acks.token(id)),
        permit: None,
    }
}

async fn drain(out: &Out) -> Vec<Batch> {
    out.queue.close();
    let mut v = Vec::new();
    while let Some(b) = out.queue.pop().await {
        v.push(b);
    }
    v
}

#[tokio::test]
async fn routes_by_match_and_kind() {
    let (ra, a) = route(Some(&["inputs.a.*"]), Accepts::BOTH);
    let (rb, b) = route(None, Accepts::METRICS);
    let (rc, c) = route(None, Accepts::LOGS);
    let b_in = ComponentMetrics::detached("b");
    let inputs = HashMap::from([(Arc::<str>::from("inputs.b.0"), Arc::clone(&b_in))]);
    let mut router = Router::new(vec![], vec![ra, rb, rc], Enrich::default(), inputs);
    let mut acks = Acknowledgements::new();

    router
        .handle(env("inputs.a.0", metrics_batch(), &acks, 1))
        .await;
    router
        .handle(env("inputs.a.0", logs_batch(), &acks, 2))
        .await;
    router
        .handle(env("inputs.b.0", metrics_batch(), &acks, 3))
        .await;
    router
        .handle(env("inputs.b.0", logs_batch(), &acks, 4))
        .await;

    let kinds = |v: Vec<Batch>| v.iter().map(Batch::kind).collect::<Vec<_>>();
    assert_eq!(
        kinds(drain(&a).await),
        vec![EventKind::Metrics, EventKind::Logs]
    );
    assert_eq!(
        kinds(drain(&b).await),
        vec![EventKind::Metrics, EventKind::Metrics]
    );
    assert_eq!(
        kinds(drain(&c).await),
        vec![EventKind::Logs, EventKind::Logs]
    );
    for id in 1..=4 {
        assert_eq!(
            acks.recv().await,
            Some(Ack {
                id,
                status: AckStatus::Delivered
            })
        );
    }
}

#[tokio::test]
async fn unrouted_batches_are_counted_and_acked() {
    let (ra, _a) = route(Some(&["inputs.a.*"]), Accepts::METRICS);
    let x_in = ComponentMetrics::detached("x");
    let inputs = HashMap::from([(Arc::<str>::from("inputs.x.0"), Arc::clone(&x_in))]);
    let mut router = Router::new(vec![], vec![ra], Enrich::default(), inputs);
    let mut acks = Acknowledgements::new();
    router
        .handle(env("inputs.x.0", metrics_batch(), &acks, 9))
        .await;
    assert_eq!(x_in.dropped_count("unrouted"), 1);
    assert_eq!(
        acks.recv().await,
        Some(Ack {
            id: 9,
            status: AckStatus::Delivered
        })
    );
}

#[tokio::test]
async fn closed_queue_fails_the_ack() {
    let (ra, a) = route(None, Accepts::METRICS);
    a.queue.close();
    let mut router = Router::new(vec![], vec![ra], Enrich::default(), HashMap::new());
    let mut acks = Acknowledgements::new();
    router
        .handle(env("inputs.a.0", metrics_batch(), &acks, 5))
        .await;
    assert_eq!(
        acks.recv().await,
        Some(Ack {
            id: 5,
            status: AckStatus::Failed
        })
    );
}

struct DropAll;
impl Filter for DropAll {
    fn process(&mut self, batch: &mut Batch) {
        match batch {
            Batch::Metrics(v) => v.clear(),
            Batch::Logs(v) => v.clear(),
        }
    }
}

#[tokio::test]
async fn agent_tags_do_not_override_and_filters_honour_match() {
    let (ra, a) = route(None, Accepts::METRICS);
    let stage = FilterStage {
        filter: Box::new(DropAll),
        globs: Some(vec![Glob::new("inputs.drop.*")]),
        selectors: None,
        metrics: ComponentMetrics::detached("f"),
    };
    let enrich = Enrich {
        tags: vec![
            ("host".into(), "agent".into()),
            ("cluster".into(), "c1".into()),
        ],
    };
    let mut router = Router::new(vec![stage], vec![ra], enrich, HashMap::new());
    let acks = Acknowledgements::new();
    router
        .handle(env("inputs.keep.0", metrics_batch(), &acks, 1))
        .await;
    router
        .handle(env("inputs.drop.0", metrics_batch(), &acks, 2))
        .await;
    let got = drain(&a).await;
    assert_eq!(
        got.len(),
        1,
        "the filter must drop only inputs.drop.* batches"
    );
    let Batch::Metrics(ms) = &got[0] else {
        panic!("metrics expected")
    };
    assert_eq!(ms[0].tag("host"), Some("own"));
    assert_eq!(ms[0].tag("cluster"), Some("c1"));
}

#[tokio::test]
async fn a_batch_a_stopped_output_no_longer_takes_is_counted_and_failed() {
    let (r, out) = route(None, Accepts::BOTH);
    let m = Arc::clone(&r.metrics);
    let mut router = Router::new(vec![], vec![r], Enrich::default(), HashMap::new());
    let mut acks = Acknowledgements::new();
    // The worker stopped at the shutdown timeout and closed its queue.
    out.queue.close();
    let three = Batch::Logs(vec![LogRecord::new(1, "x", Stream::Stdout); 3]);
    router.handle(env("inputs.a.0", three, &acks, 9)).await;
    assert_eq!(m.dropped_count("shutdown_timeout"), 3);
    assert_eq!(
        acks.recv().await,
        Some(Ack {
            id: 9,
            status: AckStatus::Failed
        })
    );
}

fn selectors(text: &str) -> Arc<Selectors> {
    let t = toml::de::DeTable::parse(text).expect("toml");
    Arc::new(
        Selectors::from_table(t.get_ref(), "x")
            .expect("valid")
            .expect("some"),
    )
}

fn metric(name: &str, tags: &[(&str, &str)]) -> Metric {
    tags.iter().fold(
        Metric::new(name, 1).with_field("f", gleaner_api::FieldValue::Int(1)),
        |m, (k, v)| m.with_tag(*k, *v),
    )
}

fn names(b: &Batch) -> Vec<String> {
    match b {
        Batch::Metrics(v) => v.iter().map(|m| m.measurement.clone()).collect(),
        Batch::Logs(v) => v.iter().map(|l| l.body_lossy().into_owned()).collect(),
    }
}

#[tokio::test]
async fn input_selectors_drop_before_the_agent_tags_and_trim_after() {
    let (ra, a) = route(None, Accepts::BOTH);
    let counters = ComponentMetrics::detached("in");
    let inputs = HashMap::from([(Arc::<str>::from("inputs.a.0"), Arc::clone(&counters))]);
    let enrich = Enrich {
        tags: vec![("host".into(), "agent".into())],
    };
    let sel = selectors(
        "namedrop = [\"debug_*\"]\ntaginclude = [\"env\"]\n[tagdrop]\nhost = [\"agent\"]\n",
    );
    let mut router = Router::new(vec![], vec![ra], enrich, inputs)
        .with_input_selectors(HashMap::from([(Arc::<str>::from("inputs.a.0"), sel)]));
    let acks = Acknowledgements::new();
    let batch = Batch::Metrics(vec![
        metric("keep", &[("env", "prod"), ("pod", "p")]),
        metric("debug_x", &[]),
        metric("own_host", &[("host", "agent")]),
    ]);
    router.handle(env("inputs.a.0", batch, &acks, 1)).await;
    // Another input's metrics are not touched by these selectors.
    router
        .handle(env("inputs.b.0", metrics_batch(), &acks, 2))
        .await;
    // Logs pass an input's selectors untouched.
    router
        .handle(env("inputs.a.0", logs_batch(), &acks, 3))
        .await;
    let got = drain(&a).await;
    assert_eq!(got.len(), 3);
    assert_eq!(names(&got[0]), ["keep"]);
    let Batch::Metrics(ms) = &got[0] else {
        panic!("metrics expected")
    };
    // tagdrop did not see the agent's host tag; taginclude removed it and `pod`.
    assert_eq!(ms[0].tags, vec![("env".to_owned(), "prod".to_owned())]);
    assert_eq!(names(&got[1]), ["m"]);
    assert_eq!(got[2], logs_batch());
    assert_eq!(counters.dropped_count("selector_namedrop"), 1);
    assert_eq!(counters.dropped_count("selector_tagdrop"), 1);
}

#[tokio::test]
async fn output_selectors_choose_from_their_own_copy() {
    let (mut ra, a) = route(None, Accepts::BOTH);
    ra.selectors = Some(selectors("namepass = [\"cpu*\"]\n"));
    let (mut rb, b) = route(None, Accepts::BOTH);
    rb.selectors = Some(selectors("namepass = [\"nothing\"]\n"));
    let (rc, c) = route(None, Accepts::BOTH);
    let (ma, mb) = (Arc::clone(&ra.metrics), Arc::clone(&rb.metrics));
    let mut router = Router::new(vec![], vec![ra, rb, rc], Enrich::default(), HashMap::new());
    let mut acks = Acknowledgements::new();
    let batch = Batch::Metrics(vec![metric("cpu", &[]), metric("mem", &[])]);
    router.handle(env("inputs.x.0", batch, &acks, 7)).await;
    router
        .handle(env("inputs.x.0", logs_batch(), &acks, 8))
        .await;
    let (a, b, c) = (drain(&a).await, drain(&b).await, drain(&c).await);
    assert_eq!(
        a.iter().map(names).collect::<Vec<_>>(),
        [vec!["cpu"], vec!["line"]]
    );
    assert_eq!(b.iter().map(names).collect::<Vec<_>>(), [vec!["line"]]);
    assert_eq!(
        c.iter().map(names).collect::<Vec<_>>(),
        [vec!["cpu", "mem"], vec!["line"]]
    );
    assert_eq!(ma.dropped_count("selector_namepass"), 1);
    assert_eq!(mb.dropped_count("selector_namepass"), 2);
    // An output that took nothing holds no share of the acknowledgement.
    for id in [7, 8] {
        assert_eq!(
            acks.recv().await,
            Some(Ack {
                id,
                status: AckStatus::Delivered
            })
        );
    }
}

#[tokio::test]
async fn a_filter_with_selectors_sees_only_its_metrics_and_no_logs() {
    let (ra, a) = route(None, Accepts::BOTH);
    let stage = FilterStage {
        filter: Box::new(DropAll),
        globs: None,
        selectors: Some(selectors("[tagpass]\nenv = [\"dev*\"]\n")),
        metrics: ComponentMetrics::detached("f"),
    };
    let mut router = Router::new(vec![stage], vec![ra], Enrich::default(), HashMap::new());
    let acks = Acknowledgements::new();
    let batch = Batch::Metrics(vec![
        metric("a", &[("env", "dev1")]),
        metric("b", &[("env", "prod")]),
        metric("c", &[]),
    ]);
    router.handle(env("inputs.x.0", batch, &acks, 1)).await;
    router
        .handle(env("inputs.x.0", logs_batch(), &acks, 2))
        .await;
    let got = drain(&a).await;
    assert_eq!(
        got.iter().map(names).collect::<Vec<_>>(),
        [vec!["b", "c"], vec!["line"]]
    );
}

/// Tags each metric with how many batches it has seen: state a reload must keep.
struct Count(u64);

#[async_trait::async_trait]
impl Filter for Count {
    fn process(&mut self, batch: &mut Batch) {
        self.0 += 1;
        if let Batch::Metrics(ms) = batch {
            for m in ms.iter_mut() {
                m.insert_tag_if_absent("seen", &self.0.to_string());
            }
        }
    }
}

fn tag(b: &Batch, key: &str) -> Option<String> {
    match b {
        Batch::Metrics(ms) => ms[0]
            .tags
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string()),
        Batch::Logs(_) => None,
    }
}

#[tokio::test]
async fn an_update_keeps_running_filters_and_takes_new_routes() {
    let (ra, a) = route(None, Accepts::BOTH);
    let (rb, b) = route(None, Accepts::BOTH);
    let stage = |f: Box<dyn Filter>| FilterStage {
        filter: f,
        globs: None,
        selectors: None,
        metrics: ComponentMetrics::detached("f"),
    };
    let (tx, rx) = mpsc::channel(4);
    let (utx, urx) = mpsc::channel(1);
    let router = Router::new(
        vec![stage(Box::new(Count(0)))],
        vec![ra],
        Enrich::default(),
        HashMap::new(),
    );
    let task = tokio::spawn(router.run(rx, urx));
    let acks = Acknowledgements::new();
    tx.send(env("inputs.a.0", metrics_batch(), &acks, 1))
        .await
        .unwrap();
    let before = a
        .queue
        .pop()
        .await
        .expect("the first batch, by the old routes");
    assert_eq!(tag(&before, "seen").as_deref(), Some("1"));
    let (applied, applied_rx) = oneshot::channel();
    utx.send(RouterUpdate {
        filters: vec![
            FilterSlot::Keep(0),
            FilterSlot::New(stage(Box::new(Count(100)))),
        ],
        routes: vec![rb],
        enrich: Enrich::default(),
        inputs: HashMap::new(),
        input_selectors: HashMap::new(),
        applied,
    })
    .await
    .unwrap();
    applied_rx.await.unwrap();
    tx.send(env("inputs.a.0", metrics_batch(), &acks, 2))
        .await
        .unwrap();
    drop(tx);
    task.await.unwrap();
    assert!(drain(&a).await.is_empty());
    let after = drain(&b).await;
    // The kept filter saw its second batch (its count went on), then the new one its first.
    assert_eq!(after.len(), 1);
    assert_eq!(tag(&after[0], "seen").as_deref(), Some("2"));
}

#[tokio::test]
async fn metrics_of_one_shared_tag_set_share_the_enriched_set_across_batches() {
    let (ra, a) = route(None, Accepts::METRICS);
    let enrich = Enrich {
        tags: vec![("host".into(), "agent".into())],
    };
    let mut router = Router::new(vec![], vec![ra], enrich, HashMap::new());
    let acks = Acknowledgements::new();
    // A scraped series: its tag set held by the input's cache and shared by its samples.
    let series = metric("prometheus", &[("job", "node")]).tags;
    let sample = |t: i64| {
        let mut m = Metric::new("prometheus", t).with_field("x", gleaner_api::FieldValue::Int(1));
        m.tags = series.clone();
        m
    };
    for id in 1..=2 {
        let batch = Batch::Metrics(vec![sample(1), sample(2)]);
        router.handle(env("inputs.a.0", batch, &acks, id)).await;
    }
    let got: Vec<Metric> = drain(&a)
        .await
        .into_iter()
        .flat_map(|b| match b {
            Batch::Metrics(ms) => ms,
            Batch::Logs(_) => Vec::new(),
        })
        .collect();
    assert_eq!(got.len(), 4);
    for m in &got {
        assert_eq!(m.tag("host"), Some("agent"));
        assert_eq!(m.tag("job"), Some("node"));
        assert!(Tags::ptr_eq(&m.tags, &got[0].tags), "one enriched set");
    }
}
