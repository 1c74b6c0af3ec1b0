//! One `inputs.procstat` gather over every process of the machine (`pattern = "."`), topped
//! up with `sleep` children to at least 500 processes, after a
//! first gather (so CPU usage is a rate and names are cached, as in a running agent). The
//! group's name carries the process count; the goal is under 5 ms for 500 processes. A
//! second case chooses a few processes by name among them, the usual configuration.

use criterion::{Criterion, criterion_group, criterion_main};
use gleaner_api::{ComponentMetrics, PluginConfig};
use gleaner_inputs::procstat::{Gatherer, ProcstatConfig, Selector};

fn bench(c: &mut Criterion) {
    let gatherer = |toml: &str| {
        let cfg = PluginConfig::from_toml_str("inputs.procstat.0", toml).expect("toml");
        let config: ProcstatConfig = cfg.parse().expect("config");
        let selector = Selector::from_config(&config).expect("selector");
        Gatherer::new(selector, config)
    };
    let mut g = gatherer("pattern = \".\"");
    let errors = ComponentMetrics::detached("procstat");
    // At least 500 processes: the machine's own, then sleeps for the rest.
    let mut children = Vec::new();
    while g.gather(&errors).len() - 1 < 500 {
        for _ in 0..50 {
            children.push(
                std::process::Command::new("sleep")
                    .arg("600")
                    .spawn()
                    .expect("sleep"),
            );
        }
    }
    let n = g.gather(&errors).len() - 1;
    // CPU time per gather (user + system, from /proc/self/stat), steadier than wall time on
    // a machine shared with builds; 40 gathers.
    let rounds = 40;
    let t0 = cpu_seconds();
    for _ in 0..rounds {
        std::hint::black_box(g.gather(&errors).len());
    }
    println!(
        "procstat gather of all {n} processes: {:.2} ms CPU (user+sys) per gather",
        (cpu_seconds() - t0) * 1000.0 / f64::from(rounds)
    );
    c.bench_function(&format!("procstat_gather/all_of_{n}_processes"), |b| {
        b.iter(|| std::hint::black_box(g.gather(&errors).len()))
    });
    // The usual case: a few processes chosen by name among all of them.
    let mut few = gatherer("exe = \"^(init|systemd|cargo)$\"");
    few.gather(&errors);
    let t0 = cpu_seconds();
    for _ in 0..rounds {
        std::hint::black_box(few.gather(&errors).len());
    }
    println!(
        "procstat gather of a few by exe among {n} processes: {:.2} ms CPU (user+sys) per gather",
        (cpu_seconds() - t0) * 1000.0 / f64::from(rounds)
    );
    c.bench_function(
        &format!("procstat_gather/by_exe_among_{n}_processes"),
        |b| b.iter(|| std::hint::black_box(few.gather(&errors).len())),
    );
    for mut c in children {
        let _kill = c.kill();
        let _wait = c.wait();
    }
}

/// This process's user + system CPU seconds (`utime` and `stime` of /proc/self/stat, in
/// clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let cols: Vec<&str> = rest.split_ascii_whitespace().collect();
    let tick = |i: usize| {
        cols.get(i)
            .and_then(|c| c.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15; the state (field 3) is cols[0].
    (tick(11) + tick(12)) / 100.0
}

criterion_group!(benches, bench);
criterion_main!(benches);
