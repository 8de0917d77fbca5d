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
