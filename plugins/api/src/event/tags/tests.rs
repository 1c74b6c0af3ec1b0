use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn t(k: &str, v: &str) -> Tag {
    (k.to_owned(), v.to_owned())
}

#[test]
fn from_unsorted_sorts_and_keeps_the_last_duplicate() {
    let tags = Tags::from_unsorted(vec![t("z", "1"), t("a", "x"), t("z", "2"), t("m", "y")]);
    assert_eq!(tags, vec![t("a", "x"), t("m", "y"), t("z", "2")]);
    assert_eq!(tags.get("z"), Some("2"));
    assert_eq!(tags.get("b"), None);
    assert!(Tags::from_unsorted(Vec::new()).is_empty());
}

#[test]
fn clones_share_and_writes_copy_only_the_writer() {
    let a = Tags::from_sorted(vec![t("host", "n1"), t("job", "node")]);
    let mut b = a.clone();
    assert!(Tags::ptr_eq(&a, &b));
    assert_eq!(a.id(), b.id());
    assert_eq!(a.holders(), 2);
    b.insert("instance".into(), "x:1".into());
    assert!(!Tags::ptr_eq(&a, &b));
    assert_eq!(a.len(), 2, "the shared set is unchanged");
    assert_eq!(b.get("instance"), Some("x:1"));
    let keys: Vec<&str> = b.iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["host", "instance", "job"], "sorted after insert");
}

#[test]
fn writes_that_change_nothing_copy_nothing() {
    let a = Tags::from_sorted(vec![t("a", "1"), t("b", "2")]);
    let mut b = a.clone();
    b.insert("a".into(), "1".into());
    b.insert_if_absent("b", "other");
    b.retain(|_| true);
    b.normalize();
    assert!(Tags::ptr_eq(&a, &b));
    b.insert("a".into(), "9".into());
    assert!(!Tags::ptr_eq(&a, &b));
    assert_eq!(b.get("a"), Some("9"));
}

#[test]
fn remove_retain_and_edit() {
    let mut a = Tags::from_sorted(vec![t("a", "1"), t("b", "2"), t("c", "3")]);
    assert_eq!(a.remove("b").as_deref(), Some("2"));
    assert_eq!(a.remove("b"), None);
    a.retain(|(k, _)| k != "a");
    assert_eq!(a, vec![t("c", "3")]);
    a.edit(|l| {
        l.push(t("0", "first"));
        l[0].0 = "z".into();
    });
    assert_eq!(a, vec![t("0", "first"), t("z", "3")]);
    a.retain(|_| false);
    assert!(a.is_empty());
    assert_eq!(a.id(), 0);
    assert_eq!(a, Tags::new());
}

