//! The routable road graph: nodes, two-way edges with travel times from road class speeds,
//! nearest-node lookup and A* routing. Built from GeoJSON lines (the synthetic Xiamen roads)
//! or from an OpenStreetMap extract (see [`super::osm`]); the graph does not care which.
//!
//! Every way is chosen as the traveller goes ([`Travel`]): a vehicle by the fastest roads at
//! their speeds, one at its own pace by the shortest. The dispatcher's ranking (`reach`),
//! following a unit on its way (`field`, `ahead`) and the simulator's driving
//! (`route_between`) all choose the same way for the same unit, so that the road ahead of
//! a team shrinks as it drives rather than growing where its faster road first leads
//! sideways.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use geo_types::{LineString, Point};
pub use onegrid_protocol::Travel;
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
    /// The speed on the way to each point, m/s (the first, where the route starts, is that
    /// of the leg after it).
    pub speeds_ms: Vec<f64>,
    /// Length, metres.
    pub length_m: f64,
    /// Travel time, seconds.
    pub time_s: f64,
}

/// How a point is reached by road ([`RoadGraph::reach`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reach {
    /// Along the roads, with the straight legs to and from them, metres.
    pub length_m: f64,
    /// How long the traveller takes: at the roads' speeds, or its own pace, seconds.
    pub time_s: f64,
}

/// What a search makes least: the length of the way (for one at its own pace), or its
/// time at the roads' speeds (for a vehicle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measure {
    /// Metres.
    Length,
    /// Seconds at the roads' speeds.
    Time,
}

impl Measure {
    /// What the way of a unit that goes so is chosen by.
    pub fn of(travel: Travel) -> Measure {
        match travel {
            Travel::Drive => Measure::Time,
            Travel::Pace(_) => Measure::Length,
        }
    }

    /// An edge's cost.
    fn edge(self, e: &Edge) -> f64 {
        match self {
            Measure::Length => f64::from(e.length_m),
            Measure::Time => f64::from(e.time_s),
        }
    }

    /// The cost of `metres` along the segment a point meets, or off the road to it (at
    /// that road's speed: a vehicle pulls up along the road it is on).
    fn on(self, s: &Snap, metres: f64) -> f64 {
        match self {
            Measure::Length => metres,
            Measure::Time => s.time_s(metres),
        }
    }
}

/// How long a way of `cost` ([`Measure::of`] the traveller) takes the traveller, seconds.
pub fn seconds(travel: Travel, cost: f64) -> f64 {
    cost / rate(travel)
}

/// How much cost a traveller covers a second: one for a vehicle (its cost is seconds), its
/// pace for one at its own (its cost is metres).
fn rate(travel: Travel) -> f64 {
    match travel {
        Travel::Drive => 1.0,
        Travel::Pace(v) => v.max(f64::MIN_POSITIVE),
    }
}

