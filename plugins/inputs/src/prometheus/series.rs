//! A target's series kept across scrapes: the shared [`Tags`] of each series, keyed by its
//! label text as the page writes it, so a scrape of known series builds no tag strings (the
//! `scrape-rw` bench, 10,000 series a second, spent a third of its CPU allocating and freeing
//! one set of tag strings per sample).
//!
//! Bounded: [`SeriesCache::begin`] forgets the series not seen in the last two scrapes, so a
//! page whose series change every scrape holds at most three scrapes' worth, and a target
//! keeps at most [`MAX_SERIES`] sets (the series past it get sets of their own each scrape,
//! as before the cache: a 250,000-series page would otherwise hold 250,000 sets).

use std::collections::HashMap;

use gleaner_api::{Tags, TagsBuilder};

use super::model;
use super::parse::Sample;

/// Scrapes a series may go unseen before it is forgotten.
const KEEP_SCRAPES: u64 = 2;

/// Series sets kept per target.
pub(crate) const MAX_SERIES: usize = 16 * 1024;

/// One series' shared tags and the scrape that last saw it.
#[derive(Debug)]
struct Entry {
    tags: Tags,
    seen: u64,
}

/// The tag sets of one target's series (see the module doc).
#[derive(Debug)]
pub(crate) struct SeriesCache {
    /// Label text (`name \0 raw value \0` per label, page order) → tags. Hashed with a
    /// seeded fast hash (foldhash) rather than SipHash: every sample looks its series up by
    /// its label text.
    map: HashMap<Box<[u8]>, Entry, foldhash::fast::RandomState>,
    /// The target's labels as one shared set (the synthetic series' tags).
    target: Tags,
    /// The current scrape's number.
    scrape: u64,
    /// Scratch for building a key.
    key: Vec<u8>,
    /// Makes the sets of new series.
    builder: TagsBuilder,
}

impl SeriesCache {
    /// An empty cache for a target with these labels (sorted, unique).
    pub(crate) fn new(target: &[(String, String)]) -> Self {
        SeriesCache {
            map: HashMap::default(),
            target: Tags::from_unsorted(target.to_vec()),
            scrape: 0,
            key: Vec::new(),
            builder: TagsBuilder::new(),
        }
    }

    /// Starts a scrape: forgets the series the last [`KEEP_SCRAPES`] scrapes did not see.
    pub(crate) fn begin(&mut self) {
        self.scrape += 1;
        let oldest = self.scrape.saturating_sub(KEEP_SCRAPES);
        self.map.retain(|_, e| e.seen >= oldest);
    }

    /// The target labels, as one shared set (the synthetic series' tags).
    pub(crate) fn target(&self) -> &Tags {
        &self.target
    }

    /// The tags of a sample: the cached set of its series, or a new one (see
    /// [`model::tags`]).
    pub(crate) fn tags(&mut self, s: &Sample<'_, '_>, honor: bool) -> Tags {
        if s.labels.is_empty() {
            return self.target.clone();
        }
        self.key.clear();
        for l in s.labels {
            self.key.extend_from_slice(l.name.as_bytes());
            self.key.push(0);
            self.key.extend_from_slice(l.raw().as_bytes());
            self.key.push(0);
        }
        if let Some(e) = self.map.get_mut(self.key.as_slice()) {
            e.seen = self.scrape;
            return e.tags.clone();
        }
        let tags = model::tags(s, &self.target, honor, &mut self.builder);
        if self.map.len() >= MAX_SERIES {
            return tags;
        }
        self.map.insert(
            self.key.as_slice().into(),
            Entry {
                tags: tags.clone(),
                seen: self.scrape,
            },
        );
        tags
    }

    /// Series held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
mod tests;
