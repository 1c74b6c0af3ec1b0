//! Request bodies of the HTTP listeners: the memory they may hold at once
//! ([`BodyMemory`]), reading one whole within a size limit and a deadline
//! ([`read_limited`]), and reading out what remains of a refused one ([`drain`]) so the client
//! gets its answer instead of a reset connection.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;

/// How much of a refused body is still read (and discarded) before answering, so the
/// client gets the answer instead of a connection reset.
const DRAIN_LIMIT: u64 = 1024 * 1024;
/// How long draining a refused body may take.
const DRAIN_TIME: Duration = Duration::from_secs(1);

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadBodyError {
    /// Larger than the limit.
    #[error("request body larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// Not complete within the read timeout.
    #[error("request body not received within {timeout:?}")]
    Timeout {
        /// The timeout.
        timeout: Duration,
    },
    /// The connection failed while reading.
    #[error("cannot read request body: {source}")]
    Io {
        /// The transport error.
        source: hyper::Error,
    },
}

/// Reads the whole body, refusing more than `limit` bytes, within `timeout`. `prealloc` is
/// allocated up front (the announced length, already reserved in the listener's body memory:
/// growing by doubling instead would hold up to three times the body while copying).
pub async fn read_limited(
    body: Incoming,
    prealloc: u64,
    limit: u64,
    timeout: Duration,
) -> Result<Vec<u8>, ReadBodyError> {
    let mut body = body;
    let capacity = prealloc.min(limit);
    let mut buf = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
    let read = async {
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|source| ReadBodyError::Io { source })?;
            if let Ok(data) = frame.into_data() {
                if (buf.len() + data.len()) as u64 > limit {
                    return Err(ReadBodyError::TooLarge { limit });
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(())
    };
    let result = match tokio::time::timeout(timeout, read).await {
        Ok(r) => r,
        Err(_) => Err(ReadBodyError::Timeout { timeout }),
    };
    match result {
        Ok(()) => Ok(buf),
        Err(e) => {
            if matches!(e, ReadBodyError::TooLarge { .. }) {
                drain(body).await;
            }
            Err(e)
        }
    }
}

/// Reads and discards what remains of a refused body, up to `DRAIN_LIMIT` bytes and
/// `DRAIN_TIME`.
pub async fn drain(mut body: Incoming) {
    let discard = async {
        let mut seen = 0u64;
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(data) = frame.data_ref() {
                seen += data.len() as u64;
                if seen > DRAIN_LIMIT {
                    break;
                }
            }
        }
    };
    // Whatever is left unread when time runs out is the client's problem.
    if tokio::time::timeout(DRAIN_TIME, discard).await.is_err() {
        tracing::debug!("gave up draining a refused request body");
    }
}

/// A listener's memory for request bodies: a request reserves what its body will hold before
/// reading it and gives it back (drops the permit) once the body is parsed, so however many
/// writes arrive at once, the bodies held total at most the pool (`max_body_size`; four
/// concurrent 7 MB writes to `inputs.http_listener` once held 2.5 GB between them).
#[derive(Debug)]
pub struct BodyMemory {
    kib: Arc<tokio::sync::Semaphore>,
    total_kib: u32,
}

impl BodyMemory {
    /// A pool of `bytes` (rounded up to KiB).
    pub fn new(bytes: u64) -> Self {
        let total_kib = u32::try_from(bytes.div_ceil(1024).max(1)).unwrap_or(u32::MAX >> 3);
        BodyMemory {
            kib: Arc::new(tokio::sync::Semaphore::new(total_kib as usize)),
            total_kib,
        }
    }

    /// Reserves `bytes`, waiting until `deadline`; `None` when there is no room by then.
    pub async fn reserve(
        &self,
        bytes: u64,
        deadline: tokio::time::Instant,
    ) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let acquire = Arc::clone(&self.kib).acquire_many_owned(self.kib_of(bytes));
        tokio::time::timeout_at(deadline, acquire).await.ok()?.ok()
    }

    /// Makes `hold` (a reservation of this pool) `bytes` large: the excess goes back at once,
    /// the rest is waited for until `deadline`; false (and `hold` unchanged) when no room
    /// came by then. A request whose body turns out larger than it announced (a decompressed
    /// body) grows its hold; one that turned out smaller lets the rest go.
    pub async fn resize(
        &self,
        hold: &mut tokio::sync::OwnedSemaphorePermit,
        bytes: u64,
        deadline: tokio::time::Instant,
    ) -> bool {
        let want = self.kib_of(bytes) as usize;
        let held = hold.num_permits();
        if want <= held {
            drop(hold.split(held - want));
            return true;
        }
        let more = u32::try_from(want - held).unwrap_or(u32::MAX);
        let acquire = Arc::clone(&self.kib).acquire_many_owned(more);
        match tokio::time::timeout_at(deadline, acquire).await {
            Ok(Ok(extra)) => {
                hold.merge(extra);
                true
            }
            _ => false,
        }
    }

    /// `bytes` in KiB, at least 1 and at most the pool.
    fn kib_of(&self, bytes: u64) -> u32 {
        u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, self.total_kib)
    }
}

#[cfg(test)]
mod tests {
    use super::BodyMemory;

    #[tokio::test(start_paused = true)]
    async fn a_hold_shrinks_at_once_and_grows_only_within_the_pool() {
        let pool = BodyMemory::new(10 * 1024);
        let soon = || tokio::time::Instant::now() + std::time::Duration::from_secs(1);
        let mut a = pool.reserve(8 * 1024, soon()).await.expect("room");
        assert!(pool.reserve(4 * 1024, soon()).await.is_none(), "8 + 4 > 10");
        assert!(pool.resize(&mut a, 2 * 1024, soon()).await);
        assert_eq!(a.num_permits(), 2);
        let b = pool.reserve(8 * 1024, soon()).await.expect("2 + 8 fit");
        assert!(
            !pool.resize(&mut a, 3 * 1024, soon()).await,
            "2 + 8 + 1 > 10"
        );
        assert_eq!(a.num_permits(), 2);
        drop(b);
        assert!(
            pool.resize(&mut a, 100 * 1024, soon()).await,
            "clamped to the pool"
        );
        assert_eq!(a.num_permits(), 10);
    }
}
