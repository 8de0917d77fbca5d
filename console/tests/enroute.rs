//! Following the units sent, end to end without a window: a headless desk and the unit's
//! own phone (a second client sending its positions) on a real server; and how good the
//! time left is in the simulated city.

use bevy::prelude::*;
use onegrid_console::desk::enroute::{Leg, Road, Samples, SentRow, Trend, UnitNow, sent_rows};
use onegrid_console::desk::{Desk, Intent};
use onegrid_console::live::{LiveIndex, RoadsAhead, Selection, UnitC, UnitPos};
use onegrid_protocol::{Action, UnitStatus};

mod common;
use common::desk::{client, desk_app, incident, report, settle};
use common::run_until;

/// A unit's own phone: a headless client connected as `dev-unit-<unit>`, which sends its
/// positions as a field unit does.
fn phone(addr: std::net::SocketAddr, unit: u32) -> App {
    client(addr, &format!("dev-unit-{unit}"), None)
}

fn send_position(phone: &mut App, unit: u32, lonlat: [f64; 2]) {
    let mut net = phone.world_mut().resource_mut::<onegrid_console::net::NetLink>();
    let req = net.next_req();
    let cmd = onegrid_protocol::Command::Position(onegrid_protocol::Position {
        unit,
        location: geo_types::Point::new(lonlat[0], lonlat[1]),
        datum: Default::default(),
        heading_deg: 180.0,
    });
    assert!(net.send(onegrid_protocol::ClientMsg::Command { req, cmd, key: None }), "the phone's link is up");
}

/// Metres between two points (WGS-84).
fn metres(a: [f64; 2], b: [f64; 2]) -> f64 {
    onegrid_console::desk::enroute::metres_between(a, geo_types::Point::new(b[0], b[1]))
}

/// The point `d` metres along a line.
fn along(line: &[[f64; 2]], mut d: f64) -> [f64; 2] {
    for w in line.windows(2) {
        let len = metres(w[0], w[1]);
        if d <= len && len > 0.0 {
            let t = d / len;
            return [w[0][0] + t * (w[1][0] - w[0][0]), w[0][1] + t * (w[1][1] - w[0][1])];
        }
        d -= len;
    }
    *line.last().expect("a line")
}

/// The desk's rows for the units sent to `id`, as its detail panel shows them.
fn sent(app: &mut App, id: u64) -> Vec<SentRow> {
    let i = incident(app, id).expect("live");
    let world = app.world_mut();
    let units: std::collections::HashMap<u32, (onegrid_protocol::Unit, UnitPos)> =
        world.query::<(&UnitC, &UnitPos)>().iter(world).map(|(c, p)| (c.0.id, (c.0.clone(), *p))).collect();
    let unit = |u| {
        let (c, p) = units.get(&u)?;
        let road = world.resource::<RoadsAhead>().road(u, id);
        Some(UnitNow { name: c.name.as_str(), status: p.status, task: c.task, lonlat: p.lonlat, road })
    };
    sent_rows(&i, unit, Some(world.resource::<Samples>()))
}

