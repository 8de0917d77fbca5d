//! The units of a matter in the detail panel: those to send (派遣 the first time, 增派 to a
//! matter already sent to), soonest there by road first (as the server ranks them) and
//! those with the skill it calls for before the others; and those sent, followed on their
//! way (`desk::enroute`) with the road still ahead of them. Plain functions of the panel's
//! view that return the user's intent.

use bevy_egui::egui::{self, Color32, RichText, Ui};
use onegrid_protocol::{Action, NearUnit, UnitStatus};

use crate::desk::Intent;
use crate::desk::enroute::{Leg, distance_words, minutes_words};
use crate::style;
use crate::ui::detail::{DetailState, IncidentView};

/// The units to send, soonest there by road first (those with the skill the matter calls
/// for before the others), and the button that sends those ticked: 派遣 the first time,
/// 增派 (`more`) to a matter already sent to.
pub fn dispatch_section(
    ui: &mut Ui,
    v: &IncidentView<'_>,
    state: &mut DetailState,
    can: bool,
    more: bool,
) -> Option<Intent> {
    let mut out = None;
    let forbidden = |a: Action| v.forbidden.iter().find(|(f, _)| *f == a).map(|(_, why)| *why);
    // Whether the server measured the way by road: then a unit without a road time is one
    // no road leads from, not one from a server that measures in straight lines.
    let routed =
        v.nearest.into_iter().flatten().chain(v.matched.into_iter().flat_map(|(_, m)| m)).any(|u| u.eta_s.is_some());
    let mut tick = |ui: &mut Ui, u: &NearUnit, tag: &str| {
        let mut on = state.chosen.contains(&u.unit);
        if ui.checkbox(&mut on, format!("{}  {}{tag}", u.name, near_words(u, routed))).changed() {
            if on {
                state.chosen.push(u.unit);
            } else {
                state.chosen.retain(|x| *x != u.unit);
            }
        }
    };
    // A unit already sent to it (by this desk, since the list was asked for) is not offered.
    let free = |u: &&NearUnit| !v.incident.units.contains(&u.unit);
    if let Some((skill, units)) = v.matched {
        let tag = format!("  对口·{}", style::skill_name(skill));
        for u in units.iter().filter(free) {
            tick(ui, u, &tag);
        }
        if units.is_empty() {
            ui.label(RichText::new(format!("附近没有{}对口的空闲单位", style::skill_name(skill))).weak());
        }
    }
    let listed = |u: &&NearUnit| free(u) && v.matched.is_none_or(|(_, m)| m.iter().all(|x| x.unit != u.unit));
    match v.nearest {
        None => {
            ui.label(RichText::new("查询中…").weak());
        }
        Some([]) => {
            ui.label(RichText::new("附近没有空闲单位").weak());
        }
        Some(units) => {
            for u in units.iter().filter(listed) {
                tick(ui, u, "");
            }
        }
    }
    ui.horizontal(|ui| {
        let label = format!("{} {} 个单位", if more { "增派" } else { "派遣" }, state.chosen.len());
        let may = forbidden(Action::Dispatch).is_none();
        let b = ui.add_enabled(can && may && !state.chosen.is_empty(), egui::Button::new(label));
        let b = match forbidden(Action::Dispatch) {
            Some(why) => b.on_disabled_hover_text(why),
            None => b,
        };
        if b.clicked() {
            out = Some(Intent::Dispatch { incident: v.incident.id, units: std::mem::take(&mut state.chosen) });
        }
        if ui.small_button("刷新").clicked() {
            out = Some(Intent::RefreshNearest(v.incident.id));
        }
    });
    out
}

/// How far a unit offered is, in words: the time it needs by road and the road's length
/// (约 4 分钟 · 路程 1.2 公里), or, without a road time, the straight line, and that no road
/// leads from it where the server measured the others by road (`routed`).
pub fn near_words(u: &NearUnit, routed: bool) -> String {
    match (u.eta_s, u.road_m) {
        (Some(eta), Some(road)) => format!("约 {} · 路程 {}", minutes_words(eta), distance_words(road)),
        _ if routed => format!("直线 {} · 无道路可达", distance_words(u.distance_m)),
        _ => format!("直线 {}", distance_words(u.distance_m)),
    }
}

