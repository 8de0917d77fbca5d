//! The SQLite side of the journal: schema, batch writes, reading back.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use super::{FORMAT, Job, JournalError, KeyRecord};
use crate::world::{Checkpoint, Event};

/// One downsampled track point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackPoint {
    /// The unit.
    pub unit: u32,
    /// When, ms.
    pub at: i64,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
}

fn storage(e: rusqlite::Error) -> JournalError {
    JournalError::Storage(e.to_string())
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, JournalError> {
    serde_json::to_string(v).map_err(|e| JournalError::Storage(e.to_string()))
}

/// Past this size the checkpoint thread checkpoints the WAL whole and truncates it
/// ([`checkpointer`]).
pub const WAL_LIMIT_BYTES: u64 = 64 << 20;

/// Held by the journal's writes, and by the checkpoint thread while it truncates the WAL,
/// so that no commit comes in between.
pub type WriteGate = std::sync::Arc<std::sync::Mutex<()>>;

/// Copies the WAL into the database every `every`, on its own connection and thread, with
/// passive checkpoints that never block the writer; stops when `stop` is set. Keeps
/// checkpoint I/O off the commit path. Every sixty checkpoints (a minute) it also drops
/// track points older than `keep_tracks` ([`prune_tracks`]).
///
/// A passive checkpoint copies the frames written before it began, and the WAL starts
/// again from its head only when one has copied every frame before the next commit. A
/// journal that never pauses (the whole city simulated at 600 times real time) never gave
/// it that moment: its WAL grew to 28 GB in eight minutes and filled the disk. So once the
/// WAL is larger than `wal_limit` bytes, this thread takes the store's write `gate` (the
/// journal's next commit waits), copies the rest (the passive checkpoints did most of it)
/// and truncates the file.
pub fn checkpointer(
    path: &Path,
    every: std::time::Duration,
    keep_tracks: std::time::Duration,
    (wal_limit, gate): (u64, WriteGate),
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    let path = path.to_owned();
    let wal = std::path::PathBuf::from(format!("{}-wal", path.display()));
    let _ = std::thread::Builder::new().name("checkpoint".into()).spawn(move || {
        let Ok(conn) = Connection::open(&path) else { return };
        // Pruning writes: it waits its turn behind the journal's commits rather than fail.
        let _ = conn.busy_timeout(std::time::Duration::from_secs(2));
        let keep_ms = i64::try_from(keep_tracks.as_millis()).unwrap_or(i64::MAX);
        let mut rounds = 0u32;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            std::thread::sleep(every);
            let checkpoint = if std::fs::metadata(&wal).is_ok_and(|m| m.len() > wal_limit) {
                let _held = gate.lock().unwrap_or_else(|e| e.into_inner());
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            } else {
                conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            };
            if let Err(e) = checkpoint {
                tracing::warn!("journal checkpoint failed: {e}");
            }
            rounds += 1;
            if rounds.is_multiple_of(PRUNE_EVERY) {
                match prune_tracks(&conn, keep_ms) {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(points = n, "dropped track points past their retention"),
                    Err(e) => tracing::warn!("pruning old track points failed (tried again later): {e}"),
                }
            }
        }
    });
}

/// Checkpoints between two looks for old track points.
const PRUNE_EVERY: u32 = 60;
/// Track points dropped per transaction, so that pruning holds the writer's lock briefly.
const PRUNE_BATCH: i64 = 5_000;

/// Drops track points more than `keep_ms` older than the newest one, oldest first, in
/// small transactions; returns how many went. Rows are in arrival order, so it looks only
/// at the oldest rows: with nothing to drop it costs two lookups, not a scan. The newest
/// point is the reference, not a clock, so a server whose clock runs scaled or was stopped
/// for a while keeps the span of tracks it says.
pub fn prune_tracks(conn: &Connection, keep_ms: i64) -> rusqlite::Result<usize> {
    let newest: Option<i64> =
        conn.query_row("SELECT at FROM tracks ORDER BY rowid DESC LIMIT 1", [], |r| r.get(0)).optional()?;
    let Some(cutoff) = newest.map(|n| n.saturating_sub(keep_ms)) else { return Ok(0) };
    let mut dropped = 0;
    loop {
        let oldest: Option<i64> =
            conn.query_row("SELECT at FROM tracks ORDER BY rowid LIMIT 1", [], |r| r.get(0)).optional()?;
        if oldest.is_none_or(|at| at >= cutoff) {
            return Ok(dropped);
        }
        let n = conn.execute(
            "DELETE FROM tracks WHERE rowid IN (SELECT rowid FROM tracks ORDER BY rowid LIMIT ?1) AND at < ?2",
            params![PRUNE_BATCH, cutoff],
        )?;
        if n == 0 {
            return Ok(dropped);
        }
        dropped += n;
    }
}