#[test]
fn equal_content_is_equal_and_hashes_alike() {
    use std::collections::hash_map::DefaultHasher;
    let a = Tags::from_sorted(vec![t("a", "1")]);
    let b = Tags::from_sorted(vec![t("a", "1")]);
    assert!(!Tags::ptr_eq(&a, &b));
    assert_eq!(a, b);
    let h = |x: &Tags| {
        let mut s = DefaultHasher::new();
        x.hash(&mut s);
        s.finish()
    };
    assert_eq!(h(&a), h(&b));
    assert_eq!(format!("{a:?}"), r#"[("a", "1")]"#);
}

#[test]
fn memo_edits_each_shared_set_once_and_forgets_unheld_sets() {
    let series: Vec<Tags> = (0..100)
        .map(|i| Tags::from_sorted(vec![t("series", &i.to_string())]))
        .collect();
    let mut memo = TagsMemo::new();
    let mut edits = 0;
    let mut outs = Vec::new();
    for _scrape in 0..3 {
        for s in &series {
            let mut m = s.clone();
            memo.apply(&mut m, |tags| {
                edits += 1;
                tags.insert_if_absent("host", "n1");
            });
            assert_eq!(m.get("host"), Some("n1"));
            outs.push(m);
        }
    }
    assert_eq!(edits, 100, "one edit per set, not per metric");
    assert!(Tags::ptr_eq(&outs[0], &outs[100]));
    // A set held by its metric alone is edited in place, not remembered.
    let mut lone = Tags::from_sorted(vec![t("x", "1")]);
    memo.apply(&mut lone, |tags| tags.insert_if_absent("host", "n1"));
    assert_eq!(memo.len(), 100);
    // The source forgets its sets: the memo forgets them at its next sweep.
    drop(series);
    drop(outs);
    memo.sweep();
    assert!(memo.is_empty());
}

#[test]
fn builder_sorts_keeps_the_last_duplicate_and_is_reusable() {
    let mut b = TagsBuilder::new();
    b.push("z", "1");
    b.push_with("a", |s| s.push('x'));
    b.push("z", "2");
    assert_eq!(b.len(), 3);
    let first = b.build();
    assert_eq!(first, vec![t("a", "x"), t("z", "2")]);
    assert!(b.is_empty());
    b.push("only", "one");
    assert_eq!(b.build(), vec![t("only", "one")]);
    assert!(b.build().is_empty(), "nothing pushed is no set");
    assert_eq!(first.get("a"), Some("x"), "an earlier set keeps its text");
}

#[test]
fn borrowed_pairs_and_owned_pairs_make_one_set() {
    let a: Tags = [("b", "2"), ("a", "1")].into_iter().collect();
    let b: Tags = vec![t("a", "1"), t("b", "2")].into_iter().collect();
    assert_eq!(a, b);
    assert_eq!(a.to_vec(), vec![t("a", "1"), t("b", "2")]);
    assert_eq!(a.iter().len(), 2);
    assert!(a.heap_bytes() > 0);
    assert_eq!(Tags::new().heap_bytes(), 0);
}

/// Tag lists with few distinct keys (so duplicates happen), any text in values.
fn raw(b: &mut TagsBuilder, strings: &[&[u8]]) -> Option<Tags> {
    b.build_sorted_raw(strings.len() / 2, strings.iter().copied())
}

#[test]
fn raw_strings_make_a_set_only_when_in_order_and_utf8() {
    let mut b = TagsBuilder::new();
    let set = raw(&mut b, &[b"a", b"1", b"b", "\u{e9}".as_bytes()]);
    assert_eq!(
        set,
        Some(Tags::from_sorted(vec![t("a", "1"), t("b", "\u{e9}")]))
    );
    assert_eq!(raw(&mut b, &[]), Some(Tags::new()));
    assert_eq!(raw(&mut b, &[b"b", b"1", b"a", b"2"]), None, "out of order");
    assert_eq!(
        raw(&mut b, &[b"a", b"1", b"a", b"2"]),
        None,
        "a repeated key"
    );
    assert_eq!(raw(&mut b, &[b"a", b"\xff"]), None, "not UTF-8");
    assert_eq!(
        raw(&mut b, &[b"a\xc3", b"\xa9"]),
        None,
        "a character split in two"
    );
    assert_eq!(
        b.build_sorted_raw(2, [&b"a"[..], b"1"].into_iter()),
        None,
        "too few strings"
    );
}

fn tag_lists() -> impl Strategy<Value = Vec<Tag>> {
    let key = prop::sample::select(vec!["", "a", "b", "host", "job", "z", "ü", "a b"]);
    let value = prop_oneof![Just(String::new()), "[a-z]{1,3}", "\\PC{0,40}"];
    prop::collection::vec((key.prop_map(str::to_owned), value), 0..12)
}

/// The model: a map from key to the last value given.
fn model(list: &[Tag]) -> BTreeMap<String, String> {
    list.iter().cloned().collect()
}

fn as_list(m: &BTreeMap<String, String>) -> Vec<Tag> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

proptest! {
    #[test]
    fn any_list_round_trips_sorted_and_deduplicated(list in tag_lists()) {
        let m = model(&list);
        let tags = Tags::from_unsorted(list.clone());
        prop_assert_eq!(&tags, &as_list(&m));
        prop_assert_eq!(tags.len(), m.len());
        prop_assert_eq!(tags.is_empty(), m.is_empty());
        let keys: Vec<&str> = tags.iter().map(|(k, _)| k).collect();
        prop_assert!(keys.windows(2).all(|w| w[0] < w[1]));
        for (k, v) in &m {
            prop_assert_eq!(tags.get(k), Some(v.as_str()));
        }
        prop_assert_eq!(tags.get("absent key"), None);
        let again: Tags = list.into_iter().collect();
        prop_assert_eq!(&again, &tags);
        prop_assert_eq!(Tags::from_sorted(as_list(&m)), tags.clone());
        // Its layout reads back as the same set, and a byte less does not.
        let packed = tags.packed().as_bytes();
        prop_assert_eq!(Tags::from_packed(packed), Some(tags.clone()));
        if !packed.is_empty() {
            prop_assert_eq!(Tags::from_packed(&packed[..packed.len() - 1]), None);
        }
    }

    #[test]
    fn writes_match_the_model(
        list in tag_lists(),
        key in prop::sample::select(vec!["a", "c", "host", "ü"]),
        value in "\\PC{0,8}",
    ) {
        let base = Tags::from_unsorted(list.clone());
        let mut m = model(&list);

        let mut tags = base.clone();
        tags.insert(key.to_owned(), value.clone());
        let mut want = m.clone();
        want.insert(key.to_owned(), value.clone());
        prop_assert_eq!(&tags, &as_list(&want));

        let mut tags = base.clone();
        tags.insert_if_absent(key, &value);
        let mut want = m.clone();
        want.entry(key.to_owned()).or_insert(value.clone());
        prop_assert_eq!(&tags, &as_list(&want));

        let mut tags = base.clone();
        prop_assert_eq!(tags.remove(key), m.remove(key));
        prop_assert_eq!(&tags, &as_list(&m));
        prop_assert_eq!(tags.is_empty(), m.is_empty());

        let mut tags = base.clone();
        tags.retain(|(k, v)| k != key && !v.is_empty());
        let want: Vec<Tag> = as_list(&model(&list))
            .into_iter()
            .filter(|(k, v)| k != key && !v.is_empty())
            .collect();
        prop_assert_eq!(&tags, &want);
    }

    #[test]
    fn raw_sorted_strings_make_the_set_the_builder_makes(list in tag_lists()) {
        let set = Tags::from_unsorted(list);
        let strings: Vec<&[u8]> = set.iter().flat_map(|(k, v)| [k.as_bytes(), v.as_bytes()]).collect();
        let again = TagsBuilder::new().build_sorted_raw(set.len(), strings.iter().copied());
        prop_assert_eq!(again, Some(set));
    }

    #[test]
    fn equal_lists_are_equal_sets_and_hash_alike(list in tag_lists()) {
        use std::collections::hash_map::DefaultHasher;
        let h = |x: &Tags| {
            let mut s = DefaultHasher::new();
            x.hash(&mut s);
            s.finish()
        };
        let a = Tags::from_unsorted(list.clone());
        let mut reversed = as_list(&model(&list));
        reversed.reverse();
        let b = Tags::from_unsorted(reversed);
        prop_assert!(a.is_empty() || !Tags::ptr_eq(&a, &b));
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(h(&a), h(&b));
    }
}
