//! The simulator drives a living city through the real engine: reports arrive, the desk
//! dispatches (two units to a matter affecting a group, one more where a unit is held up
//! on its way), units move along the roads and report back, positions reach a wall.

use std::time::{Duration, Instant};

use onegrid_e2e::*;
use onegrid_protocol::{Change, IncidentState, Layer, ServerMsg};
use onegrid_server::{clock::Clock, sim};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulated_city_lives() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| {
        c.clock = Clock::scaled(600.0); // ten minutes of city time a second
        c.simulate = sim::Profile::named("default");
    })
    .await?;
    let mut wall = server.client("dev-wall").await?;
    wall.subscribe(&[Layer::Incidents, Layer::Personnel]).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut positions, mut handled, mut pair, mut reinforced) = (0usize, false, false, false);
    while Instant::now() < deadline && !(handled && positions > 1_000 && pair && reinforced) {
        match wall.next().await? {
            ServerMsg::Positions { units, .. } => positions += units.len(),
            ServerMsg::Delta { changes, .. } => {
                for c in &changes {
                    let Change::Incident { incident, .. } = c else { continue };
                    handled |= matches!(
                        incident.state,
                        IncidentState::InProgress | IncidentState::Feedback | IncidentState::Closed
                    );
                    let h = &incident.history;
                    // Two units sent at once to a matter affecting a group.
                    pair |= h.iter().any(|s| s.action == "dispatch" && s.units.len() == 2);
                    // One more sent to a matter already sent to (增派), its unit held up.
                    reinforced |= h.windows(2).any(|w| {
                        w[1].action == "dispatch"
                            && matches!(w[0].state, IncidentState::Dispatched | IncidentState::InProgress)
                    });
                }
            }
            _ => {}
        }
    }
    assert!(positions > 1_000, "units move: {positions} position rows");
    assert!(handled, "some incident was dispatched and handled on scene");
    assert!(pair, "a matter affecting a group was sent two units");
    assert!(reinforced, "a matter whose unit was held up on its way was sent one more");
    server.running.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn the_stress_profile_has_ten_thousand_units_and_a_thousand_cameras() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.population = sim::Profile::named("stress")).await?;
    let mut wall = server.client("dev-wall").await?;
    let ServerMsg::Snapshot { units, cameras, .. } = wall.subscribe(&[Layer::Personnel, Layer::Cameras]).await? else {
        unreachable!()
    };
    assert_eq!(units.len(), 10_000);
    assert_eq!(cameras.len(), 1_000);
    assert!(units.iter().all(|u| u.home.district == SIMING));
    server.running.shutdown().await;
    Ok(())
}

/// The road still ahead of each unit on its way comes with its positions: in the simulated
/// city at 240× a wall sees, over twenty seconds (80 minutes of its clock), every unit on
/// its way measured to the incident it was sent to, never shorter than the straight line,
/// with how long it takes without traffic, and shrinking as the unit drives its roads until
/// it is there (the road ahead is measured along the way the unit takes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn units_on_their_way_come_with_the_road_still_ahead() -> anyhow::Result<()> {
    use std::collections::HashMap;
    let server = TestServer::start_with(|c| {
        c.clock = Clock::scaled(240.0);
        c.simulate = sim::Profile::named("default");
        if let Some(p) = c.simulate.as_mut() {
            p.stall = 0.0; // none held up on the way: each should come steadily nearer
        }
    })
    .await?;
    let metric = server.running.engine.live.city.metric;
    let mut wall = server.client("dev-wall").await?;
    let ServerMsg::Snapshot { incidents, .. } = wall.subscribe(&[Layer::Incidents, Layer::Personnel]).await? else {
        unreachable!()
    };
    let mut scenes: HashMap<u64, geo_types::Point> = incidents.iter().map(|i| (i.id, i.location)).collect();
    // Per unit and incident: the road ahead measured with each of its positions.
    let mut trips: HashMap<(u32, u64), Vec<f64>> = HashMap::new();
    let (mut rows, mut en_route_rows) = (0usize, 0usize);
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match wall.next().await? {
            ServerMsg::Delta { changes, .. } => {
                for c in &changes {
                    if let Change::Incident { incident, .. } = c {
                        scenes.insert(incident.id, incident.location);
                    }
                }
            }
            ServerMsg::Positions { units, ahead, ahead_s, .. } => {
                en_route_rows += units.iter().filter(|u| u.4 == onegrid_protocol::UnitStatus::EnRoute).count();
                assert_eq!(ahead.len(), ahead_s.len(), "each road ahead with its time");
                for ((unit, incident, road), (timed, secs)) in ahead.into_iter().zip(ahead_s) {
                    // Without traffic: no faster than the fastest road (50 km/h), no slower
                    // than a grid worker's 3 m/s.
                    assert_eq!(unit, timed);
                    assert!(
                        secs >= road / (50.0 / 3.6) - 0.2 && secs <= road / 3.0 + 0.2,
                        "{unit}: {road} m in {secs} s"
                    );
                    rows += 1;
                    let row = units.iter().find(|u| u.0 == unit).expect("measured with a position in the frame");
                    assert_eq!(row.4, onegrid_protocol::UnitStatus::EnRoute, "{row:?}");
                    let scene = scenes.get(&incident).expect("an incident the wall knows");
                    let straight = metric.metres(geo_types::Point::new(row.1, row.2), *scene);
                    assert!(road >= straight - 1.0, "unit {unit}: {road:.0} m by road, {straight:.0} m straight");
                    trips.entry((unit, incident)).or_default().push(road);
                }
            }
            _ => {}
        }
    }
    // Nearly every position of a unit on its way comes with its road (a unit whose
    // position no road leads from would not).
    assert!(rows > 100 && rows as f64 >= 0.95 * en_route_rows as f64, "{rows} measured of {en_route_rows}");
    // Along each trip the road ahead shrinks from one fix to the next (in 135 of 137 steps
    // once each unit went its own way, the twenty-third session; 97% of some 200 before).
    let (mut steps, mut shrank) = (0usize, 0usize);
    for series in trips.values() {
        for w in series.windows(2) {
            steps += 1;
            shrank += usize::from(w[1] <= w[0] + 1.0);
        }
    }
    println!("{} trips, {rows} measured, {shrank} of {steps} steps shrank", trips.len());
    assert!(trips.len() >= 10 && shrank as f64 >= 0.9 * steps as f64, "{shrank} of {steps} steps shrank");
    server.running.shutdown().await;
    Ok(())
}
