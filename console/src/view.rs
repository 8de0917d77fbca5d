//! The map view: a local projection of longitude/latitude to metres around the city's
//! reference point (equirectangular, `Euclidean` on projected metres, good to a few metres
//! over a city), and the camera over it: centre, metres per screen point and the viewport
//! rectangle in screen points. Everything drawn on the map goes through [`MapView`].

use bevy::prelude::Resource;
use bevy_egui::egui::{Pos2, Rect, Vec2, pos2};

const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Longitude/latitude ⇄ local metres (x east, y north) around a reference point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    lon0: f64,
    lat0: f64,
    m_per_deg_lon: f64,
    m_per_deg_lat: f64,
}

impl Projection {
    /// A projection centred on `(lon0, lat0)`.
    pub fn new(lon0: f64, lat0: f64) -> Self {
        let m_per_deg_lat = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
        Projection { lon0, lat0, m_per_deg_lon: m_per_deg_lat * lat0.to_radians().cos(), m_per_deg_lat }
    }

    /// Metres east and north of the reference.
    pub fn to_local(&self, lon: f64, lat: f64) -> [f64; 2] {
        [(lon - self.lon0) * self.m_per_deg_lon, (lat - self.lat0) * self.m_per_deg_lat]
    }

    /// The same as `(scale, offset)`: `local = lonlat × scale + offset`, per axis, for
    /// loops over many points that fold it into another affine map.
    pub fn affine(&self) -> ([f64; 2], [f64; 2]) {
        let scale = [self.m_per_deg_lon, self.m_per_deg_lat];
        (scale, [-self.lon0 * scale[0], -self.lat0 * scale[1]])
    }

    /// Back to longitude/latitude.
    pub fn to_lonlat(&self, p: [f64; 2]) -> [f64; 2] {
        [self.lon0 + p[0] / self.m_per_deg_lon, self.lat0 + p[1] / self.m_per_deg_lat]
    }
}

/// An axis-aligned box in local metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// West, south.
    pub min: [f64; 2],
    /// East, north.
    pub max: [f64; 2],
}

impl Bounds {
    /// The empty box (grows with [`Bounds::add`]).
    pub fn empty() -> Self {
        Bounds { min: [f64::INFINITY; 2], max: [f64::NEG_INFINITY; 2] }
    }

    /// Grows to hold `p`.
    pub fn add(&mut self, p: [f64; 2]) {
        self.min = [self.min[0].min(p[0]), self.min[1].min(p[1])];
        self.max = [self.max[0].max(p[0]), self.max[1].max(p[1])];
    }

    /// Whether the box holds anything.
    pub fn is_valid(&self) -> bool {
        self.min[0] <= self.max[0] && self.min[1] <= self.max[1]
    }

    /// Width and height, metres.
    pub fn size(&self) -> [f64; 2] {
        [self.max[0] - self.min[0], self.max[1] - self.min[1]]
    }

    /// The centre.
    pub fn center(&self) -> [f64; 2] {
        [(self.min[0] + self.max[0]) / 2.0, (self.min[1] + self.max[1]) / 2.0]
    }

    /// Whether the two boxes overlap.
    pub fn intersects(&self, o: &Bounds) -> bool {
        self.min[0] <= o.max[0] && o.min[0] <= self.max[0] && self.min[1] <= o.max[1] && o.min[1] <= self.max[1]
    }
}

/// Closest zoom in, metres per point.
pub const MIN_M_PER_PT: f64 = 0.25;
/// Farthest zoom out, metres per point.
pub const MAX_M_PER_PT: f64 = 200.0;

/// The camera over the map.
#[derive(Debug, Clone, Copy, PartialEq, Resource)]
pub struct MapView {
    /// The point at the centre of the viewport, local metres.
    pub center: [f64; 2],
    /// Zoom: metres per screen point.
    pub m_per_pt: f64,
    /// Where the map is drawn on screen, in points.
    pub viewport: Rect,
    /// A fly-to in progress: target centre and zoom.
    pub target: Option<([f64; 2], f64)>,
}

impl Default for MapView {
    fn default() -> Self {
        MapView {
            center: [0.0, 0.0],
            m_per_pt: 20.0,
            viewport: Rect::from_min_size(Pos2::ZERO, Vec2::new(1280.0, 720.0)),
            target: None,
        }
    }
}

impl MapView {
    /// Screen position of a local point.
    pub fn to_screen(&self, p: [f64; 2]) -> Pos2 {
        let c = self.viewport.center();
        pos2(
            c.x + ((p[0] - self.center[0]) / self.m_per_pt) as f32,
            c.y - ((p[1] - self.center[1]) / self.m_per_pt) as f32,
        )
    }

