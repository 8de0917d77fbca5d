//! The city map as a server hands it to consoles (`map` query): the administrative areas,
//! the overlay nets, the technical cells, the roads and the category list, all WGS-84, with
//! the layers that are generated marked as such. A console draws only what this says, so
//! any city the server loads is drawn the same way.
//!
//! In a compact map (`{"q":"map","compact":true}`) a lattice cell carries its `(row, col)`
//! and no outline: its outline is the lattice square, and decoding a [`CityMap`] puts it
//! back. That halves the map of a city (Siming's 8,564 cells: 5.0 → 2.7 MB; all 177,400 of
//! Xiamen's: 102.5 → 53.3 MB), and a map whose cells lack outlines they cannot get back from
//! the lattice is refused as malformed.
//!
//! A map also travels in parts (`{"q":"map_part",...}`, [`CityMap::split`]) of about half a
//! megabyte each, every one a small map of its own: a console on a link that drops every
//! half minute keeps the parts it got and asks for the rest, where the whole city in one
//! 53 MB frame would start over each time and never arrive.

use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::{Level, UnitId};
use crate::lifecycle::StageLimits;

/// The regular lattice of technical cells, when the cells are lattice squares.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GridLattice {
    /// Longitude of the south-west corner of cell (row 0, col 0).
    pub origin_lon: f64,
    /// Latitude of the south-west corner of cell (row 0, col 0).
    pub origin_lat: f64,
    /// Cell width in degrees of longitude.
    pub dlon: f64,
    /// Cell height in degrees of latitude.
    pub dlat: f64,
    /// Nominal cell size, metres.
    pub cell_m: f64,
}

impl GridLattice {
    /// The outline of cell `(row, col)`, counter-clockwise from its south-west corner:
    /// the same square the server's lattice gives it.
    pub fn square(&self, (row, col): (i32, i32)) -> Polygon {
        let corner = |r: i32, c: i32| Coord {
            x: self.origin_lon + f64::from(c) * self.dlon,
            y: self.origin_lat + f64::from(r) * self.dlat,
        };
        let ring = [(0, 0), (0, 1), (1, 1), (1, 0), (0, 0)].map(|(dr, dc)| corner(row + dr, col + dc));
        Polygon::new(LineString::new(ring.to_vec()), vec![])
    }
}

/// A district, street or community with its outline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapArea {
    /// Level.
    pub level: Level,
    /// 12-digit code.
    pub code: String,
    /// Name.
    pub name: String,
    /// The parent's code; empty for the top level in the map.
    pub parent: String,
    /// Outline.
    pub outline: MultiPolygon,
    /// Whether the outline is generated rather than surveyed.
    pub synthetic: bool,
}

/// Which overlay net a unit belongs to (Chaoyang's three nets, beside the cells).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Net {
    /// The units responsible for handling.
    Responsibility,
    /// The units that supervise and check.
    Supervision,
}

/// One unit of an overlay net.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapOverlay {
    /// The net.
    pub net: Net,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Outline.
    pub outline: MultiPolygon,
}

/// One technical grid cell. In a compact map a cell with a `lattice_pos` has no `outline`
/// on the wire (see the module doc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapCell {
    /// Cell code.
    pub code: String,
    /// Outline.
    #[serde(default = "no_outline", skip_serializing_if = "has_no_outline")]
    pub outline: Polygon,
    /// `(row, col)` on the lattice, when the cell is a lattice square.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lattice_pos: Option<(i32, i32)>,
    /// The community it belongs to.
    pub community: String,
    /// Its responsibility unit.
    pub responsibility_unit: String,
    /// Its supervision unit.
    pub supervision_unit: String,
    /// Its grid worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid_worker: Option<UnitId>,
}

fn no_outline() -> Polygon {
    Polygon::new(LineString::new(vec![]), vec![])
}

fn has_no_outline(p: &Polygon) -> bool {
    p.exterior().0.is_empty()
}

/// One road line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapRoad {
    /// Class (`trunk`, `primary`, `secondary`, `local`, `residential`, …).
    pub class: String,
    /// The line.
    pub line: LineString,
}

/// One category of the responsibility list, as a console names and files it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapCategory {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// The module it belongs to (`01 矛盾纠纷`, …).
    pub module: String,
    /// The responsible department.
    pub department: String,
    /// The level that first handles it.
    pub level: Level,
    /// Skills a dispatched unit should have.
    #[serde(default)]
    pub skills: Vec<String>,
    /// The time limit of every stage, minutes (absent from servers before it was added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits_mins: Option<StageLimits>,
}

/// The whole map of a city, as the `map` query answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct CityMap {
    /// City name.
    pub name: String,
    /// City code.
    pub code: String,
    /// The build profile that made the map.
    pub profile: String,
    /// The point the local metric is centred on.
    pub reference: Point,
    /// The cell lattice, when cells are lattice squares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lattice: Option<GridLattice>,
    /// Which layers are generated, not real (for the legend).
    pub synthetic_layers: Vec<String>,
    /// Where the data comes from, under which terms.
    pub attribution: Vec<String>,
    /// Districts, streets and communities.
    pub areas: Vec<MapArea>,
    /// Responsibility and supervision units.
    pub overlays: Vec<MapOverlay>,
    /// Technical cells.
    pub cells: Vec<MapCell>,
    /// Roads.
    pub roads: Vec<MapRoad>,
    /// The categories of the responsibility list.
    pub categories: Vec<MapCategory>,
}

