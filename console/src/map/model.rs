//! The map model: the server's [`CityMap`] projected once into local metres, with what the
//! console asks of it every frame made cheap: bounds per shape, label anchors, the
//! hierarchy (city → district → street → community → cell) and a search index.

use std::collections::HashMap;

use geo_types::{LineString, MultiPolygon, Polygon};
use onegrid_protocol::{CityMap, Level, MapCategory, Net};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

use crate::view::{Bounds, Projection};

/// A closed ring in local metres.
pub type Ring = Vec<[f64; 2]>;

/// An administrative area, projected.
#[derive(Debug, Clone)]
pub struct AreaShape {
    /// Level.
    pub level: Level,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Parent code.
    pub parent: String,
    /// Rings (outer rings and holes alike: drawn as lines).
    pub rings: Vec<Ring>,
    /// Bounds.
    pub bounds: Bounds,
    /// Where its label goes: inside the shape.
    pub label_at: [f64; 2],
    /// Whether the outline is generated.
    pub synthetic: bool,
}

/// A technical cell, projected.
#[derive(Debug, Clone)]
pub struct CellShape {
    /// Code.
    pub code: String,
    /// Outline.
    pub ring: Ring,
    /// Bounds.
    pub bounds: Bounds,
    /// Community code.
    pub community: String,
    /// Index of its community in [`MapModel::areas`].
    pub community_idx: Option<usize>,
    /// Responsibility unit code.
    pub responsibility_unit: String,
    /// Supervision unit code.
    pub supervision_unit: String,
    /// Grid worker.
    pub grid_worker: Option<u32>,
}

/// An overlay unit, projected.
#[derive(Debug, Clone)]
pub struct OverlayShape {
    /// Which net.
    pub net: Net,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Rings.
    pub rings: Vec<Ring>,
    /// Bounds.
    pub bounds: Bounds,
}

/// A road, projected.
#[derive(Debug, Clone)]
pub struct RoadShape {
    /// Class.
    pub class: String,
    /// Points.
    pub points: Vec<[f64; 2]>,
    /// Bounds.
    pub bounds: Bounds,
}

/// Shapes by their bounds, so that what a view shows is found without scanning every
/// shape: the whole city's 177,400 cells took about 2 ms a frame to scan, zoomed in.
#[derive(Debug, Clone, Default)]
pub struct ShapeIndex(RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>);

impl ShapeIndex {
    /// The index of shapes with these bounds, numbered in order; a shape with no bounds
    /// (no points) is never found.
    pub fn new<'a>(bounds: impl Iterator<Item = &'a Bounds>) -> Self {
        let items = bounds
            .enumerate()
            .filter(|(_, b)| b.is_valid())
            .map(|(i, b)| GeomWithData::new(Rectangle::from_corners(b.min, b.max), i))
            .collect();
        ShapeIndex(RTree::bulk_load(items))
    }

    /// The shapes whose bounds meet `b` (edges touching count), in their order.
    pub fn meeting(&self, b: &Bounds) -> Vec<usize> {
        if !b.is_valid() {
            return Vec::new();
        }
        let mut found: Vec<usize> =
            self.0.locate_in_envelope_intersecting(AABB::from_corners(b.min, b.max)).map(|g| g.data).collect();
        found.sort_unstable();
        found
    }
}

/// The model's shapes by their bounds.
#[derive(Debug, Clone, Default)]
pub struct ModelIndex {
    /// [`MapModel::areas`].
    pub areas: ShapeIndex,
    /// [`MapModel::cells`].
    pub cells: ShapeIndex,
    /// [`MapModel::overlays`].
    pub overlays: ShapeIndex,
    /// [`MapModel::roads`].
    pub roads: ShapeIndex,
}

/// The projected city.
#[derive(Debug, Clone)]
pub struct MapModel {
    /// City name.
    pub name: String,
    /// City code.
    pub code: String,
    /// The projection every layer uses.
    pub projection: Projection,
    /// Areas, top level first.
    pub areas: Vec<AreaShape>,
    /// Cells.
    pub cells: Vec<CellShape>,
    /// Overlay units.
    pub overlays: Vec<OverlayShape>,
    /// Roads.
    pub roads: Vec<RoadShape>,
    /// Categories by code.
    pub categories: HashMap<String, MapCategory>,
    /// Layers that are generated.
    pub synthetic_layers: Vec<String>,
    /// Data sources and terms.
    pub attribution: Vec<String>,
    /// Everything on the map.
    pub bounds: Bounds,
    /// The shapes by their bounds.
    pub index: ModelIndex,
    area_by_code: HashMap<String, usize>,
    cell_by_code: HashMap<String, usize>,
    overlay_by_code: HashMap<(Net, String), usize>,
    children: HashMap<String, Vec<usize>>,
    cells_of_community: HashMap<String, Vec<usize>>,
}

