//! Alarms on an incident: what calls for a duty officer's acknowledgement (a serious
//! matter newly reported and not yet taken in, a whistle blown and not yet taken up, a
//! stage past its time limit), and whether somebody has acknowledged it.
//!
//! An acknowledgement is a step in the incident's history (`acknowledge`): who saw the
//! alarm, when, from where. It covers every alarm standing when it was taken; a cause
//! raised after it (a later stage overdue, another whistle) stands unacknowledged again.
//! The server and the consoles share this: the server records an acknowledgement only
//! where an alarm stands that none covers yet, and every desk lets go of an alarm that
//! somebody, at any desk, acknowledged.

use crate::{ErrorCode, Incident, IncidentState, Role, Step, UserInfo};

/// The severity from which a matter newly reported raises an alarm (3: serious).
pub const SERIOUS_SEVERITY: u8 = 3;

/// The history's name of an acknowledgement.
pub const ACKNOWLEDGE_STEP: &str = "acknowledge";

/// The history's name of the clock's mark that a stage passed its time limit.
pub const OVERDUE_STEP: &str = "overdue";

/// What raises an alarm on an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmCause {
    /// A serious matter ([`SERIOUS_SEVERITY`] or more) reported and not yet accepted.
    Serious,
    /// Handed up a level (吹哨) and not yet taken up there.
    Escalated,
    /// Its current stage passed its time limit.
    Overdue,
}

impl AlarmCause {
    /// The history's steps that raise it: the newest of them is when it was raised.
    fn raised_by(self) -> &'static str {
        match self {
            AlarmCause::Serious => "report",
            AlarmCause::Escalated => "escalate",
            AlarmCause::Overdue => OVERDUE_STEP,
        }
    }
}

impl Incident {
    /// Whether `cause` stands on it now (none once closed).
    pub fn alarm_stands(&self, cause: AlarmCause) -> bool {
        self.state.is_open()
            && match cause {
                AlarmCause::Serious => self.state == IncidentState::Reported && self.severity >= SERIOUS_SEVERITY,
                AlarmCause::Escalated => self.state == IncidentState::Escalated,
                AlarmCause::Overdue => self.overdue,
            }
    }

    /// The alarms that stand on it now, in the order of [`AlarmCause`]'s variants.
    pub fn alarm_causes(&self) -> Vec<AlarmCause> {
        self.standing().collect()
    }

    fn standing(&self) -> impl Iterator<Item = AlarmCause> + '_ {
        [AlarmCause::Serious, AlarmCause::Escalated, AlarmCause::Overdue].into_iter().filter(|c| self.alarm_stands(*c))
    }

    /// Where in the history the newest of the standing alarms was raised: the newest step
    /// that raises one of them (for a matter whose history has none, as one overdue
    /// before the clock recorded its marks: its newest step other than an
    /// acknowledgement); none where none stands.
    fn alarm_raised(&self) -> Option<usize> {
        self.standing().next()?;
        let raising = |s: &Step| self.standing().any(|c| c.raised_by() == s.action);
        self.history
            .iter()
            .rposition(raising)
            .or_else(|| self.history.iter().rposition(|s| s.action != ACKNOWLEDGE_STEP))
            .or(Some(0))
    }

    /// When the newest of the standing alarms was raised (server milliseconds); none where
    /// none stands.
    pub fn alarm_raised_at(&self) -> Option<crate::Millis> {
        self.history.get(self.alarm_raised()?).map_or(Some(self.reported_at), |s| Some(s.at))
    }

    /// The step that acknowledged the alarms standing now, if one did: an acknowledgement
    /// after the newest of them was raised. None where none stands.
    pub fn acknowledgement(&self) -> Option<&Step> {
        let from = self.alarm_raised()? + 1;
        self.history.get(from..)?.iter().rev().find(|s| s.action == ACKNOWLEDGE_STEP)
    }

    /// Each acknowledgement in its history, with when the alarm it covered was raised:
    /// `(raised, acknowledged)`, server milliseconds. An acknowledgement covers the newest
    /// alarm raised before it (the server records one only where an alarm stands).
    pub fn acknowledged_alarms(&self) -> Vec<(crate::Millis, crate::Millis)> {
        let mut raised = None;
        let mut out = Vec::new();
        for (k, s) in self.history.iter().enumerate() {
            match s.action.as_str() {
                ACKNOWLEDGE_STEP => out.extend(raised.take().map(|r| (r, s.at))),
                OVERDUE_STEP | "escalate" => raised = Some(s.at),
                "report" if k == 0 && self.severity >= SERIOUS_SEVERITY => raised = Some(s.at),
                _ => {}
            }
        }
        out
    }

    /// Whether an alarm stands on it that nobody has acknowledged. Allocates nothing: the
    /// queue asks it of every incident each frame.
    pub fn alarm_unacknowledged(&self) -> bool {
        self.alarm_raised().is_some() && self.acknowledgement().is_none()
    }
}