/// A dispatcher follows the unit sent on its way: how far it is and, from how fast it has
/// been closing in, when it should be there; a unit that stops coming nearer is said to;
/// one that starts the work is on the scene, the other sent still on its way until the
/// desk records its arrival, told by radio. The unit's positions come from its own phone,
/// a second client, to a real server whose clock runs 30 times real time.
#[test]
fn the_desk_follows_the_unit_sent_on_its_way() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = common::server(&rt, dir.path(), |c| c.clock = onegrid_server::clock::Clock::scaled(30.0));
    let mut desk = desk_app(server.addr);
    run_until(&mut desk, "the units", |app| !app.world().resource::<LiveIndex>().units.is_empty());
    let at = [118.13044, 24.46149];
    let (text, error) = settle(&mut desk, Intent::Report { report: report(at[0], at[1], "0201"), ticket: 1 });
    assert!(!error, "{text}");
    let Some((1, Ok(id))) = desk.world().resource::<Desk>().reported.clone() else { panic!("not numbered") };
    let (text, error) = settle(&mut desk, Intent::Act { incident: id, action: Action::Accept, note: String::new() });
    assert!(!error, "{text}");
    run_until(&mut desk, "the nearest units", |app| {
        app.world().resource::<Desk>().nearest.as_ref().is_some_and(|(n, u)| *n == id && !u.is_empty())
    });
    let near = desk.world().resource::<Desk>().nearest.as_ref().expect("nearest").1.clone();
    let unit = near[0].unit;
    // The unit's way: the fastest road from 1.2 km north of the scene to it, a fix every
    // 30 m along it.
    let roads = &server.engine.live.city.roads;
    let node = |p: [f64; 2]| roads.nearest_node(geo_types::Point::new(p[0], p[1])).expect("roads");
    let route = roads.route(node([at[0], at[1] + 1_200.0 / 111_195.0]), node(at)).expect("a road to the scene");
    let way: Vec<[f64; 2]> = route.points.iter().map(|p| [p.x(), p.y()]).collect();
    let gone = |k: usize| along(&way, 30.0 * k as f64);
    let step = |desk: &mut App, phone: &mut App, lonlat| {
        send_position(phone, unit, lonlat);
        let until = std::time::Instant::now() + std::time::Duration::from_millis(100);
        while std::time::Instant::now() < until {
            phone.update();
            desk.update();
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    };
    // The unit at the start of its way when it is sent.
    let mut phone = phone(server.addr, unit);
    step(&mut desk, &mut phone, gone(0));
    run_until(&mut desk, "the unit at the start of its way", |app| {
        let e = *app.world().resource::<LiveIndex>().units.get(&unit).expect("indexed");
        let far = gone(0);
        app.world().get::<UnitPos>(e).and_then(|p| p.lonlat).is_some_and(|p| (p[1] - far[1]).abs() < 1e-5)
    });
    let (text, error) = settle(&mut desk, Intent::Dispatch { incident: id, units: vec![unit] });
    assert!(!error, "{text}");
    assert_eq!(desk.world().resource::<Selection>().incident, Some(id), "the report is selected");
    run_until(&mut desk, "the unit on its way", |app| matches!(sent(app, id)[0].leg, Leg::EnRoute { .. }));
    // One more sent (增派): said so, and followed too.
    let (text, error) = settle(&mut desk, Intent::Dispatch { incident: id, units: vec![near[1].unit] });
    assert!(!error && text.contains(&format!("增派 #{id} → {}", near[1].name)), "{text}");
    run_until(&mut desk, "both units on their way", |app| {
        let rows = sent(app, id);
        rows.len() == 2 && rows.iter().all(|r| matches!(r.leg, Leg::EnRoute { .. }))
    });

    // On its way, 30 m every tenth of a second: 10 m/s of the server's clock.
    let moving = std::time::Instant::now();
    for k in 1..=20 {
        step(&mut desk, &mut phone, gone(k));
    }
    // What it truly did, by the server's clock (a loaded machine makes the steps longer).
    let speed = 600.0 / (moving.elapsed().as_secs_f64() * 30.0);
    let straight = metres(gone(20), at);
    run_until(
        &mut desk,
        "the unit 600 m along its way, the road ahead measured there",
        |app| matches!(sent(app, id)[0].leg, Leg::EnRoute { metres: Some(m), road: Road::Ahead(_), .. } if (m - straight).abs() < 5.0),
    );
    let row = sent(&mut desk, id).remove(0);
    let Leg::EnRoute { trend: Trend::Closing { eta_s }, road: Road::Ahead(road), .. } = row.leg else {
        panic!("not closing in: {row:?}")
    };
    // The server measured the road still ahead: no shorter than the straight line, no
    // longer than the rest of its way and on from its end, the road's node nearest the
    // scene, to the scene (along the road and off it: at most √2 times the straight leg).
    let left = route.length_m - 600.0;
    let last = metres(*way.last().expect("a way"), at);
    assert!(
        road >= straight && road <= left + last * 2f64.sqrt() + 1.0,
        "{road:.0} m by road, {straight:.0} m straight, {left:.0} m left and {last:.0} m to the scene"
    );
    // The rest of its way at the speed it came.
    let truth = left / speed;
    assert!((eta_s / truth - 1.0).abs() < 0.25, "{eta_s:.0} s to go, truly {truth:.0} s");
    assert!(row.leg.words().starts_with("在途 · 路程 "), "{}", row.leg.words());

    // The map draws its line along the rest of its way by road, as the server gave it:
    // from where it is, along the roads, to the scene.
    run_until(&mut desk, "the unit's way by road", |app| app.world().resource::<Desk>().way_of(id, unit).is_some());
    let given = desk.world().resource::<Desk>().way_of(id, unit).expect("a way").to_vec();
    let scene = incident(&mut desk, id).expect("live").location;
    let end = given.last().copied().expect("points");
    assert!((end.0 - scene.x()).abs() < 1e-9 && (end.1 - scene.y()).abs() < 1e-9, "{end:?} against {scene:?}");
    let line = onegrid_console::desk::enroute::way_ahead(&given, gone(20)).expect("on its way");
    assert!(line.len() >= 3 && line[0] == gone(20), "{line:?}");

    // Stopped at a crossing, its fix wandering a few metres: not coming nearer, said once
    // its last metres of progress have left the window.
    let mut k = 0;
    let started = std::time::Instant::now();
    while !sent(&mut desk, id)[0].leg.stalled() {
        assert!(started.elapsed().as_secs() < 30, "never said to be stalled: {:?}", sent(&mut desk, id)[0]);
        k += 1;
        let [lon, lat] = gone(20);
        let wander = if k % 2 == 0 { 3.0 } else { -3.0 };
        step(&mut desk, &mut phone, [lon, lat + wander / 111_195.0]);
    }
    assert!(sent(&mut desk, id)[0].leg.words().ends_with("未在接近"));
    // The queue marks the matter (as of the desk's next pass over the units).
    run_until(&mut desk, "the matter marked", |app| app.world().resource::<Samples>().stalled(id));

    // At the scene it starts the work: on the scene, and no longer followed.
    step(&mut desk, &mut phone, at);
    let mut net = phone.world_mut().resource_mut::<onegrid_console::net::NetLink>();
    let req = net.next_req();
    let cmd = onegrid_protocol::Command::Start(onegrid_protocol::Act { incident: id, note: String::new(), unit: None });
    assert!(net.send(onegrid_protocol::ClientMsg::Command { req, cmd, key: None }));
    run_until(&mut desk, "the unit on the scene", |app| {
        phone.update();
        sent(app, id)[0].leg == Leg::OnScene
    });
    run_until(&mut desk, "the unit no longer sampled", |app| app.world().resource::<Samples>().of(id, unit).is_none());
    // The second is still on its way; it tells the desk by radio it is there, and the desk
    // records its arrival for it.
    assert!(matches!(sent(&mut desk, id)[1].leg, Leg::EnRoute { .. }), "{:?}", sent(&mut desk, id)[1]);
    let (text, error) = settle(&mut desk, Intent::Arrived { incident: id, unit: near[1].unit });
    assert!(!error && text.contains(&format!("到场 #{id} → {}", near[1].name)), "{text}");
    run_until(&mut desk, "the second on the scene", |app| sent(app, id).iter().all(|r| r.leg == Leg::OnScene));
    run_until(&mut desk, "the matter no longer marked", |app| !app.world().resource::<Samples>().stalled(id));
    let history = incident(&mut desk, id).expect("live").history;
    let last = history.last().expect("the arrival");
    assert_eq!((last.action.as_str(), last.units.clone()), ("start", vec![near[1].unit]));
}

