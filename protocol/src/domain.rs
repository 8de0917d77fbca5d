//! The domain vocabulary shared by server and console: identifiers, the administrative
//! hierarchy, incidents, personnel and cameras as the wire carries them.

use geo_types::Point;
use serde::{Deserialize, Serialize};

use crate::lifecycle::{Action, IncidentState};
use crate::messages::ErrorCode;

/// An incident's number, assigned by the server in report order.
pub type IncidentId = u64;
/// A person or team in the field.
pub type UnitId = u32;
/// A camera.
pub type CameraId = u32;
/// Milliseconds since the Unix epoch, from the server's clock.
pub type Millis = i64;

/// A level of the administrative hierarchy, from the city down to the community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 社区/村: community or village, with its grid cells.
    Community,
    /// 街道/乡镇: street or town.
    Street,
    /// 区/县: district or county.
    District,
    /// 市: the whole city.
    City,
}

impl Level {
    /// The next level up, if any: where a matter goes when it is escalated (吹哨).
    pub fn up(self) -> Option<Level> {
        match self {
            Level::Community => Some(Level::Street),
            Level::Street => Some(Level::District),
            Level::District => Some(Level::City),
            Level::City => None,
        }
    }
}

/// Where a point lies in every net: the administrative path plus the overlays.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Placement {
    /// Technical grid cell code (万米单元格).
    pub cell: String,
    /// Community code (12 digits).
    pub community: String,
    /// Community name.
    pub community_name: String,
    /// Street code (12 digits).
    pub street: String,
    /// Street name.
    pub street_name: String,
    /// District code (12 digits).
    pub district: String,
    /// District name.
    pub district_name: String,
    /// Responsibility unit code (the net that handles).
    pub responsibility_unit: String,
    /// Supervision unit code (the net that checks).
    pub supervision_unit: String,
    /// The grid worker responsible for the cell.
    pub grid_worker: Option<UnitId>,
}

/// Who may see what: a level of the hierarchy and the code of the unit at that level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// The level of the governance centre.
    pub level: Level,
    /// The unit's 12-digit code; ignored for the city level.
    pub code: String,
}

impl Scope {
    /// The whole city.
    pub fn city() -> Self {
        Scope { level: Level::City, code: String::new() }
    }

    /// Whether something placed at `p` lies inside this scope.
    pub fn contains(&self, p: &Placement) -> bool {
        match self.level {
            Level::City => true,
            Level::District => p.district == self.code,
            Level::Street => p.street == self.code,
            Level::Community => p.community == self.code,
        }
    }
}

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Leader: everything a dispatcher does, in consultation.
    Commander,
    /// Duty officer: accepts, dispatches, verifies and closes.
    Dispatcher,
    /// Watches the wall: reads, reports.
    Operator,
    /// Field staff: reports, starts, gives feedback, sends positions.
    GridWorker,
    /// An IoT or video-AI gateway: reports alarms only.
    Sensor,
}

/// The authenticated user as the server tells the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// Login id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// What this user sees and may act on.
    pub scope: Scope,
    /// The field unit this user is, for grid workers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<UnitId>,
}

impl UserInfo {
    /// Whether this user may act for `unit` (set its duty status, send its positions): the
    /// unit itself, or a dispatcher or commander whose scope holds the unit's home.
    pub fn may_act_for_unit(&self, unit: UnitId, home: &Placement) -> Result<(), (ErrorCode, String)> {
        let ok = match self.role {
            Role::GridWorker => self.unit == Some(unit),
            Role::Commander | Role::Dispatcher => self.scope.contains(home),
            Role::Operator | Role::Sensor => false,
        };
        if ok { Ok(()) } else { Err((ErrorCode::Forbidden, format!("you may not act for unit {unit}"))) }
    }

