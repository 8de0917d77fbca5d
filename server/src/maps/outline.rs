//! The outline of a set of lattice cells as polygons: boundary edges walked into rings,
//! collinear vertices removed, holes put into the polygon around them.

use std::collections::{HashMap, HashSet};

use geo::Contains;
use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon};

use super::partition::Pos;
use crate::spatial::Lattice;

/// Directed boundary edges with the cells on their left (counter-clockwise exteriors).
fn boundary_edges(cells: &HashSet<Pos>) -> Vec<(Pos, Pos)> {
    let mut edges = Vec::new();
    let mut sorted: Vec<Pos> = cells.iter().copied().collect();
    sorted.sort_unstable();
    for (r, c) in sorted {
        if !cells.contains(&(r - 1, c)) {
            edges.push(((r, c), (r, c + 1)));
        }
        if !cells.contains(&(r, c + 1)) {
            edges.push(((r, c + 1), (r + 1, c + 1)));
        }
        if !cells.contains(&(r + 1, c)) {
            edges.push(((r + 1, c + 1), (r + 1, c)));
        }
        if !cells.contains(&(r, c - 1)) {
            edges.push(((r + 1, c), (r, c)));
        }
    }
    edges
}

/// Rings of lattice nodes, closed, without collinear vertices.
fn rings(cells: &HashSet<Pos>) -> Vec<Vec<Pos>> {
    let edges = boundary_edges(cells);
    let mut from: HashMap<Pos, Vec<usize>> = HashMap::new();
    for (i, e) in edges.iter().enumerate() {
        from.entry(e.0).or_default().push(i);
    }
    let mut used = vec![false; edges.len()];
    let mut out = Vec::new();
    for start in 0..edges.len() {
        if used[start] {
            continue;
        }
        let mut ring = vec![edges[start].0];
        let mut at = start;
        loop {
            used[at] = true;
            let end = edges[at].1;
            ring.push(end);
            let next = from.get(&end).and_then(|c| c.iter().copied().find(|&i| !used[i]));
            match next {
                Some(n) => at = n,
                None => break,
            }
        }
        out.push(simplify(ring));
    }
    out
}

fn simplify(ring: Vec<Pos>) -> Vec<Pos> {
    let n = ring.len() - 1; // closed: last == first
    let mut keep: Vec<Pos> = Vec::new();
    for i in 0..n {
        let prev = ring[(i + n - 1) % n];
        let (cur, next) = (ring[i], ring[(i + 1) % n]);
        let d1 = (cur.0 - prev.0, cur.1 - prev.1);
        let d2 = (next.0 - cur.0, next.1 - cur.1);
        if d1.0 * d2.1 - d1.1 * d2.0 != 0 {
            keep.push(cur);
        }
    }
    if let Some(&first) = keep.first() {
        keep.push(first);
    }
    keep
}

fn signed_area(ring: &[Pos]) -> i64 {
    ring.windows(2).map(|w| i64::from(w[0].1) * i64::from(w[1].0) - i64::from(w[1].1) * i64::from(w[0].0)).sum()
}

/// The outline of `cells` on `lattice`.
pub fn outline(cells: &HashSet<Pos>, lattice: &Lattice) -> MultiPolygon {
    let to_line =
        |ring: &[Pos]| LineString::new(ring.iter().map(|&(r, c)| Coord::from(lattice.corner(r, c))).collect());
    let (mut exteriors, mut holes) = (Vec::new(), Vec::new());
    for ring in rings(cells).into_iter().filter(|r| r.len() >= 4) {
        if signed_area(&ring) > 0 { exteriors.push(ring) } else { holes.push(ring) }
    }
    let mut polys: Vec<Polygon> = exteriors.iter().map(|e| Polygon::new(to_line(e), vec![])).collect();
    for hole in holes {
        let line = to_line(&hole);
        let probe = hole_probe(&hole, lattice);
        if let Some(p) = polys.iter_mut().find(|p| p.contains(&probe)) {
            p.interiors_push(line);
        }
    }
    MultiPolygon::new(polys)
}

/// A point just inside a hole ring's first edge, which lies inside its exterior polygon.
fn hole_probe(hole: &[Pos], lattice: &Lattice) -> Point {
    let (a, b) = (lattice.corner(hole[0].0, hole[0].1), lattice.corner(hole[1].0, hole[1].1));
    let mid = Point::new((a.x() + b.x()) / 2.0, (a.y() + b.y()) / 2.0);
    // The hole is clockwise: the region outside the hole (inside the polygon) is on the left.
    let (dx, dy) = (b.x() - a.x(), b.y() - a.y());
    let len = (dx * dx + dy * dy).sqrt().max(f64::EPSILON);
    let eps = lattice.dlat * 0.01;
    Point::new(mid.x() - dy / len * eps, mid.y() + dx / len * eps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::Area;

    fn lattice() -> Lattice {
        Lattice::new(Point::new(118.0, 24.4), 100.0, 24.45)
    }

    #[test]
    fn a_block_is_one_rectangle() {
        let cells: HashSet<Pos> = (0..3).flat_map(|r| (0..4).map(move |c| (r, c))).collect();
        let mp = outline(&cells, &lattice());
        assert_eq!(mp.0.len(), 1);
        assert_eq!(mp.0[0].exterior().0.len(), 5);
        let one = lattice().polygon(0, 0).unsigned_area();
        assert!((mp.unsigned_area() / one - 12.0).abs() < 1e-6);
    }

    #[test]
    fn a_ring_of_cells_has_a_hole() {
        let cells: HashSet<Pos> = (0..3).flat_map(|r| (0..3).map(move |c| (r, c))).filter(|&p| p != (1, 1)).collect();
        let mp = outline(&cells, &lattice());
        assert_eq!(mp.0.len(), 1);
        assert_eq!(mp.0[0].interiors().len(), 1);
        let one = lattice().polygon(0, 0).unsigned_area();
        assert!((mp.unsigned_area() / one - 8.0).abs() < 1e-6);
    }

    #[test]
    fn separate_islands_are_separate_polygons() {
        let cells: HashSet<Pos> = [(0, 0), (0, 1), (5, 5)].into_iter().collect();
        assert_eq!(outline(&cells, &lattice()).0.len(), 2);
    }
}
