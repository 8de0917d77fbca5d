//! The hub: who is connected, what each may see, and the bounded outbox of each.
//!
//! Fan-out never waits on a client. Each change is encoded once per distinct filter and
//! the same bytes are queued to every client with that filter. A client's outbox is
//! bounded: incident deltas are never dropped silently — when the queue overflows it is
//! cleared and the client is resynced by a snapshot; positions coalesce (one pending
//! frame; a client still holding one when the next arrives gets the latest position of
//! every unit instead). A stalled client costs a bounded amount of memory and no time.

mod client;
mod filter;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use onegrid_protocol::{Change, Millis, ServerMsg};
use tokio_tungstenite::tungstenite::Utf8Bytes;

pub use client::{Body, ClientHandle, MAX_QUEUED, Out, Outbox, SharedSnapshot, Taken};
pub use filter::{Filter, LayerSet};

use crate::city::City;

/// Every connected client.
#[derive(Debug)]
pub struct Hub {
    clients: RwLock<Vec<Arc<ClientHandle>>>,
    next_id: AtomicU64,
    outbox_limit: usize,
    /// Position rows delivered (one row to one client is one delivery).
    pub deliveries: AtomicU64,
}

/// Encodes a server message; these types always serialise.
pub fn encode(msg: &ServerMsg) -> Utf8Bytes {
    Utf8Bytes::from(
        serde_json::to_string(msg)
            .unwrap_or_else(|e| format!("{{\"type\":\"error\",\"code\":\"internal\",\"message\":\"{e}\"}}")),
    )
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new(MAX_QUEUED)
    }
}

impl Hub {
    /// A hub whose clients queue at most `outbox_limit` deltas before a resync.
    pub fn new(outbox_limit: usize) -> Self {
        Hub { clients: RwLock::default(), next_id: AtomicU64::new(1), outbox_limit, deliveries: AtomicU64::new(0) }
    }

    /// A new client handle (not yet receiving anything).
    pub fn new_client(&self) -> Arc<ClientHandle> {
        Arc::new(ClientHandle::new(self.next_id.fetch_add(1, Ordering::Relaxed), self.outbox_limit))
    }

    /// Starts delivering to `client`.
    pub fn register(&self, client: &Arc<ClientHandle>) {
        let mut clients = self.clients.write().unwrap_or_else(|e| e.into_inner());
        if !clients.iter().any(|c| c.id == client.id) {
            clients.push(client.clone());
        }
    }

    /// Stops delivering to a client.
    pub fn unregister(&self, id: u64) {
        self.clients.write().unwrap_or_else(|e| e.into_inner()).retain(|c| c.id != id);
    }

    /// Connected, subscribed clients.
    pub fn len(&self) -> usize {
        self.clients.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no client is subscribed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of the client list.
    pub fn clients(&self) -> Vec<Arc<ClientHandle>> {
        self.clients.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Queues event `seq`'s changes to every client that may see some of them.
    pub fn fanout_changes(&self, city: &City, seq: u64, at: Millis, changes: &[Change]) {
        let clients = self.clients.read().unwrap_or_else(|e| e.into_inner());
        let mut encoded: HashMap<String, Option<Utf8Bytes>> = HashMap::new();
        for c in clients.iter() {
            let Some(filter) = c.filter() else { continue };
            let frame = encoded
                .entry(filter.key.clone())
                .or_insert_with(|| {
                    let mine = filter.changes(city, changes);
                    (!mine.is_empty()).then(|| encode(&ServerMsg::Delta { seq, at, changes: mine }))
                })
                .clone();
            if let Some(frame) = frame {
                c.push_delta(seq, frame);
            }
        }
    }

    /// Queues a positions frame per distinct filter; `encode_for` builds it (or `None` when
    /// nothing is visible) and says how many rows it holds.
    pub fn fanout_positions(&self, mut encode_for: impl FnMut(&Filter) -> Option<(Utf8Bytes, usize)>) {
        let clients = self.clients.read().unwrap_or_else(|e| e.into_inner());
        let mut encoded: HashMap<String, Option<(Utf8Bytes, usize)>> = HashMap::new();
        let mut delivered = 0u64;
        for c in clients.iter() {
            let Some(filter) = c.filter() else { continue };
            if !filter.layers.personnel() {
                continue;
            }
            let frame = encoded.entry(filter.key.clone()).or_insert_with(|| encode_for(&filter)).clone();
            if let Some((frame, rows)) = frame {
                c.offer_positions(frame);
                delivered += rows as u64;
            }
        }
        self.deliveries.fetch_add(delivered, Ordering::Relaxed);
    }
}
