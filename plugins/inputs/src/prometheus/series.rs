//! A target's series kept across scrapes (Prometheus's scrape cache): the shared [`Tags`]
//! of each series, keyed by the series text as the page writes it (`name{labels}`), so a
//! scrape of known series builds no tag strings (the `scrape-rw` bench, 10,000 series a
//! second, spent a third of its CPU allocating and freeing one set of tag strings per
//! sample), and the parser, asked through [`SeriesCache::known`], does not read a known
//! series' labels again: of a known line only the value and timestamp are read.
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
const KEEP_SCRAPES: u32 = 2;

/// Series sets kept per target.
pub(crate) const MAX_SERIES: usize = 16 * 1024;

/// One series' shared tags, the length of its name and the scrape that last saw it
/// (`u32`s: an entry is 24 bytes, as many as before the name length was kept).
#[derive(Debug)]
struct Entry {
    tags: Tags,
    name_len: u32,
    seen: u32,
}

/// The tag sets of one target's series (see the module doc).
#[derive(Debug)]
pub(crate) struct SeriesCache {
    /// Series text (a valid sample's [`Sample::series`], with braces) → its entry. Hashed
    /// with a seeded fast hash (foldhash) rather than SipHash: every sample line looks its
    /// series up.
    map: HashMap<Box<str>, Entry, foldhash::fast::RandomState>,
    /// The tags of the series [`Self::known`] found last, for the sample it announces.
    hit: Option<Tags>,
    /// The target's labels as one shared set (the synthetic series' tags).
    target: Tags,
    /// The current scrape's number (wrapping).
    scrape: u32,
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
            hit: None,
            builder: TagsBuilder::new(),
        }
    }

    /// Starts a scrape: forgets the series the last [`KEEP_SCRAPES`] scrapes did not see.
    pub(crate) fn begin(&mut self) {
        self.scrape = self.scrape.wrapping_add(1);
        let scrape = self.scrape;
        // Scrapes since an entry's, counted across a wrap.
        self.map
            .retain(|_, e| scrape.wrapping_sub(e.seen) <= KEEP_SCRAPES);
    }

    /// The target labels, as one shared set (the synthetic series' tags).
    pub(crate) fn target(&self) -> &Tags {
        &self.target
    }

    /// The parser's question (see [`super::parse::parse_known`]): the length of the name of
    /// `series` when it is a series this cache holds, which then comes next as a `known`
    /// sample.
    pub(crate) fn known(&mut self, series: &str) -> Option<usize> {
        let e = self.map.get_mut(series)?;
        e.seen = self.scrape;
        self.hit = Some(e.tags.clone());
        Some(e.name_len as usize)
    }

    /// The number of tags of the series [`Self::known`] found last.
    pub(crate) fn known_len(&self) -> usize {
        self.hit.as_ref().map_or(0, Tags::len)
    }

    /// The tags of a sample: the cached set of its series, or a new one (see
    /// [`model::tags`]), then kept for the series.
    pub(crate) fn tags(&mut self, s: &Sample<'_, '_>, honor: bool) -> Tags {
        if s.known
            && let Some(tags) = self.hit.take()
        {
            return tags;
        }
        if s.labels.is_empty() && !s.known {
            return self.target.clone();
        }
        if let Some(e) = self.map.get_mut(s.series) {
            e.seen = self.scrape;
            return e.tags.clone();
        }
        let tags = model::tags(s, &self.target, honor, &mut self.builder);
        let Ok(name_len) = u32::try_from(s.name.len()) else {
            return tags;
        };
        if self.map.len() >= MAX_SERIES {
            return tags;
        }
        self.map.insert(
            s.series.into(),
            Entry {
                tags: tags.clone(),
                name_len,
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
