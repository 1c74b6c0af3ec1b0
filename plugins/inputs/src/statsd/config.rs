//! `inputs.statsd` configuration: the serde struct users write (Telegraf's option names), and
//! its validation into [`Settings`], with no I/O (`gleaner check` calls it; the address is
//! resolved and bound in `run`).

use gleaner_api::{ByteSize, ConfigError, Duration, PluginConfig};
use serde::Deserialize;

/// `[[inputs.statsd]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct StatsdConfig {
    /// `host:port` to listen on; `":8125"` means every IPv4 address.
    service_address: String,
    /// `udp` (also `udp4`, `udp6`) or `tcp` (also `tcp4`, `tcp6`).
    protocol: String,
    /// TCP connections served at once; more are closed at once.
    max_tcp_connections: usize,
    /// Enable TCP keep-alive probes on accepted connections.
    tcp_keep_alive: bool,
    /// Idle time before the first keep-alive probe (default: the OS's).
    tcp_keep_alive_period: Option<Duration>,
    /// Close a TCP connection that sends nothing for this long; 0: never.
    tcp_idle_timeout: Duration,
    /// Forget counters after each flush.
    delete_counters: bool,
    /// Forget gauges after each flush.
    delete_gauges: bool,
    /// Forget sets after each flush.
    delete_sets: bool,
    /// Forget timings and histograms after each flush.
    delete_timings: bool,
    /// Percentiles computed for timings (`<p>_percentile` fields).
    percentiles: Vec<f64>,
    /// Samples kept per timing and interval for percentiles (a uniform reservoir).
    percentile_limit: usize,
    /// Replaces `.` in bucket names.
    metric_separator: String,
    /// DogStatsD extensions: `|#tag:value,...` tags and `|c:<container>` ids.
    datadog_extensions: bool,
    /// Deprecated alias of `datadog_extensions` (Telegraf before 1.10).
    parse_data_dog_tags: bool,
    /// Keep the DogStatsD container id as the `container` tag.
    datadog_keep_container_tag: bool,
    /// Accepted for Telegraf configs; packets are parsed as they arrive (no queue).
    allowed_pending_messages: usize,
    /// Socket receive buffer (SO_RCVBUF); default: the OS's.
    read_buffer_size: Option<ByteSize>,
    /// Series held at once (counters, gauges, sets and timings together).
    max_series: usize,
    /// Forget a kept series (delete_* = false) after this long without an update; 0: never.
    max_ttl: Duration,
    /// `""` (names as received) or `"upstream"` (statsd's own sanitising).
    sanitize_name_method: String,
    /// Replace `.` with `_` and `-` with `__` in names.
    convert_names: bool,
    /// Counters as floats instead of integers.
    float_counters: bool,
}

impl Default for StatsdConfig {
    fn default() -> Self {
        StatsdConfig {
            service_address: ":8125".to_owned(),
            protocol: "udp".to_owned(),
            max_tcp_connections: 250,
            tcp_keep_alive: false,
            tcp_keep_alive_period: None,
            tcp_idle_timeout: Duration::from_secs(120),
            delete_counters: true,
            delete_gauges: true,
            delete_sets: true,
            delete_timings: true,
            percentiles: vec![90.0],
            percentile_limit: 1000,
            metric_separator: "_".to_owned(),
            datadog_extensions: true,
            parse_data_dog_tags: false,
            datadog_keep_container_tag: false,
            allowed_pending_messages: 10_000,
            read_buffer_size: None,
            max_series: 10_000,
            max_ttl: Duration::from_secs(0),
            sanitize_name_method: String::new(),
            convert_names: false,
            float_counters: false,
        }
    }
}

/// How packets arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// One or more lines per datagram.
    Udp,
    /// Newline-framed lines on a stream.
    Tcp,
}

/// Parsing and naming options.
#[derive(Debug, Clone)]
pub(crate) struct ParseOptions {
    /// DogStatsD tags and container ids.
    pub(crate) datadog: bool,
    /// Keep the container id as a tag.
    pub(crate) keep_container: bool,
    /// Replaces `.` in names.
    pub(crate) separator: String,
    /// statsd's upstream name sanitising.
    pub(crate) sanitize_upstream: bool,
    /// `.` → `_`, `-` → `__`.
    pub(crate) convert_names: bool,
}