fn ring_of(line: &LineString, p: &Projection) -> Ring {
    line.0.iter().map(|c| p.to_local(c.x, c.y)).collect()
}

fn rings_of(mp: &MultiPolygon, p: &Projection) -> Vec<Ring> {
    mp.0.iter()
        .flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()))
        .map(|l| ring_of(l, p))
        .collect()
}

fn bounds_of<'a>(rings: impl IntoIterator<Item = &'a Ring>) -> Bounds {
    let mut b = Bounds::empty();
    rings.into_iter().flatten().for_each(|q| b.add(*q));
    b
}

/// Signed area and centroid of a ring (shoelace).
fn ring_centroid(r: &Ring) -> (f64, [f64; 2]) {
    let (mut a, mut cx, mut cy) = (0.0, 0.0, 0.0);
    for w in r.windows(2) {
        let cross = w[0][0] * w[1][1] - w[1][0] * w[0][1];
        a += cross;
        cx += (w[0][0] + w[1][0]) * cross;
        cy += (w[0][1] + w[1][1]) * cross;
    }
    if a.abs() < 1e-9 {
        return (0.0, r.first().copied().unwrap_or([0.0, 0.0]));
    }
    (a / 2.0, [cx / (3.0 * a), cy / (3.0 * a)])
}

/// Whether `p` lies inside `ring` (even-odd).
pub fn ring_contains(ring: &Ring, p: [f64; 2]) -> bool {
    let mut inside = false;
    let n = ring.len();
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + n - 1) % n]);
        if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0] {
            inside = !inside;
        }
    }
    inside
}

fn polygon_ring(poly: &Polygon, p: &Projection) -> Ring {
    ring_of(poly.exterior(), p)
}

