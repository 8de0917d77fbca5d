//! The simulator drives a living city through the real engine: reports arrive, the desk
//! dispatches, units move along the roads and report back, positions reach a wall.

use std::time::{Duration, Instant};

use onegrid_e2e::*;
use onegrid_protocol::{IncidentState, Layer, ServerMsg};
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
    let deadline = Instant::now() + Duration::from_secs(40);
    let (mut positions, mut handled) = (0usize, false);
    while Instant::now() < deadline && !(handled && positions > 1_000) {
        match wall.next().await? {
            ServerMsg::Positions { units, .. } => positions += units.len(),
            ServerMsg::Delta { changes, .. } => {
                handled |= changes.iter().any(|c| matches!(c,
                    onegrid_protocol::Change::Incident { incident, .. }
                        if matches!(incident.state, IncidentState::InProgress | IncidentState::Feedback | IncidentState::Closed)));
            }
            _ => {}
        }
    }
    assert!(positions > 1_000, "units move: {positions} position rows");
    assert!(handled, "some incident was dispatched and handled on scene");
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
