//! The build pipeline: sources and a profile in, a map directory out.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use geo::{BoundingRect, Contains};
use geo_types::{Coord, MultiPolygon, Point};
use serde::Deserialize;
use serde_json::{Value, json};

use super::outline::outline;
use super::partition::{Pos, components, partition};
use super::synth;
use crate::city::geojson::{
    MapError, feature, geometry_to_multipolygon, multipolygon_json, polygon_json, read_json, write_collection,
};
use crate::city::{Files, MANIFEST_FORMAT, Manifest};
use crate::rng::Rng;
use crate::spatial::Lattice;
use onegrid_protocol::coord::gcj02_to_wgs84;

/// A street pinned to the component of cells holding a point (an island street).
#[derive(Debug, Clone, Deserialize)]
pub struct Pin {
    /// Street code.
    pub street: String,
    /// A WGS-84 point on the component.
    pub at: [f64; 2],
}

/// What to build: read from `profiles.json` in the sources directory.
#[derive(Debug, Clone, Deserialize)]
pub struct Profile {
    /// Profile name.
    #[serde(default)]
    pub name: String,
    /// City code (12 digits).
    pub city: String,
    /// The city outline file (GCJ-02), which fixes the lattice origin.
    pub city_outline: String,
    /// Districts to cover, each with its outline file (GCJ-02).
    pub districts: BTreeMap<String, String>,
    /// The divisions CSV.
    pub divisions: String,
    /// The responsibility list to copy.
    pub responsibility: String,
    /// Streets pinned to islands.
    #[serde(default)]
    pub pins: Vec<Pin>,
    /// Cells per responsibility unit.
    pub cells_per_responsibility_unit: f64,
    /// Cells per supervision unit.
    pub cells_per_supervision_unit: f64,
    /// Cells per camera.
    pub cells_per_camera: f64,
    /// The seed.
    pub seed: u64,
    /// Attribution lines.
    pub attribution: Vec<String>,
}

impl Profile {
    /// Reads profile `name` from `sources/profiles.json`.
    pub fn load(sources: &Path, name: &str) -> Result<Self, MapError> {
        let file = sources.join("profiles.json");
        let all = read_json(&file)?;
        let value = all.get(name).cloned().ok_or_else(|| {
            let known: Vec<&str> = all.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
            MapError::bad(&file, None, format!("no profile `{name}` (known: {})", known.join(", ")))
        })?;
        let mut p: Profile =
            serde_json::from_value(value).map_err(|e| MapError::bad(&file, None, format!("profile `{name}`: {e}")))?;
        p.name = name.to_owned();
        Ok(p)
    }
}

/// One row of the divisions CSV.
#[derive(Debug, Clone)]
struct Division {
    level: String,
    code: String,
    name: String,
    parent: String,
}

fn read_divisions(file: &Path) -> Result<Vec<Division>, MapError> {
    let text = std::fs::read_to_string(file).map_err(|source| MapError::Io { file: file.to_owned(), source })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.trim().split(',').collect();
        if f.len() != 4 || f[1].len() != 12 || !f[1].bytes().all(|b| b.is_ascii_digit()) {
            return Err(MapError::bad(
                file,
                Some(i + 1),
                format!("line {} is not `level,code,name,parent_code`", i + 1),
            ));
        }
        out.push(Division { level: f[0].into(), code: f[1].into(), name: f[2].into(), parent: f[3].into() });
    }
    Ok(out)
}

fn read_outline_wgs84(file: &Path) -> Result<MultiPolygon, MapError> {
    let g = read_json(file)?;
    let g = if g.get("type").and_then(Value::as_str) == Some("Feature") { g["geometry"].clone() } else { g };
    let mp = geometry_to_multipolygon(&g).map_err(|m| MapError::bad(file, None, m))?;
    let mut mp = mp;
    for poly in &mut mp.0 {
        poly.exterior_mut(|l| l.0.iter_mut().for_each(|c| *c = Coord::from(gcj02_to_wgs84(Point::from(*c)))));
        poly.interiors_mut(|ls| {
            for l in ls {
                l.0.iter_mut().for_each(|c| *c = Coord::from(gcj02_to_wgs84(Point::from(*c))));
            }
        });
    }
    Ok(mp)
}