/// The open database.
pub struct Store {
    conn: Connection,
    /// The journal's id.
    pub id: String,
    /// The database file.
    pub path: std::path::PathBuf,
    /// Held while writing (see [`checkpointer`]).
    pub gate: WriteGate,
}

fn new_id() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let mut rng = crate::rng::Rng::new(nanos as u64 ^ u64::from(std::process::id()).rotate_left(32));
    format!("{:016x}", rng.next_u64())
}

impl Store {
    /// Opens or creates the database and checks its format and city.
    pub fn open(path: &Path, city: &str, profile: &str) -> Result<Store, JournalError> {
        let at = |e: rusqlite::Error| JournalError::Storage(format!("{}: {e}", path.display()));
        let conn = Connection::open(path).map_err(at)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(at)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(at)?;
        // Checkpoints run on their own connection (see `checkpointer`), not inside commits.
        conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(at)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, body TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS tracks(unit INTEGER NOT NULL, at INTEGER NOT NULL, lon REAL NOT NULL, lat REAL NOT NULL);
             CREATE INDEX IF NOT EXISTS tracks_unit_at ON tracks(unit, at);
             CREATE TABLE IF NOT EXISTS archive(id INTEGER PRIMARY KEY, closed_at INTEGER NOT NULL, body TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS checkpoints(seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, body TEXT NOT NULL);",
        )
        .map_err(|e| JournalError::Incompatible(format!("{}: not a OneGrid journal: {e}", path.display())))?;
        // Journals written before idempotency keys gain the column (NULL in their rows).
        let has_key: bool = conn
            .query_row("SELECT COUNT(*) FROM pragma_table_info('events') WHERE name = 'key'", [], |r| r.get(0))
            .map_err(at)?;
        if !has_key {
            conn.execute("ALTER TABLE events ADD COLUMN key TEXT", []).map_err(at)?;
        }
        // The keys of the last day are read without the events before a checkpoint.
        conn.execute("CREATE INDEX IF NOT EXISTS events_keyed ON events(at) WHERE key IS NOT NULL", []).map_err(at)?;
        let get = |key: &str| -> Result<Option<String>, JournalError> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional().map_err(storage)
        };
        let id = match (get("format")?, get("journal_id")?, get("city")?) {
            (Some(f), Some(id), Some(c)) => {
                // Format 1 lacked the archive and checkpoints, added above: it is format 2
                // now, and a server that reads only 1 refuses it rather than meet an
                // `archived` event it does not know.
                if f == "1" {
                    conn.execute("UPDATE meta SET value = ?1 WHERE key = 'format'", [FORMAT.to_string()])
                        .map_err(storage)?;
                } else if f != FORMAT.to_string() {
                    return Err(JournalError::Incompatible(format!(
                        "{}: journal format {f}, this server reads format {FORMAT} (and upgrades format 1)",
                        path.display()
                    )));
                }
                if c != city {
                    return Err(JournalError::Incompatible(format!(
                        "{}: journal of city {c}, but the map is city {city}",
                        path.display()
                    )));
                }
                // One city has several maps (profiles: Siming, the island, the whole city),
                // each with its own roster: a journal's unit numbers mean people of its map.
                match get("profile")? {
                    Some(p) if p != profile => {
                        return Err(JournalError::Incompatible(format!(
                            "{}: journal of the `{p}` map of city {c}, but the map is `{profile}`; \
                             give each map its own data directory",
                            path.display()
                        )));
                    }
                    Some(_) => {}
                    // A journal from before profiles were recorded: the map it runs with now.
                    None => {
                        conn.execute("INSERT INTO meta(key, value) VALUES ('profile', ?1)", [profile])
                            .map_err(storage)?;
                    }
                }
                id
            }
            _ => {
                let id = new_id();
                let meta = [
                    ("format", FORMAT.to_string()),
                    ("journal_id", id.clone()),
                    ("city", city.to_owned()),
                    ("profile", profile.to_owned()),
                ];
                for (k, v) in meta {
                    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", params![k, v])
                        .map_err(storage)?;
                }
                id
            }
        };
        Ok(Store { conn, id, path: path.to_owned(), gate: WriteGate::default() })
    }

    /// Every event, in sequence order.
    pub fn read_events(&self) -> Result<Vec<(u64, Event)>, JournalError> {
        self.read_events_after(0)
    }

    /// Every event after `after`, in sequence order; they must follow it without a gap.
    pub fn read_events_after(&self, after: u64) -> Result<Vec<(u64, Event)>, JournalError> {
        let mut stmt =
            self.conn.prepare("SELECT seq, body FROM events WHERE seq > ?1 ORDER BY seq").map_err(storage)?;
        let rows =
            stmt.query_map([after as i64], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))).map_err(storage)?;
        let mut events = Vec::new();
        for (expect, row) in (after + 1..).zip(rows) {
            let (seq, body) = row.map_err(storage)?;
            let seq = seq as u64;
            if seq != expect {
                return Err(JournalError::Incompatible(format!("journal has a gap: event {expect} is missing")));
            }
            let event: Event = serde_json::from_str(&body)
                .map_err(|e| JournalError::Incompatible(format!("journal event {seq} cannot be read: {e}")))?;
            events.push((seq, event));
        }
        Ok(events)
    }

    /// The idempotency keys of commands applied at or after `since`, oldest first. A key
    /// rides on its command's last event, dated at most `backdated` before the key (a held
    /// report: [`MAX_BACKDATE_MS`](onegrid_protocol::validate::MAX_BACKDATE_MS) of the
    /// client's time, scaled by the server's clock), so only the rows of that span are read
    /// (index `events_keyed`), not the journal's every key.
    pub fn read_keys(&self, since: i64, backdated: i64) -> Result<Vec<KeyRecord>, JournalError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, key FROM events WHERE key IS NOT NULL AND at >= ?1 ORDER BY seq")
            .map_err(storage)?;
        let rows = stmt
            .query_map([since.saturating_sub(backdated.max(0))], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(storage)?;
        let mut keys = Vec::new();
        for row in rows {
            let (seq, key) = row.map_err(storage)?;
            let record: KeyRecord = serde_json::from_str(&key).map_err(|e| {
                JournalError::Incompatible(format!("the key of journal event {seq} cannot be read: {e}"))
            })?;
            if record.at >= since {
                keys.push(record);
            }
        }
        Ok(keys)
    }

    /// The newest checkpoint of the world, when there is one that reads and that the events
    /// reach; else `None` (with a warning for one that does not read), and the world is
    /// rebuilt from the first event, which the journal keeps.
    pub fn checkpoint(&self) -> Result<Option<Checkpoint>, JournalError> {
        let row: Option<(i64, String)> = self
            .conn
            .query_row("SELECT seq, body FROM checkpoints ORDER BY seq DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(storage)?;
        let Some((seq, body)) = row else { return Ok(None) };
        let last: Option<i64> =
            self.conn.query_row("SELECT MAX(seq) FROM events", [], |r| r.get(0)).map_err(storage)?;
        if last.unwrap_or(0) < seq {
            tracing::warn!(seq, "the journal's checkpoint is past its last event; rebuilding from the first event");
            return Ok(None);
        }
        match serde_json::from_str::<Checkpoint>(&body) {
            Ok(c) if c.seq == seq as u64 => Ok(Some(c)),
            Ok(c) => {
                tracing::warn!(
                    seq,
                    says = c.seq,
                    "the journal's checkpoint is mislabelled; rebuilding from the first event"
                );
                Ok(None)
            }
            Err(e) => {
                tracing::warn!(seq, "the journal's checkpoint cannot be read ({e}); rebuilding from the first event");
                Ok(None)
            }
        }
    }

    /// Writes a batch in one transaction.
    pub fn write(&mut self, batch: &[Job]) -> Result<(), JournalError> {
        let gate = self.gate.clone();
        let _held = gate.lock().unwrap_or_else(|e| e.into_inner());
        let tx = self.conn.transaction().map_err(storage)?;
        {
            let mut ev =
                tx.prepare_cached("INSERT INTO events(seq, at, body, key) VALUES (?1, ?2, ?3, ?4)").map_err(storage)?;
            let mut tr =
                tx.prepare_cached("INSERT INTO tracks(unit, at, lon, lat) VALUES (?1, ?2, ?3, ?4)").map_err(storage)?;
            let mut ar = tx
                .prepare_cached("INSERT OR REPLACE INTO archive(id, closed_at, body) VALUES (?1, ?2, ?3)")
                .map_err(storage)?;
            for job in batch {
                match job {
                    Job::Events { first_seq, events, key, archive, .. } => {
                        // The command's key rides on its last event's row.
                        let key = key.as_deref().map(json).transpose()?;
                        for (i, e) in events.iter().enumerate() {
                            let body = json(e)?;
                            let key = if i + 1 == events.len() { key.as_deref() } else { None };
                            ev.execute(params![(first_seq + i as u64) as i64, e.at(), body, key]).map_err(storage)?;
                        }
                        for inc in archive {
                            let closed_at = inc.closed_at().unwrap_or(inc.reported_at);
                            ar.execute(params![inc.id as i64, closed_at, json(inc)?]).map_err(storage)?;
                        }
                    }
                    Job::Checkpoint { seq, at, body, .. } => {
                        // Only the newest is kept: the events before it stay in the journal.
                        tx.execute(
                            "INSERT OR REPLACE INTO checkpoints(seq, at, body) VALUES (?1, ?2, ?3)",
                            params![*seq as i64, at, body],
                        )
                        .map_err(storage)?;
                        tx.execute("DELETE FROM checkpoints WHERE seq < ?1", [*seq as i64]).map_err(storage)?;
                    }
                    Job::Track { points, .. } => {
                        for p in points {
                            tr.execute(params![p.unit, p.at, p.lon, p.lat]).map_err(storage)?;
                        }
                    }
                }
            }
        }
        tx.commit().map_err(storage)
    }

    /// A unit's track since `since`, oldest first.
    pub fn track(&self, unit: u32, since: i64) -> Result<Vec<TrackPoint>, JournalError> {
        let mut stmt = self
            .conn
            .prepare("SELECT at, lon, lat FROM tracks WHERE unit = ?1 AND at >= ?2 ORDER BY at")
            .map_err(storage)?;
        let rows = stmt
            .query_map(params![unit, since], |r| Ok(TrackPoint { unit, at: r.get(0)?, lon: r.get(1)?, lat: r.get(2)? }))
            .map_err(storage)?;
        rows.collect::<Result<_, _>>().map_err(storage)
    }

    /// Every track point since `since`, by unit and time: what a restarted server seeds its
    /// positions and recent tracks from.
    pub fn tracks_since(&self, since: i64) -> Result<Vec<TrackPoint>, JournalError> {
        let mut stmt = self
            .conn
            .prepare("SELECT unit, at, lon, lat FROM tracks WHERE at >= ?1 ORDER BY unit, at")
            .map_err(storage)?;
        let rows = stmt
            .query_map(params![since], |r| {
                Ok(TrackPoint { unit: r.get(0)?, at: r.get(1)?, lon: r.get(2)?, lat: r.get(3)? })
            })
            .map_err(storage)?;
        rows.collect::<Result<_, _>>().map_err(storage)
    }

    /// The time of the newest track point.
    pub fn last_track_time(&self) -> Result<Option<i64>, JournalError> {
        self.conn.query_row("SELECT MAX(at) FROM tracks", [], |r| r.get::<_, Option<i64>>(0)).map_err(storage)
    }

    /// Points in the track table.
    pub fn track_len(&self) -> Result<u64, JournalError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM tracks", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(storage)
    }
}

