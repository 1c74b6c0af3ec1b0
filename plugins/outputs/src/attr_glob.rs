//! Attribute-name patterns for the outputs that choose which log attributes become tags
//! (influxdb) or indexed fields (splunk_hec): a list of [`gleaner_api::glob`] patterns,
//! where `*` matches any run of characters and `?` one character (`k8s.*`, `*_id`, `app`);
//! dots and brackets match literally.

use gleaner_api::glob::Glob;

/// A list of glob patterns; a name matches when any pattern does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AttrGlobs(Vec<Glob>);

impl AttrGlobs {
    /// The patterns as given.
    pub(crate) fn new(patterns: Vec<String>) -> Self {
        AttrGlobs(patterns.into_iter().map(Glob::new).collect())
    }

    /// True when `name` matches one of the patterns.
    pub(crate) fn matches(&self, name: &str) -> bool {
        self.0.iter().any(|g| g.matches(name))
    }
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
    }
}