/// What a build made, for the command's output and for tests.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildReport {
    /// Cells.
    pub cells: usize,
    /// Streets.
    pub streets: usize,
    /// Communities.
    pub communities: usize,
    /// Responsibility units.
    pub responsibility_units: usize,
    /// Supervision units.
    pub supervision_units: usize,
    /// Road lines.
    pub roads: usize,
    /// Grid workers and teams.
    pub personnel: usize,
    /// Cameras.
    pub cameras: usize,
}

struct Admin {
    code: String,
    name: String,
    parent: String,
    level: &'static str,
    cells: Vec<Pos>,
}

/// Builds profile `profile` from `sources` into `out`.
pub fn build(sources: &Path, profile: &Profile, out: &Path) -> Result<BuildReport, MapError> {
    let mut rng = Rng::new(profile.seed);
    let divisions = read_divisions(&sources.join(&profile.divisions))?;
    let city = read_outline_wgs84(&sources.join(&profile.city_outline))?;
    let bbox = city
        .bounding_rect()
        .ok_or_else(|| MapError::bad(&sources.join(&profile.city_outline), None, "empty outline"))?;
    let origin = Point::new((bbox.min().x * 100.0).floor() / 100.0, (bbox.min().y * 100.0).floor() / 100.0);
    let ref_lat = (bbox.min().y + bbox.max().y) / 2.0;
    let lattice = Lattice::new(origin, 100.0, ref_lat);

    let mut districts: Vec<Admin> = Vec::new();
    let mut streets: Vec<Admin> = Vec::new();
    let mut communities: Vec<Admin> = Vec::new();
    let mut district_outlines = HashMap::new();
    for (code, file) in &profile.districts {
        let path = sources.join(file);
        let shape = read_outline_wgs84(&path)?;
        let cells = rasterise(&shape, &lattice);
        let d = divisions.iter().find(|d| &d.code == code).ok_or_else(|| {
            MapError::bad(&sources.join(&profile.divisions), None, format!("district {code} is not listed"))
        })?;
        let (s, c) = split_district(code, &cells, &divisions, profile, &lattice, &mut rng)?;
        streets.extend(s);
        communities.extend(c);
        district_outlines.insert(code.clone(), shape);
        districts.push(Admin {
            code: code.clone(),
            name: d.name.clone(),
            parent: d.parent.clone(),
            level: "district",
            cells,
        });
    }

    // Overlays: responsibility units inside streets, supervision units across each district.
    let (rus, ru_of) = overlay(&streets, profile.cells_per_responsibility_unit, "responsibility", &mut rng, |p, i| {
        (format!("{}-R{:02}", &p.code[..9], i), format!("{}责任单元{:02}", p.name, i))
    });
    let (sus, su_of) = overlay(&districts, profile.cells_per_supervision_unit, "supervision", &mut rng, |p, i| {
        (format!("{}-S{:03}", &p.code[..6], i), format!("{}监督单元{:03}", p.name, i))
    });

    // Personnel: a grid worker per responsibility unit, four teams per street.
    let community_of: HashMap<Pos, &Admin> =
        communities.iter().flat_map(|c| c.cells.iter().map(move |p| (*p, c))).collect();
    let mut personnel: Vec<Value> = Vec::new();
    let mut worker_of: HashMap<Pos, u32> = HashMap::new();
    for (i, ru) in rus.iter().enumerate() {
        let id = (i + 1) as u32;
        let home = ru.cells[rng.below(ru.cells.len())];
        let community = community_of.get(&home).map(|c| c.code.clone()).unwrap_or_default();
        ru.cells.iter().for_each(|c| {
            worker_of.insert(*c, id);
        });
        personnel.push(roster_entry(
            id,
            synth::person_name(&mut rng),
            "grid_worker",
            &["patrol", "report", "mediation"],
            &community,
            lattice.center(home.0, home.1),
        ));
    }
    let mut team_id = 5_001u32;
    for s in &streets {
        for (suffix, skills) in synth::TEAMS {
            let home = s.cells[rng.below(s.cells.len())];
            let community = community_of.get(&home).map(|c| c.code.clone()).unwrap_or_default();
            let name = format!("{}{}", s.name.trim_end_matches("街道"), suffix);
            personnel.push(roster_entry(team_id, name, "team", skills, &community, lattice.center(home.0, home.1)));
            team_id += 1;
        }
    }

    // Cameras.
    let all_cells: Vec<Pos> = {
        let mut v: Vec<Pos> = districts.iter().flat_map(|d| d.cells.iter().copied()).collect();
        v.sort_unstable();
        v
    };
    let n_cameras = (all_cells.len() as f64 / profile.cells_per_camera).round() as usize;
    let mut cameras = Vec::new();
    for i in 0..n_cameras {
        let cell = all_cells[rng.below(all_cells.len())];
        let place = community_of.get(&cell).map(|c| c.name.as_str()).unwrap_or("");
        cameras.push(synth::camera((i + 1) as u32, format!("{place}探头{:03}", i + 1), cell, &lattice, &mut rng));
    }

    // Roads.
    let cell_set: HashSet<Pos> = all_cells.iter().copied().collect();
    let roads = synth::roads(&cell_set, &lattice, &mut rng);

    // Write.
    std::fs::create_dir_all(out).map_err(|source| MapError::Io { file: out.to_owned(), source })?;
    let io = |file: &'static str| move |source| MapError::Io { file: out.join(file), source };
    let mut admin_features = Vec::new();
    for d in &districts {
        let shape = &district_outlines[&d.code];
        admin_features.push(feature(
            json!({"level": "district", "code": d.code, "name": d.name, "parent": d.parent, "synthetic": false}),
            multipolygon_json(shape),
        ));
    }
    for a in streets.iter().chain(&communities) {
        admin_features.push(admin_feature(a, &lattice));
    }
    write_collection(&out.join("admin.geojson"), &admin_features).map_err(io("admin.geojson"))?;
    let overlay_features: Vec<Value> = rus.iter().chain(&sus).map(|a| admin_feature(a, &lattice)).collect();
    write_collection(&out.join("overlays.geojson"), &overlay_features).map_err(io("overlays.geojson"))?;
    let district_of: HashMap<Pos, &str> =
        districts.iter().flat_map(|d| d.cells.iter().map(move |p| (*p, d.code.as_str()))).collect();
    let cell_features: Vec<Value> = all_cells
        .iter()
        .map(|&(r, c)| {
            let code = format!("{}{:04}{:04}", &district_of[&(r, c)][..6], r, c);
            let community = community_of.get(&(r, c)).map(|a| a.code.as_str()).unwrap_or("");
            feature(
                json!({"code": code, "row": r, "col": c, "community": community, "ru": ru_of.get(&(r, c)), "su": su_of.get(&(r, c)), "worker": worker_of.get(&(r, c))}),
                polygon_json(&lattice.polygon(r, c)),
            )
        })
        .collect();
    write_collection(&out.join("cells.geojson"), &cell_features).map_err(io("cells.geojson"))?;
    write_collection(&out.join("roads.geojson"), &roads).map_err(io("roads.geojson"))?;
    write_lines(&out.join("personnel.json"), &personnel).map_err(io("personnel.json"))?;
    write_lines(&out.join("cameras.json"), &cameras).map_err(io("cameras.json"))?;
    std::fs::copy(sources.join(&profile.responsibility), out.join("responsibility.json"))
        .map_err(io("responsibility.json"))?;

    let reference = lattice.center(
        (all_cells.iter().map(|p| p.0).min().unwrap_or(0) + all_cells.iter().map(|p| p.0).max().unwrap_or(0)) / 2,
        (all_cells.iter().map(|p| p.1).min().unwrap_or(0) + all_cells.iter().map(|p| p.1).max().unwrap_or(0)) / 2,
    );
    let city_div = divisions.iter().find(|d| d.code == profile.city);
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        name: city_div.map(|d| d.name.clone()).unwrap_or_default(),
        code: profile.city.clone(),
        profile: profile.name.clone(),
        operating_area: profile.districts.keys().cloned().collect(),
        lattice: Some(lattice),
        reference: [reference.x(), reference.y()],
        seed: profile.seed,
        synthetic_layers: [
            "street outlines",
            "community outlines",
            "responsibility units",
            "supervision units",
            "roads",
            "personnel",
            "cameras",
        ]
        .map(String::from)
        .to_vec(),
        attribution: profile.attribution.clone(),
        files: Files {
            admin: "admin.geojson".into(),
            overlays: "overlays.geojson".into(),
            cells: "cells.geojson".into(),
            roads: "roads.geojson".into(),
            personnel: "personnel.json".into(),
            cameras: "cameras.json".into(),
            responsibility: "responsibility.json".into(),
        },
    };
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| MapError::bad(&out.join("city.json"), None, e.to_string()))?;
    std::fs::write(out.join("city.json"), text + "\n").map_err(io("city.json"))?;

    Ok(BuildReport {
        cells: all_cells.len(),
        streets: streets.len(),
        communities: communities.len(),
        responsibility_units: rus.len(),
        supervision_units: sus.len(),
        roads: roads.len(),
        personnel: personnel.len(),
        cameras: cameras.len(),
    })
}

