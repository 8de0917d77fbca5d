//! Following the units sent: the trend and its judges, the samples, the rows and the
//! words, and what a pass over the whole city's units costs (`en_route_cost`).

use super::*;
use crate::live::tests::incident;

fn samples(points: &[(Millis, f64)]) -> VecDeque<(Millis, f64)> {
    points.iter().copied().collect()
}

#[test]
fn closing_speed_gives_the_time_left() {
    // 600 m closed in 60 s: 10 m/s, 1,200 m left → 120 s.
    let s = samples(&[(0, 1_800.0), (30_000, 1_500.0), (60_000, 1_200.0)]);
    assert_eq!(trend(&s), Trend::Closing { eta_s: 120.0 });
    assert_eq!(minutes_words(120.0), "2 分钟");
    assert_eq!(minutes_words(20.0), "1 分钟");
    assert_eq!(minutes_words(3_700.0), "1 小时 2 分钟");
}

#[test]
fn distances_are_the_great_circle_s_within_a_metre_across_a_city() {
    use onegrid_protocol::coord::haversine_m;
    let at = Point::new(118.1, 24.47);
    for (dx, dy) in [(0.0, 0.0), (0.01, 0.0), (0.0, 0.01), (0.2, 0.15), (-0.3, -0.2)] {
        let p = [118.1 + dx, 24.47 + dy];
        let (fast, true_m) = (metres_between(p, at), haversine_m(Point::new(p[0], p[1]), at));
        assert!((fast - true_m).abs() < 1.0, "{dx},{dy}: {fast} against {true_m}");
    }
}

#[test]
fn a_wandering_fix_does_not_make_a_walker_of_a_standing_unit() {
    // Standing 600 m off for a minute, the fix wandering ±10 m, ending 10 m nearer than
    // it began: the two ends alone say 0.67 m/s closing in (a slow walk), the slope
    // says it stands.
    let wander: VecDeque<(Millis, f64)> = (0..=60)
        .map(|s| (s * 1_000, 600.0 + if s % 2 == 0 { 10.0 } else { -10.0 } - (s == 60) as i64 as f64 * 20.0))
        .collect();
    assert_eq!((wander[0].1, wander[60].1), (610.0, 590.0));
    assert_eq!(trend(&wander), Trend::NotClosing);
}

#[test]
fn a_stop_is_said_within_a_minute_and_setting_off_again_is_followed() {
    // Every 3 s: a team closing at 8 m/s for `moving` seconds, then standing.
    let stop = |moving: i64, standing: i64| -> VecDeque<(Millis, f64)> {
        (0..=(moving + standing) / 3)
            .map(|k| (k * 3_000, 2_000.0 - 8.0 * (k * 3).min(moving) as f64))
            .filter(|(t, _)| *t >= (moving + standing) * 1_000 - WINDOW_MS)
            .collect()
    };
    assert!(matches!(trend(&stop(120, 30)), Trend::Closing { .. }), "a red light is not a stop");
    // Stood 57 s: not coming nearer, though the window's slope, a third of it at a
    // team's pace, still says more than 2 m/s.
    let stood = stop(120, 57);
    assert!(closing_speed(&stood, Millis::MIN).is_some_and(|(v, _)| v > 2.0));
    assert_eq!(trend(&stood), Trend::NotClosing);
    // Stood 72 s of the window, then set off again at 2 m/s: followed again at 18 s,
    // where the window's slope (0.23 m/s) alone would still say it stands.
    let again: VecDeque<(Millis, f64)> =
        (0..=30).map(|k| (k * 3_000, 1_000.0 - 2.0 * (k * 3 - 72).max(0) as f64)).collect();
    assert!(closing_speed(&again, Millis::MIN).is_some_and(|(v, _)| v < MIN_CLOSING_M_S));
    assert!(matches!(trend(&again), Trend::Closing { .. }), "{:?}", trend(&again));
}

