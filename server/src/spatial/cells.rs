//! Point → technical cell → every net, in one call.
//!
//! Two paths give the same answer: where every cell is a square of one lattice, lattice
//! arithmetic and a dense table; otherwise an R-tree over cell envelopes followed by an exact
//! point-in-polygon test. A city that brings irregular cells gets the second path.

use std::sync::Arc;

use geo::{BoundingRect, Intersects};
use geo_types::{Point, Polygon};
use onegrid_protocol::Placement;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use super::lattice::Lattice;

/// One technical cell with its placement in every net.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Outline, WGS-84.
    pub polygon: Polygon,
    /// Where it lies in every net (its own code in `cell`).
    pub placement: Arc<Placement>,
    /// Lattice position, when the cell is a lattice square.
    pub lattice_pos: Option<(i32, i32)>,
}

impl Cell {
    /// The centre of the cell's bounding box (the centre of a lattice square).
    pub fn center(&self) -> Point {
        self.polygon.bounding_rect().map_or(Point::new(0.0, 0.0), |r| r.center().into())
    }
}

/// A dense row-major table of lattice positions → cell index.
#[derive(Debug, Clone)]
struct RegularGrid {
    lattice: Lattice,
    row0: i32,
    col0: i32,
    rows: i32,
    cols: i32,
    slots: Vec<u32>,
}

const EMPTY: u32 = u32::MAX;

impl RegularGrid {
    fn build(lattice: Lattice, cells: &[Cell]) -> Option<Self> {
        let positions: Vec<(i32, i32)> = cells.iter().map(|c| c.lattice_pos).collect::<Option<_>>()?;
        let row0 = positions.iter().map(|p| p.0).min()?;
        let col0 = positions.iter().map(|p| p.1).min()?;
        let rows = positions.iter().map(|p| p.0).max()? - row0 + 1;
        let cols = positions.iter().map(|p| p.1).max()? - col0 + 1;
        let mut slots = vec![EMPTY; usize::try_from(rows * cols).ok()?];
        for (i, (r, c)) in positions.into_iter().enumerate() {
            let slot = &mut slots[((r - row0) * cols + (c - col0)) as usize];
            if *slot != EMPTY {
                return None; // two cells on one square: not a plain lattice
            }
            *slot = u32::try_from(i).ok()?;
        }
        Some(RegularGrid { lattice, row0, col0, rows, cols, slots })
    }

    fn find(&self, p: Point) -> Option<u32> {
        let (r, c) = self.lattice.cell_of(p);
        let (r, c) = (r - self.row0, c - self.col0);
        if r < 0 || c < 0 || r >= self.rows || c >= self.cols {
            return None;
        }
        let slot = self.slots[(r * self.cols + c) as usize];
        (slot != EMPTY).then_some(slot)
    }
}

type Envelope = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// The cells of a city, indexed for `locate`.
#[derive(Debug)]
pub struct CellIndex {
    cells: Vec<Cell>,
    codes: std::collections::HashMap<String, usize>,
    regular: Option<RegularGrid>,
    tree: RTree<Envelope>,
}

