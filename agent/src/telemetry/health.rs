//! The agent's lifecycle state, as `/health` reports it: 503 while starting or stopping,
//! 200 while running.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

/// Lifecycle phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Loading and building.
    Starting,
    /// Pipeline running.
    Running,
    /// Draining after SIGTERM (or reloading).
    Stopping,
}

/// Shared phase; cheap to clone.
#[derive(Debug, Clone)]
pub struct Health(Arc<AtomicU8>);

impl Default for Health {
    fn default() -> Self {
        Health(Arc::new(AtomicU8::new(0)))
    }
}

impl Health {
    /// Sets the phase.
    pub fn set(&self, phase: Phase) {
        let v = match phase {
            Phase::Starting => 0,
            Phase::Running => 1,
            Phase::Stopping => 2,
        };
        self.0.store(v, Ordering::Release);
    }

    /// The phase.
    pub fn get(&self) -> Phase {
        match self.0.load(Ordering::Acquire) {
            1 => Phase::Running,
            2 => Phase::Stopping,
            _ => Phase::Starting,
        }
    }
}
