//! Headless bevy apps applying real protocol messages to entities.

use bevy::prelude::*;
use geo_types::Point;
use onegrid_protocol::{
    Camera, CellStatus, Change, Incident, IncidentId, IncidentState, Level, Placement, Scale, ServerMsg, Source, Step,
    Unit, UnitKind, UnitStatus,
};

use super::*;

pub(crate) fn incident(id: IncidentId, state: IncidentState) -> Incident {
    Incident {
        id,
        category: "0201".into(),
        location: Point::new(118.08, 24.45),
        source: Source::Citizen,
        description: "测试".into(),
        attachments: vec![],
        severity: 2,
        scale: Scale::Individual,
        state,
        placement: Placement {
            street_name: "鹭江街道".into(),
            community_name: "某社区".into(),
            ..Placement::default()
        },
        department: "消防".into(),
        level: Level::Community,
        units: vec![],
        reported_at: 0,
        taken_at: None,
        deadline: Some(60_000),
        overdue: false,
        overdue_count: 0,
        history: vec![Step {
            action: if state == IncidentState::Closed { "close".into() } else { "report".into() },
            state,
            by: "t".into(),
            by_name: String::new(),
            at: 0,
            origin: "server".into(),
            note: String::new(),
            units: Vec::new(),
        }],
    }
}

pub(crate) fn unit(id: UnitId, status: UnitStatus) -> Unit {
    Unit {
        id,
        name: format!("网格员{id}"),
        kind: UnitKind::GridWorker,
        skills: vec![],
        phone: "138".into(),
        home: Placement::default(),
        cells: vec![],
        status,
        task: None,
        position: Some(Point::new(118.08, 24.45)),
        heading_deg: 0.0,
        synthetic: true,
    }
}

pub(crate) fn camera(id: u32) -> Camera {
    Camera {
        id,
        name: format!("摄像机{id}"),
        position: Point::new(118.08, 24.45),
        heading_deg: 90.0,
        fov_deg: 60.0,
        range_m: 80.0,
        stream_url: String::new(),
        placement: Placement::default(),
        synthetic: true,
    }
}

pub(crate) fn snapshot(seq: u64, incidents: Vec<Incident>, units: Vec<Unit>) -> ServerMsg {
    ServerMsg::Snapshot {
        seq,
        journal: "j".into(),
        at: 1_000,
        incidents,
        units,
        cameras: vec![camera(1)],
        cells: vec![CellStatus { cell: "C1".into(), open: 1, overdue: 0 }],
    }
}

fn app() -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins).add_plugins(LivePlugin);
    app
}

pub(crate) fn send(app: &mut App, msg: ServerMsg) {
    app.world_mut().write_message(ServerEvent(msg));
    app.update();
}

fn count<C: Component>(app: &mut App) -> usize {
    app.world_mut().query::<&C>().iter(app.world()).count()
}

fn incident_state(app: &mut App, id: IncidentId) -> Option<IncidentState> {
    app.world_mut().query::<&IncidentC>().iter(app.world()).find(|c| c.0.id == id).map(|c| c.0.state)
}

#[test]
fn a_snapshot_spawns_one_entity_per_incident_unit_and_camera() {
    let mut app = app();
    let snap = snapshot(
        5,
        vec![incident(1, IncidentState::Reported), incident(2, IncidentState::Accepted)],
        vec![unit(7, UnitStatus::Available)],
    );
    send(&mut app, snap);
    assert_eq!(count::<IncidentC>(&mut app), 2);
    assert_eq!(count::<UnitC>(&mut app), 1);
    assert_eq!(count::<CameraC>(&mut app), 1);
    assert_eq!(app.world().resource::<Feed>().seq, 5);
    assert_eq!(app.world().resource::<CellTints>().0.len(), 1);
    assert_eq!(app.world().resource::<Figures>().open, 2);
}

