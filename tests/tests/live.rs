//! The live stream: snapshot then deltas with rising sequence numbers, scope enforcement
//! on every layer, positions from the field, and the spatial queries.

use onegrid_e2e::*;
use onegrid_protocol::{Command, Dispatch, ErrorCode, Layer, Position, Query, QueryResult, ServerMsg, UnitStatus};

#[tokio::test]
async fn snapshot_then_deltas_in_sequence() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut reporter = server.client("dev-city").await?;
    let first = reporter.report("0401", server.point_in_street(JIALIAN, 1)).await?;
    let mut wall = server.client("dev-wall").await?;
    let ServerMsg::Snapshot { seq, incidents, units, cameras, cells, journal, .. } = wall.subscribe_all().await? else {
        unreachable!()
    };
    assert_eq!(seq, 1);
    assert_eq!(journal, wall.journal);
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].id, first);
    let city = server.running.engine.city();
    assert!(units.len() > 500, "hundreds of field units");
    assert_eq!(units.len(), city.roster.len(), "the whole roster, city scope");
    assert!(units.iter().all(|u| u.position.is_some()));
    let workers = units.iter().filter(|u| u.kind == onegrid_protocol::UnitKind::GridWorker);
    assert!(workers.clone().count() > 400 && workers.clone().all(|u| !u.cells.is_empty()), "grid workers have cells");
    assert_eq!(cameras.len(), city.cameras.len());
    assert_eq!(cells.len(), 1);
    assert_eq!(cells[0].open, 1);

    let mut seqs = Vec::new();
    for i in 0..5 {
        reporter.report("0401", server.point_in_street(JIALIAN, 10 + i)).await?;
    }
    while seqs.len() < 5 {
        if let ServerMsg::Delta { seq, changes, .. } = wall.next().await? {
            assert!(changes.iter().any(|c| matches!(c, onegrid_protocol::Change::Incident { .. })));
            seqs.push(seq);
        }
    }
    assert_eq!(seqs, vec![2, 3, 4, 5, 6]);
    server.running.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_street_sees_only_its_street() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut city = server.client("dev-city").await?;
    let mut street = server.client(&format!("dev-{XIAGANG}")).await?;
    let ServerMsg::Snapshot { units, cameras, .. } = street.subscribe_all().await? else { unreachable!() };
    assert!(!units.is_empty() && units.len() < server.running.engine.city().roster.len());
    assert!(units.iter().all(|u| u.home.street == XIAGANG));
    assert!(cameras.iter().all(|c| c.placement.street == XIAGANG));

    let elsewhere = city.report("0301", server.point_in_street(JIALIAN, 5)).await?;
    let here = city.report("0301", server.point_in_street(XIAGANG, 5)).await?;
    // The first delta the street receives is its own incident, never the other.
    let got = street
        .wait_for(|m| match m {
            ServerMsg::Delta { changes, .. } => Some(changes.clone()),
            _ => None,
        })
        .await?;
    let ids: Vec<u64> = got
        .iter()
        .filter_map(|c| match c {
            onegrid_protocol::Change::Incident { incident, .. } => Some(incident.id),
            _ => None,
        })
        .collect();
    assert_eq!(ids, vec![here]);

    // Acting on, querying or reporting outside the scope is refused.
    let r = street.command(Command::Accept(act(elsewhere, ""))).await?;
    assert!(matches!(r, ServerMsg::Error { code: ErrorCode::OutOfScope, .. }), "{r:?}");
    let r = street.command(report("0301", server.point_in_street(JIALIAN, 6))).await?;
    assert!(matches!(r, ServerMsg::Error { code: ErrorCode::OutOfScope, .. }), "{r:?}");
    let r = street.query(Query::Incident { id: elsewhere }).await?;
    assert!(matches!(r, Err((ErrorCode::OutOfScope, _))), "{r:?}");

    // Positions of units outside the street never reach it.
    let outsider = units_outside(&server, XIAGANG);
    let mut field = server.client("dev-city").await?;
    field.ok(position(outsider, server.point_in_street(XIAGANG, 7))).await?;
    let insider = server
        .running
        .engine
        .with_world(|w| w.units.values().find(|u| u.home.street == XIAGANG).map(|u| u.id))
        .expect("unit");
    field.ok(position(insider, server.point_in_street(XIAGANG, 8))).await?;
    let rows = street
        .wait_for(|m| match m {
            ServerMsg::Positions { units, .. } => Some(units.clone()),
            _ => None,
        })
        .await?;
    assert!(rows.iter().any(|r| r.0 == insider));
    assert!(rows.iter().all(|r| r.0 != outsider));
    server.running.shutdown().await;
    Ok(())
}