/// How fast a traveller goes along a road of `speed_ms`.
fn speed_on(travel: Travel, speed_ms: f64) -> f64 {
    match travel {
        Travel::Drive => speed_ms,
        Travel::Pace(v) => v,
    }
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

/// A hasher for node ids in a search: one multiply (Fibonacci hashing) instead of SipHash,
/// which the search's thousands of lookups a query would otherwise spend most of their time in.
/// Node ids are not chosen by clients, so nothing can flood it.
#[derive(Default)]
struct NodeHasher(u64);

impl Hasher for NodeHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A map keyed by node id.
type NodeMap<V> = HashMap<u32, V, BuildHasherDefault<NodeHasher>>;

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
                    let length_m = metric.metres(nodes[a as usize], p);
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
        let (ids, time_s) = self.cheapest(Measure::Time, &[(from, 0.0)], &[(to, 0.0)])?;
        let (points, mut speeds_ms): (Vec<Point>, Vec<f64>) = self.legs(&ids, Travel::Drive, 0.0).unzip();
        speeds_ms[0] = speeds_ms.get(1).copied().unwrap_or(0.0);
        Some(Route { points, speeds_ms, length_m: self.length_of(&ids), time_s })
    }

    /// The way by road between two points as `travel` goes ([`Measure::of`]: the fastest
    /// for a vehicle, the shortest for one at its own pace): from `from` onto the road
    /// segment it meets ([`RoadGraph::snap`]) and along it to whichever end is sooner, the
    /// roads on, and along the segment `to` meets to its foot and off to `to` (along the
    /// segment alone where both meet the same one). The points start at `from` and end at
    /// `to`, each with the speed on the way to it (a vehicle's legs off the road at the
    /// speed of the road they meet); the length and the time count the legs off the road.
    /// `None` where no road leads between them.
    pub fn route_between(&self, from: Point, to: Point, travel: Travel) -> Option<Route> {
        let m = Measure::of(travel);
        let (a, b) = (self.snap(from)?, self.snap(to)?);
        let (on, off) = (self.foot(&a), self.foot(&b));
        let (va, vb) = (speed_on(travel, a.speed_ms), speed_on(travel, b.speed_ms));
        let mut legs = vec![(from, va), (on, va)];
        let length_m = if let Some(along) = b.along(&a) {
            legs.extend([(off, va), (to, vb)]);
            a.off_m + along + b.off_m
        } else {
            let sources: Vec<(u32, f64)> = a.ends().map(|(n, along)| (n, m.on(&a, along))).collect();
            let goals: Vec<(u32, f64)> = b.ends().map(|(n, along)| (n, m.on(&b, along))).collect();
            let (ids, _) = self.cheapest(m, &sources, &goals)?;
            let along = |s: &Snap, n: u32| s.ends().find(|(e, _)| *e == n).map_or(0.0, |(_, d)| d);
            let (first, last) = (ids[0], ids[ids.len() - 1]);
            legs.extend(self.legs(&ids, travel, va));
            legs.extend([(off, vb), (to, vb)]);
            a.off_m + along(&a, first) + self.length_of(&ids) + along(&b, last) + b.off_m
        };
        legs.dedup_by(|later, earlier| later.0 == earlier.0);
        let time_s = legs.windows(2).map(|w| self.metric.metres(w[0].0, w[1].0) / w[1].1.max(f64::MIN_POSITIVE)).sum();
        let (points, speeds_ms) = legs.into_iter().unzip();
        Some(Route { points, speeds_ms, length_m, time_s })
    }

    /// The nodes of a path, each with the speed `travel` goes on the way to it (`first` to
    /// the first).
    fn legs<'a>(&'a self, ids: &'a [u32], travel: Travel, first: f64) -> impl Iterator<Item = (Point, f64)> + 'a {
        ids.iter().enumerate().map(move |(k, &n)| {
            let speed = match k.checked_sub(1).and_then(|j| self.edges(ids[j]).iter().find(|e| e.to == n)) {
                Some(e) => speed_on(travel, f64::from(e.length_m) / f64::from(e.time_s).max(f32::MIN_POSITIVE.into())),
                None => first,
            };
            (self.node(n), speed)
        })
    }

    /// The cheapest way by `m` from any of `sources` (each with the cost of getting onto
    /// it) to any of `goals` (each with the cost on from it): its nodes and its whole
    /// cost. A* with the straight line (at top speed, for time) as the bound to the nearer
    /// goal.
    fn cheapest(&self, m: Measure, sources: &[(u32, f64)], goals: &[(u32, f64)]) -> Option<(Vec<u32>, f64)> {
        let goal_xy: Vec<[f64; 2]> = goals.iter().map(|(n, _)| self.metric.to_xy(self.node(*n))).collect();
        let per_metre = match m {
            Measure::Length => 1.0,
            Measure::Time => 1.0 / self.max_speed_ms,
        };
        let h = |n: u32| {
            let p = self.metric.to_xy(self.node(n));
            let d = goal_xy.iter().map(|g| (p[0] - g[0]).hypot(p[1] - g[1])).fold(f64::INFINITY, f64::min);
            d * per_metre
        };
        // Each node reached: its cost so far and the node it was reached from (itself for
        // a source).
        let mut best: NodeMap<(f64, u32)> = NodeMap::default();
        let mut open = BinaryHeap::new();
        for &(n, g) in sources {
            if best.get(&n).is_none_or(|(bg, _)| g < *bg) {
                best.insert(n, (g, n));
                open.push(Open { f: g + h(n), g, node: n });
            }
        }
        let mut found: Option<(f64, u32)> = None;
        while let Some(Open { f, g, node }) = open.pop() {
            if found.is_some_and(|(t, _)| f >= t) {
                break;
            }
            if best.get(&node).is_some_and(|(bg, _)| *bg < g) {
                continue;
            }
            for (n, on) in goals {
                if *n == node && found.is_none_or(|(t, _)| g + on < t) {
                    found = Some((g + on, node));
                }
            }
            for e in self.edges(node) {
                let ng = g + m.edge(e);
                if best.get(&e.to).is_none_or(|(bg, _)| ng < *bg) {
                    best.insert(e.to, (ng, node));
                    open.push(Open { f: ng + h(e.to), g: ng, node: e.to });
                }
            }
        }
        let (time_s, mut at) = found?;
        let mut ids = vec![at];
        while best[&at].1 != at {
            at = best[&at].1;
            ids.push(at);
        }
        ids.reverse();
        Some((ids, time_s))
    }

    /// The length along the roads of a path of nodes, each next to the one before.
    fn length_of(&self, ids: &[u32]) -> f64 {
        ids.windows(2)
            .filter_map(|w| self.edges(w[0]).iter().find(|e| e.to == w[1]).map(|e| f64::from(e.length_m)))
            .sum()
    }

    /// Where a point meets the road: its foot on the segment.
    fn foot(&self, s: &Snap) -> Point {
        let a = self.node(s.a);
        let Some(b) = s.b.map(|b| self.node(b)) else { return a };
        Point::new(a.x() + s.t * (b.x() - a.x()), a.y() + s.t * (b.y() - a.y()))
    }

    /// How each target is reached by road from `from`, as it goes (`targets`: point and
    /// [`Travel`]): the straight legs from each point to the road segment it meets (as
    /// [`RoadGraph::snap`] finds it), along that segment to one of its ends, and its way
    /// between (the fastest for a vehicle, the shortest for one at its own pace), the same
    /// way following a unit measures ([`RoadGraph::ahead`]); its length, and how long it
    /// takes the target. The roads run both ways, so one search outward from `from` serves
    /// every target that chooses its way alike (two at most: one by time, one by length);
    /// each stops once no target left can arrive sooner than the `enough`-th soonest it
    /// found. `None` for a target not reached by then: where fewer than `enough` were
    /// reached, one no road leads to (another island, a graph without roads).
    pub fn reach(&self, from: Point, targets: &[(Point, Travel)], enough: usize) -> Vec<Option<Reach>> {
        let mut out = vec![None; targets.len()];
        for m in [Measure::Length, Measure::Time] {
            let these: Vec<usize> = (0..targets.len()).filter(|&i| Measure::of(targets[i].1) == m).collect();
            if these.is_empty() {
                continue;
            }
            let asked: Vec<(Point, Travel)> = these.iter().map(|&i| targets[i]).collect();
            for (i, r) in these.into_iter().zip(self.reach_by(m, from, &asked, enough)) {
                out[i] = r;
            }
        }
        out
    }

    /// [`RoadGraph::reach`] for targets whose ways are all chosen by `m`.
    fn reach_by(&self, m: Measure, from: Point, targets: &[(Point, Travel)], enough: usize) -> Vec<Option<Reach>> {
        let mut out = vec![None; targets.len()];
        let mut field = self.field(from, m);
        let Some(src) = field.snap.filter(|_| !targets.is_empty()) else { return out };
        let Some(snaps) = targets.iter().map(|(p, _)| self.snap(*p)).collect::<Option<Vec<Snap>>>() else { return out };
        // Each node with the targets whose segments end there, and the length along to it.
        let mut at: NodeMap<Vec<(usize, f64)>> = NodeMap::default();
        // Each target's least cost found so far, from the start's foot to its own (the legs
        // off the road left out), with its length, in a heap to be taken as final once the
        // search has gone as far (`node` there is the target's index).
        let mut found: Vec<Option<(f64, f64)>> = vec![None; targets.len()];
        let mut pending: BinaryHeap<Open> = BinaryHeap::new();
        let offer = |found: &mut [Option<(f64, f64)>], pending: &mut BinaryHeap<Open>, i: usize, c: f64, l: f64| {
            if found[i].is_none_or(|(f, _)| c < f) {
                found[i] = Some((c, l));
                pending.push(Open { f: c, g: c, node: i as u32 });
            }
        };
        for (i, snap) in snaps.iter().enumerate() {
            for (node, along) in snap.ends() {
                at.entry(node).or_default().push((i, along));
            }
            if let Some(along) = snap.along(&src) {
                offer(&mut found, &mut pending, i, m.on(snap, along), along);
            }
        }
        // The rates of the targets not yet reached (cost a second), fastest first, with how
        // many have each: what bounds how soon any of them can still arrive.
        let mut paces: Vec<(f64, usize)> = Vec::new();
        for (_, t) in targets {
            match paces.iter_mut().find(|(p, _)| *p == rate(*t)) {
                Some((_, n)) => *n += 1,
                None => paces.push((rate(*t), 1)),
            }
        }
        paces.sort_by(|a, b| b.0.total_cmp(&a.0));
        let enough = enough.max(1);
        let src_off = m.on(&src, src.off_m);
        // The soonest times found so far, at most `enough` of them, ascending.
        let mut soonest: Vec<f64> = Vec::with_capacity(enough + 1);
        let mut left = targets.len();
        loop {
            let settled = self.step(&mut field);
            // Every target whose least cost found is no more than the search has now gone
            // to is reached: any other way to it costs at least that.
            let gone = settled.map_or(f64::INFINITY, |(_, g, _)| g);
            while pending.peek().is_some_and(|p| p.g <= gone) {
                let Open { g: c, node: i, .. } = pending.pop().expect("peeked");
                let i = i as usize;
                let Some((_, l)) = found[i].filter(|(f, _)| *f == c && out[i].is_none()) else { continue };
                let length_m = src.off_m + l + snaps[i].off_m;
                let time_s = (src_off + c + m.on(&snaps[i], snaps[i].off_m)) / rate(targets[i].1);
                out[i] = Some(Reach { length_m, time_s });
                left -= 1;
                if let Some((_, n)) = paces.iter_mut().find(|(v, _)| *v == rate(targets[i].1)) {
                    *n -= 1;
                }
                let k = soonest.partition_point(|t| *t <= time_s);
                soonest.insert(k, time_s);
                soonest.truncate(enough);
            }
            let Some((node, g, l)) = settled else { break };
            let fastest = paces.iter().find(|(_, n)| *n > 0).map_or(f64::MIN_POSITIVE, |(v, _)| *v);
            if left == 0 || soonest.len() == enough && (src_off + g) / fastest >= soonest[enough - 1] {
                break;
            }
            for &(i, along) in at.get(&node).map_or(&[][..], Vec::as_slice) {
                offer(&mut found, &mut pending, i, g + m.on(&snaps[i], along), l + along);
            }
        }
        out
    }

    /// Where `p` meets the roads: the road segment nearest it among those that end at its
    /// nearest node. `None` for a graph without roads.
    pub fn snap(&self, p: Point) -> Option<Snap> {
        let a = self.nearest_node(p)?;
        let [x, y] = self.metric.to_xy(p);
        let [ax, ay] = self.metric.to_xy(self.node(a));
        let mut best = Snap { a, b: None, t: 0.0, length_m: 0.0, speed_ms: 1.0, off_m: (x - ax).hypot(y - ay) };
        for e in self.edges(a) {
            let [bx, by] = self.metric.to_xy(self.node(e.to));
            let (dx, dy) = (bx - ax, by - ay);
            let len2 = dx * dx + dy * dy;
            if len2 <= 0.0 {
                continue;
            }
            let t = (((x - ax) * dx + (y - ay) * dy) / len2).clamp(0.0, 1.0);
            let off_m = (x - ax - t * dx).hypot(y - ay - t * dy);
            if off_m < best.off_m || best.b.is_none() && off_m <= best.off_m {
                let speed_ms = f64::from(e.length_m) / f64::from(e.time_s).max(f64::MIN_POSITIVE);
                best = Snap { a, b: Some(e.to), t, length_m: f64::from(e.length_m), speed_ms, off_m };
            }
        }
        Some(best)
    }

    /// The ways by road outward from `from`, chosen by `m`, to be found as far as
    /// [`RoadGraph::ahead`] asks: the search starts at both ends of the segment `from`
    /// meets the roads on.
    pub fn field(&self, from: Point, m: Measure) -> Field {
        let mut f = Field { measure: m, snap: self.snap(from), best: NodeMap::default(), open: BinaryHeap::new() };
        if let Some(s) = f.snap {
            for (node, along) in s.ends() {
                let g = m.on(&s, along);
                if f.best.get(&node).is_none_or(|(bg, _, _)| g < *bg) {
                    f.best.insert(node, (g, along, false));
                    f.open.push(Open { f: g, g, node });
                }
            }
        }
        f
    }

    /// The cost and length of the cheapest road path from `node` to the field's start,
    /// searching on as far as it takes, or as `budget` allows (nodes made final, each
    /// counted off it): `Ok(None)` where no road leads there, `Err(())` where the budget
    /// ran out first.
    fn settle(&self, f: &mut Field, node: u32, budget: &mut usize) -> Result<Option<(f64, f64)>, ()> {
        loop {
            if let Some(&(c, l, true)) = f.best.get(&node) {
                return Ok(Some((c, l)));
            }
            if *budget == 0 {
                return Err(());
            }
            *budget -= 1;
            if self.step(f).is_none() {
                return Ok(None);
            }
        }
    }

    /// Takes the search one node further: the cheapest node from the start not yet final,
    /// now final, with its cost and length. `None` once it has reached every node it can.
    fn step(&self, f: &mut Field) -> Option<(u32, f64, f64)> {
        loop {
            let Open { g, node, .. } = f.open.pop()?;
            let l = match f.best.get_mut(&node) {
                Some((bg, l, done)) if !*done && *bg >= g => {
                    *done = true;
                    *l
                }
                _ => continue,
            };
            for e in self.edges(node) {
                let (ng, nl) = (g + f.measure.edge(e), l + f64::from(e.length_m));
                if f.best.get(&e.to).is_none_or(|(bg, _, _)| ng < *bg) {
                    f.best.insert(e.to, (ng, nl, false));
                    f.open.push(Open { f: ng, g: ng, node: e.to });
                }
            }
            return Some((node, g, l));
        }
    }

    /// How far by road `p` is from the field's start, metres, along the way the field
    /// chooses (the fastest, or the shortest): the straight legs from each to the road
    /// segment it meets, along that segment to one of its ends, and the road path between
    /// (along the segment alone where both meet the same one). The field searches on only
    /// as far as `p`, so following units that come nearer costs one search out to where
    /// the farthest of them was first asked of. `None` where no road leads from `p` to the
    /// start (another island, a graph without roads).
    pub fn ahead(&self, f: &mut Field, p: Point) -> Option<f64> {
        let mut unbounded = usize::MAX;
        match self.ahead_within(f, p, &mut unbounded) {
            Found::Way { metres, .. } => Some(metres),
            Found::NoRoad | Found::NotYet => None,
        }
    }

    /// [`RoadGraph::ahead`], searching on by at most `budget` nodes (each made final is
    /// counted off it, so that one budget can be shared by several asks): `NotYet` where
    /// the search must go farther than that to tell; asked again, it goes on from there.
    pub fn ahead_within(&self, f: &mut Field, p: Point, budget: &mut usize) -> Found {
        let (Some(from), Some(at)) = (f.snap, self.snap(p)) else { return Found::NoRoad };
        let m = f.measure;
        // The cheapest way found, its cost and length.
        let mut best: Option<(f64, f64)> = None;
        let mut offer = |c: f64, l: f64| {
            if best.is_none_or(|(bc, _)| c < bc) {
                best = Some((c, l));
            }
        };
        for (node, along) in at.ends() {
            match self.settle(f, node, budget) {
                Ok(Some((c, l))) => offer(c + m.on(&at, along), l + along),
                Ok(None) => {}
                Err(()) => return Found::NotYet,
            }
        }
        if let Some(along) = at.along(&from) {
            offer(m.on(&at, along), along);
        }
        let off = m.on(&from, from.off_m) + m.on(&at, at.off_m);
        best.map_or(Found::NoRoad, |(c, l)| Found::Way { metres: l + from.off_m + at.off_m, cost: c + off })
    }
}

