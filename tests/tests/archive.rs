//! The server's world stays bounded over time: incidents closed a week ago leave it for the
//! journal's archive, from which they are still given by number, and a restart starts from
//! a checkpoint of the world instead of replaying every event.

use onegrid_e2e::{Client, JIALIAN, T0, TestServer, act, map_dir};
use onegrid_protocol::{Command, ErrorCode, IncidentState, LIVE_AFTER_CLOSE_MS, Query, QueryResult};
use onegrid_server::{Config, clock::Clock};

const DAY: i64 = 86_400_000;

async fn by_number(c: &mut Client, id: u64) -> anyhow::Result<onegrid_protocol::Incident> {
    match c.query(Query::Incident { id }).await? {
        Ok(QueryResult::Incident { incident }) => Ok(*incident),
        other => anyhow::bail!("incident {id} by number: {other:?}"),
    }
}

/// Reports an incident and closes it (returned, then closed without handling).
async fn closed_one(desk: &mut Client, at: geo_types::Point) -> anyhow::Result<u64> {
    let id = desk.report("0102", at).await?;
    desk.ok(Command::Return(act(id, "非本辖区事项"))).await?;
    desk.ok(Command::Close(act(id, "不予受理"))).await?;
    Ok(id)
}

#[tokio::test]
async fn an_incident_closed_a_week_ago_is_archived_given_by_number_and_kept_across_restarts() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let engine = server.running.engine.clone();
    let mut desk = server.client("dev-city").await?;
    let at = server.point_in_street(JIALIAN, 5);
    let old = closed_one(&mut desk, at).await?;
    let open = desk.report("0102", at).await?;
    let as_closed = by_number(&mut desk, old).await?;

    // A day on it leaves the live picture, but the server keeps it until a week has passed.
    server.clock.advance(LIVE_AFTER_CLOSE_MS);
    assert_eq!(engine.archive_closed().await.map_err(|r| anyhow::anyhow!(r.message))?, 0, "a day: kept");
    server.clock.advance(6 * DAY + 1);
    assert_eq!(engine.archive_closed().await.map_err(|r| anyhow::anyhow!(r.message))?, 1, "a week: archived");
    let held = |w: &onegrid_server::world::WorldState| w.incidents.keys().copied().collect::<Vec<_>>();
    assert_eq!(engine.with_world(held), [open], "out of the world");
    assert_eq!(engine.with_published(|p| held(&p.world)), [open], "and out of the published one");

    // Still given by number, as it was; a number never given is still unknown.
    assert_eq!(by_number(&mut desk, old).await?, as_closed, "from the archive");
    assert!(by_number(&mut desk, open).await?.state.is_open(), "open: held");
    match desk.query(Query::Incident { id: 999 }).await? {
        Err((ErrorCode::NotFound, _)) => {}
        other => anyhow::bail!("no incident 999: {other:?}"),
    }
    // Reopening it is refused in words: a matter that came back is reported anew.
    match desk.command(Command::Reopen(act(old, "群众反映问题复发"))).await? {
        onegrid_protocol::ServerMsg::Error { code: ErrorCode::IllegalTransition, message, .. } => {
            assert!(message.contains("archived") && message.contains("anew"), "{message}");
        }
        other => anyhow::bail!("reopening an archived incident: {other:?}"),
    }

    // The newest incident archived: its number is not given again.
    let newest = closed_one(&mut desk, at).await?;
    server.clock.advance(8 * DAY);
    assert_eq!(engine.archive_closed().await.map_err(|r| anyhow::anyhow!(r.message))?, 1);
    assert!(newest > open && engine.with_world(held) == [open]);
    let next = desk.report("0102", at).await?;
    assert_eq!(next, newest + 1, "numbers go on from the highest ever given");
    drop(desk);

    // A restart keeps all of it; the checkpoint written at shutdown leaves nothing to replay.
    let TestServer { running, data, .. } = server;
    running.shutdown().await;
    let now = T0 + 16 * DAY;
    let start = |clock: Clock| {
        let mut config = Config::new(map_dir(), data.path());
        config.clock = clock;
        onegrid_server::start(config)
    };
    let running = start(Clock::manual(now)).await?;
    let world = |r: &onegrid_server::Running| r.engine.with_world(|w| (held(w), w.seq, w.next_incident_id()));
    let (ids, seq, next_id) = world(&running);
    assert_eq!((ids, next_id), (vec![open, next], next + 1));
    let mut desk = Client::login(&format!("ws://{}", running.addr), "dev-city").await?;
    assert_eq!(by_number(&mut desk, old).await?, as_closed, "from the archive after a restart");
    assert_eq!(by_number(&mut desk, newest).await?.state, IncidentState::Closed);
    let after = desk.report("0102", at).await?;
    assert_eq!(after, next + 1);
    drop(desk);
    // Killed without a checkpoint at the end (the server stopped by dropping it), a start
    // replays what followed the last one: the same world.
    // (The report, and the clock's overdue rules on the incidents left open meanwhile.)
    running.engine.with_world(|w| assert!(w.seq > seq, "events after the checkpoint"));
    let expect = world(&running);
    let engine = running.engine.clone();
    // Dropped, its tasks stop as in a crash: no checkpoint at the end.
    drop(running);
    while std::sync::Arc::strong_count(&engine) > 1 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    engine.shutdown_journal();
    let running = start(Clock::manual(now)).await?;
    assert_eq!(world(&running), expect, "the checkpoint and the event after it");

    // A checkpoint spoilt on disk is passed over: every event is replayed, to the same world.
    running.shutdown().await;
    let conn = rusqlite::Connection::open(data.path().join("journal.sqlite"))?;
    assert_eq!(conn.execute("UPDATE checkpoints SET body = '{\"seq\":'", [])?, 1);
    drop(conn);
    let running = start(Clock::manual(now)).await?;
    assert_eq!(world(&running), expect, "rebuilt from every event");
    running.shutdown().await;
    Ok(())
}

/// A checkpoint is written when enough events have passed since the last (what the
/// housekeeping task asks once a minute), or when asked for (at shutdown).
#[tokio::test]
async fn a_checkpoint_is_written_once_enough_events_passed() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.limits.checkpoint_every = 3).await?;
    let engine = server.running.engine.clone();
    let mut desk = server.client("dev-city").await?;
    let at = server.point_in_street(JIALIAN, 5);
    assert_eq!(engine.checkpoint(false).await.map_err(|r| anyhow::anyhow!(r.message))?, None, "nothing yet");
    desk.report("0102", at).await?;
    desk.report("0102", at).await?;
    assert_eq!(engine.checkpoint(false).await.map_err(|r| anyhow::anyhow!(r.message))?, None, "two events: not due");
    desk.report("0102", at).await?;
    assert_eq!(engine.checkpoint(false).await.map_err(|r| anyhow::anyhow!(r.message))?, Some(3), "three: due");
    assert_eq!(engine.checkpoint(false).await.map_err(|r| anyhow::anyhow!(r.message))?, None, "written");
    desk.report("0102", at).await?;
    assert_eq!(engine.checkpoint(true).await.map_err(|r| anyhow::anyhow!(r.message))?, Some(4), "asked for");
    server.running.shutdown().await;
    Ok(())
}
