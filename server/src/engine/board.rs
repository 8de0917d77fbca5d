//! The position board: where every unit is, which moved since the last tick, where each
//! unit on its way is going and the road still ahead of it as last measured, and the
//! downsampled track each unit leaves in the journal.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use geo_types::Point;
use onegrid_protocol::{IncidentId, Millis, Placement, Travel, UnitId, UnitStatus};

use crate::journal::TrackPoint;
use crate::spatial::{LocalMetric, UnitIndex};

/// A track point is kept when the unit moved this far since the last kept one...
pub const TRACK_MIN_DISTANCE_M: f64 = 50.0;
/// ...or when this much time passed and it moved at least [`TRACK_MIN_MOVE_M`] (more than a
/// GPS fix wanders standing still)...
pub const TRACK_MIN_INTERVAL_MS: Millis = 15_000;
/// ...the least move that counts after [`TRACK_MIN_INTERVAL_MS`]...
pub const TRACK_MIN_MOVE_M: f64 = 15.0;
/// ...or, standing still, once in this long: the track still says the unit was there. A
/// unit at its post no longer leaves a point every 15 s.
pub const TRACK_HEARTBEAT_MS: Millis = 300_000;
/// Recent track points kept in memory per unit.
pub const RECENT_TRACK: usize = 120;

/// One unit's latest fix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    /// Where.
    pub at: Point,
    /// Heading.
    pub heading_deg: f32,
    /// When.
    pub time: Millis,
}

/// A moved unit ready to encode.
#[derive(Debug, Clone)]
pub struct Moved {
    /// The unit.
    pub unit: UnitId,
    /// Its fix.
    pub fix: Fix,
    /// Its status.
    pub status: UnitStatus,
    /// Its home placement (decides visibility).
    pub home: Arc<Placement>,
    /// On its way: the incident and where it is.
    pub toward: Option<(IncidentId, Point)>,
    /// How it goes by road (its kind's).
    pub travel: Travel,
    /// The road still ahead of it to that incident, where measured ([`super::ahead`]):
    /// metres and the seconds it takes the unit, or none where no road leads there from
    /// where it is.
    pub ahead: Option<(IncidentId, Option<(f64, f64)>)>,
}

/// Positions of all units.
#[derive(Debug)]
pub struct Board {
    metric: LocalMetric,
    index: UnitIndex,
    latest: HashMap<UnitId, Fix>,
    dirty: Vec<UnitId>,
    is_dirty: HashMap<UnitId, bool>,
    status: HashMap<UnitId, UnitStatus>,
    home: HashMap<UnitId, Arc<Placement>>,
    travel: HashMap<UnitId, Travel>,
    toward: HashMap<UnitId, (IncidentId, Point)>,
    ahead: HashMap<UnitId, (IncidentId, Option<(f64, f64)>)>,
    kept: HashMap<UnitId, (Millis, [f64; 2])>,
    recent: HashMap<UnitId, VecDeque<TrackPoint>>,
}

impl Board {
    /// A board for units with these homes, statuses, ways of going by road and, for those
    /// on their way, the incident they are going to and where it is.
    pub fn new(
        metric: LocalMetric,
        extent: (Point, Point),
        units: impl IntoIterator<Item = (UnitId, Arc<Placement>, UnitStatus, Travel, Option<(IncidentId, Point)>)>,
    ) -> Self {
        let mut home = HashMap::new();
        let mut status = HashMap::new();
        let mut travel = HashMap::new();
        let mut toward = HashMap::new();
        for (id, h, s, v, t) in units {
            home.insert(id, h);
            status.insert(id, s);
            travel.insert(id, v);
            if let Some(t) = t.filter(|_| s == UnitStatus::EnRoute) {
                toward.insert(id, t);
            }
        }
        Board {
            metric,
            index: UnitIndex::new(metric, extent),
            latest: HashMap::new(),
            dirty: Vec::new(),
            is_dirty: HashMap::new(),
            status,
            home,
            travel,
            toward,
            ahead: HashMap::new(),
            kept: HashMap::new(),
            recent: HashMap::new(),
        }
    }

