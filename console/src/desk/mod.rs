//! The duty desk's traffic with the server: what the user asked for ([`Intent`], returned by
//! the panels) becomes protocol commands and queries; each command stays *pending* until
//! the server acknowledges it, and a refusal is kept in words (the reason in Chinese, the
//! server's own words after it). Commands go with an idempotency key: one in flight when
//! the link drops stays pending while the link is down and is sent again on reconnecting
//! (see `net::client`), so the operator neither loses it nor doubles it; a report taken
//! while the link is down waits for it; what a crashed run left unanswered is pending
//! again in the next (`net::outbox`). What comes back is taken in `answers`; closing with
//! commands pending asks first (`close`). A report registered at the desk is selected once
//! the server has numbered it. Selecting an incident asks for the available units soonest
//! there by road, the soonest with the skill its category calls for (对口: a fire hazard
//! wants a fire team, not the nearest patrol), and the cameras that see it (the units again
//! every 30 s while it stays selected and can be sent units, `NearestFresh`); selecting a
//! unit asks for its recent track; while an incident is selected, the units sent to it are
//! followed on their way (`enroute`), by the road still ahead of them where the server
//! measures it. An alarm the officer acknowledges is recorded on the server for every desk,
//! and one acknowledged at another desk is let go here (`acknowledge`).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use onegrid_protocol::{
    Act, Action, CameraId, ClientMsg, Command, Dispatch, ErrorCode, IncidentId, Millis, NearUnit, Query as Ask, Report,
    UnitId, UnitStatus, UnitWay,
};

use crate::live::{IncidentC, LiveIndex, Selection, UnitC, UnitPos};
use crate::map::CityMapRes;
use crate::net::{CommandFate, NetLink, NetNotice, Restored, Undelivered};
use crate::view::{Bounds, MapView};

pub mod acknowledge;
mod answers;
mod close;
pub mod enroute;
mod pending;

use acknowledge::acknowledge_alarms;
use answers::{expire_pending, take_answers};
pub use close::CloseGuard;
use close::guard_close;
pub use pending::Pending;

/// What the user asked for in a panel or on the map.
#[derive(Debug, Clone, PartialEq, Message)]
pub enum Intent {
    /// Select an incident and fly to it.
    SelectIncident(IncidentId),
    /// Select a unit and fly to it.
    SelectUnit(UnitId),
    /// Clear the selection.
    ClearSelection,
    /// Fly the map to a box (local metres), no closer than `min_m_per_pt`.
    FlyTo(Bounds, f64),
    /// A step on an incident.
    Act {
        /// The incident.
        incident: IncidentId,
        /// The action.
        action: Action,
        /// Note or reason.
        note: String,
    },
    /// Dispatch units.
    Dispatch {
        /// The incident.
        incident: IncidentId,
        /// The units.
        units: Vec<UnitId>,
    },
    /// Record a unit's arrival at an incident for it, as it said by radio or telephone
    /// (a `start` naming the unit: it alone goes on the scene).
    Arrived {
        /// The incident.
        incident: IncidentId,
        /// The unit that arrived.
        unit: UnitId,
    },
    /// Acknowledge the alarm standing on an incident: this desk's, and on the server for
    /// every desk (`acknowledge`).
    AcknowledgeAlarm(IncidentId),
    /// Ask again for the nearest available units.
    RefreshNearest(IncidentId),
    /// Set a unit available or off duty (a worker called in sick, or is back).
    SetUnitStatus {
        /// The unit.
        unit: UnitId,
        /// `Available` or `OffDuty`.
        status: UnitStatus,
    },
    /// Start writing a report at this place (WGS-84), from this channel: the panels open
    /// the intake form; nothing goes to the server until it is sent.
    ReportAt {
        /// Where.
        at: [f64; 2],
        /// The channel.
        source: onegrid_protocol::Source,
    },
    /// Register a new incident; `ticket` names it until the server numbers it.
    Report {
        /// What was reported.
        report: Report,
        /// Chosen by the asker, to find the outcome in [`Desk::reported`].
        ticket: u64,
    },
}