/// Cuts every parent into units of about `cells_per_unit` cells; `name` gives the code and
/// name of the parent's unit number `i` (from 1). Returns the units and each cell's unit.
fn overlay(
    parents: &[Admin],
    cells_per_unit: f64,
    net: &'static str,
    rng: &mut Rng,
    name: impl Fn(&Admin, usize) -> (String, String),
) -> (Vec<Admin>, HashMap<Pos, String>) {
    let mut units = Vec::new();
    let mut unit_of = HashMap::new();
    for p in parents {
        let n = ((p.cells.len() as f64 / cells_per_unit).round() as usize).max(1);
        let owner = partition(&p.cells, &vec![1.0; n], rng);
        for i in 0..n {
            let (code, name) = name(p, i + 1);
            let cells: Vec<Pos> = p.cells.iter().copied().filter(|c| owner.get(c) == Some(&i)).collect();
            for c in &cells {
                unit_of.insert(*c, code.clone());
            }
            units.push(Admin { code, name, parent: p.code.clone(), level: net, cells });
        }
    }
    (units, unit_of)
}

/// Cells whose centre lies on the outline's land.
fn rasterise(shape: &MultiPolygon, lattice: &Lattice) -> Vec<Pos> {
    let Some(b) = shape.bounding_rect() else { return Vec::new() };
    let (r0, c0) = lattice.cell_of(Point::from(b.min()));
    let (r1, c1) = lattice.cell_of(Point::from(b.max()));
    let mut cells = Vec::new();
    for r in r0..=r1 {
        for c in c0..=c1 {
            if shape.contains(&lattice.center(r, c)) {
                cells.push((r, c));
            }
        }
    }
    cells
}

