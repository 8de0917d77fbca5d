//! The detail and unit panels' tests: plain functions of their views, clicked in egui's test harness.

use super::*;
use crate::desk::enroute::Leg;
use crate::live::tests::{incident, unit};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use onegrid_protocol::{IncidentState, UnitStatus};

/// A unit offered `m` metres away in a straight line, by a server that measured no road.
pub(crate) fn near(unit: UnitId, name: &str, m: f64) -> NearUnit {
    NearUnit { unit, name: name.into(), distance_m: m, road_m: None, eta_s: None }
}

/// A detail view of `i` with nothing asked for yet but the nearest units.
pub(crate) fn view<'a>(i: &'a Incident, nearest: Option<&'a [NearUnit]>, connected: bool) -> IncidentView<'a> {
    IncidentView {
        incident: i,
        category: "火灾隐患",
        worker: Some("张三"),
        units: vec![],
        since_dispatch: None,
        fit: None,
        nets: ["R1", "S1"],
        cameras: None,
        now: 0,
        pending: None,
        nearest,
        matched: None,
        notices: vec![],
        connected,
        forbidden: vec![],
        archived: false,
        recordable: vec![],
        names: vec![],
        may_acknowledge: connected,
        acknowledging: false,
    }
}

/// What the panel of `v` asks for when `click` is clicked.
fn run(v: IncidentView<'_>, state: &mut DetailState, click: &str) -> Option<Intent> {
    let mut got = None;
    let mut h = Harness::new_ui(|ui| {
        if let Some(i) = incident_panel(ui, &v, state) {
            got = Some(i);
        }
    });
    h.get_by_label(click).click();
    h.run();
    drop(h);
    got
}

#[test]
fn a_reported_incident_offers_accept_and_returns_it() {
    let i = incident(3, IncidentState::Reported);
    let got = run(view(&i, None, true), &mut DetailState::default(), "受理");
    assert_eq!(got, Some(Intent::Act { incident: 3, action: Action::Accept, note: String::new() }));
}

#[test]
fn dispatch_sends_the_ticked_nearest_units() {
    let i = incident(3, IncidentState::Accepted);
    let near = vec![near(11, "李四", 120.0)];
    let mut state = DetailState { chosen: vec![11], ..Default::default() };
    let got = run(view(&i, Some(&near), true), &mut state, "派遣 1 个单位");
    assert_eq!(got, Some(Intent::Dispatch { incident: 3, units: vec![11] }));
}

#[test]
fn units_with_the_skill_the_matter_calls_for_come_first_and_once() {
    let i = incident(3, IncidentState::Accepted);
    // 李四 is 120 m away in a straight line, 1.2 km by road; no road leads from the
    // fire team's post (across the water).
    let li = NearUnit { road_m: Some(1_200.0), eta_s: Some(400.0), ..near(11, "李四", 120.0) };
    let near = vec![li, near(30, "消防一队", 900.0)];
    let fire = vec![near[1].clone()];
    let v = IncidentView { matched: Some(("fire", &fire)), ..view(&i, Some(&near), true) };
    let mut state = DetailState::default();
    let got = run(v, &mut state, "消防一队  直线 900 米 · 无道路可达  对口·消防");
    assert_eq!(got, None, "ticking is not yet an intent");
    assert_eq!(state.chosen, vec![30]);
    let v = IncidentView { matched: Some(("fire", &fire)), ..view(&i, Some(&near), true) };
    let h = Harness::new_ui(|ui| {
        incident_panel(ui, &v, &mut DetailState::default());
    });
    h.get_by_label("李四  约 7 分钟 · 路程 1.2 公里");
    assert!(h.query_by_label("消防一队  直线 900 米 · 无道路可达").is_none(), "listed once, as matched");
    drop(h);
    let none: Vec<NearUnit> = vec![];
    let v = IncidentView { matched: Some(("fire", &none)), ..view(&i, Some(&near), true) };
    let h = Harness::new_ui(|ui| {
        incident_panel(ui, &v, &mut DetailState::default());
    });
    h.get_by_label("附近没有消防对口的空闲单位");
}