#[test]
fn the_servers_clock_never_goes_back_for_a_shared_snapshot_but_starts_anew_with_another_journal() {
    let mut app = app();
    send(&mut app, snapshot(5, vec![], vec![]));
    send(&mut app, ServerMsg::Positions { at: 3_000, units: vec![], ahead: vec![], ahead_s: vec![], no_road: vec![] });
    // A snapshot built a moment before (shared with consoles that subscribed earlier).
    send(&mut app, snapshot(6, vec![], vec![]));
    assert_eq!(app.world().resource::<Feed>().server_now, 3_000);
    let mut other = snapshot(1, vec![], vec![]);
    if let ServerMsg::Snapshot { journal, .. } = &mut other {
        *journal = "another".into();
    }
    send(&mut app, other);
    assert_eq!(app.world().resource::<Feed>().server_now, 1_000, "another server's clock");
}

#[test]
fn incidents_closed_a_day_before_the_servers_clock_are_let_go_but_not_the_selected_one() {
    let mut app = app();
    let closed = |id| incident(id, IncidentState::Closed);
    let snap = snapshot(5, vec![closed(1), incident(2, IncidentState::Reported), closed(3)], vec![]);
    send(&mut app, snap);
    app.world_mut().resource_mut::<Selection>().incident = Some(3);
    assert_eq!(count::<IncidentC>(&mut app), 3, "closed at 0, a second before the snapshot");
    let at = |at| ServerMsg::Positions { at, units: vec![], ahead: vec![], ahead_s: vec![], no_road: vec![] };
    send(&mut app, at(onegrid_protocol::LIVE_AFTER_CLOSE_MS - 1));
    assert_eq!(count::<IncidentC>(&mut app), 3, "not yet a day");
    send(&mut app, at(onegrid_protocol::LIVE_AFTER_CLOSE_MS + 60_000));
    assert_eq!(incident_state(&mut app, 1), None, "a day on: let go");
    assert_eq!(incident_state(&mut app, 2), Some(IncidentState::Reported), "open: kept");
    assert_eq!(incident_state(&mut app, 3), Some(IncidentState::Closed), "selected: kept");
    assert!(!app.world().resource::<LiveIndex>().incidents.contains_key(&1));
    assert_eq!(app.world().resource::<Figures>().open, 1);
}

#[test]
fn deltas_update_in_place_and_new_incidents_flash_and_tick() {
    let mut app = app();
    send(&mut app, snapshot(5, vec![incident(1, IncidentState::Reported)], vec![]));
    let entity_before = app.world().resource::<LiveIndex>().incidents[&1];
    let changes = vec![
        Change::Incident { event: "accept".into(), incident: Box::new(incident(1, IncidentState::Accepted)) },
        Change::Incident { event: "reported".into(), incident: Box::new(incident(2, IncidentState::Reported)) },
        Change::Cell { status: CellStatus { cell: "C1".into(), open: 0, overdue: 0 } },
    ];
    send(&mut app, ServerMsg::Delta { seq: 6, at: 2_000, changes });
    assert_eq!(incident_state(&mut app, 1), Some(IncidentState::Accepted));
    assert_eq!(app.world().resource::<LiveIndex>().incidents[&1], entity_before, "same entity");
    assert_eq!(count::<IncidentC>(&mut app), 2);
    assert_eq!(count::<Fresh>(&mut app), 1, "only the new one flashes");
    let ticker = &app.world().resource::<Ticker>().lines;
    assert_eq!(ticker.len(), 1);
    assert_eq!(ticker[0].incident, 2);
    assert!(app.world().resource::<CellTints>().0.is_empty(), "a cell with nothing open is no longer tinted");
}

#[test]
fn a_replayed_delta_is_not_applied_twice() {
    let mut app = app();
    send(&mut app, snapshot(5, vec![], vec![]));
    let new =
        || Change::Incident { event: "reported".into(), incident: Box::new(incident(9, IncidentState::Reported)) };
    send(&mut app, ServerMsg::Delta { seq: 6, at: 0, changes: vec![new()] });
    // After a reconnect the server replays from the resume point: seq 6 again.
    send(&mut app, ServerMsg::Resumed { from: 5, seq: 6 });
    send(&mut app, ServerMsg::Delta { seq: 6, at: 0, changes: vec![new()] });
    assert_eq!(count::<IncidentC>(&mut app), 1);
    assert_eq!(app.world().resource::<Ticker>().lines.len(), 1, "no second ticker line");
}

