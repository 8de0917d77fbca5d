//! Every path of the closed loop through a real server: routing on report, each legal
//! step, the recorded history, unit status following the task, and illegal steps refused
//! with a reason while nothing changes.

use onegrid_e2e::*;
use onegrid_protocol::{
    Act, Change, Command, Dispatch, ErrorCode, Incident, IncidentState, Layer, Level, ServerMsg, UnitStatus,
};

#[tokio::test]
async fn a_report_is_located_and_routed_then_closes_the_loop() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut desk = server.client("dev-city").await?;
    desk.subscribe(&[Layer::Incidents, Layer::Personnel]).await?;
    let at = server.point_in_street(XIAGANG, 40);
    let id = desk.report("0301", at).await?;
    let inc = desk.incident_event(id, "reported").await?;
    assert_eq!(inc.state, IncidentState::Reported);
    assert_eq!(inc.placement.street, XIAGANG);
    assert_eq!(inc.placement.street_name, "厦港街道");
    assert_eq!(inc.placement.district_name, "思明区");
    assert!(inc.placement.cell.starts_with("350203"), "{}", inc.placement.cell);
    assert!(!inc.placement.community.is_empty() && !inc.placement.responsibility_unit.is_empty());
    let worker = inc.placement.grid_worker.expect("every cell has a grid worker");
    assert_eq!(inc.department, "区市政园林局");
    assert_eq!(inc.deadline, Some(T0 + 30 * 60_000), "accept limit of 0301 is 30 minutes");

    desk.ok(Command::Accept(act(id, "受理"))).await?;
    desk.ok(Command::Dispatch(Dispatch { incident: id, units: vec![worker], note: "请处置".into() })).await?;
    let unit_change = desk
        .wait_for(|m| match m {
            ServerMsg::Delta { changes, .. } => changes.iter().find_map(|c| match c {
                Change::Unit { unit } if unit.id == worker => Some((**unit).clone()),
                _ => None,
            }),
            _ => None,
        })
        .await?;
    assert_eq!(unit_change.status, UnitStatus::EnRoute);
    assert_eq!(unit_change.task, Some(id));

    // The grid worker acts from the field with their own token.
    let mut field = server.client(&format!("dev-unit-{worker}")).await?;
    field.ok(Command::Start(act(id, "已到场"))).await?;
    field.ok(Command::Feedback(act(id, "已修复"))).await?;
    desk.ok(Command::Verify(act(id, "核查通过"))).await?;
    let (_, _) = desk.ok(Command::Close(act(id, "结案"))).await?;
    let closed = desk.incident_event(id, "close").await?;
    assert_eq!(closed.state, IncidentState::Closed);
    assert_eq!(closed.deadline, None);
    let actions: Vec<&str> = closed.history.iter().map(|s| s.action.as_str()).collect();
    assert_eq!(actions, ["report", "accept", "dispatch", "start", "feedback", "verify", "close"]);
    let start = &closed.history[3];
    assert_eq!(start.by, format!("unit-{worker}"));
    assert_eq!(start.note, "已到场");
    assert!(start.origin.starts_with("127.0.0.1:"), "{}", start.origin);
    assert_eq!(start.at, T0);
    let freed = desk
        .wait_for(|m| match m {
            ServerMsg::Delta { changes, .. } => changes.iter().find_map(|c| match c {
                Change::Unit { unit } if unit.id == worker && unit.status == UnitStatus::Available => Some(()),
                _ => None,
            }),
            _ => None,
        })
        .await;
    assert!(freed.is_ok(), "feedback frees the unit");
    server.running.shutdown().await;
    Ok(())
}

