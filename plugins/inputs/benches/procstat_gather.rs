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
    c.bench_function(&format!("procstat_gather/all_of_{n}_processes"), |b| {
        b.iter(|| std::hint::black_box(g.gather(&errors).len()))
    });
    // The usual case: a few processes chosen by name among all of them.
    let mut few = gatherer("exe = \"^(init|systemd|cargo)$\"");
    few.gather(&errors);
    c.bench_function(
        &format!("procstat_gather/by_exe_among_{n}_processes"),
        |b| b.iter(|| std::hint::black_box(few.gather(&errors).len())),
    );
    for mut c in children {
        let _kill = c.kill();
        let _wait = c.wait();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