#[test]
fn escalation_needs_a_reason_and_nothing_is_sent_while_disconnected() {
    let i = incident(3, IncidentState::Reported);
    let got = run(view(&i, None, true), &mut DetailState::default(), "吹哨上报");
    assert_eq!(got, None, "disabled without a reason");
    let mut state = DetailState { note: "需区级部门报到".into(), ..Default::default() };
    let got = run(view(&i, None, true), &mut state, "吹哨上报");
    assert_eq!(got, Some(Intent::Act { incident: 3, action: Action::Escalate, note: "需区级部门报到".into() }));
    let got = run(view(&i, None, false), &mut DetailState::default(), "受理");
    assert_eq!(got, None, "disabled while disconnected");
}

#[test]
fn an_incident_closed_longer_ago_than_the_server_keeps_it_is_read_only() {
    const DAY: Millis = 86_400_000;
    let mut i = incident(3, IncidentState::Closed);
    i.history.push(onegrid_protocol::Step {
        action: "close".into(),
        state: IncidentState::Closed,
        by: "u".into(),
        by_name: String::new(),
        at: 10 * DAY,
        origin: "o".into(),
        note: String::new(),
        units: Vec::new(),
    });
    let week = Some(7 * DAY);
    assert!(!is_archived(&i, 17 * DAY - 1, week), "a moment short of a week: kept");
    assert!(is_archived(&i, 17 * DAY, week), "a week: archived");
    assert!(!is_archived(&i, 100 * DAY, None), "a server that does not say: never");
    assert!(!is_archived(&incident(4, IncidentState::Reported), 100 * DAY, week), "open: never");

    let commander = UserInfo {
        id: "c".into(),
        name: "c".into(),
        role: Role::Commander,
        scope: onegrid_protocol::Scope::city(),
        unit: None,
    };
    assert!(forbidden_steps(&commander, &i, false).is_empty(), "kept: the commander may reopen it");
    let forbidden = forbidden_steps(&commander, &i, true);
    assert_eq!(forbidden, [(Action::Reopen, ARCHIVED_WORDS)]);
    let mut state = DetailState { note: "群众反映问题复发".into(), ..Default::default() };
    let kept = run(view(&i, None, true), &mut state, "重启");
    assert!(matches!(kept, Some(Intent::Act { action: Action::Reopen, .. })), "kept: reopened");
    let v = IncidentView { forbidden: forbidden.clone(), archived: true, ..view(&i, None, true) };
    let mut state = DetailState { note: "群众反映问题复发".into(), ..Default::default() };
    assert_eq!(run(v, &mut state, "重启"), None, "archived: not reopened");
    let v = IncidentView { forbidden, archived: true, ..view(&i, None, true) };
    let h = Harness::new_ui(|ui| {
        incident_panel(ui, &v, &mut DetailState::default());
    });
    h.get_by_label("已归档");
    h.get_by_label(&format!("结案已久，只读：{ARCHIVED_WORDS}"));
}

#[test]
fn actions_the_user_may_not_take_are_offered_greyed_with_the_reason() {
    let i = incident(3, IncidentState::Accepted);
    let near = vec![near(11, "李四", 120.0)];
    let mut v = view(&i, Some(&near), true);
    v.forbidden = i.state.allowed().iter().map(|a| (*a, "超出本级管辖范围")).collect();
    let mut state = DetailState { chosen: vec![11], note: "理由".into(), ..Default::default() };
    for click in ["派遣 1 个单位", "吹哨上报"] {
        let got =
            run(IncidentView { forbidden: v.forbidden.clone(), ..view(&i, Some(&near), true) }, &mut state, click);
        assert_eq!(got, None, "{click} is not offered");
    }
    let h = Harness::new_ui(|ui| {
        incident_panel(ui, &v, &mut state);
    });
    h.get_by_label("本账号不能处置此事件：超出本级管辖范围");
    drop(h);
    v.forbidden.clear();
    let got = run(v, &mut state, "派遣 1 个单位");
    assert_eq!(got, Some(Intent::Dispatch { incident: 3, units: vec![11] }), "allowed once the user may");
}

