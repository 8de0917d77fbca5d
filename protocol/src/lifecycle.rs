//! The incident closed loop (闭环): states, actions and the legal transitions between them.
//! Server and console share this table: the server refuses what it does not allow, the
//! console offers only what it allows.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where an incident is in its closed loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentState {
    /// Reported, waiting to be accepted (上报).
    Reported,
    /// Accepted by a centre (受理).
    Accepted,
    /// Dispatched to units (分派).
    Dispatched,
    /// Being handled on scene (处置).
    InProgress,
    /// The handler reported back (反馈).
    Feedback,
    /// Checked by the supervisor (核查).
    Verified,
    /// Closed (结案).
    Closed,
    /// Sent back: rejected at intake, handed back by the handler, or failed verification.
    Returned,
    /// Reopened after closing.
    Reopened,
    /// Handed up a level (吹哨), waiting for that level to accept.
    Escalated,
}

/// What a user (or the clock's rules) can do to an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Take the matter in.
    Accept,
    /// Send units.
    Dispatch,
    /// Arrive and start handling.
    Start,
    /// Report the handling back.
    Feedback,
    /// Confirm the handling was done.
    Verify,
    /// Close the case.
    Close,
    /// Send back with a reason.
    Return,
    /// Open a closed case again.
    Reopen,
    /// Hand up to the next level (吹哨).
    Escalate,
}

impl Action {
    /// Every action, in the order a console lists them.
    pub const ALL: [Action; 9] = [
        Action::Accept,
        Action::Dispatch,
        Action::Start,
        Action::Feedback,
        Action::Verify,
        Action::Close,
        Action::Return,
        Action::Reopen,
        Action::Escalate,
    ];

    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Dispatch => "dispatch",
            Action::Start => "start",
            Action::Feedback => "feedback",
            Action::Verify => "verify",
            Action::Close => "close",
            Action::Return => "return",
            Action::Reopen => "reopen",
            Action::Escalate => "escalate",
        }
    }

    /// Whether the action must carry a reason.
    pub fn needs_reason(self) -> bool {
        matches!(self, Action::Return | Action::Reopen | Action::Escalate)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl IncidentState {
    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            IncidentState::Reported => "reported",
            IncidentState::Accepted => "accepted",
            IncidentState::Dispatched => "dispatched",
            IncidentState::InProgress => "in_progress",
            IncidentState::Feedback => "feedback",
            IncidentState::Verified => "verified",
            IncidentState::Closed => "closed",
            IncidentState::Returned => "returned",
            IncidentState::Reopened => "reopened",
            IncidentState::Escalated => "escalated",
        }
    }

    /// Whether the matter is still open (not closed).
    pub fn is_open(self) -> bool {
        self != IncidentState::Closed
    }

    /// Whether `action` here steps the matter to where it already is without restarting
    /// its stage's clock: more units sent to a matter already dispatched or in hand
    /// (增派), and one of them arriving at a matter in hand. Its deadline and whether it
    /// is overdue stay as they were; only the units it names move.
    pub fn keeps_clock(self, action: Action) -> bool {
        matches!((self, action), (IncidentState::Dispatched | IncidentState::InProgress, Action::Dispatch))
            || matches!((self, action), (IncidentState::InProgress, Action::Start))
    }

    /// The state `action` leads to, or why it is not allowed here.
    pub fn apply(self, action: Action) -> Result<IncidentState, IllegalTransition> {
        use Action as A;
        use IncidentState as S;
        let next = match (self, action) {
            (S::Reported | S::Escalated | S::Reopened | S::Returned, A::Accept) => S::Accepted,
            (S::Accepted | S::Returned | S::Reopened, A::Dispatch) => S::Dispatched,
            // More units to a matter already sent to (增派): it stays where it is.
            (S::Dispatched | S::InProgress, A::Dispatch) => self,
            (S::Dispatched, A::Start) => S::InProgress,
            // A unit sent as reinforcement arrives at a matter already in hand.
            (S::InProgress, A::Start) => S::InProgress,
            (S::InProgress, A::Feedback) => S::Feedback,
            (S::Feedback, A::Verify) => S::Verified,
            (S::Verified | S::Returned, A::Close) => S::Closed,
            (S::Reported | S::Dispatched | S::InProgress | S::Feedback, A::Return) => S::Returned,
            (S::Closed, A::Reopen) => S::Reopened,
            (
                S::Reported | S::Accepted | S::Dispatched | S::InProgress | S::Returned | S::Reopened | S::Escalated,
                A::Escalate,
            ) => S::Escalated,
            (from, action) => return Err(IllegalTransition { from, action }),
        };
        Ok(next)
    }

    /// The actions allowed in this state.
    pub fn allowed(self) -> Vec<Action> {
        Action::ALL.into_iter().filter(|a| self.apply(*a).is_ok()).collect()
    }

    /// The stage whose time limit runs in this state; none once closed.
    pub fn stage(self) -> Option<Stage> {
        match self {
            IncidentState::Reported | IncidentState::Escalated | IncidentState::Reopened => Some(Stage::Accept),
            IncidentState::Accepted | IncidentState::Returned => Some(Stage::Dispatch),
            IncidentState::Dispatched => Some(Stage::Arrive),
            IncidentState::InProgress => Some(Stage::Handle),
            IncidentState::Feedback => Some(Stage::Verify),
            IncidentState::Verified => Some(Stage::Close),
            IncidentState::Closed => None,
        }
    }
}

