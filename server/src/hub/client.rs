//! One client's outbox: bounded, never blocking the producer.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::filter::Filter;

/// Most queued delta frames before the client is resynced by snapshot instead.
pub const MAX_QUEUED: usize = 4_096;
/// Most queued direct answers (acks, errors, results): a client that sends commands
/// without reading their answers is disconnected past this.
pub const MAX_DIRECT: usize = 8_192;

/// A queued frame: a delta carries its sequence number, direct answers carry none.
#[derive(Debug, Clone)]
pub struct Out {
    /// Sequence number of a delta or snapshot.
    pub seq: Option<u64>,
    /// The first frame of a (re)subscription: the writer forgets what it sent before.
    pub reset: bool,
    /// What goes on the wire.
    pub body: Body,
}

impl Out {
    /// A text frame; `seq` for a delta.
    pub fn text(seq: Option<u64>, text: Utf8Bytes) -> Self {
        Out { seq, reset: false, body: Body::Text(text) }
    }
}

/// A frame's contents.
#[derive(Debug, Clone)]
pub enum Body {
    /// An encoded text frame.
    Text(Utf8Bytes),
    /// A binary frame: a text frame compressed with gzip (a map part asked for so).
    Gzip(bytes::Bytes),
    /// A snapshot, encoded (and compressed, for a client that reads so) by the writer that
    /// sends it, off the engine's locks, and only once for all the clients given the same.
    Snapshot(Arc<SharedSnapshot>),
}

/// A snapshot built once and sent to every client whose filter sees the same: encoded by
/// the first writer that needs its text, compressed by the first that needs it so; the
/// others wait for that and share the bytes.
#[derive(Debug)]
pub struct SharedSnapshot {
    msg: Mutex<Option<onegrid_protocol::ServerMsg>>,
    text: std::sync::OnceLock<Utf8Bytes>,
    gzip: std::sync::OnceLock<bytes::Bytes>,
}

impl SharedSnapshot {
    /// The snapshot `msg`, not yet encoded.
    pub fn new(msg: onegrid_protocol::ServerMsg) -> Arc<Self> {
        Arc::new(SharedSnapshot {
            msg: Mutex::new(Some(msg)),
            text: std::sync::OnceLock::new(),
            gzip: std::sync::OnceLock::new(),
        })
    }

    /// Its text frame, encoded now if no writer has yet (blocking: call it off the
    /// runtime's threads for a large one).
    pub fn text(&self) -> Utf8Bytes {
        self.text
            .get_or_init(|| {
                let msg = self.msg.lock().unwrap_or_else(|e| e.into_inner()).take();
                msg.map(|m| super::encode(&m)).unwrap_or_default()
            })
            .clone()
    }

    /// Its text frame compressed with gzip (the fastest level), compressed now if no
    /// writer has yet (blocking, as [`SharedSnapshot::text`]).
    pub fn gzip(&self) -> bytes::Bytes {
        self.gzip.get_or_init(|| crate::city::export::gzip_fast(&self.text())).clone()
    }
}

/// What is waiting to be written.
#[derive(Debug, Default)]
pub struct Outbox {
    frames: VecDeque<Out>,
    deltas: usize,
    direct: usize,
    resync: bool,
    positions: Option<Utf8Bytes>,
    positions_full: bool,
    closed: bool,
}

/// What the writer takes in one go.
#[derive(Debug, Default)]
pub struct Taken {
    /// Frames in order.
    pub frames: Vec<Out>,
    /// The client fell behind: send a snapshot first, then only deltas after it.
    pub resync: bool,
    /// A pending positions frame.
    pub positions: Option<Utf8Bytes>,
    /// Positions coalesced: send the latest position of every visible unit.
    pub positions_full: bool,
    /// The connection is being closed.
    pub closed: bool,
}

/// A connected client.
#[derive(Debug)]
pub struct ClientHandle {
    /// Connection number.
    pub id: u64,
    limit: usize,
    filter: RwLock<Option<Arc<Filter>>>,
    outbox: Mutex<Outbox>,
    /// Wakes the writer.
    pub notify: Notify,
    /// Tells the writer to drop the connection now, without flushing (a misbehaving client).
    pub abort: Notify,
    gzip: std::sync::atomic::AtomicBool,
}

