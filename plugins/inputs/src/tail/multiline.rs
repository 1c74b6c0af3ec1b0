//! Joining multi-line messages (stack traces) into one record, per file and per stream.
//!
//! A rule answers two questions about a logical line: does it continue the message being
//! held ([`Multiline::continues`]), and, when it does not, does it start one that must be
//! held for the lines after it ([`Multiline::begins`]); a line that does neither is sent
//! alone at once. A held message is sent when a line does not continue it, when it would
//! exceed `max_bytes`, or `flush_after` after its last line when nothing else came.
//!
//! - `start = "<regex>"`: a matching line starts a message, any other line continues it.
//! - `java`: `\tat ...`, `... N more`, `Caused by:` and `Suppressed:` lines continue the
//!   line before them (any line may be the first line of a trace, so every line is held).
//! - `python`: from `Traceback (most recent call last):`, indented lines continue, and the
//!   first line that is not indented (`ValueError: ...`) ends the message; chained tracebacks
//!   (`During handling of the above exception ...`) stay in the same message.
//! - `go`: from `panic: ` or `fatal error: `, goroutine headers, frames, indented file lines,
//!   blank lines and `exit status N` continue.

use std::time::{Duration, Instant};

use regex::bytes::Regex;
use serde::Deserialize;

use super::decode::Logical;

/// A built-in rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Preset {
    /// Java and JVM stack traces.
    Java,
    /// Python tracebacks.
    Python,
    /// Go panics.
    Go,
}

#[derive(Debug, Clone)]
enum Rule {
    Start(Regex),
    Java { cont: Regex },
    Python { begin: Regex, chain: Regex },
    Go { begin: Regex, cont: Regex },
}

/// A compiled multi-line rule with its limits.
#[derive(Debug, Clone)]
pub(crate) struct Multiline {
    rule: Rule,
    /// A held message is sent this long after its last line.
    pub(crate) flush_after: Duration,
    /// Largest joined message in bytes.
    pub(crate) max_bytes: usize,
}

/// What a line does to the held message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Continue {
    /// It is appended.
    Append,
    /// It is appended and is the last line (only lines that chain may follow).
    AppendLast,
    /// It does not belong: send the held message first.
    No,
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in multiline patterns compile")
}

impl Multiline {
    /// A preset rule.
    pub(crate) fn preset(preset: Preset, flush_after: Duration, max_bytes: usize) -> Self {
        let rule = match preset {
            Preset::Java => Rule::Java {
                cont: re(
                    r"^(?:\s+at\s|\s+\.\.\.\s+\d+\s+(?:more|common frames omitted)|\s*Caused by:|\s*Suppressed:)",
                ),
            },
            Preset::Python => Rule::Python {
                begin: re(r"^Traceback \(most recent call last\):"),
                chain: re(
                    r"^(?:\s*$|During handling of the above exception|The above exception was the direct cause|Traceback \(most recent call last\):)",
                ),
            },
            Preset::Go => Rule::Go {
                begin: re(r"^(?:panic: |fatal error: )"),
                cont: re(
                    r"^(?:\s*$|\s|goroutine \d+ \[|created by |\[signal |\S+\(.*\)$|exit status \d+$|\[recovered\])",
                ),
            },
        };
        Multiline {
            rule,
            flush_after,
            max_bytes,
        }
    }

    /// A `start = "<regex>"` rule.
    pub(crate) fn start(
        pattern: &str,
        flush_after: Duration,
        max_bytes: usize,
    ) -> Result<Self, regex::Error> {
        Ok(Multiline {
            rule: Rule::Start(Regex::new(pattern)?),
            flush_after,
            max_bytes,
        })
    }

    /// Whether `line` continues a held message whose last line ended it (`ended`).
    pub(crate) fn continues(&self, ended: bool, line: &[u8]) -> Continue {
        let yes = |b: bool| if b { Continue::Append } else { Continue::No };
        match &self.rule {
            Rule::Start(start) => yes(!start.is_match(line)),
            Rule::Java { cont } => yes(cont.is_match(line)),
            Rule::Python { chain, .. } => {
                if chain.is_match(line) {
                    Continue::Append
                } else if ended {
                    Continue::No
                } else if line.first().is_some_and(u8::is_ascii_whitespace) {
                    Continue::Append
                } else {
                    Continue::AppendLast
                }
            }
            Rule::Go { cont, .. } => yes(cont.is_match(line)),
        }
    }

    /// Whether `line`, not continuing anything, starts a message to hold.
    pub(crate) fn begins(&self, line: &[u8]) -> bool {
        match &self.rule {
            Rule::Start(_) | Rule::Java { .. } => true,
            Rule::Python { begin, .. } | Rule::Go { begin, .. } => begin.is_match(line),
        }
    }
}

/// A message being held for the lines that may continue it.
#[derive(Debug)]
pub(crate) struct Held {
    /// The message so far.
    pub(crate) line: Logical,
    /// Its last line ended it (python): only chaining lines may follow.
    ended: bool,
    /// When its last line arrived.
    pub(crate) touched: Instant,
}

impl Multiline {
    /// Feeds one logical line of a stream whose held message is `held`; sends (with `emit`)
    /// whatever is complete.
    pub(crate) fn push(
        &self,
        held: &mut Option<Held>,
        line: Logical,
        now: Instant,
        emit: &mut impl FnMut(Logical),
    ) {
        if let Some(h) = held {
            let c = self.continues(h.ended, &line.body);
            if c != Continue::No {
                if h.line.body.len() + 1 + line.body.len() <= self.max_bytes {
                    h.line.body.push(b'\n');
                    h.line.body.extend_from_slice(&line.body);
                    h.line.flags.merge(line.flags);
                    h.ended = c == Continue::AppendLast;
                    h.touched = now;
                    return;
                }
                tracing::debug!(
                    max_bytes = self.max_bytes,
                    "multiline message at its size limit"
                );
            }
            if let Some(h) = held.take() {
                emit(h.line);
            }
        }
        if self.begins(&line.body) {
            *held = Some(Held {
                line,
                ended: false,
                touched: now,
            });
        } else {
            emit(line);
        }
    }
}

#[cfg(test)]
mod tests;
