//! The units of a matter in the detail panel: those to send (派遣 the first time, 增派 to a
//! matter already sent to), nearest first and those with the skill it calls for before the
//! others; and those sent, followed on their way (`desk::enroute`). Plain functions of the
//! panel's view that return the user's intent.

use bevy_egui::egui::{self, Color32, RichText, Ui};
use onegrid_protocol::{Action, NearUnit, UnitStatus};

use crate::desk::Intent;
use crate::desk::enroute::Leg;
use crate::style;
use crate::ui::detail::{DetailState, IncidentView};

/// The units to send, nearest first (those with the skill the matter calls for before
/// the others), and the button that sends those ticked: 派遣 the first time, 增派 (`more`)
/// to a matter already sent to.
pub fn dispatch_section(
    ui: &mut Ui,
    v: &IncidentView<'_>,
    state: &mut DetailState,
    can: bool,
    more: bool,
) -> Option<Intent> {
    let mut out = None;
    let forbidden = |a: Action| v.forbidden.iter().find(|(f, _)| *f == a).map(|(_, why)| *why);
    let mut tick = |ui: &mut Ui, u: &NearUnit, tag: &str| {
        let mut on = state.chosen.contains(&u.unit);
        if ui.checkbox(&mut on, format!("{}  {:.0} 米{tag}", u.name, u.distance_m)).changed() {
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

/// The units sent, one line each: the name (a click selects the unit beside the incident,
/// and the map flies to it), where it stands with the matter (on the way: how far, and
/// when it should be there; on the scene; gone to another task; done), and 显示在途, which
/// flies the map out to the incident and every unit still on the way.
pub fn sent_units(ui: &mut Ui, v: &IncidentView<'_>) -> Option<Intent> {
    if v.units.is_empty() {
        return None;
    }
    let mut out = None;
    egui::Grid::new("sent-grid").num_columns(2).spacing([8.0, 2.0]).show(ui, |ui| {
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
            ui.end_row();
        }
    });
    if let Some(b) = v.fit
        && ui.button("显示在途").on_hover_text("地图显示事发地和在途单位").clicked()
    {
        out = Some(Intent::FlyTo(b, 0.5));
    }
    out
}
