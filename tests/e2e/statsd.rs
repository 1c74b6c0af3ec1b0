//! `inputs.statsd` end to end through the real binary into `outputs.file` (line protocol):
//! one agent listens on UDP and on TCP; a client sends counters (with a sample rate), gauges
//! (with a delta), timings and sets with DogStatsD tags, plus malformed lines; the file
//! holds exactly the aggregated metrics of the interval, and `/metrics` counts the malformed
//! lines per input. Also: `--once` does not wait on a statsd input.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use gleaner_e2e::logs::wait_output;
use gleaner_e2e::{Agent, free_port, run_cli};

/// A UDP port that was free a moment ago.
fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    s.local_addr().expect("local addr").port()
}

fn config(udp: u16, tcp: u16) -> String {
    format!(
        r#"[agent]
omit_hostname = true
http_listen = "{{telemetry}}"
interval = "1s"
flush_interval = "100ms"
shutdown_timeout = "20s"

[[inputs.statsd]]
alias = "statsd_udp"
service_address = "127.0.0.1:{udp}"

[[inputs.statsd]]
alias = "statsd_tcp"
protocol = "tcp"
service_address = "127.0.0.1:{tcp}"

[[outputs.file]]
path = "{{dir}}/out.lp"
"#
    )
}

/// Waits until the agent logged that `n` statsd sockets are bound.
fn wait_listening(agent: &Agent, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while agent.stderr().matches("statsd listening").count() < n {
        assert!(
            Instant::now() < deadline,
            "statsd not listening:\n{}",
            agent.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A line-protocol line without its timestamp.
fn strip_ts(line: &str) -> &str {
    line.rsplit_once(' ').map_or(line, |(l, _)| l)
}

/// The value of `name` with `reason` on `/metrics` for component `id`.
fn discarded(body: &str, id: &str, reason: &str) -> Option<u64> {
    body.lines()
        .filter(|l| l.starts_with("gleaner_component_discarded_events_total{"))
        .filter(|l| l.contains(&format!("component_id=\"{id}\"")))
        .filter(|l| l.contains(&format!("reason=\"{reason}\"")))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

const UDP_PACKET: &str = "\
app.requests:1|c|#env:prod,route:/home
app.requests:2|c|#route:/home,env:prod
app.requests:1|c|@0.5|#env:prod,route:/login
app.temp:20|g|#room:a
app.temp:+2.5|g|#room:a
app.latency:10|ms|#env:prod
app.latency:20|ms|#env:prod
app.latency:30|ms|#env:prod
app.latency:40|ms|#env:prod
app.users:alice|s
app.users:bob|s
app.users:alice|s
this is not statsd
app.bad:1|zz
app.worse:abc|g
";

const TCP_LINES: &str = "\
tcp.hits:1|c|#proto:tcp
tcp.hits:2|c|#proto:tcp
tcp.depth:7|g|#proto:tcp,canary
tcp.oops|c
";

#[test]
fn udp_and_tcp_statsd_are_aggregated_into_the_output() {
    let (udp, tcp) = (free_udp_port(), free_port());
    let mut agent = Agent::start(&config(udp, tcp));
    wait_listening(&agent, 2);

    // One datagram and one write: each is folded under one lock, so into one interval.
    let client = UdpSocket::bind("127.0.0.1:0").expect("client socket");
    client
        .send_to(UDP_PACKET.as_bytes(), ("127.0.0.1", udp))
        .expect("send datagram");
    let mut stream = TcpStream::connect(("127.0.0.1", tcp)).expect("connect tcp");
    stream.write_all(TCP_LINES.as_bytes()).expect("write tcp");
    drop(stream);

    let stddev = format!("{}", 125f64.sqrt());
    let latency = format!(
        "app_latency,env=prod,metric_type=timing mean=25,median=25,stddev={stddev},sum=100,\
         upper=40,lower=10,count=4i,90_percentile=40"
    );
    let mut expected = vec![
        "app_requests,env=prod,metric_type=counter,route=/home value=3i",
        "app_requests,env=prod,metric_type=counter,route=/login value=2i",
        "app_temp,metric_type=gauge,room=a value=22.5",
        latency.as_str(),
        "app_users,metric_type=set value=2i",
        "tcp_hits,metric_type=counter,proto=tcp value=3i",
        "tcp_depth,canary=true,metric_type=gauge,proto=tcp value=7",
    ];
    expected.sort_unstable();
    let text = wait_output(
        &agent.path("out.lp"),
        Duration::from_secs(30),
        "the statsd aggregate",
        |lines| lines.len() >= expected.len(),
    );
    let mut got: Vec<&str> = text.lines().map(strip_ts).collect();
    got.sort_unstable();
    assert_eq!(got, expected, "output:\n{text}");
    // Every line of a flush carries the flush's timestamp.
    let udp_ts: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("app_"))
        .filter_map(|l| l.rsplit(' ').next())
        .collect();
    assert!(udp_ts.windows(2).all(|w| w[0] == w[1]), "{text}");

    let m = agent.wait_metrics("malformed statsd lines", |m| {
        discarded(m, "statsd_udp", "malformed") == Some(3)
            && discarded(m, "statsd_tcp", "malformed") == Some(1)
    });
    assert!(m.contains("gleaner_statsd_tcp_connections_total"), "{m}");

    // Nothing more arrives in the next intervals (series are deleted after each flush).
    std::thread::sleep(Duration::from_millis(2500));
    let again = std::fs::read_to_string(agent.path("out.lp")).expect("output");
    assert_eq!(again.lines().count(), expected.len(), "{again}");

    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}

#[test]
fn once_mode_does_not_wait_for_a_statsd_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("gleaner.toml");
    let port = free_udp_port();
    std::fs::write(
        &cfg,
        format!(
            "[agent]\nomit_hostname = true\ndata_dir = \"{}\"\n\n[[inputs.statsd]]\n\
             service_address = \"127.0.0.1:{port}\"\n\n[[outputs.stdout]]\n",
            dir.path().display()
        ),
    )
    .expect("write config");
    let started = Instant::now();
    let (code, stdout, stderr) = run_cli(&["--config", cfg.to_str().expect("utf-8"), "--test"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(started.elapsed() < Duration::from_secs(20), "--test waited");
}
