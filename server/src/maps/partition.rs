//! Cutting a set of lattice cells into contiguous regions of chosen relative sizes:
//! seeds spread by farthest-point sampling from a seeded start, then balanced growth: the
//! region furthest below its target grows next, by the frontier cell nearest its seed
//! (so regions come out round, like Voronoi cells, not diamond-shaped). A region grown
//! this way is connected by construction. Cells unreachable from any seed (islets) join the
//! region of the nearest assigned cell, as exclaves.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};

use crate::rng::Rng;

/// A lattice position (row, column).
pub type Pos = (i32, i32);

const NEIGHBOURS: [Pos; 4] = [(0, 1), (1, 0), (0, -1), (-1, 0)];

/// The 4-connected components of `cells`, largest first, each sorted.
pub fn components(cells: &[Pos]) -> Vec<Vec<Pos>> {
    let set: HashSet<Pos> = cells.iter().copied().collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut sorted = cells.to_vec();
    sorted.sort_unstable();
    for start in sorted {
        if !seen.insert(start) {
            continue;
        }
        let mut comp = vec![start];
        let mut queue = VecDeque::from([start]);
        while let Some((r, c)) = queue.pop_front() {
            for (dr, dc) in NEIGHBOURS {
                let n = (r + dr, c + dc);
                if set.contains(&n) && seen.insert(n) {
                    comp.push(n);
                    queue.push_back(n);
                }
            }
        }
        comp.sort_unstable();
        out.push(comp);
    }
    out.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    out
}

fn dist2(a: Pos, b: Pos) -> i64 {
    let (dr, dc) = (i64::from(a.0 - b.0), i64::from(a.1 - b.1));
    dr * dr + dc * dc
}

/// `k` well-spread seeds among `cells` (sorted, non-empty).
pub fn spread_seeds(cells: &[Pos], k: usize, rng: &mut Rng) -> Vec<Pos> {
    let mut seeds = vec![cells[rng.below(cells.len())]];
    let mut nearest: Vec<i64> = cells.iter().map(|&c| dist2(c, seeds[0])).collect();
    while seeds.len() < k.min(cells.len()) {
        let (i, _) = nearest.iter().enumerate().max_by_key(|(i, d)| (**d, std::cmp::Reverse(*i))).unwrap_or((0, &0));
        let s = cells[i];
        seeds.push(s);
        for (d, &c) in nearest.iter_mut().zip(cells) {
            *d = (*d).min(dist2(c, s));
        }
    }
    seeds
}

/// Grows one region per seed over `cells`; region `i` aims at a share `weights[i]` of them.
/// Returns the region of every cell.
pub fn grow(cells: &[Pos], seeds: &[Pos], weights: &[f64]) -> HashMap<Pos, usize> {
    let set: HashSet<Pos> = cells.iter().copied().collect();
    let total_w: f64 = weights.iter().sum();
    let targets: Vec<f64> = weights.iter().map(|w| w / total_w * cells.len() as f64).collect();
    let mut owner: HashMap<Pos, usize> = HashMap::new();
    let mut sizes = vec![0usize; seeds.len()];
    // Each region's frontier, nearest to its seed first.
    let mut frontier: Vec<BinaryHeap<Reverse<(i64, Pos)>>> =
        seeds.iter().map(|&s| BinaryHeap::from([Reverse((0, s))])).collect();
    loop {
        let next = (0..seeds.len())
            .filter(|&i| !frontier[i].is_empty())
            .min_by(|&a, &b| (sizes[a] as f64 / targets[a]).total_cmp(&(sizes[b] as f64 / targets[b])));
        let Some(r) = next else { break };
        while let Some(Reverse((_, p))) = frontier[r].pop() {
            if owner.contains_key(&p) {
                continue;
            }
            owner.insert(p, r);
            sizes[r] += 1;
            for (dr, dc) in NEIGHBOURS {
                let n = (p.0 + dr, p.1 + dc);
                if set.contains(&n) && !owner.contains_key(&n) {
                    frontier[r].push(Reverse((dist2(n, seeds[r]), n)));
                }
            }
            break;
        }
    }
    attach_strays(cells, &mut owner);
    owner
}

/// Gives every unassigned cell the region of the nearest assigned one.
fn attach_strays(cells: &[Pos], owner: &mut HashMap<Pos, usize>) {
    let strays: Vec<Pos> = cells.iter().copied().filter(|c| !owner.contains_key(c)).collect();
    if strays.is_empty() || owner.is_empty() {
        return;
    }
    let mut assigned: Vec<(Pos, usize)> = owner.iter().map(|(p, r)| (*p, *r)).collect();
    assigned.sort_unstable();
    for s in strays {
        if let Some(&(_, r)) = assigned.iter().min_by_key(|(p, _)| dist2(*p, s)) {
            owner.insert(s, r);
        }
    }
}

/// Partitions `cells` into `weights.len()` regions: seeds spread over the largest component,
/// growth, islets attached. Deterministic for a given `rng` state.
pub fn partition(cells: &[Pos], weights: &[f64], rng: &mut Rng) -> HashMap<Pos, usize> {
    let comps = components(cells);
    let Some(main) = comps.first() else { return HashMap::new() };
    let seeds = spread_seeds(main, weights.len(), rng);
    let mut owner = grow(main, &seeds, &weights[..seeds.len()]);
    attach_strays(cells, &mut owner);
    owner
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(n: i32) -> Vec<Pos> {
        (0..n).flat_map(|r| (0..n).map(move |c| (r, c))).collect()
    }

    #[test]
    fn every_region_is_connected_and_near_its_share() {
        let cells = square(40);
        let weights = [1.0, 2.0, 1.0, 4.0, 2.0];
        let owner = partition(&cells, &weights, &mut Rng::new(5));
        assert_eq!(owner.len(), cells.len());
        for (r, w) in weights.iter().enumerate() {
            let region: Vec<Pos> = cells.iter().copied().filter(|c| owner[c] == r).collect();
            assert_eq!(components(&region).len(), 1, "region {r} is split");
            let share = region.len() as f64 / cells.len() as f64;
            let want = w / 10.0;
            assert!((share - want).abs() < 0.08, "region {r}: {share} vs {want}");
        }
    }

    #[test]
    fn islets_join_the_nearest_region() {
        let mut cells = square(10);
        cells.push((0, 30));
        let owner = partition(&cells, &[1.0, 1.0], &mut Rng::new(1));
        assert_eq!(owner.len(), 101);
        assert_eq!(owner[&(0, 30)], owner[&(0, 9)]);
    }

    #[test]
    fn same_seed_same_partition() {
        let cells = square(25);
        let a = partition(&cells, &[1.0; 6], &mut Rng::new(9));
        let b = partition(&cells, &[1.0; 6], &mut Rng::new(9));
        assert_eq!(a, b);
    }
}
