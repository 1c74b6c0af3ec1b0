//! Stable hashing of target identities and the `shard` option: FNV-1a (stable across runs
//! and builds, unlike std's randomised hasher) with a SplitMix64 finalizer, and jump
//! consistent hashing (Lamping and Veach, 2014), so that with `shard = { index, total }`
//! each target belongs to exactly one of `total` replicas and growing to `total + 1` moves
//! only about `1/(total + 1)` of them. The same hash gives each target its scrape offset
//! within the interval.

use serde::Deserialize;

/// FNV-1a's 64-bit offset basis.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a over `bytes`, continuing from `state` (start with [`FNV_OFFSET`]).
pub fn fnv1a(mut state: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        state ^= u64::from(b);
        state = state.wrapping_mul(0x0000_0100_0000_01b3);
    }
    state
}

/// SplitMix64's finalizer: spreads FNV's weak high bits over the whole word.
pub fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The stable hash of a target identity.
pub fn identity_hash(identity: &str) -> u64 {
    mix(fnv1a(FNV_OFFSET, identity.as_bytes()))
}

/// Jump consistent hash: the bucket in `0..buckets` of `key` (`buckets` ≥ 1).
pub fn jump(mut key: u64, buckets: u32) -> u32 {
    let (mut b, mut j): (i64, i64) = (-1, 0);
    while j < i64::from(buckets) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    u32::try_from(b).unwrap_or(0)
}

/// `shard = { index = N, total = M }`: this replica scrapes the targets of bucket `index`.
///
/// In a StatefulSet, `index` is the pod's ordinal: `"${SHARD_INDEX}"` from the label
/// `apps.kubernetes.io/pod-index` (Kubernetes 1.28+). Where that label is missing, the
/// downward API gives an empty string; then `pod_name = "${POD_NAME}"` (the pod's
/// `metadata.name`, `<statefulset>-<ordinal>`) supplies the ordinal from its `-N` suffix. An
/// index that is empty with no usable pod name, or not a whole number, is a config error: a
/// silent 0 would make two replicas scrape the same share and none scrape another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawShard")]
pub struct Shard {
    /// This replica, `0..total`.
    pub index: u32,
    /// How many replicas share the targets.
    pub total: u32,
}

/// The `shard` table as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShard {
    #[serde(default)]
    index: Option<IntOrString>,
    #[serde(default)]
    pod_name: Option<String>,
    total: IntOrString,
}

/// A number, or a string holding one: `"${SHARD_INDEX}"` is a string until the environment
/// is substituted into it.
#[derive(Deserialize)]
#[serde(untagged)]
enum IntOrString {
    Int(u32),
    Str(String),
}

impl IntOrString {
    /// The number; `None` for an empty (or blank) string.
    fn number(&self, key: &str) -> Result<Option<u32>, String> {
        match self {
            IntOrString::Int(n) => Ok(Some(*n)),
            IntOrString::Str(s) if s.trim().is_empty() => Ok(None),
            IntOrString::Str(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| format!("shard.{key} {s:?} is not a whole number")),
        }
    }
}