/// What the aggregator needs.
#[derive(Debug, Clone)]
pub(crate) struct AggregateOptions {
    /// Line parsing and naming.
    pub(crate) parse: ParseOptions,
    /// Forget each kind after a flush: counters, gauges, sets, timings.
    pub(crate) delete: [bool; 4],
    /// Percentiles and their field names.
    pub(crate) percentiles: Vec<(f64, String)>,
    /// Reservoir size per timing.
    pub(crate) percentile_limit: usize,
    /// Series cap.
    pub(crate) max_series: usize,
    /// Idle time after which a kept series is forgotten (zero: never).
    pub(crate) max_ttl: std::time::Duration,
    /// Counters as floats.
    pub(crate) float_counters: bool,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Where to bind (`host:port`, resolved in `run`).
    pub(crate) address: String,
    /// UDP or TCP.
    pub(crate) protocol: Protocol,
    /// TCP connection bound.
    pub(crate) max_tcp_connections: usize,
    /// Keep-alive: `None` off, `Some(None)` on with the OS period.
    pub(crate) keep_alive: Option<Option<std::time::Duration>>,
    /// Close a TCP connection idle this long (`None`: never).
    pub(crate) idle_timeout: Option<std::time::Duration>,
    /// SO_RCVBUF.
    pub(crate) read_buffer_size: Option<usize>,
    /// Aggregation.
    pub(crate) aggregate: AggregateOptions,
}

/// Parses and validates the plugin's table.
pub(crate) fn parse(cfg: &PluginConfig) -> Result<Settings, ConfigError> {
    let raw: StatsdConfig = cfg.parse()?;
    validate(raw, cfg)
}

fn validate(raw: StatsdConfig, cfg: &PluginConfig) -> Result<Settings, ConfigError> {
    let protocol = match raw.protocol.as_str() {
        "udp" | "udp4" | "udp6" => Protocol::Udp,
        "tcp" | "tcp4" | "tcp6" => Protocol::Tcp,
        other => {
            return Err(cfg
                .error_at("protocol", format!("unknown protocol {other:?}"))
                .with_hint("use \"udp\" or \"tcp\""));
        }
    };
    let address = normalize_address(&raw.service_address).ok_or_else(|| {
        cfg.error_at(
            "service_address",
            format!("invalid service_address {:?}", raw.service_address),
        )
        .with_hint("write host:port, like \":8125\" or \"127.0.0.1:8125\"")
    })?;
    if raw.max_tcp_connections == 0 {
        return Err(cfg.error_at(
            "max_tcp_connections",
            "max_tcp_connections must be at least 1",
        ));
    }
    let mut percentiles = Vec::with_capacity(raw.percentiles.len());
    for p in raw.percentiles {
        if !(p > 0.0 && p <= 100.0) {
            return Err(cfg
                .error_at("percentiles", format!("percentile {p} is out of range"))
                .with_hint("each percentile must be greater than 0 and at most 100"));
        }
        percentiles.push((p, format!("{p}_percentile")));
    }
    if raw.percentile_limit == 0 {
        return Err(cfg.error_at("percentile_limit", "percentile_limit must be at least 1"));
    }
    if raw.max_series == 0 {
        return Err(cfg.error_at("max_series", "max_series must be at least 1"));
    }
    let sanitize_upstream = match raw.sanitize_name_method.as_str() {
        "" => false,
        "upstream" => true,
        other => {
            return Err(cfg
                .error_at(
                    "sanitize_name_method",
                    format!("unknown sanitize_name_method {other:?}"),
                )
                .with_hint("use \"\" (names as received) or \"upstream\""));
        }
    };
    let read_buffer_size = match raw.read_buffer_size {
        None => None,
        Some(b) => Some(
            usize::try_from(b.get())
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    cfg.error_at(
                        "read_buffer_size",
                        "read_buffer_size must be between 1 byte and 2GiB",
                    )
                })?,
        ),
    };
    Ok(Settings {
        address,
        protocol,
        max_tcp_connections: raw.max_tcp_connections,
        keep_alive: raw
            .tcp_keep_alive
            .then(|| raw.tcp_keep_alive_period.map(Duration::get)),
        idle_timeout: Some(raw.tcp_idle_timeout.get()).filter(|d| !d.is_zero()),
        read_buffer_size,
        aggregate: AggregateOptions {
            parse: ParseOptions {
                datadog: raw.datadog_extensions || raw.parse_data_dog_tags,
                keep_container: raw.datadog_keep_container_tag,
                separator: raw.metric_separator,
                sanitize_upstream,
                convert_names: raw.convert_names,
            },
            delete: [
                raw.delete_counters,
                raw.delete_gauges,
                raw.delete_sets,
                raw.delete_timings,
            ],
            percentiles,
            percentile_limit: raw.percentile_limit,
            max_series: raw.max_series,
            max_ttl: raw.max_ttl.get(),
            float_counters: raw.float_counters,
        },
    })
}

/// `":8125"` → `"0.0.0.0:8125"`; otherwise `host:port` (or `[v6]:port`) with a valid port.
fn normalize_address(addr: &str) -> Option<String> {
    let (host, port) = addr.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    if host.is_empty() {
        return Some(format!("0.0.0.0:{port}"));
    }
    Some(addr.to_owned())
}