#[test]
fn a_unit_that_has_just_set_off_is_timed_at_its_new_pace() {
    // Every 3 s: standing 2,000 m off for a minute after it was sent, then closing at
    // 8 m/s for half a minute. The window's slope (2.9 m/s) would say 10 minutes to
    // go; at its pace since, 3.7.
    let s: VecDeque<(Millis, f64)> =
        (0..=30).map(|k| (k * 3_000, 2_000.0 - 8.0 * (k * 3 - 60).max(0) as f64)).collect();
    let window = closing_speed(&s, Millis::MIN).expect("a slope").0;
    assert!(window < 3.0, "{window}");
    assert_eq!(trend(&s), Trend::Closing { eta_s: 1_760.0 / 8.0 });
    // Slowed to 4 m/s for its last half minute (a jam, a red light): still timed at
    // the window's faster pace, not the moment's.
    let slowed: VecDeque<(Millis, f64)> = (0..=30)
        .map(|k| (k * 3_000, 2_000.0 - 8.0 * (k * 3).min(60) as f64 - 4.0 * (k * 3 - 60).max(0) as f64))
        .collect();
    let Trend::Closing { eta_s } = trend(&slowed) else { panic!("closing") };
    let (whole, _) = closing_speed(&slowed, Millis::MIN).expect("a slope");
    assert!((eta_s - slowed[30].1 / whole).abs() < 1e-6 && whole > 6.0, "{eta_s} at {whole}");
}

#[test]
fn too_short_a_watch_tells_nothing_and_a_standing_unit_is_not_closing() {
    assert_eq!(trend(&samples(&[])), Trend::Measuring);
    assert_eq!(trend(&samples(&[(0, 900.0), (10_000, 800.0)])), Trend::Measuring, "10 s is too short");
    // Standing still 30 s: too early to say it is stuck.
    assert_eq!(trend(&samples(&[(0, 900.0), (30_000, 900.0)])), Trend::Measuring);
    // Standing still, or going away, for 45 s and more: not closing in.
    assert_eq!(trend(&samples(&[(0, 900.0), (50_000, 901.0)])), Trend::NotClosing);
    assert_eq!(trend(&samples(&[(0, 900.0), (60_000, 1_400.0)])), Trend::NotClosing);
    // Slower than 0.3 m/s: not closing either; a slow walk is.
    assert_eq!(trend(&samples(&[(0, 900.0), (60_000, 890.0)])), Trend::NotClosing);
    assert_eq!(trend(&samples(&[(0, 900.0), (60_000, 870.0)])), Trend::Closing { eta_s: 1_740.0 });
}

#[test]
fn samples_are_three_seconds_apart_within_the_window_and_per_incident() {
    let mut s = Samples::default();
    for t in (0..200_000).step_by(250) {
        s.take(7, 1, t, 5_000.0 - t as f64 / 100.0, None);
    }
    let got = s.of(7, 1).unwrap();
    assert_eq!(got.len(), 31, "one each 3 s over 90 s, both ends kept");
    assert_eq!((got.front().unwrap().0, got.back().unwrap().0), (198_000 - WINDOW_MS, 198_000));
    assert!(s.of(8, 1).is_none(), "another incident's samples are not these");
    s.take(8, 1, 200_000, 10.0, None);
    assert!(s.of(7, 1).is_none(), "the unit sent elsewhere: its samples of the last start anew");
    assert_eq!(s.of(8, 1).unwrap().len(), 1);
    // A clock that went back (another server): anew.
    s.take(8, 1, 100_000, 11.0, None);
    assert_eq!(s.of(8, 1).unwrap().iter().copied().collect::<Vec<_>>(), [(100_000, 11.0)]);
}

#[test]
fn a_unit_whose_road_leads_away_first_is_judged_by_the_road_ahead() {
    // A team 600 m off in a straight line, its road out round a block: the straight
    // line grows at 2 m/s for a minute and a half while the road ahead shrinks at
    // 8 m/s all the way.
    let mut s = Samples::default();
    for k in 0..=30 {
        let t = k * SAMPLE_EVERY_MS;
        s.take(7, 1, t, 600.0 + 6.0 * k as f64, Some((2_000.0 - 24.0 * k as f64, None)));
    }
    let straight = s.straight_of(7, 1).expect("sampled");
    assert_eq!(trend(straight), Trend::NotClosing, "by the straight line it goes away");
    let Trend::Closing { eta_s } = trend(s.of(7, 1).expect("sampled")) else { panic!("not closing by road") };
    // 1,280 m of road left at 8 m/s.
    assert!((eta_s - 160.0).abs() < 1.0, "{eta_s}");
    // A sample without a road (another server, an island): the road samples start
    // anew, and the trend is the straight line's until they cover 15 s again.
    s.take(7, 1, 93_000, 300.0, None);
    assert_eq!(s.of(7, 1), s.straight_of(7, 1));
    s.take(7, 1, 96_000, 290.0, Some((1_000.0, None)));
    s.take(7, 1, 99_000, 280.0, Some((980.0, None)));
    assert_eq!(s.of(7, 1), s.straight_of(7, 1), "two road samples 3 s apart tell no speed yet");
    for k in 1..=5 {
        s.take(7, 1, 99_000 + k * 3_000, 280.0, Some((980.0 - 20.0 * k as f64, None)));
    }
    assert_eq!(s.of(7, 1).map(VecDeque::len), Some(7), "the road again, over 18 s");
    let leg = Leg::EnRoute { metres: Some(280.0), road: Road::Ahead(880.0), trend: trend(s.of(7, 1).unwrap()) };
    assert_eq!(leg.words(), "在途 · 路程 880 米 · 约 3 分钟到达", "880 m at 6.7 m/s");
    assert_eq!(leg.to_go(), Some(880.0));
}