impl MapModel {
    /// Projects `map` around its reference point.
    pub fn new(map: &CityMap) -> Self {
        let projection = Projection::new(map.reference.x(), map.reference.y());
        let areas: Vec<AreaShape> = map
            .areas
            .iter()
            .map(|a| {
                let rings = rings_of(&a.outline, &projection);
                let bounds = bounds_of(&rings);
                AreaShape {
                    level: a.level,
                    code: a.code.clone(),
                    name: a.name.clone(),
                    parent: a.parent.clone(),
                    label_at: bounds.center(),
                    rings,
                    bounds,
                    synthetic: a.synthetic,
                }
            })
            .collect();
        let area_by_code: HashMap<String, usize> = areas.iter().enumerate().map(|(i, a)| (a.code.clone(), i)).collect();
        let cells: Vec<CellShape> = map
            .cells
            .iter()
            .map(|c| {
                let ring = polygon_ring(&c.outline, &projection);
                CellShape {
                    code: c.code.clone(),
                    bounds: bounds_of([&ring]),
                    ring,
                    community: c.community.clone(),
                    community_idx: area_by_code.get(&c.community).copied(),
                    responsibility_unit: c.responsibility_unit.clone(),
                    supervision_unit: c.supervision_unit.clone(),
                    grid_worker: c.grid_worker,
                }
            })
            .collect();
        let mut children: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, a) in areas.iter().enumerate() {
            children.entry(a.parent.clone()).or_default().push(i);
        }
        let mut cells_of_community: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, c) in cells.iter().enumerate() {
            cells_of_community.entry(c.community.clone()).or_default().push(i);
        }
        let overlays: Vec<OverlayShape> = map
            .overlays
            .iter()
            .map(|o| {
                let rings = rings_of(&o.outline, &projection);
                OverlayShape {
                    net: o.net,
                    code: o.code.clone(),
                    name: o.name.clone(),
                    bounds: bounds_of(&rings),
                    rings,
                }
            })
            .collect();
        let roads = map
            .roads
            .iter()
            .map(|r| {
                let points = ring_of(&r.line, &projection);
                RoadShape { class: r.class.clone(), bounds: bounds_of([&points]), points }
            })
            .collect();
        let mut model = MapModel {
            name: map.name.clone(),
            code: map.code.clone(),
            projection,
            bounds: Bounds::empty(),
            index: ModelIndex::default(),
            areas: Vec::new(),
            cell_by_code: cells.iter().enumerate().map(|(i, c)| (c.code.clone(), i)).collect(),
            overlay_by_code: overlays.iter().enumerate().map(|(i, o)| ((o.net, o.code.clone()), i)).collect(),
            cells,
            overlays,
            roads,
            categories: map.categories.iter().map(|c| (c.code.clone(), c.clone())).collect(),
            synthetic_layers: map.synthetic_layers.clone(),
            attribution: map.attribution.clone(),
            area_by_code,
            children,
            cells_of_community,
        };
        model.bounds = bounds_of(areas.iter().filter(|a| a.level != Level::City).flat_map(|a| &a.rings));
        if !model.bounds.is_valid() {
            model.bounds = bounds_of(model.cells.iter().map(|c| &c.ring));
        }
        model.areas = areas;
        model.index = ModelIndex {
            areas: ShapeIndex::new(model.areas.iter().map(|a| &a.bounds)),
            cells: ShapeIndex::new(model.cells.iter().map(|c| &c.bounds)),
            overlays: ShapeIndex::new(model.overlays.iter().map(|o| &o.bounds)),
            roads: ShapeIndex::new(model.roads.iter().map(|r| &r.bounds)),
        };
        // Anchored once the areas are in: a concave area looks among its descendants' cells.
        for i in 0..model.areas.len() {
            model.areas[i].label_at = model.label_anchor(&model.areas[i]);
        }
        model
    }

    /// A point inside the area for its label: the centroid of its largest ring when that
    /// lies inside, else the centre of its cell nearest to that centroid.
    fn label_anchor(&self, a: &AreaShape) -> [f64; 2] {
        let Some((_, c, ring)) = a
            .rings
            .iter()
            .map(|r| {
                let (area, c) = ring_centroid(r);
                (area.abs(), c, r)
            })
            .max_by(|x, y| x.0.total_cmp(&y.0))
        else {
            return a.bounds.center();
        };
        if ring_contains(ring, c) {
            return c;
        }
        let d2 = |p: [f64; 2]| (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2);
        self.cells_in(a).map(|i| self.cells[i].bounds.center()).min_by(|x, y| d2(*x).total_cmp(&d2(*y))).unwrap_or(c)
    }

    /// Indexes of the cells inside area `a` (any level).
    pub fn cells_in<'a>(&'a self, a: &'a AreaShape) -> impl Iterator<Item = usize> + 'a {
        let communities: Vec<&str> = match a.level {
            Level::Community => vec![a.code.as_str()],
            _ => self.descendants(&a.code).filter(|c| c.level == Level::Community).map(|c| c.code.as_str()).collect(),
        };
        communities.into_iter().flat_map(|c| self.cells_of_community.get(c).into_iter().flatten().copied())
    }

    /// Every area below `code`, depth first.
    pub fn descendants<'a>(&'a self, code: &str) -> impl Iterator<Item = &'a AreaShape> + 'a {
        let mut stack: Vec<usize> = self.children_of(code).to_vec();
        std::iter::from_fn(move || {
            let i = stack.pop()?;
            stack.extend_from_slice(self.children_of(&self.areas[i].code));
            Some(&self.areas[i])
        })
    }

    /// The direct children of `code`, as indexes into [`MapModel::areas`], by code.
    pub fn children_of(&self, code: &str) -> &[usize] {
        self.children.get(code).map_or(&[], Vec::as_slice)
    }

    /// The areas with no parent in the map (the city, or the districts when the city
    /// itself is not in the map).
    pub fn roots(&self) -> Vec<usize> {
        (0..self.areas.len()).filter(|&i| !self.area_by_code.contains_key(&self.areas[i].parent)).collect()
    }

    /// The area with `code`.
    pub fn area(&self, code: &str) -> Option<&AreaShape> {
        self.area_by_code.get(code).map(|&i| &self.areas[i])
    }

    /// What a user of `scope` looks after: its area (district, street, community), or the
    /// whole city.
    pub fn home(&self, scope: Option<&onegrid_protocol::Scope>) -> Bounds {
        match scope {
            Some(s) if s.level != onegrid_protocol::Level::City => self.area(&s.code).map_or(self.bounds, |a| a.bounds),
            _ => self.bounds,
        }
    }

    /// The cell with `code`.
    pub fn cell(&self, code: &str) -> Option<&CellShape> {
        self.cell_by_code.get(code).map(|&i| &self.cells[i])
    }

    /// The cell holding the local point `p`, as an index into [`MapModel::cells`] (the
    /// first, where cells overlap). Asked once a frame at most (for the pointer).
    pub fn cell_at(&self, p: [f64; 2]) -> Option<usize> {
        let at = Bounds { min: p, max: p };
        self.index.cells.meeting(&at).into_iter().find(|&i| ring_contains(&self.cells[i].ring, p))
    }

    /// The unit of overlay net `net` with `code`.
    pub fn overlay(&self, net: Net, code: &str) -> Option<&OverlayShape> {
        self.overlay_by_code.get(&(net, code.to_owned())).map(|&i| &self.overlays[i])
    }

    /// The cells of community `code`.
    pub fn community_cells(&self, code: &str) -> &[usize] {
        self.cells_of_community.get(code).map_or(&[], Vec::as_slice)
    }

    /// The category's name, or its code when the list does not have it.
    pub fn category_name<'a>(&'a self, code: &'a str) -> &'a str {
        self.categories.get(code).map_or(code, |c| c.name.as_str())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon};
    use onegrid_protocol::{CityMap, Level, MapArea, MapCategory, MapCell};

    use super::*;

    fn square(x0: f64, y0: f64, d: f64) -> Polygon {
        let c = |x, y| Coord { x, y };
        Polygon::new(LineString(vec![c(x0, y0), c(x0 + d, y0), c(x0 + d, y0 + d), c(x0, y0 + d), c(x0, y0)]), vec![])
    }

    fn area(level: Level, code: &str, name: &str, parent: &str, poly: Polygon) -> MapArea {
        MapArea {
            level,
            code: code.into(),
            name: name.into(),
            parent: parent.into(),
            outline: MultiPolygon(vec![poly]),
            synthetic: level != Level::District,
        }
    }

    /// A small map: one district, one street, two communities of two cells each
    /// (cells of 0.001°), west and east of each other.
    pub(crate) fn tiny_map() -> CityMap {
        let d = 0.001;
        let cell = |i: usize, community: &str| MapCell {
            code: format!("C{i}"),
            outline: square(118.0 + d * i as f64, 24.0, d),
            lattice_pos: Some((0, i as i32)),
            community: community.into(),
            responsibility_unit: format!("R{}", i / 2),
            supervision_unit: "S0".into(),
            grid_worker: Some(i as u32 + 1),
        };
        CityMap {
            name: "测试市".into(),
            code: "999900000000".into(),
            profile: "test".into(),
            reference: Point::new(118.002, 24.0005),
            lattice: None,
            synthetic_layers: vec!["street outlines".into()],
            attribution: vec!["test".into()],
            areas: vec![
                area(Level::District, "999901000000", "甲区", "999900000000", square(118.0, 24.0, 4.0 * d)),
                area(Level::Street, "999901001000", "乙街道", "999901000000", square(118.0, 24.0, 4.0 * d)),
                area(Level::Community, "999901001001", "丙社区", "999901001000", square(118.0, 24.0, 2.0 * d)),
                area(
                    Level::Community,
                    "999901001002",
                    "丁社区",
                    "999901001000",
                    square(118.0 + 2.0 * d, 24.0, 2.0 * d),
                ),
            ],
            overlays: vec![],
            cells: (0..4).map(|i| cell(i, if i < 2 { "999901001001" } else { "999901001002" })).collect(),
            roads: vec![],
            categories: vec![MapCategory {
                code: "0201".into(),
                name: "火灾隐患".into(),
                module: "02".into(),
                department: "消防".into(),
                level: Level::Street,
                skills: vec!["fire".into()],
                limits_mins: None,
            }],
        }
    }

    #[test]
    fn the_index_finds_what_a_scan_over_every_shape_finds() {
        // Shapes of every size, points among them, and one with no bounds at all.
        let mut bounds: Vec<Bounds> = (0..400)
            .map(|i| {
                let (x, y) = ((i % 20) as f64 * 10.0, (i / 20) as f64 * 10.0);
                Bounds { min: [x, y], max: [x + (i % 7) as f64 * 5.0, y + (i % 3) as f64 * 5.0] }
            })
            .collect();
        bounds.push(Bounds::empty());
        let index = ShapeIndex::new(bounds.iter());
        let mut asked = 0;
        for qx in (-20..230).step_by(13) {
            for qy in (-20..230).step_by(11) {
                for size in [0.0, 3.0, 10.0, 55.0, 500.0] {
                    let (x, y) = (qx as f64, qy as f64);
                    let q = Bounds { min: [x, y], max: [x + size, y + size] };
                    let scan: Vec<usize> = (0..bounds.len()).filter(|&i| bounds[i].intersects(&q)).collect();
                    assert_eq!(index.meeting(&q), scan, "{q:?}");
                    asked += usize::from(!scan.is_empty());
                }
            }
        }
        assert!(asked > 1000, "most boxes meet something: {asked}");
        assert!(index.meeting(&Bounds::empty()).is_empty());
    }

    #[test]
    fn home_is_the_users_area_or_the_city() {
        use onegrid_protocol::Scope;
        let m = MapModel::new(&tiny_map());
        let community = Scope { level: Level::Community, code: "999901001002".into() };
        let home = m.home(Some(&community));
        assert_eq!(home, m.area("999901001002").expect("community").bounds);
        assert!(home.size()[0] < m.bounds.size()[0] * 0.75, "a part of the city");
        assert_eq!(m.home(Some(&Scope::city())), m.bounds);
        assert_eq!(m.home(None), m.bounds);
        let unknown = Scope { level: Level::Street, code: "123".into() };
        assert_eq!(m.home(Some(&unknown)), m.bounds, "an area the map lacks: the city");
    }

    #[test]
    fn hierarchy_and_cells_follow_the_codes() {
        let m = MapModel::new(&tiny_map());
        let roots = m.roots();
        assert_eq!(roots.len(), 1);
        assert_eq!(m.areas[roots[0]].name, "甲区");
        let street: Vec<_> = m.children_of("999901000000").iter().map(|&i| m.areas[i].name.clone()).collect();
        assert_eq!(street, vec!["乙街道"]);
        let district = m.area("999901000000").expect("district");
        assert_eq!(m.cells_in(district).count(), 4);
        assert_eq!(m.community_cells("999901001002").len(), 2);
        assert_eq!(m.category_name("0201"), "火灾隐患");
        assert_eq!(m.category_name("7777"), "7777");
    }

    #[test]
    fn the_cell_under_a_point_is_found_and_none_outside_the_cells() {
        let m = MapModel::new(&tiny_map());
        for (i, c) in m.cells.iter().enumerate() {
            assert_eq!(m.cell_at(c.bounds.center()), Some(i), "{}", c.code);
        }
        let east = m.cells[3].bounds;
        assert_eq!(m.cell_at([east.max[0] + 1.0, east.center()[1]]), None);
        assert_eq!(m.cell_at([east.center()[0], east.max[1] + 1.0]), None);
    }

    #[test]
    fn labels_sit_inside_their_areas() {
        let m = MapModel::new(&tiny_map());
        for a in &m.areas {
            assert!(ring_contains(&a.rings[0], a.label_at), "{} label outside", a.name);
        }
        let w = m.area("999901001001").expect("west").label_at;
        let e = m.area("999901001002").expect("east").label_at;
        assert!(w[0] < e[0]);
    }

    #[test]
    fn a_concave_area_gets_its_label_on_one_of_its_cells() {
        let mut map = tiny_map();
        // An L-shaped community whose centroid falls outside it.
        let d = 0.001;
        let l = Polygon::new(
            LineString::from(vec![
                (118.0, 24.0),
                (118.0 + 4.0 * d, 24.0),
                (118.0 + 4.0 * d, 24.0 + 0.2 * d),
                (118.0 + 0.2 * d, 24.0 + 0.2 * d),
                (118.0 + 0.2 * d, 24.0 + 4.0 * d),
                (118.0, 24.0 + 4.0 * d),
                (118.0, 24.0),
            ]),
            vec![],
        );
        map.areas[2].outline = MultiPolygon(vec![l.clone()]);
        // And a district of that shape: its label looks among the cells of its communities,
        // which must not need the areas the model is still being built from.
        map.areas[0].outline = MultiPolygon(vec![l]);
        let m = MapModel::new(&map);
        let a = m.area("999901001001").expect("community");
        let on_cell = m.community_cells(&a.code).iter().any(|&i| m.cells[i].bounds.center() == a.label_at);
        assert!(on_cell, "label at {:?}", a.label_at);
        let district = m.area("999901000000").expect("district");
        assert!(
            m.cells_in(district).any(|i| m.cells[i].bounds.center() == district.label_at),
            "{:?}",
            district.label_at
        );
    }
}