/// A `nearest` answer for `location`: soonest by road first, each time that of the unit's
/// own way by road as it goes (the fastest roads at their speeds for a team, the shortest
/// at its pace for a grid worker), no road shorter than the straight line; then those no
/// road leads from, nearest first.
fn assert_soonest_first(server: &TestServer, location: geo_types::Point, near: &[onegrid_protocol::NearUnit]) {
    let routed = near.iter().take_while(|u| u.eta_s.is_some()).count();
    assert!(near[routed..].iter().all(|u| u.eta_s.is_none() && u.road_m.is_none()), "{near:?}");
    assert!(near[..routed].windows(2).all(|w| w[0].eta_s <= w[1].eta_s), "{near:?}");
    assert!(near[routed..].windows(2).all(|w| w[0].distance_m <= w[1].distance_m), "{near:?}");
    let roads = &server.running.engine.city().roads;
    server.running.engine.with_world(|w| {
        for u in &near[..routed] {
            let (road, eta) = (u.road_m.expect("road"), u.eta_s.expect("eta"));
            let from = server.running.engine.unit_position(u.unit).expect("a position");
            let way = roads.route_between(from, location, w.units[&u.unit].kind.travel()).expect("a way");
            assert!((eta - way.time_s).abs() < 0.5 + way.time_s * 1e-3, "{u:?}: {way:?}");
            assert!(road >= u.distance_m - 1e-6, "{u:?}");
        }
    });
}