/// A stage of the loop with its own time limit in the responsibility list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Until accepted.
    Accept,
    /// Until dispatched.
    Dispatch,
    /// Until a unit is on scene.
    Arrive,
    /// Until feedback.
    Handle,
    /// Until verified.
    Verify,
    /// Until closed.
    Close,
}

/// Minutes allowed for each stage of the loop (the responsibility list's time limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageLimits {
    /// Reported → accepted.
    pub accept: u32,
    /// Accepted → dispatched.
    pub dispatch: u32,
    /// Dispatched → on scene.
    pub arrive: u32,
    /// On scene → feedback.
    pub handle: u32,
    /// Feedback → verified.
    pub verify: u32,
    /// Verified → closed.
    pub close: u32,
}

impl StageLimits {
    /// The limit of `stage` in minutes.
    pub fn minutes(&self, stage: Stage) -> u32 {
        match stage {
            Stage::Accept => self.accept,
            Stage::Dispatch => self.dispatch,
            Stage::Arrive => self.arrive,
            Stage::Handle => self.handle,
            Stage::Verify => self.verify,
            Stage::Close => self.close,
        }
    }
}

/// An action not allowed in the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} an incident that is {}", from.name())]
pub struct IllegalTransition {
    /// The state it was in.
    pub from: IncidentState,
    /// The action refused.
    pub action: Action,
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action as A;
    use IncidentState as S;

    #[test]
    fn the_happy_path_closes_the_loop() {
        let mut s = S::Reported;
        for a in [A::Accept, A::Dispatch, A::Start, A::Feedback, A::Verify, A::Close] {
            s = s.apply(a).expect("legal step");
        }
        assert_eq!(s, S::Closed);
        assert!(!s.is_open());
        assert_eq!(s.stage(), None);
    }

    #[test]
    fn failed_verification_returns_and_can_be_dispatched_again() {
        assert_eq!(S::Feedback.apply(A::Return), Ok(S::Returned));
        assert_eq!(S::Returned.apply(A::Dispatch), Ok(S::Dispatched));
    }

    #[test]
    fn more_units_go_to_a_matter_already_sent_to_without_restarting_its_clock() {
        for s in [S::Dispatched, S::InProgress] {
            assert_eq!(s.apply(A::Dispatch), Ok(s), "{s:?}");
            assert!(s.keeps_clock(A::Dispatch));
        }
        assert_eq!(S::InProgress.apply(A::Start), Ok(S::InProgress), "a reinforcement arrives");
        assert!(S::InProgress.keeps_clock(A::Start));
        // The first dispatch and the first arrival start their stages.
        assert!(!S::Accepted.keeps_clock(A::Dispatch) && !S::Dispatched.keeps_clock(A::Start));
        assert!(S::Feedback.apply(A::Dispatch).is_err(), "once handled, no more units");
        assert!(!S::Escalated.keeps_clock(A::Escalate), "an escalation starts the next level's clock");
    }

    #[test]
    fn escalated_matter_is_accepted_at_the_next_level() {
        assert_eq!(S::InProgress.apply(A::Escalate), Ok(S::Escalated));
        assert_eq!(S::Escalated.apply(A::Accept), Ok(S::Accepted));
    }

    #[test]
    fn an_unanswered_escalation_can_go_further_up() {
        assert_eq!(S::Escalated.apply(A::Escalate), Ok(S::Escalated));
    }

    #[test]
    fn closing_an_unhandled_incident_is_refused_with_a_reason() {
        let err = S::Reported.apply(A::Close).expect_err("illegal");
        assert_eq!(err.to_string(), "cannot close an incident that is reported");
    }

    #[test]
    fn closed_incident_allows_only_reopen() {
        assert_eq!(S::Closed.allowed(), vec![A::Reopen]);
        assert_eq!(S::Reopened.apply(A::Accept), Ok(S::Accepted));
    }

    #[test]
    fn every_open_state_has_a_stage_and_a_way_forward() {
        for s in [
            S::Reported,
            S::Accepted,
            S::Dispatched,
            S::InProgress,
            S::Feedback,
            S::Verified,
            S::Returned,
            S::Reopened,
            S::Escalated,
        ] {
            assert!(s.stage().is_some(), "{s:?}");
            assert!(!s.allowed().is_empty(), "{s:?}");
        }
    }
}
