//! [`TagsBuilder`]: makes [`Tags`] sets from pairs pushed in any order, reusing its buffers
//! from one set to the next, so a set costs its one allocation and nothing else (the
//! prometheus input's new series, the buffer decoder's sets).

use super::{Tags, packed};

/// Where one pushed pair lies in the builder's text.
#[derive(Debug, Clone, Copy)]
struct Span {
    key_start: usize,
    key_end: usize,
    value_end: usize,
}

/// Collects pairs for one set at a time (see the module doc).
#[derive(Debug, Default)]
pub struct TagsBuilder {
    /// Keys and values as pushed.
    text: String,
    spans: Vec<Span>,
    /// Where a set is assembled before it is copied into its allocation.
    scratch: String,
    /// The same, for [`Self::build_sorted_raw`].
    raw: Vec<u8>,
}

impl TagsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        TagsBuilder::default()
    }

    /// Adds a pair; of pairs with one key, the last pushed stays.
    pub fn push(&mut self, key: &str, value: &str) {
        self.push_with(key, |text| text.push_str(value));
    }

    /// Adds a pair whose value `write` appends to the text it is given (an unescaping
    /// parser writes it there without a string of its own).
    pub fn push_with(&mut self, key: &str, write: impl FnOnce(&mut String)) {
        let key_start = self.text.len();
        self.text.push_str(key);
        let key_end = self.text.len();
        write(&mut self.text);
        self.spans.push(Span {
            key_start,
            key_end,
            value_end: self.text.len(),
        });
    }

    /// Pairs pushed since the last [`Self::build`] (duplicates counted).
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when nothing was pushed since the last [`Self::build`].
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Forgets the pairs pushed since the last [`Self::build`].
    pub fn clear(&mut self) {
        self.text.clear();
        self.spans.clear();
    }

    /// The set of the pairs pushed (sorted by key, the last of a key kept); the builder is
    /// empty again afterwards.
    pub fn build(&mut self) -> Tags {
        let text = self.text.as_str();
        let key = |s: &Span| &text[s.key_start..s.key_end];
        if !self.spans.windows(2).all(|w| key(&w[0]) < key(&w[1])) {
            // Stable, so of equal keys the one pushed last is last: keep it.
            self.spans.sort_by(|a, b| key(a).cmp(key(b)));
            self.spans.dedup_by(|later, earlier| {
                let same = key(later) == key(earlier);
                if same {
                    *earlier = *later;
                }
                same
            });
        }
        let tags = if self.spans.is_empty() {
            Tags::new()
        } else {
            let len = self.spans.iter().map(|s| s.value_end - s.key_start).sum();
            let pairs = self
                .spans
                .iter()
                .map(|s| (key(s), &text[s.key_end..s.value_end]));
            Tags(Some(packed::pack(
                self.spans.len(),
                len,
                pairs,
                &mut self.scratch,
            )))
        };
        self.clear();
        tags
    }

    /// The set of `count` pairs given as raw bytes, keys and values alternately, keys in
    /// order and unique (what a decoder reads back from a set it wrote): copied once into
    /// the set's layout and checked as UTF-8 once, whole, without the builder's text.
    /// `None` when the keys are out of order or repeated or a string is not UTF-8; the
    /// caller then pushes the pairs one by one (and names the bad string).
    pub fn build_sorted_raw<'a, I>(&mut self, count: usize, strings: I) -> Option<Tags>
    where
        I: Iterator<Item = &'a [u8]> + Clone,
    {
        if count == 0 {
            return Some(Tags::new());
        }
        let text_len = strings.clone().map(<[u8]>::len).sum();
        packed::pack_raw(count, text_len, strings, &mut self.raw).map(|s| Tags(Some(s)))
    }
}
