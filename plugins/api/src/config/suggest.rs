//! "Did you mean ...?" for unknown names and keys: the closest candidate by optimal string
//! alignment distance (Levenshtein plus the transposition of two adjacent characters as one
//! edit, the restricted Damerau-Levenshtein distance), when it is close enough to be a typo:
//! `tial` is one edit from `tail`, not two.

/// The closest candidate, if it is within a third of the longer name's length (at least one
/// edit) of `bad`; ties go to the earlier candidate.
pub fn did_you_mean<'a>(bad: &str, candidates: &'a [impl AsRef<str>]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (c.as_ref(), edit_distance(bad, c.as_ref())))
        .filter(|(c, d)| *d <= (c.chars().count().max(bad.chars().count()) / 3).max(1))
        .min_by_key(|(_, d)| *d)
        .map(|(c, _)| c)
}

/// Optimal string alignment distance between `a` and `b`, in characters: insertions,
/// deletions, substitutions and transpositions of two adjacent characters each cost one.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows of the table: two rows back (for transpositions), the last one, this one.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j - 1] + cost).min(prev[j] + 1).min(cur[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transposition_is_one_edit() {
        assert_eq!(edit_distance("tial", "tail"), 1);
        assert_eq!(edit_distance("intreval", "interval"), 1);
        assert_eq!(edit_distance("ab", "ba"), 1);
        // Optimal string alignment: no substring is edited twice.
        assert_eq!(edit_distance("ca", "abc"), 3);
    }

    #[test]
    fn insertions_deletions_and_substitutions_cost_one_each() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("pathz", "paths"), 1);
        assert_eq!(edit_distance("héllo", "hello"), 1);
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("pathz", &["paths", "format"]), Some("paths"));
        assert_eq!(did_you_mean("zzzzzz", &["paths", "format"]), None);
        assert_eq!(
            did_you_mean("tial", &["host", "kubelet", "tail", "prometheus"]),
            Some("tail")
        );
        assert_eq!(
            did_you_mean("interavl", &["interval", "jitter"]),
            Some("interval")
        );
    }
}
