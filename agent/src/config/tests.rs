//! Tests of the config loader against the fixtures in `agent/testdata/config/`: one `bad/` file
//! per rule (each error pinned to its exact `file:line:col: key: message (hint)`), `bad_dir/`
//! for errors across files, and `good/` for what a valid config loads to.
//!
//! No test sets an environment variable (`set_var` is unsafe, and tests run in parallel): the
//! fixtures use `${VAR:-default}`, `${HOME}`, or [`load_with_env`] with a fake environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gleaner_api::ConfigError;
use serde::Deserialize;

use super::load::load_with_env;
use super::locate::line_col;
use super::*;

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/config")
}

/// Every error of a fixture that must fail, printed, with the testdata prefix removed.
fn errors_of(rel: &str) -> Vec<String> {
    let root = format!("{}/", testdata().display());
    let errs = load(&testdata().join(rel)).expect_err(rel);
    errs.iter()
        .map(|e| e.to_string().replace(&root, ""))
        .collect()
}

fn good(rel: &str) -> Config {
    load(&testdata().join(rel)).unwrap_or_else(|e| panic!("{rel}:\n{e}"))
}

fn ids(sections: &[PluginSection]) -> Vec<&str> {
    sections.iter().map(|s| s.id.as_str()).collect()
}

#[test]
fn each_bad_fixture_is_located() {
    let cases = [
        (
            "bad/unknown_top_level.toml",
            "bad/unknown_top_level.toml:2:3: input: unknown top-level key (did you mean `inputs`?)",
        ),
        (
            "bad/wrong_type.toml",
            "bad/wrong_type.toml:3:12: agent.interval: invalid type: integer `10`, expected a \
             duration string like \"10s\" or \"250ms\"",
        ),
        (
            "bad/bad_duration.toml",
            "bad/bad_duration.toml:3:12: inputs.host.0.interval: invalid duration \"10 sec\": \
             expected number+unit parts like \"10s\", \"250ms\", \"1m30s\" (units ns, us, ms, s, \
             m, h, d)",
        ),
        (
            "bad/bad_size.toml",
            "bad/bad_size.toml:5:13: outputs.stdout.0.buffer.max_bytes: invalid size \
             \"12 parsecs\": expected bytes or number+unit like \"64MiB\", \"10MB\" (B, KB, KiB, \
             MB, MiB, GB, GiB, TB, TiB)",
        ),
        (
            "bad/single_table.toml",
            "bad/single_table.toml:2:1: inputs.tail: `[inputs.tail]` is a single table \
             (use [[inputs.tail]] (an array of tables))",
        ),
        (
            "bad/duplicate_alias.toml",
            "bad/duplicate_alias.toml:7:9: inputs.tail.1.alias: duplicate alias `app`: already \
             the alias of inputs.tail.0 at bad/duplicate_alias.toml:3:9 (give each plugin its \
             own alias)",
        ),
        (
            "bad/bad_match.toml",
            "bad/bad_match.toml:3:9: outputs.stdout.0.match: expected a string or an array of \
             strings, found integer (write a glob on input ids, like \"inputs.tail.*\", or an \
             array of them)",
        ),
        (
            "bad/disk_without_data_dir.toml",
            "bad/disk_without_data_dir.toml:5:8: outputs.stdout.0.buffer.type: a disk buffer \
             needs a data directory (set agent.data_dir)",
        ),
        (
            "bad/syntax.toml",
            "bad/syntax.toml:2:7: unclosed table, expected `]`",
        ),
        (
            "bad/bad_alias.toml",
            "bad/bad_alias.toml:3:9: outputs.file.0.alias: alias \"my file\" contains ' ' (an \
             alias is letters, digits, `_`, `.` and `-`, like \"app-logs\")",
        ),
    ];
    for (rel, want) in cases {
        assert_eq!(errors_of(rel), [want], "{rel}");
    }
}

