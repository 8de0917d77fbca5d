//! The journal: an embedded SQLite database in WAL mode that makes every acknowledged
//! command durable before its ack, and from which the server rebuilds its state on start.
//!
//! One thread owns the connection. Work arrives over a bounded channel; the thread takes
//! everything waiting (up to [`MAX_BATCH`] jobs), writes it in one transaction, commits with
//! `synchronous=FULL` (one fsync of the WAL for the whole batch: group commit), hands the
//! batch's events to the publisher, and only then answers each job.
//!
//! On-disk format (version 2, in table `meta` as `format`):
//! - `events(seq INTEGER PRIMARY KEY, at INTEGER, body TEXT, key TEXT)`: one row per event,
//!   `body` the event's JSON (`world::Event`). Sequence numbers are dense and start at 1.
//!   `key` (NULL but on the last event of a command sent with an idempotency key):
//!   the key's record as JSON (`KeyRecord`: user, key, time, sequence number, incident,
//!   digest), written with the event, so a command is remembered exactly when it is
//!   durable. The server reads back those of the last
//!   [`KEY_RETENTION_MS`](onegrid_protocol::validate::KEY_RETENTION_MS). A journal from
//!   before the column gains it when opened (its rows read NULL).
//! - `tracks(unit INTEGER, at INTEGER, lon REAL, lat REAL)`: downsampled position tracks,
//!   kept for a retention (31 days by default, `--keep-tracks-days`) before the newest
//!   point: a whole city's 11,000 field units may leave tens of millions of points a day.
//! - `archive(id INTEGER PRIMARY KEY, closed_at INTEGER, body TEXT)`: incidents closed long
//!   enough ago to leave the world (the `archived` event, written in the same transaction),
//!   each as it was then (JSON, `Incident`); the `incident` query reads them from here.
//! - `checkpoints(seq INTEGER PRIMARY KEY, at INTEGER, body TEXT)`: the newest checkpoint of
//!   the world (`world::Checkpoint`, JSON) as of event `seq`. A restart rebuilds from it and
//!   the events after it; one that does not read is passed over (with a warning) for the
//!   events from the first, which the journal keeps.
//! - `meta(key TEXT PRIMARY KEY, value TEXT)`: `format`, `journal_id` (random, fixed at
//!   creation: clients resume only against the same journal), `city`, `profile` (the map of
//!   the city it was written with: each has its own roster, so a journal opens only with its
//!   own map; one from before the key takes the map it is next opened with).
//!
//! Compatibility: new event fields are added with serde defaults, so a newer server reads an
//! older journal. A journal of format 1 (before the archive and checkpoints) gains their
//! tables and becomes format 2 when opened; so a server that reads only format 1 refuses it
//! rather than meet events it does not know. Any other `format` is refused at start with a
//! clear error.
//!
//! Checkpoints (copying the WAL into the database file) run once a second on a second
//! connection, passively, so they never sit inside a commit. A journal that never pauses
//! gives a passive checkpoint no moment to start the WAL again from its head, so past
//! 64 MiB the WAL is checkpointed whole and truncated between two commits (the next waits
//! meanwhile): unbounded, the whole city simulated at 600 times real time grew it to 28 GB
//! in eight minutes and filled the disk; bounded, it stayed within 100–320 MB, the thread
//! not always getting its turn in time on two busy cores. So past 128 MiB the writer
//! truncates it itself before its next commit (`WAL_BACKSTOP_BYTES`): the same run then
//! peaked at 153 MB (BENCHMARKS.md).
//!
//! Failure policy: if a commit fails (disk full, I/O error), every job of the batch is
//! answered with the error, the journal is marked failed and refuses all later work; the
//! server then refuses commands (it stays up for reading) until it is restarted, when it
//! rebuilds from what is on disk. No ack is ever sent for something not on disk.

mod store;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};

use crate::world::Event;
pub use store::{Archive, TrackPoint};

/// Most jobs in one transaction.
pub const MAX_BATCH: usize = 4_096;
/// Capacity of the job channel, by default.
pub const QUEUE: usize = 16_384;
/// The on-disk format this server reads and writes.
pub const FORMAT: u32 = 2;