/// A line for the user: an acknowledgement or a refusal.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// Words.
    pub text: String,
    /// A refusal or failure.
    pub error: bool,
    /// The incident it concerns.
    pub incident: Option<IncidentId>,
    /// When.
    pub at: Instant,
}

#[derive(Debug, Clone)]
enum Asked {
    Nearest(IncidentId),
    Matched(IncidentId, String),
    Cameras(IncidentId),
    Track(UnitId),
    Incident(IncidentId),
    Ways(IncidentId),
    Acknowledge(IncidentId),
}

/// How much of the map a fly-to a selected incident or unit shows, metres: a street
/// corner at the desk, a neighbourhood on the wall.
#[derive(Debug, Clone, Copy, Resource)]
pub struct FocusSpan(pub f64);

impl Default for FocusSpan {
    fn default() -> Self {
        FocusSpan(600.0)
    }
}

/// A recent track: `(time, lon, lat)` points, oldest first.
pub type Track = Vec<(Millis, f64, f64)>;

/// The desk's state.
#[derive(Default, Resource)]
pub struct Desk {
    /// Commands awaiting acknowledgement.
    pub pending: Vec<Pending>,
    /// The latest notices, newest first.
    pub notices: VecDeque<Notice>,
    /// Nearest available units of an incident.
    pub nearest: Option<(IncidentId, Vec<NearUnit>)>,
    /// Nearest available units with the skill the incident's category calls for, and
    /// that skill.
    pub matched: Option<(IncidentId, String, Vec<NearUnit>)>,
    /// Cameras that see an incident.
    pub linked_cameras: Option<(IncidentId, Vec<CameraId>)>,
    /// A unit's recent track.
    pub track: Option<(UnitId, Track)>,
    /// The ways by road of the units on their way to an incident, as the server gave them
    /// when last asked.
    pub ways: Option<(IncidentId, Vec<UnitWay>)>,
    /// When the ways were last asked for, of which incident and units.
    ways_asked: Option<(IncidentId, Vec<UnitId>, Instant)>,
    /// The outcome of the latest report sent: its ticket, and the incident the server
    /// made or the refusal in words.
    pub reported: Option<(u64, Result<IncidentId, String>)>,
    /// Held reports that could not be sent any more (the link stayed down, or the console
    /// did, past the resend window): the intake form takes each up in turn, filled in, to
    /// be sent again (oldest first; only added to).
    pub retake: Vec<Report>,
    asked: HashMap<String, Asked>,
    last_selection: (Option<IncidentId>, Option<UnitId>),
    /// When the selected incident's nearest units were last asked for.
    nearest_asked: Option<Instant>,
    /// Alarms this desk acknowledged, to be recorded on the server for every desk, and
    /// when that was last asked for (`acknowledge`).
    acknowledging: std::collections::BTreeMap<IncidentId, Option<Instant>>,
    /// An incident selected before it was held (asked for by number): the map flies to it
    /// when it comes.
    fly_when_held: Option<IncidentId>,
}

/// Notices kept.
const NOTICES: usize = 12;

impl Desk {
    /// The way by road of `unit` to `incident` as the server last gave it: `[lon, lat]`
    /// points from where the unit was then.
    pub fn way_of(&self, incident: IncidentId, unit: UnitId) -> Option<&[(f64, f64)]> {
        let ways = &self.ways.as_ref().filter(|(i, _)| *i == incident)?.1;
        ways.iter().find(|w| w.unit == unit).map(|w| w.points.as_slice())
    }
}

/// How long the ways of the units on their way to the selected incident stand before they
/// are asked for again: a unit may leave its way (a jam, a turn missed), and is drawn
/// straight once it is [`enroute::OFF_WAY_M`] off it. 20 s.
#[derive(Debug, Clone, Copy, Resource)]
pub struct WaysFresh(pub Duration);

impl Default for WaysFresh {
    fn default() -> Self {
        WaysFresh(Duration::from_secs(20))
    }
}

