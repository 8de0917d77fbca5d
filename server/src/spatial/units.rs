//! Field units in an R-tree of projected metres, moved in place as positions arrive, with
//! k-nearest queries that skip units failing a filter (status, skill).

use std::collections::HashMap;

use geo_types::Point;
use onegrid_protocol::UnitId;
use rstar::RTree;
use rstar::primitives::GeomWithData;

use super::lattice::LocalMetric;

type Entry = GeomWithData<[f64; 2], UnitId>;

/// Where every unit is.
#[derive(Debug)]
pub struct UnitIndex {
    metric: LocalMetric,
    tree: RTree<Entry>,
    at: HashMap<UnitId, [f64; 2]>,
}

impl UnitIndex {
    /// An empty index measuring in `metric`.
    pub fn new(metric: LocalMetric) -> Self {
        UnitIndex { metric, tree: RTree::new(), at: HashMap::new() }
    }

    /// How many units have a position.
    pub fn len(&self) -> usize {
        self.at.len()
    }

    /// Whether no unit has a position.
    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    /// Moves (or places) a unit.
    pub fn update(&mut self, unit: UnitId, p: Point) {
        let xy = self.metric.to_xy(p);
        if let Some(old) = self.at.insert(unit, xy) {
            if old == xy {
                return;
            }
            self.tree.remove(&GeomWithData::new(old, unit));
        }
        self.tree.insert(GeomWithData::new(xy, unit));
    }

    /// Removes a unit.
    pub fn remove(&mut self, unit: UnitId) {
        if let Some(old) = self.at.remove(&unit) {
            self.tree.remove(&GeomWithData::new(old, unit));
        }
    }

    /// Up to `k` units nearest to `p` that pass `keep`, nearest first, with distances in metres.
    pub fn nearest(&self, p: Point, k: usize, mut keep: impl FnMut(UnitId) -> bool) -> Vec<(UnitId, f64)> {
        let q = self.metric.to_xy(p);
        self.tree
            .nearest_neighbor_iter_with_distance_2(q)
            .filter(|(e, _)| keep(e.data))
            .take(k)
            .map(|(e, d2)| (e.data, d2.sqrt()))
            .collect()
    }

    /// The same answer by scanning every unit: the benchmark's baseline and the tests' oracle.
    pub fn nearest_brute_force(&self, p: Point, k: usize, mut keep: impl FnMut(UnitId) -> bool) -> Vec<(UnitId, f64)> {
        let q = self.metric.to_xy(p);
        let mut all: Vec<(UnitId, f64)> = self
            .at
            .iter()
            .filter(|(id, _)| keep(**id))
            .map(|(id, xy)| (*id, ((xy[0] - q[0]).powi(2) + (xy[1] - q[1]).powi(2)).sqrt()))
            .collect();
        all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        all.truncate(k);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn nearest_matches_brute_force_after_many_moves() {
        let metric = LocalMetric::new(Point::new(118.1, 24.47));
        let mut index = UnitIndex::new(metric);
        let mut rng = Rng::new(11);
        let random_point = |rng: &mut Rng| Point::new(rng.range(118.05, 118.2), rng.range(24.42, 24.52));
        for id in 0..2_000 {
            index.update(id, random_point(&mut rng));
        }
        for _ in 0..5_000 {
            let id = rng.below(2_000) as UnitId;
            index.update(id, random_point(&mut rng));
        }
        assert_eq!(index.len(), 2_000);
        for _ in 0..50 {
            let p = random_point(&mut rng);
            let even = |u: UnitId| u.is_multiple_of(2);
            let fast: Vec<UnitId> = index.nearest(p, 10, even).into_iter().map(|x| x.0).collect();
            let slow: Vec<UnitId> = index.nearest_brute_force(p, 10, even).into_iter().map(|x| x.0).collect();
            assert_eq!(fast, slow);
        }
    }

    #[test]
    fn removed_units_are_not_found() {
        let metric = LocalMetric::new(Point::new(118.1, 24.47));
        let mut index = UnitIndex::new(metric);
        index.update(1, Point::new(118.1, 24.47));
        index.update(2, Point::new(118.2, 24.47));
        index.remove(1);
        let found = index.nearest(Point::new(118.1, 24.47), 5, |_| true);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 2);
        assert!(found[0].1 > 9_000.0 && found[0].1 < 11_000.0);
    }
}