#[tokio::test]
async fn nearest_goes_by_road_and_not_across_the_water() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let city = server.running.engine.city();
    let metric = city.metric;
    let metres = |a: geo_types::Point, b: geo_types::Point| metric.metres(a, b);
    // The road graph's pieces, largest first: the main island's roads and Gulangyu's.
    let roads = &city.roads;
    let mut piece = vec![usize::MAX; roads.node_count()];
    let mut pieces: Vec<Vec<geo_types::Point>> = Vec::new();
    for n in 0..roads.node_count() as u32 {
        if piece[n as usize] != usize::MAX {
            continue;
        }
        let (mut stack, mut nodes) = (vec![n], Vec::new());
        piece[n as usize] = pieces.len();
        while let Some(x) = stack.pop() {
            nodes.push(roads.node(x));
            for e in roads.edges(x) {
                if piece[e.to as usize] == usize::MAX {
                    piece[e.to as usize] = pieces.len();
                    stack.push(e.to);
                }
            }
        }
        pieces.push(nodes);
    }
    pieces.sort_by_key(|p| std::cmp::Reverse(p.len()));
    let (shore, island) = (&pieces[0], &pieces[1]);
    assert!(island.len() > 100, "Gulangyu's roads: {}", island.len());
    // The scene: the island's road nearest the main island's across the strait; one unit on
    // the far side of the island, one on the shore straight across.
    let (scene, across) = island
        .iter()
        .flat_map(|a| shore.iter().map(move |b| (*a, *b)))
        .min_by(|x, y| metres(x.0, x.1).total_cmp(&metres(y.0, y.1)))
        .expect("both have roads");
    let far_side = *island.iter().max_by(|a, b| metres(**a, scene).total_cmp(&metres(**b, scene))).expect("cells");
    assert!(metres(scene, across) < metres(scene, far_side), "the shore is nearer in a straight line");
    let (on_island, on_shore) = (3, 4);
    let mut field = server.client("dev-city").await?;
    field.ok(position(on_island, far_side)).await?;
    field.ok(position(on_shore, across)).await?;
    let mut desk = server.client("dev-city").await?;
    let Ok(QueryResult::Nearest { units: near }) =
        desk.query(Query::Nearest { location: scene, k: 50, skill: None }).await?
    else {
        panic!("nearest answered with something else")
    };
    assert_soonest_first(&server, scene, &near);
    let at = |id| near.iter().position(|u| u.unit == id).expect("listed");
    let (island_unit, shore_unit) = (&near[at(on_island)], &near[at(on_shore)]);
    assert!(island_unit.eta_s.is_some(), "a road crosses the island: {island_unit:?}");
    assert!(shore_unit.eta_s.is_none(), "no road crosses the water: {shore_unit:?}");
    assert!(at(on_island) < at(on_shore), "{near:?}");

    // The units on their way to it, asked for by name: in the order asked, as `nearest`
    // gave them; one the user does not see, or that does not exist, left out.
    let Ok(QueryResult::Reach { units: reach }) =
        desk.query(Query::Reach { location: scene, units: vec![on_shore, 999_999, on_island] }).await?
    else {
        panic!("reach answered with something else")
    };
    assert_eq!(reach, vec![shore_unit.clone(), island_unit.clone()]);
    let outsider = units_outside(&server, JIALIAN);
    let mut street = server.client(&format!("dev-{JIALIAN}")).await?;
    let Ok(QueryResult::Reach { units: seen }) =
        street.query(Query::Reach { location: scene, units: vec![outsider] }).await?
    else {
        panic!("reach answered with something else")
    };
    assert!(seen.is_empty(), "{seen:?}");
    let r = desk.query(Query::Reach { location: scene, units: vec![] }).await?;
    assert!(matches!(r, Err((ErrorCode::Invalid, _))), "{r:?}");

    // Their ways by road, to draw on the map: the island's unit from where it stands along
    // the island's roads to the scene, as long and as quick as its place in the list; none
    // for the one across the water, nor for one outside the asker's area.
    let Ok(QueryResult::Ways { ways }) =
        desk.query(Query::Ways { location: scene, units: vec![on_shore, 999_999, on_island] }).await?
    else {
        panic!("ways answered with something else")
    };
    assert_eq!(ways.iter().map(|w| w.unit).collect::<Vec<_>>(), vec![on_island], "{ways:?}");
    let way = &ways[0];
    let near = |p: (f64, f64), q: geo_types::Point| (p.0 - q.x()).abs() < 1e-9 && (p.1 - q.y()).abs() < 1e-9;
    assert!(near(way.points[0], far_side) && near(way.points[way.points.len() - 1], scene), "{way:?}");
    let (road, eta) = (island_unit.road_m.expect("road"), island_unit.eta_s.expect("eta"));
    assert!((way.length_m - road).abs() < 1.0 && (way.eta_s - eta).abs() < 0.5, "{way:?} against {island_unit:?}");
    let drawn: f64 = way.points.windows(2).map(|w| metres(w[0].into(), w[1].into())).sum();
    assert!((drawn - way.length_m).abs() < 1.0, "the points make the way: {drawn} against {way:?}");
    let Ok(QueryResult::Ways { ways: seen }) =
        street.query(Query::Ways { location: scene, units: vec![outsider] }).await?
    else {
        panic!("ways answered with something else")
    };
    assert!(seen.is_empty(), "{seen:?}");

    // Both sent there: at once, before any next fix, a wall is told the road still ahead of
    // the one on the island, and that no road leads from the shore (not that it is
    // unknown); and so again with their next positions.
    let mut wall = server.client("dev-wall").await?;
    wall.subscribe(&[Layer::Personnel]).await?;
    // (The scene itself lies on the shore road, just outside the grid: the report is made
    // at the island's road point in the grid nearest it.)
    let inside = island.iter().filter(|p| city.cells.locate(**p).is_some());
    let scene = *inside.min_by(|a, b| metres(**a, scene).total_cmp(&metres(**b, scene))).expect("in the grid");
    let id = desk.report("0401", scene).await?;
    desk.ok(Command::Accept(act(id, ""))).await?;
    desk.ok(Command::Dispatch(Dispatch { incident: id, units: vec![on_island, on_shore], note: String::new() }))
        .await?;
    let first = wall
        .wait_for(|m| match m {
            ServerMsg::Positions { ahead, no_road, .. } => Some((ahead.clone(), no_road.clone())),
            _ => None,
        })
        .await?;
    assert!(first.0.iter().any(|a| a.0 == on_island && a.1 == id), "measured when sent: {first:?}");
    assert!(first.1.contains(&(on_shore, id)), "no road, said when sent: {first:?}");
    let (mut island_road, mut shore_none) = (None, false);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while island_road.is_none() || !shore_none {
        assert!(tokio::time::Instant::now() < deadline, "island {island_road:?}, shore said no road: {shore_none}");
        field.ok(position(on_island, far_side)).await?;
        field.ok(position(on_shore, across)).await?;
        let frame = tokio::time::timeout(
            std::time::Duration::from_millis(500),
            wall.wait_for(|m| match m {
                ServerMsg::Positions { ahead, no_road, .. } => Some((ahead.clone(), no_road.clone())),
                _ => None,
            }),
        );
        let Ok(frame) = frame.await else { continue };
        let (ahead, no_road) = frame?;
        assert!(!ahead.iter().any(|a| a.0 == on_shore), "{ahead:?}");
        assert!(!no_road.iter().any(|a| a.0 == on_island), "{no_road:?}");
        if let Some(a) = ahead.iter().find(|a| a.0 == on_island) {
            island_road = Some(a.2);
        }
        shore_none |= no_road.contains(&(on_shore, id));
    }
    let road = island_road.expect("measured");
    assert!(road >= metres(far_side, scene), "{road:.0} m by road");
    server.running.shutdown().await;
    Ok(())
}