/// A journal error.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JournalError {
    /// SQLite failed.
    #[error("journal storage failed: {0}")]
    Storage(String),
    /// The journal failed earlier and refuses work until restart.
    #[error("the journal failed earlier; the server is read-only until restarted")]
    Failed,
    /// The journal file belongs to another format or city.
    #[error("{0}")]
    Incompatible(String),
    /// The journal thread is gone.
    #[error("the journal is shut down")]
    Closed,
}

/// Work for the journal thread.
pub enum Job {
    /// Events with consecutive sequence numbers from `first_seq`.
    Events {
        /// The first event's sequence number.
        first_seq: u64,
        /// The events.
        events: Vec<Event>,
        /// The command's idempotency key, stored with its events.
        key: Option<Box<KeyRecord>>,
        /// Incidents an `archived` event among them takes out of the world, as they are:
        /// written to the archive in the same transaction.
        archive: Vec<onegrid_protocol::Incident>,
        /// Answered once durable and published.
        done: oneshot::Sender<Result<(), JournalError>>,
    },
    /// A checkpoint of the world as of event `seq` (already durable), replacing the last.
    Checkpoint {
        /// The last event it includes.
        seq: u64,
        /// When it was taken (server clock).
        at: onegrid_protocol::Millis,
        /// Its JSON (`world::Checkpoint`).
        body: String,
        /// Answered once durable.
        done: oneshot::Sender<Result<(), JournalError>>,
    },
    /// Track points; answered once durable (may be empty: a barrier).
    Track {
        /// The points.
        points: Vec<TrackPoint>,
        /// Answered once durable.
        done: oneshot::Sender<Result<(), JournalError>>,
    },
}

/// A command's idempotency key and what the command did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyRecord {
    /// The user who sent it.
    pub user: String,
    /// The key.
    pub key: String,
    /// When it was applied (server clock).
    pub at: onegrid_protocol::Millis,
    /// The last sequence number it made.
    pub seq: Option<u64>,
    /// The incident it made or changed.
    pub incident: Option<onegrid_protocol::IncidentId>,
    /// A digest of the command, to tell a resend from another command under the same key.
    pub digest: u64,
}

/// Called with each committed batch's events, in sequence order, before any job is answered.
pub type Publisher = Box<dyn FnMut(&[(u64, Event)]) + Send>;

/// Counters for the benchmark and the summary line.
#[derive(Debug, Default)]
pub struct Stats {
    /// Transactions committed.
    pub batches: AtomicU64,
    /// Jobs committed.
    pub jobs: AtomicU64,
    /// Nanoseconds spent encoding, inserting and committing (the fsync included).
    pub write_ns: AtomicU64,
    /// Nanoseconds spent publishing committed events (apply, resume ring, fan-out).
    pub publish_ns: AtomicU64,
}

/// The handle to the journal thread.
pub struct Journal {
    tx: mpsc::Sender<Job>,
    id: String,
    failed: Arc<AtomicBool>,
    stats: Arc<Stats>,
    thread: Option<JoinHandle<()>>,
}

/// What the journal holds at start.
pub struct Recovered {
    /// The newest checkpoint of the world, if there is one that reads.
    pub checkpoint: Option<crate::world::Checkpoint>,
    /// Every event after the checkpoint (every event, without one), in order.
    pub events: Vec<(u64, Event)>,
    /// The journal's id.
    pub id: String,
    /// Track points of the last hour before the newest one, by unit and time.
    pub tracks: Vec<TrackPoint>,
    /// Idempotency keys applied at or after the time given to [`Journal::open`],
    /// oldest first.
    pub keys: Vec<KeyRecord>,
}

/// How much track history a restarted server reloads into memory.
pub const RELOAD_TRACK_MS: i64 = 3_600_000;