    /// Records a fix; returns the track point to journal, if the downsampling keeps it.
    pub fn update(&mut self, unit: UnitId, fix: Fix) -> Option<TrackPoint> {
        self.index.update(unit, fix.at);
        self.latest.insert(unit, fix);
        self.mark_moved(unit);
        let xy = self.metric.to_xy(fix.at);
        let keep = match self.kept.get(&unit) {
            None => true,
            Some((t, last)) => {
                let d = ((xy[0] - last[0]).powi(2) + (xy[1] - last[1]).powi(2)).sqrt();
                let since = fix.time - t;
                d >= TRACK_MIN_DISTANCE_M
                    || (since >= TRACK_MIN_INTERVAL_MS && d >= TRACK_MIN_MOVE_M)
                    || since >= TRACK_HEARTBEAT_MS
            }
        };
        if !keep {
            return None;
        }
        self.kept.insert(unit, (fix.time, xy));
        let point = TrackPoint { unit, at: fix.time, lon: fix.at.x(), lat: fix.at.y() };
        let recent = self.recent.entry(unit).or_default();
        if recent.len() == RECENT_TRACK {
            recent.pop_front();
        }
        recent.push_back(point);
        Some(point)
    }

    /// Restores a unit's journaled track point at start: its position and recent track,
    /// without counting as a move or a new point to journal.
    pub fn restore(&mut self, point: TrackPoint) {
        let at = Point::new(point.lon, point.lat);
        self.index.update(point.unit, at);
        self.latest.insert(point.unit, Fix { at, heading_deg: 0.0, time: point.at });
        self.kept.insert(point.unit, (point.at, self.metric.to_xy(at)));
        let recent = self.recent.entry(point.unit).or_default();
        if recent.len() == RECENT_TRACK {
            recent.pop_front();
        }
        recent.push_back(point);
    }

    /// Sets a unit's status and, on its way, the incident it is going to and where that is
    /// (from published events). The road ahead measured toward another incident, or for a
    /// unit no longer on its way, is let go of. A unit newly on its way with a position
    /// counts as moved, so that the pump measures its road ahead at once rather than at
    /// its next fix: returns whether it does (the pump is to be woken).
    pub fn set_unit(&mut self, unit: UnitId, status: UnitStatus, toward: Option<(IncidentId, Point)>) -> bool {
        self.status.insert(unit, status);
        let toward = toward.filter(|_| status == UnitStatus::EnRoute);
        if self.toward.get(&unit) == toward.as_ref() {
            return false;
        }
        self.ahead.remove(&unit);
        let Some(t) = toward else {
            self.toward.remove(&unit);
            return false;
        };
        self.toward.insert(unit, t);
        if !self.latest.contains_key(&unit) {
            return false;
        }
        self.mark_moved(unit);
        true
    }

    /// Counts `unit` among those moved since the last [`Board::take_moved`], once.
    fn mark_moved(&mut self, unit: UnitId) {
        if !self.is_dirty.insert(unit, true).unwrap_or(false) {
            self.dirty.push(unit);
        }
    }

    /// Keeps the road ahead the pump measured for the moved units, for those still going
    /// where it was measured to: what a client subscribing next is told with their
    /// positions.
    pub fn keep_ahead(&mut self, moved: &[Moved]) {
        for m in moved {
            let going = self.toward.get(&m.unit).map(|t| t.0);
            match m.ahead {
                Some(a) if going == Some(a.0) => self.ahead.insert(m.unit, a),
                _ => self.ahead.remove(&m.unit),
            };
        }
    }

    /// The units that moved since the last call.
    pub fn take_moved(&mut self) -> Vec<Moved> {
        let dirty = std::mem::take(&mut self.dirty);
        dirty
            .into_iter()
            .filter_map(|u| {
                self.is_dirty.insert(u, false);
                self.moved(u)
            })
            .collect()
    }

    fn moved(&self, unit: UnitId) -> Option<Moved> {
        Some(Moved {
            unit,
            fix: *self.latest.get(&unit)?,
            status: *self.status.get(&unit)?,
            home: self.home.get(&unit)?.clone(),
            toward: self.toward.get(&unit).copied(),
            travel: self.travel.get(&unit).copied().unwrap_or(Travel::Drive),
            ahead: self.ahead.get(&unit).copied(),
        })
    }

    /// Every unit with a position.
    pub fn all(&self) -> Vec<Moved> {
        let mut ids: Vec<UnitId> = self.latest.keys().copied().collect();
        ids.sort_unstable();
        ids.into_iter().filter_map(|u| self.moved(u)).collect()
    }

    /// A unit's latest fix.
    pub fn fix(&self, unit: UnitId) -> Option<Fix> {
        self.latest.get(&unit).copied()
    }