/// Cuts a district's cells into its streets (sized by their number of communities, island
/// streets pinned) and each street into its communities.
fn split_district(
    district: &str,
    cells: &[Pos],
    divisions: &[Division],
    profile: &Profile,
    lattice: &Lattice,
    rng: &mut Rng,
) -> Result<(Vec<Admin>, Vec<Admin>), MapError> {
    let street_divs: Vec<&Division> =
        divisions.iter().filter(|d| d.level == "street" && d.parent == district).collect();
    let communities_of =
        |s: &str| -> Vec<&Division> { divisions.iter().filter(|d| d.level == "community" && d.parent == s).collect() };
    let mut remaining: Vec<Pos> = cells.to_vec();
    let mut assigned: HashMap<String, Vec<Pos>> = HashMap::new();
    for pin in profile.pins.iter().filter(|p| street_divs.iter().any(|s| s.code == p.street)) {
        let at = lattice.cell_of(Point::new(pin.at[0], pin.at[1]));
        let comp = components(&remaining).into_iter().find(|c| c.contains(&at)).ok_or_else(|| {
            MapError::bad(
                Path::new("profiles.json"),
                None,
                format!("pin of street {} at {:?} is on no cell", pin.street, pin.at),
            )
        })?;
        let set: HashSet<Pos> = comp.iter().copied().collect();
        remaining.retain(|p| !set.contains(p));
        assigned.insert(pin.street.clone(), comp);
    }
    let free: Vec<&&Division> = street_divs.iter().filter(|s| !assigned.contains_key(&s.code)).collect();
    let weights: Vec<f64> = free.iter().map(|s| communities_of(&s.code).len().max(1) as f64).collect();
    let owner = partition(&remaining, &weights, rng);
    for (i, s) in free.iter().enumerate() {
        let mut mine: Vec<Pos> = remaining.iter().copied().filter(|p| owner.get(p) == Some(&i)).collect();
        mine.sort_unstable();
        assigned.insert(s.code.clone(), mine);
    }
    let mut streets = Vec::new();
    let mut communities = Vec::new();
    for s in &street_divs {
        let s_cells = assigned.remove(&s.code).unwrap_or_default();
        let comms = communities_of(&s.code);
        if s_cells.is_empty() {
            continue;
        }
        if !comms.is_empty() {
            let owner = partition(&s_cells, &vec![1.0; comms.len()], rng);
            for (i, c) in comms.iter().enumerate() {
                let cells: Vec<Pos> = s_cells.iter().copied().filter(|p| owner.get(p) == Some(&i)).collect();
                if !cells.is_empty() {
                    communities.push(Admin {
                        code: c.code.clone(),
                        name: c.name.clone(),
                        parent: s.code.clone(),
                        level: "community",
                        cells,
                    });
                }
            }
        }
        streets.push(Admin {
            code: s.code.clone(),
            name: s.name.clone(),
            parent: district.to_owned(),
            level: "street",
            cells: s_cells,
        });
    }
    Ok((streets, communities))
}

fn admin_feature(a: &Admin, lattice: &Lattice) -> Value {
    let set: HashSet<Pos> = a.cells.iter().copied().collect();
    let props = match a.level {
        "responsibility" | "supervision" => {
            json!({"net": a.level, "code": a.code, "name": a.name, "parent": a.parent, "cells": a.cells.len(), "synthetic": true})
        }
        level => {
            json!({"level": level, "code": a.code, "name": a.name, "parent": a.parent, "cells": a.cells.len(), "synthetic": true})
        }
    };
    feature(props, multipolygon_json(&outline(&set, lattice)))
}

fn roster_entry(id: u32, name: String, kind: &str, skills: &[&str], community: &str, start: Point) -> Value {
    json!({
        "id": id, "name": name, "kind": kind, "skills": skills, "phone": synth::phone(id),
        "community": community, "start": [(start.x() * 1e6).round() / 1e6, (start.y() * 1e6).round() / 1e6],
        "synthetic": true,
    })
}

fn write_lines(file: &Path, items: &[Value]) -> std::io::Result<()> {
    let body: Vec<String> = items.iter().map(Value::to_string).collect();
    std::fs::write(file, format!("[\n{}\n]\n", body.join(",\n")))
}
