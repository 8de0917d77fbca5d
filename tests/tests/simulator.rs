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
