//! The engine: the one place state changes. A command is decided against the live world
//! under one lock (so two commands never both pass against the same state), applied there,
//! given the next sequence numbers and queued to the journal in that order. The journal
//! commits it, then the publisher applies it to the published world (what snapshots are
//! made from), keeps it in the resume ring and fans it out; only then is it acknowledged.
//! So a client never sees, and is never acked, anything that is not on disk.
//!
//! A command sent with an idempotency key is applied once per user and key ([`keys`]): the
//! key is looked up under the same lock, and a command already applied is answered, once
//! everything queued before it is durable, with what the first one did.
//!
//! The world stays bounded over time: incidents closed a week ago are archived (an event
//! like any other, their last state kept in the journal's archive and given by number from
//! there), and a checkpoint of the world every [`CHECKPOINT_EVERY`] events and at shutdown
//! lets a restart replay only the events after it.
//!
//! Lock order, where two are held: `published` → `snapshots` → hub clients → `board`.
//! `core` is never held with another, nor `ahead` (the position pump's alone).

pub mod ahead;
pub mod board;
pub mod keys;
mod publish;
mod query;
pub mod tasks;

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use onegrid_protocol::coord::to_wgs84;
use onegrid_protocol::validate::MAX_BACKDATE_MS;
use onegrid_protocol::{Change, Command, ErrorCode, IncidentId, Millis, Position, Unit, UnitStatus, UserInfo};
use tokio::sync::oneshot;

use crate::auth::{Users, system_user};
use crate::city::City;
use crate::clock::Clock;
use crate::hub::Hub;
use crate::journal::{Job, Journal, JournalError, KeyRecord};
use crate::spatial::CameraIndex;
use crate::world::{Actor, Refusal, WorldState, decide, decide::may_move};
use board::{Board, Fix};
pub use query::{Built, SHARE_SNAPSHOT_FOR};
pub use tasks::{run_housekeeping, run_overdue, run_position_pump, run_snapshot_expiry};

/// Events kept in memory for resuming clients, by default.
pub const RING: usize = 20_000;
/// Days after closing that an incident leaves the world for the archive, by default.
pub const ARCHIVE_AFTER_DAYS: u64 = 7;
/// Incidents archived by one event at most.
pub const ARCHIVE_BATCH: usize = 2_000;
/// Events between two checkpoints of the world, by default: replaying as many at start
/// takes about a tenth of a second.
pub const CHECKPOINT_EVERY: u64 = 20_000;

/// Sizes of the engine's bounded buffers.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Events kept for resuming clients.
    pub ring: usize,
    /// Deltas a client may have queued before it is resynced by snapshot.
    pub outbox: usize,
    /// Jobs waiting for the journal before commands are refused as `overloaded`.
    pub journal_queue: usize,
    /// A client that takes no byte of a write for this long is disconnected.
    pub write_stall: std::time::Duration,
    /// How long field units' track points are kept in the journal (before the newest).
    pub keep_tracks: std::time::Duration,
    /// How long after closing an incident leaves the world for the journal's archive
    /// (server clock; at least [`LIVE_AFTER_CLOSE_MS`](onegrid_protocol::LIVE_AFTER_CLOSE_MS)).
    pub archive_after: std::time::Duration,
    /// Events after which a new checkpoint of the world is written.
    pub checkpoint_every: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ring: RING,
            outbox: crate::hub::MAX_QUEUED,
            journal_queue: crate::journal::QUEUE,
            write_stall: std::time::Duration::from_secs(30),
            keep_tracks: std::time::Duration::from_secs(31 * 86_400),
            archive_after: std::time::Duration::from_secs(ARCHIVE_AFTER_DAYS * 86_400),
            checkpoint_every: CHECKPOINT_EVERY,
        }
    }
}

/// What the publisher shares with the engine.
pub struct Live {
    /// The city.
    pub city: Arc<City>,
    /// The published world, the resume ring.
    pub published: RwLock<Published>,
    /// Connected clients.
    pub hub: Hub,
    /// Positions.
    pub board: Mutex<Board>,
    /// The searches the position pump measures the road ahead of units on their way by.
    pub ahead: Mutex<ahead::Ahead>,
    /// Signalled when a unit moves: wakes the position pump.
    pub moved: tokio::sync::Notify,
    /// How long a client may take no byte of a write before it is disconnected.
    pub write_stall: std::time::Duration,
    /// The last snapshot built for each filter, shared by the clients that subscribe with
    /// the same filter soon after (see `Engine::subscribe`).
    pub snapshots: Mutex<std::collections::HashMap<String, Built>>,
}

