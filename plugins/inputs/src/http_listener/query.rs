//! The query string of a write request (`db`, `precision`, `u`, `p`, ...), percent-decoded.

use std::borrow::Cow;

/// Decoded `key=value` pairs, in request order.
#[derive(Debug, Default)]
pub(crate) struct Query<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Query<'a> {
    /// Parses `a=1&b=x%20y`; `+` is a space, a bad escape is kept as written.
    pub(crate) fn parse(query: &'a str) -> Self {
        let pairs = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect();
        Query { pairs }
    }

    /// The first value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }
}

fn decode(s: &str) -> Cow<'_, str> {
    if !s.contains(['%', '+']) {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |c: u8| char::from(c).to_digit(16);
                match (
                    b.get(i + 1).and_then(|&c| hex(c)),
                    b.get(i + 2).and_then(|&c| hex(c)),
                ) {
                    (Some(hi), Some(lo)) => {
                        // Two hex digits make at most 255.
                        out.push((hi * 16 + lo) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pairs() {
        let q = Query::parse("db=my%20db&precision=s&u=a+b&p=%zz&flag&p=second");
        assert_eq!(q.get("db"), Some("my db"));
        assert_eq!(q.get("precision"), Some("s"));
        assert_eq!(q.get("u"), Some("a b"));
        assert_eq!(q.get("p"), Some("%zz"));
        assert_eq!(q.get("flag"), Some(""));
        assert_eq!(q.get("rp"), None);
        assert_eq!(Query::parse("x=%C3%A9%FF").get("x"), Some("é\u{fffd}"));
    }
}