#[test]
fn unknown_keys_get_did_you_mean() {
    let agent = errors_of("bad/unknown_agent_key.toml");
    assert_eq!(agent.len(), 1, "{agent:?}");
    assert!(
        agent[0].starts_with(
            "bad/unknown_agent_key.toml:3:1: agent.intervall: unknown field `intervall`, \
             expected one of `interval`, "
        ),
        "{agent:?}"
    );
    assert!(
        agent[0].ends_with(" (did you mean `interval`?)"),
        "{agent:?}"
    );

    let buffer = errors_of("bad/unknown_buffer_key.toml");
    assert_eq!(
        buffer,
        [
            "bad/unknown_buffer_key.toml:5:1: outputs.stdout.0.buffer.max_byte: unknown field \
          `max_byte`, expected one of `type`, `max_bytes`, `when_full`, `chunk_size`, `sync`, \
          `retry_initial_backoff`, `retry_max_backoff`, `dead_letter` (did you mean \
          `max_bytes`?)"
        ]
    );
}

#[test]
fn every_missing_variable_is_reported() {
    let hint = "(set it, or give a default: `${GLEANER_TEST_SURELY_UNSET:-value}`)";
    let message = "environment variable `GLEANER_TEST_SURELY_UNSET` is not set";
    assert_eq!(
        errors_of("bad/missing_env.toml"),
        [
            format!("bad/missing_env.toml:3:12: agent.hostname: {message} {hint}"),
            format!("bad/missing_env.toml:7:9: outputs.splunk_hec.0.token: {message} {hint}"),
        ]
    );
}

#[test]
fn a_set_variable_is_substituted() {
    let env = |name: &str| (name == "GLEANER_TEST_SURELY_UNSET").then(|| "node-7".to_owned());
    let path = testdata().join("bad/missing_env.toml");
    let cfg = load_with_env(&path, &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.agent.hostname, "node-7");
}

#[test]
fn errors_across_files_point_at_their_file() {
    assert_eq!(
        errors_of("bad_dir"),
        [
            "bad_dir/20-second.toml:3:12: agent.interval: invalid duration \"soon\": expected \
             number+unit parts like \"10s\", \"250ms\", \"1m30s\" (units ns, us, ms, s, m, h, d)",
            "bad_dir/20-second.toml:6:9: outputs.stdout.0.alias: duplicate alias `app`: already \
             the alias of inputs.tail.0 at bad_dir/10-first.toml:3:9 (give each plugin its own \
             alias)",
        ]
    );
}