impl Serialize for CityMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        CityMap::serialize(self, s)
    }
}

impl<'de> Deserialize<'de> for CityMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut map = CityMap::deserialize(d)?;
        map.restore_outlines().map_err(serde::de::Error::custom)?;
        Ok(map)
    }
}

impl CityMap {
    /// The map as a compact `map` answer carries it: lattice cells without their outlines,
    /// which decoding puts back. A cell whose position names no lattice keeps its outline.
    pub fn into_compact(mut self) -> Self {
        if self.lattice.is_some() {
            for cell in self.cells.iter_mut().filter(|c| c.lattice_pos.is_some()) {
                cell.outline = no_outline();
            }
        }
        self
    }

    /// The map cut into parts of about `max_bytes` of JSON each, for the `map_part` query.
    /// Every part carries the map's own fields (name, code, profile, reference, lattice,
    /// synthetic layers, attribution) and a run of its lists, in their order (areas,
    /// overlays, cells, roads, categories), so that [`CityMap::join`] of the parts, in
    /// order, is the map again. An item larger than `max_bytes` makes a part alone; a map
    /// is at least one part.
    pub fn split(mut self, max_bytes: usize) -> Vec<CityMap> {
        let areas = std::mem::take(&mut self.areas);
        let overlays = std::mem::take(&mut self.overlays);
        let cells = std::mem::take(&mut self.cells);
        let roads = std::mem::take(&mut self.roads);
        let categories = std::mem::take(&mut self.categories);
        // What is left is the map's own fields, which every part carries.
        let mut split = Splitter::new(self, max_bytes);
        areas.into_iter().for_each(|a| split.push(a, |m| &mut m.areas));
        overlays.into_iter().for_each(|o| split.push(o, |m| &mut m.overlays));
        cells.into_iter().for_each(|c| split.push(c, |m| &mut m.cells));
        roads.into_iter().for_each(|r| split.push(r, |m| &mut m.roads));
        categories.into_iter().for_each(|c| split.push(c, |m| &mut m.categories));
        split.finish()
    }

    /// The map whose parts, in order, are `parts` (see [`CityMap::split`]); an error when
    /// there are none or one belongs to another map.
    pub fn join(parts: impl IntoIterator<Item = CityMap>) -> Result<CityMap, String> {
        let mut parts = parts.into_iter();
        let mut map = parts.next().ok_or_else(|| "a map of no parts".to_owned())?;
        for (i, part) in parts.enumerate() {
            if (&part.name, &part.code, &part.profile) != (&map.name, &map.code, &map.profile) {
                return Err(format!(
                    "part {} is of another map ({} {}, not {} {})",
                    i + 1,
                    part.name,
                    part.profile,
                    map.name,
                    map.profile
                ));
            }
            if part.lattice != map.lattice {
                return Err(format!("part {} lies on another grid lattice than part 0", i + 1));
            }
            map.areas.extend(part.areas);
            map.overlays.extend(part.overlays);
            map.cells.extend(part.cells);
            map.roads.extend(part.roads);
            map.categories.extend(part.categories);
        }
        Ok(map)
    }

    /// Gives every lattice cell that arrived without an outline its lattice square; an
    /// error names the first cell that has neither.
    fn restore_outlines(&mut self) -> Result<(), String> {
        let lattice = self.lattice;
        for cell in self.cells.iter_mut().filter(|c| c.outline.exterior().0.is_empty()) {
            match (lattice, cell.lattice_pos) {
                (Some(l), Some(pos)) => cell.outline = l.square(pos),
                (None, Some(_)) => {
                    return Err(format!("cell {} has a lattice position but the map has no lattice", cell.code));
                }
                (_, None) => return Err(format!("cell {} has neither an outline nor a lattice position", cell.code)),
            }
        }
        Ok(())
    }
}

/// Fills parts up to a size, item by item.
struct Splitter {
    head: CityMap,
    head_bytes: usize,
    max_bytes: usize,
    parts: Vec<CityMap>,
    part: CityMap,
    bytes: usize,
}

impl Splitter {
    fn new(head: CityMap, max_bytes: usize) -> Self {
        let head_bytes = json_len(&head);
        Splitter { part: head.clone(), head, head_bytes, max_bytes, parts: vec![], bytes: head_bytes }
    }

    fn push<T: Serialize>(&mut self, item: T, list: fn(&mut CityMap) -> &mut Vec<T>) {
        let n = json_len(&item) + 1;
        if self.bytes + n > self.max_bytes && self.bytes > self.head_bytes {
            self.parts.push(std::mem::replace(&mut self.part, self.head.clone()));
            self.bytes = self.head_bytes;
        }
        list(&mut self.part).push(item);
        self.bytes += n;
    }

    fn finish(mut self) -> Vec<CityMap> {
        self.parts.push(self.part);
        self.parts
    }
}

/// Bytes of `value`'s JSON, counted without keeping them.
fn json_len<T: Serialize>(value: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// The request id a client asks for part `k` of the map under (`map-part-<k>`): a server
/// keeps its answer to that id ready and shares it between clients.
pub fn map_part_req(k: u32) -> String {
    format!("map-part-{k}")
}

/// The digest a server names its map by in `welcome` (`map_digest`): FNV-1a, 64 bits, of the
/// compact answer's JSON (`{"q":"map",...}`), in 16 hex digits; the same of each part's
/// frame gives `welcome`'s `map_part_digests`. Not a security measure: it tells a client
/// whether the map it kept is the one the server would send.
pub fn map_digest(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}