/// How long the units offered to send stand before they are asked for again, while the
/// incident stays selected and can be sent units: others are sent elsewhere meanwhile, by
/// this desk or another, and others come free. 30 s (tests shorten it).
#[derive(Debug, Clone, Copy, Resource)]
pub struct NearestFresh(pub Duration);

impl Default for NearestFresh {
    fn default() -> Self {
        NearestFresh(Duration::from_secs(30))
    }
}

impl Desk {
    fn notice(&mut self, text: String, error: bool, incident: Option<IncidentId>) {
        if error {
            warn!("{text}");
        } else {
            info!("{text}");
        }
        self.notices.push_front(Notice { text, error, incident, at: Instant::now() });
        self.notices.truncate(NOTICES);
    }

    /// Whether a command on `incident` awaits its acknowledgement.
    pub fn pending_on(&self, incident: IncidentId) -> Option<&Pending> {
        self.pending.iter().find(|p| p.incident == Some(incident))
    }

    /// Whether this desk's acknowledgement of `incident`'s alarm was sent to the server
    /// and is not yet seen recorded.
    pub fn is_acknowledging(&self, incident: IncidentId) -> bool {
        self.acknowledging.get(&incident).is_some_and(Option::is_some)
    }

    /// Whether a command for `unit` awaits its acknowledgement.
    pub fn pending_for_unit(&self, unit: UnitId) -> Option<&Pending> {
        self.pending.iter().find(|p| p.unit == Some(unit))
    }

    /// The reports held for a link that is down, and where each was taken (WGS-84).
    pub fn held_reports(&self) -> impl Iterator<Item = (&Pending, [f64; 2])> + '_ {
        self.pending.iter().filter(|p| p.held).filter_map(|p| {
            let r = p.content.as_ref()?;
            let at = onegrid_protocol::coord::to_wgs84(r.location, r.datum);
            Some((p, [at.x(), at.y()]))
        })
    }

    /// The report with `ticket`, if it awaits its acknowledgement.
    pub fn report_pending(&self, ticket: u64) -> Option<&Pending> {
        self.pending.iter().find(|p| p.ticket == Some(ticket))
    }

    /// A command that came to nothing: said in words, and a report's outcome kept.
    fn failed(&mut self, p: Pending, why: String) {
        let text = format!("{}：{why}", p.what);
        if let Some(t) = p.ticket {
            self.reported = Some((t, Err(text.clone())));
        }
        self.notice(text, true, p.incident);
    }
}

/// Why the server refused, in the words a duty officer uses.
pub fn refusal_words(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::Forbidden => "无此操作权限",
        ErrorCode::OutOfScope => "超出本级管辖范围",
        ErrorCode::IllegalTransition => "事件当前状态不允许此操作",
        ErrorCode::NotFound => "事件、单位或类别不存在",
        ErrorCode::Invalid => "不符合办理规则",
        ErrorCode::OutsideCity => "位置不在本市网格内",
        ErrorCode::Overloaded => "服务器繁忙，请稍后重试",
        ErrorCode::Internal => "服务器内部错误，未做任何更改",
        ErrorCode::NotAuthenticated | ErrorCode::BadToken => "未登录或令牌无效",
        ErrorCode::UnsupportedVersion => "协议版本不符",
        ErrorCode::BadFrame | ErrorCode::UnknownType | ErrorCode::FrameTooLarge => "请求格式有误",
    }
}

/// The Chinese name of an action, as buttons and notices say it.
pub fn action_name(a: Action) -> &'static str {
    match a {
        Action::Accept => "受理",
        Action::Dispatch => "派遣",
        Action::Start => "开始处置",
        Action::Feedback => "反馈",
        Action::Verify => "核查",
        Action::Close => "结案",
        Action::Return => "退回",
        Action::Reopen => "重启",
        Action::Escalate => "吹哨上报",
    }
}