#[test]
fn good_config_loads() {
    let cfg = good("good/full.toml");
    let home = std::env::var("HOME").expect("tests need HOME");

    let a = &cfg.agent;
    assert_eq!(a.interval, Duration::from_secs(15));
    assert_eq!(a.flush_interval, Duration::from_millis(500));
    assert_eq!(a.data_dir.as_deref(), Some(Path::new("/var/lib/gleaner")));
    assert_eq!(a.hostname, "node-1");
    assert_eq!(a.http_listen, "");
    assert_eq!(a.shutdown_timeout, Duration::from_secs(20));
    assert_eq!(a.queue_batches, 32);
    let tags: BTreeMap<String, String> = [
        ("cluster".to_owned(), "prod".to_owned()),
        ("home".to_owned(), home),
    ]
    .into();
    assert_eq!(a.tags, tags);

    assert_eq!(
        ids(&cfg.inputs),
        ["app-logs", "inputs.host.0", "inputs.tail.1"]
    );
    let keys: Vec<&str> = cfg.inputs.iter().map(|s| s.config.key_path()).collect();
    assert_eq!(keys, ["inputs.tail.0", "inputs.host.0", "inputs.tail.1"]);
    let intervals: Vec<_> = cfg.inputs.iter().map(|s| s.interval).collect();
    assert_eq!(
        intervals,
        [
            None,
            Some(Duration::from_secs(60)),
            Some(Duration::from_secs(5))
        ]
    );
    assert!(
        cfg.inputs
            .iter()
            .all(|s| s.kind == ComponentKind::Input && s.match_globs.is_none())
    );

    // File order, not key order: filters run in the order they are written.
    assert_eq!(
        ids(&cfg.filters),
        ["filters.kubernetes.0", "filters.add_tags.0"]
    );
    assert_eq!(cfg.filters[0].match_globs, None);
    assert_eq!(
        cfg.filters[1].match_globs,
        Some(vec!["app-logs".to_owned()])
    );

    assert_eq!(
        ids(&cfg.outputs),
        ["outputs.splunk_hec.0", "console", "outputs.file.0"]
    );
    let hec = &cfg.outputs[0];
    assert_eq!(
        hec.match_globs,
        Some(vec!["app-logs".to_owned(), "inputs.tail.*".to_owned()])
    );
    // No `type`, but a data_dir: disk.
    assert_eq!(
        hec.buffer,
        BufferConfig {
            kind: BufferKind::Disk,
            max_bytes: ByteSize::mib(512),
            when_full: WhenFull::DropOldest,
            ..BufferConfig::default()
        }
    );
    let console = &cfg.outputs[1];
    assert_eq!(console.buffer.kind, BufferKind::Memory);
    assert_eq!(console.buffer.max_bytes, ByteSize::mib(1));
    assert_eq!(console.match_globs, None);
    assert_eq!(cfg.outputs[2].buffer.kind, BufferKind::Disk);
    assert_eq!(cfg.outputs[2].buffer.max_bytes, ByteSize::gib(1));

    assert_eq!(cfg.files.len(), 1);
    assert!(Arc::ptr_eq(&cfg.files[0], &hec.file));
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tail {
    paths: Vec<String>,
    format: Option<String>,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Hec {
    endpoint: String,
    token: String,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct AddTags {
    tags: BTreeMap<String, String>,
}

#[test]
fn plugin_config_is_substituted_and_without_shared_keys() {
    let cfg = good("good/full.toml");
    let home = std::env::var("HOME").expect("tests need HOME");

    let tail: Tail = cfg.inputs[0]
        .config
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        tail,
        Tail {
            paths: vec!["/var/log/pods/*/*.log".to_owned()],
            format: Some("cri".to_owned())
        }
    );
    let tail: Tail = cfg.inputs[2]
        .config
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tail.format.as_deref(), Some("cost: $5"));

    let tags: AddTags = cfg.filters[1]
        .config
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tags.tags.get("home"), Some(&home));

    let hec: Hec = cfg.outputs[0]
        .config
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        hec,
        Hec {
            endpoint: "https://splunk:8088".to_owned(),
            token: "secret".to_owned()
        }
    );
    // The plugin's own errors still name its key path (not the alias) and its file.
    let err = cfg.outputs[1]
        .config
        .parse::<Hec>()
        .expect_err("stdout has no endpoint");
    assert_eq!(err.key.as_deref(), Some("outputs.stdout.0"));
}

#[test]
fn sections_can_be_located_by_the_registry() {
    let cfg = good("good/full.toml");
    let s = &cfg.inputs[1];
    let e = s
        .file
        .locate(ConfigError::new("unknown input `host`").with_span(s.span.clone()));
    let root = format!("{}/", testdata().display());
    assert_eq!(
        e.to_string().replace(&root, ""),
        "good/full.toml:20:1: unknown input `host`"
    );
    let e = s.file.locate(s.config.error_at("collect", "bad collector"));
    assert_eq!((e.line, e.column), (22, 11));
}

#[test]
fn directory_merges_in_name_order() {
    let cfg = good("good/dir");
    let names: Vec<_> = cfg
        .files
        .iter()
        .filter_map(|f| f.path.file_name())
        .collect();
    assert_eq!(names, ["10-agent.toml", "20-inputs.toml"]);

    // Later files replace earlier ones key by key.
    assert_eq!(cfg.agent.interval, Duration::from_secs(20));
    assert_eq!(cfg.agent.hostname, "from-10");
    assert_eq!(
        cfg.agent.tags.get("cluster").map(String::as_str),
        Some("prod")
    );
    assert_eq!(cfg.agent.data_dir, None);

    // Indexes count across files; the config path indexes within each file.
    assert_eq!(
        ids(&cfg.inputs),
        ["inputs.tail.0", "inputs.tail.1", "inputs.tail.2"]
    );
    let paths: Vec<Vec<String>> = cfg
        .inputs
        .iter()
        .map(|s| {
            s.config
                .parse::<Tail>()
                .unwrap_or_else(|e| panic!("{e}"))
                .paths
        })
        .collect();
    assert_eq!(paths, [["/a/*.log"], ["/b/*.log"], ["/c/*.log"]]);
    assert!(cfg.inputs[2].file.path.ends_with("20-inputs.toml"));
    assert_eq!(cfg.outputs[0].buffer.kind, BufferKind::Memory);
}

