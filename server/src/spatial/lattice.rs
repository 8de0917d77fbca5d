//! The technical-cell lattice (100 m × 100 m cells, 万米单元格) and the local metric.
//!
//! The lattice is regular in longitude and latitude: a fixed origin and a step in degrees
//! computed once for the city's reference latitude. Every cell is then a lon/lat rectangle,
//! and finding a point's cell is two subtractions and two divisions.

use geo_types::{Coord, LineString, Point, Polygon};
use serde::{Deserialize, Serialize};

const METRES_PER_DEGREE_LAT: f64 = 111_320.0;

/// About 50 m in degrees: how far outside the grid a field position may be and still count.
pub const EDGE_TOLERANCE_DEG: f64 = 0.0005;

/// The parameters of a city's cell lattice, stored in its manifest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Lattice {
    /// Longitude of the south-west corner of cell (0, 0).
    pub origin_lon: f64,
    /// Latitude of the south-west corner of cell (0, 0).
    pub origin_lat: f64,
    /// Cell width in degrees of longitude.
    pub dlon: f64,
    /// Cell height in degrees of latitude.
    pub dlat: f64,
    /// Nominal cell size in metres.
    pub cell_m: f64,
}

impl Lattice {
    /// A lattice of `cell_m` cells from `origin`, square at latitude `ref_lat`.
    pub fn new(origin: Point, cell_m: f64, ref_lat: f64) -> Self {
        let dlat = cell_m / METRES_PER_DEGREE_LAT;
        let dlon = cell_m / (METRES_PER_DEGREE_LAT * ref_lat.to_radians().cos());
        Lattice { origin_lon: origin.x(), origin_lat: origin.y(), dlon, dlat, cell_m }
    }

    /// The (row, column) of the cell holding `p`.
    pub fn cell_of(&self, p: Point) -> (i32, i32) {
        let row = ((p.y() - self.origin_lat) / self.dlat).floor() as i32;
        let col = ((p.x() - self.origin_lon) / self.dlon).floor() as i32;
        (row, col)
    }

    /// The south-west corner of cell (row, col), which is also lattice node (row, col).
    pub fn corner(&self, row: i32, col: i32) -> Point {
        Point::new(self.origin_lon + f64::from(col) * self.dlon, self.origin_lat + f64::from(row) * self.dlat)
    }

    /// The centre of cell (row, col).
    pub fn center(&self, row: i32, col: i32) -> Point {
        let c = self.corner(row, col);
        Point::new(c.x() + self.dlon / 2.0, c.y() + self.dlat / 2.0)
    }

    /// The outline of cell (row, col), counter-clockwise from the south-west corner.
    pub fn polygon(&self, row: i32, col: i32) -> Polygon {
        let ring = [(0, 0), (0, 1), (1, 1), (1, 0), (0, 0)]
            .iter()
            .map(|&(dr, dc)| Coord::from(self.corner(row + dr, col + dc)))
            .collect::<Vec<_>>();
        Polygon::new(LineString::new(ring), vec![])
    }
}

/// A local equirectangular projection to metres around a reference point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalMetric {
    lon0: f64,
    lat0: f64,
    kx: f64,
    ky: f64,
}

impl LocalMetric {
    /// A projection centred on `origin`.
    pub fn new(origin: Point) -> Self {
        let ky = METRES_PER_DEGREE_LAT;
        let kx = ky * origin.y().to_radians().cos();
        LocalMetric { lon0: origin.x(), lat0: origin.y(), kx, ky }
    }

    /// Metres east and north of the origin.
    pub fn to_xy(&self, p: Point) -> [f64; 2] {
        [(p.x() - self.lon0) * self.kx, (p.y() - self.lat0) * self.ky]
    }

    /// Back to longitude and latitude.
    pub fn to_lonlat(&self, xy: [f64; 2]) -> Point {
        Point::new(self.lon0 + xy[0] / self.kx, self.lat0 + xy[1] / self.ky)
    }

    /// The straight line between two points, metres.
    pub fn metres(&self, a: Point, b: Point) -> f64 {
        let (a, b) = (self.to_xy(a), self.to_xy(b));
        ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onegrid_protocol::coord::haversine_m;

    #[test]
    fn cells_are_100_m_squares_near_the_reference_latitude() {
        let l = Lattice::new(Point::new(118.0, 24.4), 100.0, 24.45);
        let a = l.corner(50, 50);
        assert!((haversine_m(a, l.corner(50, 51)) - 100.0).abs() < 0.5);
        assert!((haversine_m(a, l.corner(51, 50)) - 100.0).abs() < 0.5);
    }

    #[test]
    fn a_cell_centre_falls_in_its_own_cell() {
        let l = Lattice::new(Point::new(118.0, 24.4), 100.0, 24.45);
        for (r, c) in [(0, 0), (12, 340), (150, 7)] {
            assert_eq!(l.cell_of(l.center(r, c)), (r, c));
        }
    }

    #[test]
    fn local_metric_round_trips_and_measures_metres() {
        let m = LocalMetric::new(Point::new(118.1, 24.47));
        let p = Point::new(118.13, 24.49);
        let back = m.to_lonlat(m.to_xy(p));
        assert!(haversine_m(p, back) < 1e-6);
        let [x, y] = m.to_xy(p);
        let d = (x * x + y * y).sqrt();
        assert!((d - haversine_m(Point::new(118.1, 24.47), p)).abs() / d < 0.002);
    }
}
