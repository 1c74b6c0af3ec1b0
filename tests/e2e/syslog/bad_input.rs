//! Bad input through the binary: a 10 MiB line, invalid UTF-8, a client gone mid-frame and
//! a UDP flood into a 64 KiB socket buffer, each counted; the agent serves on.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::time::Duration;

use gleaner_e2e::logs::wait_output;
use gleaner_e2e::{Agent, free_port};
use serde_json::Value;

use super::{free_udp_port, metric, records_by_marker, wait_listening};

#[test]
fn bad_input_is_counted_and_the_agent_serves_on() {
    let (udp, tcp) = (free_udp_port(), free_port());
    let mut agent = Agent::start(&format!(
        r#"[agent]
http_listen = "{{telemetry}}"
flush_interval = "100ms"

[[inputs.syslog]]
alias = "bad_udp"
listen = "udp://127.0.0.1:{udp}"
read_buffer_size = "64KiB"
udp_pending_max = 100

[[inputs.syslog]]
alias = "bad_tcp"
listen = "tcp://127.0.0.1:{tcp}"

[[outputs.file]]
path = "{{dir}}/out.json"
"#
    ));
    wait_listening(&agent, 2);
    // A 10 MiB line, then a good message on the same connection.
    let mut c = TcpStream::connect(("127.0.0.1", tcp)).expect("connect");
    let mut big = b"<13>Dec  6 13:20:03 host app: mk-big ".to_vec();
    big.resize(10 * 1024 * 1024, b'x');
    big.extend_from_slice(b"\n<13>Dec  6 13:20:03 host app: mk-after-big\n");
    c.write_all(&big).expect("write 10 MiB");
    drop(c);
    // A client gone mid-frame.
    let mut c = TcpStream::connect(("127.0.0.1", tcp)).expect("connect");
    c.write_all(b"500 <13>Dec  6 13:20:03 host app: mk-cut only part")
        .expect("write");
    drop(c);
    // Invalid UTF-8, in the message and where the header should be.
    let u = UdpSocket::bind("127.0.0.1:0").expect("client");
    u.send_to(
        b"<13>Dec  6 13:20:03 host app: mk-utf8 \xff\xfe",
        ("127.0.0.1", udp),
    )
    .expect("send");
    u.send_to(b"\xff\xfe mk-nopri", ("127.0.0.1", udp))
        .expect("send");
    let text = wait_output(
        &agent.path("out.json"),
        Duration::from_secs(30),
        "the bad input",
        |l| l.len() >= 5,
    );
    let got = records_by_marker(&text);
    let one = |m: &str| -> &Value {
        let recs = got.get(m).unwrap_or_else(|| panic!("{m} missing:\n{text}"));
        assert_eq!(recs.len(), 1, "{m}");
        &recs[0]
    };
    assert_eq!(one("mk-big")["syslog.truncated"], true);
    assert_eq!(
        one("mk-big")["message"].as_str().map(str::len),
        Some(65_536 - 30)
    );
    assert_eq!(one("mk-after-big")["message"], "mk-after-big");
    assert_eq!(one("mk-cut")["syslog.parse_error"], "incomplete_frame");
    assert_eq!(one("mk-utf8")["message_invalid_utf8"], true);
    assert_eq!(one("mk-nopri")["syslog.parse_error"], "invalid_pri");

    // A flood of datagrams into a 64 KiB socket buffer: every one is received or counted.
    const FLOOD: u64 = 20_000;
    let mut sent = 0u64;
    for i in 0..FLOOD {
        if u.send_to(
            format!("<13>Dec  6 13:20:03 h app: flood {i}").as_bytes(),
            ("127.0.0.1", udp),
        )
        .is_ok()
        {
            sent += 1;
        }
    }
    let m = agent.wait_metrics("every datagram received or counted", |m| {
        let received =
            metric(m, "gleaner_component_received_events_total", "bad_udp", "").unwrap_or(0.0);
        let kernel =
            metric(m, "gleaner_syslog_udp_socket_drops_total", "bad_udp", "").unwrap_or(0.0);
        received + kernel == (sent + 2) as f64
    });
    let kernel = metric(&m, "gleaner_syslog_udp_socket_drops_total", "bad_udp", "").unwrap_or(0.0);
    eprintln!("flood: {sent} sent, {kernel} dropped by the kernel");
    assert_eq!(
        metric(&m, "gleaner_syslog_truncated_total", "bad_tcp", ""),
        Some(1.0)
    );
    assert_eq!(
        metric(&m, "gleaner_syslog_parse_errors_total", "bad_tcp", ""),
        Some(1.0)
    );
    assert_eq!(
        metric(&m, "gleaner_syslog_parse_errors_total", "bad_udp", ""),
        Some(1.0)
    );
    // Survived: a message after all that arrives. The flood may still be on its way to the
    // output and the input's queue full (UDP drops are counted, not waited for), so the message
    // is sent again each second until it is seen.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        u.send_to(
            b"<13>Dec  6 13:20:03 host app: mk-still-here",
            ("127.0.0.1", udp),
        )
        .expect("send");
        let out = std::fs::read_to_string(agent.path("out.json")).unwrap_or_default();
        if out.contains("mk-still-here") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no message arrived after the flood: {} lines in the output",
            out.lines().count()
        );
        std::thread::sleep(Duration::from_secs(1));
    }
    agent.signal("TERM");
    assert!(agent.wait_exit(Duration::from_secs(30)).success());
}