    /// Whether this user may take `action` on `inc`, by role, scope and the level that
    /// handles it (the incident's state is checked apart): a unit sent to an incident may
    /// start, report back or return it wherever it lies; dispatchers and commanders act
    /// within their scope on matters handled at their level or below; nobody else steps
    /// incidents. The server decides by this; consoles use it to offer only what it allows.
    pub fn may_step(&self, inc: &Incident, action: Action) -> Result<(), (ErrorCode, String)> {
        let id = inc.id;
        let assigned = self.unit.is_some_and(|u| inc.units.contains(&u));
        let field_step = assigned && matches!(action, Action::Start | Action::Feedback | Action::Return);
        if !field_step && !self.scope.contains(&inc.placement) {
            return Err((ErrorCode::OutOfScope, format!("incident {id} is outside your scope")));
        }
        let allowed = match self.role {
            Role::Commander | Role::Dispatcher => true,
            Role::GridWorker => field_step,
            Role::Operator | Role::Sensor => false,
        };
        if !allowed {
            return Err((ErrorCode::Forbidden, format!("a {:?} may not {action} incident {id}", self.role)));
        }
        if !field_step && self.scope.level < inc.level {
            return Err((
                ErrorCode::Forbidden,
                format!("incident {id} is handled at {:?} level, above your centre", inc.level),
            ));
        }
        Ok(())
    }
}

/// Where a report came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Entered by a command-centre operator.
    Operator,
    /// Found on patrol by a grid worker.
    GridWorker,
    /// Snap-and-report by a citizen (随手拍).
    Citizen,
    /// An IoT sensor alarm (smoke detector, water meter, door lock).
    IotSensor,
    /// A video-AI alarm.
    VideoAlarm,
    /// The 12345 hotline.
    Hotline,
}

/// How many people a matter involves (GB/T 31000 incident scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// One person or household.
    #[default]
    Individual,
    /// A group.
    Group,
    /// A major group event.
    MajorGroup,
}

/// One recorded step of an incident: who did what, when, from where and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The action taken (`report`, `accept`, …, or `overdue` for the clock's own steps).
    pub action: String,
    /// The state after the step.
    pub state: IncidentState,
    /// User id, or `system` for the clock's rules.
    pub by: String,
    /// The user's name as the server knew it then ("嘉莲街道值班员", "规则引擎"), for people
    /// to read; absent from steps recorded before servers kept it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub by_name: String,
    /// When.
    pub at: Millis,
    /// Where the step came from: the client's address, or `server`.
    pub origin: String,
    /// The reason or note given.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// The units the step sent (`dispatch`: only those new to the matter when more are
    /// sent) or put on the scene (`start`); empty for the other steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub units: Vec<UnitId>,
}

/// An incident as the wire carries it: the current state with its whole history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Number.
    pub id: IncidentId,
    /// Category code from the responsibility list.
    pub category: String,
    /// Where, in WGS-84 (x = longitude, y = latitude).
    pub location: Point,
    /// Intake channel.
    pub source: Source,
    /// What was reported.
    pub description: String,
    /// References (URLs or object keys) of photos and files.
    #[serde(default)]
    pub attachments: Vec<String>,
    /// 1 (low) to 4 (critical).
    pub severity: u8,
    /// How many people are involved.
    pub scale: Scale,
    /// Current state.
    pub state: IncidentState,
    /// Where it is in every net, found when reported.
    pub placement: Placement,
    /// The department responsible for the category.
    pub department: String,
    /// The level now handling it; raised by escalation.
    pub level: Level,
    /// Units dispatched to it.
    #[serde(default)]
    pub units: Vec<UnitId>,
    /// When it was reported: when the server received it, or up to
    /// [`MAX_BACKDATE_MS`](crate::validate::MAX_BACKDATE_MS) earlier for a report its
    /// client held while its link was down. Time limits run from here.
    pub reported_at: Millis,
    /// When its client says it took the report, where that lies further back than the
    /// server dates reports (it was held longer while the link was down): the client's
    /// word, kept for supervision, not the start of any time limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_at: Option<Millis>,
    /// When the current stage must be done; none once closed.
    pub deadline: Option<Millis>,
    /// Whether the current stage has passed its deadline.
    pub overdue: bool,
    /// How many times any stage went overdue.
    pub overdue_count: u32,
    /// Every step so far.
    pub history: Vec<Step>,
}

