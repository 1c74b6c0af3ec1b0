//! End-to-end acknowledgements: an input learns when every output that takes a batch has
//! taken it (queued now; durably buffered once the disk buffer exists).
//!
//! An input creates an [`AckToken`] per batch with [`Acknowledgements::token`] and sends it
//! with the batch. The router clones the token once per destination; each holder settles its
//! clone with [`AckToken::ack`] or [`AckToken::fail`]. A clone dropped unsettled counts as a
//! failure, so a batch lost to a shutdown or a panic is never reported as delivered. When the
//! last clone is gone the input receives one [`Ack`] with the combined [`AckStatus`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;

/// The fate of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckStatus {
    /// Every destination took the batch.
    Delivered,
    /// At least one destination did not (shutdown, permanent error, dropped).
    Failed,
}

/// The acknowledgement an input receives for the batch it tagged with `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// The id the input chose.
    pub id: u64,
    /// Delivered or failed.
    pub status: AckStatus,
}

struct Inner {
    id: u64,
    failed: AtomicBool,
    tx: mpsc::UnboundedSender<Ack>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let status = if self.failed.load(Ordering::Acquire) {
            AckStatus::Failed
        } else {
            AckStatus::Delivered
        };
        if self
            .tx
            .send(Ack {
                id: self.id,
                status,
            })
            .is_err()
        {
            // The input stopped listening: nobody needs the answer.
        }
    }
}

/// One holder's share of a batch's acknowledgement.
pub struct AckToken {
    inner: Arc<Inner>,
    settled: bool,
}

impl std::fmt::Debug for AckToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckToken")
            .field("id", &self.inner.id)
            .finish()
    }
}

impl Clone for AckToken {
    fn clone(&self) -> Self {
        AckToken {
            inner: Arc::clone(&self.inner),
            settled: false,
        }
    }
}

impl AckToken {
    /// This holder took the batch.
    pub fn ack(mut self) {
        self.settled = true;
    }

    /// This holder could not take the batch.
    pub fn fail(mut self) {
        self.inner.failed.store(true, Ordering::Release);
        self.settled = true;
    }

    /// The id the input chose.
    pub fn id(&self) -> u64 {
        self.inner.id
    }
}

impl Drop for AckToken {
    fn drop(&mut self) {
        if !self.settled {
            self.inner.failed.store(true, Ordering::Release);
        }
    }
}

/// An input's acknowledgement channel: makes tokens and receives their outcomes.
#[derive(Debug)]
pub struct Acknowledgements {
    tx: mpsc::UnboundedSender<Ack>,
    rx: mpsc::UnboundedReceiver<Ack>,
}

impl Default for Acknowledgements {
    fn default() -> Self {
        Self::new()
    }
}

impl Acknowledgements {
    /// A fresh channel.
    pub fn new() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Acknowledgements { tx, rx }
    }

    /// A token for the batch the input calls `id`.
    pub fn token(&self, id: u64) -> AckToken {
        AckToken {
            inner: Arc::new(Inner {
                id,
                failed: AtomicBool::new(false),
                tx: self.tx.clone(),
            }),
            settled: false,
        }
    }

    /// The next outcome. Never returns `None` while `self` lives (it holds a sender).
    pub async fn recv(&mut self) -> Option<Ack> {
        self.rx.recv().await
    }

    /// An outcome if one is ready.
    pub fn try_recv(&mut self) -> Option<Ack> {
        self.rx.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn delivered_when_every_clone_acks() {
        let mut acks = Acknowledgements::new();
        let t = acks.token(7);
        let t2 = t.clone();
        t.ack();
        assert_eq!(acks.try_recv(), None);
        t2.ack();
        assert_eq!(
            acks.recv().await,
            Some(Ack {
                id: 7,
                status: AckStatus::Delivered
            })
        );
    }

    #[tokio::test]
    async fn dropped_clone_fails_the_batch() {
        let mut acks = Acknowledgements::new();
        let t = acks.token(1);
        let t2 = t.clone();
        t.ack();
        drop(t2);
        assert_eq!(
            acks.recv().await,
            Some(Ack {
                id: 1,
                status: AckStatus::Failed
            })
        );
    }

    #[tokio::test]
    async fn explicit_fail() {
        let mut acks = Acknowledgements::new();
        acks.token(2).fail();
        assert_eq!(
            acks.recv().await,
            Some(Ack {
                id: 2,
                status: AckStatus::Failed
            })
        );
    }
}
