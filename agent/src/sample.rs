//! `gleaner sample-config`: the `[agent]` table with its defaults, then every plugin's own
//! commented sample, in registry order. Generated from the plugins' descriptors, so it cannot
//! drift from them.

use crate::registry;

const AGENT: &str = r#"[agent]
## Default gather interval of inputs (an input's own `interval` wins).
interval = "10s"
## A random delay in [0, collection_jitter) before each gather, so agents do not gather in
## lockstep (an input's own `collection_jitter` wins). Must be shorter than the interval.
# collection_jitter = "0s"
## How often outputs flush what they sent, and the age at which a disk buffer's chunk is
## sealed for delivery (a line waits up to this long in a chunk when traffic is light).
flush_interval = "250ms"
## Where buffers and tail offsets live. Unset: memory buffers only.
# data_dir = "/var/lib/gleaner"
## Value of the `host` tag. Empty: $NODE_NAME, else the system host name.
# hostname = ""
## Do not add the `host` tag to metrics.
# omit_hostname = false
## Address of /metrics and /health. Empty string: no listener.
http_listen = "127.0.0.1:8686"
## Time allowed on SIGTERM to stop inputs, drain queues and flush outputs.
shutdown_timeout = "30s"
## Capacity of each output's queue, in batches (a full queue pushes back on the inputs).
# queue_batches = 64
## Events in flight between the inputs and the output buffers, at most: bounds memory. No
## batch is larger: an input's larger batch enters the pipeline in pieces of this size.
# max_in_flight_events = 4096
## Reload when the config file (or a file of the config directory) changes, as on SIGHUP;
## sees Kubernetes ConfigMap updates. Also `--watch-config`.
# watch_config = false
## Serve /tap on http_listen, to clients on this host only, for `gleaner tap` (a sample of
## the events passing chosen components, at most 1,000 a second per client).
# tap = false

## Tags added to every metric (a metric's own tag of the same name wins).
# [agent.tags]
# cluster = "prod"
"#;

/// Telegraf's selectors, which every input, filter and output takes; each key is shown once,
/// here, and the example lines (`##   `) parse when uncommented (a test checks).
const SELECTORS: &str = r#"## Every input, filter and output also takes Telegraf's selectors, globs (`*`, `?`) on metrics.
## On an input or output they choose which metrics pass and which fields and tags they keep;
## on a filter, which metrics it sees (the others go around it, untouched). Order: namepass,
## namedrop, tagpass, tagdrop; then fieldinclude, fieldexclude, taginclude, tagexclude. A
## metric left without fields is dropped. Drops are counted as selector_namepass, ...,
## selector_tagdrop and selector_no_fields. Log records are never touched. Each is optional:
##   namepass = ["cpu*"]            # only metrics whose name matches one of these
##   namedrop = ["debug_*"]         # not those whose name matches one of these
##   fieldinclude = ["usage_*"]     # only these fields (also spelt fieldpass)
##   fieldexclude = ["*_raw"]       # not these fields (also spelt fielddrop)
##   taginclude = ["host", "cpu"]   # only these tags
##   tagexclude = ["secret"]        # not these tags
##   tagpass = { env = ["prod*"], region = ["eu-*"] }   # only metrics where one of these tags matches
##   tagdrop = { pod = ["debug-*"] }                    # not metrics where one of these tags matches
"#;

const OUTPUT_SHARED: &str = r#"## Every input also takes `alias` (a stable id), `interval` and `collection_jitter`.
## Every filter also takes `alias` and `match` (globs on input ids).
## Every output also takes `alias`, `match` and a buffer table:
##   alias = "name"              stable id: names its buffer directory; default outputs.<name>.<index>
##   match = ["inputs.tail.*"]   globs on input ids; default: every input
##   kinds = ["metrics", "logs"] event kinds taken; default: the output's own (see README)
##   [outputs.<name>.buffer]
##   type = "disk"               "disk" (default when agent.data_dir is set) or "memory"
##   max_bytes = "1GiB"          bound of what waits for the destination
##   when_full = "block"         "block" (push back to the inputs) or "drop_oldest" (counted)
##   chunk_size = "2MiB"         disk: chunk files seal at this size or after flush_interval
##   sync = "batch"              disk: "batch" acknowledges after fsync (group commit); "none" never fsyncs
##   retry_initial_backoff = "1s"   first retry delay, doubling (each drawn in [d/2, d])...
##   retry_max_backoff = "60s"      ...up to this; a Retry-After from the server wins
##   dead_letter = false         keep events rejected for good under <data_dir>/dead/<output-id>/
"#;

/// The whole sample config.
pub fn render() -> String {
    let mut out = String::new();
    out.push_str("# Gleaner sample config: every plugin, every option with its default.\n");
    out.push_str("# Lines starting with `# ` are optional settings shown at their defaults.\n\n");
    out.push_str(AGENT);
    out.push('\n');
    out.push_str(OUTPUT_SHARED);
    out.push('\n');
    out.push_str(SELECTORS);
    section(
        &mut out,
        "inputs",
        registry::inputs()
            .iter()
            .map(|d| (d.name, d.summary, d.sample)),
    );
    section(
        &mut out,
        "filters",
        registry::filters()
            .iter()
            .map(|d| (d.name, d.summary, d.sample)),
    );
    section(
        &mut out,
        "outputs",
        registry::outputs()
            .iter()
            .map(|d| (d.name, d.summary, d.sample)),
    );
    out
}

fn section<'a>(
    out: &mut String,
    kind: &str,
    items: impl Iterator<Item = (&'a str, &'a str, &'a str)>,
) {
    for (name, summary, sample) in items {
        out.push_str(&format!("\n###### {kind}.{name}: {summary}\n"));
        out.push_str(sample.trim_end());
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gleaner_api::selector::Selectors;

    /// The selector example lines, uncommented.
    fn selector_lines() -> String {
        SELECTORS
            .lines()
            .filter_map(|l| l.strip_prefix("##   "))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_selectors_are_shown_once_and_parse_uncommented() {
        let whole = render();
        let lines = selector_lines();
        for key in Selectors::KEYS {
            let shown = whole
                .lines()
                .filter(|l| l.starts_with(&format!("##   {key} = ")))
                .count();
            let alias = matches!(*key, "fieldpass" | "fielddrop");
            assert_eq!(shown, usize::from(!alias), "{key} shown {shown} times");
            assert!(whole.contains(key), "{key} is not named");
        }
        let t = toml::de::DeTable::parse(&lines).expect("the uncommented lines are TOML");
        let s = Selectors::from_table(t.get_ref(), "inputs.x.0")
            .expect("they are valid selectors")
            .expect("some");
        assert!(s.namepass.is_some() && s.namedrop.is_some());
        assert!(s.fieldinclude.is_some() && s.fieldexclude.is_some());
        assert!(s.taginclude.is_some() && s.tagexclude.is_some());
        assert_eq!(s.tagpass.as_ref().map(Vec::len), Some(2));
        assert_eq!(s.tagdrop.as_ref().map(Vec::len), Some(1));
    }
}
