//! The sample check of every registered filter ([`crate::FILTERS`]): each plugin module has a
//! `#[cfg(test)] pub(crate) fn check_sample()` (with `gleaner_api::test_util::sample`) and a
//! line here; a registered plugin without one fails this test.

#[test]
fn every_registered_filter_shows_its_defaults_in_its_sample() {
    gleaner_api::test_util::sample::assert_every_plugin_checked(
        "filters",
        crate::FILTERS.iter().map(|d| d.name),
        &[
            ("kubernetes", crate::kubernetes::check_sample),
            ("static", crate::static_attrs::check_sample),
            ("parse", crate::parse::check_sample),
            ("select", crate::select::check_sample),
            ("modify", crate::modify::check_sample),
            ("throttle", crate::throttle::check_sample),
        ],
    );
}
