//! Making the Kubernetes client: a kubeconfig when one is named (`kubeconfig` option, else
//! `KUBECONFIG` or `~/.kube/config`, for local runs), else the in-cluster config
//! (`KUBERNETES_SERVICE_HOST`/`_PORT`, the service-account token — which kube re-reads as
//! it rotates — and CA). Made on first use, off the build path (`gleaner check` makes none);
//! a failure is retried, never cached.

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use tokio::sync::OnceCell;

/// Where the client's config comes from. Plugins with equal options share one client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ClientOptions {
    /// A kubeconfig file; `None` infers (KUBECONFIG, ~/.kube/config, then in-cluster).
    pub kubeconfig: Option<PathBuf>,
}

/// The client could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The named kubeconfig could not be read.
    #[error("kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// No kubeconfig and not in a cluster.
    #[error("no Kubernetes config: {0}")]
    Infer(#[from] kube::config::InferConfigError),
    /// The config was read but the client could not be built (bad CA, bad URL).
    #[error("Kubernetes client: {0}")]
    Build(#[from] kube::Error),
}

/// One lazily made client.
#[derive(Default)]
pub(crate) struct ClientCell {
    options: ClientOptions,
    client: OnceCell<kube::Client>,
}

impl ClientCell {
    pub(crate) fn new(options: ClientOptions) -> ClientCell {
        ClientCell {
            options,
            client: OnceCell::new(),
        }
    }

    /// The client, retried every 10 s until it can be made (each failure is counted in
    /// `errors` and given to `report`); `None` when `shutdown` fires first.
    pub(crate) async fn wait(
        &self,
        shutdown: &gleaner_api::Shutdown,
        errors: &std::sync::atomic::AtomicU64,
        mut report: impl FnMut(&ClientError),
    ) -> Option<kube::Client> {
        loop {
            match self.get().await {
                Ok(c) => return Some(c),
                Err(e) => {
                    errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    report(&e);
                    tokio::select! {
                        () = shutdown.wait() => return None,
                        () = tokio::time::sleep(Duration::from_secs(10)) => {}
                    }
                }
            }
        }
    }

    /// The client, made now if needed.
    pub(crate) async fn get(&self) -> Result<kube::Client, ClientError> {
        self.client
            .get_or_try_init(|| make(&self.options))
            .await
            .cloned()
    }
}

async fn make(options: &ClientOptions) -> Result<kube::Client, ClientError> {
    let mut config = match &options.kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path).map_err(|source| ClientError::Kubeconfig {
                path: path.clone(),
                source,
            })?;
            kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
                .await
                .map_err(|source| ClientError::Kubeconfig {
                    path: path.clone(),
                    source,
                })?
        }
        None => kube::Config::infer().await?,
    };
    // A slow API server must not hold a lookup task forever; watches are long polls that
    // the server ends (timeoutSeconds=290), so reads may last that long.
    config.connect_timeout = Some(Duration::from_secs(10));
    config.read_timeout = Some(Duration::from_secs(300));
    // kube's client retries 429/503/504 itself, up to 15 times over minutes, inside one
    // request: an outage would then be invisible (no error, no `watch_connected = 0`). The
    // watcher's backoff and the owner lookups' retry queue do the retrying instead.
    config.default_retry = false;
    Ok(kube::Client::try_from(config)?)
}