impl UserInfo {
    /// Whether this user may acknowledge `inc`'s alarm: anyone who watches or dispatches
    /// (operators at the wall, duty officers, leaders) within their scope, whatever level
    /// handles it (seeing an alarm is not taking the matter up); not field staff or
    /// gateways.
    pub fn may_acknowledge(&self, inc: &Incident) -> Result<(), (ErrorCode, String)> {
        let id = inc.id;
        if !matches!(self.role, Role::Commander | Role::Dispatcher | Role::Operator) {
            return Err((ErrorCode::Forbidden, format!("a {:?} may not acknowledge incident {id}'s alarm", self.role)));
        }
        if !self.scope.contains(&inc.placement) {
            return Err((ErrorCode::OutOfScope, format!("incident {id} is outside your scope")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Level, Placement, Scale, Scope, Source};

    fn step(action: &str, state: IncidentState, at: i64) -> Step {
        Step {
            action: action.into(),
            state,
            by: "u".into(),
            by_name: String::new(),
            at,
            origin: "t".into(),
            note: String::new(),
            units: Vec::new(),
        }
    }

    fn incident(severity: u8) -> Incident {
        Incident {
            id: 1,
            category: "0301".into(),
            location: geo_types::Point::new(118.1, 24.47),
            source: Source::Citizen,
            description: "x".into(),
            attachments: Vec::new(),
            severity,
            scale: Scale::Individual,
            state: IncidentState::Reported,
            placement: Placement { street: "s".into(), community: "c".into(), cell: "g".into(), ..Default::default() },
            department: "d".into(),
            level: Level::Street,
            units: Vec::new(),
            reported_at: 0,
            taken_at: None,
            deadline: Some(1_000),
            overdue: false,
            overdue_count: 0,
            history: vec![step("report", IncidentState::Reported, 0)],
        }
    }

    fn then(i: &mut Incident, action: &str, state: IncidentState) {
        let at = i.history.len() as i64 * 10;
        i.state = state;
        i.history.push(step(action, state, at));
    }

    #[test]
    fn what_raises_an_alarm() {
        use AlarmCause::*;
        use IncidentState as S;
        assert!(incident(2).alarm_causes().is_empty(), "a minor matter reported");
        let mut i = incident(SERIOUS_SEVERITY);
        assert_eq!(i.alarm_causes(), [Serious]);
        assert!(i.alarm_unacknowledged());
        then(&mut i, "accept", S::Accepted);
        assert!(i.alarm_causes().is_empty(), "taken in");
        then(&mut i, "escalate", S::Escalated);
        i.overdue = true;
        assert_eq!(i.alarm_causes(), [Escalated, Overdue]);
        then(&mut i, "close", S::Closed);
        assert!(i.alarm_causes().is_empty(), "closed, overdue or not");
        assert_eq!(i.acknowledgement(), None);
    }

    #[test]
    fn an_acknowledgement_covers_what_stood_when_it_was_taken() {
        use IncidentState as S;
        let mut i = incident(4);
        assert_eq!(i.alarm_raised_at(), Some(0), "by its report");
        then(&mut i, ACKNOWLEDGE_STEP, S::Reported);
        assert_eq!(i.acknowledgement().map(|s| s.at), Some(10));
        assert_eq!(i.alarm_raised_at(), Some(0), "raised when it was, acknowledged or not");
        assert!(!i.alarm_unacknowledged());
        // Accepted, then overdue: a new alarm, raised after the acknowledgement.
        then(&mut i, "accept", S::Accepted);
        assert_eq!(i.acknowledgement(), None, "nothing stands");
        i.overdue = true;
        then(&mut i, OVERDUE_STEP, S::Accepted);
        assert!(i.alarm_unacknowledged(), "the old acknowledgement does not cover it");
        assert_eq!(i.alarm_raised_at(), Some(30));
        then(&mut i, ACKNOWLEDGE_STEP, S::Accepted);
        assert_eq!(i.acknowledgement().map(|s| s.at), Some(40));
        // Escalated while overdue: the whistle is newer than the acknowledgement.
        then(&mut i, "escalate", S::Escalated);
        i.overdue = false;
        assert!(i.alarm_unacknowledged());
        i.overdue = true;
        assert!(i.alarm_unacknowledged(), "both stand; the newest is not acknowledged");
        then(&mut i, ACKNOWLEDGE_STEP, S::Escalated);
        assert!(!i.alarm_unacknowledged(), "one acknowledgement covers both");
        // report 0, acknowledged 10; overdue 30, acknowledged 40; escalated 50, 60.
        assert_eq!(i.acknowledged_alarms(), [(0, 10), (30, 40), (50, 60)]);
    }

    #[test]
    fn an_overdue_matter_with_no_mark_in_its_history() {
        // Marked overdue before the clock recorded its marks: raised at its newest step.
        let mut i = incident(1);
        then(&mut i, "accept", IncidentState::Accepted);
        i.overdue = true;
        assert!(i.alarm_unacknowledged());
        then(&mut i, ACKNOWLEDGE_STEP, IncidentState::Accepted);
        assert!(!i.alarm_unacknowledged());
    }

    #[test]
    fn who_may_acknowledge() {
        let i = incident(4);
        let user = |role, street: &str| UserInfo {
            id: "u".into(),
            name: "u".into(),
            role,
            scope: Scope { level: Level::Street, code: street.into() },
            unit: None,
        };
        for role in [Role::Commander, Role::Dispatcher, Role::Operator] {
            assert_eq!(user(role, "s").may_acknowledge(&i), Ok(()), "{role:?}");
        }
        for role in [Role::GridWorker, Role::Sensor] {
            assert_eq!(user(role, "s").may_acknowledge(&i).map_err(|e| e.0), Err(ErrorCode::Forbidden));
        }
        assert_eq!(user(Role::Dispatcher, "t").may_acknowledge(&i).map_err(|e| e.0), Err(ErrorCode::OutOfScope));
        // Handled a level up: seeing it is not taking it up.
        let up = Incident { level: Level::District, ..i };
        assert_eq!(user(Role::Dispatcher, "s").may_acknowledge(&up), Ok(()));
    }
}