/// More units sent to a matter already dispatched, and again once it is in hand (增派):
/// they go on their way while the others keep what they are doing, the stage's clock runs
/// on, and a reinforcement arriving puts itself on the scene.
#[tokio::test]
async fn more_units_are_sent_to_a_matter_already_dispatched_or_in_hand() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut desk = server.client("dev-city").await?;
    desk.subscribe(&[Layer::Incidents, Layer::Personnel]).await?;
    let id = desk.report("0301", server.point_in_street(XIAGANG, 40)).await?;
    desk.ok(Command::Accept(act(id, ""))).await?;
    desk.ok(Command::Dispatch(Dispatch { incident: id, units: vec![5001], note: String::new() })).await?;
    let first = desk.incident_event(id, "dispatch").await?;
    server.clock.advance(5 * 60_000);
    desk.ok(Command::Dispatch(Dispatch { incident: id, units: vec![5002], note: "增派".into() })).await?;
    let more = desk.incident_event(id, "dispatch").await?;
    assert_eq!((more.state, more.units.clone()), (IncidentState::Dispatched, vec![5001, 5002]));
    assert_eq!(more.deadline, first.deadline, "the arrival's clock runs on from the first dispatch");
    // A unit already on it, or one busy elsewhere, is refused.
    let refused =
        desk.command(Command::Dispatch(Dispatch { incident: id, units: vec![5001], note: String::new() })).await?;
    assert!(matches!(refused, ServerMsg::Error { code: ErrorCode::Invalid, .. }), "{refused:?}");

    // The first arrives: the handling starts, with 5001 on the scene; 5002 is still on its way.
    server.client("dev-unit-5001").await?.ok(Command::Start(act(id, "已到场"))).await?;
    let (started, moved) = step_changes(&mut desk, id, "start").await?;
    assert_eq!((started.state, moved), (IncidentState::InProgress, vec![(5001, UnitStatus::OnScene)]));
    server.clock.advance(5 * 60_000);
    desk.ok(Command::Dispatch(Dispatch { incident: id, units: vec![5003, 5004], note: "再增派".into() })).await?;
    let in_hand = desk.incident_event(id, "dispatch").await?;
    assert_eq!((in_hand.state, in_hand.units.len()), (IncidentState::InProgress, 4));
    assert_eq!(in_hand.deadline, started.deadline, "the handling's clock runs on");
    // 5003 arrives: on the scene itself; 5004 is still on its way.
    server.client("dev-unit-5003").await?.ok(Command::Start(act(id, "增援到场"))).await?;
    let (arrived, moved) = step_changes(&mut desk, id, "start").await?;
    assert_eq!((arrived.state, arrived.deadline), (IncidentState::InProgress, started.deadline));
    assert_eq!(moved, [(5003, UnitStatus::OnScene)], "5004, still on its way, is not put on the scene");
    let actions: Vec<&str> = arrived.history.iter().map(|s| s.action.as_str()).collect();
    assert_eq!(actions, ["report", "accept", "dispatch", "dispatch", "start", "dispatch", "start"]);
    // The history names whom each dispatch sent (only the new ones) and each start put on the scene.
    let units: Vec<Vec<u32>> = arrived.history.iter().map(|s| s.units.clone()).collect();
    let none = Vec::new();
    assert_eq!(units, [none.clone(), none, vec![5001], vec![5002], vec![5001], vec![5003, 5004], vec![5003]]);
    server.running.shutdown().await;
    Ok(())
}

/// The incident and the units' new statuses in the delta that carries `id`'s `event`.
async fn step_changes(desk: &mut Client, id: u64, event: &str) -> anyhow::Result<(Incident, Vec<(u32, UnitStatus)>)> {
    let changes = desk
        .wait_for(|m| match m {
            ServerMsg::Delta { changes, .. }
                if changes.iter().any(
                    |c| matches!(c, Change::Incident { event: e, incident } if incident.id == id && e == event),
                ) =>
            {
                Some(changes.clone())
            }
            _ => None,
        })
        .await?;
    let incident = changes.iter().find_map(|c| match c {
        Change::Incident { incident, .. } => Some((**incident).clone()),
        _ => None,
    });
    let units = changes
        .iter()
        .filter_map(|c| match c {
            Change::Unit { unit } => Some((unit.id, unit.status)),
            _ => None,
        })
        .collect();
    Ok((incident.expect("the incident"), units))
}