#[test]
fn the_time_left_is_the_roads_own_time_scaled_by_how_the_unit_keeps_to_it() {
    // A team sent 3 km by road: 2 km of streets at 10 m/s, then 1 km of trunk road at
    // 25 m/s, 240 s without traffic. Just sent: the road's own time, as the list said.
    let mut s = Samples::default();
    s.take(7, 1, 0, 2_000.0, Some((3_000.0, Some(240.0))));
    assert_eq!(s.trend_of(7, 1), Some(Trend::Closing { eta_s: 240.0 }));
    let leg = Leg::EnRoute { metres: Some(2_000.0), road: Road::Ahead(3_000.0), trend: s.trend_of(7, 1).unwrap() };
    assert_eq!(leg.words(), "在途 · 路程 3.0 公里 · 约 4 分钟到达");
    // In traffic at half the streets' speed for 45 s: 5 m/s, its road's time going down
    // half a second a second. Half the roads' time for what is left (1,775 m of streets,
    // 1 km of trunk road): 435 s, where 2,775 m at its 5 m/s would say 555 s.
    for k in 1..=15 {
        let t = k * SAMPLE_EVERY_MS;
        s.take(7, 1, t, 2_000.0 - 10.0 * k as f64, Some((3_000.0 - 15.0 * k as f64, Some(240.0 - 1.5 * k as f64))));
    }
    let Some(Trend::Closing { eta_s }) = s.trend_of(7, 1) else { panic!("{:?}", s.trend_of(7, 1)) };
    assert!((eta_s - 435.0).abs() < 1.0, "{eta_s}");
    let Trend::Closing { eta_s: by_length } = trend(s.of(7, 1).unwrap()) else { panic!("closing") };
    assert!((by_length - 555.0).abs() < 1.0, "{by_length}");
    // Standing for a minute: not coming nearer, whatever its road's time says.
    for k in 16..=36 {
        s.take(7, 1, k * SAMPLE_EVERY_MS, 1_850.0, Some((2_775.0, Some(217.5))));
    }
    assert_eq!(s.trend_of(7, 1), Some(Trend::NotClosing));
    // A server that gives no time: the closing speed, as before.
    let mut old = Samples::default();
    for k in 0..=15 {
        old.take(7, 1, k * SAMPLE_EVERY_MS, 2_000.0 - 10.0 * k as f64, Some((3_000.0 - 15.0 * k as f64, None)));
    }
    assert_eq!(old.trend_of(7, 1), Some(trend(old.of(7, 1).unwrap())));
    assert!(old.time_of(7, 1).is_some_and(VecDeque::is_empty));
}

