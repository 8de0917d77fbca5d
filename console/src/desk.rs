//! The duty desk's traffic with the server: what the user asked for ([`Intent`], returned by
//! the panels) becomes protocol commands and queries; each command stays *pending* until
//! the server acknowledges it, and a refusal is kept in words (the reason in Chinese, the
//! server's own words after it). Commands go with an idempotency key: one in flight when
//! the link drops stays pending while the link is down and is sent again on reconnecting
//! (see `net::client`), so the operator neither loses it nor doubles it; a report taken
//! while the link is down waits for it. A report registered at the desk is selected once
//! the server has numbered it. Selecting an incident asks for its nearest available units, the
//! nearest with the skill its category calls for (对口: a fire hazard wants a fire team, not
//! the nearest patrol), and the cameras that see it; selecting a unit asks for its recent
//! track.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use onegrid_protocol::{
    Act, Action, CameraId, ClientMsg, Command, Dispatch, ErrorCode, IncidentId, Millis, NearUnit, Query as Ask,
    QueryResult, Report, ServerMsg, UnitId, UnitStatus,
};

use crate::live::{IncidentC, LiveIndex, Selection, UnitC, UnitPos};
use crate::map::CityMapRes;
use crate::net::{CommandFate, Fate, Link, LinkState, NetLink, NetNotice, Restored, ServerEvent, Undelivered};
use crate::view::{Bounds, MapView};

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

/// A command sent and not yet answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// Request id.
    pub req: String,
    /// The incident it acts on.
    pub incident: Option<IncidentId>,
    /// The ticket of a report (of the intake form that sent it in this run).
    pub ticket: Option<u64>,
    /// A report: its answer names the incident the server made.
    pub report: bool,
    /// A held report a former run left: what it says, to be written again should it be
    /// given up (this run's own reports stay in their form until answered).
    pub content: Option<Report>,
    /// The unit it acts for.
    pub unit: Option<UnitId>,
    /// What, in words.
    pub what: String,
    /// When it was sent (last sent again).
    pub sent: Instant,
    /// Sent again after a reconnect.
    pub resent: bool,
    /// Held by the network thread while the link is down, to be sent when it is back.
    pub held: bool,
}

impl Pending {
    /// A command about to be sent, described by `what`.
    fn new(what: String) -> Self {
        Pending {
            req: String::new(),
            incident: None,
            ticket: None,
            report: false,
            content: None,
            unit: None,
            what,
            sent: Instant::now(),
            resent: false,
            held: false,
        }
    }

    /// Where it stands, for the panels.
    pub fn waiting_words(&self, connected: bool) -> String {
        match (connected, self.held, self.resent) {
            (_, true, _) => format!("⏳ {}：未连接，恢复连接后自动发送…", self.what),
            (false, false, _) => format!("⏳ {}：连接中断，恢复后自动重发…", self.what),
            (true, false, true) => format!("⏳ {}：已重发，等待服务器确认…", self.what),
            (true, false, false) => format!("⏳ {}：等待服务器确认…", self.what),
        }
    }
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
    /// The outcome of the latest report sent: its ticket, and the incident the server
    /// made or the refusal in words.
    pub reported: Option<(u64, Result<IncidentId, String>)>,
    /// Held reports a former run left that could not be sent any more: the intake form
    /// takes each up in turn, filled in, to be sent again (oldest first; only added to).
    pub retake: Vec<Report>,
    asked: HashMap<String, Asked>,
    last_selection: (Option<IncidentId>, Option<UnitId>),
}

/// Notices kept.
const NOTICES: usize = 12;

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

    /// Whether a command for `unit` awaits its acknowledgement.
    pub fn pending_for_unit(&self, unit: UnitId) -> Option<&Pending> {
        self.pending.iter().find(|p| p.unit == Some(unit))
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
            let act = Act { incident: *incident, note: note.clone() };
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
            .add_message::<Intent>()
            .add_message::<Undelivered>()
            .add_message::<CommandFate>()
            .add_message::<Restored>()
            .add_message::<NetNotice>()
            .init_resource::<CloseGuard>()
            // Registered by bevy's window plugin too; a headless desk has none.
            .add_message::<bevy::window::WindowCloseRequested>()
            .add_systems(Update, (execute_intents, ask_on_selection, take_answers, expire_pending).chain())
            .add_systems(Last, guard_close.before(bevy::window::ExitSystems));
    }
}

