//! Alarms acknowledged once for every desk: a serious matter, a whistle or an overdue
//! stage acknowledged at one desk is recorded in the incident's history and seen
//! acknowledged by every client; a second acknowledgement, one where no alarm stands, and
//! one by whom may not give it are refused; a later cause stands unacknowledged again; the
//! journal keeps the acknowledgement across a restart.

use onegrid_e2e::*;
use onegrid_protocol::{
    ACKNOWLEDGE_STEP, AlarmCause, Command, ErrorCode, IncidentState, Layer, OVERDUE_STEP, Query, QueryResult, ServerMsg,
};
use onegrid_server::{Config, clock::Clock};

fn acknowledge(incident: u64, note: &str) -> Command {
    Command::Acknowledge { incident, note: note.into() }
}

/// The refusal's code and message of a command that must be refused.
async fn refused(c: &mut Client, cmd: Command) -> anyhow::Result<(ErrorCode, String)> {
    match c.command(cmd.clone()).await? {
        ServerMsg::Error { code, message, .. } => Ok((code, message)),
        other => anyhow::bail!("{cmd:?} was taken: {other:?}"),
    }
}

#[tokio::test]
async fn an_alarm_acknowledged_at_one_desk_is_acknowledged_at_every_one() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let at = server.point_in_street(JIALIAN, 12);
    let mut a = server.client("dev-city").await?;
    let mut b = server.client(&format!("dev-{JIALIAN}")).await?;
    b.subscribe(&[Layer::Incidents]).await?;
    let Command::Report(mut r) = report("0301", at) else { unreachable!() };
    r.severity = 4;
    let (_, id) = a.ok(Command::Report(r.clone())).await?;
    let id = id.expect("incident");
    let new = b.incident_event(id, "reported").await?;
    assert_eq!(new.alarm_causes(), [AlarmCause::Serious]);
    assert!(new.alarm_unacknowledged());
    let summary = || onegrid_server::summary::line(&server.running.engine, 0.0);
    assert!(summary().contains("alarms unacknowledged 1 |"), "{}", summary());

    // Field staff, gateways and another street may not; the wall's operator may.
    let worker = server.running.engine.with_world(|w| {
        w.units.values().find(|u| u.home.street == JIALIAN).map(|u| u.id).expect("a unit of the street")
    });
    let mut field = server.client(&format!("dev-unit-{worker}")).await?;
    assert_eq!(refused(&mut field, acknowledge(id, "")).await?.0, ErrorCode::Forbidden);
    let mut sensor = server.client("dev-sensor").await?;
    assert_eq!(refused(&mut sensor, acknowledge(id, "")).await?.0, ErrorCode::Forbidden);
    let mut other = server.client(&format!("dev-{XIAGANG}")).await?;
    assert_eq!(refused(&mut other, acknowledge(id, "")).await?.0, ErrorCode::OutOfScope);

    let mut wall = server.client("dev-wall").await?;
    let (seq, said) = wall.ok(acknowledge(id, "已通知街道")).await?;
    assert!(seq.is_some(), "recorded in the journal");
    assert_eq!(said, Some(id));
    let seen = b.incident_event(id, ACKNOWLEDGE_STEP).await?;
    let step = seen.acknowledgement().expect("acknowledged");
    assert_eq!((step.by.as_str(), step.note.as_str(), step.state), ("wall", "已通知街道", IncidentState::Reported));
    assert_eq!(step.by_name, "大屏", "named for people to read");
    assert!(!seen.alarm_unacknowledged());
    assert_eq!((seen.state, seen.deadline, seen.overdue), (new.state, new.deadline, new.overdue), "nothing else moves");
    assert!(summary().contains("alarms unacknowledged 0 |"), "{}", summary());

    // Acknowledged already: the second desk is told by whom.
    let (code, message) = refused(&mut b, acknowledge(id, "")).await?;
    assert_eq!(code, ErrorCode::IllegalTransition);
    assert!(message.contains("by 大屏 (wall)"), "{message}");

    // Accepted: no alarm stands.
    a.ok(Command::Accept(act(id, ""))).await?;
    let (code, message) = refused(&mut a, acknowledge(id, "")).await?;
    assert_eq!(code, ErrorCode::IllegalTransition);
    assert!(message.contains("no alarm"), "{message}");

    // Handled and reported back, then late for verification: the clock's mark is in the
    // history, and the alarm it raises stands unacknowledged, the old acknowledgement
    // notwithstanding.
    let unit = server.running.engine.with_world(|w| {
        w.units
            .values()
            .find(|u| u.home.street == JIALIAN && u.status == onegrid_protocol::UnitStatus::Available)
            .map(|u| u.id)
            .expect("a free unit")
    });
    a.ok(Command::Dispatch(onegrid_protocol::Dispatch { incident: id, units: vec![unit], note: String::new() }))
        .await?;
    a.ok(Command::Start(act(id, ""))).await?;
    a.ok(Command::Feedback(act(id, ""))).await?;
    server.clock.advance(480 * 60_000 + 1); // the verify limit of 0301
    let late = b.incident_event(id, "overdue").await?;
    let mark = late.history.last().expect("a step");
    assert_eq!((mark.action.as_str(), mark.by.as_str(), mark.state), (OVERDUE_STEP, "system", IncidentState::Feedback));
    assert_eq!(mark.by_name, "规则引擎");
    assert_eq!(late.alarm_causes(), [AlarmCause::Overdue]);
    assert!(late.alarm_unacknowledged(), "raised after the first acknowledgement");
    b.ok(acknowledge(id, "")).await?;
    let seen = a.query(Query::Incident { id }).await?.map_err(|e| anyhow::anyhow!("{e:?}")).and_then(|r| match r {
        QueryResult::Incident { incident } => Ok(incident),
        other => anyhow::bail!("{other:?}"),
    })?;
    let by = seen.acknowledgement().map(|s| s.by.clone());
    assert_eq!(by.as_deref(), Some(format!("dispatcher-{JIALIAN}").as_str()));
    let steps: Vec<&str> = seen.history.iter().map(|s| s.action.as_str()).collect();
    assert_eq!(
        steps,
        ["report", ACKNOWLEDGE_STEP, "accept", "dispatch", "start", "feedback", OVERDUE_STEP, ACKNOWLEDGE_STEP]
    );
    drop((a, b, field, sensor, other, wall));

    // The journal keeps both, and a restarted server refuses a third.
    let TestServer { running, data, .. } = server;
    running.shutdown().await;
    let mut config = Config::new(map_dir(), data.path());
    config.clock = Clock::manual(T0 + 481 * 60_000);
    let running = onegrid_server::start(config).await?;
    let mut c = Client::login(&format!("ws://{}", running.addr), "dev-city").await?;
    let Ok(QueryResult::Incident { incident: again }) = c.query(Query::Incident { id }).await? else {
        panic!("the incident after a restart")
    };
    assert_eq!(again.history, seen.history, "read back from the journal");
    assert_eq!(refused(&mut c, acknowledge(id, "")).await?.0, ErrorCode::IllegalTransition);
    running.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn an_acknowledgement_sent_again_under_its_key_is_not_doubled() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut a = server.client("dev-city").await?;
    let Command::Report(mut r) = report("0301", server.point_in_street(XIAGANG, 3)) else { unreachable!() };
    r.severity = 3;
    let id = a.ok(Command::Report(r)).await?.1.expect("incident");
    let first = a.command_keyed(acknowledge(id, ""), Some("ack-1")).await?;
    let again = a.command_keyed(acknowledge(id, ""), Some("ack-1")).await?;
    match (first, again) {
        (ServerMsg::Ack { seq: s1, repeated: false, .. }, ServerMsg::Ack { seq: s2, repeated: true, .. }) => {
            assert_eq!(s1, s2, "the first time's seq");
        }
        other => panic!("acknowledged once, then as a repeat: {other:?}"),
    }
    let n = server
        .running
        .engine
        .with_world(|w| w.incidents[&id].history.iter().filter(|s| s.action == ACKNOWLEDGE_STEP).count());
    assert_eq!(n, 1);
    server.running.shutdown().await;
    Ok(())
}
