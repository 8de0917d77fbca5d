//! Reconnect and resume: the missed deltas exactly once, in order; a snapshot when the
//! client is too far behind or comes from another journal.

use onegrid_e2e::*;
use onegrid_protocol::{Layer, ServerMsg};

const LAYERS: [Layer; 2] = [Layer::Incidents, Layer::Grid];

#[tokio::test]
async fn a_reconnecting_client_gets_what_it_missed_once() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut desk = server.client("dev-city").await?;
    let mut wall = server.client("dev-wall").await?;
    wall.subscribe(&LAYERS).await?;
    desk.report("0301", server.point_in_street(XIAGANG, 1)).await?;
    wall.wait_for(|m| matches!(m, ServerMsg::Delta { .. }).then_some(())).await?;
    let (journal, last) = (wall.journal.clone(), wall.seq);
    drop(wall);

    let mut missed = Vec::new();
    for i in 0..4 {
        missed.push(desk.report("0301", server.point_in_street(XIAGANG, 2 + i)).await?);
    }
    let mut wall = server.client("dev-wall").await?;
    wall.resume(&LAYERS, &journal, last).await?;
    let (from, to) = wall
        .wait_for(|m| match m {
            ServerMsg::Resumed { from, seq } => Some((*from, *seq)),
            _ => None,
        })
        .await?;
    assert_eq!(from, last);
    let mut seqs = Vec::new();
    while seqs.last() != Some(&to) {
        match wall.next().await? {
            ServerMsg::Delta { seq, .. } => seqs.push(seq),
            ServerMsg::Snapshot { .. } => panic!("resume within the ring must not send a snapshot"),
            _ => {}
        }
    }
    assert_eq!(seqs, ((last + 1)..=to).collect::<Vec<_>>(), "no gap, no duplicate");
    // Live deltas continue after the replay without repeating it.
    let next = desk.report("0301", server.point_in_street(XIAGANG, 9)).await?;
    let live = wall.incident_event(next, "reported").await?;
    assert_eq!(live.id, next);
    assert_eq!(wall.seq, to + 1);
    assert!(missed.iter().all(|id| *id < next));
    server.running.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn too_far_behind_or_another_journal_gets_a_snapshot() -> anyhow::Result<()> {
    let server = TestServer::start_with(|c| c.limits.ring = 3).await?;
    let mut desk = server.client("dev-city").await?;
    for i in 0..6 {
        desk.report("0301", server.point_in_street(XIAGANG, i)).await?;
    }
    let mut wall = server.client("dev-wall").await?;
    let journal = wall.journal.clone();
    wall.resume(&LAYERS, &journal, 1).await?;
    match wall.next().await? {
        ServerMsg::Snapshot { seq, incidents, .. } => {
            assert_eq!(seq, 6);
            assert_eq!(incidents.len(), 6);
        }
        other => panic!("expected a snapshot, got {other:?}"),
    }
    // Still within the ring of 3: a replay.
    wall.resume(&LAYERS, &journal, 4).await?;
    assert!(matches!(wall.next().await?, ServerMsg::Resumed { from: 4, seq: 6 }));
    for want in [5, 6] {
        assert!(matches!(wall.next().await?, ServerMsg::Delta { seq, .. } if seq == want));
    }
    // A token from another journal (e.g. a restored server): a snapshot.
    wall.resume(&LAYERS, "0000000000000000", 5).await?;
    assert!(matches!(wall.next().await?, ServerMsg::Snapshot { seq: 6, .. }));
    server.running.shutdown().await;
    Ok(())
}
