use super::*;
use crate::buffer::OutputBuffer;
use crate::buffer::memory::OutputQueue;
use crate::config::WhenFull;
use gleaner_api::{Ack, AckStatus, Acknowledgements, ComponentMetrics, LogRecord, Metric, Stream};

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