/// The command for an intent, if it is one.
pub fn command_of(intent: &Intent, unit_name: impl Fn(&UnitId) -> String) -> Option<(Command, IncidentId, String)> {
    match intent {
        Intent::Act { incident, action, note } => {
            let act = Act { incident: *incident, note: note.clone(), unit: None };
            let cmd = match action {
                Action::Accept => Command::Accept(act),
                Action::Start => Command::Start(act),
                Action::Feedback => Command::Feedback(act),
                Action::Verify => Command::Verify(act),
                Action::Close => Command::Close(act),
                Action::Return => Command::Return(act),
                Action::Reopen => Command::Reopen(act),
                Action::Escalate => Command::Escalate(act),
                Action::Dispatch => return None,
            };
            Some((cmd, *incident, format!("{} #{incident}", action_name(*action))))
        }
        Intent::Arrived { incident, unit } => {
            let act = Act { incident: *incident, note: String::new(), unit: Some(*unit) };
            Some((Command::Start(act), *incident, format!("到场 #{incident} → {}", unit_name(unit))))
        }
        Intent::Dispatch { incident, units } => {
            let what = format!("派遣 #{incident} → {}", units.iter().map(unit_name).collect::<Vec<_>>().join("、"));
            Some((
                Command::Dispatch(Dispatch { incident: *incident, units: units.clone(), note: String::new() }),
                *incident,
                what,
            ))
        }
        _ => None,
    }
}

/// "登记 占道经营": a report in words, by its category's name.
fn report_words(r: &Report, map: &CityMapRes) -> String {
    let name = map.model.as_ref().map_or(r.category.as_str(), |m| m.category_name(&r.category));
    format!("登记 {name}")
}

/// Keeps the desk.
pub struct DeskPlugin;

impl Plugin for DeskPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Desk>()
            .init_resource::<FocusSpan>()
            .init_resource::<NearestFresh>()
            .init_resource::<WaysFresh>()
            .add_message::<Intent>()
            .add_message::<Undelivered>()
            .add_message::<CommandFate>()
            .add_message::<Restored>()
            .add_message::<NetNotice>()
            .add_message::<crate::live::FetchedIncident>()
            .init_resource::<CloseGuard>()
            // Registered by bevy's window plugin too; a headless desk has none.
            .add_message::<bevy::window::WindowCloseRequested>()
            .init_resource::<enroute::Samples>()
            .add_systems(Update, (execute_intents, ask_on_selection, ask_ways, take_answers, expire_pending).chain())
            // After the live picture is applied, with its new entities: a snapshot's alarms
            // are read off them in the frame it came.
            .add_systems(Update, acknowledge_alarms.after(expire_pending).after(crate::live::apply_server))
            .add_systems(Update, enroute::watch_en_route)
            .add_systems(Last, guard_close.before(bevy::window::ExitSystems));
    }
}

fn send(net: &mut Option<ResMut<NetLink>>, make: impl FnOnce(String) -> ClientMsg) -> Option<String> {
    let net = net.as_mut()?;
    let req = net.next_req();
    net.send(make(req.clone())).then_some(req)
}

