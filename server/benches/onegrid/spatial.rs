//! `locate` on the Siming cells against pure lattice arithmetic; 10 nearest available units
//! among 10,000 against a brute-force scan.

use std::hint::black_box;

use geo_types::Point;
use onegrid_protocol::UnitStatus;
use onegrid_server::city;
use onegrid_server::rng::Rng;
use onegrid_server::spatial::UnitIndex;

use crate::common::{line, map_dir, points_in_cells, time};

pub fn run() -> anyhow::Result<()> {
    println!("== spatial");
    let city = city::load(&map_dir())?;
    let lattice = city.manifest.lattice.ok_or_else(|| anyhow::anyhow!("no lattice"))?;
    let mut rng = Rng::new(1);
    let points = points_in_cells(&city, 1_000_000, &mut rng, 0.01);
    let (found, t_locate) = time(|| points.iter().filter(|p| black_box(city.cells.locate(**p)).is_some()).count());
    assert_eq!(found, points.len());
    let (_, t_arith) =
        time(|| points.iter().map(|p| black_box(lattice.cell_of(*p))).fold(0i64, |a, (r, c)| a ^ i64::from(r + c)));
    let (_, t_tree) =
        time(|| points.iter().take(100_000).filter(|p| black_box(city.cells.locate_by_tree(**p)).is_some()).count());
    let n = points.len() as f64;
    line("locate (all nets), ns/call", &format!("{:.1}", t_locate / n * 1e9));
    line("lattice arithmetic baseline, ns/call", &format!("{:.1}", t_arith / n * 1e9));
    line("locate / arithmetic (target <= 50x)", &format!("{:.1}x", t_locate / t_arith));
    line("r-tree path (irregular cells), ns/call", &format!("{:.1}", t_tree / 1e5 * 1e9));

    let mut index = UnitIndex::new(city.metric, city.cells.extent());
    // The units as the world holds them; half are busy. The server's `nearest` query filters
    // candidates through this map (status, scope, skill), so the benchmark does too.
    let mut world = onegrid_server::world::WorldState::new(onegrid_server::engine::roster_units(&city));
    let template = world.units.values().next().cloned().ok_or_else(|| anyhow::anyhow!("no unit"))?;
    world.units.clear();
    for id in 0..10_000u32 {
        let mut u = template.clone();
        u.id = id;
        u.status = if rng.chance(0.5) { UnitStatus::Available } else { UnitStatus::EnRoute };
        world.units.insert(id, u);
        index.update(id, points[rng.below(points.len())]);
    }
    let queries: Vec<Point> = (0..2_000).map(|_| points[rng.below(points.len())]).collect();
    let q = queries.len() as f64;
    let units = &world.units;
    let available = |id: u32| units.get(&id).is_some_and(|u| u.status == UnitStatus::Available);
    let (_, t_knn) = time(|| queries.iter().map(|q| black_box(index.nearest(*q, 10, available)).len()).sum::<usize>());
    let (_, t_brute) =
        time(|| queries.iter().map(|q| black_box(index.nearest_brute_force(*q, 10, available)).len()).sum::<usize>());
    line("10 nearest available of 10,000 (bucket grid), us/query", &format!("{:.2}", t_knn / q * 1e6));
    line("brute-force scan baseline (same filter), us/query", &format!("{:.1}", t_brute / q * 1e6));
    line("speed-up (target >= 100x)", &format!("{:.0}x", t_brute / t_knn));
    let flags: Vec<bool> = (0..10_000u32).map(available).collect();
    let cheap = |id: u32| flags[id as usize];
    let (_, t_knn2) = time(|| queries.iter().map(|q| black_box(index.nearest(*q, 10, cheap)).len()).sum::<usize>());
    let (_, t_brute2) =
        time(|| queries.iter().map(|q| black_box(index.nearest_brute_force(*q, 10, cheap)).len()).sum::<usize>());
    line("  same with a precomputed flag array as filter: speed-up", &format!("{:.0}x", t_brute2 / t_knn2));
    let (_, t_move) = time(|| {
        for i in 0..1_000_000u32 {
            index.update(i % 10_000, points[(i as usize * 7) % points.len()]);
        }
    });
    line("position update in place, updates/s", &format!("{:.0}", 1e6 / t_move));
    Ok(())
}
