//! Attribute-name patterns for the outputs that choose which log attributes become tags
//! (influxdb) or indexed fields (splunk_hec): a list of globs where `*` matches any run of
//! characters (`k8s.*`, `*_id`, `app`). No other metacharacters: attribute names contain
//! dots and brackets that must match literally.

/// A list of glob patterns; a name matches when any pattern does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AttrGlobs(Vec<String>);

impl AttrGlobs {
    /// The patterns as given.
    pub(crate) fn new(patterns: Vec<String>) -> Self {
        AttrGlobs(patterns)
    }

    /// True when `name` matches one of the patterns.
    pub(crate) fn matches(&self, name: &str) -> bool {
        self.0.iter().any(|p| glob(p.as_bytes(), name.as_bytes()))
    }
}

/// `*`-only glob matching, linear-time (the classic two-pointer backtrack).
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, n));
            p += 1;
        } else if p < pattern.len() && pattern[p] == name[n] {
            p += 1;
            n += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let g = AttrGlobs::new(vec!["k8s.*".into(), "*_id".into(), "app".into()]);
        for yes in ["k8s.pod", "k8s.", "trace_id", "_id", "app"] {
            assert!(g.matches(yes), "{yes}");
        }
        for no in ["k8s", "K8s.pod", "apps", "id", "x.k8s.pod"] {
            assert!(!g.matches(no), "{no}");
        }
        assert!(AttrGlobs::new(vec!["*".into()]).matches(""));
        assert!(!AttrGlobs::default().matches("x"));
        assert!(glob(b"a*b*c", b"aXXbYYc"));
        assert!(!glob(b"a*b*c", b"aXXbYY"));
    }
}
