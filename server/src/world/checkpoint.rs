//! A checkpoint of the world: what a restart starts from instead of replaying the journal
//! from its first event. It holds what the events built and the map does not give: the
//! incidents held, each unit's duty status and task, the next incident number and the
//! sequence number it was taken at. The cell counts and the deadline queue derive from the
//! incidents, so they are rebuilt, not stored. Its JSON is kept in the journal
//! (`checkpoints`), so fields are only ever added with defaults.

use onegrid_protocol::{Incident, IncidentId, Unit, UnitId, UnitStatus};
use serde::{Deserialize, Serialize};

use super::WorldState;

/// The world as of one sequence number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The last event it includes.
    pub seq: u64,
    /// The number the next reported incident gets.
    pub next_id: IncidentId,
    /// The incidents held (open, or closed and not yet archived).
    pub incidents: Vec<Incident>,
    /// Each unit's status and task (the rest of a unit is the roster's).
    pub units: Vec<UnitState>,
}

/// What events change of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UnitState {
    /// The unit.
    pub id: UnitId,
    /// Its duty status.
    pub status: UnitStatus,
    /// The incident it works on.
    #[serde(default)]
    pub task: Option<IncidentId>,
}

impl WorldState {
    /// The world's checkpoint: a copy of what it holds, as of its last event.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            seq: self.seq,
            next_id: self.next_id,
            incidents: self.incidents.values().cloned().collect(),
            units: self.units.values().map(|u| UnitState { id: u.id, status: u.status, task: u.task }).collect(),
        }
    }

    /// The world a checkpoint was taken of, over the roster `units`: what replaying every
    /// event up to `checkpoint.seq` builds. A unit the roster no longer has is left out.
    pub fn restore(units: impl IntoIterator<Item = Unit>, checkpoint: Checkpoint) -> WorldState {
        let mut world = WorldState::new(units);
        for s in checkpoint.units {
            if let Some(u) = world.units.get_mut(&s.id) {
                u.status = s.status;
                u.task = s.task;
            }
        }
        world.seq = checkpoint.seq;
        world.next_id = checkpoint.next_id;
        for inc in checkpoint.incidents {
            // As `apply` keeps them: a pending stage limit is queued until it passes; a
            // cell counts what is open in it, and what of that is overdue.
            if let Some(d) = inc.deadline.filter(|_| !inc.overdue) {
                world.deadlines.insert((d, inc.id));
            }
            if inc.state.is_open() {
                let cell = world.cells.entry(inc.placement.cell.clone()).or_insert_with(|| {
                    onegrid_protocol::CellStatus { cell: inc.placement.cell.clone(), open: 0, overdue: 0 }
                });
                cell.open += 1;
                cell.overdue += u32::from(inc.overdue);
            }
            world.next_id = world.next_id.max(inc.id + 1);
            world.incidents.insert(inc.id, inc);
        }
        world
    }
}