/// The durable, published state.
pub struct Published {
    /// The world as of the last published event.
    pub world: WorldState,
    /// The last events: sequence number, time, changes.
    pub ring: VecDeque<(u64, Millis, Arc<[Change]>)>,
    /// How many events the ring keeps.
    pub ring_size: usize,
}

struct Core {
    world: WorldState,
    keys: keys::Keys,
    /// The sequence number of the last checkpoint written (or read at start).
    checkpointed: u64,
}

/// A command accepted and on its way to disk.
pub struct Pending {
    done: oneshot::Receiver<Result<(), JournalError>>,
    /// The last sequence number it made.
    pub seq: Option<u64>,
    /// The incident it made or changed.
    pub incident: Option<IncidentId>,
    /// Its key had been applied before: `seq` and `incident` are the first time's.
    pub repeated: bool,
}

/// What a durable command did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done {
    /// The last sequence number it made.
    pub seq: Option<u64>,
    /// The incident it made or changed.
    pub incident: Option<IncidentId>,
    /// A resend of a command applied before.
    pub repeated: bool,
}

impl Pending {
    /// Waits until durable.
    pub async fn durable(self) -> Result<Done, Refusal> {
        match self.done.await {
            Ok(Ok(())) => Ok(Done { seq: self.seq, incident: self.incident, repeated: self.repeated }),
            Ok(Err(e)) => Err(Refusal { code: ErrorCode::Internal, message: e.to_string() }),
            Err(_) => Err(Refusal { code: ErrorCode::Internal, message: "the journal stopped".into() }),
        }
    }
}

