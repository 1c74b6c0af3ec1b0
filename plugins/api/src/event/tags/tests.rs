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
    assert_eq!(b[0].0, "host", "sorted after insert");
    assert_eq!(b[1].0, "instance");
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
