//! The state that events build: incidents, units, per-cell counts and the deadline queue.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use onegrid_protocol::{
    Action, CellStatus, Change, Incident, IncidentId, IncidentState, Millis, Unit, UnitId, UnitStatus,
};

use super::event::Event;

/// Incidents, units and what derives from them.
#[derive(Debug, Clone, Default)]
pub struct WorldState {
    /// Every incident, open or closed.
    pub incidents: BTreeMap<IncidentId, Incident>,
    /// Every unit of the roster, with its status and task.
    pub units: BTreeMap<UnitId, Unit>,
    /// Open and overdue counts of cells that have any.
    pub cells: HashMap<String, CellStatus>,
    /// Pending stage deadlines of incidents not yet overdue.
    pub deadlines: BTreeSet<(Millis, IncidentId)>,
    /// The last applied sequence number.
    pub seq: u64,
}

fn weight(i: &Incident) -> (u32, u32) {
    let open = i.state.is_open();
    (u32::from(open), u32::from(open && i.overdue))
}

impl WorldState {
    /// A world with the roster and nothing reported yet.
    pub fn new(units: impl IntoIterator<Item = Unit>) -> Self {
        WorldState { units: units.into_iter().map(|u| (u.id, u)).collect(), ..Default::default() }
    }

    /// The number the next reported incident gets.
    pub fn next_incident_id(&self) -> IncidentId {
        self.incidents.keys().next_back().map_or(1, |k| k + 1)
    }

    /// Applies event `seq`; returns the changes clients must see.
    pub fn apply(&mut self, seq: u64, event: &Event) -> Vec<Change> {
        self.seq = seq;
        let mut changes = Vec::new();
        match event {
            Event::Reported { incident } => {
                let inc = (**incident).clone();
                if let Some(d) = inc.deadline {
                    self.deadlines.insert((d, inc.id));
                }
                self.count_cell(&inc.placement.cell, (0, 0), weight(&inc), &mut changes);
                changes.insert(0, incident_change("reported", &inc));
                self.incidents.insert(inc.id, inc);
            }
            Event::Stepped { id, action, step, units, level, deadline } => {
                let Some(inc) = self.incidents.get_mut(id) else { return changes };
                let before = weight(inc);
                if let Some(d) = inc.deadline.filter(|_| !inc.overdue) {
                    self.deadlines.remove(&(d, *id));
                }
                inc.state = step.state;
                inc.level = *level;
                inc.deadline = *deadline;
                inc.overdue = false;
                inc.history.push(step.clone());
                if *action == Action::Dispatch {
                    inc.units = units.clone();
                }
                if let Some(d) = *deadline {
                    self.deadlines.insert((d, *id));
                }
                let (inc, cell) = (inc.clone(), inc.placement.cell.clone());
                changes.push(incident_change(action.name(), &inc));
                self.count_cell(&cell, before, weight(&inc), &mut changes);
                self.move_units(&inc, *action, &mut changes);
            }
            Event::Overdue { id, .. } => {
                let Some(inc) = self.incidents.get_mut(id) else { return changes };
                let before = weight(inc);
                if let Some(d) = inc.deadline {
                    self.deadlines.remove(&(d, *id));
                }
                inc.overdue = true;
                inc.overdue_count += 1;
                let inc = inc.clone();
                changes.push(incident_change("overdue", &inc));
                self.count_cell(&inc.placement.cell, before, weight(&inc), &mut changes);
            }
            Event::UnitStatus { unit, status, .. } => {
                if let Some(u) = self.units.get_mut(unit) {
                    u.status = *status;
                    if *status == UnitStatus::OffDuty {
                        u.task = None;
                    }
                    changes.push(Change::Unit { unit: Box::new(u.clone()) });
                }
            }
        }
        changes
    }

    /// Unit status follows the incident: dispatched units go en route, start puts them on
    /// scene, and feedback, return, escalation or closing frees them.
    fn move_units(&mut self, inc: &Incident, action: Action, changes: &mut Vec<Change>) {
        let (status, task) = match (action, inc.state) {
            (Action::Dispatch, _) => (UnitStatus::EnRoute, Some(inc.id)),
            (Action::Start, _) => (UnitStatus::OnScene, Some(inc.id)),
            (Action::Feedback | Action::Return | Action::Escalate | Action::Close, _) => (UnitStatus::Available, None),
            _ => return,
        };
        for id in &inc.units {
            if let Some(u) = self.units.get_mut(id) {
                // A unit already moved on to another task keeps it.
                if task.is_none() && u.task != Some(inc.id) {
                    continue;
                }
                if u.status == UnitStatus::OffDuty && task.is_none() {
                    continue;
                }
                u.status = status;
                u.task = task;
                changes.push(Change::Unit { unit: Box::new(u.clone()) });
            }
        }
    }

