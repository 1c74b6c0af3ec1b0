//! Reload by difference end to end: on SIGHUP only the components whose table changed are
//! stopped and built again. A listener keeps answering 204 through 20 reloads while a client
//! posts, and every point arrives once, with `/health` 200 throughout; a statsd TCP connection
//! stays open through reloads; a memory-buffered event whose destination is down survives a
//! reload; a changed output takes its memory queue over; an unchanged output keeps its
//! in-flight request; a removed output's disk buffer is delivered when it comes back; a storm
//! of 100 SIGHUPs makes at most two reloads and loses nothing. `agent.watch_config`: a
//! rewritten file and a ConfigMap-style `..data` swap are applied, an invalid file is not.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gleaner_e2e::fake_influx::FakeInflux;
use gleaner_e2e::{Agent, free_port, http};

/// http_listener → memory buffer → outputs.influxdb (the fake); `extra` is appended.
fn config(listen: &str, url: &str, extra: &str) -> String {
    format!(
        r#"[agent]
omit_hostname = true
http_listen = "{{telemetry}}"
flush_interval = "100ms"
shutdown_timeout = "1s"

[[inputs.http_listener]]
listen = "{listen}"

[[outputs.influxdb]]
url = "{url}"
database = "test"
content_encoding = "identity"
timeout = "2s"
[outputs.influxdb.buffer]
type = "memory"
retry_initial_backoff = "100ms"
retry_max_backoff = "200ms"
{extra}
"#
    )
}

fn post(addr: &str, body: &str) -> u16 {
    http(addr, "POST", "/write?db=test", &[], body.as_bytes())
        .map(|r| r.status)
        .unwrap_or(0)
}

/// The `ok` reload counter, read from `/metrics`.
fn reloads(m: &str, result: &str) -> u64 {
    let key = format!("gleaner_config_reloads_total{{result=\"{result}\"}} ");
    m.lines()
        .find_map(|l| l.strip_prefix(key.as_str()))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Rewrites the config with `extra` and sends SIGHUP; waits until the reload counter
/// reaches `n`.
fn reload(agent: &Agent, text: &str, n: u64) {
    std::fs::write(agent.path("gleaner.toml"), text).expect("write config");
    agent.signal("HUP");
    agent.wait_metrics("the reload", |m| reloads(m, "ok") >= n);
}

/// A second output whose `path` changes with `n`: a changed component each reload.
fn side_output(n: usize) -> String {
    format!("\n[[outputs.file]]\npath = \"{{dir}}/side-{}.lp\"\n", n % 2)
}

fn with_dir(agent: &Agent, text: &str) -> String {
    text.replace("{dir}", &agent.dir.path().display().to_string())
        .replace("{telemetry}", &agent.telemetry_addr)
}

#[test]
fn memory_buffered_event_survives_a_reload_while_its_destination_is_down() {
    let influx = FakeInflux::start();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&config(&listen, &influx.url(), ""));
    influx.down();
    assert_eq!(post(&listen, "kept n=1i 1\n"), 204);
    agent.wait_metrics("a failed send", |m| {
        m.contains("gleaner_component_errors_total{component_id=\"outputs.influxdb.0\"")
    });
    // Another component changes; the influxdb output does not.
    let text = with_dir(&agent, &config(&listen, &influx.url(), &side_output(1)));
    reload(&agent, &text, 1);
    influx.up();
    influx.wait_for(Duration::from_secs(30), "the event", |l| !l.is_empty());
    assert_eq!(influx.lines(), vec!["kept n=1i 1".to_owned()]);
    let m = agent.wait_metrics("metrics", |_| true);
    assert!(!m.contains("reason=\"shutdown_timeout\""), "{m}");
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}

#[test]
fn changed_output_takes_over_its_memory_buffer() {
    let down = FakeInflux::start();
    down.down();
    let good = FakeInflux::start();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&config(&listen, &down.url(), ""));
    for i in 0..5 {
        assert_eq!(post(&listen, &format!("moved n={i}i {i}\n")), 204);
    }
    agent.wait_metrics("a failed send", |m| {
        m.contains("gleaner_component_errors_total{component_id=\"outputs.influxdb.0\"")
    });
    // The output's url is fixed: the output is built again, its queue is kept.
    let text = with_dir(&agent, &config(&listen, &good.url(), ""));
    reload(&agent, &text, 1);
    good.wait_for(Duration::from_secs(30), "5 events", |l| l.len() >= 5);
    let mut lines = good.lines();
    lines.sort();
    lines.dedup();
    assert_eq!(lines.len(), 5, "{lines:?}");
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}

