//! A 1 MiB JSON line costs `filters.parse` at most its own size in memory: every byte the
//! filter asks the allocator for while parsing it (reallocation growth included, an upper
//! bound on the peak) is counted by an instrumented global allocator. Its own test binary,
//! so no other test allocates meanwhile.

use gleaner_api::{Batch, BuildContext, LogRecord, PluginConfig, Stream};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const MIB: usize = 1 << 20;
/// What a record's attribute list and the bookkeeping of one parse may add.
const SLACK: usize = 64 * 1024;

fn line(kind: &str) -> Vec<u8> {
    let mut s = String::with_capacity(MIB + 64);
    match kind {
        "string" => {
            s.push_str("{\"level\":\"info\",\"msg\":\"");
            while s.len() < MIB {
                s.push_str("a quoted \\\"word\\\" and \\u00e9 and a tab\\t, ");
            }
            s.push_str("\"}");
        }
        "nested" => {
            s.push_str("{\"items\": [");
            let mut i = 0;
            while s.len() < MIB {
                s.push_str(&format!(
                    "{{ \"id\" : {i}, \"tags\" : [ \"x\", \"y\" ] }}, "
                ));
                i += 1;
            }
            s.push_str("{}]}");
        }
        "wide" => {
            s.push('{');
            let mut i = 0;
            while s.len() < MIB {
                s.push_str(&format!("\"k{i}\":{i},"));
                i += 1;
            }
            s.push_str("\"end\":0}");
        }
        _ => {
            s.push_str("{\"msg\":\"");
            while s.len() < MIB {
                s.push_str("cut short \\n ");
            }
        }
    }
    s.into_bytes()
}

#[test]
fn a_mebibyte_line_costs_at_most_its_size() {
    let desc = gleaner_filters::FILTERS
        .iter()
        .find(|d| d.name == "parse")
        .expect("registered");
    let cfg = PluginConfig::from_toml_str("filters.parse.0", "format = \"json\"\n").expect("toml");
    let mut f = (desc.build)(&cfg, &BuildContext::for_test("filters.parse.0")).expect("builds");
    for (kind, parses) in [
        ("string", true),
        ("nested", true),
        ("wide", false),
        ("cut", false),
    ] {
        // A line past max_keys stops at key 257: it costs next to nothing.
        let extra = if kind == "wide" { 0 } else { 1 };
        let body = line(kind);
        let size = body.len();
        let mut batch = Batch::Logs(vec![LogRecord::new(0, body, Stream::Stdout)]);
        let region = Region::new(GLOBAL);
        f.process(&mut batch);
        let c = region.change();
        let asked = c.bytes_allocated + usize::try_from(c.bytes_reallocated.max(0)).unwrap_or(0);
        let Batch::Logs(out) = &batch else {
            panic!("kind")
        };
        assert_eq!(
            out[0].attribute("parse_error").is_none(),
            parses,
            "{kind}: parsed as expected"
        );
        let bound = size * extra + SLACK;
        assert!(
            asked <= bound,
            "{kind}: {asked} bytes asked for a {size}-byte line (bound {bound})"
        );
        drop(batch);
    }
}