#[test]
fn a_later_snapshot_reconciles_without_respawning() {
    let mut app = app();
    send(
        &mut app,
        snapshot(
            5,
            vec![incident(1, IncidentState::Reported), incident(2, IncidentState::Reported)],
            vec![unit(7, UnitStatus::Available), unit(8, UnitStatus::Available)],
        ),
    );
    let e1 = app.world().resource::<LiveIndex>().incidents[&1];
    let u7 = app.world().resource::<LiveIndex>().units[&7];
    send(
        &mut app,
        snapshot(
            9,
            vec![incident(1, IncidentState::Closed), incident(3, IncidentState::Reported)],
            vec![unit(7, UnitStatus::EnRoute)],
        ),
    );
    let idx = app.world().resource::<LiveIndex>();
    assert_eq!(idx.incidents[&1], e1, "kept, not respawned");
    assert_eq!(idx.units[&7], u7);
    assert!(!idx.incidents.contains_key(&2), "gone from the server, gone here");
    assert_eq!(count::<IncidentC>(&mut app), 2);
    assert_eq!(count::<UnitC>(&mut app), 1);
    assert_eq!(incident_state(&mut app, 1), Some(IncidentState::Closed));
}

#[test]
fn position_frames_move_known_units_and_ignore_unknown_ones() {
    let mut app = app();
    send(&mut app, snapshot(1, vec![], vec![unit(7, UnitStatus::Available)]));
    let rows = vec![(7, 118.1, 24.5, 90.0, UnitStatus::EnRoute), (99, 118.2, 24.6, 0.0, UnitStatus::Available)];
    send(&mut app, ServerMsg::Positions { at: 5_000, units: rows, ahead: vec![], ahead_s: vec![], no_road: vec![] });
    let e = app.world().resource::<LiveIndex>().units[&7];
    let p = *app.world().get::<UnitPos>(e).expect("position");
    assert_eq!(p.lonlat, Some([118.1, 24.5]));
    assert_eq!(p.status, UnitStatus::EnRoute);
    assert_eq!(p.heading_deg, 90.0);
    assert_eq!(count::<UnitC>(&mut app), 1);
    assert_eq!(app.world().resource::<Feed>().server_now, 5_000);
}

