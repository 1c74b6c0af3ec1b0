//! An output that compresses ([`Output::prepare`]): the worker compresses each request once,
//! every try of it (retries included) sends those same bytes, and the encoded body is not
//! held while the request is in flight (a request holds its compressed body only).

use bytes::Bytes;

use super::*;

/// What the compressing fake saw.
#[derive(Debug, Default)]
struct Seen {
    /// Calls of `prepare`.
    prepared: usize,
    /// Each try: the address of the bytes sent, and whether the encoded body they were made
    /// from was held by anyone but this fake at that moment.
    tries: Vec<(usize, bool)>,
    /// Addresses of the bytes `prepare` made.
    made: Vec<usize>,
}

/// Encodes `x\n` per event, "compresses" into a fresh buffer, and fails the first two tries.
struct Squeeze {
    seen: Arc<Mutex<Seen>>,
    /// The encoded body of the request being sent (a clone: the worker holds another while
    /// it has not let go of it).
    encoded: Option<Bytes>,
    failures: usize,
}

#[async_trait]
impl Output for Squeeze {
    fn encode(&self, batch: &Batch, buf: &mut Vec<u8>) -> Result<EncodeReport, EncodeError> {
        for _ in 0..batch.len() {
            buf.extend_from_slice(b"x\n");
        }
        Ok(EncodeReport::default())
    }
    async fn send(&mut self, _payload: Payload) -> Result<SendReport, OutputError> {
        panic!("the worker sends prepared payloads through send_prepared")
    }
    async fn prepare(&mut self, payload: &Payload) -> Option<Payload> {
        let wire = Bytes::from(format!("z{}", payload.bytes.len()));
        let mut seen = self.seen.lock().unwrap();
        seen.prepared += 1;
        seen.made.push(wire.as_ptr() as usize);
        self.encoded = Some(payload.bytes.clone());
        Some(Payload {
            bytes: wire,
            events: payload.events,
        })
    }
    async fn send_prepared(&mut self, payload: Payload) -> Result<SendReport, OutputError> {
        // Only this fake's clone left: the worker let go of the encoded body.
        let encoded_held = self.encoded.take().is_some_and(|e| !e.is_unique());
        self.seen
            .lock()
            .unwrap()
            .tries
            .push((payload.bytes.as_ptr() as usize, encoded_held));
        if self.failures > 0 {
            self.failures -= 1;
            return Err(OutputError::retryable("down"));
        }
        Ok(SendReport::ALL_ACCEPTED)
    }
}

#[tokio::test(start_paused = true)]
async fn a_request_is_compressed_once_and_retried_with_the_same_bytes() {
    let mut s = setup(vec![], usize::MAX, BatchLimits::default());
    let seen = Arc::new(Mutex::new(Seen::default()));
    s.worker.output = Box::new(Squeeze {
        seen: Arc::clone(&seen),
        encoded: None,
        failures: 2,
    });
    s.queue.push(logs(3)).await.unwrap();
    s.queue.close();
    s.worker.run().await;
    let seen = seen.lock().unwrap();
    assert_eq!(seen.prepared, 1, "compressed once per request");
    assert_eq!(seen.tries.len(), 3, "two failures and the success");
    for (ptr, encoded_held) in &seen.tries {
        assert_eq!(*ptr, seen.made[0], "every try sends the bytes prepare made");
        assert!(
            !encoded_held,
            "the encoded body was held while the request was in flight"
        );
    }
    assert_eq!(s.metrics.snapshot().events_sent, 3);
}
