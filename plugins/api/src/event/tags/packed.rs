//! The layout of a [`super::Tags`] set: the whole set in one `str`, so a set costs one
//! allocation (a shared `Arc<str>`) instead of a list and two strings per tag.
//!
//! ```text
//! set   := width count end{2 * count} text
//! width := one byte: how many digits each number below takes (1 to 10)
//! count, end := `width` digits of 7 bits, least significant first (bytes 0x00 to 0x7f)
//! text  := key value key value ...   (end[2i] is where key i ends, end[2i + 1] where its
//!                                      value ends, counted from the start of text)
//! ```
//!
//! Every header byte is below 0x80, so the header is ASCII and the set is a valid `str`
//! from which keys and values are sliced without checking their UTF-8 again. The width is
//! the smallest that holds the count and the text's length (one byte per number while the
//! text is under 128 bytes, two under 16 KiB), so one list of tags has exactly one layout
//! and two sets are equal when their strings are.

use std::sync::Arc;

/// Bits a digit holds.
const DIGIT_BITS: u32 = 7;

/// The smallest width whose numbers hold `max`.
fn width(max: usize) -> usize {
    let bits = usize::BITS - max.leading_zeros();
    (bits.div_ceil(DIGIT_BITS) as usize).max(1)
}

/// Appends `v` as `w` digits.
fn put_number(out: &mut String, mut v: usize, w: usize) {
    for _ in 0..w {
        out.push(char::from((v & 0x7f) as u8));
        v >>= DIGIT_BITS;
    }
}

/// The number of `w` digits at `at`.
#[inline]
fn number(b: &[u8], at: usize, w: usize) -> usize {
    b[at..at + w]
        .iter()
        .rev()
        .fold(0, |v, &d| (v << DIGIT_BITS) | usize::from(d))
}

/// Packs `count` pairs whose keys and values take `text_len` bytes in all (both as
/// `pairs` yields them, twice: once for the ends, once for the text) into a new shared set,
/// using `scratch` (cleared first) to assemble it.
pub(super) fn pack<'a, I>(count: usize, text_len: usize, pairs: I, scratch: &mut String) -> Arc<str>
where
    I: Iterator<Item = (&'a str, &'a str)> + Clone,
{
    let w = width(count.max(text_len));
    scratch.clear();
    scratch.reserve(1 + w * (1 + 2 * count) + text_len);
    scratch.push(char::from(w as u8));
    put_number(scratch, count, w);
    let mut end = 0;
    for (k, v) in pairs.clone() {
        end += k.len();
        put_number(scratch, end, w);
        end += v.len();
        put_number(scratch, end, w);
    }
    debug_assert_eq!(end, text_len, "text length of the pairs");
    for (k, v) in pairs {
        scratch.push_str(k);
        scratch.push_str(v);
    }
    Arc::from(scratch.as_str())
}

/// [`pack`] from raw strings not yet known to be UTF-8 (`count` pairs as keys and values
/// alternately, `text_len` bytes in all, keys in order and unique): the set is assembled in
/// `scratch` and checked once, whole, instead of string by string. `None` when the keys are
/// not in order or unique, or the text is not UTF-8 with every string on a character
/// boundary (the caller then reads the strings one by one, to say which is wrong).
pub(super) fn pack_raw<'a, I>(
    count: usize,
    text_len: usize,
    strings: I,
    scratch: &mut Vec<u8>,
) -> Option<Arc<str>>
where
    I: Iterator<Item = &'a [u8]> + Clone,
{
    let w = width(count.max(text_len));
    scratch.clear();
    scratch.reserve(1 + w * (1 + 2 * count) + text_len);
    scratch.push(w as u8);
    put_number_bytes(scratch, count, w);
    let mut end = 0;
    let mut last_key: Option<&[u8]> = None;
    let mut n = 0;
    for (j, s) in strings.clone().enumerate() {
        n = j + 1;
        // A string starting with a continuation byte would split a character: valid UTF-8
        // as a whole, but its key or value could not be sliced.
        if s.first().is_some_and(|&b| (0x80..0xc0).contains(&b)) {
            return None;
        }
        if j % 2 == 0 {
            if last_key.is_some_and(|k| k >= s) {
                return None;
            }
            last_key = Some(s);
        }
        end += s.len();
        put_number_bytes(scratch, end, w);
    }
    if end != text_len || n != 2 * count {
        return None;
    }
    for s in strings {
        scratch.extend_from_slice(s);
    }
    std::str::from_utf8(scratch).ok().map(Arc::from)
}