#[test]
fn empty_directory_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("notes.txt"), "x").expect("write");
    let err = load(dir.path()).expect_err("no toml");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: no *.toml files in config directory",
            dir.path().display()
        )
    );
}

#[test]
fn unreadable_files_are_named_and_the_others_still_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.toml"), "[agent]\nintervall = \"1s\"\n").expect("write");
    std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("b.toml"))
        .expect("symlink");
    let err = load(dir.path()).expect_err("dangling link");
    assert_eq!(err.0.len(), 2, "{err}");
    assert!(err.0[0].path.ends_with("b.toml"), "{err}");
    assert_eq!(err.0[0].line, 0);
    assert!(
        err.0[0]
            .to_string()
            .contains("b.toml: cannot read config file: "),
        "{err}"
    );
    assert!(
        err.0[1]
            .to_string()
            .contains("a.toml:2:1: agent.intervall: "),
        "{err}"
    );

    let err = load(&dir.path().join("missing.toml")).expect_err("missing");
    assert!(
        err.to_string()
            .contains("missing.toml: cannot read config: "),
        "{err}"
    );
}

#[test]
fn columns_count_characters() {
    let text = "a = \"é\"\nb = \"日本\" x\n";
    assert_eq!(line_col(text, 0), (1, 1));
    assert_eq!(line_col(text, text.find('x').expect("x")), (2, 10));
    assert_eq!(line_col(text, text.len() + 5), (3, 1));
    // Inside a character: moved back to its start.
    assert_eq!(line_col(text, text.find('é').expect("é") + 1), (1, 6));

    let file = SourceFile {
        path: PathBuf::from("c.toml"),
        text: Arc::from(text),
    };
    let e = file.locate(ConfigError::new("bad").with_key("b").with_hint("fix it"));
    assert_eq!(e.to_string(), "c.toml: b: bad (fix it)");
    let e = file.locate(ConfigError::new("bad").with_span(13..14).with_key("b"));
    assert_eq!(e.to_string(), "c.toml:2:5: b: bad");
}

#[test]
fn shared_key_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let check = |text: &str| -> Vec<String> {
        let p = dir.path().join("t.toml");
        std::fs::write(&p, text).expect("write");
        match load(&p) {
            Ok(_) => Vec::new(),
            Err(e) => e
                .iter()
                .map(|l| format!("{}:{}: {}", l.line, l.column, l.error))
                .collect(),
        }
    };
    // A disk buffer with a data_dir is fine; `match` on inputs belongs to the plugin.
    assert!(
        check("[agent]\ndata_dir = \"/d\"\n[[outputs.x]]\nbuffer = {type = \"disk\"}\n").is_empty()
    );
    assert!(check("[[inputs.x]]\nmatch = 5\n").is_empty());
    assert_eq!(
        check("[agent]\ndata_dir = \"\"\n[[outputs.x]]\nbuffer = { type = \"disk\" }\n"),
        [
            "4:19: outputs.x.0.buffer.type: a disk buffer needs a data directory (set agent.data_dir)"
        ]
    );
    assert_eq!(
        check("[[inputs.x]]\ninterval = \"0s\"\n"),
        ["2:12: inputs.x.0.interval: must be greater than zero (write a duration like \"10s\")"]
    );
    assert_eq!(
        check("[[outputs.x]]\nmatch = [\"a\", \"\"]\n"),
        [
            "2:15: outputs.x.0.match.1: empty glob (write a glob on input ids, like \
          \"inputs.tail.*\", or an array of them)"
        ]
    );
    assert_eq!(
        check("[[inputs.tail]]\n[[outputs.x]]\nalias = \"inputs.tail.0\"\n"),
        [
            "3:9: outputs.x.0.alias: duplicate alias `inputs.tail.0`: already the id of \
          inputs.tail.0 at {p}:1:1 (give each plugin its own alias)"
                .replace("{p}", &dir.path().join("t.toml").display().to_string())
        ]
    );
    assert_eq!(
        check("inputs = 3\n[agent]\nhostname = 5\nflush_interval = \"0s\"\n"),
        [
            "1:10: inputs: expected a table of plugin arrays, found integer (write each plugin \
             as [[inputs.<name>]])",
            "3:12: agent.hostname: invalid type: integer `5`, expected a string",
            "4:18: agent.flush_interval: must be greater than zero (write a duration like \
             \"10s\")",
        ]
    );
    assert_eq!(
        check("[[outputs.x]]\nbuffer = {when_full = \"drop\"}\n"),
        [
            "2:23: outputs.x.0.buffer.when_full: unknown variant `drop`, expected `block` or \
          `drop_oldest` (valid values: block, drop_oldest)"
        ]
    );
}