    /// A unit's recent track, oldest first.
    pub fn recent_track(&self, unit: UnitId) -> Vec<TrackPoint> {
        self.recent.get(&unit).map(|r| r.iter().copied().collect()).unwrap_or_default()
    }

    /// The `k` nearest units passing `keep`.
    pub fn nearest(&self, p: Point, k: usize, keep: impl FnMut(UnitId) -> bool) -> Vec<(UnitId, f64)> {
        self.index.nearest(p, k, keep)
    }
}

/// Encodes a positions frame of the rows `filter` keeps, with the road ahead of those
/// measured: `(frame, rows)` or `None`.
pub fn encode_positions(at: Millis, moved: &[Moved], mut keep: impl FnMut(&Moved) -> bool) -> Option<(String, usize)> {
    use std::fmt::Write;
    let mut s = String::with_capacity(64 + moved.len() * 48);
    let _ = write!(s, "{{\"type\":\"positions\",\"at\":{at},\"units\":[");
    let mut rows = 0;
    let (mut ahead, mut ahead_s, mut no_road) = (String::new(), String::new(), String::new());
    for m in moved.iter().filter(|m| keep(m)) {
        if rows > 0 {
            s.push(',');
        }
        let status = match m.status {
            UnitStatus::Available => "available",
            UnitStatus::EnRoute => "en_route",
            UnitStatus::OnScene => "on_scene",
            UnitStatus::OffDuty => "off_duty",
        };
        let _ = write!(s, "[{},{:.6},{:.6},{:.1},\"{status}\"]", m.unit, m.fix.at.x(), m.fix.at.y(), m.fix.heading_deg);
        rows += 1;
        match m.ahead {
            Some((incident, Some((metres, secs)))) => {
                let sep = if ahead.is_empty() { "" } else { "," };
                let _ = write!(ahead, "{sep}[{},{incident},{metres:.1}]", m.unit);
                let _ = write!(ahead_s, "{sep}[{},{secs:.1}]", m.unit);
            }
            Some((incident, None)) => {
                let _ = write!(no_road, "{}[{},{incident}]", if no_road.is_empty() { "" } else { "," }, m.unit);
            }
            None => {}
        }
    }
    s.push(']');
    if !ahead.is_empty() {
        let _ = write!(s, ",\"ahead\":[{ahead}],\"ahead_s\":[{ahead_s}]");
    }
    if !no_road.is_empty() {
        let _ = write!(s, ",\"no_road\":[{no_road}]");
    }
    s.push('}');
    (rows > 0).then_some((s, rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use onegrid_protocol::ServerMsg;

    fn board() -> Board {
        let metric = LocalMetric::new(Point::new(118.1, 24.47));
        let extent = (Point::new(118.0, 24.4), Point::new(118.2, 24.5));
        Board::new(metric, extent, [(1, Arc::new(Placement::default()), UnitStatus::Available, Travel::Drive, None)])
    }

    #[test]
    fn tracks_are_downsampled_by_time_and_distance_and_a_standing_unit_leaves_few_points() {
        let mut b = board();
        let fix = |x: f64, time| Fix { at: Point::new(x, 24.47), heading_deg: 0.0, time };
        assert!(b.update(1, fix(118.1, 0)).is_some());
        assert!(b.update(1, fix(118.1001, 2_000)).is_none()); // 10 m, 2 s
        assert!(b.update(1, fix(118.1006, 4_000)).is_some()); // 60 m
        assert!(b.update(1, fix(118.1008, 25_000)).is_some()); // 21 s later, 20 m on
        // Standing still (a few metres of GPS wander): not every 15 s, but every 5 minutes.
        assert!(b.update(1, fix(118.10083, 45_000)).is_none());
        assert!(b.update(1, fix(118.1008, 200_000)).is_none());
        assert!(b.update(1, fix(118.10083, 325_000)).is_some());
        assert_eq!(b.recent_track(1).len(), 4);
    }

    #[test]
    fn moved_units_are_taken_once_and_latest_wins() {
        let mut b = board();
        b.update(1, Fix { at: Point::new(118.1, 24.47), heading_deg: 0.0, time: 0 });
        b.update(1, Fix { at: Point::new(118.2, 24.47), heading_deg: 90.0, time: 1 });
        let moved = b.take_moved();
        assert_eq!(moved.len(), 1);
        assert_eq!(moved[0].fix.at.x(), 118.2);
        assert!(b.take_moved().is_empty());
    }

    #[test]
    fn the_road_ahead_is_kept_only_while_the_unit_is_still_going_there() {
        let mut b = board();
        let scene = (17, Point::new(118.11, 24.47));
        b.update(1, Fix { at: Point::new(118.1, 24.47), heading_deg: 0.0, time: 0 });
        b.set_unit(1, UnitStatus::EnRoute, Some(scene));
        let mut moved = b.take_moved();
        assert_eq!(moved[0].toward, Some(scene));
        moved[0].ahead = Some((17, Some((1_300.0, 125.5))));
        b.keep_ahead(&moved);
        assert_eq!(b.all()[0].ahead, Some((17, Some((1_300.0, 125.5)))), "a client subscribing now is told it");
        let (text, _) = encode_positions(5, &b.all(), |_| true).expect("frame");
        let msg: ServerMsg = serde_json::from_str(&text).expect("decodes");
        let ServerMsg::Positions { ahead, ahead_s, no_road, .. } = msg else { panic!("{text}") };
        assert_eq!((ahead, ahead_s, no_road), (vec![(1, 17, 1_300.0)], vec![(1, 125.5)], vec![]));
        // Measured again from across the water: no road leads there, and the frame says so.
        moved[0].ahead = Some((17, None));
        b.keep_ahead(&moved);
        let (text, _) = encode_positions(5, &b.all(), |_| true).expect("frame");
        let msg: ServerMsg = serde_json::from_str(&text).expect("decodes");
        let ServerMsg::Positions { ahead, ahead_s, no_road, .. } = msg else { panic!("{text}") };
        assert_eq!((ahead, ahead_s, no_road), (vec![], vec![], vec![(1, 17)]));
        // Sent elsewhere: what was measured toward the first is let go of at once, and a
        // measurement toward the first that comes after is not kept.
        b.set_unit(1, UnitStatus::EnRoute, Some((18, Point::new(118.0, 24.47))));
        assert_eq!(b.all()[0].ahead, None);
        b.keep_ahead(&moved);
        assert_eq!(b.all()[0].ahead, None);
        // On the scene: no longer on its way.
        b.set_unit(1, UnitStatus::OnScene, Some(scene));
        assert_eq!((b.all()[0].toward, b.all()[0].ahead), (None, None));
        let (text, _) = encode_positions(5, &b.all(), |_| true).expect("frame");
        assert!(!text.contains("ahead") && !text.contains("no_road"), "{text}");
    }

    #[test]
    fn a_unit_sent_is_taken_as_moved_so_that_its_road_ahead_is_measured_at_once() {
        let mut b = board();
        let scene = (17, Point::new(118.11, 24.47));
        // No position yet: nothing to measure from.
        assert!(!b.set_unit(1, UnitStatus::EnRoute, Some(scene)));
        assert!(b.take_moved().is_empty());
        b.set_unit(1, UnitStatus::Available, None);
        b.update(1, Fix { at: Point::new(118.1, 24.47), heading_deg: 0.0, time: 0 });
        assert_eq!(b.take_moved().len(), 1);
        // Sent: moved, with where it is going, though no fix came.
        assert!(b.set_unit(1, UnitStatus::EnRoute, Some(scene)));
        let moved = b.take_moved();
        assert_eq!((moved.len(), moved[0].toward), (1, Some(scene)));
        // Told again of the same task, or of arriving: not moved.
        assert!(!b.set_unit(1, UnitStatus::EnRoute, Some(scene)));
        assert!(!b.set_unit(1, UnitStatus::OnScene, Some(scene)));
        assert!(b.take_moved().is_empty());
    }

    #[test]
    fn encoded_positions_are_valid_protocol_frames() {
        let mut b = board();
        b.update(1, Fix { at: Point::new(118.1, 24.47), heading_deg: 45.0, time: 0 });
        let (text, rows) = encode_positions(5, &b.take_moved(), |_| true).expect("frame");
        assert_eq!(rows, 1);
        let msg: ServerMsg = serde_json::from_str(&text).expect("decodes");
        assert_eq!(
            msg,
            ServerMsg::Positions {
                at: 5,
                units: vec![(1, 118.1, 24.47, 45.0, UnitStatus::Available)],
                ahead: vec![],
                ahead_s: vec![],
                no_road: vec![]
            }
        );
    }
}
