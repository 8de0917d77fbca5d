//! A stalled client beside a healthy one: the healthy client gets everything at once, the
//! stalled one costs bounded memory, and when it reads again it is resynced by a snapshot
//! to exactly the healthy client's view.

use std::collections::BTreeMap;
use std::time::Duration;

use onegrid_e2e::*;
use onegrid_protocol::{Change, IncidentState, Layer, ServerMsg};

/// Applies a message to a view of incident states; returns whether it was a snapshot.
fn apply(view: &mut BTreeMap<u64, IncidentState>, msg: &ServerMsg) -> bool {
    match msg {
        ServerMsg::Snapshot { incidents, .. } => {
            view.clear();
            view.extend(incidents.iter().map(|i| (i.id, i.state)));
            true
        }
        ServerMsg::Delta { changes, .. } => {
            for c in changes {
                if let Change::Incident { incident, .. } = c {
                    view.insert(incident.id, incident.state);
                }
            }
            false
        }
        _ => false,
    }
}

#[tokio::test]
async fn a_stalled_client_never_slows_a_healthy_one() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.limits.outbox = 64).await?;
    let mut stalled = Client::connect_small(&server.url(), 4096).await?.hello("dev-wall").await?;
    stalled.subscribe(&[Layer::Incidents, Layer::Personnel]).await?;
    // From here the stalled client reads nothing.
    let mut healthy = server.client("dev-wall").await?;
    let mut view_h = BTreeMap::new();
    apply(&mut view_h, &healthy.subscribe(&[Layer::Incidents, Layer::Personnel]).await?);

    let mut desk = server.client("dev-city").await?;
    let total = 400usize;
    let started = std::time::Instant::now();
    for i in 0..total {
        let at = server.point_in_street(if i % 2 == 0 { XIAGANG } else { JIALIAN }, i / 2);
        desk.report("0304", at).await?;
        // Large positions traffic too, so the stalled socket fills.
        if i % 20 == 0 {
            for u in 1..=200u32 {
                let p = server.point_in_street(JIALIAN, (u as usize + i) % 300);
                desk.ok(position(u, p)).await?;
            }
        }
    }
    while view_h.len() < total {
        let m = healthy.next().await?;
        apply(&mut view_h, &m);
    }
    let healthy_time = started.elapsed();
    assert!(healthy_time < Duration::from_secs(60), "the healthy client kept up: {healthy_time:?}");

    // The stalled client's queue stayed bounded (the limit plus direct answers).
    let queued: Vec<usize> = server.running.engine.live.hub.clients().iter().map(|c| c.queued()).collect();
    assert!(queued.iter().all(|q| *q <= 64 + 8), "queues {queued:?}");

    // Reading again, it catches up through a snapshot to the same view.
    let mut view_s = BTreeMap::new();
    let mut resynced = false;
    while view_s != view_h {
        let m = stalled.next().await?;
        resynced |= apply(&mut view_s, &m) && !view_s.is_empty();
    }
    assert!(resynced, "an overflowing client is resynced by snapshot");
    server.running.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_client_flooding_requests_without_reading_is_dropped() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut flood = Client::connect_small(&server.url(), 4096).await?.hello("dev-wall").await?;
    flood.subscribe(&[Layer::Incidents]).await?;
    assert_eq!(server.running.engine.live.hub.len(), 1);
    // Pings whose pongs are never read: the socket fills, then the answer queue.
    let ping = serde_json::to_string(&onegrid_protocol::ClientMsg::Ping { t: 1 })?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut sent = 0;
    while !server.running.engine.live.hub.is_empty() && std::time::Instant::now() < deadline {
        for _ in 0..1_000 {
            if flood.send_text(&ping).await.is_err() {
                break;
            }
            sent += 1;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(server.running.engine.live.hub.len(), 0, "the session ended after {sent} unread pings");
    server.running.shutdown().await;
    Ok(())
}

/// A slow link is not a stalled one. Behind a relay passing 500 kB/s, Siming's map (2.7 MB)
/// takes about five times the server's stall limit (1 s here; 30 s by default) to arrive: the
/// client gets it whole and stays connected, because bytes kept moving. A client that stops
/// reading altogether is still cut off after the limit.
#[tokio::test]
async fn a_slow_link_taking_the_map_stays_and_a_stopped_reader_goes() -> anyhow::Result<()> {
    use onegrid_protocol::{ClientMsg, Query, QueryResult};
    let server = TestServer::start_with(|c| c.limits.write_stall = Duration::from_secs(1)).await?;
    let relay = slow_relay(server.running.addr, 500_000).await?;
    let mut slow = Client::login(&format!("ws://{relay}"), "dev-wall").await?;
    let mut stopped = Client::connect_small(&server.url(), 4096).await?.hello("dev-wall").await?;
    stopped.send(&ClientMsg::Query { req: "m".into(), q: Query::Map { compact: true } }).await?;
    // From here `stopped` reads nothing.
    let started = std::time::Instant::now();
    let Ok(QueryResult::Map { map }) = slow.query(Query::Map { compact: true }).await? else { anyhow::bail!("no map") };
    let took = started.elapsed();
    assert!(took > Duration::from_secs(3), "the map took several stall limits to arrive: {took:?}");
    assert_eq!(map.cells.len(), 8_564);
    slow.send(&ClientMsg::Ping { t: 7 }).await?;
    slow.wait_for(|m| matches!(m, ServerMsg::Pong { t: 7 }).then_some(())).await?;
    // Reading again, the stopped client finds the part of the map its buffers held, then
    // the end of a connection the server dropped.
    assert!(stopped.closed().await, "the stopped reader was cut off");
    server.running.shutdown().await;
    Ok(())
}
