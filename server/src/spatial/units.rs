//! Field units in a uniform grid of buckets in projected metres. A move is O(1) and in
//! place (a unit changes bucket at most); k-nearest queries search rings of buckets
//! outwards and stop once the k-th unit found is nearer than anything left unsearched, so
//! the answer is exact. Units outside the grid's extent sit in a small list every query
//! scans.

use std::collections::HashMap;

use geo_types::Point;
use onegrid_protocol::UnitId;
use smallvec::SmallVec;

use super::lattice::LocalMetric;

/// Bucket size, metres: about one unit per bucket at 10,000 units over a district.
pub const BUCKET_M: f64 = 150.0;

const OUTSIDE: usize = usize::MAX;

/// A bucket keeps a few units inline, so that neighbouring buckets lie in one piece of
/// memory and a ring search reads a few cache lines, not a pointer per bucket.
type Bucket = SmallVec<[(UnitId, [f64; 2]); 3]>;

/// Where every unit is.
#[derive(Debug)]
pub struct UnitIndex {
    metric: LocalMetric,
    origin: [f64; 2],
    cols: i64,
    rows: i64,
    buckets: Vec<Bucket>,
    outside: Bucket,
    at: HashMap<UnitId, ([f64; 2], usize)>,
}

impl UnitIndex {
    /// An empty index over the lon/lat box `extent` (south-west, north-east) in `metric`.
    pub fn new(metric: LocalMetric, extent: (Point, Point)) -> Self {
        let (a, b) = (metric.to_xy(extent.0), metric.to_xy(extent.1));
        let origin = [a[0].min(b[0]), a[1].min(b[1])];
        let cols = (((a[0] - b[0]).abs() / BUCKET_M).ceil() as i64).max(1);
        let rows = (((a[1] - b[1]).abs() / BUCKET_M).ceil() as i64).max(1);
        UnitIndex {
            metric,
            origin,
            cols,
            rows,
            buckets: vec![Bucket::new(); (cols * rows) as usize],
            outside: Bucket::new(),
            at: HashMap::new(),
        }
    }

    fn cell(&self, xy: [f64; 2]) -> (i64, i64) {
        (((xy[0] - self.origin[0]) / BUCKET_M).floor() as i64, ((xy[1] - self.origin[1]) / BUCKET_M).floor() as i64)
    }

    fn slot(&self, xy: [f64; 2]) -> usize {
        let (c, r) = self.cell(xy);
        if c < 0 || r < 0 || c >= self.cols || r >= self.rows { OUTSIDE } else { (r * self.cols + c) as usize }
    }

    fn list(&mut self, slot: usize) -> &mut Bucket {
        if slot == OUTSIDE { &mut self.outside } else { &mut self.buckets[slot] }
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
        let slot = self.slot(xy);
        match self.at.insert(unit, (xy, slot)) {
            Some((_, old)) if old == slot => {
                if let Some(e) = self.list(slot).iter_mut().find(|e| e.0 == unit) {
                    e.1 = xy;
                }
            }
            Some((_, old)) => {
                let list = self.list(old);
                if let Some(i) = list.iter().position(|e| e.0 == unit) {
                    list.swap_remove(i);
                }
                self.list(slot).push((unit, xy));
            }
            None => self.list(slot).push((unit, xy)),
        }
    }

    /// Removes a unit.
    pub fn remove(&mut self, unit: UnitId) {
        if let Some((_, slot)) = self.at.remove(&unit) {
            let list = self.list(slot);
            if let Some(i) = list.iter().position(|e| e.0 == unit) {
                list.swap_remove(i);
            }
        }
    }