/// Closing the console while commands await the server asks first (those held for a link
/// that is down would be lost): the window the user asked to close, and their answer.
#[derive(Debug, Default, Resource)]
pub struct CloseGuard {
    /// The window whose closing waits for the user's answer.
    pub asked: Option<Entity>,
    /// The answer: close anyway (`true`) or keep the console open.
    pub decision: Option<bool>,
}

/// Closes a window when asked, as bevy does (marked now, despawned the next frame), unless
/// commands await the server: then the panels ask first ([`CloseGuard`]). Should they all
/// be answered meanwhile, the window closes without waiting for the answer. The console
/// turns bevy's own closing off (`WindowPlugin::close_when_requested`).
fn guard_close(
    mut commands: Commands,
    mut requests: MessageReader<bevy::window::WindowCloseRequested>,
    closing: Query<Entity, With<bevy::window::ClosingWindow>>,
    desk: Res<Desk>,
    mut guard: ResMut<CloseGuard>,
) {
    for window in &closing {
        commands.entity(window).despawn();
    }
    for r in requests.read() {
        if desk.pending.is_empty() {
            commands.entity(r.window).try_insert(bevy::window::ClosingWindow);
        } else {
            guard.asked = Some(r.window);
        }
    }
    let Some(window) = guard.asked else { return };
    match guard.decision.take() {
        Some(true) => {}
        Some(false) => {
            guard.asked = None;
            return;
        }
        None if desk.pending.is_empty() => {}
        None => return,
    }
    guard.asked = None;
    commands.entity(window).try_insert(bevy::window::ClosingWindow);
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
    for intent in intents.read() {
        let proj = map.model.as_ref().map(|m| m.projection);
        let half = span.0 / 2.0;
        let fly_to_point = |view: &mut MapView, lonlat: [f64; 2]| {
            if let Some(p) = proj {
                let c = p.to_local(lonlat[0], lonlat[1]);
                let b = Bounds { min: [c[0] - half, c[1] - half], max: [c[0] + half, c[1] + half] };
                view.fly_to(&b, 0.5);
            }
        };
        match intent {
            Intent::SelectIncident(id) => {
                selection.incident = Some(*id);
                if let Some(i) = index.incidents.get(id).and_then(|e| incidents.get(*e).ok()) {
                    fly_to_point(&mut view, [i.0.location.x(), i.0.location.y()]);
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
            Intent::Act { .. } | Intent::Dispatch { .. } => {
                // Units by name, as the panel listed them.
                let name = |u: &UnitId| {
                    let named = index.units.get(u).and_then(|e| units.get(*e).ok());
                    named.map_or_else(|| u.to_string(), |(c, _)| c.0.name.clone())
                };
                let Some((cmd, incident, what)) = command_of(intent, name) else { continue };
                let p = Pending { incident: Some(incident), ..Pending::new(what) };
                sent_or_failed(&mut net, &mut desk, cmd, p);
            }
            Intent::ReportAt { .. } => {}
            Intent::SetUnitStatus { unit, status } => {
                let who = index.units.get(unit).and_then(|e| units.get(*e).ok()).map(|(c, _)| c.0.name.clone());
                let what =
                    format!("{} 设为{}", who.unwrap_or_else(|| unit.to_string()), crate::style::status_name(*status));
                let p = Pending { unit: Some(*unit), ..Pending::new(what) };
                sent_or_failed(&mut net, &mut desk, Command::SetStatus { unit: *unit, status: *status }, p);
            }
            Intent::Report { report, ticket } => {
                let what = report_words(report, &map);
                let p = Pending { ticket: Some(*ticket), report: true, ..Pending::new(what) };
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
) {
    let now = (selection.incident, selection.unit);
    if now == desk.last_selection {
        return;
    }
    if now.0 != desk.last_selection.0
        && let Some(i) = now.0.and_then(|id| index.incidents.get(&id)).and_then(|e| incidents.get(*e).ok())
    {
        let (id, location) = (i.0.id, i.0.location);
        if let Some(req) =
            send(&mut net, |req| ClientMsg::Query { req, q: Ask::Nearest { location, k: 8, skill: None } })
        {
            desk.asked.insert(req, Asked::Nearest(id));
        }
        if let Some(req) = send(&mut net, |req| ClientMsg::Query { req, q: Ask::Cameras { location } }) {
            desk.asked.insert(req, Asked::Cameras(id));
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
    }
    if now.1 != desk.last_selection.1
        && let Some(unit) = now.1
        && let Some(req) = send(&mut net, |req| ClientMsg::Query { req, q: Ask::Track { unit } })
    {
        desk.asked.insert(req, Asked::Track(unit));
    }
    desk.last_selection = now;
}

#[allow(clippy::too_many_arguments)]
fn take_answers(
    mut events: MessageReader<ServerEvent>,
    mut lost: MessageReader<Undelivered>,
    mut fates: MessageReader<CommandFate>,
    mut restored: MessageReader<Restored>,
    mut said: MessageReader<NetNotice>,
    mut desk: ResMut<Desk>,
    mut intents: MessageWriter<Intent>,
) {
    for NetNotice { text, error } in said.read() {
        desk.notice(text.clone(), *error, None);
    }
    // Before their fates: a command a former run left is pending again first.
    for r in restored.read() {
        desk.pending.push(restored_pending(r));
    }
    // Before the answers: a command is resent before its answer can come (the network
    // thread hands both over in that order, and both may arrive in one frame).
    for CommandFate { req, fate } in fates.read() {
        let Some(i) = desk.pending.iter().position(|p| &p.req == req) else { continue };
        match fate {
            Fate::Held => desk.pending[i].held = true,
            Fate::Sent => {
                let p = &mut desk.pending[i];
                p.held = false;
                p.sent = Instant::now();
            }
            Fate::Resent => {
                let p = &mut desk.pending[i];
                p.resent = true;
                p.sent = Instant::now();
            }
            Fate::Unconfirmed => {
                let p = desk.pending.remove(i);
                desk.failed(
                    p,
                    "连接中断，未获确认，也未重发（断线过久、服务器不支持重发或已更换），是否已办理不明，请核对事件状态"
                        .into(),
                );
            }
        }
    }
    for ServerEvent(msg) in events.read() {
        match msg {
            ServerMsg::Ack { req, incident, repeated, .. } => {
                if let Some(i) = desk.pending.iter().position(|p| &p.req == req) {
                    let p = desk.pending.remove(i);
                    // A repeat: the first sending had been applied; its ack was lost with the link.
                    let how = if *repeated { "已确认（断线前已办理）" } else { "已确认" };
                    match (p.report, *incident) {
                        (true, Some(id)) => {
                            if let Some(t) = p.ticket {
                                desk.reported = Some((t, Ok(id)));
                            }
                            desk.notice(format!("{}：{how}，事件 #{id}", p.what), false, Some(id));
                            intents.write(Intent::SelectIncident(id));
                        }
                        _ => desk.notice(format!("{}：{how}", p.what), false, p.incident),
                    }
                }
            }
            ServerMsg::Error { req: Some(req), code, message } => {
                if let Some(i) = desk.pending.iter().position(|p| &p.req == req) {
                    let p = desk.pending.remove(i);
                    desk.failed(p, format!("被拒绝 — {}（{message}）", refusal_words(*code)));
                } else if desk.asked.remove(req).is_some() {
                    desk.notice(format!("查询失败：{message}"), true, None);
                }
            }
            ServerMsg::Error { req: None, message, .. } => desk.notice(format!("服务器：{message}"), true, None),
            ServerMsg::Result { req, result } => match (desk.asked.remove(req), result) {
                (Some(Asked::Nearest(id)), QueryResult::Nearest { units }) => desk.nearest = Some((id, units.clone())),
                (Some(Asked::Matched(id, skill)), QueryResult::Nearest { units }) => {
                    desk.matched = Some((id, skill, units.clone()));
                }
                (Some(Asked::Cameras(id)), QueryResult::Cameras { cameras }) => {
                    desk.linked_cameras = Some((id, cameras.clone()));
                }
                (Some(Asked::Track(u)), QueryResult::Track { points, .. }) => desk.track = Some((u, points.clone())),
                _ => {}
            },
            _ => {}
        }
    }
    for Undelivered(req) in lost.read() {
        if let Some(i) = desk.pending.iter().position(|p| &p.req == req) {
            let mut p = desk.pending.remove(i);
            // A held report given up: the link stayed down past the resend window. This
            // run's stays in its form; a former run's is put back into one.
            let minutes = crate::net::client::RESEND_WITHIN.as_secs() / 60;
            let why = match (p.held, p.content.take()) {
                (true, Some(report)) => {
                    desk.retake.push(report);
                    format!("连接中断超过 {minutes} 分钟，未发送；内容已恢复到登记表，请核对后重新提交")
                }
                (true, None) => format!("连接中断超过 {minutes} 分钟，未发送，请重新提交"),
                (false, _) => "连接中断，未发送".to_owned(),
            };
            desk.failed(p, why);
        }
        desk.asked.remove(req);
    }
}

/// A command a former run of the console left unanswered, pending again: what it acts on
/// is read off the command; its words say where it comes from.
fn restored_pending(r: &Restored) -> Pending {
    let mut p = Pending::new(format!("{}（上次运行时）", r.what));
    p.req = r.req.clone();
    p.held = !r.written;
    p.resent = r.written;
    match &r.cmd {
        Command::Accept(a)
        | Command::Start(a)
        | Command::Feedback(a)
        | Command::Verify(a)
        | Command::Close(a)
        | Command::Return(a)
        | Command::Reopen(a)
        | Command::Escalate(a) => p.incident = Some(a.incident),
        Command::Dispatch(d) => p.incident = Some(d.incident),
        Command::SetStatus { unit, .. } => p.unit = Some(*unit),
        Command::Report(r) => {
            p.report = true;
            p.content = p.held.then(|| r.clone());
        }
        Command::Position(_) => {}
    }
    p
}

/// A command unanswered this long while connected is reported as unconfirmed. While the
/// link is down the clock does not run: the network thread holds the command and sends
/// it again on reconnecting (then the clock starts over).
const PENDING_TIMEOUT: Duration = Duration::from_secs(15);

fn expire_pending(mut desk: ResMut<Desk>, link: Option<Res<Link>>) {
    if link.is_some_and(|l| l.state != LinkState::Connected) {
        let now = Instant::now();
        for p in &mut desk.pending {
            p.sent = now;
        }
        return;
    }
    let expired: Vec<Pending> = desk.pending.iter().filter(|p| p.sent.elapsed() > PENDING_TIMEOUT).cloned().collect();
    for p in expired {
        desk.pending.retain(|q| q.req != p.req);
        desk.failed(p, format!("{} 秒未获确认，请核对事件状态", PENDING_TIMEOUT.as_secs()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_former_run_left_is_pending_again_and_its_outcome_said() {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins).init_resource::<Desk>();
        app.add_message::<ServerEvent>()
            .add_message::<Undelivered>()
            .add_message::<CommandFate>()
            .add_message::<Restored>()
            .add_message::<NetNotice>()
            .add_message::<Intent>()
            .add_systems(Update, take_answers);
        let report = crate::testing::hotline_report();
        let restored = |req: &str, cmd: Command, written: bool| Restored {
            req: req.into(),
            what: format!("登记 {req}"),
            cmd,
            written,
        };
        app.world_mut().write_message(restored("o1", Command::Report(report.clone()), false));
        app.world_mut().write_message(restored("o2", Command::Report(report), true));
        app.world_mut().write_message(restored("o3", Command::Accept(Act { incident: 9, note: String::new() }), true));
        app.world_mut()
            .write_message(NetNotice { text: "上次运行遗留的未发送操作无法读取".into(), error: true });
        app.update();
        let desk = app.world().resource::<Desk>();
        let shown: Vec<_> = desk.pending.iter().map(|p| (p.what.as_str(), p.held, p.report, p.incident)).collect();
        assert_eq!(
            shown,
            [
                ("登记 o1（上次运行时）", true, true, None),
                ("登记 o2（上次运行时）", false, true, None),
                ("登记 o3（上次运行时）", false, false, Some(9)),
            ]
        );
        assert!(desk.notices[0].error && desk.notices[0].text.contains("无法读取"));

        // The held one was too old to send; the sent one is answered with its incident.
        app.world_mut().write_message(Undelivered("o1".into()));
        app.world_mut().write_message(ServerEvent(ServerMsg::Ack {
            req: "o2".into(),
            seq: Some(3),
            incident: Some(5),
            repeated: true,
        }));
        app.update();
        let desk = app.world().resource::<Desk>();
        let texts: Vec<&str> = desk.notices.iter().take(2).map(|n| n.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "登记 o1（上次运行时）：连接中断超过 2 分钟，未发送；内容已恢复到登记表，请核对后重新提交",
                "登记 o2（上次运行时）：已确认（断线前已办理），事件 #5"
            ]
        );
        assert_eq!(desk.pending.len(), 1);
        assert!(desk.reported.is_none(), "no form of this run sent it");
        assert_eq!(desk.retake.len(), 1, "the report given up is to be written again");
        assert_eq!(desk.retake[0].category, "0201");
    }

    #[test]
    fn closing_with_commands_unanswered_asks_first() {
        // The guard alone, over the desk's state.
        let mut app = App::new();
        app.add_plugins(MinimalPlugins).init_resource::<Desk>().init_resource::<CloseGuard>();
        app.add_message::<bevy::window::WindowCloseRequested>().add_systems(Last, guard_close);
        let ask_close = |app: &mut App, window: Entity| {
            app.world_mut().write_message(bevy::window::WindowCloseRequested { window });
            app.update();
            app.update();
        };
        let exists = |app: &App, w: Entity| app.world().get_entity(w).is_ok();
        // Nothing pending: it closes.
        let w = app.world_mut().spawn(Window::default()).id();
        ask_close(&mut app, w);
        assert!(!exists(&app, w), "closed without asking");

        // A command awaits the server: it asks, and stays open until told.
        let w = app.world_mut().spawn(Window::default()).id();
        app.world_mut().resource_mut::<Desk>().pending.push(Pending::new("登记 0201".into()));
        ask_close(&mut app, w);
        assert!(exists(&app, w));
        assert_eq!(app.world().resource::<CloseGuard>().asked, Some(w));
        app.world_mut().resource_mut::<CloseGuard>().decision = Some(false);
        app.update();
        assert_eq!(app.world().resource::<CloseGuard>().asked, None, "kept open");
        assert!(exists(&app, w));
        ask_close(&mut app, w);
        app.world_mut().resource_mut::<CloseGuard>().decision = Some(true);
        app.update();
        app.update();
        assert!(!exists(&app, w), "closed anyway, as told");

        // Asked, and the last answer comes meanwhile: it closes by itself.
        let w = app.world_mut().spawn(Window::default()).id();
        ask_close(&mut app, w);
        assert!(exists(&app, w));
        app.world_mut().resource_mut::<Desk>().pending.clear();
        app.update();
        app.update();
        assert!(!exists(&app, w));
    }

    #[test]
    fn a_pending_command_says_where_it_stands() {
        let mut p = Pending::new("受理 #4".into());
        assert_eq!(p.waiting_words(true), "⏳ 受理 #4：等待服务器确认…");
        assert_eq!(p.waiting_words(false), "⏳ 受理 #4：连接中断，恢复后自动重发…");
        p.resent = true;
        assert_eq!(p.waiting_words(true), "⏳ 受理 #4：已重发，等待服务器确认…");
        let held = Pending { held: true, ..Pending::new("登记 0201".into()) };
        assert_eq!(held.waiting_words(false), "⏳ 登记 0201：未连接，恢复连接后自动发送…");
    }

    #[test]
    fn intents_become_the_matching_commands() {
        let (cmd, id, what) = command_of(
            &Intent::Act { incident: 4, action: Action::Escalate, note: "街道无法解决".into() },
            |u| u.to_string(),
        )
        .expect("a command");
        assert_eq!(id, 4);
        assert!(matches!(cmd, Command::Escalate(Act { incident: 4, ref note }) if note == "街道无法解决"));
        assert!(what.contains("吹哨"));
        let (cmd, _, what) =
            command_of(&Intent::Dispatch { incident: 4, units: vec![7, 8] }, |u| format!("单位{u}")).expect("dispatch");
        assert_eq!(what, "派遣 #4 → 单位7、单位8");
        assert!(matches!(cmd, Command::Dispatch(Dispatch { ref units, .. }) if units == &vec![7, 8]));
        assert!(command_of(&Intent::SelectIncident(4), |u| u.to_string()).is_none());
    }
}
