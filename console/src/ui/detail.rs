//! The incident detail panel and the unit panel: where a matter is in every net, who is
//! responsible, its history, and the actions its state allows (the units to send and those
//! sent are `sent`'s); a unit's status, task, contact and track. Plain functions of their
//! views that return the user's intent.

use bevy_egui::egui::{self, Color32, RichText, Ui};
use onegrid_protocol::{
    Action, AlarmCause, ErrorCode, Incident, IncidentState, Level, Millis, NearUnit, Role, Unit, UnitId, UnitStatus,
    UserInfo,
};

use crate::desk::enroute::SentRow;
use crate::desk::{Intent, Notice, Pending, action_name, refusal_words};
use crate::style;
use crate::ui::queue::{format_left, level_name};
use crate::ui::sent;
use crate::view::Bounds;

/// What the detail panel shows.
pub struct IncidentView<'a> {
    /// The incident.
    pub incident: &'a Incident,
    /// Its category's name.
    pub category: &'a str,
    /// The responsible grid worker's name.
    pub worker: Option<&'a str>,
    /// The units sent, in the incident's order, and where each stands (`desk::enroute`).
    pub units: Vec<SentRow>,
    /// How long ago the last dispatch was, server milliseconds.
    pub since_dispatch: Option<Millis>,
    /// The box (local metres) that holds the incident and its units on the way, when
    /// any is: for 显示在途.
    pub fit: Option<Bounds>,
    /// The names of its responsibility and supervision units (the code where unnamed).
    pub nets: [&'a str; 2],
    /// The cameras that see it, by name, when known.
    pub cameras: Option<Vec<&'a str>>,
    /// Server time now.
    pub now: i64,
    /// A command on it awaiting acknowledgement.
    pub pending: Option<&'a Pending>,
    /// Nearest available units, when known.
    pub nearest: Option<&'a [NearUnit]>,
    /// Nearest available units with the skill its category calls for, and the skill.
    pub matched: Option<(&'a str, &'a [NearUnit])>,
    /// Notices about it, newest first.
    pub notices: Vec<&'a Notice>,
    /// Whether commands can be sent now.
    pub connected: bool,
    /// The actions of its state this user may not take, and why (role, scope, level, or
    /// the incident archived).
    pub forbidden: Vec<(Action, &'static str)>,
    /// Closed longer ago than the server keeps incidents in its world: read from its
    /// archive, no longer reopened (see [`is_archived`]).
    pub archived: bool,
    /// The units sent whose arrival this user may record for them, told by radio or
    /// telephone (`UserInfo::may_act_for_unit`: a desk whose scope holds the unit's home).
    pub recordable: Vec<UnitId>,
    /// The names of the units its history names (the number stands for one not known).
    pub names: Vec<(UnitId, &'a str)>,
    /// Whether this user may acknowledge its alarm now, for every desk (connected to a
    /// server that records acknowledgements; `UserInfo::may_acknowledge`).
    pub may_acknowledge: bool,
    /// This desk's acknowledgement of its alarm is on its way to the server.
    pub acknowledging: bool,
}

/// Why no step is taken on an archived incident, in words.
pub const ARCHIVED_WORDS: &str = "已归档，不能重启；问题复发请重新上报";

/// Whether `i` was closed longer ago than the server's `archive_after` (from its welcome)
/// at server time `now`: the server has archived it, or will within its minute, and
/// refuses to reopen it.
pub fn is_archived(i: &Incident, now: Millis, archive_after: Option<Millis>) -> bool {
    archive_after.is_some_and(|age| i.closed_at().is_some_and(|t| now - t >= age))
}

/// The steps of `i`'s state that `u` may not take, each with the reason in words: the
/// protocol's rule (the server decides by it), said as a duty officer would — a matter
/// whistled up past this desk's level is the level above's now.
pub fn forbidden_steps(u: &UserInfo, i: &Incident, archived: bool) -> Vec<(Action, &'static str)> {
    if archived {
        return i.state.allowed().iter().map(|a| (*a, ARCHIVED_WORDS)).collect();
    }
    let why = |a: &Action| {
        let (code, _) = u.may_step(i, *a).err()?;
        let above = code == ErrorCode::Forbidden
            && matches!(u.role, Role::Dispatcher | Role::Commander)
            && u.scope.level < i.level;
        Some((*a, if above { handled_above(i.level) } else { refusal_words(code) }))
    };
    i.state.allowed().iter().filter_map(why).collect()
}

/// Why a desk may not act on a matter handled above its level, in words.
fn handled_above(level: Level) -> &'static str {
    match level {
        Level::Community | Level::Street => "已交街道处置",
        Level::District => "已交区级处置",
        Level::City => "已交市级处置",
    }
}

/// What the user is typing in the detail panel.
#[derive(Debug, Default, Clone)]
pub struct DetailState {
    /// Note or reason for the next action.
    pub note: String,
    /// Units ticked for dispatch.
    pub chosen: Vec<UnitId>,
    /// A unit whose arrival was asked to be recorded while its fix is far from the scene:
    /// the panel asks first (`sent::ARRIVAL_FAR_M`).
    pub confirm_arrival: Option<UnitId>,
}

/// The detail panel.
pub fn incident_panel(ui: &mut Ui, v: &IncidentView<'_>, state: &mut DetailState) -> Option<Intent> {
    let i = v.incident;
    let mut out = None;
    ui.horizontal(|ui| {
        ui.heading(format!("#{} {}", i.id, v.category));
        let c = style::incident_color(i.state, i.overdue);
        ui.label(RichText::new(style::state_name(i.state)).color(c).strong());
        if i.overdue {
            ui.label(RichText::new("超时").color(Color32::from_rgb(255, 90, 90)).strong());
        }
        if v.archived {
            ui.label(RichText::new("已归档").weak());
        }
    });
    ui.label(&i.description);
    egui::Grid::new("detail-grid").num_columns(2).spacing([8.0, 2.0]).show(ui, |ui| {
        let p = &i.placement;
        let mut row = |k: &str, val: String| {
            ui.label(RichText::new(k).weak());
            ui.label(val);
            ui.end_row();
        };
        row("位置", format!("{} {} {}", p.district_name, p.street_name, p.community_name));
        row("网格", p.cell.clone());
        row("责任网格", v.nets[0].to_owned());
        row("监督网格", v.nets[1].to_owned());
        row("网格员", v.worker.map_or("—".into(), str::to_owned));
        row(
            "来源",
            format!(
                "{} · {} 上报（{}前）",
                style::source_name(i.source),
                clock(i.reported_at),
                ago(v.now - i.reported_at)
            ),
        );
        if let Some(t) = i.taken_at {
            // Held by its desk through a long outage: the desk's word on when it was taken.
            row("断网暂存", format!("坐席 {} 受理，{}后上报；时限自上报起算", clock(t), ago(i.reported_at - t)));
        }
        row("责任部门", i.department.clone());
        row("处置层级", level_name(i.level).to_owned());
        row("严重程度", format!("{} / 4 · {}", i.severity, style::scale_name(i.scale)));
        row("时限", format_left(i.deadline.map(|d| d - v.now)));
        let cameras = match &v.cameras {
            None => "查询中…".to_owned(),
            Some(c) if c.is_empty() => "无摄像机覆盖".to_owned(),
            Some(c) => format!("{} 路：{}", c.len(), c.join("、")),
        };
        row("联动摄像机", cameras);
        let sent = match v.since_dispatch {
            _ if v.units.is_empty() => "—".to_owned(),
            Some(ago_ms) => format!("{} 个 · {}前派遣", v.units.len(), ago(ago_ms)),
            None => format!("{} 个", v.units.len()),
        };
        row("已派单位", sent);
        if let Some(asked) = alarm_row(ui, v) {
            out = Some(asked);
        }
    });
    if let Some(asked) = sent::sent_units(ui, v, state) {
        out = Some(asked);
    }
    ui.separator();
    if let Some(p) = v.pending {
        ui.label(RichText::new(p.waiting_words(v.connected)).color(Color32::from_rgb(250, 210, 90)));
    }
    for n in v.notices.iter().take(3) {
        let color = if n.error { Color32::from_rgb(255, 110, 110) } else { Color32::from_rgb(130, 220, 130) };
        ui.label(RichText::new(&n.text).color(color));
    }
    let allowed = i.state.allowed();
    let can = v.connected && v.pending.is_none();
    let forbidden = |a: Action| v.forbidden.iter().find(|(f, _)| *f == a).map(|(_, why)| *why);
    let mine: Vec<Action> = allowed.iter().copied().filter(|a| forbidden(*a).is_none()).collect();
    if !v.connected {
        ui.label(RichText::new("未连接服务器：操作暂不可用").color(Color32::from_rgb(255, 150, 80)));
    }
    if v.archived {
        ui.label(RichText::new(format!("结案已久，只读：{ARCHIVED_WORDS}")).color(Color32::from_rgb(255, 150, 80)));
    } else if let Some(why) = allowed.first().and_then(|a| forbidden(*a)).filter(|_| mine.is_empty()) {
        ui.label(RichText::new(format!("本账号不能处置此事件：{why}")).color(Color32::from_rgb(255, 150, 80)));
    }
    if mine.iter().any(|a| a.needs_reason()) {
        ui.add(egui::TextEdit::singleline(&mut state.note).hint_text("备注 / 退回、吹哨、重启的理由"));
    }
    ui.horizontal_wrapped(|ui| {
        // Dispatch has its own section; an arrival at a matter in hand is recorded for the
        // unit that came, on its row (`sent::sent_units`).
        for a in allowed
            .iter()
            .copied()
            .filter(|a| *a != Action::Dispatch && !(*a == Action::Start && i.state.keeps_clock(*a)))
        {
            let needs = a.needs_reason() && state.note.trim().is_empty();
            let why = forbidden(a).or(needs.then_some("需要填写理由"));
            let b = ui.add_enabled(can && why.is_none(), egui::Button::new(action_name(a)));
            let b = match why {
                Some(why) => b.on_disabled_hover_text(why),
                // A desk's start brings every unit on its way; one unit's, its row's 到场.
                None if a == Action::Start && v.units.len() > 1 => {
                    b.on_hover_text("所有在途单位转为在场处置；单个单位到场请点其所在行的“到场”")
                }
                None => b,
            };
            if b.clicked() {
                out = Some(Intent::Act { incident: i.id, action: a, note: std::mem::take(&mut state.note) });
            }
        }
    });
    if allowed.contains(&Action::Dispatch) {
        ui.separator();
        // More units to a matter already sent to (增派) fold away: most matters need none.
        let more = i.state.keeps_clock(Action::Dispatch);
        let mut section = |ui: &mut Ui| {
            if let Some(asked) = sent::dispatch_section(ui, v, state, can, more) {
                out = Some(asked);
            }
        };
        if more {
            egui::CollapsingHeader::new(RichText::new("增派单位").strong())
                .id_salt(("more-units", i.id))
                .default_open(false)
                .show(ui, |ui| section(ui));
        } else {
            ui.label(RichText::new("就近可派单位").strong());
            section(ui);
        }
    }
    ui.separator();
    ui.label(RichText::new("处置记录").strong());
    egui::ScrollArea::vertical().id_salt("history").max_height(180.0).show(ui, |ui| {
        for (k, s) in i.history.iter().enumerate().rev() {
            let note = if s.note.is_empty() { String::new() } else { format!(" — {}", s.note) };
            let before = k.checked_sub(1).map(|j| i.history[j].state);
            let what = history_step_name(&s.action, before);
            let units = step_units(&s.units, &v.names);
            let by = crate::desk::acknowledge::who(s);
            // A mark (overdue, an acknowledgement) leaves the state where it was.
            let to = if marks_only(&s.action) { String::new() } else { format!(" → {}", style::state_name(s.state)) };
            ui.label(format!("{} {what}{units}{to}（{by}）{note}", clock(s.at)));
        }
    });
    out
}

/// The alarm standing on the incident, if one does, as a row of the detail grid: what
/// raised it, and who acknowledged it and when, or that nobody has yet (with 确认, for a
/// desk that may).
fn alarm_row(ui: &mut Ui, v: &IncidentView<'_>) -> Option<Intent> {
    let i = v.incident;
    let causes = i.alarm_causes();
    if causes.is_empty() {
        return None;
    }
    let what = causes_words(&causes);
    ui.label(RichText::new("告警").weak());
    let mut out = None;
    ui.horizontal(|ui| match i.acknowledgement() {
        Some(s) => {
            let by = crate::desk::acknowledge::who(s);
            ui.label(
                RichText::new(format!("{what} · 已确认：{by} {}", clock(s.at))).color(Color32::from_rgb(130, 220, 130)),
            );
        }
        None => {
            ui.label(RichText::new(format!("{what} · 未确认")).color(Color32::from_rgb(255, 110, 110)).strong());
            if v.acknowledging {
                ui.label(RichText::new("确认中…").weak());
            } else if v.may_acknowledge
                && ui.small_button("确认").on_hover_text("确认已知悉此告警：各坐席的告警随之解除").clicked()
            {
                out = Some(Intent::AcknowledgeAlarm(i.id));
            }
        }
    });
    ui.end_row();
    out
}

/// What raised an alarm, its causes in words: "吹哨、超时".
pub fn causes_words(causes: &[AlarmCause]) -> String {
    causes.iter().map(|c| cause_name(*c)).collect::<Vec<_>>().join("、")
}

/// What raised an alarm, in words.
pub fn cause_name(c: AlarmCause) -> &'static str {
    match c {
        AlarmCause::Serious => "重大新报",
        AlarmCause::Escalated => "吹哨",
        AlarmCause::Overdue => "超时",
    }
}