    /// Up to `k` units nearest to `p` that pass `keep`, nearest first, with distances in metres.
    ///
    /// Rings of buckets are gathered outwards; candidates are then tested with `keep` in
    /// order of distance, only until `k` pass (the filter — status, scope, skill — is the
    /// expensive part). The search stops when the k-th passing unit is nearer than the edge
    /// of the searched block, so the answer is exact.
    pub fn nearest(&self, p: Point, k: usize, mut keep: impl FnMut(UnitId) -> bool) -> Vec<(UnitId, f64)> {
        if k == 0 || self.at.is_empty() {
            return Vec::new();
        }
        let q = self.metric.to_xy(p);
        let d2 = |xy: [f64; 2]| (xy[0] - q[0]).powi(2) + (xy[1] - q[1]).powi(2);
        // (squared distance, unit, verdict: 0 unknown, 1 kept, 2 refused)
        let mut cand: Vec<(f64, UnitId, u8)> = Vec::with_capacity(16 * k);
        cand.extend(self.outside.iter().map(|e| (d2(e.1), e.0, 0)));
        let (c0, r0) = self.cell(q);
        let (c0, r0) = (c0.clamp(0, self.cols - 1), r0.clamp(0, self.rows - 1));
        let mut kept: Vec<(UnitId, f64)> = Vec::with_capacity(k);
        for ring in 0i64.. {
            for r in (r0 - ring).max(0)..=(r0 + ring).min(self.rows - 1) {
                let whole_row = r == r0 - ring || r == r0 + ring;
                let (left, right) = (c0 - ring, c0 + ring);
                let mut scan =
                    |c: i64| cand.extend(self.buckets[(r * self.cols + c) as usize].iter().map(|e| (d2(e.1), e.0, 0)));
                if whole_row {
                    (left.max(0)..=right.min(self.cols - 1)).for_each(&mut scan);
                } else {
                    // Inner rows have only their two ends on this ring.
                    if left >= 0 {
                        scan(left);
                    }
                    if right < self.cols && right != left {
                        scan(right);
                    }
                }
            }
            let covers_all =
                c0 - ring <= 0 && r0 - ring <= 0 && c0 + ring >= self.cols - 1 && r0 + ring >= self.rows - 1;
            if cand.len() < k && !covers_all {
                continue;
            }
            cand.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            kept.clear();
            for c in cand.iter_mut() {
                if c.2 == 0 {
                    c.2 = if keep(c.1) { 1 } else { 2 };
                }
                if c.2 == 1 {
                    kept.push((c.1, c.0));
                    if kept.len() == k {
                        break;
                    }
                }
            }
            // Nothing unsearched is nearer than the searched block's edge.
            let x0 = self.origin[0] + (c0 - ring) as f64 * BUCKET_M;
            let x1 = self.origin[0] + (c0 + ring + 1) as f64 * BUCKET_M;
            let y0 = self.origin[1] + (r0 - ring) as f64 * BUCKET_M;
            let y1 = self.origin[1] + (r0 + ring + 1) as f64 * BUCKET_M;
            let bound = (q[0] - x0).min(x1 - q[0]).min(q[1] - y0).min(y1 - q[1]);
            let done = kept.len() == k && kept.last().is_some_and(|l| bound > 0.0 && l.1 <= bound * bound);
            if done || covers_all {
                break;
            }
        }
        kept.into_iter().map(|(id, d2)| (id, d2.sqrt())).collect()
    }

    /// The same answer by scanning every unit: the benchmark's baseline and the tests' oracle.
    pub fn nearest_brute_force(&self, p: Point, k: usize, mut keep: impl FnMut(UnitId) -> bool) -> Vec<(UnitId, f64)> {
        let q = self.metric.to_xy(p);
        let mut all: Vec<(UnitId, f64)> = self
            .at
            .iter()
            .filter(|(id, _)| keep(**id))
            .map(|(id, (xy, _))| (*id, (xy[0] - q[0]).powi(2) + (xy[1] - q[1]).powi(2)))
            .collect();
        let by_distance = |a: &(UnitId, f64), b: &(UnitId, f64)| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0));
        if all.len() > k && k > 0 {
            all.select_nth_unstable_by(k - 1, by_distance);
            all.truncate(k);
        }
        all.sort_by(by_distance);
        all.into_iter().map(|(id, d2)| (id, d2.sqrt())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn nearest_matches_brute_force_after_many_moves() {
        let metric = LocalMetric::new(Point::new(118.1, 24.47));
        // The extent is smaller than where units go: some live outside the grid.
        let mut index = UnitIndex::new(metric, (Point::new(118.07, 24.44), Point::new(118.18, 24.5)));
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
            let rare = |u: UnitId| u.is_multiple_of(97);
            let fast: Vec<UnitId> = index.nearest(p, 5, rare).into_iter().map(|x| x.0).collect();
            let slow: Vec<UnitId> = index.nearest_brute_force(p, 5, rare).into_iter().map(|x| x.0).collect();
            assert_eq!(fast, slow, "a filter that keeps few widens the search");
            let fast: Vec<UnitId> = index.nearest(p, 10, even).into_iter().map(|x| x.0).collect();
            let slow: Vec<UnitId> = index.nearest_brute_force(p, 10, even).into_iter().map(|x| x.0).collect();
            assert_eq!(fast, slow);
        }
    }

    #[test]
    fn removed_units_are_not_found() {
        let metric = LocalMetric::new(Point::new(118.1, 24.47));
        let mut index = UnitIndex::new(metric, (Point::new(118.0, 24.4), Point::new(118.15, 24.5)));
        index.update(1, Point::new(118.1, 24.47));
        index.update(2, Point::new(118.2, 24.47));
        index.remove(1);
        let found = index.nearest(Point::new(118.1, 24.47), 5, |_| true);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, 2);
        assert!(found[0].1 > 9_000.0 && found[0].1 < 11_000.0);
        assert!(index.nearest(Point::new(118.1, 24.47), 5, |_| false).is_empty());
    }
}
