//! The road still ahead of each unit on its way: measured by the position pump for every
//! unit on its way that moved, from where it now is to the incident it is going to, along
//! the roads ([`RoadGraph::ahead`]), along the way it goes (the fastest for a team's
//! vehicle, the shortest for a grid worker: [`Measure::of`]). One road search is kept per
//! incident and way of going with units on their way, grown only as far out as the
//! farthest of them, so that a fix costs a lookup rather than a search; a search no unit
//! has asked of for [`FIELD_IDLE_MS`] is let go of.
//! A tick of the pump grows the searches by at most [`STEPS_PER_TICK`] nodes in all, so
//! that a team sent from across the whole city does not hold that tick's positions back
//! while its search reaches out to it: its position goes out unmeasured, and the search
//! goes on with its next fixes.

use std::collections::HashMap;

use geo_types::Point;
use onegrid_protocol::{IncidentId, Millis};

use super::board::Moved;
use crate::city::roads::{Field, Found, Measure, RoadGraph, seconds};

/// How long a search outward from an incident is kept with no unit on its way to it
/// having moved, server milliseconds.
pub const FIELD_IDLE_MS: Millis = 300_000;

/// How many nodes one tick of the pump may add to the kept searches, all together: a few
/// milliseconds (BENCHMARKS.md, `follow`).
pub const STEPS_PER_TICK: usize = 4_096;

/// One kept search.
#[derive(Debug)]
struct Kept {
    /// Where the incident is.
    at: Point,
    field: Field,
    /// When a unit last asked of it, server time.
    used: Millis,
}

/// The searches outward from the incidents units are on their way to.
#[derive(Debug)]
pub struct Ahead {
    fields: HashMap<(IncidentId, Measure), Kept>,
    /// Nodes a tick may add to them.
    steps_per_tick: usize,
}

impl Default for Ahead {
    fn default() -> Self {
        Ahead::with_steps(STEPS_PER_TICK)
    }
}

impl Ahead {
    /// Searches that a tick may grow by `steps_per_tick` nodes in all.
    pub fn with_steps(steps_per_tick: usize) -> Self {
        Ahead { fields: HashMap::new(), steps_per_tick }
    }

    /// Sets the road ahead of every moved unit on its way (`Moved::ahead`): its length and
    /// how long it takes the unit (at the roads' speeds, or its own pace), or measured and
    /// none where no road leads from it to its incident; nothing for one not
    /// on its way, on a map without roads, or whose search this tick could not take far
    /// enough.
    pub fn measure(&mut self, roads: &RoadGraph, moved: &mut [Moved], now: Millis) {
        let mut budget = self.steps_per_tick;
        for m in moved.iter_mut() {
            m.ahead = None;
            let Some((incident, at)) = m.toward else { continue };
            let how = Measure::of(m.travel);
            let new = || Kept { at, field: roads.field(at, how), used: now };
            let kept = self.fields.entry((incident, how)).or_insert_with(new);
            if kept.at != at {
                *kept = new();
            }
            kept.used = now;
            if !kept.field.is_empty() {
                m.ahead = match roads.ahead_within(&mut kept.field, m.fix.at, &mut budget) {
                    Found::Way { metres, cost } => Some((incident, Some((metres, seconds(m.travel, cost))))),
                    Found::NoRoad => Some((incident, None)),
                    Found::NotYet => None,
                };
            }
        }
        self.fields.retain(|_, k| now - k.used <= FIELD_IDLE_MS);
    }

    /// How many searches are kept, and how many nodes they have reached in all.
    pub fn size(&self) -> (usize, usize) {
        (self.fields.len(), self.fields.values().map(|k| k.field.len()).sum())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use geo_types::LineString;
    use onegrid_protocol::{Travel, UnitStatus};

    use super::*;
    use crate::city::roads::Way;
    use crate::engine::board::Fix;
    use crate::spatial::LocalMetric;

    #[test]
    fn a_tick_grows_the_searches_only_so_far_and_the_next_go_on() {
        // One road east from the scene, a node every 100 m for 5 km.
        let line: Vec<(f64, f64)> = (0..=50).map(|k| (118.0 + 0.001 * f64::from(k), 24.4)).collect();
        let way = Way { line: LineString::from(line), class: "test".into(), speed_kmh: 30.0 };
        let roads = RoadGraph::from_ways(LocalMetric::new(Point::new(118.0, 24.4)), &[way]);
        let (a, b) = ((7, Point::new(118.0, 24.4)), (8, Point::new(118.045, 24.4)));
        let unit = |id, lon, scene| Moved {
            unit: id,
            fix: Fix { at: Point::new(lon, 24.4), heading_deg: 270.0, time: 0 },
            status: UnitStatus::EnRoute,
            home: Arc::default(),
            toward: Some(scene),
            travel: Travel::Drive,
            ahead: None,
        };
        let round = |m: &Moved| m.ahead.map(|(_, d)| d.map(|(d, _)| d.round()));
        let mut ahead = Ahead::with_steps(10);
        // Ticks of a unit 3 km from A, then of one 300 m from B: the first grows A's search
        // ten nodes a tick and is told once it reaches the unit, three ticks on; the second
        // waits while the first spends the ticks, then is told in the same one.
        let mut told = Vec::new();
        for _ in 0..4 {
            let mut moved = [unit(1, 118.03, a), unit(2, 118.042, b)];
            ahead.measure(&roads, &mut moved, 0);
            told.push([round(&moved[0]), round(&moved[1])]);
            assert!(ahead.size().1 <= 10 * told.len() + 4, "ten nodes a tick and the seeds: {:?}", ahead.size());
        }
        let far = roads.ahead(&mut roads.field(a.1, Measure::Time), Point::new(118.03, 24.4)).expect("road").round();
        assert!((far - 3_040.0).abs() < 5.0, "{far}");
        assert_eq!(told[..3], [[None, None]; 3], "{told:?}");
        assert_eq!(told[3], [Some(Some(far)), Some(Some(304.0))], "{told:?}");
        // A unit nearer A than its search has gone is told at once, whatever is left.
        let mut none_left = Ahead { steps_per_tick: 0, ..ahead };
        let mut moved = [unit(3, 118.01, a)];
        none_left.measure(&roads, &mut moved, 0);
        assert!(matches!(round(&moved[0]), Some(Some(d)) if (d - far / 3.0).abs() <= 2.0), "{moved:?}");
        // Without a budget, told at once.
        let mut moved = [unit(1, 118.03, a)];
        Ahead::default().measure(&roads, &mut moved, 0);
        assert_eq!(round(&moved[0]), Some(Some(far)));
        // With how long it takes a vehicle at the road's 30 km/h.
        let secs = moved[0].ahead.and_then(|a| a.1).map(|(_, s)| s.round());
        assert_eq!(secs, Some((far / (30.0 / 3.6)).round()), "{moved:?}");
    }
}
