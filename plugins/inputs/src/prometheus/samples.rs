//! From a fetched page to metrics, with memory bounded by the page's size. A metric costs
//! 20 to 40 times its line of exposition text (a `String` per tag name and value; about
//! 600 bytes for a series with 5 labels against 17 to 80 bytes of text), so a page just
//! under `body_size_limit` turned whole into metrics held gigabytes.
//!
//! - A small page (under [`super::scrape::INLINE_LIMIT`], at most a few MB of metrics) is
//!   parsed once into a `Vec` ([`collect`]).
//! - A larger page is parsed twice: [`check`] runs the parser and the limits without
//!   building anything (a page is shipped whole or not at all, and only the end of the page
//!   says whether it is valid and within `sample_limit` and `label_limit`); then [`stream`]
//!   parses it again and hands its metrics out in batches of `batch` as they are built, each
//!   passed on before the next is made. Memory is then the page plus a batch or two.
//!
//! Every pass asks the target's [`SeriesCache`] about each line's series first
//! ([`parse::parse_known`]): a series scraped before is not lexed again, in the check nor
//! in the pass that builds metrics.

use gleaner_api::Metric;

use super::config::Settings;
use super::model;
use super::parse::{self, Format, Sample};
use super::scrape::ScrapeError;
use super::series::SeriesCache;

/// What [`check`] counted on a valid page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Counts {
    /// Samples on the page.
    pub(super) scraped: usize,
    /// Samples kept (passing `keep`/`drop`), so the metrics [`stream`] yields.
    pub(super) kept: usize,
}

/// The metric of a sample that passed the name filter.
fn metric(settings: &Settings, s: &Sample<'_, '_>, cache: &mut SeriesCache, stamp: i64) -> Metric {
    let tags = cache.tags(s, settings.honor_labels);
    let ts = match s.timestamp_ns {
        Some(t) if settings.honor_timestamps => t,
        _ => stamp,
    };
    model::metric(s.name, s.value, ts, model::kind(s.family_type), tags)
}

fn parse_error(url: &str, source: parse::ParseError) -> ScrapeError {
    ScrapeError::Parse {
        url: url.to_owned(),
        source,
    }
}

/// Checks the page and its limits without building metrics; on an error, also the samples
/// scraped (0 when the page does not parse).
pub(super) fn check(
    settings: &Settings,
    body: &[u8],
    format: Format,
    cache: &mut SeriesCache,
    target: &[(String, String)],
    url: &str,
) -> Result<Counts, (usize, ScrapeError)> {
    let mut kept = 0usize;
    let mut too_many_labels: Option<usize> = None;
    let cache = std::cell::RefCell::new(cache);
    let parsed = parse::parse_known(
        body,
        format,
        &mut |series| cache.borrow_mut().known(series),
        &mut |s| {
            if !settings.names.passes(s.name) {
                return;
            }
            kept += 1;
            if settings.label_limit > 0 {
                let tags = if s.known {
                    cache.borrow().known_len()
                } else {
                    model::tag_count(s, target, settings.honor_labels)
                };
                let n = tags + 1;
                if n > settings.label_limit {
                    too_many_labels = Some(too_many_labels.unwrap_or(0).max(n));
                }
            }
        },
    );
    let scraped = parsed.map_err(|e| (0, parse_error(url, e)))?;
    limits(settings, url, scraped, kept, too_many_labels)?;
    Ok(Counts { scraped, kept })
}

/// `sample_limit` first, then `label_limit`, as one pass would find them.
fn limits(
    settings: &Settings,
    url: &str,
    scraped: usize,
    kept: usize,
    too_many_labels: Option<usize>,
) -> Result<(), (usize, ScrapeError)> {
    if settings.sample_limit > 0 && kept > settings.sample_limit {
        return Err((
            scraped,
            ScrapeError::SampleLimit {
                url: url.to_owned(),
                samples: kept,
                limit: settings.sample_limit,
            },
        ));
    }
    if let Some(labels) = too_many_labels {
        return Err((
            scraped,
            ScrapeError::LabelLimit {
                url: url.to_owned(),
                labels,
                limit: settings.label_limit,
            },
        ));
    }
    Ok(())
}

/// Parses a page [`check`] accepted, handing its metrics to `emit` in batches of at most
/// `batch`, in page order; stops building once `emit` returns false. Returns the metrics
/// handed out.
pub(super) fn stream(
    settings: &Settings,
    body: &[u8],
    format: Format,
    cache: &mut SeriesCache,
    stamp: i64,
    batch: usize,
    emit: &mut dyn FnMut(Vec<Metric>) -> bool,
) -> usize {
    let batch = batch.max(1);
    let mut out: Vec<Metric> = Vec::with_capacity(batch);
    let mut open = true;
    let mut sent = 0usize;
    let cache = std::cell::RefCell::new(cache);
    // The page parsed before: an error now cannot happen, and would only end the stream.
    let _parsed = parse::parse_known(
        body,
        format,
        &mut |series| cache.borrow_mut().known(series),
        &mut |s| {
            if !open || !settings.names.passes(s.name) {
                return;
            }
            out.push(metric(settings, s, &mut cache.borrow_mut(), stamp));
            if out.len() == batch {
                sent += out.len();
                open = emit(std::mem::replace(&mut out, Vec::with_capacity(batch)));
            }
        },
    );
    if open && !out.is_empty() {
        sent += out.len();
        emit(out);
    }
    sent
}

/// Parses a small page into metrics in one pass (keep/drop, limits); returns the samples
/// scraped and the metrics or the error.
pub(super) fn collect(
    settings: &Settings,
    body: &[u8],
    format: Format,
    cache: &mut SeriesCache,
    stamp: i64,
    url: &str,
) -> (usize, Result<Vec<Metric>, ScrapeError>) {
    let mut out: Vec<Metric> = Vec::new();
    let mut kept = 0usize;
    let mut too_many_labels: Option<usize> = None;
    let cache = std::cell::RefCell::new(cache);
    let parsed = parse::parse_known(
        body,
        format,
        &mut |series| cache.borrow_mut().known(series),
        &mut |s| {
            if !settings.names.passes(s.name) {
                return;
            }
            kept += 1;
            if settings.sample_limit > 0 && kept > settings.sample_limit {
                // Keep counting; the scrape fails below.
                out = Vec::new();
                return;
            }
            let m = metric(settings, s, &mut cache.borrow_mut(), stamp);
            if settings.label_limit > 0 && m.tags.len() + 1 > settings.label_limit {
                too_many_labels = Some(too_many_labels.unwrap_or(0).max(m.tags.len() + 1));
                return;
            }
            out.push(m);
        },
    );
    let scraped = match parsed {
        Ok(n) => n,
        Err(e) => return (0, Err(parse_error(url, e))),
    };
    match limits(settings, url, scraped, kept, too_many_labels) {
        Ok(()) => (scraped, Ok(out)),
        Err((n, e)) => (n, Err(e)),
    }
}
