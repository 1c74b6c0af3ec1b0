//! The shared attribute lists of a sender: `syslog.peer`, `facility`, `severity`, `version`,
//! `hostname`, `app_name` and `msg_id`, made once per distinct combination and reused from a
//! small bounded cache, so a message whose header repeats costs an `Arc` clone instead of
//! two allocations per attribute (a key and a value), on the way in and again when a filter
//! or an output frees them.
//!
//! What varies from message to message stays the record's own: `proc_id` (a sender's
//! processes come and go) and the structured data (often per request). Those are appended
//! after the shared list by `message.rs`, their values allocated per message but their
//! names static (`syslog.proc_id`) or shared from this cache's [`KeyCache`]
//! (`syslog.sd.<id>.<param>`: at most 64 names of at most 128 bytes are kept), found first
//! by position among the previous message's (`SdNames` in `message.rs`, at most 16).
//!
//! One cache per TCP connection or datagram socket (no locking). It is bounded twice: at
//! most [`CAPACITY`] lists (a new one evicts an arbitrary other when full), and a header
//! longer than [`MAX_KEY`] bytes (hostname, app name and msg id together; the RFC allows 335)
//! is never cached, only built, so a hostile sender costs at most about
//! `CAPACITY * (MAX_KEY + the list)` bytes per connection.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use gleaner_api::event::Attribute;
use gleaner_api::{FieldValue, Key, KeyCache, SharedAttributes};

use super::message::{FACILITIES, Message, SEVERITIES, SdNames};

/// Lists kept at most.
pub(crate) const CAPACITY: usize = 256;

/// Longest key cached, in bytes.
pub(crate) const MAX_KEY: usize = 384;

/// Key byte that marks the peer-only list (malformed messages).
const PEER_ONLY: u8 = 0xFF;

/// Shared header lists of one connection or socket.
#[derive(Debug, Default)]
pub(crate) struct HeaderCache {
    /// Seeded fast hashing (foldhash, as the prometheus series cache): every message that
    /// is not its predecessor's header looks its key up (SipHash was 1.5% of the agent's
    /// CPU in the `syslog` bench); the map is bounded, so a sender that forces collisions
    /// slows only its own connection, by at most [`CAPACITY`] comparisons.
    lists: HashMap<Box<[u8]>, SharedAttributes, foldhash::fast::RandomState>,
    /// The key and list of the previous message (runs of one sender are common).
    last_key: Vec<u8>,
    last: Option<SharedAttributes>,
    /// The key being built.
    key: Vec<u8>,
    /// The text of the last peer seen (UDP senders change per datagram).
    peer_text: Option<(IpAddr, String)>,
    /// Names of the own attributes (`syslog.sd.<id>.<param>`), made once (bounded).
    pub(crate) keys: KeyCache,
    /// The previous message's structured-data names, by position.
    pub(crate) sd_names: SdNames,
}

impl HeaderCache {
    /// The shared list for a parsed message from `peer`.
    pub(crate) fn header(&mut self, peer: Option<IpAddr>, m: &Message<'_>) -> SharedAttributes {
        self.key.clear();
        put_peer(&mut self.key, peer);
        self.key.push(m.facility);
        self.key.push(m.severity);
        self.key.push(m.version.map_or(0, |v| v.saturating_add(1)));
        for field in [m.hostname, m.app_name, m.msg_id] {
            match field {
                None => self.key.push(0),
                Some(v) => {
                    self.key.push(1);
                    self.key.extend_from_slice(
                        &u32::try_from(v.len()).unwrap_or(u32::MAX).to_le_bytes(),
                    );
                    self.key.extend_from_slice(v.as_bytes());
                }
            }
        }
        self.lookup(peer, |peer| header_list(peer, m))
    }

    /// The list of a message that did not parse: `syslog.peer` alone (`None` without a peer).
    pub(crate) fn peer_only(&mut self, peer: Option<IpAddr>) -> Option<SharedAttributes> {
        peer?;
        self.key.clear();
        put_peer(&mut self.key, peer);
        self.key.push(PEER_ONLY);
        Some(self.lookup(peer, Vec::from_iter))
    }

    /// Lists held now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lists.len()
    }

    /// The list for `self.key`: the previous one, a cached one, or `make(peer attribute)`.
    fn lookup(
        &mut self,
        peer: Option<IpAddr>,
        make: impl FnOnce(Option<Attribute>) -> Vec<Attribute>,
    ) -> SharedAttributes {
        if let Some(last) = &self.last
            && self.last_key == self.key
        {
            return Arc::clone(last);
        }
        let list = match self.lists.get(self.key.as_slice()) {
            Some(list) => Arc::clone(list),
            None => {
                let peer = peer.map(|ip| {
                    let text = match &self.peer_text {
                        Some((seen, text)) if *seen == ip => text.clone(),
                        _ => {
                            let text = ip.to_string();
                            self.peer_text = Some((ip, text.clone()));
                            text
                        }
                    };
                    (
                        Key::from_static("syslog.peer"),
                        FieldValue::String(text.into()),
                    )
                });
                let list: SharedAttributes = Arc::from(make(peer));
                if self.key.len() <= MAX_KEY {
                    if self.lists.len() >= CAPACITY {
                        // Any one: cheaper than tracking use, and still bounded.
                        if let Some(old) = self.lists.keys().next().cloned() {
                            self.lists.remove(&old);
                        }
                    }
                    self.lists
                        .insert(self.key.clone().into_boxed_slice(), Arc::clone(&list));
                }
                list
            }
        };
        self.last_key.clear();
        self.last_key.extend_from_slice(&self.key);
        self.last = Some(Arc::clone(&list));
        list
    }
}

/// The peer's address bytes, with a tag for its family (or none).
fn put_peer(key: &mut Vec<u8>, peer: Option<IpAddr>) {
    match peer {
        None => key.push(0),
        Some(IpAddr::V4(ip)) => {
            key.push(4);
            key.extend_from_slice(&ip.octets());
        }
        Some(IpAddr::V6(ip)) => {
            key.push(6);
            key.extend_from_slice(&ip.octets());
        }
    }
}

/// The header attributes of `m`, after the peer's.
fn header_list(peer: Option<Attribute>, m: &Message<'_>) -> Vec<Attribute> {
    let s = |v: &str| FieldValue::String(v.into());
    let mut list = Vec::with_capacity(7);
    list.extend(peer);
    list.push((
        Key::from_static("syslog.facility"),
        s(FACILITIES[usize::from(m.facility) % 24]),
    ));
    list.push((
        Key::from_static("syslog.severity"),
        s(SEVERITIES[usize::from(m.severity) % 8]),
    ));
    if let Some(v) = m.version {
        list.push((
            Key::from_static("syslog.version"),
            FieldValue::Int(i64::from(v)),
        ));
    }
    for (key, value) in [
        ("syslog.hostname", m.hostname),
        ("syslog.app_name", m.app_name),
        ("syslog.msg_id", m.msg_id),
    ] {
        if let Some(v) = value {
            list.push((Key::from_static(key), s(v)));
        }
    }
    list
}