/// The engine. Shared as `Arc<Engine>`.
pub struct Engine {
    /// Shared with the journal's publisher.
    pub live: Arc<Live>,
    /// The clock.
    pub clock: Clock,
    /// Tokens.
    pub users: Users,
    /// Cameras.
    pub cameras: CameraIndex,
    core: Mutex<Core>,
    journal: Journal,
    archive: crate::journal::Archive,
    limits: Limits,
    system: UserInfo,
    /// Position updates applied.
    pub positions: std::sync::atomic::AtomicU64,
    /// Commands refused because the journal's queue was full.
    pub overloaded: std::sync::atomic::AtomicU64,
    /// Times the overdue rules could not be applied (the journal's queue full or failed).
    pub overdue_postponed: std::sync::atomic::AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The roster as units, each placed at its start.
pub fn roster_units(city: &City) -> Vec<Unit> {
    let mut cells_of: std::collections::HashMap<u32, Vec<String>> = std::collections::HashMap::new();
    for c in city.cells.cells() {
        if let Some(w) = c.placement.grid_worker {
            cells_of.entry(w).or_default().push(c.placement.cell.clone());
        }
    }
    city.roster
        .iter()
        .map(|r| {
            let start = geo_types::Point::new(r.start[0], r.start[1]);
            let home = city.cells.locate(start).map(|p| (**p).clone()).unwrap_or_default();
            Unit {
                id: r.id,
                name: r.name.clone(),
                kind: r.kind,
                skills: r.skills.clone(),
                phone: r.phone.clone(),
                cells: cells_of.remove(&r.id).unwrap_or_default(),
                home,
                status: UnitStatus::Available,
                task: None,
                position: None,
                heading_deg: 0.0,
                synthetic: r.synthetic,
            }
        })
        .collect()
}

impl Engine {
    /// Opens the journal in `data_dir`, rebuilds the world from it and starts the journal.
    pub fn open(
        city: Arc<City>,
        data_dir: &Path,
        clock: Clock,
        users: Users,
        limits: Limits,
    ) -> Result<Arc<Engine>, JournalError> {
        std::fs::create_dir_all(data_dir).map_err(|e| JournalError::Storage(format!("{}: {e}", data_dir.display())))?;
        let keys_since = clock.now() - onegrid_protocol::validate::KEY_RETENTION_MS;
        // A held report is dated back by the client's hold, in the server's clock (which may
        // have run at another scale when it was written: a day's margin at least).
        let backdated = ((f64::from(MAX_BACKDATE_MS) * clock.factor()).ceil() as Millis)
            .max(onegrid_protocol::validate::KEY_RETENTION_MS);
        let (store, recovered) = Journal::open(
            &data_dir.join("journal.sqlite"),
            &city.manifest.code,
            &city.manifest.profile,
            (keys_since, backdated),
        )?;
        let units = roster_units(&city);
        let checkpointed = recovered.checkpoint.as_ref().map_or(0, |c| c.seq);
        let mut world = match recovered.checkpoint {
            Some(c) => WorldState::restore(units, c),
            None => WorldState::new(units),
        };
        for (seq, event) in &recovered.events {
            world.apply(*seq, event);
        }
        let keys = keys::Keys::new(recovered.keys);
        tracing::info!(
            checkpoint = checkpointed,
            events = recovered.events.len(),
            incidents = world.incidents.len(),
            keys = keys.len(),
            "rebuilt state from the journal"
        );
        let archive = crate::journal::Archive::open(&data_dir.join("journal.sqlite"))?;
        let board = Board::new(
            city.metric,
            city.cells.extent(),
            world.units.values().map(|u| {
                let toward = u.task.and_then(|t| Some((t, world.incidents.get(&t)?.location)));
                (u.id, Arc::new(u.home.clone()), u.status, u.kind.travel(), toward)
            }),
        );
        let live = Arc::new(Live {
            city: city.clone(),
            published: RwLock::new(Published {
                world: world.clone(),
                ring: VecDeque::new(),
                ring_size: limits.ring.max(1),
            }),
            hub: Hub::new(limits.outbox.max(1)),
            board: Mutex::new(board),
            ahead: Mutex::default(),
            moved: tokio::sync::Notify::new(),
            write_stall: limits.write_stall,
            snapshots: Mutex::default(),
        });
        {
            let mut b = lock(&live.board);
            // Units known from the journal resume where they were last seen; the others
            // start where the roster puts them.
            for point in &recovered.tracks {
                if world.units.contains_key(&point.unit) {
                    b.restore(*point);
                }
            }
            for r in &city.roster {
                if b.fix(r.id).is_none() {
                    let at = geo_types::Point::new(r.start[0], r.start[1]);
                    b.update(r.id, Fix { at, heading_deg: 0.0, time: clock.now() });
                }
            }
            b.take_moved();
        }
        let journal = Journal::start(store, publish::publisher(live.clone()), limits.journal_queue, limits.keep_tracks);
        let cameras = CameraIndex::new(city.metric, city.cameras.clone());
        Ok(Arc::new(Engine {
            live,
            clock,
            users,
            cameras,
            core: Mutex::new(Core { world, keys, checkpointed }),
            journal,
            archive,
            limits,
            system: system_user(),
            positions: Default::default(),
            overloaded: Default::default(),
            overdue_postponed: Default::default(),
        }))
    }

    /// The city.
    pub fn city(&self) -> &City {
        &self.live.city
    }

    /// The journal's id.
    pub fn journal_id(&self) -> &str {
        self.journal.id()
    }

    /// Journal counters.
    pub fn journal_stats(&self) -> &crate::journal::Stats {
        self.journal.stats()
    }

    /// Decides, applies and queues a command; the returned [`Pending`] resolves once durable.
    /// With a `key`, a command this user already sent under it is not applied again (see
    /// [`keys`]); positions ignore keys (the latest position wins anyway).
    pub fn execute(&self, actor: Actor<'_>, cmd: &Command, key: Option<&str>) -> Result<Pending, Refusal> {
        if let Command::Position(p) = cmd {
            return self.position(actor, p);
        }
        // The digest is worked out before the lock: it needs nothing the lock guards.
        let key = key.map(|k| (k, keys::digest(cmd)));
        let now = self.clock.now();
        let mut core = lock(&self.core);
        let key = match key {
            None => None,
            Some((key, digest)) => {
                if let Some(done) = core.keys.get(&actor.user.id, key) {
                    if done.digest != digest {
                        return Err(Refusal {
                            code: ErrorCode::Invalid,
                            message: format!("key {key} was used for another command"),
                        });
                    }
                    let (seq, incident) = (done.seq, done.incident);
                    return self.repeat(seq, incident);
                }
                Some(KeyRecord {
                    user: actor.user.id.clone(),
                    key: key.to_owned(),
                    at: now,
                    seq: None,
                    incident: None,
                    digest,
                })
            }
        };
        // A report the client held while its link was down is dated when it was taken, at
        // most MAX_BACKDATE_MS back; a longer hold is kept as the client's word.
        let back = |ms: u32| now - (f64::from(ms) * self.clock.factor()) as Millis;
        let (at, taken_at) = match cmd {
            Command::Report(r) if r.held_ms > MAX_BACKDATE_MS => (back(MAX_BACKDATE_MS), Some(back(r.held_ms))),
            Command::Report(r) if r.held_ms > 0 => (back(r.held_ms), None),
            _ => (now, None),
        };
        let events = decide(&core.world, &self.live.city, actor, cmd, at, taken_at)?;
        self.commit(&mut core, events, key)
    }

