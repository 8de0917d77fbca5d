//! Just enough GeoJSON (RFC 7946) to read and write the city's layers: feature collections
//! of (multi)polygons and (multi)linestrings with flat properties. Every read error names the
//! file and, where there is one, the feature.

use std::path::{Path, PathBuf};

use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::{Map, Value, json};

/// A map file that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// The file cannot be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not what it should be.
    #[error("{file}{}: {message}", feature.map(|i| format!(", feature {i}")).unwrap_or_default())]
    Bad {
        /// The file.
        file: PathBuf,
        /// The feature's index in the file, when the error is in one.
        feature: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

impl MapError {
    /// An error in `file`, in feature `feature` if given.
    pub fn bad(file: &Path, feature: Option<usize>, message: impl Into<String>) -> Self {
        MapError::Bad { file: file.to_owned(), feature, message: message.into() }
    }
}

/// Reads a whole file as JSON.
pub fn read_json(file: &Path) -> Result<Value, MapError> {
    let text = std::fs::read_to_string(file).map_err(|source| MapError::Io { file: file.to_owned(), source })?;
    serde_json::from_str(&text).map_err(|e| MapError::bad(file, None, format!("not JSON: {e}")))
}

/// One feature: its index, geometry and properties.
#[derive(Debug, Clone)]
pub struct Feature {
    /// Position in the file.
    pub index: usize,
    /// The geometry object.
    pub geometry: Value,
    /// The properties object.
    pub properties: Map<String, Value>,
}

/// Reads a FeatureCollection.
pub fn read_features(file: &Path) -> Result<Vec<Feature>, MapError> {
    let root = read_json(file)?;
    if root.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(MapError::bad(file, None, "not a GeoJSON FeatureCollection"));
    }
    let Some(features) = root.get("features").and_then(Value::as_array) else {
        return Err(MapError::bad(file, None, "FeatureCollection has no `features` array"));
    };
    features
        .iter()
        .enumerate()
        .map(|(index, f)| {
            let geometry = f.get("geometry").cloned().unwrap_or(Value::Null);
            let properties = match f.get("properties") {
                Some(Value::Object(m)) => m.clone(),
                Some(Value::Null) | None => Map::new(),
                Some(_) => return Err(MapError::bad(file, Some(index), "`properties` is not an object")),
            };
            Ok(Feature { index, geometry, properties })
        })
        .collect()
}

/// Reading helpers that carry the file and feature into their errors.
pub struct Reader<'a> {
    /// The file being read.
    pub file: &'a Path,
}

impl Reader<'_> {
    fn bad(&self, f: &Feature, message: impl Into<String>) -> MapError {
        MapError::bad(self.file, Some(f.index), message)
    }

    /// A required string property.
    pub fn str(&self, f: &Feature, key: &str) -> Result<String, MapError> {
        match f.properties.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            _ => Err(self.bad(f, format!("property `{key}` is missing or not a string"))),
        }
    }

    /// An optional string property.
    pub fn opt_str(&self, f: &Feature, key: &str) -> Option<String> {
        f.properties.get(key).and_then(Value::as_str).map(str::to_owned)
    }

    /// A required number property.
    pub fn num(&self, f: &Feature, key: &str) -> Result<f64, MapError> {
        f.properties
            .get(key)
            .and_then(Value::as_f64)
            .ok_or_else(|| self.bad(f, format!("property `{key}` is missing or not a number")))
    }

    /// The geometry as a multipolygon (a Polygon is promoted).
    pub fn multipolygon(&self, f: &Feature) -> Result<MultiPolygon, MapError> {
        geometry_to_multipolygon(&f.geometry).map_err(|m| self.bad(f, m))
    }

    /// The geometry as linestrings (a LineString or MultiLineString).
    pub fn lines(&self, f: &Feature) -> Result<Vec<LineString>, MapError> {
        let kind = f.geometry.get("type").and_then(Value::as_str).unwrap_or("");
        let coords = f.geometry.get("coordinates");
        let parsed = match (kind, coords) {
            ("LineString", Some(c)) => line(c).map(|l| vec![l]),
            ("MultiLineString", Some(Value::Array(ls))) => ls.iter().map(line).collect(),
            _ => Err(format!("geometry must be a LineString or MultiLineString, not `{kind}`")),
        };
        parsed.map_err(|m| self.bad(f, m))
    }
}

fn coord(v: &Value) -> Result<Coord, String> {
    let pair = v.as_array().filter(|a| a.len() >= 2).ok_or("a position is not [lon, lat]")?;
    let (x, y) = (pair[0].as_f64(), pair[1].as_f64());
    match (x, y) {
        (Some(x), Some(y)) if x.abs() <= 180.0 && y.abs() <= 90.0 => Ok(Coord { x, y }),
        _ => Err(format!("position {v} is not a longitude/latitude")),
    }
}

