//! The input's own figures on `/metrics` (`gleaner_syslog_*`), and the kernel's count of
//! datagrams a UDP socket dropped because its receive buffer was full, read from
//! `/proc/self/net/udp{,6}` (the `drops` column of the socket's row, found by inode) when
//! `/metrics` asks.

use std::sync::atomic::{AtomicU64, Ordering};

use gleaner_api::{PluginStat, PluginStats, StatKind};

/// Counters shared by the socket tasks.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    /// Messages kept raw and flagged `syslog.parse_error`.
    pub(crate) parse_errors: AtomicU64,
    /// Messages cut at `max_message_bytes`.
    pub(crate) truncated: AtomicU64,
    /// Stream connections open now.
    pub(crate) connections: AtomicU64,
    /// Stream connections accepted.
    pub(crate) connections_total: AtomicU64,
    /// Connections closed for being idle.
    pub(crate) idle_closed: AtomicU64,
    /// Inode of the UDP socket (0: none).
    pub(crate) udp_inode: AtomicU64,
}

impl Stats {
    /// Adds one to a counter.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl PluginStats for Stats {
    fn stats(&self) -> Vec<PluginStat> {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
        let mut out = vec![
            PluginStat {
                name: "parse_errors_total",
                kind: StatKind::Counter,
                help: "Messages passed on raw, flagged with syslog.parse_error.",
                value: get(&self.parse_errors),
            },
            PluginStat {
                name: "truncated_total",
                kind: StatKind::Counter,
                help: "Messages cut at max_message_bytes (flagged syslog.truncated).",
                value: get(&self.truncated),
            },
            PluginStat {
                name: "connections",
                kind: StatKind::Gauge,
                help: "TCP connections open now.",
                value: get(&self.connections),
            },
            PluginStat {
                name: "connections_total",
                kind: StatKind::Counter,
                help: "TCP connections accepted.",
                value: get(&self.connections_total),
            },
            PluginStat {
                name: "idle_closed_total",
                kind: StatKind::Counter,
                help: "TCP connections closed after idle_timeout.",
                value: get(&self.idle_closed),
            },
        ];
        let inode = self.udp_inode.load(Ordering::Relaxed);
        if inode != 0 {
            out.push(PluginStat {
                name: "udp_socket_drops_total",
                kind: StatKind::Counter,
                help: "Datagrams the kernel dropped: the socket's receive buffer was full.",
                value: udp_drops(inode).unwrap_or(0) as f64,
            });
        }
        out
    }
}

/// The `drops` column of the socket with `inode` in `/proc/self/net/udp` or `udp6`.
pub(crate) fn udp_drops(inode: u64) -> Option<u64> {
    ["/proc/self/net/udp", "/proc/self/net/udp6"]
        .iter()
        .find_map(|p| drops_in(&std::fs::read_to_string(p).ok()?, inode))
}

/// Finds the row of `inode` in a `/proc/net/udp` table: `sl local rem st tx:rx tr:when
/// retrnsmt uid timeout inode ref pointer drops`.
pub(crate) fn drops_in(table: &str, inode: u64) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        (cols.get(9)?.parse::<u64>().ok()? == inode)
            .then(|| cols.last()?.parse().ok())
            .flatten()
    })
}