#[test]
fn rows_say_where_each_unit_stands() {
    let mut i = incident(7, IncidentState::Dispatched);
    i.location = Point::new(118.1, 24.47);
    i.units = vec![1, 2, 3, 4, 5];
    // 0.01° of latitude is about 1,112 m.
    let near = [118.1, 24.48];
    let unit = |id: UnitId| -> Option<UnitNow<'static>> {
        let (status, task) = match id {
            1 => (UnitStatus::EnRoute, Some(7)),
            2 => (UnitStatus::OnScene, Some(7)),
            3 => (UnitStatus::EnRoute, Some(9)),
            4 => (UnitStatus::Available, None),
            _ => return None,
        };
        Some(UnitNow { name: "张三", status, task, lonlat: Some(near), road: Road::Unmeasured })
    };
    let mut s = Samples::default();
    s.take(7, 1, 10_000, 2_312.0, None);
    s.take(7, 1, 100_000, 1_112.0, None);
    let rows = sent_rows(&i, unit, Some(&s));
    let legs: Vec<Leg> = rows.iter().map(|r| r.leg).collect();
    let Leg::EnRoute { metres: Some(m), trend: Trend::Closing { eta_s }, .. } = legs[0] else { panic!("{legs:?}") };
    assert!((m - 1_112.0).abs() < 2.0, "{m}");
    assert!((eta_s - 1_112.0 / (1_200.0 / 90.0)).abs() < 1.0, "1,200 m closed in 90 s: {eta_s}");
    assert_eq!(legs[1..], [Leg::OnScene, Leg::Elsewhere(9), Leg::Released { done: false }, Leg::Unknown]);
    assert_eq!(rows[4].name, "5");
    assert_eq!(rows[0].leg.words(), "在途 · 直线 1.1 公里 · 约 2 分钟到达");
    assert_eq!(Leg::Released { done: false }.words(), "已撤回");
    // Past handling, a freed unit has done its part.
    i.state = IncidentState::Feedback;
    assert_eq!(sent_rows(&i, unit, None)[3].leg, Leg::Released { done: true });
    // Unwatched: measuring; near: arriving, whatever the trend.
    let measuring = sent_rows(&i, unit, None)[0].leg;
    assert_eq!(measuring.words(), "在途 · 直线 1.1 公里");
    let close = Leg::EnRoute { metres: Some(40.0), road: Road::Unmeasured, trend: Trend::NotClosing };
    assert_eq!(close.words(), "在途 · 即将到达");
    assert!(!close.stalled());
    let stuck = Leg::EnRoute { metres: Some(640.0), road: Road::Unmeasured, trend: Trend::NotClosing };
    assert_eq!(stuck.words(), "在途 · 直线 640 米 · 未在接近");
    assert!(stuck.stalled());
}

#[test]
fn the_map_fits_the_incident_and_the_units_on_the_way_only() {
    let proj = Projection::new(118.1, 24.47);
    let mut i = incident(7, IncidentState::Dispatched);
    i.location = Point::new(118.1, 24.47);
    let row = |leg, lonlat| SentRow { unit: 1, name: "a".into(), status: None, lonlat: Some(lonlat), leg };
    let on_way = Leg::EnRoute { metres: None, road: Road::Unmeasured, trend: Trend::Measuring };
    assert_eq!(fit(&proj, &i, &[row(Leg::OnScene, [118.2, 24.5])]), None, "nobody on the way");
    let b = fit(&proj, &i, &[row(on_way, [118.1, 24.48]), row(Leg::Released { done: false }, [118.3, 24.6])]).unwrap();
    // The incident at the origin, the unit ~1,112 m north; the freed unit far off is not in it.
    assert!((b.min[0] + FIT_MARGIN_M).abs() < 1e-6 && (b.max[0] - FIT_MARGIN_M).abs() < 1e-6, "{b:?}");
    assert!((b.min[1] + FIT_MARGIN_M).abs() < 1e-6, "{b:?}");
    assert!((b.max[1] - 1_112.0 - FIT_MARGIN_M).abs() < 2.0, "{b:?}");
}