    /// The answer to a command applied before: once everything queued before it (the first
    /// time included, if it is still on its way) is durable, what the first time did.
    fn repeat(&self, seq: Option<u64>, incident: Option<IncidentId>) -> Result<Pending, Refusal> {
        let Some(permit) = self.journal.try_reserve() else {
            return Err(self.journal_refusal());
        };
        let (done, rx) = oneshot::channel();
        permit.send(Job::Track { points: Vec::new(), done });
        Ok(Pending { done: rx, seq, incident, repeated: true })
    }

    fn commit(
        &self,
        core: &mut Core,
        events: Vec<crate::world::Event>,
        key: Option<KeyRecord>,
    ) -> Result<Pending, Refusal> {
        let Some(permit) = self.journal.try_reserve() else {
            return Err(self.journal_refusal());
        };
        let first_seq = core.world.seq + 1;
        let mut incident = None;
        let mut archive = Vec::new();
        for (i, e) in events.iter().enumerate() {
            if let crate::world::Event::Archived { ids, .. } = e {
                archive.extend(ids.iter().filter_map(|id| core.world.incidents.get(id).cloned()));
            }
            core.world.apply(first_seq + i as u64, e);
            incident = match e {
                crate::world::Event::Reported { incident } => Some(incident.id),
                crate::world::Event::Stepped { id, .. }
                | crate::world::Event::Overdue { id, .. }
                | crate::world::Event::Acknowledged { id, .. } => Some(*id),
                crate::world::Event::UnitStatus { .. } | crate::world::Event::Archived { .. } => incident,
            };
        }
        let seq = core.world.seq;
        let key = key.map(|mut k| {
            k.seq = Some(seq);
            k.incident = incident;
            core.keys.insert(k.clone());
            Box::new(k)
        });
        let (done, rx) = oneshot::channel();
        permit.send(Job::Events { first_seq, events, key, archive, done });
        Ok(Pending { done: rx, seq: Some(seq), incident, repeated: false })
    }

    fn journal_refusal(&self) -> Refusal {
        if self.journal.failed() {
            Refusal { code: ErrorCode::Internal, message: JournalError::Failed.to_string() }
        } else {
            self.overloaded.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Refusal { code: ErrorCode::Overloaded, message: "the journal queue is full; retry shortly".into() }
        }
    }

    /// A position from the field: applied at once, its downsampled track made durable.
    fn position(&self, actor: Actor<'_>, p: &Position) -> Result<Pending, Refusal> {
        // Who may move which unit depends only on the roster; the published world has it
        // without taking the core lock on this hot path.
        self.with_published(|pw| may_move(actor, &pw.world, p.unit))?;
        let at = to_wgs84(p.location, p.datum);
        if self.live.city.cells.locate_near(at, crate::spatial::lattice::EDGE_TOLERANCE_DEG).is_none() {
            return Err(Refusal {
                code: ErrorCode::OutsideCity,
                message: format!("({:.6}, {:.6}) lies outside the city's grid", at.x(), at.y()),
            });
        }
        let Some(permit) = self.journal.try_reserve() else {
            return Err(self.journal_refusal());
        };
        let fix = Fix { at, heading_deg: p.heading_deg, time: self.clock.now() };
        let point = lock(&self.live.board).update(p.unit, fix);
        self.positions.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.live.moved.notify_one();
        let (done, rx) = oneshot::channel();
        permit.send(Job::Track { points: point.into_iter().collect(), done });
        Ok(Pending { done: rx, seq: None, incident: None, repeated: false })
    }

