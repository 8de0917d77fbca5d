//! The city as the server holds it: loaded from a map directory whose `city.json` manifest
//! names its layers. Loading is by format (GeoJSON, OSM PBF, JSON), not by city: any city
//! that brings these files runs.

pub mod export;
pub mod geojson;
pub mod load;
pub mod osm;
pub mod responsibility;
pub mod roads;

use std::collections::HashMap;

use geo_types::MultiPolygon;
use onegrid_protocol::{Camera, Level, UnitKind};
use serde::{Deserialize, Serialize};

use crate::spatial::{CellIndex, Lattice, LocalMetric};
pub use export::MapReply;
pub use geojson::MapError;
pub use load::load;
pub use responsibility::{Category, Limits, ResponsibilityList};
pub use roads::{Reach, RoadGraph};

/// Format version of `city.json`; a loader refuses other versions.
pub const MANIFEST_FORMAT: u32 = 1;

/// The files of a map directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Files {
    /// Districts, streets and communities (GeoJSON).
    pub admin: String,
    /// Responsibility and supervision units (GeoJSON).
    pub overlays: String,
    /// Technical cells (GeoJSON).
    pub cells: String,
    /// Roads: GeoJSON lines or an OSM `.pbf`.
    pub roads: String,
    /// Field units (JSON).
    pub personnel: String,
    /// Cameras (JSON).
    pub cameras: String,
    /// The responsibility list (JSON).
    pub responsibility: String,
}

/// `city.json`: what a map directory holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version.
    pub format: u32,
    /// City name.
    pub name: String,
    /// City code.
    pub code: String,
    /// The build profile that made it.
    pub profile: String,
    /// Districts in the operating area.
    pub operating_area: Vec<String>,
    /// The cell lattice, when cells are lattice squares.
    pub lattice: Option<Lattice>,
    /// The centre of the local metric.
    pub reference: [f64; 2],
    /// The seed of the synthetic layers.
    pub seed: u64,
    /// The layers that are generated, not real.
    pub synthetic_layers: Vec<String>,
    /// Where the data comes from and under which terms.
    pub attribution: Vec<String>,
    /// The files.
    pub files: Files,
}

/// A district, street or community.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminUnit {
    /// Level.
    pub level: Level,
    /// 12-digit code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Parent's code.
    pub parent: String,
    /// Outline.
    pub outline: MultiPolygon,
    /// Whether the outline is generated.
    pub synthetic: bool,
}

/// A unit of an overlay net (responsibility or supervision).
#[derive(Debug, Clone, PartialEq)]
pub struct OverlayUnit {
    /// `responsibility` or `supervision`.
    pub net: String,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Outline.
    pub outline: MultiPolygon,
}

/// A roster entry: a field unit as the map data gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RosterEntry {
    /// Id.
    pub id: u32,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: UnitKind,
    /// Skills.
    pub skills: Vec<String>,
    /// Phone.
    pub phone: String,
    /// Home community code.
    pub community: String,
    /// Starting position `[lon, lat]`.
    pub start: [f64; 2],
    /// Whether generated.
    pub synthetic: bool,
}

/// The loaded city.
#[derive(Debug)]
pub struct City {
    /// The manifest.
    pub manifest: Manifest,
    /// The metric for distances.
    pub metric: LocalMetric,
    /// Administrative units by code.
    pub admin: HashMap<String, AdminUnit>,
    /// Overlay units.
    pub overlays: Vec<OverlayUnit>,
    /// Cells, indexed for `locate`.
    pub cells: CellIndex,
    /// Roads.
    pub roads: RoadGraph,
    /// Field units.
    pub roster: Vec<RosterEntry>,
    /// Cameras.
    pub cameras: Vec<Camera>,
    /// The responsibility list.
    pub responsibility: ResponsibilityList,
    /// What consoles draw, built and encoded once at load.
    pub map: MapReply,
}

impl City {
    /// Units of one level, sorted by code.
    pub fn units_at(&self, level: Level) -> Vec<&AdminUnit> {
        let mut v: Vec<&AdminUnit> = self.admin.values().filter(|u| u.level == level).collect();
        v.sort_by(|a, b| a.code.cmp(&b.code));
        v
    }
}
