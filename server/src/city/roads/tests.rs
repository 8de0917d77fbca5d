//! The road graph against small hand-made maps: routes, reach, the road ahead, and each
//! way of going.

use super::*;

fn way(points: &[(f64, f64)], speed_kmh: f64) -> Way {
    Way { line: LineString::from(points.to_vec()), class: "test".into(), speed_kmh }
}

#[test]
fn routes_take_the_faster_road_not_the_shorter() {
    let metric = LocalMetric::new(Point::new(118.0, 24.4));
    // A slow direct road and a fast detour over a shared start and end.
    let ways =
        [way(&[(118.0, 24.4), (118.01, 24.4)], 5.0), way(&[(118.0, 24.4), (118.005, 24.402), (118.01, 24.4)], 60.0)];
    let g = RoadGraph::from_ways(metric, &ways);
    assert_eq!(g.node_count(), 3);
    assert_eq!(g.edge_count(), 3);
    let (a, b) = (g.nearest_node(Point::new(118.0, 24.4)), g.nearest_node(Point::new(118.01, 24.4)));
    let route = g.route(a.expect("a"), b.expect("b")).expect("route");
    assert_eq!(route.points.len(), 3);
    assert!(route.length_m > 1_000.0 && route.time_s < 120.0, "{route:?}");
}

/// A road east from the scene, up and back west over a gap: two units 60 m apart across
/// the gap, one of them 3 km away by road.
fn hairpin() -> RoadGraph {
    let metric = LocalMetric::new(Point::new(118.0, 24.4));
    let ways = [
        way(&[(118.0, 24.4), (118.01, 24.4), (118.01, 24.4006), (118.0, 24.4006)], 30.0),
        way(&[(118.0, 24.4), (117.999, 24.4)], 30.0),
        way(&[(118.2, 24.4), (118.21, 24.4)], 30.0),
    ];
    RoadGraph::from_ways(metric, &ways)
}

#[test]
fn reach_goes_by_the_road_and_each_units_speed() {
    let g = hairpin();
    let scene = Point::new(118.0, 24.4);
    let across = Point::new(118.0, 24.4006); // 67 m straight, about 2.1 km by road
    let behind = Point::new(117.999, 24.4); // 100 m by road
    let island = Point::new(118.2, 24.4); // no road leads there
    let r = g.reach(scene, &[(across, Travel::Pace(3.0)), (behind, Travel::Pace(3.0)), (island, Travel::Pace(3.0))], 3);
    let (a, b) = (r[0].expect("across"), r[1].expect("behind"));
    assert!(a.length_m > 2_000.0 && a.length_m < 2_200.0, "{a:?}");
    assert!((b.length_m - 101.0).abs() < 2.0, "{b:?}");
    assert!((b.time_s - b.length_m / 3.0).abs() < 1e-9);
    assert_eq!(r[2], None, "{r:?}");
    // A faster unit farther by road can arrive sooner, and the search goes on past the
    // slow one reached first to find it.
    let r = g.reach(scene, &[(across, Travel::Pace(30.0)), (behind, Travel::Pace(1.0))], 1);
    assert!(r[0].expect("across").time_s < r[1].expect("behind").time_s, "{r:?}");
    // The search stops once nothing left can beat the soonest `enough`.
    let r = g.reach(scene, &[(across, Travel::Pace(3.0)), (behind, Travel::Pace(3.0))], 1);
    assert!(r[0].is_none() && r[1].is_some(), "{r:?}");
    assert!(g.reach(scene, &[], 1).is_empty());
    let none = RoadGraph::from_ways(LocalMetric::new(scene), &[]);
    assert_eq!(none.reach(scene, &[(behind, Travel::Pace(3.0))], 1), vec![None]);
}

