//! `gleaner-bench`: runs the release agent on the performance suite's workloads (issue 9)
//! and prints one row per workload, each figure the median of `--runs` runs with the
//! min–max range; with `--chaos`, runs `logs-hec` / `logs-rotate` under kills, outages and
//! a full buffer and prints the verdict (lost must be 0; duplicates reported).
//!
//! ```text
//! cargo build --release -p gleaner --bin gleaner
//! cargo run -p gleaner-e2e --release --bin bench -- [--runs N] [--duration S] [--seed N]
//!     [--lines N] [--messages N] [--rotate rename|copytruncate] [--flush-interval D] [--chaos]
//!     <workload>... | all
//! ```
//!
//! The agent is `$GLEANER_BIN`, else `target/release/gleaner` (this tool re-executes itself
//! with `GLEANER_BIN` set, since the e2e helpers read it from the environment). It
//! supersedes `plugins/inputs/benches/tail_1m.sh` (tail → file).

use std::process::ExitCode;
use std::time::Duration;

use gleaner_e2e::workload::chaos::{self, ChaosOpts, ChaosResult};
use gleaner_e2e::workload::rotate::{RotateConfig, Rotation};
use gleaner_e2e::workload::scenario::{self, Opts, RunResult, WORKLOADS, logs};

struct Args {
    runs: usize,
    chaos: bool,
    opts: Opts,
    workloads: Vec<String>,
}

const USAGE: &str = "usage: bench [--runs N] [--duration SECS] [--seed N] [--lines N] [--messages N] \
[--rotate rename|copytruncate] [--flush-interval DURATION] [--chaos] <workload>... | all
workloads: logs-hec, logs-parse, logs-rotate, scrape-rw, idle, files-2k, syslog, journald, otlp-logs, slow-receiver, latency, logs-k8s (--chaos: logs-hec, logs-rotate)";

fn parse() -> Result<Args, String> {
    let mut a = Args {
        runs: 3,
        chaos: false,
        opts: Opts::default(),
        workloads: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        let num = |s: String| s.parse::<u64>().map_err(|e| format!("{s:?}: {e}"));
        match arg.as_str() {
            "--runs" => a.runs = num(value("--runs")?)?.max(1) as usize,
            "--duration" => a.opts.duration = Duration::from_secs(num(value("--duration")?)?),
            "--seed" => a.opts.seed = num(value("--seed")?)?,
            "--lines" => a.opts.lines = num(value("--lines")?)?,
            "--messages" => a.opts.messages = Some(num(value("--messages")?)?),
            "--rotate" => {
                a.opts.rotation = match value("--rotate")?.as_str() {
                    "rename" => Rotation::Rename,
                    "copytruncate" => Rotation::CopyTruncate,
                    other => return Err(format!("--rotate {other}: rename or copytruncate")),
                }
            }
            "--chaos" => a.chaos = true,
            "--flush-interval" => a.opts.flush_interval = Some(value("--flush-interval")?),
            "-h" | "--help" => return Err(String::new()),
            "all" if a.chaos => a
                .workloads
                .extend(["logs-hec", "logs-rotate"].map(String::from)),
            "all" => a
                .workloads
                .extend(WORKLOADS.iter().map(|w| (*w).to_owned())),
            w if WORKLOADS.contains(&w) => a.workloads.push(w.to_owned()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if a.workloads.is_empty() {
        return Err("no workload given".into());
    }
    Ok(a)
}

fn main() -> ExitCode {
    if std::env::var_os("GLEANER_BIN").is_none() {
        return reexec();
    }
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("bench: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "agent: {}",
        std::env::var("GLEANER_BIN").unwrap_or_default()
    );
    if args.chaos {
        return run_chaos(&args);
    }
    println!(
        "| workload | events | seconds | events/s | input MB/s | agent CPU-s | peak RSS MiB | lost | dup | notes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for w in &args.workloads {
        let mut runs = Vec::new();
        for i in 0..args.runs {
            let r = match scenario::run(w, &args.opts) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("bench: {e}");
                    return ExitCode::from(2);
                }
            };
            eprintln!("  run {}/{}: {}", i + 1, args.runs, one_run(&r));
            runs.push(r);
        }
        println!("{}", summary(&runs));
    }
    ExitCode::SUCCESS
}

/// Runs this program again with `GLEANER_BIN` pointing at the release agent.
fn reexec() -> ExitCode {
    let bin = gleaner_e2e::workspace_root().join("target/release/gleaner");
    if std::fs::metadata(&bin).is_err() {
        eprintln!(
            "bench: {} not found: run `cargo build --release -p gleaner --bin gleaner` or set GLEANER_BIN",
            bin.display()
        );
        return ExitCode::from(2);
    }
    let me = std::env::current_exe().expect("path of this program");
    let status = std::process::Command::new(me)
        .args(std::env::args_os().skip(1))
        .env("GLEANER_BIN", &bin)
        .status()
        .expect("run bench again with GLEANER_BIN");
    ExitCode::from(status.code().map_or(1, |c| u8::try_from(c).unwrap_or(1)))
}

fn mb_s(r: &RunResult) -> f64 {
    r.input_bytes as f64 / 1e6 / r.secs.max(f64::EPSILON)
}

fn ev_s(r: &RunResult) -> f64 {
    r.events as f64 / r.secs.max(f64::EPSILON)
}

fn mib(r: &RunResult) -> f64 {
    r.peak_rss_kib as f64 / 1024.0
}

fn one_run(r: &RunResult) -> String {
    format!(
        "{} events in {:.2}s ({:.0}/s, {:.1} MB/s), CPU {:.2}s, peak RSS {:.1} MiB, lost {}, dup {}{} {}",
        r.events,
        r.secs,
        ev_s(r),
        mb_s(r),
        r.cpu_s,
        mib(r),
        opt(r.lost),
        opt(r.duplicated),
        r.figure
            .map_or(String::new(), |(v, unit)| format!(", {v:.3} {unit}")),
        r.note
    )
}

fn opt(v: Option<u64>) -> String {
    v.map_or("-".into(), |v| v.to_string())
}

/// `median (min–max)` of a figure over the runs, with `prec` decimals.
fn spread(runs: &[RunResult], f: impl Fn(&RunResult) -> f64, prec: usize) -> String {
    let mut v: Vec<f64> = runs.iter().map(f).collect();
    v.sort_by(f64::total_cmp);
    let med = v[v.len() / 2];
    if v.len() == 1 {
        return format!("{med:.prec$}");
    }
    format!("{med:.prec$} ({:.prec$}–{:.prec$})", v[0], v[v.len() - 1])
}

fn summary(runs: &[RunResult]) -> String {
    let r = &runs[0];
    let worst = |f: fn(&RunResult) -> Option<u64>| {
        runs.iter()
            .filter_map(f)
            .max()
            .map_or("-".into(), |v| v.to_string())
    };
    let mid = {
        let mut by_secs: Vec<&RunResult> = runs.iter().collect();
        by_secs.sort_by(|a, b| a.secs.total_cmp(&b.secs));
        by_secs[by_secs.len() / 2].note.clone()
    };
    let figure = match r.figure {
        Some((_, unit)) => format!(
            "**{} {unit}**; ",
            spread(runs, |r| r.figure.map_or(0.0, |f| f.0), 3)
        ),
        None => String::new(),
    };
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {figure}{mid} |",
        r.workload,
        r.events,
        spread(runs, |r| r.secs, 2),
        spread(runs, ev_s, 0),
        spread(runs, mb_s, 1),
        spread(runs, |r| r.cpu_s, 2),
        spread(runs, mib, 1),
        worst(|r| r.lost),
        worst(|r| r.duplicated),
    )
}

