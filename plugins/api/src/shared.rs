//! Services that several plugins of one pipeline share without depending on each other: a
//! map from a type to its one instance, filled on first use during the build.
//!
//! The Kubernetes client is the case it exists for: the metadata filter and the prometheus
//! input's discovery both ask for `gleaner_kube::Hub`, and get the same one, so the agent
//! runs at most one watch per resource kind. A pipeline (each SIGHUP reload builds a new one)
//! has its own map; the services live as long as a plugin holds them.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// One pipeline's shared services, by type. Cheap to clone (an `Arc`).
#[derive(Clone, Default)]
pub struct Shared {
    services: Arc<Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>>,
}

impl Shared {
    /// An empty map (one per pipeline build).
    pub fn new() -> Self {
        Shared::default()
    }

    /// The pipeline's one `T`, made by `make` on the first call.
    pub fn get_or_insert_with<T, F>(&self, make: F) -> Arc<T>
    where
        T: Any + Send + Sync,
        F: FnOnce() -> T,
    {
        let mut map = self.services.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = map.get(&TypeId::of::<T>())
            && let Ok(t) = Arc::clone(existing).downcast::<T>()
        {
            return t;
        }
        let t = Arc::new(make());
        map.insert(
            TypeId::of::<T>(),
            Arc::clone(&t) as Arc<dyn Any + Send + Sync>,
        );
        t
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.services.lock().map(|m| m.len()).unwrap_or_default();
        f.debug_struct("Shared").field("services", &n).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_instance_per_type() {
        let shared = Shared::new();
        let a = shared.get_or_insert_with(|| String::from("first"));
        let b = shared.get_or_insert_with(|| String::from("second"));
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(*b, "first");
        let n = shared.clone().get_or_insert_with(|| 7_u32);
        assert_eq!(*n, 7);
        assert_eq!(*shared.get_or_insert_with(String::new), "first");
    }
}
