//! Moving along the road graph as each unit goes ([`Travel`]: a team's vehicle at each
//! road's speed, a grid worker at its own pace): random patrol walks that prefer a unit's
//! own cells, and routes to an incident.

use geo_types::Point;

use crate::city::RoadGraph;
use crate::city::roads::Travel;
use crate::rng::Rng;

/// A unit's path: points to follow, each at the speed of the leg to it.
#[derive(Debug, Clone, Default)]
pub struct Path {
    /// Each point with the speed on the way to it, m/s.
    legs: Vec<(Point, f64)>,
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
        Path { legs: Vec::new(), next: 0, at, heading_deg: 0.0 }
    }

    /// Whether the path is walked to its end.
    pub fn done(&self) -> bool {
        self.next >= self.legs.len()
    }

    /// Follows `legs` (each point with the speed on the way to it, m/s) from where the unit
    /// is.
    pub fn follow(&mut self, legs: Vec<(Point, f64)>) {
        self.legs = legs;
        self.next = 0;
    }

    /// Goes on along the path for `dt_s` seconds, each leg at its speed.
    pub fn advance(&mut self, mut dt_s: f64) {
        while dt_s > 0.0 && !self.done() {
            let (target, speed) = self.legs[self.next];
            let speed = speed.max(0.1);
            let (dx, dy) = metres(self.at, target);
            let d = (dx * dx + dy * dy).sqrt();
            if d > 0.01 {
                self.heading_deg = dx.atan2(dy).to_degrees().rem_euclid(360.0) as f32;
            }
            if d <= speed * dt_s {
                self.at = target;
                self.next += 1;
                dt_s -= d / speed;
            } else {
                let f = speed * dt_s / d;
                self.at = Point::new(
                    self.at.x() + (target.x() - self.at.x()) * f,
                    self.at.y() + (target.y() - self.at.y()) * f,
                );
                dt_s = 0.0;
            }
        }
    }
}

/// A random walk of `steps` edges from the node nearest `from`, preferring nodes `inside`
/// accepts (a grid worker's cells) and not turning back when it can help it; each point
/// with the speed `travel` goes on the road to it (and at the first road's speed from
/// `from` onto the road).
pub fn patrol(
    roads: &RoadGraph,
    from: Point,
    travel: Travel,
    steps: usize,
    rng: &mut Rng,
    mut inside: impl FnMut(Point) -> bool,
) -> Vec<(Point, f64)> {
    let Some(mut node) = roads.nearest_node(from) else { return Vec::new() };
    let speed = |e: &crate::city::roads::Edge| match travel {
        Travel::Drive => f64::from(e.length_m) / f64::from(e.time_s).max(1e-3),
        Travel::Pace(v) => v,
    };
    let mut prev = u32::MAX;
    let mut out = vec![(roads.node(node), roads.edges(node).first().map_or(1.0, speed))];
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
        let v = edges.iter().find(|e| e.to == next).map_or(1.0, speed);
        prev = node;
        node = next;
        out.push((roads.node(node), v));
    }
    out
}

/// The road route from `from` to `to` as the unit goes (a vehicle onto the road it is on,
/// the fastest roads, off to `to`; one at its own pace by the shortest), ending exactly at
/// `to`, each point with the speed on the way to it; straight there where no road leads,
/// at the pace (a vehicle's, 8 m/s).
pub fn route(roads: &RoadGraph, from: Point, to: Point, travel: Travel) -> Vec<(Point, f64)> {
    let straight = match travel {
        Travel::Drive => 8.0,
        Travel::Pace(v) => v,
    };
    roads
        .route_between(from, to, travel)
        .map_or_else(|| vec![(to, straight)], |r| r.points.into_iter().zip(r.speeds_ms).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_reaches_the_end_and_points_the_way() {
        let mut p = Path::standing(Point::new(118.0, 24.4));
        // North 111 m at 10 m/s, then east 101 m at 2 m/s.
        p.follow(vec![(Point::new(118.0, 24.401), 10.0), (Point::new(118.001, 24.401), 2.0)]);
        p.advance(5.0);
        assert!(!p.done());
        assert!((p.at.y() - 24.400_449).abs() < 1e-5, "50 m in 5 s: {:?}", p.at);
        assert!((p.heading_deg - 0.0).abs() < 1.0, "{}", p.heading_deg);
        // 6.13 s on to the corner, then 10 s at 2 m/s: 20 m east of it.
        p.advance(16.13);
        assert!(((p.at.x() - 118.0) * 101_600.0 - 20.0).abs() < 1.0, "{:?}", p.at);
        assert!(!p.done());
        p.advance(100.0);
        assert!(p.done());
        assert_eq!(p.at, Point::new(118.001, 24.401));
        assert!((p.heading_deg - 90.0).abs() < 1.0, "{}", p.heading_deg);
    }
}