#[allow(clippy::too_many_arguments)]
fn execute_intents(
    mut intents: MessageReader<Intent>,
    mut net: Option<ResMut<NetLink>>,
    mut desk: ResMut<Desk>,
    mut selection: ResMut<Selection>,
    mut view: ResMut<MapView>,
    map: Res<CityMapRes>,
    index: Res<LiveIndex>,
    incidents: Query<&IncidentC>,
    units: Query<(&UnitC, &UnitPos)>,
    span: Res<FocusSpan>,
) {
    let proj = map.model.as_ref().map(|m| m.projection);
    let half = span.0 / 2.0;
    let fly_to_point = |view: &mut MapView, lonlat: [f64; 2]| {
        if let Some(p) = proj {
            let c = p.to_local(lonlat[0], lonlat[1]);
            let b = Bounds { min: [c[0] - half, c[1] - half], max: [c[0] + half, c[1] + half] };
            view.fly_to(&b, 0.5);
        }
    };
    // An incident asked for by number, come since: the map flies to it, if still selected.
    if let Some(id) = desk.fly_when_held
        && let Some(i) = index.incidents.get(&id).and_then(|e| incidents.get(*e).ok())
    {
        desk.fly_when_held = None;
        if selection.incident == Some(id) {
            fly_to_point(&mut view, [i.0.location.x(), i.0.location.y()]);
        }
    }
    for intent in intents.read() {
        match intent {
            Intent::SelectIncident(id) => {
                selection.incident = Some(*id);
                desk.fly_when_held = None;
                if let Some(i) = index.incidents.get(id).and_then(|e| incidents.get(*e).ok()) {
                    fly_to_point(&mut view, [i.0.location.x(), i.0.location.y()]);
                } else if let Some(req) = send(&mut net, |req| ClientMsg::Query { req, q: Ask::Incident { id: *id } }) {
                    // Not in the live picture (closed more than a day ago): asked for by number.
                    desk.asked.insert(req, Asked::Incident(*id));
                    desk.fly_when_held = Some(*id);
                }
            }
            Intent::SelectUnit(id) => {
                selection.unit = Some(*id);
                if let Some(ll) = index.units.get(id).and_then(|e| units.get(*e).ok()).and_then(|(_, p)| p.lonlat) {
                    fly_to_point(&mut view, ll);
                }
            }
            Intent::ClearSelection => *selection = Selection::default(),
            Intent::FlyTo(b, min) => view.fly_to(b, *min),
            Intent::RefreshNearest(id) => desk.last_selection.0 = desk.last_selection.0.filter(|s| s != id),
            Intent::Act { .. } | Intent::Dispatch { .. } | Intent::Arrived { .. } => {
                // Units by name, as the panel listed them.
                let name = |u: &UnitId| {
                    let named = index.units.get(u).and_then(|e| units.get(*e).ok());
                    named.map_or_else(|| u.to_string(), |(c, _)| c.0.name.clone())
                };
                let Some((cmd, incident, what)) = command_of(intent, name) else { continue };
                // More units to a matter already sent to are 增派, in the pending line and
                // its notice.
                let more = matches!(intent, Intent::Dispatch { .. })
                    && index
                        .incidents
                        .get(&incident)
                        .and_then(|e| incidents.get(*e).ok())
                        .is_some_and(|i| i.0.state.keeps_clock(Action::Dispatch));
                let what = if more { what.replacen("派遣", "增派", 1) } else { what };
                let p = Pending { incident: Some(incident), ..Pending::new(what) };
                sent_or_failed(&mut net, &mut desk, cmd, p);
            }
            // The alarms' own system takes these (`acknowledge`).
            Intent::ReportAt { .. } | Intent::AcknowledgeAlarm(_) => {}
            Intent::SetUnitStatus { unit, status } => {
                let who = index.units.get(unit).and_then(|e| units.get(*e).ok()).map(|(c, _)| c.0.name.clone());
                let what =
                    format!("{} 设为{}", who.unwrap_or_else(|| unit.to_string()), crate::style::status_name(*status));
                let p = Pending { unit: Some(*unit), ..Pending::new(what) };
                sent_or_failed(&mut net, &mut desk, Command::SetStatus { unit: *unit, status: *status }, p);
            }
            Intent::Report { report, ticket } => {
                let what = report_words(report, &map);
                let p = Pending {
                    ticket: Some(*ticket),
                    report: true,
                    content: Some(report.clone()),
                    ..Pending::new(what)
                };
                sent_or_failed(&mut net, &mut desk, Command::Report(report.clone()), p);
            }
        }
    }
}

/// Sends `cmd` under a fresh idempotency key and keeps it pending, or says it could not
/// be sent. A report may wait for a link that is down (a caller's matter is not to be
/// typed in twice); a step may not (it was decided on what the desk showed then).
fn sent_or_failed(net: &mut Option<ResMut<NetLink>>, desk: &mut Desk, cmd: Command, mut p: Pending) {
    let Some(link) = net.as_mut() else {
        desk.failed(p, "未连接服务器，未发送".to_owned());
        return;
    };
    let (req, key) = (link.next_req(), link.next_key());
    let may_wait = matches!(cmd, Command::Report(_));
    let msg = ClientMsg::Command { req: req.clone(), cmd, key: Some(key) };
    match link.command(msg, &p.what, may_wait).then_some(req) {
        Some(req) => {
            p.req = req;
            desk.pending.push(p);
        }
        None => desk.failed(p, "未连接服务器，未发送".to_owned()),
    }
}

