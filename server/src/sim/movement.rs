//! Moving along the road graph: random patrol walks that prefer a unit's own cells, and
//! routes to an incident.

use geo_types::Point;

use crate::city::RoadGraph;
use crate::rng::Rng;

/// A unit's path: points to follow at a speed.
#[derive(Debug, Clone, Default)]
pub struct Path {
    points: Vec<Point>,
    /// Index of the point being walked towards.
    next: usize,
    /// Where the unit is.
    pub at: Point,
    /// Heading, degrees from north.
    pub heading_deg: f32,
}

fn metres(a: Point, b: Point) -> (f64, f64) {
    let kx = 111_320.0 * a.y().to_radians().cos();
    ((b.x() - a.x()) * kx, (b.y() - a.y()) * 111_320.0)
}

impl Path {
    /// A unit standing at `at`.
    pub fn standing(at: Point) -> Self {
        Path { points: Vec::new(), next: 0, at, heading_deg: 0.0 }
    }

    /// Whether the path is walked to its end.
    pub fn done(&self) -> bool {
        self.next >= self.points.len()
    }

    /// Follows `points` from where the unit is.
    pub fn follow(&mut self, points: Vec<Point>) {
        self.points = points;
        self.next = 0;
    }

    /// Walks `dist_m` metres along the path.
    pub fn advance(&mut self, mut dist_m: f64) {
        while dist_m > 0.0 && !self.done() {
            let target = self.points[self.next];
            let (dx, dy) = metres(self.at, target);
            let d = (dx * dx + dy * dy).sqrt();
            if d > 0.01 {
                self.heading_deg = dx.atan2(dy).to_degrees().rem_euclid(360.0) as f32;
            }
            if d <= dist_m {
                self.at = target;
                self.next += 1;
                dist_m -= d;
            } else {
                let f = dist_m / d;
                self.at = Point::new(
                    self.at.x() + (target.x() - self.at.x()) * f,
                    self.at.y() + (target.y() - self.at.y()) * f,
                );
                dist_m = 0.0;
            }
        }
    }
}

/// A random walk of `steps` edges from the node nearest `from`, preferring nodes `inside`
/// accepts (a grid worker's cells) and not turning back when it can help it.
pub fn patrol(
    roads: &RoadGraph,
    from: Point,
    steps: usize,
    rng: &mut Rng,
    mut inside: impl FnMut(Point) -> bool,
) -> Vec<Point> {
    let Some(mut node) = roads.nearest_node(from) else { return Vec::new() };
    let mut prev = u32::MAX;
    let mut out = vec![roads.node(node)];
    for _ in 0..steps {
        let edges = roads.edges(node);
        if edges.is_empty() {
            break;
        }
        let preferred: Vec<u32> = edges.iter().map(|e| e.to).filter(|&n| n != prev && inside(roads.node(n))).collect();
        let any: Vec<u32> = edges.iter().map(|e| e.to).filter(|&n| n != prev).collect();
        let next = if !preferred.is_empty() {
            *rng.pick(&preferred)
        } else if !any.is_empty() {
            *rng.pick(&any)
        } else {
            edges[0].to
        };
        prev = node;
        node = next;
        out.push(roads.node(node));
    }
    out
}

/// The road route from `from` to `to` as a driver takes it (onto the road it is on, the
/// fastest roads, off to `to`), ending exactly at `to`; straight there where no road leads.
pub fn route(roads: &RoadGraph, from: Point, to: Point) -> Vec<Point> {
    roads.route_between(from, to).map_or_else(|| vec![to], |r| r.points)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_reaches_the_end_and_points_the_way() {
        let mut p = Path::standing(Point::new(118.0, 24.4));
        p.follow(vec![Point::new(118.0, 24.401), Point::new(118.001, 24.401)]);
        p.advance(50.0);
        assert!(!p.done());
        assert!((p.heading_deg - 0.0).abs() < 1.0, "{}", p.heading_deg);
        p.advance(1_000.0);
        assert!(p.done());
        assert_eq!(p.at, Point::new(118.001, 24.401));
        assert!((p.heading_deg - 90.0).abs() < 1.0, "{}", p.heading_deg);
    }
}
