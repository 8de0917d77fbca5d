//! Loading a map directory into a [`City`]. Every file is checked as it is read, and the
//! first problem is reported with the file and feature it is in.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use geo_types::Point;
use onegrid_protocol::{Camera, Level, Placement};
use serde::Deserialize;

use super::export::{MapReply, Parts, city_map};
use super::geojson::{MapError, Reader, read_features, read_json};
use super::roads::{RoadGraph, Way};
use super::{AdminUnit, City, MANIFEST_FORMAT, Manifest, OverlayUnit, ResponsibilityList, RosterEntry, osm};
use crate::spatial::{CellIndex, LocalMetric, cells::Cell};

fn parse_level(s: &str) -> Option<Level> {
    match s {
        "district" => Some(Level::District),
        "street" => Some(Level::Street),
        "community" => Some(Level::Community),
        "city" => Some(Level::City),
        _ => None,
    }
}

fn load_admin(file: &Path) -> Result<HashMap<String, AdminUnit>, MapError> {
    let r = Reader { file };
    let mut units = HashMap::new();
    for f in read_features(file)? {
        let level_name = r.str(&f, "level")?;
        let level = parse_level(&level_name)
            .ok_or_else(|| MapError::bad(file, Some(f.index), format!("unknown level `{level_name}`")))?;
        let unit = AdminUnit {
            level,
            code: r.str(&f, "code")?,
            name: r.str(&f, "name")?,
            parent: r.opt_str(&f, "parent").unwrap_or_default(),
            outline: r.multipolygon(&f)?,
            synthetic: f.properties.get("synthetic").and_then(|v| v.as_bool()).unwrap_or(false),
        };
        units.insert(unit.code.clone(), unit);
    }
    Ok(units)
}

fn load_overlays(file: &Path) -> Result<Vec<OverlayUnit>, MapError> {
    let r = Reader { file };
    read_features(file)?
        .iter()
        .map(|f| {
            Ok(OverlayUnit {
                net: r.str(f, "net")?,
                code: r.str(f, "code")?,
                name: r.str(f, "name")?,
                outline: r.multipolygon(f)?,
            })
        })
        .collect()
}

/// The placement of a community with every ancestor filled in.
fn community_placement(admin: &HashMap<String, AdminUnit>, community: &str) -> Option<Placement> {
    let c = admin.get(community)?;
    let s = admin.get(&c.parent)?;
    let d = admin.get(&s.parent)?;
    Some(Placement {
        community: c.code.clone(),
        community_name: c.name.clone(),
        street: s.code.clone(),
        street_name: s.name.clone(),
        district: d.code.clone(),
        district_name: d.name.clone(),
        ..Placement::default()
    })
}

fn load_cells(file: &Path, admin: &HashMap<String, AdminUnit>) -> Result<Vec<Cell>, MapError> {
    let r = Reader { file };
    let mut by_community: HashMap<String, Placement> = HashMap::new();
    read_features(file)?
        .iter()
        .map(|f| {
            let community = r.str(f, "community")?;
            let base = match by_community.get(&community) {
                Some(p) => p.clone(),
                None => {
                    let p = community_placement(admin, &community).ok_or_else(|| {
                        MapError::bad(file, Some(f.index), format!("community {community} is not in the admin layer"))
                    })?;
                    by_community.insert(community.clone(), p.clone());
                    p
                }
            };
            let placement = Placement {
                cell: r.str(f, "code")?,
                responsibility_unit: r.opt_str(f, "ru").unwrap_or_default(),
                supervision_unit: r.opt_str(f, "su").unwrap_or_default(),
                grid_worker: f.properties.get("worker").and_then(|v| v.as_u64()).map(|w| w as u32),
                ..base
            };
            let lattice_pos = match (f.properties.get("row"), f.properties.get("col")) {
                (Some(row), Some(col)) => row.as_i64().zip(col.as_i64()).map(|(a, b)| (a as i32, b as i32)),
                _ => None,
            };
            let polygon = r
                .multipolygon(f)?
                .0
                .into_iter()
                .next()
                .ok_or_else(|| MapError::bad(file, Some(f.index), "cell has no polygon"))?;
            Ok(Cell { polygon, placement: Arc::new(placement), lattice_pos })
        })
        .collect()
}

