//! The road still ahead of each unit on its way: measured by the position pump for every
//! unit on its way that moved, from where it now is to the incident it is going to, along
//! the roads ([`RoadGraph::ahead`]). One road search is kept per incident with units on
//! their way, grown only as far out as the farthest of them, so that a fix costs a lookup
//! rather than a search; a search no unit has asked of for [`FIELD_IDLE_MS`] is let go of.

use std::collections::HashMap;

use geo_types::Point;
use onegrid_protocol::{IncidentId, Millis};

use super::board::Moved;
use crate::city::roads::{Field, RoadGraph};

/// How long a search outward from an incident is kept with no unit on its way to it
/// having moved, server milliseconds.
pub const FIELD_IDLE_MS: Millis = 300_000;

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
#[derive(Debug, Default)]
pub struct Ahead {
    fields: HashMap<IncidentId, Kept>,
}

impl Ahead {
    /// Sets the road ahead of every moved unit on its way (`Moved::ahead`): metres, or
    /// measured and none where no road leads from it to its incident; nothing for one not
    /// on its way or on a map without roads.
    pub fn measure(&mut self, roads: &RoadGraph, moved: &mut [Moved], now: Millis) {
        for m in moved.iter_mut() {
            m.ahead = None;
            let Some((incident, at)) = m.toward else { continue };
            let kept = self.fields.entry(incident).or_insert_with(|| Kept { at, field: roads.field(at), used: now });
            if kept.at != at {
                *kept = Kept { at, field: roads.field(at), used: now };
            }
            kept.used = now;
            if !kept.field.is_empty() {
                m.ahead = Some((incident, roads.ahead(&mut kept.field, m.fix.at)));
            }
        }
        self.fields.retain(|_, k| now - k.used <= FIELD_IDLE_MS);
    }

    /// How many searches are kept, and how many nodes they have reached in all.
    pub fn size(&self) -> (usize, usize) {
        (self.fields.len(), self.fields.values().map(|k| k.field.len()).sum())
    }
}