fn units_outside(server: &TestServer, street: &str) -> u32 {
    server
        .running
        .engine
        .with_world(|w| w.units.values().find(|u| u.home.street != street).map(|u| u.id))
        .expect("unit")
}

#[tokio::test]
async fn positions_flow_from_the_field_to_the_wall_and_feed_nearest() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut wall = server.client("dev-wall").await?;
    wall.subscribe(&[Layer::Personnel]).await?;
    let target = server.point_in_street(JIALIAN, 20);
    let mut worker = server.client("dev-unit-7").await?;
    // A phone reports in GCJ-02, as Chinese map SDKs do; the server stores WGS-84.
    let gcj = onegrid_protocol::coord::wgs84_to_gcj02(target);
    let ack = worker
        .command(Command::Position(Position {
            unit: 7,
            location: gcj,
            datum: onegrid_protocol::coord::Datum::Gcj02,
            heading_deg: 90.0,
        }))
        .await?;
    assert!(matches!(ack, ServerMsg::Ack { .. }), "{ack:?}");
    let row = wall
        .wait_for(|m| match m {
            ServerMsg::Positions { units, .. } => units.iter().find(|r| r.0 == 7).copied(),
            _ => None,
        })
        .await?;
    assert!((row.1 - target.x()).abs() < 1e-6 && (row.2 - target.y()).abs() < 1e-6, "{row:?}");
    assert_eq!(row.4, UnitStatus::Available);

    // Another unit's position is not this worker's to send.
    let r = worker.command(position(8, target)).await?;
    assert!(matches!(r, ServerMsg::Error { code: ErrorCode::Forbidden, .. }), "{r:?}");

    let mut desk = server.client("dev-city").await?;
    let Ok(QueryResult::Nearest { units: near }) =
        desk.query(Query::Nearest { location: target, k: 3, skill: None }).await?
    else {
        panic!("nearest answered with something else")
    };
    let seven = near.iter().find(|u| u.unit == 7).expect("the unit standing there is among the nearest");
    assert!(seven.distance_m < 1.0, "{seven:?}");
    assert_soonest_first(&server, target, &near);

    // Locate answers every net; cameras answer by field of view.
    let Ok(QueryResult::Locate { placement }) =
        desk.query(Query::Locate { location: target, datum: Default::default() }).await?
    else {
        panic!("locate answered with something else")
    };
    assert_eq!(placement.street, JIALIAN);
    assert!(!placement.supervision_unit.is_empty());
    let cam = server.running.engine.city().cameras[0].clone();
    let metric = server.running.engine.city().metric;
    let [x, y] = metric.to_xy(cam.position);
    let ahead = metric
        .to_lonlat([x + 30.0 * cam.heading_deg.to_radians().sin(), y + 30.0 * cam.heading_deg.to_radians().cos()]);
    let Ok(QueryResult::Cameras { cameras: cams }) = desk.query(Query::Cameras { location: ahead }).await? else {
        panic!("cameras answered with something else")
    };
    assert!(cams.contains(&cam.id), "camera {} looks at {ahead:?}: {cams:?}", cam.id);
    let Ok(QueryResult::Track { points: track, .. }) = desk.query(Query::Track { unit: 7 }).await? else {
        panic!("track answered with something else")
    };
    let last = track.last().expect("the start and the reported fix");
    assert!((last.1 - target.x()).abs() < 1e-6 && (last.2 - target.y()).abs() < 1e-6, "{track:?}");
    server.running.shutdown().await;
    Ok(())
}

