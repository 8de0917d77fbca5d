//! The city map as a server hands it to consoles (`map` query): the administrative areas,
//! the overlay nets, the technical cells, the roads and the category list, all WGS-84, with
//! the layers that are generated marked as such. A console draws only what this says, so
//! any city the server loads is drawn the same way.

use geo_types::{LineString, MultiPolygon, Point, Polygon};
use serde::{Deserialize, Serialize};

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

/// One technical grid cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapCell {
    /// Cell code.
    pub code: String,
    /// Outline.
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
