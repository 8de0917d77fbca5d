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

/// Past this size the journal's writer truncates the WAL itself before its next commit
/// ([`Store::write`]): the bound holds even when the checkpoint thread does not get its
/// turn (a starved machine), at the cost of that one commit's wait.
pub const WAL_BACKSTOP_BYTES: u64 = 2 * WAL_LIMIT_BYTES;

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
    /// The WAL size past which a write truncates it first ([`WAL_BACKSTOP_BYTES`]).
    pub wal_backstop: u64,
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
        Ok(Store { conn, id, path: path.to_owned(), gate: WriteGate::default(), wal_backstop: WAL_BACKSTOP_BYTES })
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

    /// Writes a batch in one transaction; first, where the WAL has grown past
    /// [`Store::wal_backstop`] (the checkpoint thread has not had its turn), copies it
    /// into the database and truncates it.
    pub fn write(&mut self, batch: &[Job]) -> Result<(), JournalError> {
        let gate = self.gate.clone();
        let _held = gate.lock().unwrap_or_else(|e| e.into_inner());
        let wal = format!("{}-wal", self.path.display());
        if std::fs::metadata(&wal).is_ok_and(|m| m.len() > self.wal_backstop) {
            tracing::debug!("the WAL passed its backstop; truncating it before the next commit");
            if let Err(e) = self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
                tracing::warn!("journal checkpoint before a commit failed: {e}");
            }
        }
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
mod tests;
