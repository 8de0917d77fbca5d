//! The routable road graph: nodes, two-way edges with travel times from road class speeds,
//! nearest-node lookup and A* routing. Built from GeoJSON lines (the synthetic Xiamen roads)
//! or from an OpenStreetMap extract (see [`super::osm`]); the graph does not care which.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use geo_types::{LineString, Point};
use rstar::RTree;
use rstar::primitives::GeomWithData;

use crate::spatial::LocalMetric;

/// A way to add to the graph: its points, its class and speed.
#[derive(Debug, Clone)]
pub struct Way {
    /// The points, WGS-84.
    pub line: LineString,
    /// Road class (`trunk`, `primary`, `secondary`, `residential`, …).
    pub class: String,
    /// Travel speed, km/h.
    pub speed_kmh: f64,
}

/// One directed edge.
#[derive(Debug, Clone, Copy)]
pub struct Edge {
    /// Target node.
    pub to: u32,
    /// Length, metres.
    pub length_m: f32,
    /// Travel time, seconds.
    pub time_s: f32,
}

/// A route between two nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The points to follow.
    pub points: Vec<Point>,
    /// Length, metres.
    pub length_m: f64,
    /// Travel time, seconds.
    pub time_s: f64,
}

/// The road graph.
#[derive(Debug)]
pub struct RoadGraph {
    metric: LocalMetric,
    nodes: Vec<Point>,
    adj: Vec<Vec<Edge>>,
    tree: RTree<GeomWithData<[f64; 2], u32>>,
    max_speed_ms: f64,
}

fn key(p: Point) -> (i64, i64) {
    ((p.x() * 1e6).round() as i64, (p.y() * 1e6).round() as i64)
}

