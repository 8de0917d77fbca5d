//! The synthetic layers no open source has for a Chinese city: roads on the cell edges,
//! grid workers and teams, cameras. All seeded, all marked synthetic.

use std::collections::{HashMap, HashSet};

use geo_types::{Coord, LineString, Point};
use serde_json::{Value, json};

use super::partition::Pos;
use crate::city::geojson::{feature, line_json};
use crate::rng::Rng;
use crate::spatial::Lattice;

/// Road class and speed of a lattice line: trunk every 1 km, secondary every 500 m.
fn class_of(line: i32) -> (&'static str, f64) {
    if line.rem_euclid(10) == 0 {
        ("trunk", 50.0)
    } else if line.rem_euclid(5) == 0 {
        ("secondary", 40.0)
    } else {
        ("local", 25.0)
    }
}

/// A lattice segment between two nodes; `true` when it runs along a row.
type Segment = (Pos, Pos, bool);

struct UnionFind(HashMap<Pos, Pos>);

impl UnionFind {
    fn find(&mut self, p: Pos) -> Pos {
        let parent = *self.0.entry(p).or_insert(p);
        if parent == p {
            return p;
        }
        let root = self.find(parent);
        self.0.insert(p, root);
        root
    }

    fn union(&mut self, a: Pos, b: Pos) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        self.0.insert(ra, rb);
        true
    }
}

/// Road features along the lattice lines bordering `cells`: every trunk and secondary
/// segment, and local segments except about a quarter dropped where the graph stays
/// connected without them. Consecutive kept segments of one class become one line.
pub fn roads(cells: &HashSet<Pos>, lattice: &Lattice, rng: &mut Rng) -> Vec<Value> {
    // Segment (a, b) between lattice nodes, with horizontal = true along a row.
    let mut segments: Vec<Segment> = Vec::new();
    let mut sorted: Vec<Pos> = cells.iter().copied().collect();
    sorted.sort_unstable();
    let mut seen = HashSet::new();
    for (r, c) in sorted {
        for seg in [
            ((r, c), (r, c + 1), true),
            ((r + 1, c), (r + 1, c + 1), true),
            ((r, c), (r + 1, c), false),
            ((r, c + 1), (r + 1, c + 1), false),
        ] {
            if seen.insert(seg) {
                segments.push(seg);
            }
        }
    }
    let line_of = |s: &(Pos, Pos, bool)| if s.2 { s.0.0 } else { s.0.1 };
    let mut uf = UnionFind(HashMap::new());
    let mut kept = HashSet::new();
    let (major, local): (Vec<&Segment>, Vec<&Segment>) =
        segments.iter().partition(|s| class_of(line_of(s)).0 != "local");
    for s in &major {
        uf.union(s.0, s.1);
        kept.insert(**s);
    }
    for s in local {
        let s = *s;
        let joins = uf.union(s.0, s.1);
        if joins || rng.chance(0.75) {
            kept.insert(s);
        }
    }
    let mut features = Vec::new();
    let mut lines: HashMap<(bool, i32), Vec<(Pos, Pos)>> = HashMap::new();
    for s in &kept {
        lines.entry((s.2, line_of(s))).or_default().push((s.0, s.1));
    }
    let mut keys: Vec<_> = lines.keys().copied().collect();
    keys.sort_unstable();
    for key in keys {
        let mut segs = lines.remove(&key).unwrap_or_default();
        segs.sort_unstable();
        let (class, speed) = class_of(key.1);
        let mut run: Vec<Pos> = Vec::new();
        for (a, b) in segs {
            if run.last() != Some(&a) && !run.is_empty() {
                features.push(road_feature(&run, lattice, class, speed));
                run.clear();
            }
            if run.is_empty() {
                run.push(a);
            }
            run.push(b);
        }
        if run.len() >= 2 {
            features.push(road_feature(&run, lattice, class, speed));
        }
    }
    features
}

fn road_feature(nodes: &[Pos], lattice: &Lattice, class: &str, speed_kmh: f64) -> Value {
    let line = LineString::new(nodes.iter().map(|&(r, c)| Coord::from(lattice.corner(r, c))).collect());
    feature(json!({"class": class, "speed_kmh": speed_kmh, "synthetic": true}), line_json(&line))
}

const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡余杜叶程苏魏吕丁沈姚卢钟谭陆汪范金石廖贾夏付方白邹孟熊秦邱江尹薛";
const GIVEN: &str = "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华建文辉力鹏宇晨欣怡佳琳志海燕婷雪玲峰斌博浩";

/// A Chinese personal name from fixed lists.
pub fn person_name(rng: &mut Rng) -> String {
    let s: Vec<char> = SURNAMES.chars().collect();
    let g: Vec<char> = GIVEN.chars().collect();
    let mut name = String::from(*rng.pick(&s));
    name.push(*rng.pick(&g));
    if rng.chance(0.6) {
        name.push(*rng.pick(&g));
    }
    name
}

/// A phone number in the reserved 170-0000 test range, so no real person is called.
pub fn phone(id: u32) -> String {
    format!("170-0000-{:04}", id % 10_000)
}

/// Teams every street keeps: name suffix and skills.
pub const TEAMS: [(&str, &[&str]); 4] = [
    ("城管执法中队", &["urban", "construction", "vendor", "noise"]),
    ("消防安全巡查队", &["fire", "safety"]),
    ("市政维修队", &["road", "water", "lighting", "sanitation"]),
    ("综治调解组", &["mediation", "dispute", "housing"]),
];

/// A camera at a random lattice node of a cell, pointing anywhere.
pub fn camera(id: u32, name: String, cell: Pos, lattice: &Lattice, rng: &mut Rng) -> Value {
    let (dr, dc) = (rng.below(2) as i32, rng.below(2) as i32);
    let at: Point = lattice.corner(cell.0 + dr, cell.1 + dc);
    json!({
        "id": id,
        "name": name,
        "position": [(at.x() * 1e6).round() / 1e6, (at.y() * 1e6).round() / 1e6],
        "heading_deg": (rng.range(0.0, 360.0) * 10.0).round() / 10.0,
        "fov_deg": (rng.range(50.0, 90.0)).round(),
        "range_m": (rng.range(60.0, 150.0)).round(),
        "stream_url": format!("rtsp://127.0.0.1:8554/cam/{id}"),
        "synthetic": true,
    })
}