#[test]
fn what_a_desk_may_not_do_is_said_as_its_officer_would() {
    use onegrid_protocol::Scope;
    let user = |role, level, code: &str| UserInfo {
        id: "u".into(),
        name: "u".into(),
        role,
        scope: Scope { level, code: code.into() },
        unit: None,
    };
    let mut i = incident(3, IncidentState::Escalated);
    i.level = Level::District;
    let street = i.placement.street.clone();
    let words = |u: &UserInfo| forbidden_steps(u, &i, false).into_iter().map(|(_, w)| w).collect::<Vec<_>>();
    let street_desk = words(&user(Role::Dispatcher, Level::Street, &street));
    assert!(!street_desk.is_empty() && street_desk.iter().all(|w| *w == "已交区级处置"), "{street_desk:?}");
    let wall = words(&user(Role::Operator, Level::City, ""));
    assert!(!wall.is_empty() && wall.iter().all(|w| *w == "无此操作权限"), "{wall:?}");
    assert!(words(&user(Role::Commander, Level::City, "")).is_empty(), "the city's desk may");
    let elsewhere = words(&user(Role::Dispatcher, Level::District, "350206000000"));
    assert!(!elsewhere.is_empty() && elsewhere.iter().all(|w| *w == "超出本级管辖范围"), "{elsewhere:?}");
}

#[test]
fn the_unit_panel_opens_the_units_task() {
    let mut u = unit(5, UnitStatus::EnRoute);
    u.task = Some(42);
    let v = UnitView {
        unit: &u,
        lonlat: None,
        status: UnitStatus::EnRoute,
        track_points: Some(3),
        may_set_status: Ok(()),
        pending: None,
        connected: true,
    };
    let mut got = None;
    let mut h = Harness::new_ui(|ui| {
        if let Some(i) = unit_panel(ui, &v) {
            got = Some(i);
        }
    });
    h.get_by_label("当前任务 #42").click();
    h.run();
    drop(h);
    assert_eq!(got, Some(Intent::SelectIncident(42)));
    assert_eq!(clock(0), "08:00");
}

#[test]
fn a_free_unit_can_be_set_off_duty_and_back_by_whoever_may() {
    let u = unit(5, UnitStatus::Available);
    let click = |status, may, connected, label: &str| {
        let v = UnitView {
            unit: &u,
            lonlat: None,
            status,
            track_points: None,
            may_set_status: may,
            pending: None,
            connected,
        };
        let mut got = None;
        let mut h = Harness::new_ui(|ui| got = got.clone().or(unit_panel(ui, &v)));
        h.get_by_label(label).click();
        h.run();
        drop(h);
        got
    };
    let off = Some(Intent::SetUnitStatus { unit: 5, status: UnitStatus::OffDuty });
    assert_eq!(click(UnitStatus::Available, Ok(()), true, "设为离岗"), off);
    let back = Some(Intent::SetUnitStatus { unit: 5, status: UnitStatus::Available });
    assert_eq!(click(UnitStatus::OffDuty, Ok(()), true, "恢复空闲"), back);
    assert_eq!(click(UnitStatus::Available, Err("无此操作权限"), true, "设为离岗"), None, "not this user's unit");
    assert_eq!(click(UnitStatus::Available, Ok(()), false, "设为离岗"), None, "no server");
    let mut u = unit(6, UnitStatus::Available);
    u.skills = vec!["patrol".into(), "mediation".into(), "drone".into()];
    let v = UnitView {
        unit: &u,
        lonlat: None,
        status: UnitStatus::Available,
        track_points: None,
        may_set_status: Ok(()),
        pending: None,
        connected: true,
    };
    let h = Harness::new_ui(|ui| {
        unit_panel(ui, &v);
    });
    h.get_by_label("巡查、调解、drone");
    drop(h);
    let v = UnitView { lonlat: Some([118.1, 24.47]), ..v };
    let mut got = None;
    let mut h = Harness::new_ui(|ui| got = got.clone().or(unit_panel(ui, &v)));
    h.get_by_label("在其位置登记事件").click();
    h.run();
    drop(h);
    let at = Intent::ReportAt { at: [118.1, 24.47], source: onegrid_protocol::Source::GridWorker };
    assert_eq!(got, Some(at));
}

