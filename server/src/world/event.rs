//! Events: what the journal stores and `apply` replays. Their JSON form is the journal's
//! on-disk format (see `journal`), so fields are only ever added with defaults.

use onegrid_protocol::{Action, Incident, IncidentId, Level, Millis, Stage, Step, UnitId, UnitStatus};
use serde::{Deserialize, Serialize};

/// One durable change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
pub enum Event {
    /// A new incident, located and routed, as it is when reported.
    Reported {
        /// The incident.
        incident: Box<Incident>,
    },
    /// A lifecycle step on an incident.
    Stepped {
        /// The incident.
        id: IncidentId,
        /// The action.
        action: Action,
        /// The recorded step (state after, who, when, from where, why).
        step: Step,
        /// Units dispatched (dispatch: all of them, or those added to a matter already
        /// sent to); the unit arriving (start, by a reinforcement at a matter in hand);
        /// empty otherwise.
        #[serde(default)]
        units: Vec<UnitId>,
        /// The handling level after the step.
        level: Level,
        /// The new stage deadline.
        deadline: Option<Millis>,
    },
    /// A stage passed its time limit.
    Overdue {
        /// The incident.
        id: IncidentId,
        /// The stage that is late.
        stage: Stage,
        /// When the clock noticed.
        at: Millis,
    },
    /// Somebody acknowledged the alarm standing on an incident (`Command::Acknowledge`):
    /// a step in its history, its state and clock unchanged.
    Acknowledged {
        /// The incident.
        id: IncidentId,
        /// The recorded step (`acknowledge`: who, when, from where, any note).
        step: Step,
    },
    /// Incidents closed long enough ago leave the world: their last state is kept in the
    /// journal's archive (written in the same transaction as this event) and given by
    /// number from there. Only closed incidents are archived; an id that is not closed when
    /// this applies stays.
    Archived {
        /// The incidents, by number.
        ids: Vec<IncidentId>,
        /// When.
        at: Millis,
    },
    /// A unit's duty status changed by itself (on or off duty).
    UnitStatus {
        /// The unit.
        unit: UnitId,
        /// New status.
        status: UnitStatus,
        /// When.
        at: Millis,
    },
}

impl Event {
    /// The time the event happened.
    pub fn at(&self) -> Millis {
        match self {
            Event::Reported { incident } => incident.reported_at,
            Event::Stepped { step, .. } | Event::Acknowledged { step, .. } => step.at,
            Event::Overdue { at, .. } | Event::UnitStatus { at, .. } | Event::Archived { at, .. } => *at,
        }
    }
}