impl ClientHandle {
    pub(super) fn new(id: u64, limit: usize) -> Self {
        ClientHandle {
            id,
            limit,
            filter: RwLock::new(None),
            outbox: Mutex::new(Outbox::default()),
            notify: Notify::new(),
            abort: Notify::new(),
            gzip: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether the client reads binary frames compressed with gzip (it said so in `hello`).
    pub fn gzip(&self) -> bool {
        self.gzip.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records whether the client reads compressed frames.
    pub fn set_gzip(&self, on: bool) {
        self.gzip.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    fn outbox(&self) -> std::sync::MutexGuard<'_, Outbox> {
        self.outbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current subscription.
    pub fn filter(&self) -> Option<Arc<Filter>> {
        self.filter.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the subscription and the queued deltas with `first` (a snapshot or replay).
    pub fn resubscribe(&self, filter: Filter, first: Vec<Out>) {
        *self.filter.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(filter));
        let mut o = self.outbox();
        o.frames.retain(|f| f.seq.is_none());
        o.deltas = 0;
        o.direct = o.frames.len();
        o.resync = false;
        o.positions = None;
        o.positions_full = false;
        o.frames.extend(first.into_iter().enumerate().map(|(i, mut f)| {
            f.reset = i == 0;
            f
        }));
        drop(o);
        self.notify.notify_one();
    }

    /// Has the writer send the latest position of every unit the filter sees next, in
    /// place of the positions offered since: for a client given a snapshot built before
    /// its subscription, whose positions may have moved on.
    pub fn refresh_positions(&self) {
        let mut o = self.outbox();
        o.positions = None;
        o.positions_full = true;
        drop(o);
        self.notify.notify_one();
    }

    /// Queues a delta; on overflow drops the queued deltas and asks for a resync.
    pub fn push_delta(&self, seq: u64, text: Utf8Bytes) {
        let mut o = self.outbox();
        if o.resync || o.closed {
            return; // the snapshot to come includes it
        }
        if o.deltas >= self.limit {
            o.frames.retain(|f| f.seq.is_none());
            o.deltas = 0;
            o.resync = true;
        } else {
            o.frames.push_back(Out::text(Some(seq), text));
            o.deltas += 1;
        }
        drop(o);
        self.notify.notify_one();
    }

    /// Queues a direct answer (ack, error, result); these are never dropped, but a client
    /// that lets more than [`MAX_DIRECT`] pile up is closed.
    pub fn push_direct(&self, text: Utf8Bytes) {
        self.push_answer(Out::text(None, text));
    }

    /// Queues a direct answer compressed with gzip, sent as a binary frame (see [`Out::gzip`]).
    pub fn push_direct_gzip(&self, gzip: bytes::Bytes) {
        self.push_answer(Out { seq: None, reset: false, body: Body::Gzip(gzip) });
    }

    fn push_answer(&self, out: Out) {
        let mut o = self.outbox();
        if o.direct >= MAX_DIRECT {
            o.closed = true;
            self.abort.notify_one();
        } else {
            o.frames.push_back(out);
            o.direct += 1;
        }
        drop(o);
        self.notify.notify_one();
    }

    /// Offers a positions frame; coalesces if the last one is still unsent.
    pub fn offer_positions(&self, text: Utf8Bytes) {
        let mut o = self.outbox();
        if o.positions.is_some() || o.positions_full {
            o.positions = None;
            o.positions_full = true;
        } else {
            o.positions = Some(text);
        }
        drop(o);
        self.notify.notify_one();
    }

    /// Marks the connection closing and wakes the writer.
    pub fn close(&self) {
        self.outbox().closed = true;
        self.notify.notify_one();
    }

    /// Frames waiting (for tests and the summary).
    pub fn queued(&self) -> usize {
        self.outbox().frames.len()
    }

    /// Takes everything waiting.
    pub fn take(&self) -> Taken {
        let mut o = self.outbox();
        o.deltas = 0;
        o.direct = 0;
        Taken {
            frames: o.frames.drain(..).collect(),
            resync: std::mem::take(&mut o.resync),
            positions: o.positions.take(),
            positions_full: std::mem::take(&mut o.positions_full),
            closed: o.closed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_turns_into_a_resync_and_keeps_direct_answers() {
        let c = ClientHandle::new(1, MAX_QUEUED);
        c.push_direct(Utf8Bytes::from("ack"));
        for seq in 0..(MAX_QUEUED as u64 + 10) {
            c.push_delta(seq, Utf8Bytes::from("d"));
        }
        let t = c.take();
        assert!(t.resync);
        assert_eq!(t.frames.len(), 1);
        assert!(matches!(&t.frames[0].body, Body::Text(t) if t.as_str() == "ack"));
    }

    #[test]
    fn a_client_that_never_reads_its_answers_is_closed() {
        let c = ClientHandle::new(1, MAX_QUEUED);
        for _ in 0..=MAX_DIRECT {
            c.push_direct(Utf8Bytes::from("ack"));
        }
        let t = c.take();
        assert!(t.closed);
        assert_eq!(t.frames.len(), MAX_DIRECT);
    }

    #[test]
    fn a_shared_snapshot_is_encoded_and_compressed_once() {
        let msg = onegrid_protocol::ServerMsg::Snapshot {
            seq: 7,
            journal: "j".into(),
            at: 1,
            incidents: vec![],
            units: vec![],
            cameras: vec![],
            cells: vec![],
        };
        let shared = SharedSnapshot::new(msg.clone());
        let text = shared.text();
        assert_eq!(text, super::super::encode(&msg));
        assert_eq!(shared.text().as_str().as_ptr(), text.as_str().as_ptr(), "the same buffer for every client");
        let z = shared.gzip();
        let mut unzipped = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&z[..]), &mut unzipped).expect("gunzips");
        assert_eq!(unzipped, text.as_str());
        assert_eq!(shared.gzip().as_ptr(), z.as_ptr(), "compressed once");
    }

    #[test]
    fn unsent_positions_coalesce_into_a_full_frame() {
        let c = ClientHandle::new(1, MAX_QUEUED);
        c.offer_positions(Utf8Bytes::from("p1"));
        assert_eq!(c.take().positions.as_ref().map(|p| p.as_str()), Some("p1"));
        c.offer_positions(Utf8Bytes::from("p2"));
        c.offer_positions(Utf8Bytes::from("p3"));
        let t = c.take();
        assert!(t.positions.is_none());
        assert!(t.positions_full);
    }
}