#[test]
fn the_history_and_the_units_sent_are_in_words() {
    let mut i = incident(3, IncidentState::Dispatched);
    i.units = vec![11, 12];
    i.history = vec![onegrid_protocol::Step {
        action: "escalate".into(),
        state: IncidentState::Escalated,
        by: "street-duty".into(),
        by_name: String::new(),
        at: 0,
        origin: "127.0.0.1".into(),
        note: "需区级部门报到".into(),
        units: Vec::new(),
    }];
    i.source = onegrid_protocol::Source::Hotline;
    i.reported_at = -(65 * 60_000);
    let mut v = view(&i, None, true);
    let row = |unit, name: &str, leg| SentRow { unit, name: name.into(), status: None, lonlat: None, leg };
    v.units = vec![row(11, "李四", Leg::OnScene), row(12, "12", Leg::Unknown)];
    v.since_dispatch = Some(15 * 60_000);
    v.cameras = Some(vec!["西边社区居委会探头068", "探头069"]);
    let h = Harness::new_ui(|ui| {
        incident_panel(ui, &v, &mut DetailState::default());
    });
    h.get_by_label("2 个 · 15 分钟前派遣");
    h.get_by_label("李四");
    h.get_by_label("在场处置");
    h.get_by_label("不在本账号范围");
    h.get_by_label("12345 热线 · 06:55 上报（1 小时 5 分前）");
    assert!(h.query_by_label_contains("断网暂存").is_none(), "only for a report held long");
    h.get_by_label("2 路：西边社区居委会探头068、探头069");
    h.get_by_label("08:00 吹哨上报 → 已吹哨（street-duty） — 需区级部门报到");
    drop(h);
    assert_eq!((step_name("report"), step_name("dispatch"), step_name("overdue")), ("上报", "派遣", "超时"));
    assert_eq!(step_name("audit"), "audit");
    i.taken_at = Some(i.reported_at - 40 * 60_000);
    let v = view(&i, None, true);
    let h = Harness::new_ui(|ui| {
        incident_panel(ui, &v, &mut DetailState::default());
    });
    h.get_by_label("坐席 06:15 受理，40 分钟后上报；时限自上报起算");
    drop(h);
    assert_eq!((ago(59 * 60_000), ago(25 * 3_600_000)), ("59 分钟".to_owned(), "1 天 1 小时".to_owned()));
}

#[test]
fn an_alarm_is_acknowledged_for_every_desk_and_says_who_did() {
    let mut i = incident(4, IncidentState::Escalated);
    i.overdue = true;
    let step = |action: &str, at, by_name: &str| onegrid_protocol::Step {
        action: action.into(),
        state: IncidentState::Escalated,
        by: "u".into(),
        by_name: by_name.into(),
        at,
        origin: "o".into(),
        note: String::new(),
        units: Vec::new(),
    };
    i.history = vec![step("escalate", 0, "规则引擎"), step(onegrid_protocol::OVERDUE_STEP, 60_000, "规则引擎")];
    let click = |v: IncidentView<'_>| run(v, &mut DetailState::default(), "确认");
    assert_eq!(click(view(&i, None, true)), Some(Intent::AcknowledgeAlarm(4)));
    let panel = |v: &IncidentView<'_>, shown: &[&str], not: &[&str]| {
        let h = Harness::new_ui(|ui| {
            incident_panel(ui, v, &mut DetailState::default());
        });
        for s in shown {
            assert!(h.query_by_label(s).is_some(), "{s}");
        }
        for s in not {
            assert!(h.query_by_label(s).is_none(), "not {s}");
        }
    };
    panel(&view(&i, None, true), &["吹哨、超时 · 未确认", "确认", "08:01 超时（规则引擎）"], &["确认中…"]);
    // Not for this user (a field account), or already on its way to the server.
    panel(&IncidentView { may_acknowledge: false, ..view(&i, None, true) }, &["吹哨、超时 · 未确认"], &["确认"]);
    panel(&IncidentView { acknowledging: true, ..view(&i, None, true) }, &["确认中…"], &["确认"]);
    // Acknowledged at some desk: who and when, in the grid and the history.
    i.history.push(step(onegrid_protocol::ACKNOWLEDGE_STEP, 120_000, "嘉莲街道值班员"));
    panel(
        &view(&i, None, true),
        &["吹哨、超时 · 已确认：嘉莲街道值班员 08:02", "08:02 确认告警（嘉莲街道值班员）"],
        &["确认", "吹哨、超时 · 未确认"],
    );
    // Nothing stands: no row.
    i.state = IncidentState::Accepted;
    i.overdue = false;
    panel(&view(&i, None, true), &[], &["告警"]);
}
