//! Which cameras see a point: within range and inside the horizontal field of view.

use geo_types::Point;
use onegrid_protocol::{Camera, CameraId};
use rstar::RTree;
use rstar::primitives::GeomWithData;

use super::lattice::LocalMetric;

type Entry = GeomWithData<[f64; 2], usize>;

/// Cameras indexed by position, in projected metres.
#[derive(Debug)]
pub struct CameraIndex {
    metric: LocalMetric,
    tree: RTree<Entry>,
    cameras: Vec<Camera>,
    max_range_m: f64,
}

/// The smallest angle between two bearings, degrees in [0, 180].
fn angle_between(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(360.0);
    d.min(360.0 - d)
}

impl CameraIndex {
    /// Indexes `cameras`.
    pub fn new(metric: LocalMetric, cameras: Vec<Camera>) -> Self {
        let entries = cameras.iter().enumerate().map(|(i, c)| GeomWithData::new(metric.to_xy(c.position), i)).collect();
        let max_range_m = cameras.iter().map(|c| c.range_m).fold(0.0, f64::max);
        CameraIndex { metric, tree: RTree::bulk_load(entries), cameras, max_range_m }
    }

    /// All cameras.
    pub fn cameras(&self) -> &[Camera] {
        &self.cameras
    }

    /// Whether camera `c` sees the point at projected `q`.
    fn sees(&self, c: &Camera, q: [f64; 2]) -> bool {
        let at = self.metric.to_xy(c.position);
        let (dx, dy) = (q[0] - at[0], q[1] - at[1]);
        let dist = (dx * dx + dy * dy).sqrt();
        if dist > c.range_m {
            return false;
        }
        if dist < 1.0 {
            return true;
        }
        let bearing = dx.atan2(dy).to_degrees();
        angle_between(bearing, c.heading_deg) <= c.fov_deg / 2.0
    }

    /// Cameras whose field of view covers `p`, nearest first.
    pub fn covering(&self, p: Point) -> Vec<CameraId> {
        let q = self.metric.to_xy(p);
        let mut found: Vec<(f64, CameraId)> = self
            .tree
            .locate_within_distance(q, self.max_range_m * self.max_range_m)
            .filter_map(|e| {
                let c = &self.cameras[e.data];
                let d2 = (e.geom()[0] - q[0]).powi(2) + (e.geom()[1] - q[1]).powi(2);
                self.sees(c, q).then_some((d2, c.id))
            })
            .collect();
        found.sort_by(|a, b| a.0.total_cmp(&b.0));
        found.into_iter().map(|(_, id)| id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onegrid_protocol::Placement;

    fn camera(id: CameraId, at: Point, heading_deg: f64) -> Camera {
        Camera {
            id,
            name: format!("cam {id}"),
            position: at,
            heading_deg,
            fov_deg: 60.0,
            range_m: 100.0,
            stream_url: String::new(),
            placement: Placement::default(),
            synthetic: true,
        }
    }

    #[test]
    fn a_camera_sees_ahead_within_range_only() {
        let metric = LocalMetric::new(Point::new(118.1, 24.47));
        let at = Point::new(118.1, 24.47);
        let index = CameraIndex::new(metric, vec![camera(1, at, 0.0), camera(2, at, 180.0)]);
        let north_50m = metric.to_lonlat([0.0, 50.0]);
        let north_150m = metric.to_lonlat([0.0, 150.0]);
        let east_50m = metric.to_lonlat([50.0, 0.0]);
        let north_east = metric.to_lonlat([20.0, 50.0]); // 21.8° off axis, inside ±30°
        assert_eq!(index.covering(north_50m), vec![1]);
        assert!(index.covering(north_150m).is_empty());
        assert!(index.covering(east_50m).is_empty());
        assert_eq!(index.covering(north_east), vec![1]);
        assert_eq!(index.covering(metric.to_lonlat([0.0, -50.0])), vec![2]);
    }

    #[test]
    fn bearings_wrap_around_north() {
        assert!((angle_between(350.0, 10.0) - 20.0).abs() < 1e-9);
        assert!((angle_between(-170.0, 170.0) - 20.0).abs() < 1e-9);
    }
}