impl Journal {
    /// Opens (or creates) the journal at `path` and reads it back, with the idempotency keys
    /// applied at or after `keys.0`; a command's last event is dated at most `keys.1` before
    /// its key (see [`store::Store::read_keys`]).
    pub fn open(
        path: &Path,
        city: &str,
        profile: &str,
        keys: (onegrid_protocol::Millis, onegrid_protocol::Millis),
    ) -> Result<(store::Store, Recovered), JournalError> {
        let store = store::Store::open(path, city, profile)?;
        let checkpoint = store.checkpoint()?;
        let events = store.read_events_after(checkpoint.as_ref().map_or(0, |c| c.seq))?;
        let keys = store.read_keys(keys.0, keys.1)?;
        let id = store.id.clone();
        let tracks = match store.last_track_time()? {
            Some(last) => store.tracks_since(last - RELOAD_TRACK_MS)?,
            None => Vec::new(),
        };
        Ok((store, Recovered { checkpoint, events, id, tracks, keys }))
    }

    /// Starts the journal thread over an opened store, with room for `queue` jobs waiting;
    /// track points older than `keep_tracks` (before the newest) are dropped as it runs.
    pub fn start(
        store: store::Store,
        mut publish: Publisher,
        queue: usize,
        keep_tracks: std::time::Duration,
    ) -> Journal {
        let (tx, mut rx) = mpsc::channel::<Job>(queue.max(1));
        let failed = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Stats::default());
        let id = store.id.clone();
        let stop_checkpoints = Arc::new(AtomicBool::new(false));
        let wal = (store::WAL_LIMIT_BYTES, store.gate.clone());
        store::checkpointer(&store.path, std::time::Duration::from_secs(1), keep_tracks, wal, stop_checkpoints.clone());
        let (t_failed, t_stats) = (failed.clone(), stats.clone());
        let thread = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || {
                let mut store = store;
                while let Some(first) = rx.blocking_recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    run_batch(&mut store, batch, &mut publish, &t_failed, &t_stats);
                }
                stop_checkpoints.store(true, Ordering::Relaxed);
            })
            .ok();
        Journal { tx, id, failed, stats, thread }
    }

    /// The journal's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether a commit has failed.
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// A place in the queue, or `None` when it is full or the journal failed.
    pub fn try_reserve(&self) -> Option<mpsc::Permit<'_, Job>> {
        if self.failed() {
            return None;
        }
        self.tx.try_reserve().ok()
    }

    /// Stops accepting work, writes what is queued and joins the thread.
    pub fn close(mut self) {
        let Journal { tx, thread, .. } = &mut self;
        drop(std::mem::replace(tx, mpsc::channel(1).0));
        if let Some(t) = thread.take() {
            let _ = t.join();
        }
    }
}

fn run_batch(store: &mut store::Store, batch: Vec<Job>, publish: &mut Publisher, failed: &AtomicBool, stats: &Stats) {
    if failed.load(Ordering::Relaxed) {
        for job in batch {
            answer(job, Err(JournalError::Failed));
        }
        return;
    }
    let started = std::time::Instant::now();
    let written = store.write(&batch);
    stats.write_ns.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
    match written {
        Ok(()) => {
            stats.batches.fetch_add(1, Ordering::Relaxed);
            stats.jobs.fetch_add(batch.len() as u64, Ordering::Relaxed);
            let events: Vec<(u64, Event)> = batch
                .iter()
                .flat_map(|job| match job {
                    Job::Events { first_seq, events, .. } => {
                        events.iter().enumerate().map(|(i, e)| (first_seq + i as u64, e.clone())).collect()
                    }
                    Job::Track { .. } | Job::Checkpoint { .. } => Vec::new(),
                })
                .collect();
            if !events.is_empty() {
                let started = std::time::Instant::now();
                publish(&events);
                stats.publish_ns.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
            }
            for job in batch {
                answer(job, Ok(()));
            }
        }
        Err(e) => {
            tracing::error!("journal commit failed, refusing further commands: {e}");
            failed.store(true, Ordering::Relaxed);
            for job in batch {
                answer(job, Err(e.clone()));
            }
        }
    }
}

fn answer(job: Job, result: Result<(), JournalError>) {
    let done = match job {
        Job::Events { done, .. } | Job::Track { done, .. } | Job::Checkpoint { done, .. } => done,
    };
    let _ = done.send(result);
}