/// The Chinese name of a recorded step (`report`, an action's wire name, the clock's
/// `overdue` or an `acknowledge`); an unknown one as it came.
pub fn step_name(action: &str) -> &str {
    match action {
        "report" => "上报",
        onegrid_protocol::OVERDUE_STEP => "超时",
        onegrid_protocol::ACKNOWLEDGE_STEP => "确认告警",
        _ => Action::ALL.iter().find(|a| a.name() == action).map_or(action, |a| action_name(*a)),
    }
}

/// Whether a recorded step only marks something (the clock's overdue, an acknowledgement)
/// and leaves the state where it was.
pub fn marks_only(action: &str) -> bool {
    matches!(action, onegrid_protocol::OVERDUE_STEP | onegrid_protocol::ACKNOWLEDGE_STEP)
}

/// A step in the history, in words, from the state it was taken in: a dispatch to a matter
/// already sent to is 增派, a start at a matter already in hand a reinforcement's arrival.
pub fn history_step_name(action: &str, before: Option<IncidentState>) -> &str {
    let kept = |a: Action| before.is_some_and(|b| b.keeps_clock(a));
    match action {
        "dispatch" if kept(Action::Dispatch) => "增派",
        "start" if kept(Action::Start) => "增援到场",
        _ => step_name(action),
    }
}

