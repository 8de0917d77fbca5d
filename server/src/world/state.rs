//! The state that events build: incidents, units, per-cell counts and the deadline queue.
//! Incidents closed long enough ago leave it (`Event::Archived`), so that it holds what is
//! open and what was closed recently, not every incident ever reported.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use onegrid_protocol::{
    Action, CellStatus, Change, Incident, IncidentId, IncidentState, Millis, Step, Unit, UnitId, UnitStatus,
};

use super::event::Event;
use crate::auth::{SYSTEM_ID, SYSTEM_NAME};

/// Incidents, units and what derives from them.
#[derive(Debug, Clone, Default)]
pub struct WorldState {
    /// Every incident open, or closed and not yet archived.
    pub incidents: BTreeMap<IncidentId, Incident>,
    /// Every unit of the roster, with its status and task.
    pub units: BTreeMap<UnitId, Unit>,
    /// Open and overdue counts of cells that have any.
    pub cells: HashMap<String, CellStatus>,
    /// Pending stage deadlines of incidents not yet overdue.
    pub deadlines: BTreeSet<(Millis, IncidentId)>,
    /// The last applied sequence number.
    pub seq: u64,
    /// One past the highest number ever reported, archived incidents included (0: none
    /// yet), so that archiving the newest incidents never gives their numbers again.
    pub next_id: IncidentId,
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
        self.next_id.max(1)
    }

    /// Whether incident `id` was reported and has since been archived.
    pub fn is_archived(&self, id: IncidentId) -> bool {
        (1..self.next_incident_id()).contains(&id) && !self.incidents.contains_key(&id)
    }

    /// Up to `most` incidents closed before `before`, oldest number first: those an
    /// `Event::Archived` may take out of the world.
    pub fn closed_before(&self, before: Millis, most: usize) -> Vec<IncidentId> {
        self.incidents.values().filter(|i| i.closed_at().is_some_and(|t| t < before)).map(|i| i.id).take(most).collect()
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
                self.next_id = self.next_id.max(inc.id + 1);
                self.incidents.insert(inc.id, inc);
            }
            Event::Stepped { id, action, step, units, level, deadline } => {
                let Some(inc) = self.incidents.get_mut(id) else { return changes };
                let before = weight(inc);
                // More units to a matter already sent to (增派), or one of them arriving:
                // its stage's clock runs on, overdue or not.
                let keeps_clock = inc.state.keeps_clock(*action);
                if !keeps_clock {
                    if let Some(d) = inc.deadline.filter(|_| !inc.overdue) {
                        self.deadlines.remove(&(d, *id));
                    }
                    inc.deadline = *deadline;
                    inc.overdue = false;
                    if let Some(d) = *deadline {
                        self.deadlines.insert((d, *id));
                    }
                }
                inc.state = step.state;
                inc.level = *level;
                // The units this step moves: those a dispatch names (only the new ones
                // when more are sent), those a start names (all the matter's where it
                // names none, as starts did before they named their units), or all the
                // matter's.
                let moved = match *action {
                    Action::Dispatch if keeps_clock => {
                        let new: Vec<UnitId> = units.iter().filter(|u| !inc.units.contains(u)).copied().collect();
                        inc.units.extend(&new);
                        new
                    }
                    Action::Dispatch => {
                        inc.units = units.clone();
                        units.clone()
                    }
                    Action::Start if !units.is_empty() => units.clone(),
                    _ => inc.units.clone(),
                };
                // The history says whom a dispatch sent and a start put on the scene.
                let mut step = step.clone();
                if matches!(action, Action::Dispatch | Action::Start) {
                    step.units.clone_from(&moved);
                }
                inc.history.push(step);
                let (inc, cell) = (inc.clone(), inc.placement.cell.clone());
                changes.push(incident_change(action.name(), &inc));
                self.count_cell(&cell, before, weight(&inc), &mut changes);
                self.move_units(&inc, *action, &moved, &mut changes);
            }
            Event::Overdue { id, at, .. } => {
                let Some(inc) = self.incidents.get_mut(id) else { return changes };
                let before = weight(inc);
                if let Some(d) = inc.deadline {
                    self.deadlines.remove(&(d, *id));
                }
                inc.overdue = true;
                inc.overdue_count += 1;
                // The history keeps the clock's mark: when the alarm it raises was raised.
                inc.history.push(Step {
                    action: onegrid_protocol::OVERDUE_STEP.into(),
                    state: inc.state,
                    by: SYSTEM_ID.into(),
                    by_name: SYSTEM_NAME.into(),
                    at: *at,
                    origin: "server".into(),
                    note: String::new(),
                    units: Vec::new(),
                });
                let inc = inc.clone();
                changes.push(incident_change("overdue", &inc));
                self.count_cell(&inc.placement.cell, before, weight(&inc), &mut changes);
            }
            Event::Acknowledged { id, step } => {
                let Some(inc) = self.incidents.get_mut(id) else { return changes };
                inc.history.push(step.clone());
                changes.push(incident_change(onegrid_protocol::ACKNOWLEDGE_STEP, inc));
            }
            // Clients let go of closed incidents a day after closing by themselves: nothing
            // to tell them.
            Event::Archived { ids, .. } => {
                for id in ids {
                    if !self.incidents.get(id).is_some_and(|i| i.state == IncidentState::Closed) {
                        continue;
                    }
                    if let Some(inc) = self.incidents.remove(id)
                        && let Some(d) = inc.deadline.filter(|_| !inc.overdue)
                    {
                        self.deadlines.remove(&(d, *id));
                    }
                }
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

    /// Unit status follows the incident: dispatched units go en route (`moved`: those the
    /// dispatch names), start puts them on scene (a reinforcement arriving: itself), and
    /// feedback, return, escalation or closing frees them.
    fn move_units(&mut self, inc: &Incident, action: Action, moved: &[UnitId], changes: &mut Vec<Change>) {
        let (status, task) = match (action, inc.state) {
            (Action::Dispatch, _) => (UnitStatus::EnRoute, Some(inc.id)),
            (Action::Start, _) => (UnitStatus::OnScene, Some(inc.id)),
            (Action::Feedback | Action::Return | Action::Escalate | Action::Close, _) => (UnitStatus::Available, None),
            _ => return,
        };
        for id in moved {
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
            by_name: String::new(),
            at: 5,
            origin: "o".into(),
            note: String::new(),
            units: Vec::new(),
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

    fn step(id: u64, action: Action, state: IncidentState, at: Millis, units: Vec<UnitId>) -> Event {
        let step = Step {
            action: action.name().into(),
            state,
            by: "u".into(),
            by_name: String::new(),
            at,
            origin: "o".into(),
            note: String::new(),
            units: Vec::new(),
        };
        let deadline = state.is_open().then_some(at + 1_000);
        Event::Stepped { id, action, step, units, level: Level::Street, deadline }
    }

    fn unit(id: UnitId) -> Unit {
        Unit {
            id,
            name: format!("u{id}"),
            kind: onegrid_protocol::UnitKind::Team,
            skills: vec![],
            phone: String::new(),
            home: Placement::default(),
            cells: vec![],
            status: UnitStatus::Available,
            task: None,
            position: None,
            heading_deg: 0.0,
            synthetic: true,
        }
    }

    /// Reports, dispatches, overdue stages, duty changes, closings and archiving.
    fn history() -> Vec<Event> {
        let mut events = Vec::new();
        for id in 1..=6u64 {
            let mut inc = incident(id, if id % 2 == 0 { "A" } else { "B" });
            inc.reported_at = id as Millis * 10;
            events.push(Event::Reported { incident: Box::new(inc) });
        }
        events.push(step(1, Action::Dispatch, IncidentState::Dispatched, 100, vec![1, 2]));
        events.push(Event::Overdue { id: 2, stage: Stage::Accept, at: 110 });
        events.push(Event::UnitStatus { unit: 3, status: UnitStatus::OffDuty, at: 120 });
        events.push(step(3, Action::Close, IncidentState::Closed, 130, vec![]));
        events.push(step(6, Action::Close, IncidentState::Closed, 140, vec![]));
        events.push(step(1, Action::Start, IncidentState::InProgress, 150, vec![]));
        events.push(Event::Overdue { id: 1, stage: Stage::Handle, at: 160 });
        // 3 and 6 (the newest) are closed and go; 2 is open and stays.
        events.push(Event::Archived { ids: vec![3, 6, 2], at: 170 });
        events.push(step(4, Action::Close, IncidentState::Closed, 180, vec![]));
        events.push(Event::Reported { incident: Box::new(incident(7, "A")) });
        events
    }

    fn replay(events: &[Event]) -> WorldState {
        let mut w = WorldState::new((1..=3).map(unit));
        for (i, e) in events.iter().enumerate() {
            w.apply(i as u64 + 1, e);
        }
        w
    }

    fn assert_same(a: &WorldState, b: &WorldState, what: &str) {
        assert_eq!(a.incidents, b.incidents, "{what}: incidents");
        assert_eq!(a.units, b.units, "{what}: units");
        let cells = |w: &WorldState| {
            let mut c: Vec<_> = w.cells.values().map(|s| (s.cell.clone(), s.open, s.overdue)).collect();
            c.sort();
            c
        };
        assert_eq!(cells(a), cells(b), "{what}: cells");
        assert_eq!(a.deadlines, b.deadlines, "{what}: deadlines");
        assert_eq!((a.seq, a.next_incident_id()), (b.seq, b.next_incident_id()), "{what}: seq, next number");
    }

    #[test]
    fn archiving_takes_closed_incidents_out_and_never_gives_their_numbers_again() {
        let events = history();
        let archived_at = events.iter().position(|e| matches!(e, Event::Archived { .. })).expect("archived");
        let w = replay(&events[..=archived_at]);
        assert_eq!(w.incidents.keys().copied().collect::<Vec<_>>(), [1, 2, 4, 5], "closed 3 and 6 went, open 2 stayed");
        assert_eq!(w.next_incident_id(), 7, "6, the newest, was archived: its number is not given again");
        assert!(w.is_archived(3) && w.is_archived(6));
        assert!(!w.is_archived(2) && !w.is_archived(7) && !w.is_archived(0));
        assert!(w.deadlines.iter().all(|(_, id)| w.incidents.contains_key(id)));
        assert_eq!(w.closed_before(1_000, 10), Vec::<u64>::new(), "nothing closed is left");
        let w = replay(&events);
        assert_eq!(w.closed_before(181, 10), [4]);
        assert_eq!(w.closed_before(180, 10), Vec::<u64>::new(), "closed at 180: not before it");
        assert_eq!(w.next_incident_id(), 8);
    }

    #[test]
    fn a_checkpoint_and_the_events_after_it_give_the_world_of_every_event() {
        let events = history();
        let whole = replay(&events);
        for k in 0..=events.len() {
            let at_k = replay(&events[..k]);
            let cp = at_k.checkpoint();
            let json = serde_json::to_string(&cp).expect("encode");
            let cp: super::super::Checkpoint = serde_json::from_str(&json).expect("decode");
            let mut w = WorldState::restore((1..=3).map(unit), cp);
            assert_same(&w, &at_k, &format!("restored at {k}"));
            for (i, e) in events.iter().enumerate().skip(k) {
                w.apply(i as u64 + 1, e);
            }
            assert_same(&w, &whole, &format!("from the checkpoint at {k}"));
        }
        // A unit the roster no longer has is left out; one it gained starts afresh.
        let w = WorldState::restore([unit(1), unit(9)], whole.checkpoint());
        assert_eq!(w.units.keys().copied().collect::<Vec<_>>(), [1, 9]);
        assert_eq!(w.units[&1].status, whole.units[&1].status);
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

    #[test]
    fn more_units_sent_move_alone_and_leave_the_stage_clock_running() {
        let mut w = WorldState::new((1..=4).map(unit));
        w.apply(1, &Event::Reported { incident: Box::new(incident(1, "A")) });
        w.apply(2, &step(1, Action::Dispatch, IncidentState::Dispatched, 100, vec![1]));
        let due = w.incidents[&1].deadline;
        assert_eq!(due, Some(1_100));
        w.apply(3, &Event::Overdue { id: 1, stage: Stage::Arrive, at: 1_100 });
        // 增派 while overdue: the matter stays overdue, its deadline and queue untouched.
        let mut more = step(1, Action::Dispatch, IncidentState::Dispatched, 1_200, vec![2]);
        if let Event::Stepped { deadline, .. } = &mut more {
            *deadline = due;
        }
        w.apply(4, &more);
        let inc = &w.incidents[&1];
        assert_eq!((inc.units.clone(), inc.overdue, inc.deadline), (vec![1, 2], true, due));
        assert!(w.deadlines.is_empty(), "an overdue stage is not queued again, to go overdue twice");
        assert_eq!((w.units[&1].status, w.units[&2].status), (UnitStatus::EnRoute, UnitStatus::EnRoute));
        // The first arrival starts the handling: everyone sent is there.
        w.apply(5, &step(1, Action::Start, IncidentState::InProgress, 1_300, vec![]));
        assert!(!w.incidents[&1].overdue);
        let handle_due = w.incidents[&1].deadline;
        assert_eq!(handle_due, Some(2_300));
        assert!([1, 2].iter().all(|u| w.units[u].status == UnitStatus::OnScene));
        // More to a matter in hand: they go on their way, the others stay on the scene.
        let mut more = step(1, Action::Dispatch, IncidentState::InProgress, 1_400, vec![3, 4, 1]);
        if let Event::Stepped { deadline, .. } = &mut more {
            *deadline = handle_due;
        }
        w.apply(6, &more);
        assert_eq!(w.incidents[&1].units, vec![1, 2, 3, 4], "a unit already on it is not named twice");
        assert_eq!(w.units[&1].status, UnitStatus::OnScene);
        assert_eq!((w.units[&3].status, w.units[&4].status), (UnitStatus::EnRoute, UnitStatus::EnRoute));
        assert_eq!((w.units[&3].task, w.units[&4].task), (Some(1), Some(1)));
        // One of them arrives: itself on the scene, the other still on its way; the
        // handling's clock runs on.
        let mut arrives = step(1, Action::Start, IncidentState::InProgress, 1_500, vec![3]);
        if let Event::Stepped { deadline, .. } = &mut arrives {
            *deadline = handle_due;
        }
        w.apply(7, &arrives);
        assert_eq!((w.units[&3].status, w.units[&4].status), (UnitStatus::OnScene, UnitStatus::EnRoute));
        assert_eq!(w.incidents[&1].deadline, handle_due);
        assert_eq!(w.deadlines.iter().copied().collect::<Vec<_>>(), [(2_300, 1)]);
        // Feedback frees them all.
        w.apply(8, &step(1, Action::Feedback, IncidentState::Feedback, 1_600, vec![]));
        assert!((1..=4).all(|u| w.units[&u].status == UnitStatus::Available && w.units[&u].task.is_none()));
    }
}
