//! What the input has sent, and whether an event it sees now is a new occurrence (pure).
//!
//! An occurrence is a uid not seen before, or a seen uid whose count grew (a series that went
//! on, or a core/v1 event whose count was bumped): one record each time. An event seen again
//! with the same count (a re-list, a change of its metadata) is not sent again.
//!
//! Two memories make that hold across restarts and re-lists:
//! - **uids**: each remembered uid with the count last sent, bounded by `remember` (the least
//!   recently changed go first);
//! - **watermarks**: per watch scope, a resource version such that every event state at or
//!   below it was sent. A watch delivers changes in resource-version order, so each change
//!   moves it; a list comes in any order, so a list moves it only once complete (to its
//!   highest version). An event whose uid is not remembered (forgotten past `remember`) and
//!   whose version is at or below the watermark was sent before. Resource versions are etcd
//!   revisions in practice; the API calls them opaque, so one that is not a whole number is
//!   never compared and only the uid memory applies to it.
//!
//! Every change to either memory is also a [`Commit`] that the input hands to the database
//! once the batch it came with (and every batch before) was acknowledged.

use std::collections::{HashMap, HashSet};

use gleaner_kube::EventMeta;

/// A change to what is remembered, for the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Commit {
    /// `uid` was sent with `count`.
    Seen {
        /// The event's uid.
        uid: Box<str>,
        /// Its namespace.
        namespace: Box<str>,
        /// Its count as sent.
        count: u32,
        /// Its resource version, when numeric.
        rv: Option<u64>,
        /// Recency: higher is more recent.
        seq: u64,
    },
    /// Every event state of `scope` up to `rv` was sent.
    Watermark {
        /// `""` for the cluster, else the namespace.
        scope: Box<str>,
        /// The resource version.
        rv: u64,
    },
    /// `uid` is gone (deleted, or absent from a complete list).
    Forget {
        /// The event's uid.
        uid: Box<str>,
    },
}

/// One remembered uid, as loaded from the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Remembered {
    /// The event's uid.
    pub(crate) uid: Box<str>,
    /// Its namespace.
    pub(crate) namespace: Box<str>,
    /// The count last sent.
    pub(crate) count: u32,
    /// Its resource version then.
    pub(crate) rv: Option<u64>,
    /// Recency.
    pub(crate) seq: u64,
}

/// What to do with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// A new occurrence: send it.
    Send,
    /// Its uid was sent with this count (or more) already.
    Known,
    /// Not remembered, but at or below the watermark: sent before.
    BelowWatermark,
}

#[derive(Debug)]
struct Entry {
    namespace: Box<str>,
    count: u32,
    seq: u64,
}

/// A list in progress in one scope.
#[derive(Debug, Default)]
struct Listing {
    uids: HashSet<Box<str>>,
    max_rv: Option<u64>,
}

/// The memory of what was sent.
#[derive(Debug)]
pub(crate) struct Seen {
    uids: HashMap<Box<str>, Entry>,
    watermarks: HashMap<Box<str>, u64>,
    listings: HashMap<Box<str>, Listing>,
    remember: usize,
    seq: u64,
}

impl Seen {
    /// The memory loaded from the database.
    pub(crate) fn new(
        uids: Vec<Remembered>,
        watermarks: Vec<(Box<str>, u64)>,
        remember: usize,
    ) -> Seen {
        let seq = uids.iter().map(|r| r.seq).max().unwrap_or(0);
        let mut seen = Seen {
            uids: uids
                .into_iter()
                .map(|r| {
                    (
                        r.uid,
                        Entry {
                            namespace: r.namespace,
                            count: r.count,
                            seq: r.seq,
                        },
                    )
                })
                .collect(),
            watermarks: watermarks.into_iter().collect(),
            listings: HashMap::new(),
            remember,
            seq,
        };
        seen.trim();
        seen
    }

    /// Uids remembered now.
    pub(crate) fn len(&self) -> usize {
        self.uids.len()
    }

