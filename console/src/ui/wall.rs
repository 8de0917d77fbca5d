//! The video wall: the big figures, the ticker of new, overdue and escalated matters, and
//! the follow rule that flies the map to a major incident by itself and back to the whole
//! city when things are quiet.

use bevy::prelude::Resource;
use bevy_egui::egui::{Color32, RichText, Ui};
use onegrid_protocol::IncidentId;

use crate::live::{Figures, TickerItem, TickerKind};
use crate::map::MapModel;
use crate::ui::detail::clock;
use crate::ui::status::rate_words;

/// What a wall monitor's map shows. With several monitors the first follows major
/// incidents by itself and the others keep the whole city in view: the close-up beside
/// the overview, as a command centre's wall is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Resource)]
pub enum WallRole {
    /// Flies to major incidents by itself, back to the whole city when quiet.
    #[default]
    Follow,
    /// The whole city, always.
    Overview,
}

impl WallRole {
    /// The role of the wall on `monitor` (none: the first).
    pub fn for_monitor(monitor: Option<usize>) -> Self {
        if monitor.unwrap_or(0) == 0 { WallRole::Follow } else { WallRole::Overview }
    }

    /// What the wall says it shows.
    pub fn label(self) -> &'static str {
        match self {
            WallRole::Follow => "跟随重大事件",
            WallRole::Overview => "全市总览",
        }
    }
}

/// The figures, large, and what this monitor's map shows.
pub fn wall_figures(ui: &mut Ui, f: &Figures, scale: f32, role: WallRole) {
    ui.horizontal(|ui| {
        for (k, v, c) in [
            ("在办事件", f.open.to_string(), Color32::WHITE),
            ("超时", f.overdue.to_string(), Color32::from_rgb(255, 100, 100)),
            ("吹哨", f.escalated.to_string(), Color32::from_rgb(255, 120, 210)),
            ("今日结案", f.closed_today.to_string(), Color32::from_rgb(130, 220, 130)),
            ("按时结案率", rate_words(f.on_time_rate), Color32::from_rgb(120, 200, 255)),
        ] {
            ui.vertical(|ui| {
                ui.label(RichText::new(k).size(16.0 * scale).weak());
                ui.label(RichText::new(v).size(34.0 * scale).color(c).strong());
            });
            ui.add_space(28.0 * scale);
        }
        ui.vertical(|ui| {
            ui.label(RichText::new("本屏").size(16.0 * scale).weak());
            ui.label(RichText::new(role.label()).size(22.0 * scale).color(Color32::from_rgb(200, 210, 225)));
        });
    });
}

fn kind_color(k: TickerKind) -> Color32 {
    match k {
        TickerKind::New => Color32::from_rgb(255, 170, 60),
        TickerKind::Overdue => Color32::from_rgb(255, 90, 90),
        TickerKind::Escalated => Color32::from_rgb(255, 120, 210),
        TickerKind::Closed => Color32::from_rgb(130, 220, 130),
    }
}

/// The ticker: newest first, one line each.
pub fn ticker(ui: &mut Ui, items: &[&TickerItem], model: Option<&MapModel>, scale: f32, rows: usize) {
    if items.is_empty() {
        ui.label(RichText::new("暂无新事件").weak().size(15.0 * scale));
    }
    for t in items.iter().take(rows) {
        let cat = model.map_or(t.category.as_str(), |m| m.category_name(&t.category));
        ui.horizontal(|ui| {
            ui.label(RichText::new(clock(t.at)).weak().size(15.0 * scale));
            ui.label(RichText::new(t.kind.label()).color(kind_color(t.kind)).strong().size(15.0 * scale));
            ui.label(
                RichText::new(format!("#{} {} {} 级别{}", t.incident, cat, t.place, t.severity)).size(15.0 * scale),
            );
        });
    }
}

/// Seconds the wall stays on one followed incident.
pub const FOLLOW_SECS: f64 = 20.0;
/// Seconds without a major incident before the wall returns to the whole city.
pub const QUIET_SECS: f64 = 60.0;

/// Whether a ticker line is major enough for the wall to follow: escalated, overdue, or
/// new with severity 3 or more.
pub fn is_major(t: &TickerItem) -> bool {
    match t.kind {
        TickerKind::Escalated | TickerKind::Overdue => true,
        TickerKind::New => t.severity >= 3,
        TickerKind::Closed => false,
    }
}

/// What the wall should look at now: the newest major line not yet followed, once the
/// current one has had its time.
pub fn next_focus(ticker: &[&TickerItem], following: Option<(IncidentId, f64)>, now: f64) -> Option<IncidentId> {
    if following.is_some_and(|(_, since)| now - since < FOLLOW_SECS) {
        return None;
    }
    ticker.iter().find(|t| is_major(t) && Some(t.incident) != following.map(|f| f.0)).map(|t| t.incident)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::tests::incident;
    use onegrid_protocol::IncidentState;

    fn item(kind: TickerKind, id: u64, severity: u8) -> TickerItem {
        let mut i = incident(id, IncidentState::Reported);
        i.severity = severity;
        TickerItem::new(kind, &i, 0)
    }

    #[test]
    fn the_wall_follows_major_incidents_one_at_a_time() {
        let a = item(TickerKind::New, 1, 1);
        let b = item(TickerKind::Escalated, 2, 2);
        let c = item(TickerKind::New, 3, 4);
        assert!(!is_major(&a) && is_major(&b) && is_major(&c));
        let newest_first = [&c, &b, &a];
        assert_eq!(next_focus(&newest_first, None, 0.0), Some(3));
        assert_eq!(next_focus(&newest_first, Some((3, 0.0)), 5.0), None, "holds for a while");
        assert_eq!(next_focus(&newest_first, Some((3, 0.0)), FOLLOW_SECS + 1.0), Some(2));
        assert_eq!(next_focus(&[&a], None, 0.0), None);
    }
}