#[test]
fn the_road_ahead_is_what_the_last_position_came_with() {
    use crate::live::{Road, RoadsAhead};
    let mut app = app();
    let mut on_way = unit(7, UnitStatus::EnRoute);
    on_way.task = Some(4);
    send(&mut app, snapshot(1, vec![], vec![on_way.clone(), unit(8, UnitStatus::Available)]));
    let row = |id, status| (id, 118.1, 24.5, 0.0, status);
    let frame = |at, units, ahead| ServerMsg::Positions { at, units, ahead, ahead_s: vec![], no_road: vec![] };
    send(&mut app, frame(1, vec![row(7, UnitStatus::EnRoute), row(8, UnitStatus::Available)], vec![(7, 4, 1_250.0)]));
    let ahead = |app: &App| app.world().resource::<RoadsAhead>().to(7, 4);
    assert_eq!(ahead(&app), Some(1_250.0));
    assert_eq!(app.world().resource::<RoadsAhead>().to(7, 5), None, "measured to 4, not to another");
    // Another unit's position: this one's road ahead stands.
    send(&mut app, frame(2, vec![row(8, UnitStatus::Available)], vec![]));
    assert_eq!(ahead(&app), Some(1_250.0));
    // Its next position without one (no road measured there): none.
    send(&mut app, frame(3, vec![row(7, UnitStatus::EnRoute)], vec![]));
    assert_eq!(ahead(&app), None);
    // Measured and no road found (it has crossed the water): said so, not unknown.
    let road = |app: &App| app.world().resource::<RoadsAhead>().road(7, 4);
    let unreachable = ServerMsg::Positions {
        at: 4,
        units: vec![row(7, UnitStatus::EnRoute)],
        ahead: vec![],
        ahead_s: vec![],
        no_road: vec![(7, 4)],
    };
    send(&mut app, unreachable);
    assert_eq!((ahead(&app), road(&app)), (None, Road::Unreachable));
    assert_eq!(app.world().resource::<RoadsAhead>().road(7, 5), Road::Unmeasured, "said of 4, not of another");
    send(&mut app, frame(4, vec![row(7, UnitStatus::EnRoute)], vec![(7, 4, 1_100.0)]));
    assert_eq!((ahead(&app), road(&app)), (Some(1_100.0), Road::Ahead(1_100.0)));
    // With how long that road takes it: kept with it, and let go of with it.
    let timed = ServerMsg::Positions {
        at: 4,
        units: vec![row(7, UnitStatus::EnRoute)],
        ahead: vec![(7, 4, 1_000.0)],
        ahead_s: vec![(7, 96.0)],
        no_road: vec![],
    };
    send(&mut app, timed);
    let time = |app: &App, i| app.world().resource::<RoadsAhead>().time_to(7, i);
    assert_eq!((ahead(&app), time(&app, 4), time(&app, 5)), (Some(1_000.0), Some(96.0), None));
    send(&mut app, frame(4, vec![row(7, UnitStatus::EnRoute)], vec![(7, 4, 1_100.0)]));
    assert_eq!((ahead(&app), time(&app, 4)), (Some(1_100.0), None), "a server that said no time this time");
    // A snapshot of the same server with the unit still on its way keeps it; one with
    // the unit on the scene lets it go.
    send(&mut app, snapshot(5, vec![], vec![on_way.clone()]));
    assert_eq!(ahead(&app), Some(1_100.0));
    on_way.status = UnitStatus::OnScene;
    send(&mut app, snapshot(6, vec![], vec![on_way]));
    assert_eq!(ahead(&app), None);
}

#[test]
fn a_unit_change_keeps_the_last_position() {
    let mut app = app();
    send(&mut app, snapshot(1, vec![], vec![unit(7, UnitStatus::Available)]));
    send(
        &mut app,
        ServerMsg::Positions {
            at: 1,
            units: vec![(7, 118.3, 24.7, 10.0, UnitStatus::Available)],
            ahead: vec![],
            ahead_s: vec![],
            no_road: vec![],
        },
    );
    let mut changed = unit(7, UnitStatus::EnRoute);
    changed.position = None;
    changed.task = Some(4);
    send(&mut app, ServerMsg::Delta { seq: 2, at: 2, changes: vec![Change::Unit { unit: Box::new(changed) }] });
    let e = app.world().resource::<LiveIndex>().units[&7];
    let p = *app.world().get::<UnitPos>(e).expect("position");
    assert_eq!(p.lonlat, Some([118.3, 24.7]));
    assert_eq!(p.status, UnitStatus::EnRoute);
    assert_eq!(app.world().get::<UnitC>(e).map(|u| u.0.task), Some(Some(4)));
}

#[test]
fn teams_are_marked_as_such_for_the_marker_layer() {
    let mut app = app();
    let mut team = unit(8, UnitStatus::Available);
    team.kind = UnitKind::Team;
    send(&mut app, snapshot(1, vec![], vec![unit(7, UnitStatus::Available), team.clone()]));
    let idx = app.world().resource::<LiveIndex>();
    let (worker, squad) = (idx.units[&7], idx.units[&8]);
    assert!(!app.world().entity(worker).contains::<Team>());
    assert!(app.world().entity(squad).contains::<Team>());
    // A roster change that makes a team of a worker (or the reverse) moves the mark.
    let mut promoted = unit(7, UnitStatus::Available);
    promoted.kind = UnitKind::Team;
    team.kind = UnitKind::GridWorker;
    let changes = vec![Change::Unit { unit: Box::new(promoted) }, Change::Unit { unit: Box::new(team) }];
    send(&mut app, ServerMsg::Delta { seq: 2, at: 2, changes });
    assert!(app.world().entity(worker).contains::<Team>());
    assert!(!app.world().entity(squad).contains::<Team>());
}