    /// The watermark of `scope`.
    #[cfg(test)]
    pub(crate) fn watermark(&self, scope: &str) -> Option<u64> {
        self.watermarks.get(scope).copied()
    }

    /// A list of `scope` begins.
    pub(crate) fn begin_list(&mut self, scope: &str) {
        self.listings.insert(scope.into(), Listing::default());
    }

    /// Judges `e`, seen in `scope` (listed, or watched), and remembers it. The commits to
    /// make once what is sent with it is acknowledged are appended to `commits`.
    pub(crate) fn observe(
        &mut self,
        scope: &str,
        e: &EventMeta,
        commits: &mut Vec<Commit>,
    ) -> Verdict {
        let listing = self.listings.get_mut(scope);
        let listed = listing.is_some();
        if let Some(l) = listing {
            l.uids.insert(e.uid.clone());
            l.max_rv = l.max_rv.max(e.resource_version);
        }
        let watermark = self.watermarks.get(scope).copied();
        let verdict = match self.uids.get(&e.uid) {
            Some(known) if e.count <= known.count => Verdict::Known,
            Some(_) => Verdict::Send,
            None => match (e.resource_version, watermark) {
                (Some(rv), Some(w)) if rv <= w => Verdict::BelowWatermark,
                _ => Verdict::Send,
            },
        };
        self.seq += 1;
        let entry = self.uids.entry(e.uid.clone()).or_insert_with(|| Entry {
            namespace: e.namespace.clone(),
            count: 0,
            seq: 0,
        });
        entry.count = entry.count.max(e.count);
        entry.seq = self.seq;
        if verdict == Verdict::Send {
            commits.push(Commit::Seen {
                uid: e.uid.clone(),
                namespace: e.namespace.clone(),
                count: e.count,
                rv: e.resource_version,
                seq: self.seq,
            });
        }
        if !listed
            && let Some(rv) = e.resource_version
            && watermark.is_none_or(|w| rv > w)
        {
            self.watermarks.insert(scope.into(), rv);
            commits.push(Commit::Watermark {
                scope: scope.into(),
                rv,
            });
        }
        if self.uids.len() > self.remember + self.remember / 4 {
            self.trim();
        }
        verdict
    }

    /// The list of `scope` is complete: uids of the scope it did not hold are gone for good,
    /// and the watermark moves to its highest version.
    pub(crate) fn end_list(&mut self, scope: &str, commits: &mut Vec<Commit>) {
        let Some(listing) = self.listings.remove(scope) else {
            return;
        };
        let gone: Vec<Box<str>> = self
            .uids
            .iter()
            .filter(|(uid, e)| {
                (scope.is_empty() || &*e.namespace == scope) && !listing.uids.contains(*uid)
            })
            .map(|(uid, _)| uid.clone())
            .collect();
        for uid in gone {
            self.uids.remove(&uid);
            commits.push(Commit::Forget { uid });
        }
        if let Some(rv) = listing.max_rv
            && self.watermarks.get(scope).is_none_or(|w| rv > *w)
        {
            self.watermarks.insert(scope.into(), rv);
            commits.push(Commit::Watermark {
                scope: scope.into(),
                rv,
            });
        }
    }

    /// `uid` was deleted.
    pub(crate) fn forget(&mut self, uid: &str, commits: &mut Vec<Commit>) {
        if self.uids.remove(uid).is_some() {
            commits.push(Commit::Forget { uid: uid.into() });
        }
    }

    /// Keeps the `remember` most recently changed uids (the database trims itself alike).
    fn trim(&mut self) {
        if self.uids.len() <= self.remember {
            return;
        }
        let mut seqs: Vec<u64> = self.uids.values().map(|e| e.seq).collect();
        let cut = seqs.len() - self.remember;
        let (_, &mut threshold, _) = seqs.select_nth_unstable(cut - 1);
        self.uids.retain(|_, e| e.seq > threshold);
    }
}