fn ask_on_selection(
    mut net: Option<ResMut<NetLink>>,
    mut desk: ResMut<Desk>,
    selection: Res<Selection>,
    index: Res<LiveIndex>,
    incidents: Query<&IncidentC>,
    map: Res<CityMapRes>,
    fresh: Res<NearestFresh>,
) {
    let now = (selection.incident, selection.unit);
    let incident = now.0.and_then(|id| index.incidents.get(&id)).and_then(|e| incidents.get(*e).ok());
    // The units to send, asked for again while they stand offered.
    let stale = desk.nearest_asked.is_some_and(|t| t.elapsed() >= fresh.0)
        && incident.is_some_and(|i| i.0.state.allowed().contains(&Action::Dispatch));
    if now == desk.last_selection && !stale {
        return;
    }
    if let Some(i) = incident
        && (now.0 != desk.last_selection.0 || stale)
    {
        let (id, location) = (i.0.id, i.0.location);
        desk.nearest_asked = Some(Instant::now());
        if let Some(req) =
            send(&mut net, |req| ClientMsg::Query { req, q: Ask::Nearest { location, k: 8, skill: None } })
        {
            desk.asked.insert(req, Asked::Nearest(id));
        }
        let skill = map.model.as_ref().and_then(|m| m.categories.get(&i.0.category)).and_then(|c| c.skills.first());
        if let Some(skill) = skill.cloned()
            && let Some(req) = send(&mut net, |req| ClientMsg::Query {
                req,
                q: Ask::Nearest { location, k: 4, skill: Some(skill.clone()) },
            })
        {
            desk.asked.insert(req, Asked::Matched(id, skill));
        }
        if now.0 != desk.last_selection.0
            && let Some(req) = send(&mut net, |req| ClientMsg::Query { req, q: Ask::Cameras { location } })
        {
            desk.asked.insert(req, Asked::Cameras(id));
        }
    }
    if now.1 != desk.last_selection.1
        && let Some(unit) = now.1
        && let Some(req) = send(&mut net, |req| ClientMsg::Query { req, q: Ask::Track { unit } })
    {
        desk.asked.insert(req, Asked::Track(unit));
    }
    desk.last_selection = now;
}

