//! The sample check of every registered output ([`crate::OUTPUTS`]): each plugin module has a
//! `#[cfg(test)] pub(crate) fn check_sample()` (with `gleaner_api::test_util::sample`) and a
//! line here; a registered plugin without one fails this test.

#[test]
fn every_registered_output_shows_its_defaults_in_its_sample() {
    gleaner_api::test_util::sample::assert_every_plugin_checked(
        "outputs",
        crate::OUTPUTS.iter().map(|d| d.name),
        &[
            ("stdout", crate::stdout::check_sample),
            ("file", crate::file::check_sample),
            ("influxdb", crate::influxdb::check_sample),
            ("remote_write", crate::remote_write::check_sample),
            ("splunk_hec", crate::splunk_hec::check_sample),
            ("http", crate::http::check_sample),
            ("otlp", crate::otlp::check_sample),
        ],
    );
}
