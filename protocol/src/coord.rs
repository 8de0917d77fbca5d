//! Coordinate systems of Chinese maps: WGS-84 (GPS, OpenStreetMap) and GCJ-02 (the offset
//! system every Chinese web map uses). Operators paste GCJ-02 coordinates from web maps and
//! cameras report either, so both directions are needed.
//!
//! The forward transform is the public GCJ-02 formula; the inverse has no closed form and is
//! solved by fixed-point iteration until the round trip is below a millimetre. Outside
//! mainland China GCJ-02 equals WGS-84, as the web maps do it.

use geo_types::Point;
use serde::{Deserialize, Serialize};

/// The datum of a coordinate given on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Datum {
    /// WGS-84, as GPS receivers and OpenStreetMap give it; the datum OneGrid stores.
    #[default]
    Wgs84,
    /// GCJ-02, as AMap, Tencent and most Chinese web maps give it.
    Gcj02,
}

const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;

/// Whether a WGS-84 point lies in the rough box where the GCJ-02 offset applies.
pub fn in_china(p: Point) -> bool {
    (72.004..=137.8347).contains(&p.x()) && (0.8293..=55.8271).contains(&p.y())
}

fn transform_lat(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn transform_lon(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// The GCJ-02 offset (degrees of longitude, latitude) at a WGS-84 point.
fn offset(p: Point) -> (f64, f64) {
    use std::f64::consts::PI;
    let (lon, lat) = (p.x(), p.y());
    let dlat = transform_lat(lon - 105.0, lat - 35.0);
    let dlon = transform_lon(lon - 105.0, lat - 35.0);
    let radlat = lat / 180.0 * PI;
    let magic = 1.0 - EE * radlat.sin() * radlat.sin();
    let sqrt_magic = magic.sqrt();
    let dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    let dlon = (dlon * 180.0) / (A / sqrt_magic * radlat.cos() * PI);
    (dlon, dlat)
}

/// WGS-84 → GCJ-02.
pub fn wgs84_to_gcj02(p: Point) -> Point {
    if !in_china(p) {
        return p;
    }
    let (dlon, dlat) = offset(p);
    Point::new(p.x() + dlon, p.y() + dlat)
}

/// GCJ-02 → WGS-84, by iteration: about 1e-9 degrees (0.1 mm) after a few steps.
pub fn gcj02_to_wgs84(g: Point) -> Point {
    if !in_china(g) {
        return g;
    }
    let mut w = g;
    for _ in 0..30 {
        let back = wgs84_to_gcj02(w);
        let (ex, ey) = (back.x() - g.x(), back.y() - g.y());
        w = Point::new(w.x() - ex, w.y() - ey);
        if ex.abs() < 1e-10 && ey.abs() < 1e-10 {
            break;
        }
    }
    w
}

/// Converts a point given in `datum` to WGS-84.
pub fn to_wgs84(p: Point, datum: Datum) -> Point {
    match datum {
        Datum::Wgs84 => p,
        Datum::Gcj02 => gcj02_to_wgs84(p),
    }
}

/// Great-circle distance in metres (haversine, mean Earth radius).
pub fn haversine_m(a: Point, b: Point) -> f64 {
    let r = 6_371_008.8_f64;
    let (la1, la2) = (a.y().to_radians(), b.y().to_radians());
    let dla = la2 - la1;
    let dlo = (b.x() - a.x()).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * r * h.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_matches_the_published_beijing_reference() {
        // The reference pair used by the common open implementations of the formula.
        let g = wgs84_to_gcj02(Point::new(116.404, 39.915));
        assert!((g.x() - 116.410_244_499_169_38).abs() < 1e-9, "{g:?}");
        assert!((g.y() - 39.916_404_281_501_64).abs() < 1e-9, "{g:?}");
    }

    #[test]
    fn offset_near_xiamen_is_about_500_m_east_and_290_m_south() {
        let w = Point::new(118.09, 24.47);
        let g = wgs84_to_gcj02(w);
        assert!((g.x() - w.x() - 0.00497).abs() < 0.0003, "{g:?}");
        assert!((g.y() - w.y() + 0.00265).abs() < 0.0003, "{g:?}");
    }

    #[test]
    fn inverse_round_trips_below_a_millimetre() {
        for &(x, y) in &[(118.09, 24.47), (116.4, 39.9), (121.47, 31.23), (87.6, 43.8)] {
            let w = Point::new(x, y);
            let back = gcj02_to_wgs84(wgs84_to_gcj02(w));
            assert!(haversine_m(w, back) < 0.001, "{w:?} -> {back:?}");
        }
    }

    #[test]
    fn points_outside_china_are_unchanged() {
        let helsinki = Point::new(24.94, 60.17);
        assert_eq!(wgs84_to_gcj02(helsinki), helsinki);
        assert_eq!(gcj02_to_wgs84(helsinki), helsinki);
    }

    #[test]
    fn to_wgs84_dispatches_on_datum() {
        let g = Point::new(118.095, 24.467);
        assert_eq!(to_wgs84(g, Datum::Wgs84), g);
        assert!(haversine_m(to_wgs84(g, Datum::Gcj02), g) > 400.0);
    }
}
