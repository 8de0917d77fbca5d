//! The link end to end without a window: a headless bevy app with the real network client
//! and live layers against a real server that is stopped and started again on the same port
//! and journal. The link state says so, and afterwards the same entities stand for the same
//! incidents and units: resumed, not rebuilt, nothing doubled.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use onegrid_console::live::{Feed, IncidentC, LiveIndex, LivePlugin, UnitC};
use onegrid_console::net::{Link, LinkState, NetConfig, NetPlugin};

mod common;
use common::run_until;

fn start(rt: &tokio::runtime::Runtime, data: &Path, listen: SocketAddr) -> onegrid_server::Running {
    common::server(rt, data, |config| {
        config.listen = listen;
        common::simulated(config);
        config.clock = onegrid_server::clock::Clock::scaled(60.0);
    })
}

fn link(app: &App) -> LinkState {
    app.world().resource::<Link>().state.clone()
}

#[test]
fn a_restarted_server_is_resumed_without_duplicates() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(&rt, dir.path(), "127.0.0.1:0".parse().expect("addr"));
    let addr = server.addr;
    let mut app = App::new();
    app.add_plugins(MinimalPlugins).add_plugins(LivePlugin).add_plugins(NetPlugin {
        config: NetConfig { url: format!("ws://{addr}"), token: "dev-commander".into(), outbox: None, maps: None },
    });
    run_until(&mut app, "connected with incidents", |app| {
        link(app) == LinkState::Connected && app.world().resource::<LiveIndex>().incidents.len() >= 3
    });
    rt.block_on(server.shutdown());
    run_until(&mut app, "the link to go down", |app| matches!(link(app), LinkState::Down { .. }));

    let before = app.world().resource::<LiveIndex>().incidents.clone();
    let units_before = app.world().resource::<LiveIndex>().units.clone();
    let snapshots_before = app.world().resource::<Feed>().snapshots;
    let server = start(&rt, dir.path(), addr);
    run_until(&mut app, "reconnected", |app| link(app) == LinkState::Connected);
    // Let the resumed stream run for a while: new incidents arrive, none doubles.
    let t = Instant::now();
    run_until(&mut app, "a few seconds of live data", |_| t.elapsed() > Duration::from_secs(3));
    rt.block_on(server.shutdown());

    let index = app.world().resource::<LiveIndex>();
    for (id, e) in &before {
        assert_eq!(index.incidents.get(id), Some(e), "incident {id} kept its entity");
    }
    assert_eq!(index.units, units_before, "every unit kept its entity");
    assert_eq!(app.world().resource::<Feed>().snapshots, snapshots_before, "resumed, not re-snapshotted");
    let world = app.world_mut();
    let incidents: Vec<u64> = world.query::<&IncidentC>().iter(world).map(|i| i.0.id).collect();
    let mut unique = incidents.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), incidents.len(), "no incident twice");
    assert_eq!(incidents.len(), world.resource::<LiveIndex>().incidents.len());
    let units = world.query::<&UnitC>().iter(world).count();
    assert_eq!(units, units_before.len());
}

/// Runs the network client alone (no app) with `config` until the map comes: the bytes it
/// was told of meanwhile (only while it waits for the server's answer) and the map. A link
/// that goes down fails the test.
fn client_until_map(rt: &tokio::runtime::Runtime, config: NetConfig) -> (Vec<u64>, Box<onegrid_protocol::CityMap>) {
    use onegrid_console::net::NetEvent;
    use onegrid_protocol::{QueryResult, ServerMsg};
    let (events, mut rx) = tokio::sync::mpsc::channel(1024);
    let (keep, outgoing) = tokio::sync::mpsc::channel(16);
    let task = rt.spawn(onegrid_console::net::client::run(config, events, outgoing));
    let mut received = vec![];
    let map = rt.block_on(async {
        loop {
            let event = tokio::time::timeout(Duration::from_secs(60), rx.recv()).await;
            match event.expect("an event within a minute").expect("the client runs") {
                NetEvent::Link(LinkState::Down { reason, .. }) => panic!("the link was dropped: {reason}"),
                NetEvent::Receiving(bytes) => received.push(bytes),
                NetEvent::Server(msg) => {
                    if let ServerMsg::Result { result: QueryResult::Map { map }, .. } = *msg {
                        break map;
                    }
                }
                _ => {}
            }
        }
    });
    drop(keep);
    task.abort();
    (received, map)
}

