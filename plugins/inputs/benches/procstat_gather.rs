//! One `inputs.procstat` gather over every process of the machine (`pattern = "."`), topped
//! up with `sleep` children to at least 500 processes, after a
//! first gather (so CPU usage is a rate and names are cached, as in a running agent). The
//! group's name carries the process count; the goal is under 5 ms for 500 processes. A
//! second case chooses three processes by exe among them (three of the children, started
//! through a link named `glbench3`), the usual configuration. Each case first prints its CPU
//! time per gather (this thread's, user and system, from `/proc/thread-self/schedstat`: a
//! steadier figure than wall time on a machine shared with builds).

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
    // Three processes to choose by exe: sleeps run through a link of that name (a process
    // is named after the file it was run as).
    let dir = std::env::temp_dir().join(format!("procstat-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let link = dir.join("glbench3");
    let _stale = std::fs::remove_file(&link);
    let sleep = ["/bin/sleep", "/usr/bin/sleep"]
        .into_iter()
        .find(|p| std::fs::metadata(p).is_ok())
        .expect("sleep");
    std::os::unix::fs::symlink(sleep, &link).expect("link");
    for _ in 0..3 {
        children.push(
            std::process::Command::new(&link)
                .arg("600")
                .spawn()
                .expect("glbench3"),
        );
    }
    let n = g.gather(&errors).len() - 1;
    let rounds = 200;
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
    // The usual case: three processes chosen by exe among all of them.
    let mut few = gatherer("exe = \"^glbench3$\"");
    assert_eq!(few.gather(&errors).len() - 1, 3, "three glbench3 processes");
    let t0 = cpu_seconds();
    for _ in 0..rounds {
        std::hint::black_box(few.gather(&errors).len());
    }
    println!(
        "procstat gather of 3 by exe among {n} processes: {:.2} ms CPU (user+sys) per gather",
        (cpu_seconds() - t0) * 1000.0 / f64::from(rounds)
    );
    c.bench_function(
        &format!("procstat_gather/exe_of_3_among_{n}_processes"),
        |b| b.iter(|| std::hint::black_box(few.gather(&errors).len())),
    );
    for mut c in children {
        let _kill = c.kill();
        let _wait = c.wait();
    }
    let _cleanup = std::fs::remove_dir_all(&dir);
}

/// This thread's CPU seconds, user and system (the first figure of
/// `/proc/thread-self/schedstat`, in ns).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns = stat
        .split_ascii_whitespace()
        .next()
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or(0.0);
    ns / 1e9
}

criterion_group!(benches, bench);
criterion_main!(benches);