/// A client that says in `hello` it reads compressed frames gets its snapshot (hundreds of
/// units: over 64 KiB) as a binary frame, the same snapshot compressed with gzip; one that
/// does not say so gets text.
#[tokio::test]
async fn a_client_that_reads_compressed_frames_gets_its_snapshot_compressed() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut text = server.client("dev-wall").await?;
    let ServerMsg::Snapshot { units, .. } = text.subscribe_all().await? else { anyhow::bail!("no snapshot") };
    let mut zipped = Client::connect(&server.url()).await?;
    let hello = onegrid_protocol::ClientMsg::Hello {
        version: onegrid_protocol::PROTOCOL_VERSION,
        token: "dev-wall".into(),
        client: "e2e".into(),
        gzip: true,
    };
    zipped.send(&hello).await?;
    let (welcome, binary) = zipped.next_bytes().await?;
    assert!(!binary && String::from_utf8(welcome)?.contains("\"welcome\""), "a small frame stays text");
    let layers = vec![Layer::Incidents, Layer::Personnel, Layer::Cameras, Layer::Grid];
    zipped.send(&onegrid_protocol::ClientMsg::Subscribe { layers, area: None, resume: None }).await?;
    let (z, binary) = zipped.next_bytes().await?;
    assert!(binary, "the snapshot came compressed");
    let mut json = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&z[..]), &mut json)?;
    // Siming's 574 units: about 110 kB for 670 kB.
    assert!(z.len() * 4 < json.len(), "{} bytes for {}", z.len(), json.len());
    let ServerMsg::Snapshot { units: same, .. } = serde_json::from_str(&json)? else { anyhow::bail!("not a snapshot") };
    assert_eq!(same.len(), units.len());
    assert!(same.len() > 500);
    Ok(())
}

