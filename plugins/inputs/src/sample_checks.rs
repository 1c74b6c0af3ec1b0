//! The sample check of every registered input ([`crate::INPUTS`]): each plugin module has a
//! `#[cfg(test)] pub(crate) fn check_sample()` (with `gleaner_api::test_util::sample`) and a
//! line here; a registered plugin without one fails this test.

#[test]
fn every_registered_input_shows_its_defaults_in_its_sample() {
    gleaner_api::test_util::sample::assert_every_plugin_checked(
        "inputs",
        crate::INPUTS.iter().map(|d| d.name),
        &[
            ("internal", crate::internal::check_sample),
            ("http_listener", crate::http_listener::check_sample),
            ("remote_write", crate::remote_write::check_sample),
            ("tail", crate::tail::check_sample),
            ("host", crate::host::check_sample),
            ("kubelet", crate::kubelet::check_sample),
            ("prometheus", crate::prometheus::check_sample),
            ("statsd", crate::statsd::check_sample),
            ("syslog", crate::syslog::check_sample),
            ("kubernetes_events", crate::kubernetes_events::check_sample),
            ("exec", crate::exec::check_sample),
            ("execd", crate::execd::check_sample),
            ("journald", crate::journald::check_sample),
            ("otlp", crate::otlp::check_sample),
            ("procstat", crate::procstat::check_sample),
            ("temp", crate::temp::check_sample),
        ],
    );
}