/// What following found of a point ([`RoadGraph::ahead_within`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Found {
    /// The way by road: its length, metres, and its cost (seconds at the roads' speeds, or
    /// metres: the field's [`Measure`]; [`seconds`] for a traveller).
    Way {
        /// Its length.
        metres: f64,
        /// Its cost.
        cost: f64,
    },
    /// No road leads there.
    NoRoad,
    /// The search has to go farther than it was let to tell.
    NotYet,
}

/// Where a point meets the roads ([`RoadGraph::snap`]): a segment from its nearest node `a`
/// to `b` (none where `a` has no road), how far along it (0 at `a`, 1 at `b`), its length,
/// and the straight leg from the point to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snap {
    /// The node nearest the point.
    pub a: u32,
    /// The other end of the segment.
    pub b: Option<u32>,
    /// How far along from `a` to `b`, 0 to 1.
    pub t: f64,
    /// The segment's length, metres.
    pub length_m: f64,
    /// Its speed, m/s.
    pub speed_ms: f64,
    /// The straight leg from the point to the segment, metres.
    pub off_m: f64,
}

impl Snap {
    /// The segment's ends, each with the length along it from the point's foot.
    fn ends(&self) -> impl Iterator<Item = (u32, f64)> {
        let first = (self.a, self.t * self.length_m);
        std::iter::once(first).chain(self.b.map(|b| (b, (1.0 - self.t) * self.length_m)))
    }

