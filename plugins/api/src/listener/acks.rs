//! Routes an input's single acknowledgement channel to the requests waiting on it, for the
//! listeners that answer a client only once its events are buffered (`inputs.http_listener`,
//! `inputs.remote_write`, `inputs.otlp`).
//!
//! [`Acknowledgements`] hands out tokens through `&self` but yields outcomes through
//! `&mut self`, and there is one per input, so one task owns it: the dispatcher. A request
//! handler asks it for a token ([`AckRegistry::register`]); the dispatcher picks the id, keeps
//! a oneshot sender under that id, and returns the token with the matching receiver. When the
//! outcome of that id arrives, the dispatcher forwards it and forgets the id. Registration
//! happens before the batch is sent, so an outcome can never arrive for an unknown request;
//! an outcome whose request has gone away (client disconnected) is simply dropped.
//!
//! The dispatcher stops when every [`AckRegistry`] is gone, i.e. once the last request
//! handler has finished.

use std::collections::HashMap;

use crate::{AckStatus, AckToken, Acknowledgements};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// A token for a batch, and where its outcome will arrive.
pub type Registration = (AckToken, oneshot::Receiver<AckStatus>);

/// A request handler's way to the dispatcher; cheap to clone.
#[derive(Debug, Clone)]
pub struct AckRegistry {
    tx: mpsc::Sender<oneshot::Sender<Registration>>,
}

impl AckRegistry {
    /// A token and its outcome receiver; `None` when the dispatcher has stopped.
    pub async fn register(&self) -> Option<Registration> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(reply).await.ok()?;
        rx.await.ok()
    }
}

/// Starts the dispatcher task that owns `acks`.
pub fn spawn(acks: Acknowledgements) -> (AckRegistry, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(64);
    (AckRegistry { tx }, tokio::spawn(dispatch(acks, rx)))
}

async fn dispatch(
    mut acks: Acknowledgements,
    mut requests: mpsc::Receiver<oneshot::Sender<Registration>>,
) {
    let mut waiting: HashMap<u64, oneshot::Sender<AckStatus>> = HashMap::new();
    let mut next_id: u64 = 0;
    loop {
        tokio::select! {
            request = requests.recv() => {
                let Some(reply) = request else { break };
                let id = next_id;
                next_id = next_id.wrapping_add(1);
                let (status_tx, status_rx) = oneshot::channel();
                // If the handler is gone, the token comes back inside the error and is dropped
                // here: its (failed) outcome arrives for an id nobody waits on.
                if reply.send((acks.token(id), status_rx)).is_ok() {
                    waiting.insert(id, status_tx);
                }
            }
            Some(ack) = acks.recv() => {
                if let Some(tx) = waiting.remove(&ack.id)
                    && tx.send(ack.status).is_err()
                {
                    tracing::debug!(id = ack.id, "acknowledgement for a request that went away");
                }
            }
        }
    }
}
