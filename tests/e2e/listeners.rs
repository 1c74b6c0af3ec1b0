//! The agent's listeners under hostile clients, through the real binary: idle connections
//! to `agent.http_listen` are closed by its header/idle timeout, and an agent run out of file
//! descriptors (`ulimit -n`) by held connections pauses its accept loop instead of spinning
//! (its CPU time, read from `/proc/<pid>/stat`, and its stderr stay small), then serves again
//! once the connections close.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use gleaner_e2e::{Agent, free_port, http};

fn config(listen: &str) -> String {
    format!(
        r#"[agent]
omit_hostname = true
http_listen = "{{telemetry}}"
data_dir = "{{dir}}/data"
flush_interval = "100ms"

[[inputs.http_listener]]
listen = "{listen}"

[[outputs.file]]
path = "{{dir}}/out.lp"
"#
    )
}

/// User plus system CPU time of `pid`, in clock ticks (fields 14 and 15 of `stat`).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read stat");
    // The command name (field 2) may hold spaces: count from after its closing parenthesis.
    let after = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    // `after` starts at field 3.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

/// Reads until the server closes the connection; true if it did within `within`.
fn closed_by_server(s: &mut TcpStream, within: Duration) -> bool {
    s.set_read_timeout(Some(within)).expect("read timeout");
    let mut sink = Vec::new();
    s.read_to_end(&mut sink).is_ok()
}

#[test]
fn idle_telemetry_connections_are_closed() {
    let listen = format!("127.0.0.1:{}", free_port());
    let agent = Agent::start(&config(&listen));
    let mut silent: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(&agent.telemetry_addr).expect("connect"))
        .collect();
    let mut kept_alive = TcpStream::connect(&agent.telemetry_addr).expect("connect");
    kept_alive
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n")
        .expect("request");
    // The timeout is 10 s; allow for a loaded machine.
    for s in silent.iter_mut().chain([&mut kept_alive]) {
        assert!(
            closed_by_server(s, Duration::from_secs(30)),
            "an idle connection to /metrics was kept open"
        );
    }
}

#[test]
fn running_out_of_descriptors_does_not_spin_and_recovers() {
    let listen = format!("127.0.0.1:{}", free_port());
    let agent = Agent::start_limited(&config(&listen), 64);
    let pid = agent.child.id();
    // Hold connections until the agent has no descriptor left to accept one (the kernel
    // still completes the handshakes of the rest, into the listen backlog, 128 deep).
    let addr = agent.telemetry_addr.parse().expect("address");
    let mut held = Vec::new();
    for _ in 0..120 {
        held.push(TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect"));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    // Today's line, or the old loop's.
    let out_of_fds =
        |e: &str| e.contains("cannot accept a connection") || e.contains("listener accept failed");
    while !out_of_fds(&agent.stderr()) {
        assert!(
            Instant::now() < deadline,
            "the agent never ran out of descriptors:\n{}",
            agent.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Measure over 3 s, well inside the 10 s after which idle connections are closed.
    let (cpu0, err0) = (cpu_ticks(pid), agent.stderr().len());
    let window = Duration::from_secs(3);
    std::thread::sleep(window);
    let (cpu1, err1) = (cpu_ticks(pid), agent.stderr().len());
    // Clock ticks are 1/100 s on Linux: 3 s of a spinning core is 300.
    let cpu = cpu1 - cpu0;
    eprintln!(
        "out of descriptors for {window:?}: {cpu} CPU ticks, {} bytes of stderr",
        err1 - err0
    );
    assert!(
        cpu < 45,
        "{cpu} ticks of CPU in {window:?} while out of descriptors (spinning?)"
    );
    let logged = err1 - err0;
    assert!(
        logged < 16 * 1024,
        "{logged} bytes of stderr in {window:?} while out of descriptors:\n{}",
        &agent.stderr()[err0..err0 + logged.min(2000)]
    );
    // The clients go: the agent serves again.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http(&agent.telemetry_addr, "GET", "/health", &[], b"")
            && r.status == 200
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the agent did not serve again:\n{}",
            agent.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let r = http(&listen, "POST", "/write", &[], b"m v=1i 1\n").expect("write");
    assert_eq!(r.status, 204, "{}", r.body);
}