/// How long a closed incident stays in the live picture after it was closed: in a
/// subscription's snapshot, and in a console's own state. A day, so that what was closed
/// today is all there whatever the hour; older ones are asked for by number
/// ([`Query::Incident`](crate::Query::Incident)). Without a bound the live picture grew by
/// every incident ever closed: Siming's simulated 834 a day made a year's snapshot
/// hundreds of megabytes.
pub const LIVE_AFTER_CLOSE_MS: Millis = 24 * 3_600_000;

impl Incident {
    /// When it was closed, if it is closed: its last `close` step (when it was reported, for
    /// a closed incident with none).
    pub fn closed_at(&self) -> Option<Millis> {
        (self.state == IncidentState::Closed)
            .then(|| self.history.iter().rev().find(|s| s.action == "close").map_or(self.reported_at, |s| s.at))
    }

    /// Whether it belongs to the live picture at `now`: open, or closed within
    /// [`LIVE_AFTER_CLOSE_MS`].
    pub fn is_live(&self, now: Millis) -> bool {
        self.closed_at().is_none_or(|t| now - t < LIVE_AFTER_CLOSE_MS)
    }
}

/// What kind of field unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// A grid worker (网格员) responsible for cells.
    GridWorker,
    /// A team: urban management, fire safety, police liaison, maintenance.
    Team,
}

impl UnitKind {
    /// How a unit of this kind goes by road (and how the simulated city moves it): a
    /// team's vehicle at each road's speed, by the fastest roads; a grid worker's electric
    /// bicycle at 3 m/s (about 11 km/h) on any road, by the shortest.
    pub fn travel(self) -> Travel {
        match self {
            UnitKind::Team => Travel::Drive,
            UnitKind::GridWorker => Travel::Pace(3.0),
        }
    }
}

/// How a unit goes by road ([`UnitKind::travel`]): what its way is chosen by and how long
/// it takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Travel {
    /// A vehicle: at each road's speed (its class's, or its posted limit), so by the
    /// fastest roads, which may be longer.
    Drive,
    /// At its own pace whatever the road, m/s, so by the shortest roads.
    Pace(f64),
}

/// What a field unit is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitStatus {
    /// Free for a task.
    Available,
    /// Dispatched and on the way.
    EnRoute,
    /// Working at the scene.
    OnScene,
    /// Not on duty.
    OffDuty,
}

/// A person or team in the field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    /// Id.
    pub id: UnitId,
    /// Name (a person, or a team's name).
    pub name: String,
    /// Grid worker or team.
    pub kind: UnitKind,
    /// Skills used to filter dispatch candidates (e.g. `fire`, `road`, `mediation`).
    pub skills: Vec<String>,
    /// Phone number for the duty desk.
    pub phone: String,
    /// Home placement: the unit's street and community decide who sees it.
    pub home: Placement,
    /// Cells the unit is responsible for (grid workers).
    #[serde(default)]
    pub cells: Vec<String>,
    /// Current status.
    pub status: UnitStatus,
    /// The incident it is working on.
    pub task: Option<IncidentId>,
    /// Last known position, WGS-84.
    pub position: Option<Point>,
    /// Heading in degrees clockwise from north.
    pub heading_deg: f32,
    /// Whether the roster entry is synthetic (generated, not a real person).
    pub synthetic: bool,
}