fn line(v: &Value) -> Result<LineString, String> {
    let pts = v.as_array().ok_or("a line is not an array of positions")?;
    let coords = pts.iter().map(coord).collect::<Result<Vec<_>, _>>()?;
    if coords.len() < 2 {
        return Err("a line has fewer than two positions".into());
    }
    Ok(LineString::new(coords))
}

fn polygon(v: &Value) -> Result<Polygon, String> {
    let rings = v.as_array().ok_or("a polygon is not an array of rings")?;
    let mut rings = rings.iter().map(line);
    let exterior = rings.next().ok_or("a polygon has no ring")??;
    if exterior.0.len() < 4 {
        return Err("a polygon ring has fewer than four positions".into());
    }
    Ok(Polygon::new(exterior, rings.collect::<Result<_, _>>()?))
}

/// Parses a Polygon or MultiPolygon geometry object.
pub fn geometry_to_multipolygon(g: &Value) -> Result<MultiPolygon, String> {
    let kind = g.get("type").and_then(Value::as_str).unwrap_or("");
    let coords = g.get("coordinates").ok_or("geometry has no coordinates")?;
    match kind {
        "Polygon" => Ok(MultiPolygon::new(vec![polygon(coords)?])),
        "MultiPolygon" => {
            let polys = coords.as_array().ok_or("MultiPolygon coordinates are not an array")?;
            Ok(MultiPolygon::new(polys.iter().map(polygon).collect::<Result<_, _>>()?))
        }
        other => Err(format!("geometry must be a Polygon or MultiPolygon, not `{other}`")),
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn coords_json(l: &LineString) -> Value {
    Value::Array(l.0.iter().map(|c| json!([round6(c.x), round6(c.y)])).collect())
}

/// A Polygon geometry object (six decimals, about 0.1 m).
pub fn polygon_json(p: &Polygon) -> Value {
    let mut rings = vec![coords_json(p.exterior())];
    rings.extend(p.interiors().iter().map(coords_json));
    json!({"type": "Polygon", "coordinates": rings})
}

/// A MultiPolygon geometry object.
pub fn multipolygon_json(mp: &MultiPolygon) -> Value {
    let polys: Vec<Value> = mp.0.iter().map(|p| polygon_json(p)["coordinates"].clone()).collect();
    json!({"type": "MultiPolygon", "coordinates": polys})
}

/// A LineString geometry object.
pub fn line_json(l: &LineString) -> Value {
    json!({"type": "LineString", "coordinates": coords_json(l)})
}

/// A Feature.
pub fn feature(properties: Value, geometry: Value) -> Value {
    json!({"type": "Feature", "properties": properties, "geometry": geometry})
}

/// Writes a FeatureCollection one feature per line: diffable and still one JSON document.
pub fn write_collection(file: &Path, features: &[Value]) -> std::io::Result<()> {
    let mut out = String::from("{\"type\":\"FeatureCollection\",\"features\":[\n");
    for (i, f) in features.iter().enumerate() {
        out.push_str(&f.to_string());
        out.push_str(if i + 1 < features.len() { ",\n" } else { "\n" });
    }
    out.push_str("]}\n");
    std::fs::write(file, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_feature_is_named_with_its_file_and_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("cells.geojson");
        let good = r#"{"type":"Feature","properties":{"code":"a"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}"#;
        let bad = r#"{"type":"Feature","properties":{"code":"b"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,"x"]]]}}"#;
        std::fs::write(&file, format!(r#"{{"type":"FeatureCollection","features":[{good},{bad}]}}"#)).expect("write");
        let features = read_features(&file).expect("collection");
        let r = Reader { file: &file };
        assert!(r.multipolygon(&features[0]).is_ok());
        let err = r.multipolygon(&features[1]).expect_err("bad").to_string();
        assert!(err.contains("cells.geojson, feature 1"), "{err}");
        assert!(err.contains("longitude/latitude"), "{err}");
    }

    #[test]
    fn truncated_file_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("admin.geojson");
        std::fs::write(&file, r#"{"type":"FeatureCollection","features":[{"type":"#).expect("write");
        let err = read_features(&file).expect_err("truncated").to_string();
        assert!(err.starts_with(&format!("{}: not JSON", file.display())), "{err}");
    }

    #[test]
    fn polygons_round_trip_through_json() {
        let mp = geometry_to_multipolygon(&serde_json::json!({"type":"Polygon",
            "coordinates":[[[118.1,24.4],[118.2,24.4],[118.2,24.5],[118.1,24.4]]]}))
        .expect("polygon");
        let again = geometry_to_multipolygon(&multipolygon_json(&mp)).expect("again");
        assert_eq!(mp, again);
    }
}
