//! Roads from an OpenStreetMap PBF extract: every `highway=*` way that vehicles or people
//! use, with speeds from the tag's class (or its `maxspeed`). So a city can bring its real
//! roads instead of the synthetic ones.

use std::collections::HashMap;
use std::path::Path;

use geo_types::{Coord, LineString};
use osmpbf::{Element, ElementReader};

use super::geojson::MapError;
use super::roads::Way;

/// The default speed of a highway class, km/h; `None` for classes that are not roads.
pub fn class_speed_kmh(class: &str) -> Option<f64> {
    Some(match class {
        "motorway" | "motorway_link" => 80.0,
        "trunk" | "trunk_link" => 60.0,
        "primary" | "primary_link" => 50.0,
        "secondary" | "secondary_link" => 40.0,
        "tertiary" | "tertiary_link" => 35.0,
        "unclassified" | "residential" => 30.0,
        "living_street" | "service" => 15.0,
        "pedestrian" | "footway" | "path" | "cycleway" | "steps" | "track" => 5.0,
        _ => return None,
    })
}

struct RawWay {
    refs: Vec<i64>,
    class: String,
    speed_kmh: f64,
}

/// Reads the road ways of an OSM PBF file.
pub fn read_ways(file: &Path) -> Result<Vec<Way>, MapError> {
    let reader =
        ElementReader::from_path(file).map_err(|e| MapError::bad(file, None, format!("cannot open PBF: {e}")))?;
    let mut nodes: HashMap<i64, Coord> = HashMap::new();
    let mut raw: Vec<RawWay> = Vec::new();
    reader
        .for_each(|element| match element {
            Element::Node(n) => {
                nodes.insert(n.id(), Coord { x: n.lon(), y: n.lat() });
            }
            Element::DenseNode(n) => {
                nodes.insert(n.id(), Coord { x: n.lon(), y: n.lat() });
            }
            Element::Way(w) => {
                let mut class = None;
                let mut maxspeed = None;
                for (k, v) in w.tags() {
                    match k {
                        "highway" => class = Some(v.to_owned()),
                        "maxspeed" => maxspeed = v.trim_end_matches(" km/h").parse::<f64>().ok(),
                        _ => {}
                    }
                }
                if let Some(class) = class
                    && let Some(speed) = class_speed_kmh(&class)
                {
                    raw.push(RawWay { refs: w.refs().collect(), class, speed_kmh: maxspeed.unwrap_or(speed) });
                }
            }
            Element::Relation(_) => {}
        })
        .map_err(|e| MapError::bad(file, None, format!("corrupt PBF: {e}")))?;
    let ways = raw
        .into_iter()
        .filter_map(|w| {
            let coords: Vec<Coord> = w.refs.iter().filter_map(|r| nodes.get(r).copied()).collect();
            (coords.len() >= 2).then(|| Way { line: LineString::new(coords), class: w.class, speed_kmh: w.speed_kmh })
        })
        .collect();
    Ok(ways)
}