/// How good the time left is, and how often a unit on its way is said not to be coming
/// nearer, in the simulated city (its units never held up on the way here: each such
/// word is false): the desk watches the server's simulator at 20× for seven minutes (some 50
/// trips); every estimate taken on the way is set against when the unit truly arrived.
/// Three judges on the same samples: the desk's, by how long the road still ahead takes
/// without traffic, scaled by how the unit has kept to it; by the road's length at the
/// unit's closing speed (before); and, as the baseline, the straight line at its closing
/// speed.
/// `cargo test -p onegrid-console --test enroute eta_accuracy -- --ignored --nocapture`
#[test]
#[ignore]
fn eta_accuracy() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    // Units never held up on their way, so that every 未在接近 counted is a false one.
    let server = simulated_at_20x(&rt, dir.path(), 0.0);
    let mut desk = desk_app(server.addr);
    let started = std::time::Instant::now();
    /// Per unit on its way: server time, and the time left each judge gave it (none while
    /// measuring or not closing in).
    type Estimate = (i64, [Option<f64>; 3]);
    let mut on_way: std::collections::HashMap<u32, Vec<Estimate>> = Default::default();
    let (mut factors, mut said_stalled, mut looked, mut trips) = ([vec![], vec![], vec![]], [0; 3], 0, 0);
    let mut last = 0;
    while started.elapsed().as_secs() < 420 {
        desk.update();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let now = desk.world().resource::<onegrid_console::live::Feed>().server_now;
        if now - last < 3_000 {
            continue;
        }
        last = now;
        for row in live_units(&mut desk) {
            let (unit, task, status) = row;
            match (status, task) {
                (UnitStatus::EnRoute, Some(incident)) => {
                    let samples = desk.world().resource::<Samples>();
                    let (Some(desk_trend), Some(road), Some(straight)) = (
                        samples.trend_of(incident, unit),
                        samples.of(incident, unit),
                        samples.straight_of(incident, unit),
                    ) else {
                        continue;
                    };
                    looked += 1;
                    let metres = straight.back().map(|&(_, d)| d);
                    let by_distance = |s| onegrid_console::desk::enroute::trend(s);
                    let legs = [desk_trend, by_distance(road), by_distance(straight)].map(|trend| Leg::EnRoute {
                        metres,
                        road: Road::Unmeasured,
                        trend,
                    });
                    for (said, leg) in said_stalled.iter_mut().zip(&legs) {
                        *said += usize::from(leg.stalled());
                    }
                    let etas = legs.map(|leg| match leg {
                        Leg::EnRoute { trend: Trend::Closing { eta_s }, metres: Some(m), .. } if m >= 60.0 => {
                            Some(eta_s)
                        }
                        _ => None,
                    });
                    on_way.entry(unit).or_default().push((now, etas));
                }
                _ => {
                    if let Some(seen) = on_way.remove(&unit) {
                        trips += 1;
                        for (t, etas) in seen {
                            for (eta, factors) in etas.iter().zip(factors.iter_mut()) {
                                if let Some(eta) = eta {
                                    let truth = (now - t) as f64 / 1_000.0;
                                    factors.push((eta / truth).max(truth / eta));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    println!("{trips} trips, {looked} looks");
    let names = ["by the road's time (the desk's)", "by the road's length", "straight line (baseline)"];
    for ((name, mut factors), said) in names.iter().zip(factors).zip(said_stalled) {
        factors.sort_by(f64::total_cmp);
        let q = |p: f64| factors.get(((factors.len().max(1) - 1) as f64 * p) as usize).copied().unwrap_or_default();
        println!(
            "{name}: {} estimates, off by a factor of {:.2} (median), {:.2} (3 in 4), {:.2} (9 in 10); \
             said not coming nearer in {said} looks",
            factors.len(),
            q(0.5),
            q(0.75),
            q(0.9)
        );
    }
}

/// A server on the simulated city at 20×, its units held up on their way on the share
/// `stall` of their trips.
fn simulated_at_20x(rt: &tokio::runtime::Runtime, data: &std::path::Path, stall: f64) -> onegrid_server::Running {
    common::server(rt, data, |c| {
        common::simulated(c);
        if let Some(p) = c.simulate.as_mut() {
            p.stall = stall;
        }
        c.clock = onegrid_server::clock::Clock::scaled(20.0);
    })
}

/// Each live unit's number, task and status.
fn live_units(app: &mut App) -> Vec<(u32, Option<u64>, UnitStatus)> {
    let world = app.world_mut();
    world.query::<(&UnitC, &UnitPos)>().iter(world).map(|(c, p)| (c.0.id, c.0.task, p.status)).collect()
}

/// How soon a unit held up on its way is said not to be coming nearer, in the simulated
/// city with one trip in two held up (for 5 to 15 minutes, from half a minute to three
/// after it set off): the desk watches the server's simulator at 20× for six minutes. When
/// it truly stopped is read from its own fixes in the same run (the last that moved); a
/// stop counts once it has stood a minute and a half, and one not called before it moved
/// on is missed. Three judges on the same samples: the desk's (`trend`: the last minute's
/// closing speed, by the road still ahead), the same on the straight line (what it used
/// before the server measured the road), and, as the baseline, the straight line's whole
/// 90 s window's slope (what it used before that).
/// Also counted: how often each says it of a unit that moved within the last ten seconds
/// (a road leading away, a bend: not a stop).
/// `cargo test -p onegrid-console --test enroute stall_detection -- --ignored --nocapture`
#[test]
#[ignore]
fn stall_detection() {
    use onegrid_console::desk::enroute::{MIN_CLOSING_M_S, STALL_SPAN_MS, closing_speed, trend};
    let rt = common::runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = simulated_at_20x(&rt, dir.path(), 0.5);
    let mut desk = desk_app(server.addr);
    /// A unit on its way: its matter, last fix, when that fix last moved, when each judge
    /// first said it stalled since.
    struct Way {
        incident: u64,
        at: [f64; 2],
        moved: i64,
        said: [Option<i64>; 3],
    }
    /// What each judge made of the stops: latencies (s), missed, said of a moving unit.
    #[derive(Default)]
    struct Score {
        latencies: Vec<f64>,
        missed: usize,
        moving: usize,
    }
    /// A live unit: number, task, status, position.
    type Seen = (u32, Option<u64>, UnitStatus, Option<[f64; 2]>);
    let mut ways: std::collections::HashMap<u32, Way> = Default::default();
    let mut scores: [Score; 3] = Default::default();
    let mut looks = 0;
    // A stop ends (it moved on, arrived or was freed): counted if it stood long enough.
    let end = |w: &Way, now: i64, scores: &mut [Score; 3]| {
        for (said, score) in w.said.iter().zip(scores.iter_mut()) {
            if let Some(t) = said.filter(|t| *t >= w.moved) {
                score.latencies.push((t - w.moved) as f64 / 1_000.0);
            } else if now - w.moved >= 90_000 {
                score.missed += 1;
            }
        }
    };
    let started = std::time::Instant::now();
    let mut last = 0;
    while started.elapsed().as_secs() < 360 {
        desk.update();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let now = desk.world().resource::<onegrid_console::live::Feed>().server_now;
        if now - last < 1_000 {
            continue;
        }
        last = now;
        let world = desk.world_mut();
        let live: Vec<Seen> = world
            .query::<(&UnitC, &UnitPos)>()
            .iter(world)
            .map(|(c, p)| (c.0.id, c.0.task, p.status, p.lonlat))
            .collect();
        for (unit, task, status, at) in live {
            let on_way = match (status, task, at) {
                (UnitStatus::EnRoute, Some(incident), Some(at)) => Some((incident, at)),
                _ => None,
            };
            let Some((incident, at)) = on_way else {
                if let Some(w) = ways.remove(&unit) {
                    end(&w, now, &mut scores);
                }
                continue;
            };
            let w = ways.entry(unit).or_insert(Way { incident, at, moved: now, said: [None; 3] });
            if w.incident != incident {
                end(w, now, &mut scores);
                *w = Way { incident, at, moved: now, said: [None; 3] };
            }
            if w.at != at {
                if now - w.moved >= 10_000 {
                    end(w, now, &mut scores);
                    w.said = [None; 3];
                }
                (w.at, w.moved) = (at, now);
            }
            let samples = desk.world().resource::<Samples>();
            let (Some(s), Some(straight)) = (samples.of(incident, unit), samples.straight_of(incident, unit)) else {
                continue;
            };
            let window = closing_speed(straight, i64::MIN);
            let judged = [
                trend(s) == Trend::NotClosing,
                trend(straight) == Trend::NotClosing,
                window.is_some_and(|(v, span)| v < MIN_CLOSING_M_S && span >= STALL_SPAN_MS),
            ];
            looks += 1;
            for ((stalled, said), score) in judged.into_iter().zip(w.said.iter_mut()).zip(scores.iter_mut()) {
                if stalled && now - w.moved < 10_000 {
                    score.moving += 1;
                } else if stalled && said.is_none() {
                    *said = Some(now);
                }
            }
        }
    }
    let names = [
        "the road ahead, the last minute (the desk's)",
        "the straight line, the last minute (before)",
        "the straight line, the whole window (baseline)",
    ];
    for (name, score) in names.iter().zip(scores.iter_mut()) {
        let l = &mut score.latencies;
        l.sort_by(f64::total_cmp);
        let q = |p: f64| l.get(((l.len().max(1) - 1) as f64 * p) as usize).copied().unwrap_or_default();
        println!(
            "{name}: {} stops said {:.0} s (median), {:.0} s (9 in 10), {:.0} s (longest) of the server's clock \
             after the unit stopped; {} missed; said of a unit still moving in {} of {looks} looks",
            l.len(),
            q(0.5),
            q(0.9),
            q(1.0),
            score.missed,
            score.moving
        );
    }
}