/// Whether `b` is a set's layout exactly as [`pack`] makes it (what a buffer decoder reads
/// back from a set it wrote whole): the smallest width, a count of at least one, string
/// ends that never go back and end the text, keys in order and unique, every string on a
/// character boundary and the whole valid UTF-8. One walk of the header, one UTF-8 check.
pub(super) fn valid_layout(b: &[u8]) -> Option<&str> {
    let (&w, rest) = b.split_first()?;
    let w = usize::from(w);
    if !(1..=(usize::BITS as usize).div_ceil(DIGIT_BITS as usize)).contains(&w) {
        return None;
    }
    let digits = |at: usize| -> Option<usize> {
        let d = rest.get(at..at + w)?;
        let mut v: usize = 0;
        for &x in d.iter().rev() {
            if x >= 0x80 {
                return None;
            }
            v = v.checked_mul(1 << DIGIT_BITS)? | usize::from(x);
        }
        Some(v)
    };
    let count = digits(0)?;
    let header = count.checked_mul(2)?.checked_add(1)?.checked_mul(w)?;
    let text = b.get(1 + header..)?;
    if count == 0 || width(count.max(text.len())) != w {
        return None;
    }
    let mut start = 0;
    let mut last_key: Option<&[u8]> = None;
    for j in 0..2 * count {
        let end = digits(w * (1 + j))?;
        let s = text.get(start..end)?;
        if s.first().is_some_and(|&c| (0x80..0xc0).contains(&c)) {
            return None;
        }
        if j % 2 == 0 {
            if last_key.is_some_and(|k| k >= s) {
                return None;
            }
            last_key = Some(s);
        }
        start = end;
    }
    if start != text.len() {
        return None;
    }
    std::str::from_utf8(b).ok()
}

/// [`put_number`] into bytes.
fn put_number_bytes(out: &mut Vec<u8>, mut v: usize, w: usize) {
    for _ in 0..w {
        out.push((v & 0x7f) as u8);
        v >>= DIGIT_BITS;
    }
}

/// A packed set read in place.
#[derive(Clone, Copy)]
pub(super) struct View<'a> {
    s: &'a str,
    /// Digits per number.
    w: usize,
    /// Pairs.
    count: usize,
    /// Where the text starts.
    text: usize,
}

impl<'a> View<'a> {
    /// The view of a set [`pack`] made.
    #[inline]
    pub(super) fn new(s: &'a str) -> Self {
        let b = s.as_bytes();
        let w = usize::from(b[0]);
        let count = number(b, 1, w);
        View {
            s,
            w,
            count,
            text: 1 + w * (1 + 2 * count),
        }
    }

    /// Pairs in the set.
    pub(super) fn len(&self) -> usize {
        self.count
    }

    /// Where string `j` (key `j / 2` or its value) ends in `s`; `j = -1` is the text's start.
    #[inline]
    fn end(&self, j: usize) -> usize {
        self.text + number(self.s.as_bytes(), 1 + self.w * (1 + j), self.w)
    }

    /// Where string `j` starts.
    #[inline]
    fn start(&self, j: usize) -> usize {
        if j == 0 { self.text } else { self.end(j - 1) }
    }

    /// Key `i`.
    #[inline]
    pub(super) fn key(&self, i: usize) -> &'a str {
        &self.s[self.start(2 * i)..self.end(2 * i)]
    }

    /// Value `i`.
    #[inline]
    pub(super) fn value(&self, i: usize) -> &'a str {
        &self.s[self.end(2 * i)..self.end(2 * i + 1)]
    }

    /// The index of `key`, or where it would go.
    pub(super) fn search(&self, key: &str) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.key(mid).cmp(key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// The pairs in order.
    pub(super) fn iter(&self) -> Iter<'a> {
        Iter {
            s: self.s,
            w: self.w,
            at: 1 + self.w,
            stop: self.text,
            text: self.text,
            prev: self.text,
        }
    }
}

/// The pairs of a set, in key order.
#[derive(Clone)]
pub struct Iter<'a> {
    s: &'a str,
    w: usize,
    /// Header position of the next key's end.
    at: usize,
    /// Where the header stops.
    stop: usize,
    /// Where the text starts.
    text: usize,
    /// Where the next key starts.
    prev: usize,
}