    fn count_cell(&mut self, cell: &str, before: (u32, u32), after: (u32, u32), changes: &mut Vec<Change>) {
        if before == after {
            return;
        }
        let entry = self.cells.entry(cell.to_owned()).or_insert_with(|| CellStatus {
            cell: cell.to_owned(),
            open: 0,
            overdue: 0,
        });
        entry.open = (entry.open + after.0).saturating_sub(before.0);
        entry.overdue = (entry.overdue + after.1).saturating_sub(before.1);
        let status = entry.clone();
        if status.open == 0 && status.overdue == 0 {
            self.cells.remove(cell);
        }
        changes.push(Change::Cell { status });
    }

    /// Open incidents by state, for the summary line.
    pub fn counts_by_state(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for i in self.incidents.values().filter(|i| i.state != IncidentState::Closed) {
            *m.entry(i.state.name()).or_default() += 1;
        }
        m
    }
}

fn incident_change(event: &str, inc: &Incident) -> Change {
    Change::Incident { event: event.to_owned(), incident: Box::new(inc.clone()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onegrid_protocol::{Level, Placement, Scale, Source, Stage, Step};

    fn incident(id: u64, cell: &str) -> Incident {
        Incident {
            id,
            category: "0301".into(),
            location: geo_types::Point::new(118.1, 24.47),
            source: Source::Citizen,
            description: "x".into(),
            attachments: vec![],
            severity: 1,
            scale: Scale::Individual,
            state: IncidentState::Reported,
            placement: Placement { cell: cell.into(), ..Default::default() },
            department: "d".into(),
            level: Level::Street,
            units: vec![],
            reported_at: 0,
            taken_at: None,
            deadline: Some(100),
            overdue: false,
            overdue_count: 0,
            history: vec![],
        }
    }

    fn close(id: u64) -> Event {
        let step = Step {
            action: "close".into(),
            state: IncidentState::Closed,
            by: "u".into(),
            at: 5,
            origin: "o".into(),
            note: String::new(),
        };
        Event::Stepped { id, action: Action::Close, step, units: vec![], level: Level::Street, deadline: None }
    }

    #[test]
    fn cell_counts_follow_reports_overdue_and_closing() {
        let mut w = WorldState::default();
        w.apply(1, &Event::Reported { incident: Box::new(incident(1, "A")) });
        w.apply(2, &Event::Reported { incident: Box::new(incident(2, "A")) });
        assert_eq!(w.cells["A"].open, 2);
        assert_eq!(w.next_incident_id(), 3);
        let changes = w.apply(3, &Event::Overdue { id: 1, stage: Stage::Accept, at: 100 });
        assert!(changes.iter().any(|c| matches!(c, Change::Cell { status } if status.overdue == 1)));
        assert!(w.deadlines.iter().all(|(_, id)| *id != 1), "an overdue stage leaves the queue");
        w.apply(4, &close(1));
        assert_eq!((w.cells["A"].open, w.cells["A"].overdue), (1, 0));
        w.apply(5, &close(2));
        assert!(!w.cells.contains_key("A"), "a cell with nothing open is dropped");
        assert!(w.deadlines.is_empty());
        assert_eq!(w.seq, 5);
    }

    #[test]
    fn replaying_the_same_events_gives_the_same_world() {
        let events = [
            Event::Reported { incident: Box::new(incident(1, "A")) },
            Event::Overdue { id: 1, stage: Stage::Accept, at: 100 },
            close(1),
        ];
        let (mut a, mut b) = (WorldState::default(), WorldState::default());
        for (i, e) in events.iter().enumerate() {
            a.apply(i as u64 + 1, e);
        }
        for (i, e) in events.iter().enumerate() {
            b.apply(i as u64 + 1, e);
        }
        assert_eq!(a.incidents, b.incidents);
        assert_eq!(a.deadlines, b.deadlines);
    }
}
