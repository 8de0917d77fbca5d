//! The city as consoles draw it: [`CityMap`], built once when the map directory is loaded
//! and handed out by the `map` query. Only what a console shows goes in (outlines, cells
//! with their nets, road lines, categories with their departments and time limits); nothing of
//! the roster or of live state.

use std::collections::HashMap;

use onegrid_protocol::{CityMap, GridLattice, MapArea, MapCategory, MapCell, MapOverlay, MapRoad, Net};

use super::roads::Way;
use super::{AdminUnit, Manifest, OverlayUnit, ResponsibilityList};
use crate::spatial::CellIndex;

/// What [`city_map`] reads.
pub struct Parts<'a> {
    /// The manifest.
    pub manifest: &'a Manifest,
    /// Administrative units.
    pub admin: &'a HashMap<String, AdminUnit>,
    /// Overlay units.
    pub overlays: &'a [OverlayUnit],
    /// Cells.
    pub cells: &'a CellIndex,
    /// Road ways.
    pub ways: &'a [Way],
    /// The responsibility list.
    pub responsibility: &'a ResponsibilityList,
}

fn net(name: &str) -> Net {
    if name == "supervision" { Net::Supervision } else { Net::Responsibility }
}

/// The console's map of a loaded city; areas sorted by level (top first) and code.
pub fn city_map(p: &Parts<'_>) -> CityMap {
    let m = p.manifest;
    let mut areas: Vec<MapArea> = p
        .admin
        .values()
        .map(|a| MapArea {
            level: a.level,
            code: a.code.clone(),
            name: a.name.clone(),
            parent: a.parent.clone(),
            outline: a.outline.clone(),
            synthetic: a.synthetic,
        })
        .collect();
    areas.sort_by(|a, b| b.level.cmp(&a.level).then_with(|| a.code.cmp(&b.code)));
    let overlays = p
        .overlays
        .iter()
        .map(|o| MapOverlay {
            net: net(&o.net),
            code: o.code.clone(),
            name: o.name.clone(),
            outline: o.outline.clone(),
        })
        .collect();
    let cells = p
        .cells
        .cells()
        .iter()
        .map(|c| MapCell {
            code: c.placement.cell.clone(),
            outline: c.polygon.clone(),
            lattice_pos: c.lattice_pos,
            community: c.placement.community.clone(),
            responsibility_unit: c.placement.responsibility_unit.clone(),
            supervision_unit: c.placement.supervision_unit.clone(),
            grid_worker: c.placement.grid_worker,
        })
        .collect();
    let roads = p.ways.iter().map(|w| MapRoad { class: w.class.clone(), line: w.line.clone() }).collect();
    let categories = p
        .responsibility
        .categories
        .iter()
        .map(|c| MapCategory {
            code: c.code.clone(),
            name: c.name.clone(),
            module: c.module.clone(),
            department: c.department.clone(),
            level: c.level,
            skills: c.skills.clone(),
            limits_mins: Some(c.limits_mins),
        })
        .collect();
    CityMap {
        name: m.name.clone(),
        code: m.code.clone(),
        profile: m.profile.clone(),
        reference: geo_types::Point::new(m.reference[0], m.reference[1]),
        lattice: m.lattice.map(|l| GridLattice {
            origin_lon: l.origin_lon,
            origin_lat: l.origin_lat,
            dlon: l.dlon,
            dlat: l.dlat,
            cell_m: l.cell_m,
        }),
        synthetic_layers: m.synthetic_layers.clone(),
        attribution: m.attribution.clone(),
        areas,
        overlays,
        cells,
        roads,
        categories,
    }
}