/// Reads incidents back from the journal's archive, on a connection of its own (the
/// journal thread's is busy writing; in WAL mode a reader sees every committed transaction
/// and blocks no writer).
pub struct Archive {
    conn: std::sync::Mutex<Connection>,
}

impl Archive {
    /// Opens the archive of the journal at `path` (which [`Store::open`] has created).
    pub fn open(path: &Path) -> Result<Archive, JournalError> {
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| JournalError::Storage(format!("{}: {e}", path.display())))?;
        Ok(Archive { conn: std::sync::Mutex::new(conn) })
    }

    /// Archived incident `id`, as it was when archived.
    pub fn get(&self, id: onegrid_protocol::IncidentId) -> Result<Option<onegrid_protocol::Incident>, JournalError> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let body: Option<String> = conn
            .query_row("SELECT body FROM archive WHERE id = ?1", [id as i64], |r| r.get(0))
            .optional()
            .map_err(storage)?;
        body.map(|b| {
            serde_json::from_str(&b)
                .map_err(|e| JournalError::Storage(format!("archived incident {id} cannot be read: {e}")))
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::Event;
    use onegrid_protocol::UnitStatus;
    use tokio::sync::oneshot;

    fn status(unit: u32, at: i64) -> Event {
        Event::UnitStatus { unit, status: UnitStatus::OffDuty, at }
    }

    fn events_job(first_seq: u64, events: Vec<Event>) -> Job {
        Job::Events { first_seq, events, key: None, archive: vec![], done: oneshot::channel().0 }
    }

    #[test]
    fn track_points_past_their_retention_are_dropped_oldest_first() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j.sqlite");
        let mut s = Store::open(&path, "350200000000", "siming").expect("open");
        const DAY: i64 = 86_400_000;
        // 40 days of points, one an hour for three units, in the order they arrived.
        let points: Vec<TrackPoint> = (0..40 * 24)
            .flat_map(|h| (1..=3).map(move |unit| TrackPoint { unit, at: h * DAY / 24, lon: 118.1, lat: 24.4 }))
            .collect();
        s.write(&[Job::Track { points: points.clone(), done: oneshot::channel().0 }]).expect("write");
        assert_eq!(prune_tracks(&s.conn, 50 * DAY).expect("prune"), 0, "nothing past 50 days");
        let dropped = prune_tracks(&s.conn, 31 * DAY).expect("prune");
        let newest = points.last().expect("points").at;
        let kept = points.iter().filter(|p| p.at >= newest - 31 * DAY).count();
        assert_eq!((dropped, s.track_len().expect("len") as usize), (points.len() - kept, kept));
        assert!(s.track(2, 0).expect("track").iter().all(|p| p.at >= newest - 31 * DAY));
        assert_eq!(prune_tracks(&s.conn, 31 * DAY).expect("again"), 0);

        // The checkpoint thread does it as the journal runs.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let ms = std::time::Duration::from_millis(2);
        let wal = (WAL_LIMIT_BYTES, s.gate.clone());
        checkpointer(&path, ms, std::time::Duration::from_millis((20 * DAY) as u64), wal, stop.clone());
        let t = std::time::Instant::now();
        let by20 = points.iter().filter(|p| p.at >= newest - 20 * DAY).count();
        while s.track_len().expect("len") as usize != by20 {
            assert!(t.elapsed() < std::time::Duration::from_secs(20), "pruned by the checkpoint thread");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    #[test]
    fn a_journal_that_never_pauses_keeps_its_wal_bounded() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j.sqlite");
        let wal = dir.path().join("j.sqlite-wal");
        let mut s = Store::open(&path, "c", "p").expect("open");
        s.conn.pragma_update(None, "wal_autocheckpoint", 0).expect("as the journal runs");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (every, keep) = (std::time::Duration::from_millis(5), std::time::Duration::from_secs(86_400));
        checkpointer(&path, every, keep, (4 << 20, s.gate.clone()), stop.clone());
        // 300 batches of 2,000 track points, one after another, as a journal that never
        // pauses writes them: over a gigabyte of WAL unbounded.
        let mut largest = 0;
        for b in 0..300i64 {
            let points = (0..2_000).map(|i| TrackPoint { unit: i, at: b, lon: 118.1, lat: 24.4 }).collect();
            s.write(&[Job::Track { points, done: oneshot::channel().0 }]).expect("write");
            largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(s.track_len().expect("len"), 600_000, "nothing lost");
        // Unbounded it passed 400 MB; here within a few batches of its 4 MB limit (the
        // writer may take the gate again before the checkpoint thread wakes).
        assert!(largest < 64 << 20, "the WAL stayed near its limit: at most {largest} bytes");
    }

    #[test]
    fn events_and_tracks_survive_reopening() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j.sqlite");
        let id = {
            let mut s = Store::open(&path, "350200000000", "siming").expect("open");
            s.write(&[events_job(1, vec![status(1, 10), status(2, 11)])]).expect("write");
            let point = TrackPoint { unit: 1, at: 5, lon: 118.1, lat: 24.4 };
            s.write(&[
                events_job(3, vec![status(3, 12)]),
                Job::Track { points: vec![point], done: oneshot::channel().0 },
            ])
            .expect("write");
            s.id.clone()
        };
        let s = Store::open(&path, "350200000000", "siming").expect("reopen");
        assert_eq!(s.id, id, "the journal keeps its id");
        let events = s.read_events().expect("read");
        assert_eq!(events.iter().map(|e| e.0).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(events[2].1, status(3, 12));
        assert_eq!(s.track(1, 0).expect("track").len(), 1);
        assert_eq!(s.track_len().expect("len"), 1);
    }

    #[test]
    fn keys_are_stored_with_their_events_and_read_back_within_the_retention() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j.sqlite");
        let key = |k: &str, at: i64, seq: u64| KeyRecord {
            user: "op".into(),
            key: k.into(),
            at,
            seq: Some(seq),
            incident: Some(seq * 10),
            digest: u64::MAX - seq,
        };
        {
            let mut s = Store::open(&path, "c", "p").expect("open");
            let keyed = |first_seq: u64, n: usize, k: KeyRecord| Job::Events {
                first_seq,
                events: vec![status(1, k.at); n],
                key: Some(Box::new(k)),
                archive: vec![],
                done: oneshot::channel().0,
            };
            // The second command made two events: its key rides on the last.
            s.write(&[keyed(1, 1, key("old", 1_000, 1)), keyed(2, 2, key("new", 90_000_000, 3))]).expect("write");
        }
        let s = Store::open(&path, "c", "p").expect("reopen");
        assert_eq!(s.read_keys(0, 0).expect("all"), vec![key("old", 1_000, 1), key("new", 90_000_000, 3)]);
        let keyed_rows: Vec<i64> = s
            .conn
            .prepare("SELECT seq FROM events WHERE key IS NOT NULL")
            .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
            .expect("rows");
        assert_eq!(keyed_rows, vec![1, 3]);
        let kept = s.read_keys(90_000_000 - onegrid_protocol::validate::KEY_RETENTION_MS, 0).expect("recent");
        assert_eq!(kept, vec![key("new", 90_000_000, 3)], "a key older than the retention is not read");
        assert_eq!(s.read_events().expect("events").len(), 3, "its event stays");
    }

    #[test]
    fn a_journal_from_before_keys_gains_the_column_and_keeps_its_events() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j.sqlite");
        {
            let conn = Connection::open(&path).expect("raw");
            conn.execute_batch(
                "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE events(seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, body TEXT NOT NULL);
                 INSERT INTO meta VALUES ('format', '1'), ('journal_id', 'old'), ('city', 'c');",
            )
            .expect("old schema");
            let body = serde_json::to_string(&status(4, 7)).expect("json");
            conn.execute("INSERT INTO events VALUES (1, 7, ?1)", [body]).expect("old event");
        }
        let mut s = Store::open(&path, "c", "p").expect("an old journal opens");
        assert_eq!(s.read_events().expect("events"), vec![(1, status(4, 7))]);
        assert!(s.read_keys(0, 0).expect("keys").is_empty());
        s.write(&[events_job(2, vec![status(4, 8)])]).expect("and takes new events");
        let format: String =
            s.conn.query_row("SELECT value FROM meta WHERE key = 'format'", [], |r| r.get(0)).expect("format");
        assert_eq!(format, "2", "format 1 gained the archive and checkpoints: a format-1 server refuses it now");
        assert!(s.checkpoint().expect("checkpoint").is_none());
        drop(s);
        assert_eq!(Store::open(&path, "c", "p").expect("again").read_events().expect("events").len(), 2);
    }

    fn closed(id: u64, at: i64) -> onegrid_protocol::Incident {
        use onegrid_protocol::{Incident, IncidentState, Level, Placement, Scale, Source, Step};
        let step = Step {
            action: "close".into(),
            state: IncidentState::Closed,
            by: "u".into(),
            at,
            origin: "o".into(),
            note: String::new(),
        };
        Incident {
            id,
            category: "0102".into(),
            location: geo_types::Point::new(118.1, 24.47),
            source: Source::Citizen,
            description: "旧".into(),
            attachments: vec![],
            severity: 1,
            scale: Scale::Individual,
            state: IncidentState::Closed,
            placement: Placement { cell: "c".into(), ..Default::default() },
            department: "d".into(),
            level: Level::Street,
            units: vec![],
            reported_at: at - 50,
            taken_at: None,
            deadline: None,
            overdue: false,
            overdue_count: 0,
            history: vec![step],
        }
    }

    #[test]
    fn archived_incidents_are_read_back_by_number_from_another_connection() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j.sqlite");
        let mut s = Store::open(&path, "c", "p").expect("open");
        let archive = Archive::open(&path).expect("reader");
        assert_eq!(archive.get(1).expect("read"), None);
        let (a, b) = (closed(1, 100), closed(2, 200));
        let event = Event::Archived { ids: vec![1, 2], at: 300 };
        s.write(&[Job::Events {
            first_seq: 1,
            events: vec![event.clone()],
            key: None,
            archive: vec![a.clone(), b.clone()],
            done: oneshot::channel().0,
        }])
        .expect("write");
        assert_eq!(archive.get(1).expect("read"), Some(a));
        assert_eq!(archive.get(2).expect("read"), Some(b));
        assert_eq!(archive.get(3).expect("read"), None);
        let closed_at: i64 =
            s.conn.query_row("SELECT closed_at FROM archive WHERE id = 2", [], |r| r.get(0)).expect("row");
        assert_eq!(closed_at, 200);
        assert_eq!(s.read_events().expect("events"), vec![(1, event)], "the event is journaled as any other");
        s.conn.execute("UPDATE archive SET body = '{' WHERE id = 1", []).expect("spoil");
        let err = archive.get(1).expect_err("spoilt").to_string();
        assert!(err.contains("archived incident 1 cannot be read"), "{err}");
    }

    #[test]
    fn the_newest_checkpoint_that_reads_is_used_and_the_events_after_it_read() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j.sqlite");
        let mut s = Store::open(&path, "c", "p").expect("open");
        s.write(&[events_job(1, (1..=5).map(|i| status(1, i)).collect())]).expect("events");
        let checkpoint = |seq: u64| Checkpoint { seq, next_id: 9, incidents: vec![closed(8, 1)], units: vec![] };
        let job = |c: &Checkpoint| Job::Checkpoint {
            seq: c.seq,
            at: 7,
            body: serde_json::to_string(c).expect("json"),
            done: oneshot::channel().0,
        };
        s.write(&[job(&checkpoint(2))]).expect("first");
        s.write(&[job(&checkpoint(4))]).expect("second");
        let kept: i64 = s.conn.query_row("SELECT COUNT(*) FROM checkpoints", [], |r| r.get(0)).expect("count");
        assert_eq!(kept, 1, "only the newest is kept");
        assert_eq!(s.checkpoint().expect("read"), Some(checkpoint(4)));
        assert_eq!(s.read_events_after(4).expect("after").iter().map(|e| e.0).collect::<Vec<_>>(), [5]);
        let (_, recovered) = super::super::Journal::open(&path, "c", "p", (0, 0)).expect("journal");
        assert_eq!(recovered.checkpoint, Some(checkpoint(4)));
        assert_eq!(recovered.events.len(), 1, "only what follows the checkpoint is replayed");

        // One that does not read, or claims more than the journal holds, is passed over for
        // the events from the first.
        s.conn.execute("UPDATE checkpoints SET body = 'not json'", []).expect("spoil");
        assert_eq!(s.checkpoint().expect("read"), None);
        s.write(&[job(&checkpoint(6))]).expect("ahead");
        assert_eq!(s.checkpoint().expect("read"), None, "past the last event");
        let (_, recovered) = super::super::Journal::open(&path, "c", "p", (0, 0)).expect("journal");
        assert_eq!((recovered.checkpoint, recovered.events.len()), (None, 5));
        // A gap after the checkpoint is reported as any other.
        s.write(&[job(&checkpoint(4))]).expect("back");
        s.conn.execute("DELETE FROM events WHERE seq = 5", []).expect("gap");
        s.write(&[events_job(6, vec![status(1, 6)])]).expect("after the gap");
        let err = s.read_events_after(4).expect_err("gap").to_string();
        assert!(err.contains("event 5 is missing"), "{err}");
    }

    #[test]
    fn keys_are_read_from_the_rows_of_their_span_only() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j.sqlite");
        let mut s = Store::open(&path, "c", "p").expect("open");
        let record =
            |at: i64| KeyRecord { user: "op".into(), key: format!("k{at}"), at, seq: None, incident: None, digest: 1 };
        // A held report: its event dated 100 before its key.
        let job = |seq: u64, event_at: i64, key_at: i64| Job::Events {
            first_seq: seq,
            events: vec![status(1, event_at)],
            key: Some(Box::new(record(key_at))),
            archive: vec![],
            done: oneshot::channel().0,
        };
        s.write(&[job(1, 900, 1_000), job(2, 1_900, 2_000)]).expect("write");
        let keys = |since, margin| s.read_keys(since, margin).expect("keys").iter().map(|k| k.at).collect::<Vec<_>>();
        assert_eq!(keys(1_000, 100), [1_000, 2_000]);
        assert_eq!(keys(1_000, 0), [2_000], "without the margin the held report's key is missed");
        assert_eq!(keys(1_001, 1_000), [2_000], "by the key's own time");
    }

    #[test]
    fn a_journal_of_another_city_or_format_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j.sqlite");
        drop(Store::open(&path, "350200000000", "siming").expect("open"));
        let err = Store::open(&path, "110100000000", "siming").err().expect("refused").to_string();
        assert!(err.contains("journal of city 350200000000"), "{err}");
        let conn = Connection::open(&path).expect("raw");
        conn.execute("UPDATE meta SET value = '9' WHERE key = 'format'", []).expect("edit");
        drop(conn);
        let err = Store::open(&path, "350200000000", "siming").err().expect("refused").to_string();
        assert!(err.contains("journal format 9"), "{err}");
    }

    #[test]
    fn a_journal_of_another_map_of_the_city_is_refused_and_an_older_one_adopted() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j.sqlite");
        drop(Store::open(&path, "350200000000", "siming").expect("open"));
        let err = Store::open(&path, "350200000000", "city").err().expect("refused").to_string();
        assert!(err.contains("journal of the `siming` map of city 350200000000, but the map is `city`"), "{err}");
        drop(Store::open(&path, "350200000000", "siming").expect("its own map"));
        // A journal from before profiles were recorded takes the map it is opened with.
        let conn = Connection::open(&path).expect("raw");
        conn.execute("DELETE FROM meta WHERE key = 'profile'", []).expect("edit");
        drop(conn);
        drop(Store::open(&path, "350200000000", "island").expect("adopted"));
        assert!(Store::open(&path, "350200000000", "siming").is_err(), "now it is the island's");
    }

    #[test]
    fn a_gap_or_an_unreadable_event_is_reported_not_skipped() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j.sqlite");
        let mut s = Store::open(&path, "c", "p").expect("open");
        s.write(&[events_job(1, vec![status(1, 1)]), events_job(3, vec![status(1, 2)])]).expect("write");
        let err = s.read_events().expect_err("gap").to_string();
        assert!(err.contains("event 2 is missing"), "{err}");
        s.conn.execute("DELETE FROM events WHERE seq = 3", []).expect("delete");
        s.conn.execute("INSERT INTO events(seq, at, body) VALUES (2, 0, '{\"e\":\"nonsense\"}')", []).expect("insert");
        let err = s.read_events().expect_err("unreadable").to_string();
        assert!(err.contains("journal event 2 cannot be read"), "{err}");
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j.sqlite");
        std::fs::write(&path, b"this is not a database, it is a text file long enough to have a header")
            .expect("write");
        let err = Store::open(&path, "c", "p").err().expect("refused").to_string();
        assert!(err.contains("j.sqlite"), "{err}");
    }
}