/// The ordinal of a StatefulSet pod name (`gleaner-poller-2` → 2).
fn ordinal(pod_name: &str) -> Option<u32> {
    let (_, n) = pod_name.trim().rsplit_once('-')?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

impl TryFrom<RawShard> for Shard {
    type Error = String;

    fn try_from(raw: RawShard) -> Result<Self, String> {
        let total = raw
            .total
            .number("total")?
            .ok_or("shard.total is empty (set SHARD_TOTAL to the replica count)")?;
        let given = match &raw.index {
            Some(i) => i.number("index")?,
            None => None,
        };
        let pod = raw.pod_name.as_deref().map(str::trim).unwrap_or_default();
        let index = match given {
            Some(i) => i,
            None if !pod.is_empty() => ordinal(pod).ok_or_else(|| {
                format!(
                    "shard.index is empty and pod_name {pod:?} does not end in -<ordinal> (a StatefulSet pod name)"
                )
            })?,
            None => {
                return Err("shard.index is empty: the pod has no apps.kubernetes.io/pod-index label \
                            (Kubernetes before 1.28) and no pod_name gives its ordinal; set \
                            pod_name = \"${POD_NAME}\" from metadata.name"
                    .to_owned());
            }
        };
        Ok(Shard { index, total })
    }
}

impl Shard {
    /// Checks `index < total` and `total >= 1`.
    pub fn validate(&self) -> Result<(), String> {
        if self.total == 0 {
            return Err("shard.total must be at least 1".to_owned());
        }
        if self.index >= self.total {
            return Err(format!(
                "shard.index {} is not below shard.total {}",
                self.index, self.total
            ));
        }
        Ok(())
    }

    /// True when the target with identity hash `hash` is this replica's.
    pub fn owns(&self, hash: u64) -> bool {
        jump(hash, self.total) == self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(n: usize) -> Vec<u64> {
        (0..n)
            .map(|i| identity_hash(&format!("http://10.0.{}.{}:9100/metrics", i / 250, i % 250)))
            .collect()
    }

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        assert_eq!(fnv1a(FNV_OFFSET, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(FNV_OFFSET, b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn every_target_belongs_to_exactly_one_replica() {
        for total in [1, 2, 3, 7, 16] {
            for h in targets(3000) {
                let owners = (0..total)
                    .filter(|&index| Shard { index, total }.owns(h))
                    .count();
                assert_eq!(owners, 1, "total {total}");
            }
        }
    }

    #[test]
    fn adding_a_replica_moves_about_one_in_m_plus_one() {
        let ts = targets(5000);
        for m in [1u32, 2, 3, 5, 9] {
            let moved = ts.iter().filter(|&&h| jump(h, m) != jump(h, m + 1)).count();
            let expected = ts.len() as f64 / f64::from(m + 1);
            let ratio = moved as f64 / expected;
            assert!(
                (0.85..=1.15).contains(&ratio),
                "{m} -> {}: moved {moved}, expected about {expected}",
                m + 1
            );
            // Only onto the new replica: nothing moves between old ones.
            assert!(
                ts.iter()
                    .all(|&h| jump(h, m) == jump(h, m + 1) || jump(h, m + 1) == m)
            );
        }
    }

    #[test]
    fn replicas_get_even_shares() {
        let ts = targets(6000);
        for index in 0..4 {
            let n = ts
                .iter()
                .filter(|&&h| Shard { index, total: 4 }.owns(h))
                .count();
            assert!((1200..=1800).contains(&n), "replica {index} got {n}");
        }
    }

    fn parse(text: &str) -> Result<Shard, String> {
        #[derive(Deserialize)]
        struct C {
            shard: Shard,
        }
        gleaner_api::PluginConfig::from_toml_str("inputs.prometheus.0", text)
            .and_then(|cfg| cfg.parse::<C>())
            .map(|c| c.shard)
            .map_err(|e| e.message)
    }

    #[test]
    fn the_index_comes_from_the_label_else_from_the_pod_name() {
        let ok = |t: &str| parse(t).unwrap_or_else(|e| panic!("{t}: {e}"));
        assert_eq!(ok("shard = { index = 2, total = 3 }").index, 2);
        assert_eq!(ok("shard = { index = \"2\", total = \"3\" }").index, 2);
        // The label wins over the pod name.
        let both = "shard = { index = \"1\", pod_name = \"gleaner-poller-2\", total = \"3\" }";
        assert_eq!(ok(both).index, 1);
        // No label (clusters before 1.28): the pod name's suffix.
        let no_label = "shard = { index = \"\", pod_name = \"gleaner-poller-2\", total = \"3\" }";
        assert_eq!(ok(no_label).index, 2);
        assert_eq!(
            ok("shard = { pod_name = \"web-0\", total = 1 }"),
            Shard { index: 0, total: 1 }
        );
    }

    #[test]
    fn an_empty_or_non_numeric_index_is_an_error_not_shard_0() {
        for (text, want) in [
            (
                "shard = { index = \"\", total = \"3\" }",
                "shard.index is empty",
            ),
            (
                "shard = { index = \"\", pod_name = \"\", total = 3 }",
                "shard.index is empty",
            ),
            ("shard = { total = 3 }", "shard.index is empty"),
            (
                "shard = { index = \"two\", total = 3 }",
                "shard.index \"two\" is not a whole number",
            ),
            (
                "shard = { index = \"-1\", total = 3 }",
                "is not a whole number",
            ),
            (
                "shard = { index = \"\", pod_name = \"poller\", total = 3 }",
                "does not end in -<ordinal>",
            ),
            (
                "shard = { index = 0, total = \"\" }",
                "shard.total is empty",
            ),
        ] {
            let e = parse(text).expect_err(text);
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn index_must_be_below_total() {
        assert!(Shard { index: 2, total: 2 }.validate().is_err());
        assert!(Shard { index: 0, total: 0 }.validate().is_err());
        assert!(Shard { index: 1, total: 2 }.validate().is_ok());
    }
}