    /// Applies the clock's overdue and escalation rules; returns how many events it made,
    /// or why they were not made (the journal's queue full, or the journal failed).
    pub fn check_overdue(&self) -> Result<usize, Refusal> {
        let now = self.clock.now();
        let mut core = lock(&self.core);
        let events = crate::world::decide::overdue_events(&core.world, &self.live.city, &self.system, now);
        let n = events.len();
        if n == 0 {
            return Ok(0);
        }
        self.commit(&mut core, events, None).map(|_| n)
    }

    /// Takes the incidents closed longer ago than the archive age out of the world, into
    /// the journal's archive, by one event (at most [`ARCHIVE_BATCH`] at a time); returns how
    /// many, once durable. They stay given by number (`incident` query) from the archive.
    pub async fn archive_closed(&self) -> Result<usize, Refusal> {
        let now = self.clock.now();
        let before = now.saturating_sub(self.archive_after_ms());
        let (n, pending) = {
            let mut core = lock(&self.core);
            let ids = core.world.closed_before(before, ARCHIVE_BATCH);
            if ids.is_empty() {
                return Ok(0);
            }
            (ids.len(), self.commit(&mut core, vec![crate::world::Event::Archived { ids, at: now }], None)?)
        };
        pending.durable().await?;
        Ok(n)
    }

    /// How long after closing an incident is archived (server clock): the configured age,
    /// and never within the live picture's day.
    pub fn archive_after_ms(&self) -> Millis {
        let age = i64::try_from(self.limits.archive_after.as_millis()).unwrap_or(i64::MAX);
        age.max(onegrid_protocol::LIVE_AFTER_CLOSE_MS)
    }

    /// Writes a checkpoint of the world when [`Limits::checkpoint_every`] events (or, with
    /// `always`, any) have passed since the last; returns once it is durable, with the
    /// sequence number it was taken at. Taken of the published world (on disk, so never
    /// ahead of the journal), copied under its lock and encoded after.
    pub async fn checkpoint(&self, always: bool) -> Result<Option<u64>, Refusal> {
        let due = |seq: u64, last: u64| seq > last && (always || seq - last >= self.limits.checkpoint_every);
        let last = lock(&self.core).checkpointed;
        let checkpoint = self.with_published(|p| due(p.world.seq, last).then(|| p.world.checkpoint()));
        let Some(checkpoint) = checkpoint else { return Ok(None) };
        let seq = checkpoint.seq;
        let body = tokio::task::spawn_blocking(move || serde_json::to_string(&checkpoint))
            .await
            .map_err(|e| Refusal { code: ErrorCode::Internal, message: e.to_string() })?
            .map_err(|e| Refusal { code: ErrorCode::Internal, message: e.to_string() })?;
        let Some(permit) = self.journal.try_reserve() else {
            return Err(self.journal_refusal());
        };
        let (done, rx) = oneshot::channel();
        permit.send(Job::Checkpoint { seq, at: self.clock.now(), body, done });
        Pending { done: rx, seq: Some(seq), incident: None, repeated: false }.durable().await?;
        let mut core = lock(&self.core);
        core.checkpointed = core.checkpointed.max(seq);
        Ok(Some(seq))
    }

    /// Incident `id` from the journal's archive, if it was archived.
    pub fn archived(&self, id: IncidentId) -> Result<Option<onegrid_protocol::Incident>, Refusal> {
        self.archive.get(id).map_err(|e| Refusal { code: ErrorCode::Internal, message: e.to_string() })
    }

    /// A unit's last known position.
    pub fn unit_position(&self, unit: u32) -> Option<geo_types::Point> {
        lock(&self.live.board).fix(unit).map(|f| f.at)
    }

    /// The earliest pending deadline.
    pub fn next_deadline(&self) -> Option<Millis> {
        lock(&self.core).world.deadlines.first().map(|(d, _)| *d)
    }

    /// Reads the live (decided) world.
    pub fn with_world<R>(&self, f: impl FnOnce(&WorldState) -> R) -> R {
        f(&lock(&self.core).world)
    }

    /// Reads the published world.
    pub fn with_published<R>(&self, f: impl FnOnce(&Published) -> R) -> R {
        f(&self.live.published.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Stops the journal after writing what is queued.
    pub fn shutdown_journal(self: Arc<Self>) {
        match Arc::try_unwrap(self) {
            Ok(engine) => engine.journal.close(),
            Err(_) => tracing::debug!("engine still shared at shutdown; the journal drains when the last handle drops"),
        }
    }
}