    /// How long `metres` along the segment take at its speed, seconds.
    fn time_s(&self, metres: f64) -> f64 {
        metres / self.speed_ms.max(f64::MIN_POSITIVE)
    }

    /// The length along the segment between two feet on the same segment, either way round.
    fn along(&self, other: &Snap) -> Option<f64> {
        let (b, ob) = (self.b?, other.b?);
        if (self.a, b) == (other.a, ob) {
            Some((self.t - other.t).abs() * self.length_m)
        } else if (self.a, b) == (ob, other.a) {
            Some((self.t - (1.0 - other.t)).abs() * self.length_m)
        } else {
            None
        }
    }
}

/// The ways by road outward from one point, found as far as they have been asked for
/// ([`RoadGraph::field`], [`RoadGraph::ahead`]): a search kept between asks.
#[derive(Debug)]
pub struct Field {
    measure: Measure,
    snap: Option<Snap>,
    /// Each node reached: its cost and length so far, and whether they are final.
    best: NodeMap<(f64, f64, bool)>,
    open: BinaryHeap<Open>,
}

impl Field {
    /// How many nodes the search has reached.
    pub fn len(&self) -> usize {
        self.best.len()
    }

    /// Whether it has reached none (a graph without roads).
    pub fn is_empty(&self) -> bool {
        self.best.is_empty()
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
mod tests;
