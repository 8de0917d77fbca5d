//! The city data: `maps build` reproduces the committed Siming files byte for byte, builds
//! the larger island profile, bad map files are named in clear errors, and a real
//! OpenStreetMap extract loads as a routable road graph.

use std::path::{Path, PathBuf};

use geo_types::Point;
use onegrid_server::city::{self, RoadGraph, load::load_ways};
use onegrid_server::maps::{Profile, build};
use onegrid_server::spatial::LocalMetric;

fn sources() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../maps/sources")
}

#[test]
fn maps_build_reproduces_the_committed_city_exactly() -> anyhow::Result<()> {
    let out = tempfile::tempdir()?;
    let report = build(&sources(), &Profile::load(&sources(), "siming")?, out.path())?;
    assert!((8_400..8_700).contains(&report.cells), "{report:?}");
    assert_eq!(report.streets, 10);
    assert!(report.communities > 90, "{report:?}");
    for entry in std::fs::read_dir(map_dir())? {
        let name = entry?.file_name();
        let committed = std::fs::read(map_dir().join(&name))?;
        let rebuilt = std::fs::read(out.path().join(&name))?;
        assert!(committed == rebuilt, "{} differs from a fresh build", name.to_string_lossy());
    }
    Ok(())
}

fn map_dir() -> PathBuf {
    onegrid_e2e::map_dir()
}

#[test]
fn the_island_profile_builds_and_loads() -> anyhow::Result<()> {
    let out = tempfile::tempdir()?;
    let report = build(&sources(), &Profile::load(&sources(), "island")?, out.path())?;
    assert!((15_800..16_600).contains(&report.cells), "about 16,200 cells: {report:?}");
    let city = city::load(out.path())?;
    assert!(city.cells.is_regular());
    // Codes are stable across profiles: a Siming cell has the same code in both.
    let siming = city::load(&map_dir())?;
    let cell = &siming.cells.cells()[1234];
    let e = &cell.polygon.exterior().0;
    let centre = Point::new((e[0].x + e[2].x) / 2.0, (e[0].y + e[2].y) / 2.0);
    assert_eq!(city.cells.locate(centre).map(|p| p.cell.clone()), Some(cell.placement.cell.clone()));
    Ok(())
}

#[test]
fn every_derived_layer_is_marked_synthetic_and_streets_are_real() -> anyhow::Result<()> {
    let city = city::load(&map_dir())?;
    assert!(city.manifest.synthetic_layers.iter().any(|l| l == "roads"));
    let streets = city.units_at(onegrid_protocol::Level::Street);
    let names: Vec<&str> = streets.iter().map(|s| s.name.as_str()).collect();
    assert!(names.contains(&"鼓浪屿街道") && names.contains(&"嘉莲街道"), "{names:?}");
    assert!(streets.iter().all(|s| s.synthetic && s.code.len() == 12));
    assert!(city.roster.iter().all(|r| r.synthetic) && city.cameras.iter().all(|c| c.synthetic));
    // Gulangyu is its own street: the island west of the city centre.
    let gulangyu = city.cells.locate(Point::new(118.0628, 24.4478)).expect("on Gulangyu");
    assert_eq!(gulangyu.street_name, "鼓浪屿街道");
    Ok(())
}

fn corrupt(file: &str, edit: impl FnOnce(String) -> String) -> anyhow::Result<(tempfile::TempDir, String)> {
    let dir = tempfile::tempdir()?;
    for entry in std::fs::read_dir(map_dir())? {
        let entry = entry?;
        std::fs::copy(entry.path(), dir.path().join(entry.file_name()))?;
    }
    let path = dir.path().join(file);
    std::fs::write(&path, edit(std::fs::read_to_string(&path)?))?;
    let err = city::load(dir.path()).err().map(|e| e.to_string()).unwrap_or_default();
    Ok((dir, err))
}

#[test]
fn corrupt_map_files_are_named_with_file_and_feature() -> anyhow::Result<()> {
    // A cell whose community is not in the admin layer (feature 3).
    let (_d, err) = corrupt("cells.geojson", |s| {
        let mut lines: Vec<String> = s.lines().map(str::to_owned).collect();
        lines[4] = lines[4].replacen("\"community\":\"", "\"community\":\"9", 1);
        lines.join("\n")
    })?;
    assert!(err.contains("cells.geojson, feature 3") && err.contains("not in the admin layer"), "{err}");
    // A broken coordinate in a road.
    let (_d, err) = corrupt("roads.geojson", |s| s.replacen("[[", "[[\"x\",", 1))?;
    assert!(err.contains("roads.geojson, feature 0") && err.contains("longitude/latitude"), "{err}");
    // A truncated file.
    let (_d, err) = corrupt("admin.geojson", |s| s[..s.len() / 2].to_owned())?;
    assert!(err.contains("admin.geojson: not JSON"), "{err}");
    // A responsibility list with a duplicated category.
    let (_d, err) = corrupt("responsibility.json", |s| s.replacen("\"0102\"", "\"0101\"", 1))?;
    assert!(err.contains("responsibility.json") && err.contains("appears twice"), "{err}");
    // A manifest of another format.
    let (_d, err) = corrupt("city.json", |s| s.replacen("\"format\": 1", "\"format\": 7", 1))?;
    assert!(err.contains("format 7 is not the supported format 1"), "{err}");
    Ok(())
}

fn helsinki() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/helsinki.osm.pbf")
}

#[test]
fn an_openstreetmap_extract_loads_as_a_routable_graph() -> anyhow::Result<()> {
    let ways = load_ways(&helsinki())?;
    assert!(ways.len() > 1_000, "{} highway ways", ways.len());
    let metric = LocalMetric::new(Point::new(24.94, 60.17));
    let roads = RoadGraph::from_ways(metric, &ways);
    assert!(roads.node_count() > 5_000 && roads.edge_count() > 5_000);
    // Across the extract, by road, no shorter than the straight line.
    let (a, b) = (Point::new(24.933, 60.163), Point::new(24.950, 60.173));
    let from = roads.nearest_node(a).expect("node");
    let to = roads.nearest_node(b).expect("node");
    let route = roads.route(from, to).expect("connected");
    let straight = onegrid_protocol::coord::haversine_m(roads.node(from), roads.node(to));
    assert!(route.length_m >= straight * 0.99 && route.length_m < straight * 3.0, "{} vs {straight}", route.length_m);
    Ok(())
}

#[test]
fn a_corrupt_pbf_is_a_clear_error() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let bad = dir.path().join("broken.osm.pbf");
    let bytes = std::fs::read(helsinki())?;
    std::fs::write(&bad, &bytes[..bytes.len() / 3])?;
    let err = load_ways(&bad).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("broken.osm.pbf") && err.contains("corrupt PBF"), "{err}");
    let missing = load_ways(Path::new("/nonexistent/roads.osm.pbf")).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(missing.contains("/nonexistent/roads.osm.pbf"), "{missing}");
    Ok(())
}