impl RoadGraph {
    /// Builds the graph; ways meet where they share a point (to 1e-6 degrees).
    pub fn from_ways(metric: LocalMetric, ways: &[Way]) -> Self {
        let mut ids: HashMap<(i64, i64), u32> = HashMap::new();
        let mut nodes = Vec::new();
        let mut adj: Vec<Vec<Edge>> = Vec::new();
        let mut max_speed_ms: f64 = 1.0;
        for way in ways {
            let speed_ms = (way.speed_kmh / 3.6).max(0.5);
            max_speed_ms = max_speed_ms.max(speed_ms);
            let mut prev: Option<u32> = None;
            for c in &way.line.0 {
                let p = Point::from(*c);
                let id = *ids.entry(key(p)).or_insert_with(|| {
                    nodes.push(p);
                    adj.push(Vec::new());
                    (nodes.len() - 1) as u32
                });
                if let Some(a) = prev.filter(|&a| a != id) {
                    let (pa, pb) = (metric.to_xy(nodes[a as usize]), metric.to_xy(p));
                    let length_m = ((pa[0] - pb[0]).powi(2) + (pa[1] - pb[1]).powi(2)).sqrt();
                    let time_s = (length_m / speed_ms) as f32;
                    let length_m = length_m as f32;
                    adj[a as usize].push(Edge { to: id, length_m, time_s });
                    adj[id as usize].push(Edge { to: a, length_m, time_s });
                }
                prev = Some(id);
            }
        }
        let entries = nodes.iter().enumerate().map(|(i, p)| GeomWithData::new(metric.to_xy(*p), i as u32));
        RoadGraph { metric, tree: RTree::bulk_load(entries.collect()), nodes, adj, max_speed_ms }
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of two-way edges.
    pub fn edge_count(&self) -> usize {
        self.adj.iter().map(Vec::len).sum::<usize>() / 2
    }

    /// A node's position.
    pub fn node(&self, id: u32) -> Point {
        self.nodes[id as usize]
    }

    /// Edges leaving a node.
    pub fn edges(&self, id: u32) -> &[Edge] {
        &self.adj[id as usize]
    }

    /// The node nearest to `p`.
    pub fn nearest_node(&self, p: Point) -> Option<u32> {
        self.tree.nearest_neighbor(self.metric.to_xy(p)).map(|e| e.data)
    }

    /// The fastest route between two nodes (A* with a straight-line-at-top-speed bound).
    pub fn route(&self, from: u32, to: u32) -> Option<Route> {
        let goal = self.metric.to_xy(self.node(to));
        let h = |n: u32| {
            let p = self.metric.to_xy(self.node(n));
            ((p[0] - goal[0]).powi(2) + (p[1] - goal[1]).powi(2)).sqrt() / self.max_speed_ms
        };
        let mut best: HashMap<u32, (f64, u32)> = HashMap::from([(from, (0.0, from))]);
        let mut open = BinaryHeap::from([Open { f: h(from), g: 0.0, node: from }]);
        while let Some(Open { g, node, .. }) = open.pop() {
            if node == to {
                return Some(self.unwind(&best, from, to, g));
            }
            if best.get(&node).is_some_and(|(bg, _)| *bg < g) {
                continue;
            }
            for e in self.edges(node) {
                let ng = g + f64::from(e.time_s);
                if best.get(&e.to).is_none_or(|(bg, _)| ng < *bg) {
                    best.insert(e.to, (ng, node));
                    open.push(Open { f: ng + h(e.to), g: ng, node: e.to });
                }
            }
        }
        None
    }

    fn unwind(&self, best: &HashMap<u32, (f64, u32)>, from: u32, to: u32, time_s: f64) -> Route {
        let mut ids = vec![to];
        let mut at = to;
        while at != from {
            at = best[&at].1;
            ids.push(at);
        }
        ids.reverse();
        let points: Vec<Point> = ids.iter().map(|&i| self.node(i)).collect();
        let length_m = ids
            .windows(2)
            .filter_map(|w| self.edges(w[0]).iter().find(|e| e.to == w[1]).map(|e| f64::from(e.length_m)))
            .sum();
        Route { points, length_m, time_s }
    }
}

#[derive(Debug, PartialEq)]
struct Open {
    f: f64,
    g: f64,
    node: u32,
}

impl Eq for Open {}

impl Ord for Open {
    fn cmp(&self, other: &Self) -> Ordering {
        other.f.total_cmp(&self.f).then_with(|| other.node.cmp(&self.node))
    }
}

impl PartialOrd for Open {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn way(points: &[(f64, f64)], speed_kmh: f64) -> Way {
        Way { line: LineString::from(points.to_vec()), class: "test".into(), speed_kmh }
    }

    #[test]
    fn routes_take_the_faster_road_not_the_shorter() {
        let metric = LocalMetric::new(Point::new(118.0, 24.4));
        // A slow direct road and a fast detour over a shared start and end.
        let ways = [
            way(&[(118.0, 24.4), (118.01, 24.4)], 5.0),
            way(&[(118.0, 24.4), (118.005, 24.402), (118.01, 24.4)], 60.0),
        ];
        let g = RoadGraph::from_ways(metric, &ways);
        assert_eq!(g.node_count(), 3);
        assert_eq!(g.edge_count(), 3);
        let (a, b) = (g.nearest_node(Point::new(118.0, 24.4)), g.nearest_node(Point::new(118.01, 24.4)));
        let route = g.route(a.expect("a"), b.expect("b")).expect("route");
        assert_eq!(route.points.len(), 3);
        assert!(route.length_m > 1_000.0 && route.time_s < 120.0, "{route:?}");
    }

    #[test]
    fn disconnected_nodes_have_no_route() {
        let metric = LocalMetric::new(Point::new(118.0, 24.4));
        let ways = [way(&[(118.0, 24.4), (118.01, 24.4)], 30.0), way(&[(118.1, 24.4), (118.11, 24.4)], 30.0)];
        let g = RoadGraph::from_ways(metric, &ways);
        assert!(g.route(0, 3).is_none());
    }
}
