//! The SQLite side of the journal against real database files: schema, batches, reading
//! back, the archive, checkpoints, keys, pruning and the WAL's bound.

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
    // The writer's own backstop well above the checkpoint thread's limit, so that what
    // keeps the WAL near that limit is the thread.
    s.wal_backstop = 48 << 20;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (every, keep) = (std::time::Duration::from_millis(5), std::time::Duration::from_secs(86_400));
    checkpointer(&path, every, keep, (4 << 20, s.gate.clone()), stop.clone());
    // 300 batches of 2,000 track points, one after another, as a journal that never
    // pauses writes them: over a gigabyte of WAL unbounded.
    let (mut largest, mut before, mut by_thread) = (0, 0, 0);
    for b in 0..300i64 {
        let points = (0..2_000).map(|i| TrackPoint { unit: i, at: b, lon: 118.1, lat: 24.4 }).collect();
        s.write(&[Job::Track { points, done: oneshot::channel().0 }]).expect("write");
        let len = std::fs::metadata(&wal).map_or(0, |m| m.len());
        // Shrunk from below the backstop: the checkpoint thread truncated it.
        by_thread += usize::from(len < before && before <= s.wal_backstop);
        (largest, before) = (largest.max(len), len);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(s.track_len().expect("len"), 600_000, "nothing lost");
    assert!(by_thread > 0, "the checkpoint thread never truncated the WAL");
    // Unbounded it passed 400 MB; here within a few batches of its 4 MB limit, and on a
    // machine that starves the checkpoint thread, of the writer's backstop.
    assert!(largest < 64 << 20, "the WAL stayed near its limit: at most {largest} bytes");
}

#[test]
fn the_writer_bounds_the_wal_itself_when_the_checkpoint_thread_never_runs() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("j.sqlite");
    let wal = dir.path().join("j.sqlite-wal");
    let mut s = Store::open(&path, "c", "p").expect("open");
    s.wal_backstop = 8 << 20;
    // 100 batches of 2,000 track points with no checkpoint thread at all (a machine that
    // never gives it its turn): some 300 MB of WAL unbounded.
    // The largest the WAL was, and the most one batch added to it.
    let (mut largest, mut batch, mut before) = (0, 0, 0);
    for b in 0..100i64 {
        let points = (0..2_000).map(|i| TrackPoint { unit: i, at: b, lon: 118.1, lat: 24.4 }).collect();
        s.write(&[Job::Track { points, done: oneshot::channel().0 }]).expect("write");
        let len = std::fs::metadata(&wal).map_or(0, |m| m.len());
        batch = batch.max(len.saturating_sub(before));
        (largest, before) = (largest.max(len), len);
    }
    assert_eq!(s.track_len().expect("len"), 200_000, "nothing lost");
    // Its backstop and at most one batch beyond.
    assert!(largest <= (8 << 20) + batch, "past its backstop by more than a batch ({batch} bytes): {largest} bytes");
}

#[test]
fn events_and_tracks_survive_reopening() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("j.sqlite");
    let id = {
        let mut s = Store::open(&path, "350200000000", "siming").expect("open");
        s.write(&[events_job(1, vec![status(1, 10), status(2, 11)])]).expect("write");
        let point = TrackPoint { unit: 1, at: 5, lon: 118.1, lat: 24.4 };
        s.write(&[events_job(3, vec![status(3, 12)]), Job::Track { points: vec![point], done: oneshot::channel().0 }])
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
        by_name: String::new(),
        at,
        origin: "o".into(),
        note: String::new(),
        units: Vec::new(),
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
    let closed_at: i64 = s.conn.query_row("SELECT closed_at FROM archive WHERE id = 2", [], |r| r.get(0)).expect("row");
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
    std::fs::write(&path, b"this is not a database, it is a text file long enough to have a header").expect("write");
    let err = Store::open(&path, "c", "p").err().expect("refused").to_string();
    assert!(err.contains("j.sqlite"), "{err}");
}
