//! `inputs.exec` and `inputs.execd` through the binary, with the scripts of
//! `plugins/inputs/testdata/exec/`: a command's line protocol and a supervised program's
//! answers to its stdin signal reach `outputs.file`, the programs' standard error is in the
//! agent's log at warn with the plugin id, and on SIGTERM the supervised program is told to
//! stop (its stdin closed) and the agent exits cleanly.

use std::time::Duration;

use gleaner_e2e::{Agent, workspace_root};

fn script(name: &str) -> String {
    workspace_root()
        .join("plugins/inputs/testdata/exec")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn commands_and_a_supervised_program_feed_the_pipeline() {
    let mut agent = Agent::start(&format!(
        r#"[agent]
omit_hostname = true
interval = "200ms"
http_listen = "{{telemetry}}"
flush_interval = "100ms"

[[inputs.exec]]
commands = ["{lp}"]

[[inputs.execd]]
alias = "counter"
command = ["{counter}"]
signal = "STDIN"

[[outputs.file]]
path = "{{dir}}/out.lp"
"#,
        lp = script("lp.sh"),
        counter = script("counter.sh"),
    ));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = std::fs::read_to_string(agent.path("out.lp")).unwrap_or_default();
        let counts = text.lines().filter(|l| l.starts_with("counter ")).count();
        if text.contains("example,tag1=a,tag2=b i=42i,j=43.5 1700000000000000000\n") && counts >= 3
        {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not yet in out.lp:\n{text}\n{}",
            agent.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // The supervised program counts from 0, once per signal, one process throughout.
    let counts: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("counter count="))
        .map(|l| l.split(' ').next().unwrap_or(""))
        .take(3)
        .collect();
    assert_eq!(counts, vec!["0i", "1i", "2i"]);
    let log = agent.stderr();
    assert!(
        log.lines().any(|l| l.contains("WARN")
            && l.contains("inputs.exec.0")
            && l.contains("something odd happened")),
        "{log}"
    );
    agent.signal("TERM");
    assert!(
        agent.wait_exit(Duration::from_secs(30)).success(),
        "{}",
        agent.stderr()
    );
    assert!(
        !agent.stderr().contains("killing it"),
        "the program stopped when its stdin closed:\n{}",
        agent.stderr()
    );
}
