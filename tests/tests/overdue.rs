//! Stage deadlines against the injected clock: overdue the moment the limit passes, and
//! escalation (吹哨) by rule up to the district.

use onegrid_e2e::*;
use onegrid_protocol::{Command, IncidentState, Layer, Level};

#[tokio::test]
async fn an_unaccepted_matter_goes_overdue_and_is_escalated_by_rule() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut wall = server.client("dev-wall").await?;
    wall.subscribe(&[Layer::Incidents, Layer::Grid]).await?;
    let mut desk = server.client("dev-city").await?;
    // 0303 占道经营: community level, 15 minutes to accept.
    let id = desk.report("0303", server.point_in_street(JIALIAN, 30)).await?;
    let reported = wall.incident_event(id, "reported").await.map_err(|e| e.context("step 1"))?;
    assert_eq!(reported.level, Level::Community);

    server.clock.advance(14 * 60_000);
    server.clock.advance(59_999);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!server.running.engine.with_world(|w| w.incidents[&id].overdue), "not before the limit");

    server.clock.advance(1);
    let overdue = wall.incident_event(id, "overdue").await.map_err(|e| e.context("step 2"))?;
    assert!(overdue.overdue);
    assert_eq!(overdue.overdue_count, 1);
    let escalated = wall.incident_event(id, "escalate").await.map_err(|e| e.context("step 3"))?;
    assert_eq!(escalated.state, IncidentState::Escalated);
    assert_eq!(escalated.level, Level::Street);
    let step = escalated.history.last().expect("step");
    assert_eq!((step.by.as_str(), step.origin.as_str()), ("system", "server"));
    assert!(step.note.contains("受理"), "{}", step.note);
    assert_eq!(escalated.deadline, Some(T0 + 15 * 60_000 + 15 * 60_000));

    // Left again: up to the district, then only overdue warnings.
    server.clock.advance(15 * 60_000);
    let second = wall.incident_event(id, "escalate").await.map_err(|e| e.context("step 4"))?;
    assert_eq!(second.level, Level::District);
    server.clock.advance(15 * 60_000);
    let mut third = wall.incident_event(id, "overdue").await?;
    while third.overdue_count < 3 {
        third = wall.incident_event(id, "overdue").await.map_err(|e| e.context("step 5"))?;
    }
    assert_eq!(third.level, Level::District);
    assert_eq!(third.overdue_count, 3);
    assert_eq!(third.state, IncidentState::Escalated);

    // The district accepts: the overdue flag clears with the new stage.
    let mut district = server.client(&format!("dev-{SIMING}")).await?;
    district.ok(Command::Accept(act(id, "区级报到"))).await?;
    let accepted = wall.incident_event(id, "accept").await.map_err(|e| e.context("step 6"))?;
    assert!(!accepted.overdue);
    server.running.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_late_verification_warns_without_escalating() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut desk = server.client("dev-city").await?;
    desk.subscribe(&[Layer::Incidents]).await?;
    let id = desk.report("0301", server.point_in_street(XIAGANG, 30)).await?;
    desk.ok(Command::Accept(act(id, ""))).await?;
    desk.ok(Command::Dispatch(onegrid_protocol::Dispatch { incident: id, units: vec![5003], note: String::new() }))
        .await?;
    desk.ok(Command::Start(act(id, ""))).await?;
    desk.ok(Command::Feedback(act(id, ""))).await?;
    server.clock.advance(480 * 60_000 + 1); // verify limit of 0301
    let late = desk.incident_event(id, "overdue").await?;
    assert_eq!(late.state, IncidentState::Feedback);
    assert_eq!(late.level, Level::Street);
    server.running.shutdown().await;
    Ok(())
}

/// When the journal cannot take the overdue rules' events (here: it failed, because
/// another process held the database's write lock when it committed), the rules are tried
/// again after a pause, not at once: retrying at once spun a core and wrote thousands of
/// warnings a second, as a whole city's simulation at 1,000× did with the queue full.
#[tokio::test]
async fn overdue_rules_the_journal_cannot_take_are_tried_again_after_a_pause() -> anyhow::Result<()> {
    // A clock that runs (a manual one moves only when told, and the task then looks once a
    // second whatever happens): 400 times real time, so that the hour's limit to accept a
    // 0106 (物业纠纷) passes in 9 s, after the failed commit's 5 s of waiting for the lock.
    let server = TestServer::start_with(|c| c.clock = onegrid_server::clock::Clock::scaled(400.0)).await?;
    let engine = server.running.engine.clone();
    let mut desk = server.client("dev-city").await?;
    let lock = rusqlite::Connection::open(server.data.path().join("journal.sqlite"))?;
    lock.execute_batch("BEGIN IMMEDIATE")?;
    // Decided (so its limit runs in the server's world), but its commit fails.
    match desk.command(report("0106", server.point_in_street(JIALIAN, 31))).await? {
        onegrid_protocol::ServerMsg::Error { code: onegrid_protocol::ErrorCode::Internal, .. } => {}
        other => anyhow::bail!("a commit that cannot take the lock fails: {other:?}"),
    }
    lock.execute_batch("ROLLBACK")?;
    assert!(engine.next_deadline().is_some(), "its limit runs");

    // Past its limit, the rules cannot be applied while the journal is down, and are tried
    // again and again.
    let tries = || engine.overdue_postponed.load(std::sync::atomic::Ordering::Relaxed);
    let t = std::time::Instant::now();
    while tries() == 0 {
        assert!(t.elapsed() < std::time::Duration::from_secs(20), "the rules were tried");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (t, before) = (std::time::Instant::now(), tries());
    tokio::time::sleep(std::time::Duration::from_millis(1_000)).await;
    let n = tries() - before;
    assert!(n >= 1, "tried again");
    assert!(n < 20, "tried {n} times in {:?}: no pause", t.elapsed());
    Ok(())
}