#[test]
fn unchanged_output_keeps_its_in_flight_batch() {
    let influx = FakeInflux::start();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&config(&listen, &influx.url(), ""));
    // Slow answers (within the output's 2 s timeout): the batch is in flight when the
    // reload comes, and is answered after it.
    influx.set_mode(gleaner_e2e::fake_influx::Mode::Slow(Duration::from_millis(
        1500,
    )));
    assert_eq!(post(&listen, "inflight n=1i 1\n"), 204);
    let text = with_dir(&agent, &config(&listen, &influx.url(), &side_output(1)));
    reload(&agent, &text, 1);
    assert_eq!(
        influx.line_count(),
        0,
        "the request was still in flight at the reload"
    );
    influx.wait_for(Duration::from_secs(30), "the event", |l| !l.is_empty());
    influx.set_mode(gleaner_e2e::fake_influx::Mode::Accept);
    assert_eq!(post(&listen, "after n=2i 2\n"), 204);
    influx.wait_for(Duration::from_secs(30), "both events", |l| l.len() >= 2);
    assert_eq!(
        influx.lines(),
        vec!["inflight n=1i 1".to_owned(), "after n=2i 2".to_owned()],
        "the in-flight request was sent once"
    );
    let m = agent.wait_metrics("metrics", |_| true);
    assert!(
        !m.contains("reason=\"shutdown_timeout\""),
        "the in-flight request was not given up:\n{m}"
    );
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}