#[test]
fn the_road_ahead_shrinks_steadily_along_the_way_and_is_searched_only_as_far_as_asked() {
    let g = hairpin();
    // The scene 400 m along the first segment east, 10 m north of it.
    let scene = Point::new(118.004, 24.40009);
    let mut f = g.field(scene, Measure::Length);
    assert_eq!(f.len(), 2, "the two ends of the scene's segment, nothing searched yet");
    // A unit driving the hairpin back towards the scene from the far end of the upper
    // road, a fix every 30 to 50 m: the road ahead shrinks by about that much a fix
    // all the way, with no step back where the nearest node changes mid-segment.
    let mut path: Vec<Point> = (0..=20).map(|k| Point::new(118.0 + 0.0005 * f64::from(k), 24.4006)).collect();
    path.push(Point::new(118.01, 24.4003));
    path.extend((0..=20).rev().map(|k| Point::new(118.004 + 0.0003 * f64::from(k), 24.4)));
    let mut last: Option<f64> = None;
    for p in &path {
        let d = g.ahead(&mut f, *p).expect("a road leads there");
        if let Some(l) = last {
            assert!(l - d > 25.0 && l - d < 55.0, "{p:?}: {l:.0} m then {d:.0} m");
        }
        last = Some(d);
    }
    // The last fix is on the scene's own segment, its foot at the scene's: the length
    // along the segment (none), not out to an end and back.
    let end = last.expect("measured");
    assert!((end - 10.0).abs() < 0.5, "{end}");
    // The first fix: along the upper road (1,013 m), the bend (67 m) and 600 m of the
    // first segment (608 m), with the scene's 10 m leg.
    let first = g.ahead(&mut g.field(scene, Measure::Length), path[0]).expect("road");
    assert!((first - 1_698.0).abs() < 5.0, "{first}");
    // A near unit searches little; the island is not reached, however far it searches.
    let mut near = g.field(scene, Measure::Length);
    g.ahead(&mut near, Point::new(118.0045, 24.4)).expect("road");
    assert!(near.len() < 5, "{}", near.len());
    // Asked for by name (`reach`, the dispatcher's list), each fix is as far by road
    // as following found it.
    for p in &path {
        let ahead = g.ahead(&mut g.field(scene, Measure::Length), *p).expect("road");
        let reach = g.reach(scene, &[(*p, Travel::Pace(3.0))], 1)[0].expect("reached");
        assert!((reach.length_m - ahead).abs() < 1e-6, "{p:?}: reach {reach:?}, ahead {ahead}");
    }
    assert_eq!(g.ahead(&mut near, Point::new(118.2, 24.4)), None);
    assert_eq!(near.len(), 5, "the scene's whole road network, and no more");
    let none = RoadGraph::from_ways(LocalMetric::new(scene), &[]);
    assert_eq!(none.ahead(&mut none.field(scene, Measure::Length), scene), None);
    // Let to search two nodes at a time, the far end of the hairpin is told after a
    // few asks, as far as in one; one already told costs nothing more.
    let mut f = g.field(scene, Measure::Length);
    let mut asks = 0;
    let told = loop {
        asks += 1;
        let mut budget = 2;
        match g.ahead_within(&mut f, path[0], &mut budget) {
            Found::NotYet => assert_eq!(budget, 0, "the budget spent"),
            found => break found,
        }
    };
    assert!(asks > 1, "{asks}");
    assert_eq!(told, Found::Way { metres: first, cost: first }, "by length, its cost is its length");
    let mut none_left = 0;
    assert_eq!(g.ahead_within(&mut f, path[0], &mut none_left), told);
    assert_eq!(g.ahead_within(&mut near, Point::new(118.2, 24.4), &mut 100), Found::NoRoad);
}

#[test]
fn a_driver_goes_on_along_the_road_it_is_on_and_off_it_to_the_scene() {
    let g = hairpin();
    let scene = Point::new(118.004, 24.40009);
    let metres = |p: &[Point]| p.windows(2).map(|w| g.metric.metres(w[0], w[1])).sum::<f64>();
    // From the upper road 600 m from the bend, its nearest node 400 m behind: on to the
    // bend, not back to that node first; as long as the road ahead measures it.
    for from in [Point::new(118.004, 24.40062), Point::new(118.0, 24.40065), scene] {
        let r = g.route_between(from, scene, Travel::Drive).expect("a road leads there");
        assert_eq!((r.points[0], r.points[r.points.len() - 1]), (from, scene), "{r:?}");
        assert_eq!(r.speeds_ms.len(), r.points.len());
        let ahead = g.ahead(&mut g.field(scene, Measure::Time), from).expect("road");
        assert!((r.length_m - ahead).abs() < 0.5, "{from:?}: route {:.1} m, ahead {ahead:.1} m", r.length_m);
        assert!((metres(&r.points) - r.length_m).abs() < 0.5, "{r:?}");
    }
    // Along the scene's own segment only, where both meet it.
    let r = g.route_between(Point::new(118.001, 24.39995), scene, Travel::Drive).expect("road");
    assert_eq!(r.points.len(), 4, "{r:?}");
    assert!((r.length_m - (300.0 * 1.01 + 5.5 + 10.0)).abs() < 5.0, "{r:?}");
    assert!(g.route_between(Point::new(118.2, 24.4), scene, Travel::Drive).is_none());
}

