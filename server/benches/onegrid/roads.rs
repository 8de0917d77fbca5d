//! The nearest units by road against the nearest in a straight line (and in a straight
//! line at each unit's typical speed), on Siming's roster: which unit each picks for the
//! same incidents, how long that unit then takes the way the simulated city moves it (a
//! team by the fastest roads at their speeds, a grid worker by the shortest at its pace),
//! how close the road estimate comes to that, and what a `nearest` query costs with the roads
//! searched against without: for any unit, and for teams only (as the desk asks for the
//! units with the skill a matter calls for, fewer and farther apart); what drawing the
//! ways of the units sent costs (`ways`) against their `reach`; and what following the
//! units sent costs the position pump (`follow`).
//!
//! `ONEGRID_BENCH_MAP=DIR` measures another map directory (say `maps build --profile city`).

use std::hint::black_box;

use geo_types::Point;
use onegrid_protocol::Travel;
use onegrid_server::city::roads::Measure;
use onegrid_server::city::{self, Reach};
use onegrid_server::rng::Rng;
use onegrid_server::spatial::UnitIndex;

use crate::common::{line, map_dir, percentile, points_in_cells, time};

/// Units' positions and how they go.
type Paced = Vec<(Point, Travel)>;

/// A speed to guess a unit's time by in a straight line: a vehicle's in city traffic.
fn typical_ms(t: Travel) -> f64 {
    match t {
        Travel::Drive => 8.0,
        Travel::Pace(v) => v,
    }
}

/// Straight-line candidates the server routes for a query (its pool for k = 8).
const POOL: usize = 32;