/// What following every unit on the way costs a frame on the whole city: a pass of
/// [`watch_en_route`] over 11,086 units, 1,000 of them on the way to 200 incidents,
/// their windows full (31 samples), against applying one tick of 500 position updates (the issue's
/// ≤ 1 ms figure) in the same run, medians of 100.
/// `cargo test -p onegrid-console --lib en_route_cost -- --ignored --nocapture`
#[test]
#[ignore]
fn en_route_cost() {
    use crate::live::tests::{send, unit};
    use crate::live::{Feed, LivePlugin};
    use onegrid_protocol::ServerMsg;
    let (units, on_way, incidents) = (11_086u32, 1_000u32, 200u64);
    let near = |id: u32, t: i64| {
        let a = f64::from(id) * 0.37;
        let r = 0.01 + f64::from(id % 50) * 0.0004 - t as f64 * 1e-6;
        [118.1 + r * a.cos(), 24.47 + r * a.sin()]
    };
    let mut app = App::new();
    app.add_plugins(MinimalPlugins).add_plugins(LivePlugin);
    let incs: Vec<Incident> = (1..=incidents)
        .map(|id| {
            let mut i = incident(id, IncidentState::Dispatched);
            i.location = Point::new(118.1, 24.47);
            i
        })
        .collect();
    let us: Vec<_> = (1..=units)
        .map(|id| {
            let mut u = unit(id, if id <= on_way { UnitStatus::EnRoute } else { UnitStatus::Available });
            u.task = (id <= on_way).then_some(u64::from(id) % incidents + 1);
            let p = near(id, 0);
            u.position = Some(Point::new(p[0], p[1]));
            u
        })
        .collect();
    let snapshot = ServerMsg::Snapshot {
        seq: 1,
        journal: "j".into(),
        at: 0,
        incidents: incs,
        units: us,
        cameras: vec![],
        cells: vec![],
    };
    send(&mut app, snapshot);
    let pass = app.world_mut().register_system(watch_en_route);
    app.world_mut().init_resource::<Samples>();
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (mut tick, mut passes) = (vec![], vec![]);
    for k in 1..=200i64 {
        // One tick: 500 units move (those on the way among them), a pass's interval on.
        let rows: Vec<onegrid_protocol::PositionRow> = (0..500u32)
            .map(|j| {
                let id = (j * 22 + k as u32) % units + 1;
                let status = if id <= on_way { UnitStatus::EnRoute } else { UnitStatus::Available };
                let p = near(id, k);
                (id, p[0], p[1], 0.0, status)
            })
            .collect();
        // The road ahead of those on the way, measured with their positions.
        let ahead = rows
            .iter()
            .filter(|r: &&onegrid_protocol::PositionRow| r.4 == UnitStatus::EnRoute)
            .map(|r| (r.0, u64::from(r.0) % incidents + 1, 1_500.0 - k as f64))
            .collect();
        send(
            &mut app,
            ServerMsg::Positions { at: k * SAMPLE_EVERY_MS, units: rows, ahead, ahead_s: vec![], no_road: vec![] },
        );
        let apply = app.world().resource::<Feed>().last_apply_us;
        let t = std::time::Instant::now();
        app.world_mut().run_system(pass).expect("runs");
        let took = t.elapsed().as_secs_f64() * 1e6;
        if k > 100 {
            tick.push(apply);
            passes.push(took);
        }
    }
    let sampled = app.world().resource::<Samples>().len();
    assert_eq!(sampled, on_way as usize);
    let (t, p) = (median(&mut tick), median(&mut passes));
    println!("{units} units, {sampled} on the way: one tick applied {t:.0} µs, a pass {p:.0} µs: {:.2}x", p / t);
}

#[test]
fn the_time_since_dispatch_is_the_last_dispatch() {
    let mut i = incident(7, IncidentState::Dispatched);
    assert_eq!(since_dispatch(&i, 100), None);
    let step = |action: &str, at| onegrid_protocol::Step {
        action: action.into(),
        state: IncidentState::Dispatched,
        by: "d".into(),
        by_name: String::new(),
        at,
        origin: "server".into(),
        note: String::new(),
        units: Vec::new(),
    };
    i.history = vec![step("report", 0), step("dispatch", 60_000), step("return", 120_000), step("dispatch", 300_000)];
    assert_eq!(since_dispatch(&i, 420_000), Some(120_000));
}

#[test]
fn a_units_line_follows_the_rest_of_its_way_and_goes_straight_once_it_has_left_it() {
    // A way east for a kilometre, then north 500 m to the incident.
    let way = [(118.0, 24.4), (118.005, 24.4), (118.00986, 24.4), (118.00986, 24.4045)];
    // Halfway along the second stretch, 10 m off the road: from it to the corner and on.
    let at = [118.0074, 24.40009];
    assert_eq!(way_ahead(&way, at), Some(vec![at, [118.00986, 24.4], [118.00986, 24.4045]]));
    // Round the corner: the incident alone is left.
    let on = [118.00986, 24.402];
    assert_eq!(way_ahead(&way, on), Some(vec![on, [118.00986, 24.4045]]));
    // 300 m off its way (another road): drawn straight until asked again.
    assert_eq!(way_ahead(&way, [118.005, 24.4027]), None);
    // A road there and back: the stretch back, which it is on later.
    let hairpin = [(118.0, 24.4), (118.01, 24.4), (118.01, 24.40001), (118.0, 24.40001)];
    let mid = [118.005, 24.400005];
    assert_eq!(way_ahead(&hairpin, mid), Some(vec![mid, [118.0, 24.40001]]));
    assert_eq!(way_ahead(&[], mid), None);
    assert_eq!(way_ahead(&[(118.0, 24.4)], mid), None);
}