/// A map that takes longer to arrive than the link's silence window (three ping intervals,
/// 9 s) is not a dead link: bytes keep coming. Before the link was judged by bytes, a slow
/// link dropped the connection halfway through the map, and fetched it again, for ever.
#[test]
fn a_map_slower_to_arrive_than_the_silence_window_is_not_a_dead_link() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = common::server(&rt, dir.path(), |_| {});
    let relay = common::LossyRelay::start(&rt, server.addr);
    // Siming's map is about 2.7 MB: some 13 s at 200 kB/s.
    relay.rate.store(200_000, std::sync::atomic::Ordering::SeqCst);
    let config = NetConfig { url: format!("ws://{}", relay.addr), token: "dev-wall".into(), outbox: None, maps: None };
    let started = Instant::now();
    let (received, map) = client_until_map(&rt, config);
    let took = started.elapsed();
    assert!(took > Duration::from_secs(10), "the link was slower than the silence window ({took:?})");
    assert_eq!(map.cells.len(), 8_564);
    assert!(map.cells.iter().all(|c| c.outline.exterior().0.len() == 5), "every cell has its square back");
    // The console was told the bytes as they came, twice a second.
    assert!(received.len() >= 10 && received.windows(2).all(|w| w[0] <= w[1]), "{received:?}");
    assert!(received.last().is_some_and(|&b| b > 2_000_000), "{received:?}");
    rt.block_on(server.shutdown());
}

/// The map is kept across runs: a console started again whose server names the same map
/// (`map_digest`) reads it from its data folder instead of asking; one whose kept file does
/// not read asks again and keeps it anew.
#[test]
fn a_console_started_again_reads_the_map_it_kept_instead_of_asking() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = common::server(&rt, dir.path(), |_| {});
    let maps = dir.path().join("maps");
    // One run of the client until it has the map: whether it asked the server for it (it
    // is told of bytes coming only then), and the map's cells.
    let once = || {
        let config = NetConfig {
            url: format!("ws://{}", server.addr),
            token: "dev-wall".into(),
            outbox: None,
            maps: Some(maps.clone()),
        };
        let (received, map) = client_until_map(&rt, config);
        (!received.is_empty(), map.cells.len())
    };
    // The kept map's file: `<digest>.json` (not the temporary file it is written as first).
    let kept_file = || {
        let files = std::fs::read_dir(&maps).ok()?;
        files.flatten().map(|e| e.path()).find(|p| p.extension().is_some_and(|x| x == "json"))
    };
    let wait_for_file = || {
        let t = Instant::now();
        while kept_file().is_none_or(|p| std::fs::metadata(&p).map_or(0, |m| m.len()) < 1_000_000) {
            assert!(t.elapsed() < Duration::from_secs(30), "the map was kept");
            std::thread::sleep(Duration::from_millis(20));
        }
    };

    assert_eq!(once(), (true, 8_564), "the first run asks the server");
    wait_for_file();
    assert_eq!(once(), (false, 8_564), "the next reads what it kept");
    // A kept file that does not read: asked again, and kept anew.
    let file = kept_file().expect("the kept map");
    std::fs::write(&file, "{\"type\":\"result\",\"req\":\"map\",\"result\":{\"q\":\"map\"").expect("spoilt");
    assert_eq!(once(), (true, 8_564), "a spoilt file: the server is asked");
    wait_for_file();
    assert_eq!(once(), (false, 8_564), "and the map kept again");
    rt.block_on(server.shutdown());
}