/// Consoles subscribing together with the same filter (a wall's, a centre's after a power
/// cut) share one snapshot, built and encoded once; each is still brought to the state as
/// of its own subscription: the snapshot is followed by the deltas since it was built, and
/// by the latest position of every unit (one may have moved since). Another filter gets a
/// snapshot of its own.
#[tokio::test]
async fn consoles_subscribing_together_share_one_snapshot_and_each_is_brought_to_now() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let layers = [Layer::Incidents, Layer::Personnel];
    let mut first = server.client("dev-wall").await?;
    let ServerMsg::Snapshot { seq: built, incidents, .. } = first.subscribe(&layers).await? else { unreachable!() };
    assert!(incidents.is_empty());

    // Since: an incident reported, and a unit moved.
    let mut desk = server.client("dev-city").await?;
    let id = desk.report("0401", server.point_in_street(JIALIAN, 3)).await?;
    let target = server.point_in_street(XIAGANG, 40);
    desk.ok(position(9, target)).await?;
    first.incident_event(id, "reported").await?;
    let moved = |m: &ServerMsg| match m {
        ServerMsg::Positions { units, .. } => units.iter().find(|r| r.0 == 9).copied(),
        _ => None,
    };
    first.wait_for(moved).await?;

    // The next console with the same filter: the same snapshot, then the incident's delta,
    // then unit 9 where it is now.
    let mut second = server.client("dev-wall").await?;
    let ServerMsg::Snapshot { seq, incidents, units, .. } = second.subscribe(&layers).await? else { unreachable!() };
    assert_eq!(seq, built, "the snapshot built for the first console");
    assert!(incidents.is_empty());
    let nine = units.iter().find(|u| u.id == 9).expect("unit 9");
    assert!(nine.position.is_none_or(|p| (p.x() - target.x()).abs() > 1e-9), "as built, before it moved");
    let reported = second.incident_event(id, "reported").await?;
    assert_eq!(reported.id, id);
    assert!(second.seq > built, "brought past the snapshot: {}", second.seq);
    let row = second.wait_for(moved).await?;
    assert!((row.1 - target.x()).abs() < 1e-6 && (row.2 - target.y()).abs() < 1e-6, "{row:?}");

    // Another filter: a snapshot of its own, as of now.
    let mut third = server.client("dev-wall").await?;
    let ServerMsg::Snapshot { seq, incidents, .. } = third.subscribe(&[Layer::Incidents]).await? else {
        unreachable!()
    };
    assert!(seq > built);
    assert_eq!(incidents.iter().map(|i| i.id).collect::<Vec<_>>(), [id]);
    // Sharing that one, a console without the personnel layer is sent no positions.
    let mut fourth = server.client("dev-wall").await?;
    let ServerMsg::Snapshot { seq: shared, .. } = fourth.subscribe(&[Layer::Incidents]).await? else { unreachable!() };
    assert_eq!(shared, seq, "shared");
    desk.ok(position(9, server.point_in_street(XIAGANG, 41))).await?;
    let heard = tokio::time::timeout(std::time::Duration::from_millis(500), fourth.wait_for(moved)).await;
    assert!(heard.is_err(), "no positions without the personnel layer: {heard:?}");

    // Too old to share, the kept snapshots are let go without waiting for another client.
    let engine = &server.running.engine;
    assert_eq!(engine.kept_snapshots(), 2, "one per filter");
    let t = std::time::Instant::now();
    while engine.kept_snapshots() > 0 {
        assert!(t.elapsed() < onegrid_server::engine::SHARE_SNAPSHOT_FOR * 3, "let go");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Ok(())
}

/// The live picture holds what is open and what was closed within a day: a subscription a
/// day after an incident was closed no longer carries it, the server still gives it by
/// number, and reopening it brings it back to the consoles that subscribed since.
#[tokio::test]
async fn an_incident_closed_a_day_ago_leaves_the_snapshot_and_is_given_by_number() -> anyhow::Result<()> {
    use onegrid_protocol::{IncidentState, LIVE_AFTER_CLOSE_MS};
    let server = TestServer::start().await?;
    let mut desk = server.client("dev-city").await?;
    let at = server.point_in_street(JIALIAN, 5);
    let old = desk.report("0102", at).await?;
    desk.ok(Command::Return(act(old, "非本辖区事项"))).await?;
    desk.ok(Command::Close(act(old, "不予受理"))).await?;
    let open = desk.report("0102", at).await?;
    // Each subscription with its own layers, so that none is given another's snapshot.
    let snapshot_ids = |snap: ServerMsg| match snap {
        ServerMsg::Snapshot { incidents, .. } => incidents.iter().map(|i| i.id).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    let mut wall = server.client("dev-wall").await?;
    let mut ids = snapshot_ids(wall.subscribe(&[Layer::Incidents]).await?);
    ids.sort_unstable();
    assert_eq!(ids, [old, open], "closed within the day: still in the picture");

    server.clock.advance(LIVE_AFTER_CLOSE_MS);
    let mut later = server.client("dev-wall").await?;
    assert_eq!(snapshot_ids(later.subscribe(&[Layer::Incidents, Layer::Grid]).await?), [open], "a day on: gone");
    let Ok(QueryResult::Incident { incident }) = desk.query(Query::Incident { id: old }).await? else {
        anyhow::bail!("the closed incident by number")
    };
    assert_eq!(incident.state, IncidentState::Closed);

    desk.ok(Command::Reopen(act(old, "群众反映问题复发"))).await?;
    assert_eq!(later.incident_event(old, "reopen").await?.state, IncidentState::Reopened);
    let mut third = server.client("dev-wall").await?;
    let mut ids = snapshot_ids(third.subscribe(&[Layer::Incidents, Layer::Personnel]).await?);
    ids.sort_unstable();
    assert_eq!(ids, [old, open], "open again: back in the picture");
    Ok(())
}