impl CellIndex {
    /// Indexes `cells`; uses the lattice fast path when every cell is a square of `lattice`.
    pub fn new(cells: Vec<Cell>, lattice: Option<Lattice>) -> Self {
        let regular = lattice.and_then(|l| RegularGrid::build(l, &cells));
        let envelopes = cells
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let r = c.polygon.bounding_rect()?;
                let rect = Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
                Some(GeomWithData::new(rect, i as u32))
            })
            .collect();
        let codes = cells.iter().enumerate().map(|(i, c)| (c.placement.cell.clone(), i)).collect();
        CellIndex { cells, codes, regular, tree: RTree::bulk_load(envelopes) }
    }

    /// The south-west and north-east corners of all cells.
    pub fn extent(&self) -> (Point, Point) {
        let env = self.tree.root().envelope();
        let (lo, hi) = (env.lower(), env.upper());
        (Point::new(lo[0], lo[1]), Point::new(hi[0], hi[1]))
    }

    /// Whether the lattice fast path is in use.
    pub fn is_regular(&self) -> bool {
        self.regular.is_some()
    }

    /// All cells.
    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    /// The index of the cell holding `p`, if the point is in the city.
    pub fn locate_index(&self, p: Point) -> Option<usize> {
        match &self.regular {
            Some(grid) => grid.find(p).map(|i| i as usize),
            None => self.locate_by_tree(p),
        }
    }

    /// The R-tree path: envelope candidates, then an exact test.
    pub fn locate_by_tree(&self, p: Point) -> Option<usize> {
        let q = [p.x(), p.y()];
        self.tree
            .locate_in_envelope_intersecting(AABB::from_point(q))
            .map(|e| e.data as usize)
            .find(|&i| self.cells[i].polygon.intersects(&p))
    }

    /// Where `p` lies in every net, if it is in the city.
    pub fn locate(&self, p: Point) -> Option<&Arc<Placement>> {
        self.locate_index(p).map(|i| &self.cells[i].placement)
    }

    /// Like [`locate`](Self::locate), but a point outside every cell by at most
    /// `tolerance_deg` (GPS error, a unit on a coastal road along the grid's edge) gets the
    /// nearest cell.
    pub fn locate_near(&self, p: Point, tolerance_deg: f64) -> Option<&Arc<Placement>> {
        if let Some(found) = self.locate(p) {
            return Some(found);
        }
        let q = [p.x(), p.y()];
        let (e, d2) = self.tree.nearest_neighbor_iter_with_distance_2(q).next()?;
        (d2 <= tolerance_deg * tolerance_deg).then(|| &self.cells[e.data as usize].placement)
    }

    /// A cell by its code.
    pub fn by_code(&self, code: &str) -> Option<&Cell> {
        self.codes.get(code).map(|&i| &self.cells[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(lattice: Lattice, n: i32) -> Vec<Cell> {
        let mut cells = Vec::new();
        for r in 0..n {
            for c in 0..n {
                let placement = Placement { cell: format!("{r}-{c}"), ..Default::default() };
                cells.push(Cell {
                    polygon: lattice.polygon(r, c),
                    placement: Arc::new(placement),
                    lattice_pos: Some((r, c)),
                });
            }
        }
        cells
    }

    #[test]
    fn lattice_and_tree_paths_agree_everywhere() {
        let l = Lattice::new(Point::new(118.0, 24.4), 100.0, 24.45);
        let index = CellIndex::new(grid(l, 20), Some(l));
        assert!(index.is_regular());
        let mut rng = crate::rng::Rng::new(3);
        for _ in 0..2_000 {
            let p = Point::new(rng.range(117.99, 118.03), rng.range(24.39, 24.43));
            let fast = index.locate_index(p);
            assert_eq!(fast, index.locate_by_tree(p), "{p:?}");
        }
    }

    #[test]
    fn a_point_outside_every_cell_is_not_located() {
        let l = Lattice::new(Point::new(118.0, 24.4), 100.0, 24.45);
        let index = CellIndex::new(grid(l, 5), Some(l));
        assert!(index.locate(Point::new(119.0, 24.4)).is_none());
        assert_eq!(index.locate(l.center(2, 3)).map(|p| p.cell.as_str()), Some("2-3"));
    }

    #[test]
    fn points_on_the_edge_of_the_grid_snap_to_the_nearest_cell() {
        let l = Lattice::new(Point::new(118.0, 24.4), 100.0, 24.45);
        let index = CellIndex::new(grid(l, 3), Some(l));
        let on_edge = l.corner(0, 3); // the grid's eastern edge, floors into empty column 3
        assert!(index.locate(Point::new(on_edge.x() + 1e-9, on_edge.y() + 1e-5)).is_none());
        let near = index.locate_near(Point::new(on_edge.x() + 1e-9, on_edge.y() + 1e-5), 0.0005);
        assert_eq!(near.map(|p| p.cell.as_str()), Some("0-2"));
        assert!(index.locate_near(Point::new(on_edge.x() + 0.01, on_edge.y()), 0.0005).is_none());
    }

    #[test]
    fn irregular_cells_use_the_tree() {
        let l = Lattice::new(Point::new(118.0, 24.4), 100.0, 24.45);
        let mut cells = grid(l, 3);
        cells[0].lattice_pos = None;
        let index = CellIndex::new(cells, Some(l));
        assert!(!index.is_regular());
        assert_eq!(index.locate(l.center(1, 1)).map(|p| p.cell.as_str()), Some("1-1"));
    }
}
