//! Container log lines as containerd writes them (CRI: `<RFC3339Nano> <stream> <P|F>
//! <content>`), in the kubelet layout `/var/log/pods/<ns>_<pod>_<uid>/<container>/0.log`,
//! with a realistic mix: plain application lines, JSON lines, ~3% of records split into P/F
//! pieces, and Java stack traces (one record per line, on stderr). Every record carries a
//! unique sequence id as the token `sq=<n>` (ids dense from 0, in generation order), which
//! survives the agent's merging of P/F pieces and any JSON escaping on the way out.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::rng::Rng;

const NAMESPACES: &[&str] = &["shop", "payments", "search", "monitoring", "kube-system"];
const APPS: &[&str] = &[
    "web", "api", "worker", "cart", "checkout", "indexer", "billing",
];
const LEVELS: &[&str] = &["INFO", "INFO", "INFO", "DEBUG", "WARN"];
const LOGGERS: &[&str] = &[
    "c.e.shop.OrderController",
    "c.e.shop.CartService",
    "o.h.engine.jdbc.spi.SqlExceptionHelper",
    "c.e.search.QueryPlanner",
    "i.n.channel.DefaultChannelPipeline",
];
const CLASSES: &[&str] = &[
    "OrderService",
    "CartRepository",
    "StockClient",
    "RetryTemplate",
    "DispatcherServlet",
    "ThreadPoolExecutor",
];

/// The container directories of `m` pods under `root` (created), kubelet layout.
///
/// # Panics
/// When a directory cannot be created.
pub fn make_pods(root: &Path, m: usize, rng: &mut Rng) -> Vec<PathBuf> {
    (0..m)
        .map(|i| {
            let ns = rng.pick(NAMESPACES);
            let app = rng.pick(APPS);
            let pod = format!(
                "{app}-{:08x}{:02x}-{}",
                rng.next_u64() as u32,
                i % 256,
                alnum(rng, 5)
            );
            let u = rng.next_u64();
            let v = rng.next_u64();
            let uid = format!(
                "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                u >> 32,
                (u >> 16) & 0xffff,
                u & 0xfff,
                v >> 52,
                v & 0xffff_ffff_ffff
            );
            let dir = root.join(format!("{ns}_{pod}_{uid}")).join("app");
            std::fs::create_dir_all(&dir).expect("create pod log dir");
            dir
        })
        .collect()
}

fn alnum(rng: &mut Rng, n: usize) -> String {
    const A: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..n).map(|_| char::from(*rng.pick(A))).collect()
}

/// The record generator: sequence ids, a clock, and the mix.
#[derive(Debug)]
pub struct LogGen {
    rng: Rng,
    next_seq: u64,
    clock_ns: u64,
    /// Physical lines generated.
    pub lines: u64,
    /// Bytes generated.
    pub bytes: u64,
}

impl LogGen {
    /// A generator from `seed`; ids start at 0.
    pub fn new(seed: u64) -> LogGen {
        LogGen {
            rng: Rng::new(seed),
            next_seq: 0,
            clock_ns: 4 * 3600 * 1_000_000_000,
            lines: 0,
            bytes: 0,
        }
    }

    /// Records (sequence ids) generated so far: the ids are `0..events()`.
    pub fn events(&self) -> u64 {
        self.next_seq
    }

    /// Appends the lines of one group to `buf`: a single record, a record split into P/F
    /// pieces, or a stack trace (a record per line); never more than `room` lines (a single
    /// plain line when `room` is small). Returns the lines appended.
    pub fn group(&mut self, buf: &mut Vec<u8>, room: u64) -> u64 {
        let before = (self.lines, buf.len());
        let dice = self.rng.below(1000);
        if dice < 30 && room >= 3 {
            self.split_record(buf);
        } else if dice < 42 && room >= 10 {
            self.stack_trace(buf);
        } else if dice < 330 {
            let msg = self.json_message();
            self.line(buf, "stdout", 'F', &msg);
        } else {
            let msg = self.plain_message();
            let stream = if msg.starts_with("WARN") {
                "stderr"
            } else {
                "stdout"
            };
            self.line(buf, stream, 'F', &msg);
        }
        self.bytes += (buf.len() - before.1) as u64;
        self.lines - before.0
    }

    fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq - 1
    }

    fn line(&mut self, buf: &mut Vec<u8>, stream: &str, tag: char, content: &str) {
        self.clock_ns += 1_000 + self.rng.below(20_000);
        let ns = self.clock_ns % (86_400 * 1_000_000_000);
        let s = ns / 1_000_000_000;
        writeln!(
            buf,
            "2026-11-21T{:02}:{:02}:{:02}.{:09}Z {stream} {tag} {content}",
            s / 3600,
            s / 60 % 60,
            s % 60,
            ns % 1_000_000_000
        )
        .expect("writing to a Vec");
        self.lines += 1;
    }

    fn plain_message(&mut self) -> String {
        let seq = self.seq();
        let r = &mut self.rng;
        let level = *r.pick(LEVELS);
        let head = format!(
            "{level} [http-nio-8080-exec-{}] {} - sq={seq}",
            r.below(32),
            r.pick(LOGGERS)
        );
        match r.below(4) {
            0 => format!(
                "{head} order {} placed by customer {} total={}.{:02} EUR items={}",
                r.range(100_000, 999_999),
                r.below(10_000),
                r.below(500),
                r.below(100),
                r.range(1, 9)
            ),
            1 => format!(
                "{head} GET /api/v1/items/{} 200 {}ms ua=\"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\"",
                r.below(100_000),
                r.range(1, 900)
            ),
            2 => format!(
                "{head} cache miss for key user:{}:profile; loading from the database (attempt {})",
                r.below(1_000_000),
                r.range(1, 3)
            ),
            _ => format!(
                "{head} connection pool stats active={} idle={} waiting={} max=50",
                r.below(50),
                r.below(50),
                r.below(5)
            ),
        }
    }

    fn json_message(&mut self) -> String {
        let seq = self.seq();
        let r = &mut self.rng;
        format!(
            r#"{{"ts":"2026-11-21T04:00:00.{:03}Z","level":"info","logger":"http","msg":"sq={seq} request served","method":"{}","path":"/api/v2/carts/{}","status":{},"duration_ms":{}.{},"trace_id":"{:016x}{:016x}"}}"#,
            r.below(1000),
            r.pick(&["GET", "GET", "POST", "PUT"]),
            r.below(100_000),
            r.pick(&[200, 200, 200, 201, 404, 500]),
            r.below(300),
            r.below(10),
            r.next_u64(),
            r.next_u64()
        )
    }

    /// One record in 2 or 3 pieces (P, [P], F); the `sq=` token is in the first piece.
    fn split_record(&mut self, buf: &mut Vec<u8>) {
        let seq = self.seq();
        let mut msg =
            format!("INFO [report-exporter-1] c.e.report.Exporter - sq={seq} exported rows:");
        let token_end = msg.len();
        let rows = self.rng.range(20, 50);
        for i in 0..rows {
            msg.push_str(&format!(
                " row{i}={:x}",
                self.rng.next_u64() & 0xff_ffff_ffff
            ));
        }
        let pieces = self.rng.range(2, 3) as usize;
        let mut cuts = vec![token_end + 1 + self.rng.below(10) as usize];
        if pieces == 3 {
            let mid = cuts[0] + (msg.len() - cuts[0]) / 2;
            cuts.push(mid);
        }
        let mut start = 0;
        for &c in &cuts {
            let piece = msg[start..c].to_owned();
            self.line(buf, "stdout", 'P', &piece);
            start = c;
        }
        let last = msg[start..].to_owned();
        self.line(buf, "stdout", 'F', &last);
    }

    /// An exception line and 4 to 9 frames, each its own record, on stderr.
    fn stack_trace(&mut self, buf: &mut Vec<u8>) {
        let seq = self.seq();
        let head = format!(
            "ERROR [http-nio-8080-exec-{}] c.e.shop.OrderController - sq={seq} request failed: java.lang.IllegalStateException: stock for item {} is negative",
            self.rng.below(32),
            self.rng.below(100_000)
        );
        self.line(buf, "stderr", 'F', &head);
        for _ in 0..self.rng.range(4, 9) {
            let seq = self.seq();
            let class = *self.rng.pick(CLASSES);
            let frame = format!(
                "\tat com.example.shop.{class}.handle({class}.java:{}) sq={seq}",
                self.rng.range(20, 900)
            );
            self.line(buf, "stderr", 'F', &frame);
        }
    }
}

/// What `write_files` wrote.
#[derive(Debug, Clone)]
pub struct Written {
    /// Records (sequence ids `0..events`).
    pub events: u64,
    /// Physical lines.
    pub lines: u64,
    /// Bytes.
    pub bytes: u64,
    /// The `0.log` files.
    pub files: Vec<PathBuf>,
}

/// Writes exactly `lines` CRI lines over `pods` pods under `root` (each pod's
/// `<container>/0.log`), records spread over pods at random.
///
/// # Panics
/// On I/O errors.
pub fn write_files(root: &Path, lines: u64, pods: usize, seed: u64) -> Written {
    let mut rng = Rng::new(seed);
    let dirs = make_pods(root, pods, &mut rng);
    let files: Vec<PathBuf> = dirs.iter().map(|d| d.join("0.log")).collect();
    let mut out: Vec<BufWriter<File>> = files
        .iter()
        .map(|f| BufWriter::with_capacity(1 << 16, File::create(f).expect("create 0.log")))
        .collect();
    let mut lg = LogGen::new(rng.next_u64());
    let mut buf = Vec::with_capacity(8192);
    while lg.lines < lines {
        buf.clear();
        lg.group(&mut buf, lines - lg.lines);
        let i = rng.below(out.len() as u64) as usize;
        out[i].write_all(&buf).expect("write 0.log");
    }
    for mut w in out {
        w.flush().expect("flush 0.log");
    }
    Written {
        events: lg.events(),
        lines: lg.lines,
        bytes: lg.bytes,
        files,
    }
}

#[cfg(test)]
mod tests;