/// Farther than this from the scene by its last fix, metres, a unit's arrival recorded at
/// the desk is asked about first: a slip of the hand on the wrong row, or a unit that
/// named the wrong place.
pub const ARRIVAL_FAR_M: f64 = 300.0;

/// The units sent, one line each: the name (a click selects the unit beside the incident,
/// and the map flies to it), where it stands with the matter (on the way: how far, and
/// when it should be there; on the scene; gone to another task; done), and, for one on
/// the way whose arrival this desk may record, 到场 (it said so by radio or telephone;
/// asked about first when its fix is far from the scene); then 显示在途, which flies the
/// map out to the incident and every unit still on the way.
pub fn sent_units(ui: &mut Ui, v: &IncidentView<'_>, state: &mut DetailState) -> Option<Intent> {
    if v.units.is_empty() {
        return None;
    }
    let mut out = None;
    let i = v.incident;
    let arrivals = i.state.allowed().contains(&Action::Start) && !v.forbidden.iter().any(|(a, _)| *a == Action::Start);
    let can = v.connected && v.pending.is_none();
    egui::Grid::new("sent-grid").num_columns(3).spacing([8.0, 2.0]).show(ui, |ui| {
        for r in &v.units {
            let dot = r.status.map_or(Color32::GRAY, style::unit_color);
            ui.horizontal(|ui| {
                ui.label(RichText::new("●").color(dot));
                let name = ui.link(&r.name).on_hover_text("选中该单位并在地图上显示");
                if name.clicked() && r.leg != Leg::Unknown {
                    out = Some(Intent::SelectUnit(r.unit));
                }
            });
            let words = RichText::new(r.leg.words());
            let words = match r.leg {
                _ if r.leg.stalled() => words.color(Color32::from_rgb(255, 170, 80)),
                Leg::EnRoute { .. } => words.color(style::unit_color(UnitStatus::EnRoute)),
                Leg::OnScene => words.color(style::unit_color(UnitStatus::OnScene)),
                _ => words.weak(),
            };
            let words = ui.label(words);
            if r.leg.stalled() {
                words.on_hover_text("近一分钟未向事发地接近：可电话联系或改派");
            }
            if arrivals && matches!(r.leg, Leg::EnRoute { .. }) && v.recordable.contains(&r.unit) {
                let b = ui.add_enabled(can, egui::Button::new("到场").small());
                let b = b.on_hover_text("单位经电台或电话报告已到场：代为登记，该单位转为在场处置");
                if b.clicked() {
                    match r.leg {
                        Leg::EnRoute { metres: Some(m), .. } if m > ARRIVAL_FAR_M => {
                            state.confirm_arrival = Some(r.unit);
                        }
                        _ => out = Some(Intent::Arrived { incident: i.id, unit: r.unit }),
                    }
                }
            } else {
                ui.label("");
            }
            ui.end_row();
        }
    });
    // An arrival far from the scene by the unit's fix, asked about; gone if the unit has
    // arrived or left the matter meanwhile.
    let far = state.confirm_arrival.and_then(|u| v.units.iter().find(|r| r.unit == u));
    match far.map(|r| (r, r.leg)) {
        Some((r, Leg::EnRoute { metres: Some(m), .. })) if can => {
            let words = format!("{} 定位距事发地 {}，仍登记到场？", r.name, distance_words(m));
            ui.label(RichText::new(words).color(Color32::from_rgb(255, 170, 80)));
            ui.horizontal(|ui| {
                if ui.button("确认到场").clicked() {
                    out = Some(Intent::Arrived { incident: i.id, unit: r.unit });
                    state.confirm_arrival = None;
                }
                if ui.button("取消").clicked() {
                    state.confirm_arrival = None;
                }
            });
        }
        _ => state.confirm_arrival = None,
    }
    if let Some(b) = v.fit
        && ui.button("显示在途").on_hover_text("地图显示事发地和在途单位").clicked()
    {
        out = Some(Intent::FlyTo(b, 0.5));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::enroute::SentRow;
    use crate::live::tests::incident;
    use crate::ui::detail::tests::{near, view};
    use crate::ui::detail::{history_step_name, incident_panel, step_units};
    use crate::view::Bounds;
    use egui_kittest::Harness;
    use egui_kittest::kittest::Queryable;
    use onegrid_protocol::{IncidentState, UnitId};

    /// A unit sent, seen on its way, standing as `leg` says.
    fn row(unit: UnitId, name: &str, leg: Leg) -> SentRow {
        SentRow { unit, name: name.into(), status: Some(UnitStatus::EnRoute), lonlat: Some([118.1, 24.5]), leg }
    }

    #[test]
    fn more_units_are_sent_to_a_matter_already_sent_to_from_a_folded_list() {
        let near = vec![near(12, "王五", 300.0)];
        for state in [IncidentState::Dispatched, IncidentState::InProgress] {
            let i = incident(3, state);
            let v = view(&i, Some(&near), true);
            let mut h = Harness::new_ui(|ui| {
                incident_panel(ui, &v, &mut DetailState::default());
            });
            h.run();
            assert!(h.query_by_label("就近可派单位").is_none(), "{state:?}");
            assert!(h.query_by_label_contains("王五").is_none(), "{state:?}: folded away");
            h.get_by_label("增派单位").click();
            h.run();
            h.get_by_label_contains("王五");
            // On a matter in hand, an arrival is recorded for the unit that came, on its row.
            assert_eq!(h.query_by_label("开始处置").is_some(), state == IncidentState::Dispatched, "{state:?}");
            drop(h);
            let mut chosen = DetailState { chosen: vec![12], ..Default::default() };
            let mut got = None;
            let mut h = Harness::new_ui(|ui| {
                if let Some(a) = incident_panel(ui, &v, &mut chosen) {
                    got = Some(a);
                }
            });
            h.get_by_label("增派单位").click();
            h.run();
            h.get_by_label("增派 1 个单位").click();
            h.run();
            drop(h);
            assert_eq!(got, Some(Intent::Dispatch { incident: 3, units: vec![12] }), "{state:?}");
        }
        // Once sent, a unit is not offered again; the history says 增派 and the arrival.
        let mut i = incident(3, IncidentState::InProgress);
        i.units = vec![12];
        let v = view(&i, Some(&near), true);
        let mut h = Harness::new_ui(|ui| {
            incident_panel(ui, &v, &mut DetailState::default());
        });
        h.get_by_label("增派单位").click();
        h.run();
        assert!(h.query_by_label_contains("王五").is_none(), "already on it");
        drop(h);
        use IncidentState as S;
        assert_eq!(history_step_name("dispatch", Some(S::Accepted)), "派遣");
        assert_eq!(history_step_name("dispatch", Some(S::Dispatched)), "增派");
        assert_eq!(history_step_name("dispatch", Some(S::InProgress)), "增派");
        assert_eq!(history_step_name("start", Some(S::Dispatched)), "开始处置");
        assert_eq!(history_step_name("start", Some(S::InProgress)), "增援到场");
        assert_eq!(history_step_name("report", None), "上报");
    }

    #[test]
    fn the_units_sent_are_followed_and_one_not_coming_nearer_stands_out() {
        use crate::desk::enroute::{Road, Trend};
        let mut i = incident(3, IncidentState::Dispatched);
        i.units = vec![11, 12, 13];
        let fit = Bounds { min: [0.0, 0.0], max: [900.0, 700.0] };
        let units = vec![
            row(
                11,
                "滨海城管执法中队",
                Leg::EnRoute { metres: Some(1_640.0), road: Road::Unmeasured, trend: Trend::Closing { eta_s: 290.0 } },
            ),
            row(12, "林敏", Leg::EnRoute { metres: Some(520.0), road: Road::Unmeasured, trend: Trend::NotClosing }),
            row(13, "外区单位", Leg::Unknown),
        ];
        let panel = |click: &str| {
            let mut v = view(&i, None, true);
            v.units = units.clone();
            v.fit = Some(fit);
            let mut got = None;
            let mut h = Harness::new_ui(|ui| {
                if let Some(a) = incident_panel(ui, &v, &mut DetailState::default()) {
                    got = Some(a);
                }
            });
            h.get_by_label("在途 · 直线 1.6 公里 · 约 5 分钟到达");
            h.get_by_label("在途 · 直线 520 米 · 未在接近");
            if !click.is_empty() {
                h.get_by_label(click).click();
                h.run();
            }
            drop(h);
            got
        };
        assert_eq!(panel(""), None);
        assert_eq!(panel("林敏"), Some(Intent::SelectUnit(12)), "the name selects the unit");
        assert_eq!(panel("外区单位"), None, "one not in the picture cannot be selected");
        assert_eq!(panel("显示在途"), Some(Intent::FlyTo(fit, 0.5)), "the map shows the incident and those on the way");
        // Nobody on the way: no button.
        let mut v = view(&i, None, true);
        v.units = vec![row(11, "滨海城管执法中队", Leg::OnScene)];
        let h = Harness::new_ui(|ui| {
            incident_panel(ui, &v, &mut DetailState::default());
        });
        assert!(h.query_by_label("显示在途").is_none());
    }

    #[test]
    fn the_road_still_ahead_of_a_unit_on_its_way_is_what_its_row_says() {
        use crate::desk::enroute::{Road, Trend};
        let mut i = incident(3, IncidentState::Dispatched);
        i.units = vec![11, 12, 13];
        // 11 and 13 measured by road; 12 not (a server that measures no roads): the
        // straight line; 14 measured, and no road leads from it (across the water).
        i.units.push(14);
        let on_way = |metres, road, trend| Leg::EnRoute { metres: Some(metres), road, trend };
        let units = vec![
            row(11, "滨海城管执法中队", on_way(1_640.0, Road::Ahead(2_300.0), Trend::Closing { eta_s: 290.0 })),
            row(12, "林敏", on_way(520.0, Road::Unmeasured, Trend::NotClosing)),
            row(13, "郭杰", on_way(40.0, Road::Ahead(90.0), Trend::Measuring)),
            row(14, "鼓浪屿网格员", on_way(900.0, Road::Unreachable, Trend::Measuring)),
        ];
        let mut v = view(&i, None, true);
        v.units = units;
        let h = Harness::new_ui(|ui| {
            incident_panel(ui, &v, &mut DetailState::default());
        });
        h.get_by_label("在途 · 路程 2.3 公里 · 约 5 分钟到达");
        h.get_by_label("在途 · 直线 520 米 · 未在接近");
        h.get_by_label("在途 · 即将到达");
        h.get_by_label("在途 · 直线 900 米 · 无道路可达");
    }

    #[test]
    fn an_arrival_told_by_radio_is_recorded_on_the_units_row() {
        use crate::desk::enroute::{Road, Trend};
        let on_the_way =
            Leg::EnRoute { metres: Some(300.0), road: Road::Unmeasured, trend: Trend::Closing { eta_s: 120.0 } };
        let units = vec![row(11, "李四", Leg::OnScene), row(12, "王五", on_the_way), row(13, "外区单位", on_the_way)];
        let click = |state, recordable: Vec<UnitId>, connected, forbidden: Vec<(Action, &'static str)>| {
            let mut i = incident(3, state);
            i.units = vec![11, 12, 13];
            let mut v = view(&i, None, connected);
            (v.units, v.recordable, v.forbidden) = (units.clone(), recordable, forbidden);
            let mut got = None;
            let mut h = Harness::new_ui(|ui| got = got.clone().or(incident_panel(ui, &v, &mut DetailState::default())));
            h.run();
            let buttons = h.query_all_by_label("到场").count();
            if let Some(b) = h.query_by_label("到场") {
                b.click();
                h.run();
            }
            drop(h);
            (buttons, got)
        };
        let arrived = Some(Intent::Arrived { incident: 3, unit: 12 });
        // Only on the row of a unit on the way whose arrival this desk may record.
        assert_eq!(click(IncidentState::InProgress, vec![11, 12], true, vec![]), (1, arrived.clone()));
        assert_eq!(click(IncidentState::Dispatched, vec![12], true, vec![]), (1, arrived), "the first arrival too");
        assert_eq!(click(IncidentState::InProgress, vec![], true, vec![]).0, 0, "units outside this desk's area");
        assert_eq!(click(IncidentState::InProgress, vec![12], false, vec![]), (1, None), "no server: greyed");
        let above = vec![(Action::Start, "已交区级处置")];
        assert_eq!(click(IncidentState::InProgress, vec![12], true, above).0, 0, "a matter handled above");
        assert_eq!(click(IncidentState::Feedback, vec![12], true, vec![]).0, 0, "handled already");
    }

    #[test]
    fn an_arrival_far_from_the_scene_by_the_units_fix_is_asked_about_first() {
        use crate::desk::enroute::{Road, Trend};
        let far = Leg::EnRoute { metres: Some(2_000.0), road: Road::Unmeasured, trend: Trend::NotClosing };
        let mut i = incident(3, IncidentState::InProgress);
        i.units = vec![12];
        let mut v = view(&i, None, true);
        (v.units, v.recordable) = (vec![row(12, "王五", far)], vec![12]);
        let mut state = DetailState::default();
        let clicks = |v: &IncidentView<'_>, state: &mut DetailState, label: &str| {
            let mut got = None;
            let mut h = Harness::new_ui(|ui| got = got.clone().or(incident_panel(ui, v, state)));
            h.run();
            h.get_by_label(label).click();
            h.run();
            let asked = h.query_by_label("王五 定位距事发地 2.0 公里，仍登记到场？").is_some();
            drop(h);
            (got, asked)
        };
        assert_eq!(clicks(&v, &mut state, "到场"), (None, true), "asked first, nothing sent");
        assert_eq!(clicks(&v, &mut state, "取消"), (None, false));
        assert_eq!(state.confirm_arrival, None);
        clicks(&v, &mut state, "到场");
        let sent = clicks(&v, &mut state, "确认到场");
        assert_eq!(sent, (Some(Intent::Arrived { incident: 3, unit: 12 }), false));
        // Arrived meanwhile: the question goes.
        state.confirm_arrival = Some(12);
        v.units = vec![row(12, "王五", Leg::OnScene)];
        let h = Harness::new_ui(|ui| {
            incident_panel(ui, &v, &mut state);
        });
        assert!(h.query_by_label_contains("仍登记到场").is_none());
        drop(h);
        assert_eq!(state.confirm_arrival, None);
    }

    #[test]
    fn the_history_names_whom_each_step_sent_and_brought() {
        assert_eq!(step_units(&[11, 12], &[(11, "李四"), (12, "王五")]), "：李四、王五");
        assert_eq!(step_units(&[12, 99], &[(12, "王五")]), "：王五、99", "one not known by its number");
        assert_eq!(step_units(&[], &[(12, "王五")]), "");
        let mut i = incident(3, IncidentState::InProgress);
        let step = |action: &str, state, at, units: Vec<UnitId>| onegrid_protocol::Step {
            action: action.into(),
            state,
            by: "city-dispatcher".into(),
            by_name: String::new(),
            at,
            origin: "o".into(),
            note: String::new(),
            units,
        };
        i.history = vec![
            step("accept", IncidentState::Accepted, 0, vec![]),
            step("dispatch", IncidentState::Dispatched, 60_000, vec![11]),
            step("start", IncidentState::InProgress, 120_000, vec![11]),
            step("dispatch", IncidentState::InProgress, 180_000, vec![12]),
            step("start", IncidentState::InProgress, 240_000, vec![12]),
        ];
        let mut v = view(&i, None, true);
        v.names = vec![(11, "李四"), (12, "王五")];
        let h = Harness::new_ui(|ui| {
            incident_panel(ui, &v, &mut DetailState::default());
        });
        h.get_by_label("08:01 派遣：李四 → 已派遣（city-dispatcher）");
        h.get_by_label("08:02 开始处置：李四 → 处置中（city-dispatcher）");
        h.get_by_label("08:03 增派：王五 → 处置中（city-dispatcher）");
        h.get_by_label("08:04 增援到场：王五 → 处置中（city-dispatcher）");
        h.get_by_label("08:00 受理 → 已受理（city-dispatcher）");
    }
}
