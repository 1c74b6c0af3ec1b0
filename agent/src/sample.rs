//! `gleaner sample-config`: the `[agent]` table with its defaults, then every plugin's own
//! commented sample, in registry order. Generated from the plugins' descriptors, so it cannot
//! drift from them.

use crate::registry;

const AGENT: &str = r#"[agent]
## Default gather interval of inputs (an input's own `interval` wins).
interval = "10s"
## How often outputs flush what they sent.
flush_interval = "1s"
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

## Tags added to every metric (a metric's own tag of the same name wins).
# [agent.tags]
# cluster = "prod"
"#;

const OUTPUT_SHARED: &str = r#"## Every output also takes:
##   alias = "name"            stable id (names its buffer directory); default outputs.<name>.<index>
##   match = ["inputs.tail.*"] globs on input ids; default: every input of the kinds it takes
##   [outputs.<name>.buffer]   type = "memory" | "disk", max_bytes = "1GiB", when_full = "block" | "drop_oldest"
## Every input also takes `alias` and `interval`.
"#;

/// The whole sample config.
pub fn render() -> String {
    let mut out = String::new();
    out.push_str("# Gleaner sample config: every plugin, every option with its default.\n");
    out.push_str("# Lines starting with `# ` are optional settings shown at their defaults.\n\n");
    out.push_str(AGENT);
    out.push('\n');
    out.push_str(OUTPUT_SHARED);
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