pub fn run() -> anyhow::Result<()> {
    println!("== roads");
    let city = city::load(&std::env::var_os("ONEGRID_BENCH_MAP").map_or_else(map_dir, Into::into))?;
    let roads = &city.roads;
    let units = onegrid_server::engine::roster_units(&city);
    let start: Vec<Point> = city.roster.iter().map(|r| Point::new(r.start[0], r.start[1])).collect::<Vec<_>>();
    let mut index = UnitIndex::new(city.metric, city.cells.extent());
    for (i, p) in start.iter().enumerate() {
        index.update(i as u32, *p);
    }
    let travel: Vec<Travel> = units.iter().map(|u| u.kind.travel()).collect();
    let speed: Vec<f64> = travel.iter().map(|t| typical_ms(*t)).collect();
    line(
        "roster units, road nodes, road edges",
        &format!("{}, {}, {}", units.len(), roads.node_count(), roads.edge_count()),
    );

    let mut rng = Rng::new(7);
    let scenes = points_in_cells(&city, 2_000, &mut rng, 0.05);
    // How long unit `u` takes to `scene` as the simulated city moves it: onto the road it
    // is on, its way by road (the fastest, or the shortest), off the road to the scene.
    let driven =
        |u: usize, scene: Point| -> Option<f64> { Some(roads.route_between(start[u], scene, travel[u])?.time_s) };
    let all = |_: u32| true;
    let (mut by_line, mut by_pace, mut by_road, mut estimate) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut line_stranded, mut differ) = (0, 0);
    for scene in &scenes {
        let pool = index.nearest(*scene, POOL, all);
        let Some(&(straight, _)) = pool.first() else { continue };
        // The straight line at each unit's typical speed: what the roads add beyond knowing
        // that a team drives faster than a grid worker rides.
        let paced = pool.iter().min_by(|a, b| (a.1 / speed[a.0 as usize]).total_cmp(&(b.1 / speed[b.0 as usize])));
        let paced = paced.map_or(straight, |p| p.0);
        let targets: Paced = pool.iter().map(|(u, _)| (start[*u as usize], travel[*u as usize])).collect();
        let reached = roads.reach(*scene, &targets, 1);
        let soonest = pool
            .iter()
            .zip(&reached)
            .filter_map(|((u, _), r)| r.map(|r: Reach| (*u, r)))
            .min_by(|a, b| a.1.time_s.total_cmp(&b.1.time_s));
        let Some((routed, reach)) = soonest else { continue };
        differ += usize::from(routed != straight);
        let Some(t_road) = driven(routed as usize, *scene) else { continue };
        estimate.push(reach.time_s / t_road);
        match (driven(straight as usize, *scene), driven(paced as usize, *scene)) {
            (Some(t_line), Some(t_pace)) => {
                by_line.push(t_line);
                by_pace.push(t_pace);
                by_road.push(t_road);
            }
            _ => line_stranded += 1,
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let sorted = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v
    };
    let (sl, sp, sr) = (sorted(&by_line), sorted(&by_pace), sorted(&by_road));
    line("scenes; the road pick differs from the straight-line pick", &format!("{}; {differ}", scenes.len()));
    line("a straight-line pick that no road leads from", &format!("{line_stranded}"));
    line(
        "driven time, straight-line pick (baseline): mean · p50 · p90, s",
        &format!("{:.0} · {:.0} · {:.0}", mean(&sl), percentile(&sl, 0.5), percentile(&sl, 0.9)),
    );
    line(
        "driven time, straight line at each unit's speed: mean · p50 · p90, s",
        &format!("{:.0} · {:.0} · {:.0}", mean(&sp), percentile(&sp, 0.5), percentile(&sp, 0.9)),
    );
    line(
        "driven time, road pick: mean · p50 · p90, s",
        &format!("{:.0} · {:.0} · {:.0}", mean(&sr), percentile(&sr, 0.5), percentile(&sr, 0.9)),
    );
    line("road pick / straight-line pick, mean driven time", &format!("{:.2}x", mean(&sr) / mean(&sl)));
    line("road pick / straight line at each unit's speed", &format!("{:.2}x", mean(&sr) / mean(&sp)));
    let se = sorted(&estimate);
    line(
        "estimate / driven, road pick: p10 · p50 · p90",
        &format!("{:.2} · {:.2} · {:.2}", percentile(&se, 0.1), percentile(&se, 0.5), percentile(&se, 0.9)),
    );

    // What a query costs: the straight-line pool and its roads against the straight-line
    // nearest alone (the query before the roads); k = 8 of any unit, k = 4 of the teams.
    let teams: Vec<bool> = units.iter().map(|u| u.kind == onegrid_protocol::UnitKind::Team).collect();
    line("teams among them", &format!("{}", teams.iter().filter(|t| **t).count()));
    let n = scenes.len() as f64;
    for (what, k, keep) in [("8 of any unit", 8, None), ("4 teams", 4, Some(&teams))] {
        let keep = |u: u32| keep.is_none_or(|t| t[u as usize]);
        let pool = (k * 4).max(POOL);
        let (_, t_line) = time(|| scenes.iter().map(|s| black_box(index.nearest(*s, k, keep)).len()).sum::<usize>());
        let (_, t_road) = time(|| {
            scenes
                .iter()
                .map(|s| {
                    let pool = index.nearest(*s, pool, keep);
                    let targets: Paced = pool.iter().map(|(u, _)| (start[*u as usize], travel[*u as usize])).collect();
                    black_box(roads.reach(*s, &targets, k)).len()
                })
                .sum::<usize>()
        });
        line(&format!("nearest {what} in a straight line (baseline), us/query"), &format!("{:.1}", t_line / n * 1e6));
        line(&format!("nearest {what} by road (pool of {pool} routed), us/query"), &format!("{:.1}", t_road / n * 1e6));
        line("  by road / straight line, cost", &format!("{:.1}x", t_road / t_line));
    }
    // Following two teams sent: the road still ahead of each, asked for by name (`reach`:
    // the search goes on until both are reached), against the selection's `nearest` (8 of
    // any unit by road) as the baseline. The teams: the two soonest by road to the scene,
    // and, as from farther out, the 9th and 10th in a straight line.
    let pace = |u: u32| (start[u as usize], travel[u as usize]);
    let team = |u: u32| teams[u as usize];
    let sent: Vec<(Point, Paced, Paced)> = scenes
        .iter()
        .map(|s| {
            let pool = index.nearest(*s, POOL, team);
            let near: Paced = pool.iter().take(2).map(|(u, _)| pace(*u)).collect();
            let far: Paced = pool.iter().skip(8).take(2).map(|(u, _)| pace(*u)).collect();
            (*s, near, far)
        })
        .collect();
    let (_, t_nearest) = time(|| {
        scenes
            .iter()
            .map(|s| {
                let pool = index.nearest(*s, POOL, all);
                let targets: Paced = pool.iter().map(|(u, _)| pace(*u)).collect();
                black_box(roads.reach(*s, &targets, 8)).len()
            })
            .sum::<usize>()
    });
    let (_, t_near) = time(|| sent.iter().map(|(s, n, _)| black_box(roads.reach(*s, n, n.len())).len()).sum::<usize>());
    let (_, t_far) = time(|| sent.iter().map(|(s, _, f)| black_box(roads.reach(*s, f, f.len())).len()).sum::<usize>());
    line("nearest 8 of any unit by road (baseline), us/query", &format!("{:.1}", t_nearest / n * 1e6));
    line("reach of the 2 nearest teams, us/query", &format!("{:.1}", t_near / n * 1e6));
    line("  reach / nearest", &format!("{:.2}x", t_near / t_nearest));
    line("reach of the 9th and 10th nearest teams, us/query", &format!("{:.1}", t_far / n * 1e6));
    line("  reach / nearest", &format!("{:.2}x", t_far / t_nearest));
    // The same teams' ways to draw on the map (`ways`: one A* each, with its points),
    // against their `reach` (one search for both, lengths and times only).
    let ways = |pick: fn(&(Point, Paced, Paced)) -> &Paced| {
        let count =
            |(s, t): (&Point, &Paced)| t.iter().filter_map(|(p, v)| black_box(roads.route_between(*p, *s, *v))).count();
        time(|| sent.iter().map(|x| count((&x.0, pick(x)))).sum::<usize>()).1
    };
    let (w_near, w_far) = (ways(|x| &x.1), ways(|x| &x.2));
    line("ways of the 2 nearest teams, us/query", &format!("{:.1}", w_near / n * 1e6));
    line("  ways / reach of the same", &format!("{:.2}x", w_near / t_near));
    line("ways of the 9th and 10th nearest teams, us/query", &format!("{:.1}", w_far / n * 1e6));
    line("  ways / reach of the same", &format!("{:.2}x", w_far / t_far));
    follow(&city, &sent)
}