#[test]
fn listener_answers_through_20_reloads_and_every_point_arrives_once() {
    let influx = FakeInflux::start();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&config(&listen, &influx.url(), ""));
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let health_failures = Arc::new(AtomicUsize::new(0));
    let poster = {
        let (stop, sent, listen) = (Arc::clone(&stop), Arc::clone(&sent), listen.clone());
        std::thread::spawn(move || {
            let mut n = 0usize;
            while !stop.load(Ordering::SeqCst) {
                let status = post(&listen, &format!("seq n={n}i {n}\n"));
                assert_eq!(status, 204, "point {n} answered {status} during reloads");
                n += 1;
                sent.store(n, Ordering::SeqCst);
            }
        })
    };
    let health = {
        let (stop, fails, addr) = (
            Arc::clone(&stop),
            Arc::clone(&health_failures),
            agent.telemetry_addr.clone(),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let ok = http(&addr, "GET", "/health", &[], b"").is_ok_and(|r| r.status == 200);
                if !ok {
                    fails.fetch_add(1, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    for r in 1..=20 {
        let before = sent.load(Ordering::SeqCst);
        let text = with_dir(&agent, &config(&listen, &influx.url(), &side_output(r)));
        reload(&agent, &text, r as u64);
        // Points go on being accepted between reloads.
        let deadline = Instant::now() + Duration::from_secs(10);
        while sent.load(Ordering::SeqCst) < before + 5 {
            assert!(
                Instant::now() < deadline,
                "posting stalled after reload {r}"
            );
            std::thread::yield_now();
        }
    }
    stop.store(true, Ordering::SeqCst);
    poster.join().expect("poster");
    health.join().expect("health poller");
    let total = sent.load(Ordering::SeqCst);
    influx.wait_for(Duration::from_secs(30), "every point", |l| l.len() >= total);
    let mut seen = vec![0u32; total];
    for line in influx.lines() {
        let n: usize = line
            .strip_prefix("seq n=")
            .and_then(|s| s.split('i').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        seen[n] += 1;
    }
    let wrong: Vec<(usize, u32)> = seen
        .iter()
        .enumerate()
        .filter(|(_, c)| **c != 1)
        .map(|(n, c)| (n, *c))
        .collect();
    assert!(
        wrong.is_empty(),
        "points not delivered exactly once: {wrong:?}"
    );
    assert_eq!(
        health_failures.load(Ordering::SeqCst),
        0,
        "/health left 200"
    );
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}

#[test]
fn a_storm_of_sighups_makes_at_most_two_reloads_and_loses_nothing() {
    let influx = FakeInflux::start();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&config(&listen, &influx.url(), ""));
    let text = with_dir(&agent, &config(&listen, &influx.url(), &side_output(1)));
    std::fs::write(agent.path("gleaner.toml"), text).expect("write config");
    let mut n = 0;
    let started = Instant::now();
    for i in 0..100 {
        assert_eq!(post(&listen, &format!("storm n={i}i {i}\n")), 204);
        agent.signal("HUP");
        n += 1;
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    let m = agent.wait_metrics("a reload", |m| reloads(m, "ok") >= 1);
    // Quiet for a while: no reload is left pending.
    std::thread::sleep(Duration::from_secs(2));
    let m2 = agent.wait_metrics("metrics", |_| true);
    let count = reloads(&m2, "ok");
    assert!(
        (1..=2).contains(&count),
        "{count} reloads for {n} SIGHUPs\n{m}"
    );
    influx.wait_for(Duration::from_secs(30), "every point", |l| l.len() >= 100);
    let mut lines = influx.lines();
    lines.sort();
    lines.dedup();
    assert_eq!(lines.len(), 100);
    assert_eq!(influx.line_count(), 100, "duplicates");
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}

/// http_listener → outputs.file, and with `influx` also → a disk-buffered outputs.influxdb.
fn disk_config(listen: &str, url: &str, influx: bool) -> String {
    let mut text = format!(
        r#"[agent]
omit_hostname = true
http_listen = "{{telemetry}}"
data_dir = "{{dir}}/data"
flush_interval = "100ms"
shutdown_timeout = "1s"

[[inputs.http_listener]]
listen = "{listen}"

[[outputs.file]]
path = "{{dir}}/other.lp"
"#
    );
    if influx {
        text.push_str(&format!(
            r#"
[[outputs.influxdb]]
url = "{url}"
database = "test"
content_encoding = "identity"
[outputs.influxdb.buffer]
retry_initial_backoff = "100ms"
retry_max_backoff = "200ms"
"#
        ));
    }
    text
}

#[test]
fn a_removed_outputs_disk_buffer_is_delivered_when_it_comes_back() {
    let influx = FakeInflux::start();
    influx.down();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&disk_config(&listen, &influx.url(), true));
    for i in 0..3 {
        assert_eq!(post(&listen, &format!("disk n={i}i {i}\n")), 204);
    }
    let without = with_dir(&agent, &disk_config(&listen, &influx.url(), false));
    reload(&agent, &without, 1);
    agent.wait_metrics("the removed output gone", |m| {
        !m.contains("component_id=\"outputs.influxdb.0\"")
    });
    let chunks = std::fs::read_dir(agent.path("data/buffer/outputs.influxdb.0"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(chunks >= 1, "the removed output's chunks stay on disk");
    influx.up();
    // It comes back: what it had buffered is delivered.
    let with = with_dir(&agent, &disk_config(&listen, &influx.url(), true));
    reload(&agent, &with, 2);
    influx.wait_for(Duration::from_secs(30), "3 events", |l| l.len() >= 3);
    let mut lines = influx.lines();
    lines.sort();
    assert_eq!(lines, vec!["disk n=0i 0", "disk n=1i 1", "disk n=2i 2"]);
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}

/// http_listener → outputs.file `out`, with the config watched.
fn watched_config(listen: &str, out: &str) -> String {
    format!(
        r#"[agent]
omit_hostname = true
http_listen = "{{telemetry}}"
flush_interval = "100ms"
watch_config = true

[[inputs.http_listener]]
listen = "{listen}"

[[outputs.file]]
path = "{{dir}}/{out}"
"#
    )
}

/// Posts `line` until it shows in `out` (the reload may still be on its way).
fn posted_lands_in(agent: &Agent, listen: &str, line: &str, out: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert_eq!(post(listen, &format!("{line}\n")), 204);
        let text = std::fs::read_to_string(agent.path(out)).unwrap_or_default();
        if text.lines().any(|l| l == line) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{line:?} never reached {out}:\n{}",
            agent.stderr()
        );
        agent.wait_metrics("a flush", |_| true);
    }
}

#[test]
fn watch_config_reloads_when_the_file_is_rewritten() {
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&watched_config(&listen, "first.lp"));
    posted_lands_in(&agent, &listen, "before n=1i 1", "first.lp");
    let text = with_dir(&agent, &watched_config(&listen, "second.lp"));
    std::fs::write(agent.path("gleaner.toml"), text).unwrap();
    agent.wait_metrics("the reload", |m| reloads(m, "ok") == 1);
    posted_lands_in(&agent, &listen, "after n=2i 2", "second.lp");
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}

#[test]
fn watch_config_sees_a_configmap_update() {
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&watched_config(&listen, "first.lp"));
    // Turn the config into a ConfigMap mount: gleaner.toml -> ..data/gleaner.toml, ..data ->
    // a timestamped directory (same contents: no reload).
    let d = |p: &str| agent.path(p);
    std::fs::create_dir(d("..2026_01_01")).unwrap();
    std::fs::copy(d("gleaner.toml"), d("..2026_01_01/gleaner.toml")).unwrap();
    std::os::unix::fs::symlink("..2026_01_01", d("..data")).unwrap();
    std::os::unix::fs::symlink("..data/gleaner.toml", d("gleaner.toml.link")).unwrap();
    std::fs::rename(d("gleaner.toml.link"), d("gleaner.toml")).unwrap();
    posted_lands_in(&agent, &listen, "before n=1i 1", "first.lp");
    // The kubelet's update: a new directory, a new link, renamed over `..data`.
    std::fs::create_dir(d("..2026_01_02")).unwrap();
    let text = with_dir(&agent, &watched_config(&listen, "second.lp"));
    std::fs::write(d("..2026_01_02/gleaner.toml"), text).unwrap();
    std::os::unix::fs::symlink("..2026_01_02", d("..data_tmp")).unwrap();
    std::fs::rename(d("..data_tmp"), d("..data")).unwrap();
    agent.wait_metrics("the reload", |m| reloads(m, "ok") == 1);
    posted_lands_in(&agent, &listen, "after n=2i 2", "second.lp");
    let m = agent.wait_metrics("metrics", |_| true);
    assert_eq!(reloads(&m, "ok"), 1, "the same contents made no reload");
    assert_eq!(reloads(&m, "failed"), 0);
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}

#[test]
fn watch_config_keeps_the_running_config_when_the_new_one_is_invalid() {
    let listen = format!("127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&watched_config(&listen, "first.lp"));
    let text = with_dir(&agent, &watched_config(&listen, "second.lp"));
    std::fs::write(
        agent.path("gleaner.toml"),
        text.replace("[[outputs.file]]", "[[outputs.fiel]]"),
    )
    .unwrap();
    agent.wait_metrics("a rejected reload", |m| reloads(m, "failed") == 1);
    posted_lands_in(&agent, &listen, "still n=1i 1", "first.lp");
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}

/// statsd over TCP → outputs.file; `side` adds a second file output that each reload changes.
fn statsd_config(tcp: u16, side: usize) -> String {
    format!(
        r#"[agent]
omit_hostname = true
http_listen = "{{telemetry}}"
interval = "1s"
flush_interval = "100ms"

[[inputs.statsd]]
protocol = "tcp"
service_address = "127.0.0.1:{tcp}"

[[outputs.file]]
path = "{{dir}}/out.lp"

[[outputs.file]]
path = "{{dir}}/side-{}.lp"
"#,
        side % 2
    )
}

#[test]
fn a_statsd_connection_stays_open_through_reloads() {
    use std::io::Write as _;
    let tcp = free_port();
    let mut agent = Agent::start(&statsd_config(tcp, 0));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut conn = loop {
        match std::net::TcpStream::connect(("127.0.0.1", tcp)) {
            Ok(c) => break c,
            Err(e) => {
                assert!(Instant::now() < deadline, "statsd not listening: {e}");
                agent.wait_metrics("a moment", |_| true);
            }
        }
    };
    conn.write_all(b"before:1|c\n").expect("send");
    for r in 1..=5 {
        let text = with_dir(&agent, &statsd_config(tcp, r));
        reload(&agent, &text, r as u64);
        conn.write_all(format!("during{r}:1|c\n").as_bytes())
            .expect("the connection is still open");
    }
    conn.write_all(b"after:1|c\n").expect("send");
    gleaner_e2e::logs::wait_output(
        &agent.path("out.lp"),
        Duration::from_secs(30),
        "every counter sent on the one connection",
        |lines| {
            ["before", "during3", "during5", "after"]
                .iter()
                .all(|m| lines.iter().any(|l| l.split([',', ' ']).next() == Some(*m)))
        },
    );
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}