#[test]
fn a_vehicle_goes_by_the_fastest_roads_and_a_bicycle_by_the_shortest_alike_everywhere() {
    // From the scene west of a town to a unit east of it: a slow street straight
    // through (1 km at 15 km/h) and a fast ring road round it (1.4 km at 60 km/h).
    let metric = LocalMetric::new(Point::new(118.0, 24.4));
    let ways = [
        way(&[(118.0, 24.4), (118.005, 24.4), (118.00986, 24.4)], 15.0),
        way(&[(118.0, 24.4), (118.0, 24.402), (118.00986, 24.402), (118.00986, 24.4)], 60.0),
    ];
    let g = RoadGraph::from_ways(metric, &ways);
    let (scene, unit) = (Point::new(118.0, 24.4001), Point::new(118.00986, 24.4001));
    let metres = |p: &[Point]| p.windows(2).map(|w| g.metric.metres(w[0], w[1])).sum::<f64>();
    // Both stand 11 m up the ring road from where it leaves the street.
    let (street, ring) = (1_000.0, 1_445.0);
    let r = g.reach(scene, &[(unit, Travel::Drive), (unit, Travel::Pace(3.0))], 2);
    let (drive, bike) = (r[0].expect("driven"), r[1].expect("ridden"));
    assert!((drive.length_m - (ring - 22.2)).abs() < 2.0, "the ring road: {drive:?}");
    assert!((drive.time_s - drive.length_m / (60.0 / 3.6)).abs() < 0.5, "at its speed: {drive:?}");
    assert!((bike.length_m - (street + 22.2)).abs() < 2.0, "the street through: {bike:?}");
    assert!((bike.time_s - bike.length_m / 3.0).abs() < 1e-6, "at its pace: {bike:?}");
    // Following each measures along its own way, as the dispatcher's list did.
    for (travel, reach) in [(Travel::Drive, drive), (Travel::Pace(3.0), bike)] {
        let mut field = g.field(scene, Measure::of(travel));
        let Found::Way { metres, cost } = g.ahead_within(&mut field, unit, &mut 100) else { panic!("no way") };
        assert!((metres - reach.length_m).abs() < 1e-6, "{travel:?}: {metres} against {reach:?}");
        assert!((seconds(travel, cost) - reach.time_s).abs() < 1e-6, "{travel:?}: {cost} against {reach:?}");
    }
    // And each goes that way, at the roads' speeds or its own pace.
    for (travel, reach) in [(Travel::Drive, drive), (Travel::Pace(3.0), bike)] {
        let route = g.route_between(unit, scene, travel).expect("road");
        assert!((route.length_m - reach.length_m).abs() < 0.5, "{travel:?}: {route:?}");
        assert!((metres(&route.points) - route.length_m).abs() < 0.5, "{route:?}");
        assert!((route.time_s - reach.time_s).abs() < 0.5, "{travel:?}: {route:?} against {reach:?}");
    }
    let bike = g.route_between(unit, scene, Travel::Pace(3.0)).expect("road");
    assert!(bike.speeds_ms.iter().all(|v| *v == 3.0), "{bike:?}");
    // Ranked by time, the vehicle farther by road is there first.
    assert!(drive.time_s < bike.time_s && drive.length_m > bike.length_m);
}

#[test]
fn disconnected_nodes_have_no_route() {
    let metric = LocalMetric::new(Point::new(118.0, 24.4));
    let ways = [way(&[(118.0, 24.4), (118.01, 24.4)], 30.0), way(&[(118.1, 24.4), (118.11, 24.4)], 30.0)];
    let g = RoadGraph::from_ways(metric, &ways);
    assert!(g.route(0, 3).is_none());
}