/// Asks for the ways by road of the units on their way to the selected incident (from a
/// server that answers them): when it is selected, when the units on their way to it
/// change, when one of them has left its way, and every [`WaysFresh`] while it stays
/// selected.
#[allow(clippy::too_many_arguments)]
fn ask_ways(
    mut net: Option<ResMut<NetLink>>,
    mut desk: ResMut<Desk>,
    selection: Res<Selection>,
    index: Res<LiveIndex>,
    incidents: Query<&IncidentC>,
    units: Query<(&UnitC, &UnitPos)>,
    feed: Res<crate::live::Feed>,
    fresh: Res<WaysFresh>,
) {
    let incident = selection.incident.and_then(|id| index.incidents.get(&id)).and_then(|e| incidents.get(*e).ok());
    let Some(i) = incident.filter(|_| feed.ways).map(|i| &i.0) else {
        desk.ways_asked = None;
        return;
    };
    let going: Vec<(UnitId, [f64; 2])> = i
        .units
        .iter()
        .filter_map(|u| {
            let (c, p) = units.get(*index.units.get(u)?).ok()?;
            (c.0.task == Some(i.id) && p.status == UnitStatus::EnRoute).then_some((*u, p.lonlat?))
        })
        .take(onegrid_protocol::validate::MAX_NEAREST)
        .collect();
    if going.is_empty() {
        return;
    }
    let ids: Vec<UnitId> = going.iter().map(|(u, _)| *u).collect();
    let left_its_way =
        going.iter().any(|(u, at)| desk.way_of(i.id, *u).is_some_and(|w| enroute::way_ahead(w, *at).is_none()));
    let stands = desk.ways_asked.as_ref().is_some_and(|(a, us, t)| {
        let age = t.elapsed();
        *a == i.id && *us == ids && age < fresh.0 && !(left_its_way && age >= fresh.0 / 4)
    });
    if stands {
        return;
    }
    let (id, location) = (i.id, i.location);
    desk.ways_asked = Some((id, ids.clone(), Instant::now()));
    if let Some(req) = send(&mut net, |req| ClientMsg::Query { req, q: Ask::Ways { location, units: ids } }) {
        desk.asked.insert(req, Asked::Ways(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_pending_command_says_where_it_stands() {
        let mut p = Pending::new("受理 #4".into());
        assert_eq!(p.waiting_words(true), "⏳ 受理 #4：等待服务器确认…");
        assert_eq!(p.waiting_words(false), "⏳ 受理 #4：连接中断，恢复后自动重发…");
        p.resent = true;
        assert_eq!(p.waiting_words(true), "⏳ 受理 #4：已重发，等待服务器确认…");
        let held = Pending { held: true, ..Pending::new("登记 0201".into()) };
        assert_eq!(held.waiting_words(false), "⏳ 登记 0201：未连接，已暂存本机，恢复连接后自动发送…");
        let long = Pending { asked: Instant::now() - Duration::from_secs(37 * 60 + 5), ..held };
        assert_eq!(long.waiting_words(false), "⏳ 登记 0201：未连接，已暂存本机 37 分钟，恢复连接后自动发送…");
    }

    #[test]
    fn held_reports_are_placed_where_they_were_taken() {
        let mut r = crate::testing::hotline_report();
        r.datum = onegrid_protocol::coord::Datum::Gcj02;
        r.location = onegrid_protocol::coord::wgs84_to_gcj02(geo_types::Point::new(118.1, 24.47));
        let report =
            |held: bool| Pending { held, report: true, content: Some(r.clone()), ..Pending::new("登记".into()) };
        let desk =
            Desk { pending: vec![report(true), report(false), Pending::new("受理 #4".into())], ..Default::default() };
        let places: Vec<[f64; 2]> = desk.held_reports().map(|(_, at)| at).collect();
        assert_eq!(places.len(), 1, "held ones only: a sent one is the server's to place");
        assert!((places[0][0] - 118.1).abs() < 1e-5 && (places[0][1] - 24.47).abs() < 1e-5, "WGS-84: {places:?}");
    }

    #[test]
    fn intents_become_the_matching_commands() {
        let (cmd, id, what) = command_of(
            &Intent::Act { incident: 4, action: Action::Escalate, note: "街道无法解决".into() },
            |u| u.to_string(),
        )
        .expect("a command");
        assert_eq!(id, 4);
        assert!(matches!(cmd, Command::Escalate(Act { incident: 4, ref note, unit: None }) if note == "街道无法解决"));
        assert!(what.contains("吹哨"));
        let (cmd, _, what) =
            command_of(&Intent::Dispatch { incident: 4, units: vec![7, 8] }, |u| format!("单位{u}")).expect("dispatch");
        assert_eq!(what, "派遣 #4 → 单位7、单位8");
        assert!(matches!(cmd, Command::Dispatch(Dispatch { ref units, .. }) if units == &vec![7, 8]));
        let (cmd, _, what) =
            command_of(&Intent::Arrived { incident: 4, unit: 8 }, |u| format!("单位{u}")).expect("an arrival");
        assert_eq!(what, "到场 #4 → 单位8");
        assert_eq!(cmd, Command::Start(Act { incident: 4, note: String::new(), unit: Some(8) }));
        assert!(command_of(&Intent::SelectIncident(4), |u| u.to_string()).is_none());
    }
}