/// The units a step sent or put on the scene, in words ("：张三、李四"; a unit not known by
/// its number), or nothing for a step that names none.
pub fn step_units(units: &[UnitId], names: &[(UnitId, &str)]) -> String {
    if units.is_empty() {
        return String::new();
    }
    let name = |u: &UnitId| names.iter().find(|(n, _)| n == u).map_or_else(|| u.to_string(), |(_, s)| (*s).to_owned());
    format!("：{}", units.iter().map(name).collect::<Vec<_>>().join("、"))
}

/// How long ago, in minutes, hours or days: "3 分钟", "2 小时 5 分", "1 天 3 小时".
pub fn ago(ms: i64) -> String {
    let mins = ms.max(0) / 60_000;
    match mins {
        0..60 => format!("{mins} 分钟"),
        60..1440 => format!("{} 小时 {} 分", mins / 60, mins % 60),
        _ => format!("{} 天 {} 小时", mins / 1440, mins % 1440 / 60),
    }
}

/// `HH:MM` in China Standard Time.
pub fn clock(ms: i64) -> String {
    let mins = (ms + crate::live::figures::CST_OFFSET_MS).div_euclid(60_000).rem_euclid(24 * 60);
    format!("{:02}:{:02}", mins / 60, mins % 60)
}

/// What the unit panel shows.
pub struct UnitView<'a> {
    /// The unit.
    pub unit: &'a Unit,
    /// Its last position.
    pub lonlat: Option<[f64; 2]>,
    /// Its live status.
    pub status: onegrid_protocol::UnitStatus,
    /// Points in its recent track, when known.
    pub track_points: Option<usize>,
    /// Whether this user may set its duty status, or why not.
    pub may_set_status: Result<(), &'static str>,
    /// A command for it awaiting acknowledgement.
    pub pending: Option<&'a Pending>,
    /// Whether commands can be sent now.
    pub connected: bool,
}