/// A camera that video linkage can open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Camera {
    /// Id.
    pub id: CameraId,
    /// Name.
    pub name: String,
    /// Position, WGS-84.
    pub position: Point,
    /// Heading of the optical axis, degrees clockwise from north.
    pub heading_deg: f64,
    /// Horizontal field of view, degrees.
    pub fov_deg: f64,
    /// How far it sees usefully, metres.
    pub range_m: f64,
    /// Stream address (RTSP).
    pub stream_url: String,
    /// Where it is.
    pub placement: Placement,
    /// Whether it is synthetic.
    pub synthetic: bool,
}

/// Live status of one grid cell: what the wall tints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellStatus {
    /// Cell code.
    pub cell: String,
    /// Open incidents in the cell.
    pub open: u32,
    /// Of those, overdue.
    pub overdue: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident(level: Level, units: Vec<UnitId>) -> Incident {
        Incident {
            id: 9,
            category: "0201".into(),
            location: Point::new(118.1, 24.47),
            source: Source::Hotline,
            description: "冒烟".into(),
            attachments: vec![],
            severity: 2,
            scale: Scale::Individual,
            state: IncidentState::Dispatched,
            placement: Placement {
                community: "350203009001".into(),
                street: "350203009000".into(),
                district: "350203000000".into(),
                ..Placement::default()
            },
            department: "消防".into(),
            level,
            units,
            reported_at: 0,
            taken_at: None,
            deadline: None,
            overdue: false,
            overdue_count: 0,
            history: vec![],
        }
    }

    fn user(role: Role, level: Level, code: &str, unit: Option<UnitId>) -> UserInfo {
        UserInfo { id: "u".into(), name: "u".into(), role, scope: Scope { level, code: code.into() }, unit }
    }

    #[test]
    fn who_may_step_an_incident() {
        let street = incident(Level::Street, vec![7]);
        let code = |u: &UserInfo, a| u.may_step(&street, a).map_err(|(c, _)| c);
        let desk = user(Role::Dispatcher, Level::Street, "350203009000", None);
        assert_eq!(code(&desk, Action::Close), Ok(()));
        let other_street = user(Role::Dispatcher, Level::Street, "350203001000", None);
        assert_eq!(code(&other_street, Action::Close), Err(ErrorCode::OutOfScope));
        let community = user(Role::Dispatcher, Level::Community, "350203009001", None);
        assert_eq!(code(&community, Action::Close), Err(ErrorCode::Forbidden), "handled above the community");
        assert_eq!(code(&user(Role::Operator, Level::City, "", None), Action::Accept), Err(ErrorCode::Forbidden));
        // The unit sent acts on it wherever it lies, but only in the field's steps.
        let sent = user(Role::GridWorker, Level::Community, "350203001001", Some(7));
        assert_eq!(code(&sent, Action::Start), Ok(()));
        assert_eq!(code(&sent, Action::Close), Err(ErrorCode::OutOfScope));
        let not_sent = user(Role::GridWorker, Level::Street, "350203009000", Some(8));
        assert_eq!(code(&not_sent, Action::Start), Err(ErrorCode::Forbidden));
        assert_eq!(code(&user(Role::Commander, Level::City, "", None), Action::Escalate), Ok(()));
    }

    #[test]
    fn who_may_act_for_a_unit() {
        let home = incident(Level::Street, vec![]).placement;
        let may = |u: &UserInfo| u.may_act_for_unit(7, &home).map_err(|(c, _)| c);
        assert_eq!(may(&user(Role::Dispatcher, Level::Street, "350203009000", None)), Ok(()));
        assert_eq!(may(&user(Role::Dispatcher, Level::Street, "350203001000", None)), Err(ErrorCode::Forbidden));
        assert_eq!(may(&user(Role::GridWorker, Level::Community, "350203001001", Some(7))), Ok(()), "itself");
        assert_eq!(may(&user(Role::GridWorker, Level::Street, "350203009000", Some(8))), Err(ErrorCode::Forbidden));
        assert_eq!(may(&user(Role::Operator, Level::City, "", None)), Err(ErrorCode::Forbidden));
    }
}