    /// Local point under a screen position.
    pub fn to_local(&self, s: Pos2) -> [f64; 2] {
        let c = self.viewport.center();
        [self.center[0] + f64::from(s.x - c.x) * self.m_per_pt, self.center[1] - f64::from(s.y - c.y) * self.m_per_pt]
    }

    /// What the viewport shows, local metres.
    pub fn visible(&self) -> Bounds {
        let a = self.to_local(self.viewport.left_bottom());
        let b = self.to_local(self.viewport.right_top());
        Bounds { min: a, max: b }
    }

    /// Zooms by `factor` (> 1 zooms out) keeping the point under `anchor` fixed.
    pub fn zoom_at(&mut self, anchor: Pos2, factor: f64) {
        let before = self.to_local(anchor);
        self.m_per_pt = (self.m_per_pt * factor).clamp(MIN_M_PER_PT, MAX_M_PER_PT);
        let after = self.to_local(anchor);
        self.center[0] += before[0] - after[0];
        self.center[1] += before[1] - after[1];
        self.target = None;
    }

    /// Moves the map by a screen delta (drag).
    pub fn pan_by(&mut self, delta: Vec2) {
        self.center[0] -= f64::from(delta.x) * self.m_per_pt;
        self.center[1] += f64::from(delta.y) * self.m_per_pt;
        self.target = None;
    }

    /// The zoom at which `b` fills the viewport, with a margin.
    pub fn zoom_to_fit(&self, b: &Bounds) -> f64 {
        let [w, h] = b.size();
        let sx = w / f64::from(self.viewport.width().max(1.0));
        let sy = h / f64::from(self.viewport.height().max(1.0));
        (sx.max(sy) * 1.15).clamp(MIN_M_PER_PT, MAX_M_PER_PT)
    }

    /// Starts a fly-to that frames `b`, never zooming in closer than `min_m_per_pt`.
    pub fn fly_to(&mut self, b: &Bounds, min_m_per_pt: f64) {
        self.target = Some((b.center(), self.zoom_to_fit(b).max(min_m_per_pt)));
    }

    /// Shows `b` at once.
    pub fn frame(&mut self, b: &Bounds) {
        self.center = b.center();
        self.m_per_pt = self.zoom_to_fit(b);
        self.target = None;
    }

    /// Advances a fly-to by `dt_secs`; true while it moves.
    pub fn step(&mut self, dt_secs: f64) -> bool {
        let Some((c, z)) = self.target else { return false };
        let k = 1.0 - (-dt_secs * 6.0).exp();
        self.center[0] += (c[0] - self.center[0]) * k;
        self.center[1] += (c[1] - self.center[1]) * k;
        self.m_per_pt *= (z / self.m_per_pt).powf(k);
        let close = (c[0] - self.center[0]).hypot(c[1] - self.center[1]) < self.m_per_pt * 0.5
            && (z / self.m_per_pt - 1.0).abs() < 0.01;
        if close {
            self.center = c;
            self.m_per_pt = z;
            self.target = None;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_round_trips_and_measures_metres() {
        let p = Projection::new(118.1, 24.46);
        let q = p.to_local(118.11, 24.47);
        assert!((q[1] - 1111.95).abs() < 1.0, "{q:?}");
        assert!((q[0] - 1012.0).abs() < 5.0, "{q:?}");
        let back = p.to_lonlat(q);
        assert!((back[0] - 118.11).abs() < 1e-9 && (back[1] - 24.47).abs() < 1e-9);
    }

    #[test]
    fn screen_and_local_are_inverse_and_north_is_up() {
        let mut v = MapView { center: [100.0, 200.0], m_per_pt: 2.0, ..MapView::default() };
        let s = v.to_screen([110.0, 210.0]);
        assert!(s.x > v.viewport.center().x && s.y < v.viewport.center().y);
        let l = v.to_local(s);
        assert!((l[0] - 110.0).abs() < 1e-3 && (l[1] - 210.0).abs() < 1e-3);
        v.zoom_at(s, 0.5);
        let l2 = v.to_local(s);
        assert!((l2[0] - 110.0).abs() < 1e-3 && (l2[1] - 210.0).abs() < 1e-3, "anchor stays put");
    }

    #[test]
    fn fly_to_converges_on_the_target() {
        let mut v = MapView::default();
        let b = Bounds { min: [1000.0, 1000.0], max: [1200.0, 1100.0] };
        v.fly_to(&b, 0.5);
        let mut frames = 0;
        while v.step(1.0 / 60.0) {
            frames += 1;
            assert!(frames < 600, "fly-to never ends");
        }
        assert_eq!(v.center, b.center());
        assert!(v.visible().min[0] <= 1000.0 && v.visible().max[0] >= 1200.0);
    }
}