/// A dispatcher records each unit's arrival for it (told by radio or telephone): the unit
/// named alone goes on the scene; on a matter in hand the unit must be named; a unit on the
/// scene already, one not sent, or another's unit named from the field is refused.
#[tokio::test]
async fn a_dispatcher_records_each_units_arrival() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut desk = server.client("dev-city").await?;
    desk.subscribe(&[Layer::Incidents, Layer::Personnel]).await?;
    let id = desk.report("0301", server.point_in_street(XIAGANG, 40)).await?;
    desk.ok(Command::Accept(act(id, ""))).await?;
    let arrive = |unit: u32| Command::Start(Act { unit: Some(unit), ..act(id, "电话确认到场") });
    let refused = |m: &ServerMsg, want: ErrorCode, words: &str| match m {
        ServerMsg::Error { code, message, .. } => *code == want && message.contains(words),
        _ => false,
    };
    // Nobody is on the way to a matter not yet dispatched: the step itself is what is wrong.
    let m = desk.command(arrive(5001)).await?;
    assert!(refused(&m, ErrorCode::IllegalTransition, "start"), "{m:?}");
    desk.ok(Command::Dispatch(Dispatch { incident: id, units: vec![5001, 5002], note: String::new() })).await?;

    desk.ok(arrive(5002)).await?;
    let (started, moved) = step_changes(&mut desk, id, "start").await?;
    assert_eq!(started.state, IncidentState::InProgress);
    assert_eq!(moved, [(5002, UnitStatus::OnScene)], "5001, still on its way, is not put on the scene");
    let step = started.history.last().expect("the start");
    assert_eq!(
        (step.by.as_str(), step.units.clone(), step.note.as_str()),
        ("city-dispatcher", vec![5002], "电话确认到场")
    );

    // Which unit came must be said on a matter in hand.
    let m = desk.command(Command::Start(act(id, ""))).await?;
    assert!(refused(&m, ErrorCode::Invalid, "name the unit"), "{m:?}");
    let m = desk.command(arrive(5002)).await?;
    assert!(refused(&m, ErrorCode::IllegalTransition, "on the scene"), "{m:?}");
    let m = desk.command(arrive(5003)).await?;
    assert!(refused(&m, ErrorCode::Invalid, "not on its way"), "{m:?}");
    // A unit may say it came itself, not that another did.
    let m = server.client("dev-unit-5002").await?.command(arrive(5001)).await?;
    assert!(refused(&m, ErrorCode::Forbidden, "act for unit 5001"), "{m:?}");
    // Only a start names a unit.
    let m = desk.command(Command::Feedback(Act { unit: Some(5001), ..act(id, "") })).await?;
    assert!(refused(&m, ErrorCode::Invalid, "only start"), "{m:?}");

    desk.ok(arrive(5001)).await?;
    let (both, moved) = step_changes(&mut desk, id, "start").await?;
    assert_eq!((both.state, both.deadline), (IncidentState::InProgress, started.deadline), "the clock runs on");
    assert_eq!(both.history.last().map(|s| s.units.clone()), Some(vec![5001]));
    assert_eq!(moved, [(5001, UnitStatus::OnScene)]);

    // A desk's start naming nobody, on a matter just sent to, puts every unit on the scene.
    let other = desk.report("0301", server.point_in_street(XIAGANG, 41)).await?;
    desk.ok(Command::Accept(act(other, ""))).await?;
    desk.ok(Command::Dispatch(Dispatch { incident: other, units: vec![5003, 5004], note: String::new() })).await?;
    desk.ok(Command::Start(act(other, ""))).await?;
    let (all, moved) = step_changes(&mut desk, other, "start").await?;
    assert_eq!(all.history.last().map(|s| s.units.clone()), Some(vec![5003, 5004]));
    assert_eq!(moved, [(5003, UnitStatus::OnScene), (5004, UnitStatus::OnScene)]);
    server.running.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn returned_reopened_and_escalated_paths() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut desk = server.client("dev-city").await?;
    let at = server.point_in_street(JIALIAN, 10);

    // Rejected at intake, then dismissed.
    let a = desk.report("0102", at).await?;
    desk.ok(Command::Return(act(a, "非本辖区事项"))).await?;
    desk.ok(Command::Close(act(a, "不予受理"))).await?;

    // Failed verification goes back and is dispatched again; closed, then reopened.
    let b = desk.report("0102", at).await?;
    desk.ok(Command::Accept(act(b, ""))).await?;
    desk.ok(Command::Dispatch(Dispatch { incident: b, units: vec![5001], note: String::new() })).await?;
    desk.ok(Command::Start(act(b, ""))).await?;
    desk.ok(Command::Feedback(act(b, ""))).await?;
    desk.ok(Command::Return(act(b, "核查未通过"))).await?;
    desk.ok(Command::Dispatch(Dispatch { incident: b, units: vec![5001], note: String::new() })).await?;
    desk.ok(Command::Start(act(b, ""))).await?;
    desk.ok(Command::Feedback(act(b, ""))).await?;
    desk.ok(Command::Verify(act(b, ""))).await?;
    desk.ok(Command::Close(act(b, ""))).await?;
    desk.ok(Command::Reopen(act(b, "群众反映问题复发"))).await?;

    // Escalation (吹哨) raises the handling level; the district accepts it.
    let c = desk.report("0303", at).await?; // a community-level matter
    desk.ok(Command::Accept(act(c, ""))).await?;
    desk.ok(Command::Escalate(act(c, "社区无法解决，吹哨报到"))).await?;
    let mut street = server.client(&format!("dev-{JIALIAN}")).await?;
    street.ok(Command::Accept(act(c, "街道受理"))).await?;
    street.ok(Command::Escalate(act(c, "街道吹哨，区级部门报到"))).await?;
    let refused = street.command(Command::Accept(act(c, ""))).await?;
    assert!(
        matches!(refused, ServerMsg::Error { code: ErrorCode::Forbidden, .. }),
        "a street centre cannot take a matter escalated above it: {refused:?}"
    );
    let mut district = server.client(&format!("dev-{SIMING}")).await?;
    district.ok(Command::Accept(act(c, "区城管局报到"))).await?;

    let snap = desk.subscribe(&[Layer::Incidents]).await?;
    let ServerMsg::Snapshot { incidents, .. } = snap else { unreachable!() };
    let get = |id| incidents.iter().find(|i| i.id == id).expect("in snapshot");
    assert_eq!(get(a).state, IncidentState::Closed);
    assert_eq!(get(b).state, IncidentState::Reopened);
    assert_eq!(get(c).state, IncidentState::Accepted);
    assert_eq!(get(c).level, Level::District);
    assert_eq!(get(c).history.iter().filter(|s| s.action == "escalate").count(), 2);
    server.running.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn illegal_and_forbidden_commands_are_refused_and_change_nothing() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut desk = server.client("dev-city").await?;
    let at = server.point_in_street(XIAGANG, 3);
    let id = desk.report("0301", at).await?;
    let before = server.running.engine.with_published(|p| p.world.seq);

    let cases = [
        (Command::Close(act(id, "")), ErrorCode::IllegalTransition, "cannot close an incident that is reported"),
        (Command::Start(act(id, "")), ErrorCode::IllegalTransition, "cannot start an incident that is reported"),
        (Command::Accept(act(9_999, "")), ErrorCode::NotFound, "no incident 9999"),
        (
            Command::Dispatch(Dispatch { incident: id, units: vec![424_242], note: String::new() }),
            ErrorCode::NotFound,
            "no unit 424242",
        ),
    ];
    for (cmd, code, message) in cases {
        match desk.command(cmd).await? {
            ServerMsg::Error { code: c, message: m, .. } => {
                assert_eq!(c, code);
                assert!(m.contains(message), "{m}");
            }
            other => panic!("expected refusal, got {other:?}"),
        }
    }
    // Roles: the wall may report but not accept; a sensor may not dispatch.
    let mut wall = server.client("dev-wall").await?;
    let r = wall.command(Command::Accept(act(id, ""))).await?;
    assert!(matches!(r, ServerMsg::Error { code: ErrorCode::Forbidden, .. }), "{r:?}");
    // A grid worker not sent to the incident cannot start it.
    let mut worker = server.client("dev-unit-1").await?;
    let r = worker.command(Command::Start(act(id, ""))).await?;
    assert!(matches!(r, ServerMsg::Error { .. }), "{r:?}");

    let after = server.running.engine.with_published(|p| p.world.seq);
    assert_eq!(before, after, "refused commands wrote nothing");
    server.running.shutdown().await;
    Ok(())
}
