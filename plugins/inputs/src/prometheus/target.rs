//! Scrape targets and where they come from: a [`Target`] is a URL plus its target labels
//! (`job`, `instance`, and any a source adds), identified by both; a [`TargetSource`]
//! yields the current set of targets whenever it changes. The static `urls` are one
//! source ([`StaticTargets`]); service discovery (Kubernetes, in `discovery.rs`) is another
//! that plugs in the same way. The scheduler unions every source's latest set and diffs it
//! by identity, so a source never starts or stops scrapes itself.

use async_trait::async_trait;

use super::shard;

/// One scrape target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The metrics page.
    pub url: http::Uri,
    /// Target labels, sorted by name, unique, no empty values; `job` and `instance`
    /// included.
    labels: Vec<(String, String)>,
    /// URL and labels: two targets are the same target when these are equal.
    identity: String,
    /// The stable hash of `identity` (shard and schedule offset).
    hash: u64,
}

impl Target {
    /// A target with these labels (sorted and de-duplicated here; empty values dropped,
    /// as Prometheus drops them). Give `job` and `instance` among them.
    pub fn new(url: http::Uri, mut labels: Vec<(String, String)>) -> Self {
        labels.retain(|(_, v)| !v.is_empty());
        labels.sort_by(|a, b| a.0.cmp(&b.0));
        labels.dedup_by(|later, earlier| later.0 == earlier.0);
        let mut identity = url.to_string();
        for (k, v) in &labels {
            identity.push('\0');
            identity.push_str(k);
            identity.push('=');
            identity.push_str(v);
        }
        let hash = shard::identity_hash(&identity);
        Target {
            url,
            labels,
            identity,
            hash,
        }
    }

    /// A static target: `job`, `instance` (`host:port` of the URL, the scheme's default
    /// port when none is written, as Prometheus fills `__address__`) and `extra`.
    pub fn from_url(url: http::Uri, job: &str, extra: &[(String, String)]) -> Self {
        let mut labels = Vec::with_capacity(extra.len() + 2);
        labels.push(("instance".to_owned(), instance_of(&url)));
        labels.push(("job".to_owned(), job.to_owned()));
        labels.extend(extra.iter().cloned());
        Target::new(url, labels)
    }

    /// Target labels, sorted by name.
    pub fn labels(&self) -> &[(String, String)] {
        &self.labels
    }

    /// What makes this target itself.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Stable hash of the identity.
    pub fn hash(&self) -> u64 {
        self.hash
    }
}

/// `host:port` of a URL, with the scheme's default port when none is written.
pub fn instance_of(url: &http::Uri) -> String {
    let host = url.host().unwrap_or("");
    let port = url
        .port_u16()
        .unwrap_or(if url.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    format!("{host}:{port}")
}

/// A producer of target sets.
///
/// `next` returns the source's complete current set: at once on the first call, then each
/// time it changes. `None` means the source will not change again (its last set stays).
/// A Kubernetes source watches pods or endpoints and returns the set each time the watch
/// moves; it is cancelled (dropped) when the input stops.
#[async_trait]
pub trait TargetSource: Send {
    /// The next complete target set.
    async fn next(&mut self) -> Option<Vec<Target>>;
}

/// The `urls` of the config: one set, never changing.
#[derive(Debug)]
pub struct StaticTargets(Option<Vec<Target>>);

impl StaticTargets {
    /// These targets.
    pub fn new(targets: Vec<Target>) -> Self {
        StaticTargets(Some(targets))
    }
}

#[async_trait]
impl TargetSource for StaticTargets {
    async fn next(&mut self) -> Option<Vec<Target>> {
        self.0.take()
    }
}