/// Reads road ways from GeoJSON lines or, for a `.pbf` file, from OpenStreetMap.
pub fn load_ways(file: &Path) -> Result<Vec<Way>, MapError> {
    if file.extension().is_some_and(|e| e == "pbf") {
        return osm::read_ways(file);
    }
    let r = Reader { file };
    let mut ways = Vec::new();
    for f in read_features(file)? {
        let class = r.str(&f, "class")?;
        let speed_kmh = r.num(&f, "speed_kmh")?;
        for line in r.lines(&f)? {
            ways.push(Way { line, class: class.clone(), speed_kmh });
        }
    }
    Ok(ways)
}

#[derive(Deserialize)]
struct CameraRecord {
    id: u32,
    name: String,
    position: [f64; 2],
    heading_deg: f64,
    fov_deg: f64,
    range_m: f64,
    stream_url: String,
    #[serde(default)]
    synthetic: bool,
}

fn load_list<T: for<'de> Deserialize<'de>>(file: &Path, what: &str) -> Result<Vec<T>, MapError> {
    let value = read_json(file)?;
    let items = value.as_array().ok_or_else(|| MapError::bad(file, None, format!("{what} file is not an array")))?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::from_value(v.clone()).map_err(|e| MapError::bad(file, Some(i), format!("bad {what}: {e}")))
        })
        .collect()
}

/// Loads the city in `dir`.
pub fn load(dir: &Path) -> Result<City, MapError> {
    let manifest_file = dir.join("city.json");
    let manifest: Manifest = serde_json::from_value(read_json(&manifest_file)?)
        .map_err(|e| MapError::bad(&manifest_file, None, format!("not a city manifest: {e}")))?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(MapError::bad(
            &manifest_file,
            None,
            format!("format {} is not the supported format {MANIFEST_FORMAT}", manifest.format),
        ));
    }
    let metric = LocalMetric::new(Point::new(manifest.reference[0], manifest.reference[1]));
    let files = &manifest.files;
    let admin = load_admin(&dir.join(&files.admin))?;
    let overlays = load_overlays(&dir.join(&files.overlays))?;
    let cells = CellIndex::new(load_cells(&dir.join(&files.cells), &admin)?, manifest.lattice);
    if cells.cells().is_empty() {
        return Err(MapError::bad(&dir.join(&files.cells), None, "no cells"));
    }
    let ways = load_ways(&dir.join(&files.roads))?;
    let roads = RoadGraph::from_ways(metric, &ways);
    let roster: Vec<RosterEntry> = load_list(&dir.join(&files.personnel), "personnel")?;
    let camera_file = dir.join(&files.cameras);
    let cameras = load_list::<CameraRecord>(&camera_file, "camera")?
        .into_iter()
        .map(|c| {
            let position = Point::new(c.position[0], c.position[1]);
            let placement = cells
                .locate_near(position, crate::spatial::lattice::EDGE_TOLERANCE_DEG)
                .map(|p| (**p).clone())
                .unwrap_or_default();
            Camera {
                id: c.id,
                name: c.name,
                position,
                heading_deg: c.heading_deg,
                fov_deg: c.fov_deg,
                range_m: c.range_m,
                stream_url: c.stream_url,
                placement,
                synthetic: c.synthetic,
            }
        })
        .collect();
    let responsibility = ResponsibilityList::load(&dir.join(&files.responsibility))?;
    let parts = Parts {
        manifest: &manifest,
        admin: &admin,
        overlays: &overlays,
        cells: &cells,
        ways: &ways,
        responsibility: &responsibility,
    };
    let map = MapReply::new(city_map(&parts)).map_err(|e| MapError::bad(&dir.join("city.json"), None, e))?;
    Ok(City { manifest, metric, admin, overlays, cells, roads, roster, cameras, responsibility, map })
}