#[test]
fn collection_jitter_is_an_agent_default_with_a_per_input_override() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("t.toml");
    std::fs::write(
        &p,
        "[agent]\ncollection_jitter = \"2s\"\n[[inputs.host]]\n[[inputs.kubelet]]\n\
         collection_jitter = \"500ms\"\n",
    )
    .expect("write");
    let cfg = load(&p).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.agent.collection_jitter, Duration::from_secs(2));
    let jitters: Vec<_> = cfg.inputs.iter().map(|s| s.collection_jitter).collect();
    assert_eq!(jitters, [None, Some(Duration::from_millis(500))]);
    // The key is the engine's: the plugin never sees it.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NoKeys {}
    cfg.inputs[1]
        .config
        .parse::<NoKeys>()
        .expect("collection_jitter is removed before the plugin parses");
    assert_eq!(
        AgentConfig::default().collection_jitter,
        Duration::from_secs(0)
    );

    std::fs::write(&p, "[[inputs.x]]\ncollection_jitter = \"soon\"\n").expect("write");
    let errs: Vec<String> = load(&p)
        .expect_err("bad duration")
        .iter()
        .map(|l| format!("{}:{}: {}", l.line, l.column, l.error))
        .collect();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("2:21: inputs.x.0.collection_jitter: invalid duration \"soon\""),
        "{errs:?}"
    );
}

#[test]
fn a_partial_config_keeps_what_it_could_read_and_hides_no_other_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("g.toml");
    std::fs::write(
        &p,
        "[agent]\ndata_dir = 7\ninterval = \"soon\"\n[[inputs.tail]]\npaths = [\"/x\"]\n",
    )
    .expect("write");
    let partial = load_partial(&p).expect("readable");
    let keys: Vec<_> = partial
        .errors
        .iter()
        .map(|e| e.error.key.clone().unwrap_or_default())
        .collect();
    assert_eq!(keys, ["agent.data_dir", "agent.interval"]);
    // The bad values are unknown: the most permissive stand-ins, so a plugin that needs a
    // data directory, or a timeout below the interval, reports nothing of its own.
    let agent = &partial.config.agent;
    assert_eq!(agent.data_dir.as_deref(), Some(Path::new(UNKNOWN_DATA_DIR)));
    assert!(agent.interval.get() > std::time::Duration::from_secs(86_400 * 365));
    assert_eq!(ids(&partial.config.inputs), ["inputs.tail.0"]);

    // A valid config loads the same through both doors.
    std::fs::write(&p, "[agent]\ninterval = \"5s\"\n").expect("write");
    let partial = load_partial(&p).expect("readable");
    assert!(partial.errors.is_empty());
    assert_eq!(partial.config.agent, load(&p).expect("valid").agent);
}

#[test]
fn errors_sort_into_file_order() {
    let f = |name: &str| {
        Arc::new(SourceFile {
            path: PathBuf::from(name),
            text: Arc::from(""),
        })
    };
    let files = [f("a.toml"), f("b.toml")];
    let at = |path: &str, line: usize, column: usize| LocatedError {
        path: PathBuf::from(path),
        line,
        column,
        error: ConfigError::new("x"),
    };
    let mut errors = vec![
        at("b.toml", 1, 1),
        at("a.toml", 9, 2),
        at("a.toml", 3, 7),
        at("unreadable.toml", 0, 0),
        at("a.toml", 9, 1),
    ];
    sort_errors(&mut errors, &files);
    let order: Vec<_> = errors
        .iter()
        .map(|e| format!("{}:{}:{}", e.path.display(), e.line, e.column))
        .collect();
    assert_eq!(
        order,
        [
            "unreadable.toml:0:0",
            "a.toml:3:7",
            "a.toml:9:1",
            "a.toml:9:2",
            "b.toml:1:1"
        ]
    );
}