/// The unit panel.
pub fn unit_panel(ui: &mut Ui, v: &UnitView<'_>) -> Option<Intent> {
    let u = v.unit;
    let mut out = None;
    ui.horizontal(|ui| {
        ui.heading(&u.name);
        ui.label(RichText::new(style::status_name(v.status)).color(style::unit_color(v.status)).strong());
    });
    egui::Grid::new("unit-grid").num_columns(2).spacing([8.0, 2.0]).show(ui, |ui| {
        let mut row = |k: &str, val: String| {
            ui.label(RichText::new(k).weak());
            ui.label(val);
            ui.end_row();
        };
        row("类型", style::kind_name(u.kind).to_owned());
        row("电话", u.phone.clone());
        row("所属", format!("{} {}", u.home.street_name, u.home.community_name));
        let skills: Vec<&str> = u.skills.iter().map(|k| style::skill_name(k)).collect();
        row("技能", if skills.is_empty() { "—".into() } else { skills.join("、") });
        row("负责网格", format!("{} 个", u.cells.len()));
        row("位置", v.lonlat.map_or("未知".into(), |p| format!("{:.5}, {:.5}", p[0], p[1])));
        row("轨迹", v.track_points.map_or("查询中…".into(), |n| format!("近 1 小时 {n} 点")));
    });
    if let Some(at) = v.lonlat
        && ui.button("在其位置登记事件").on_hover_text("网格员来电报告：在其当前位置登记").clicked()
    {
        out = Some(Intent::ReportAt { at, source: onegrid_protocol::Source::GridWorker });
    }
    match u.task {
        Some(task) => {
            if ui.button(format!("当前任务 #{task}")).clicked() {
                out = Some(Intent::SelectIncident(task));
            }
        }
        None => {
            ui.label(RichText::new("当前无任务").weak());
            // Duty status is the desk's to set only between tasks; tasks set the rest.
            let to = match v.status {
                UnitStatus::Available => Some((UnitStatus::OffDuty, "设为离岗")),
                UnitStatus::OffDuty => Some((UnitStatus::Available, "恢复空闲")),
                UnitStatus::EnRoute | UnitStatus::OnScene => None,
            };
            if let Some((status, label)) = to {
                let why = v.may_set_status.err().or((!v.connected).then_some("未连接服务器"));
                let b = ui.add_enabled(why.is_none() && v.pending.is_none(), egui::Button::new(label));
                let b = match why {
                    Some(why) => b.on_disabled_hover_text(why),
                    None => b,
                };
                if b.clicked() {
                    out = Some(Intent::SetUnitStatus { unit: u.id, status });
                }
            }
        }
    }
    if let Some(p) = v.pending {
        ui.label(RichText::new(p.waiting_words(v.connected)).color(Color32::from_rgb(250, 210, 90)));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