impl Default for Iter<'_> {
    fn default() -> Self {
        Iter::empty()
    }
}

impl Iter<'static> {
    /// The pairs of an empty set.
    pub const fn empty() -> Self {
        Iter {
            s: "",
            w: 1,
            at: 0,
            stop: 0,
            text: 0,
            prev: 0,
        }
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.stop {
            return None;
        }
        let b = self.s.as_bytes();
        let key_end = self.text + number(b, self.at, self.w);
        let value_end = self.text + number(b, self.at + self.w, self.w);
        self.at += 2 * self.w;
        let key = &self.s[self.prev..key_end];
        let value = &self.s[key_end..value_end];
        self.prev = value_end;
        Some((key, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = (self.stop - self.at) / (2 * self.w);
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl std::iter::FusedIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn packed(pairs: &[(&str, &str)]) -> Arc<str> {
        let len = pairs.iter().map(|(k, v)| k.len() + v.len()).sum();
        pack(pairs.len(), len, pairs.iter().copied(), &mut String::new())
    }

    #[test]
    fn widths_grow_with_the_text() {
        assert_eq!(width(0), 1);
        assert_eq!(width(127), 1);
        assert_eq!(width(128), 2);
        assert_eq!(width(16_383), 2);
        assert_eq!(width(16_384), 3);
        assert_eq!(width(usize::MAX), (usize::BITS as usize).div_ceil(7));
    }

    #[test]
    fn a_small_set_has_one_byte_numbers() {
        let s = packed(&[("a", "1"), ("job", "node")]);
        assert_eq!(&*s, "\u{1}\u{2}\u{1}\u{2}\u{5}\u{9}a1jobnode");
        let v = View::new(&s);
        assert_eq!(v.len(), 2);
        assert_eq!((v.key(1), v.value(1)), ("job", "node"));
        assert_eq!(v.iter().collect::<Vec<_>>(), [("a", "1"), ("job", "node")]);
        assert_eq!(v.search("job"), Ok(1));
        assert_eq!(v.search("b"), Err(1));
        assert_eq!(v.search(""), Err(0));
    }

    #[test]
    fn only_a_layout_pack_makes_is_valid() {
        for pairs in [
            &[("a", "1"), ("job", "node")][..],
            &[("", ""), ("ü", "é")][..],
            &[("k", "x".repeat(300).leak() as &str)][..],
        ] {
            let s = packed(pairs);
            assert_eq!(valid_layout(s.as_bytes()), Some(&*s));
        }
        let good = packed(&[("a", "1"), ("job", "node")]);
        let b = good.as_bytes();
        let bad: Vec<Vec<u8>> = vec![
            vec![],
            b[..b.len() - 1].to_vec(),
            [b, b"x"].concat(),
            // Width 2 where 1 holds the numbers.
            vec![2, 1, 0, 1, 0, 2, 0, b'a', b'1'],
            // No pairs.
            vec![1, 0],
            // Keys out of order, repeated.
            [&[1u8, 2, 1, 2, 3, 4][..], b"b1a1"].concat(),
            [&[1u8, 2, 1, 2, 3, 4][..], b"a1a1"].concat(),
            // Ends going back.
            [&[1u8, 2, 2, 1, 3, 4][..], b"a1b1"].concat(),
            // A header byte past 0x7f, a character split between key and value.
            [&[1u8, 0x81, 1, 2][..], b"a1"].concat(),
            [&[1u8, 1, 2, 3][..], "aé".as_bytes()].concat(),
        ];
        for b in bad {
            assert_eq!(valid_layout(&b), None, "{b:?}");
        }
    }

    #[test]
    fn long_and_multibyte_text_reads_back() {
        let long = "é".repeat(20_000);
        let pairs = [("", ""), ("k", long.as_str()), ("ü", "x")];
        let s = packed(&pairs);
        assert_eq!(s.as_bytes()[0], 3, "40,000 bytes need three digits");
        let v = View::new(&s);
        assert_eq!(v.iter().collect::<Vec<_>>(), pairs);
        assert_eq!(v.iter().len(), 3);
        assert_eq!(v.value(1), long);
        assert_eq!(v.key(2), "ü");
    }
}