fn run_chaos(args: &Args) -> ExitCode {
    let o = ChaosOpts {
        seed: args.opts.seed,
        lines: args.opts.lines,
        // A quarter of logs-rotate's rate: at 20 MB/s the agent has no headroom on 2 cores
        // to catch up after a fault, and the writer's `keep` deletes rotated files it never
        // opened (the kubelet would too).
        rotate: RotateConfig {
            bytes_per_sec: 5_000_000,
            ..logs::rotate_config(&args.opts)
        },
        kills: 5,
        pause_ms: (300, 2500),
        fault_ms: (300, 3000),
        max_bytes: "16MiB",
        fill_ms: 6000,
    };
    let mut failed = false;
    println!(
        "| chaos run | events | seconds | lost | duplicated | duplicated by fault | peak buffer MiB | verdict |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for w in &args.workloads {
        for i in 0..args.runs {
            let mut o = o.clone();
            o.seed = o.seed.wrapping_add(i as u64);
            let r = match w.as_str() {
                "logs-hec" => chaos::logs_hec(&o),
                "logs-rotate" => chaos::logs_rotate(&o),
                other => {
                    eprintln!("bench: --chaos runs logs-hec and logs-rotate, not {other}");
                    return ExitCode::from(2);
                }
            };
            report(&r, o.seed);
            failed |= !r.passed();
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn report(r: &ChaosResult, seed: u64) {
    for f in &r.faults {
        eprintln!("  {f}");
    }
    if !r.passed() {
        eprintln!("  missing ids (first 10): {:?}", r.missing);
        let path = std::env::temp_dir().join(format!("gleaner-chaos-{}-{seed}.log", r.workload));
        match std::fs::write(&path, &r.agent_log) {
            Ok(()) => eprintln!("  agent log: {}", path.display()),
            Err(e) => eprintln!("  agent log not written to {}: {e}", path.display()),
        }
    }
    let by_fault: Vec<String> = r
        .dup_by_fault
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(f, n)| format!("{f} {n}"))
        .collect();
    println!(
        "| {} (seed {seed}) | {} | {:.1} | {} | {} | {} | {:.1} | {} |",
        r.workload,
        r.events,
        r.secs,
        r.lost,
        r.duplicated,
        by_fault.join(", "),
        r.peak_buffer_bytes / 1_048_576.0,
        if r.passed() { "PASS: lost=0" } else { "FAIL" }
    );
}
