//! `gleaner top` against a running agent under load: in a real terminal (tmux: the view is
//! drawn in place, rows appear and rates are non-zero) and piped (`--once`: a plain table).

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gleaner_e2e::{Agent, free_port, gleaner_bin, http};

const CONFIG: &str = r#"
[agent]
http_listen = "{telemetry}"
interval = "1s"
[[inputs.internal]]
[[inputs.http_listener]]
listen = "{listen}"
[[outputs.file]]
path = "{dir}/out.log"
"#;

/// An agent whose http_listener receives line protocol continuously until dropped.
struct Loaded {
    agent: Agent,
    stop: Arc<AtomicBool>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Loaded {
    fn start() -> Loaded {
        let listen = format!("127.0.0.1:{}", free_port());
        let agent = Agent::start(&CONFIG.replace("{listen}", &listen));
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let writer = std::thread::spawn(move || {
            let mut i = 0u64;
            while !flag.load(Ordering::Relaxed) {
                let body: String = (0..100)
                    .map(|j| format!("load,worker=a value={}i\n", i * 100 + j))
                    .collect();
                // A refused or failed write only lowers the load; the test reads the rates.
                drop(http(&listen, "POST", "/write", &[], body.as_bytes()));
                i += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Loaded {
            agent,
            stop,
            writer: Some(writer),
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.agent.telemetry_addr)
    }
}

impl Drop for Loaded {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(w) = self.writer.take() {
            w.join().expect("writer thread");
        }
    }
}

/// A tmux server of its own (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux (apt-get install tmux)")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// The OUT/s column of `id`'s row on a plain or terminal screen.
fn out_rate(screen: &str, id: &str) -> Option<f64> {
    let line = screen.lines().find(|l| l.starts_with(id))?;
    let cells: Vec<&str> = line.split_whitespace().collect();
    let v = cells.get(3)?;
    let (num, mult) = match v.strip_suffix('k') {
        Some(n) => (n, 1e3),
        None => (*v, 1.0),
    };
    num.parse::<f64>().ok().map(|n| n * mult)
}

#[test]
fn top_in_a_terminal_shows_rows_with_rates() {
    let loaded = Loaded::start();
    let tmux = Tmux {
        socket: format!("gleaner-top-{}", std::process::id()),
    };
    let cmd = format!(
        "{} top --url {} --interval 1s",
        gleaner_bin().display(),
        loaded.url()
    );
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "top",
        "-x",
        "160",
        "-y",
        "40",
        &cmd,
    ]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut screen = String::new();
    while Instant::now() < deadline {
        let cap = tmux.run(&["capture-pane", "-p", "-t", "top"]);
        screen = String::from_utf8_lossy(&cap.stdout).into_owned();
        let listener = out_rate(&screen, "inputs.http_listener.0");
        let output = out_rate(&screen, "outputs.file.0");
        if listener.is_some_and(|r| r > 0.0) && output.is_some_and(|r| r > 0.0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(screen.contains("COMPONENT"), "{screen}");
    assert!(
        out_rate(&screen, "inputs.http_listener.0").is_some_and(|r| r > 0.0),
        "{screen}"
    );
    assert!(
        out_rate(&screen, "outputs.file.0").is_some_and(|r| r > 0.0),
        "{screen}"
    );
    assert!(screen.contains("inputs.internal.0"), "{screen}");
    // Drawn in place: the title appears once on the screen, not once per refresh.
    assert_eq!(screen.matches("gleaner top").count(), 1, "{screen}");
}

#[test]
fn top_piped_prints_one_plain_table() {
    let loaded = Loaded::start();
    let out = Command::new(gleaner_bin())
        .args(["top", "--url", &loaded.url(), "--interval", "1s", "--once"])
        .output()
        .expect("run top");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains('\x1b'), "{text:?}");
    assert!(
        text.lines()
            .nth(2)
            .is_some_and(|l| l.starts_with("COMPONENT")),
        "{text}"
    );
    assert!(
        out_rate(&text, "inputs.http_listener.0").is_some_and(|r| r > 0.0),
        "{text}"
    );
}

#[test]
fn top_without_an_agent_says_where_it_looked() {
    let port = free_port();
    let out = Command::new(gleaner_bin())
        .args([
            "top",
            "--url",
            &format!("http://127.0.0.1:{port}"),
            "--once",
        ])
        .output()
        .expect("run top");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("127.0.0.1:{port}/metrics")), "{err}");
}
