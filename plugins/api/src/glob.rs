//! Name globs shared by the engine (`match`) and plugins (device, interface and attribute
//! filters): `*` matches any run of characters (dots and slashes included), `?` exactly one
//! character; everything else is literal. Matching is linear-time (two pointers with one
//! backtrack point) and allocates nothing. Path globs with per-component rules are the tail
//! input's own.

/// A glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
    /// The pattern's shape, for the common cases that need no matching loop.
    shape: Shape,
}

/// Common glob shapes answered with one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// No wildcard: equality.
    Literal,
    /// `prefix*` with no other wildcard.
    Prefix,
    /// Anything else: the general loop.
    General,
}

impl Glob {
    /// Every string is a valid glob.
    pub fn new(pattern: impl Into<String>) -> Self {
        let pattern = pattern.into();
        let wild = |c: &u8| *c == b'*' || *c == b'?';
        let b = pattern.as_bytes();
        let shape = match b.iter().position(wild) {
            None => Shape::Literal,
            Some(i) if i + 1 == b.len() && b[i] == b'*' => Shape::Prefix,
            Some(_) => Shape::General,
        };
        Glob { pattern, shape }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// True when the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        match self.shape {
            Shape::Literal => return self.pattern == text,
            Shape::Prefix => {
                let prefix = &self.pattern.as_bytes()[..self.pattern.len() - 1];
                return text.as_bytes().starts_with(prefix);
            }
            Shape::General => {}
        }
        self.matches_general(text)
    }

    /// The general two-pointer match (any shape).
    fn matches_general(&self, text: &str) -> bool {
        let (p, t) = (self.pattern.as_bytes(), text.as_bytes());
        let (mut pi, mut ti) = (0, 0);
        // Where the last `*` was, and where in the text it currently stops.
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            match p.get(pi) {
                Some(b'*') => {
                    star = Some((pi, ti));
                    pi += 1;
                }
                Some(b'?') => {
                    pi += 1;
                    ti += char_len(t[ti]);
                }
                Some(&c) if c == t[ti] => {
                    pi += 1;
                    ti += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        // Let the `*` take one more whole character.
                        let next = st + char_len(t[st]);
                        star = Some((sp, next));
                        pi = sp + 1;
                        ti = next;
                    }
                    None => return false,
                },
            }
        }
        p[pi..].iter().all(|&c| c == b'*')
    }
}

/// Length of the UTF-8 character starting with byte `b` (1 for a stray continuation byte).
fn char_len(b: u8) -> usize {
    match b {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        0xc0..=0xdf => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Glob::new(p).matches(t)
    }

    #[test]
    fn fast_shapes_agree_with_the_general_match() {
        let patterns = [
            "k8s.*",
            "app",
            "",
            "*",
            "a*",
            "stream",
            "k8s.labels.*",
            "é*",
        ];
        let texts = [
            "k8s.pod",
            "k8s.",
            "k8s",
            "K8s.pod",
            "app",
            "apps",
            "",
            "a",
            "stream",
            "k8s.labels.x",
            "é",
            "éa",
            "x.k8s.pod",
        ];
        for p in patterns {
            let g = Glob::new(p);
            for t in texts {
                assert_eq!(g.matches(t), g.matches_general(t), "{p:?} on {t:?}");
            }
        }
    }

    #[test]
    fn stars_and_questions() {
        assert!(m("inputs.tail.*", "inputs.tail.0"));
        assert!(!m("inputs.tail.*", "inputs.host.0"));
        assert!(m("*", ""));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("*x*y", "axbxy"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(!m("a*b*c", "aXXbYY"));
        assert!(m("my-alias", "my-alias"));
        assert!(!m("my-alias", "my-alias2"));
        assert!(m("k8s.*", "k8s."));
        assert!(!m("k8s.*", "K8s.pod"));
        assert!(m("/var/*", "/var/lib/x"), "* crosses slashes");
    }

    #[test]
    fn question_mark_takes_a_whole_character() {
        assert!(m("?", "é"));
        assert!(m("sd?", "sdé"));
        assert!(!m("??", "é"));
        assert!(m("*é", "ééé"));
        assert!(m("*?", "日本"));
    }
}