/// Following units on their way as the position pump does: the two nearest teams sent to
/// each of 300 scenes drive the fastest road there, a fix every 24 m (3 s at 8 m/s), the
/// fixes of each scene's two in the order they come. The road still ahead of
/// each fix from a search kept per scene (`RoadGraph::field`, `ahead`: the server's way)
/// against a fresh search for each fix (`reach` of the one unit, the baseline), with how
/// far the kept searches grew.
fn follow(city: &city::City, sent: &[(Point, Paced, Paced)]) -> anyhow::Result<()> {
    let roads = &city.roads;
    let fixes_along = |from: Point, scene: Point| -> Vec<Point> {
        let Some(route) = roads.route_between(from, scene, Travel::Drive) else { return vec![] };
        let mut out = vec![];
        let mut next = 0.0;
        let mut gone = 0.0;
        for w in route.points.windows(2) {
            let len = city.metric.metres(w[0], w[1]);
            while next <= gone + len && len > 0.0 {
                let t = (next - gone) / len;
                out.push(Point::new(w[0].x() + t * (w[1].x() - w[0].x()), w[0].y() + t * (w[1].y() - w[0].y())));
                next += 24.0;
            }
            gone += len;
        }
        out
    };
    // Per scene: its units' fixes, interleaved as they come in.
    let trips: Vec<(Point, Vec<Point>)> = sent
        .iter()
        .take(300)
        .map(|(scene, near, _)| {
            let ways: Vec<Vec<Point>> = near.iter().map(|(p, _)| fixes_along(*p, *scene)).collect();
            let longest = ways.iter().map(Vec::len).max().unwrap_or(0);
            let fixes = (0..longest).flat_map(|k| ways.iter().filter_map(move |w| w.get(k).copied())).collect();
            (*scene, fixes)
        })
        .collect();
    let fixes: usize = trips.iter().map(|(_, f)| f.len()).sum();
    let ((measured, nodes), t_kept) = time(|| {
        let (mut measured, mut nodes) = (0usize, Vec::new());
        for (scene, fixes) in &trips {
            let mut field = roads.field(*scene, Measure::Time);
            measured += fixes.iter().filter(|p| black_box(roads.ahead(&mut field, **p)).is_some()).count();
            nodes.push(field.len() as f64);
        }
        (measured, nodes)
    });
    let (_, t_fresh) = time(|| {
        trips
            .iter()
            .map(|(scene, fixes)| {
                fixes.iter().filter(|p| black_box(roads.reach(*scene, &[(**p, Travel::Drive)], 1))[0].is_some()).count()
            })
            .sum::<usize>()
    });
    let nodes = {
        let mut n = nodes;
        n.sort_by(f64::total_cmp);
        n
    };
    // Each fix timed alone, in a second pass: what one tick of the pump can cost at worst
    // (the first fix of a scene's farthest unit grows the search out to it), each fix let
    // to grow its search as far as it takes (baseline) and by at most what the pump allows
    // a tick (`STEPS_PER_TICK`, asked again at its next fix where that was not enough, as
    // the pump does). Each: the times sorted, the most nodes one fix added, and how many
    // fixes were told a fix later.
    let timed = |steps: usize| {
        let (mut times, mut grew, mut not_yet) = (Vec::with_capacity(fixes), 0usize, 0usize);
        for (scene, fixes) in &trips {
            let mut field = roads.field(*scene, Measure::Time);
            for p in fixes {
                let mut budget = steps;
                let before = field.len();
                let started = std::time::Instant::now();
                let found = black_box(roads.ahead_within(&mut field, *p, &mut budget));
                times.push(started.elapsed().as_secs_f64() * 1e6);
                grew = grew.max(field.len() - before);
                not_yet += usize::from(found == onegrid_server::city::roads::Found::NotYet);
            }
        }
        times.sort_by(f64::total_cmp);
        (times, grew, not_yet)
    };
    let (each, grew_alone, _) = timed(usize::MAX);
    let (budgeted, grew_tick, not_yet) = timed(onegrid_server::engine::ahead::STEPS_PER_TICK);
    line("followed: scenes, fixes, fixes with a road ahead", &format!("{}, {fixes}, {measured}", trips.len()));
    line("road ahead, a fresh search a fix (baseline), us/fix", &format!("{:.1}", t_fresh / fixes as f64 * 1e6));
    line("road ahead, a search kept per scene, us/fix", &format!("{:.2}", t_kept / fixes as f64 * 1e6));
    line("  kept / fresh", &format!("{:.3}x", t_kept / t_fresh));
    let spread =
        |t: &[f64]| format!("{:.2} · {:.1} · {:.0}", percentile(t, 0.5), percentile(t, 0.99), percentile(t, 1.0));
    line("a fix timed alone, kept: p50 · p99 · max, us", &spread(&each));
    line(
        "  within a tick's steps: p50 · p99 · max, us; fixes told next time",
        &format!("{}; {not_yet}", spread(&budgeted)),
    );
    line("  longest within a tick / longest", &format!("{:.3}x", percentile(&budgeted, 1.0) / percentile(&each, 1.0)));
    line("most nodes one fix added to its search: alone · within a tick", &format!("{grew_alone} · {grew_tick}"));
    line(
        "nodes a kept search reached: p50 · p90 · max (of the graph's)",
        &format!(
            "{:.0} · {:.0} · {:.0} ({})",
            percentile(&nodes, 0.5),
            percentile(&nodes, 0.9),
            percentile(&nodes, 1.0),
            roads.node_count()
        ),
    );
    Ok(())
}
