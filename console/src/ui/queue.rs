//! The incident queue: rows computed from the live incidents (filter by level, street,
//! module and state; sort by time left before the limit, by report time or by severity),
//! and the panel that lists them and returns the user's choice.

use bevy_egui::egui::{self, Color32, RichText, Ui};
use onegrid_protocol::{Incident, IncidentId, IncidentState, Level, Millis};

use crate::desk::Intent;
use crate::map::MapModel;
use crate::style;

/// How the queue is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum SortKey {
    /// Least time left first (overdue at the top).
    #[default]
    TimeLeft,
    /// Newest first.
    Newest,
    /// Most severe first.
    Severity,
}

/// Which incidents the queue shows (kept between runs at the desk, `prefs`).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct QueueFilter {
    /// Only this handling level.
    pub level: Option<Level>,
    /// Only this street (12-digit code).
    pub street: Option<String>,
    /// Only this module (first two digits of the category).
    pub module: Option<String>,
    /// Only this state.
    pub state: Option<IncidentState>,
    /// Closed ones too.
    pub include_closed: bool,
    /// Only overdue ones.
    pub overdue_only: bool,
    /// Sort order.
    pub sort: SortKey,
}

/// One queue row.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRow {
    /// Incident.
    pub id: IncidentId,
    /// Category name.
    pub category: String,
    /// Street and community.
    pub place: String,
    /// State.
    pub state: IncidentState,
    /// Overdue now.
    pub overdue: bool,
    /// Milliseconds left before the current stage's limit (negative when past).
    pub time_left_ms: Option<i64>,
    /// Severity.
    pub severity: u8,
    /// Handling level.
    pub level: Level,
    /// Reported at.
    pub reported_at: Millis,
    /// An alarm on it awaits the officer's acknowledgement (`sound::alarms`).
    pub alarm: bool,
    /// An alarm stands on it that nobody, at any desk, has acknowledged (the wall's board
    /// marks it).
    pub unacknowledged: bool,
    /// A unit on the way to it has not been coming nearer (`desk::enroute`).
    pub stalled: bool,
}

impl QueueFilter {
    /// Whether `i` passes.
    pub fn passes(&self, i: &Incident) -> bool {
        (self.include_closed || i.state.is_open())
            && (!self.overdue_only || i.overdue)
            && self.level.is_none_or(|l| i.level == l)
            && self.street.as_ref().is_none_or(|s| &i.placement.street == s)
            && self.module.as_ref().is_none_or(|m| i.category.starts_with(m.as_str()))
            && self.state.is_none_or(|s| i.state == s)
    }
}

/// The rows for `incidents` at server time `now`, filtered and sorted.
pub fn queue_rows<'a>(
    incidents: impl Iterator<Item = &'a Incident>,
    filter: &QueueFilter,
    now: Millis,
    model: Option<&MapModel>,
) -> Vec<QueueRow> {
    let mut rows: Vec<QueueRow> = incidents
        .filter(|i| filter.passes(i))
        .map(|i| QueueRow {
            id: i.id,
            category: model.map_or(i.category.clone(), |m| m.category_name(&i.category).to_owned()),
            place: format!("{} {}", i.placement.street_name, i.placement.community_name),
            state: i.state,
            overdue: i.overdue,
            time_left_ms: i.deadline.map(|d| d - now),
            severity: i.severity,
            level: i.level,
            reported_at: i.reported_at,
            alarm: false,
            unacknowledged: i.alarm_unacknowledged(),
            stalled: false,
        })
        .collect();
    match filter.sort {
        SortKey::TimeLeft => rows.sort_by_key(|r| (r.time_left_ms.unwrap_or(i64::MAX), r.id)),
        SortKey::Newest => rows.sort_by_key(|r| (std::cmp::Reverse(r.reported_at), std::cmp::Reverse(r.id))),
        SortKey::Severity => rows.sort_by_key(|r| (std::cmp::Reverse(r.severity), r.time_left_ms.unwrap_or(i64::MAX))),
    }
    rows
}

/// "12分", "-3分", "2时05分" for a time left.
pub fn format_left(ms: Option<i64>) -> String {
    let Some(ms) = ms else { return "—".into() };
    let mins = ms.div_euclid(60_000);
    let (sign, m) = if mins < 0 { ("超", -mins) } else { ("", mins) };
    if m >= 60 { format!("{sign}{}时{:02}分", m / 60, m % 60) } else { format!("{sign}{m}分") }
}

/// The Chinese name of a level.
pub fn level_name(l: Level) -> &'static str {
    match l {
        Level::Community => "社区",
        Level::Street => "街道",
        Level::District => "区",
        Level::City => "市",
    }
}

/// Choices for the filters: streets (code, name) and modules (prefix, name).
#[derive(Debug, Clone, Default)]
pub struct FilterChoices {
    /// Streets.
    pub streets: Vec<(String, String)>,
    /// Modules.
    pub modules: Vec<(String, String)>,
}

fn combo<T: Clone + PartialEq>(ui: &mut Ui, id: &str, value: &mut Option<T>, all: &str, choices: &[(T, String)]) {
    let shown = choices.iter().find(|(v, _)| Some(v) == value.as_ref()).map_or(all.to_owned(), |(_, n)| n.clone());
    egui::ComboBox::from_id_salt(id).selected_text(shown).width(110.0).show_ui(ui, |ui| {
        ui.selectable_value(value, None, all);
        for (v, n) in choices {
            ui.selectable_value(value, Some(v.clone()), n.as_str());
        }
    });
}

/// Height of a queue row, points.
const ROW_PT: f32 = 22.0;

/// The incident `step` rows after the `selected` one (before it where `step` is negative)
/// in `rows`, and its row: from no selection, or one the rows do not hold, the first row
/// going down and the last going up. None where there is no step, no row, or no row
/// further that way.
pub fn step_selection(rows: &[QueueRow], selected: Option<IncidentId>, step: i32) -> Option<(IncidentId, usize)> {
    if step == 0 || rows.is_empty() {
        return None;
    }
    let last = rows.len() - 1;
    let at = match selected.and_then(|id| rows.iter().position(|r| r.id == id)) {
        Some(i) => {
            let to = (i as i64 + i64::from(step)).clamp(0, last as i64) as usize;
            (to != i).then_some(to)?
        }
        None if step > 0 => 0,
        None => last,
    };
    Some((rows[at].id, at))
}

/// The queue panel: filters, then the rows; clicking a row selects it.
pub fn queue_panel(
    ui: &mut Ui,
    rows: &[QueueRow],
    filter: &mut QueueFilter,
    choices: &FilterChoices,
    selected: Option<IncidentId>,
) -> Option<Intent> {
    let mut out = None;
    ui.horizontal_wrapped(|ui| {
        let levels: Vec<(Level, String)> = [Level::Community, Level::Street, Level::District, Level::City]
            .iter()
            .map(|l| (*l, level_name(*l).to_owned()))
            .collect();
        combo(ui, "q-level", &mut filter.level, "全部层级", &levels);
        let streets: Vec<(String, String)> = choices.streets.clone();
        combo(ui, "q-street", &mut filter.street, "全部街道", &streets);
        let modules: Vec<(String, String)> = choices.modules.clone();
        combo(ui, "q-module", &mut filter.module, "全部类别", &modules);
        let states: Vec<(IncidentState, String)> = [
            IncidentState::Reported,
            IncidentState::Accepted,
            IncidentState::Dispatched,
            IncidentState::InProgress,
            IncidentState::Feedback,
            IncidentState::Verified,
            IncidentState::Returned,
            IncidentState::Escalated,
            IncidentState::Reopened,
            IncidentState::Closed,
        ]
        .iter()
        .map(|s| (*s, style::state_name(*s).to_owned()))
        .collect();
        combo(ui, "q-state", &mut filter.state, "全部状态", &states);
    });
    ui.horizontal(|ui| {
        ui.checkbox(&mut filter.overdue_only, "仅超时");
        ui.checkbox(&mut filter.include_closed, "含已结案");
        ui.label("排序");
        ui.selectable_value(&mut filter.sort, SortKey::TimeLeft, "剩余时限");
        ui.selectable_value(&mut filter.sort, SortKey::Newest, "最新");
        ui.selectable_value(&mut filter.sort, SortKey::Severity, "严重");
    });
    ui.label(RichText::new(format!("{} 件", rows.len())).weak());
    ui.separator();
    // PageDown and PageUp step through the queue as it is sorted and filtered (the arrows
    // pan the map), scrolling the chosen row into view a few rows below the top.
    let step = if ui.ctx().egui_wants_keyboard_input() {
        0
    } else {
        ui.input(|i| i32::from(i.key_pressed(egui::Key::PageDown)) - i32::from(i.key_pressed(egui::Key::PageUp)))
    };
    let stepped = step_selection(rows, selected, step);
    let mut area = egui::ScrollArea::vertical().id_salt("queue").auto_shrink([false, false]);
    if let Some((id, at)) = stepped {
        out = Some(Intent::SelectIncident(id));
        area = area.vertical_scroll_offset(at.saturating_sub(3) as f32 * (ROW_PT + ui.spacing().item_spacing.y));
    }
    area.show_rows(ui, ROW_PT, rows.len(), |ui, range| {
        for r in &rows[range] {
            let color = style::incident_color(r.state, r.overdue);
            let left = format_left(r.time_left_ms);
            let bell = if r.alarm { "🔔" } else { "" };
            let stalled = if r.stalled { " · 未接近" } else { "" };
            let text = format!(
                "{bell}#{:<5} {}  {}  {}  {left}{stalled}",
                r.id,
                style::state_name(r.state),
                r.category,
                r.place
            );
            let text = RichText::new(text).color(if r.overdue {
                Color32::from_rgb(255, 110, 110)
            } else {
                Color32::LIGHT_GRAY
            });
            ui.horizontal(|ui| {
                let (rect, _) = ui.allocate_exact_size(egui::vec2(8.0, 16.0), egui::Sense::hover());
                ui.painter().rect_filled(rect, 2.0, color);
                let row = ui.selectable_label(selected == Some(r.id), text);
                let row =
                    if r.stalled { row.on_hover_text("派出单位近一分钟未向事发地接近") } else { row };
                if row.clicked() {
                    out = Some(Intent::SelectIncident(r.id));
                }
            });
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::tests::incident;
    use egui_kittest::kittest::Queryable;

    #[test]
    fn rows_sort_by_time_left_with_overdue_first() {
        let mut a = incident(1, IncidentState::Reported);
        a.deadline = Some(10_000);
        let mut b = incident(2, IncidentState::Accepted);
        b.deadline = Some(500);
        b.overdue = true;
        let mut c = incident(3, IncidentState::Closed);
        c.deadline = None;
        let rows = queue_rows([&a, &b, &c].into_iter(), &QueueFilter::default(), 1_000, None);
        assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![2, 1], "closed hidden by default");
        assert_eq!(rows[0].time_left_ms, Some(-500));
        let all = QueueFilter { include_closed: true, sort: SortKey::Newest, ..QueueFilter::default() };
        assert_eq!(queue_rows([&a, &b, &c].into_iter(), &all, 1_000, None).len(), 3);
    }

    #[test]
    fn filters_by_level_street_module_and_state() {
        let mut a = incident(1, IncidentState::Reported);
        a.placement.street = "S1".into();
        a.category = "0101".into();
        let mut b = incident(2, IncidentState::Escalated);
        b.level = Level::District;
        b.placement.street = "S2".into();
        let f = |filter: QueueFilter| {
            queue_rows([&a, &b].into_iter(), &filter, 0, None).iter().map(|r| r.id).collect::<Vec<_>>()
        };
        assert_eq!(f(QueueFilter { level: Some(Level::District), ..Default::default() }), vec![2]);
        assert_eq!(f(QueueFilter { street: Some("S1".into()), ..Default::default() }), vec![1]);
        assert_eq!(f(QueueFilter { module: Some("01".into()), ..Default::default() }), vec![1]);
        assert_eq!(f(QueueFilter { state: Some(IncidentState::Escalated), ..Default::default() }), vec![2]);
    }

    #[test]
    fn time_left_reads_in_minutes_and_hours() {
        assert_eq!(format_left(Some(12 * 60_000 + 5)), "12分");
        assert_eq!(format_left(Some(-3 * 60_000)), "超3分");
        assert_eq!(format_left(Some(125 * 60_000)), "2时05分");
        assert_eq!(format_left(None), "—");
    }

    #[test]
    fn page_keys_step_through_the_queue_in_its_order() {
        let incidents: Vec<_> = [5, 9, 2].into_iter().map(|id| incident(id, IncidentState::Reported)).collect();
        let rows =
            queue_rows(incidents.iter(), &QueueFilter { sort: SortKey::Newest, ..QueueFilter::default() }, 0, None);
        let order: Vec<u64> = rows.iter().map(|r| r.id).collect();
        assert_eq!(order, [9, 5, 2], "newest first (same time: by id, down)");
        assert_eq!(step_selection(&rows, None, 1), Some((9, 0)));
        assert_eq!(step_selection(&rows, None, -1), Some((2, 2)));
        assert_eq!(step_selection(&rows, Some(9), 1), Some((5, 1)));
        assert_eq!(step_selection(&rows, Some(5), -1), Some((9, 0)));
        assert_eq!(step_selection(&rows, Some(2), 1), None, "no row after the last");
        assert_eq!(step_selection(&rows, Some(9), -1), None, "no row before the first");
        assert_eq!(step_selection(&rows, Some(77), 1), Some((9, 0)), "a selection filtered out starts over");
        assert_eq!(step_selection(&rows, Some(9), 0), None);
        assert_eq!(step_selection(&[], None, 1), None);
        // In the panel: PageDown from #9 selects #5.
        let mut filter = QueueFilter::default();
        let mut h = egui_kittest::Harness::new_ui_state(
            |ui, got: &mut Vec<Intent>| {
                got.extend(queue_panel(ui, &rows, &mut filter, &FilterChoices::default(), Some(9)));
            },
            Vec::new(),
        );
        h.run();
        assert!(h.state().is_empty(), "no key, no step");
        h.key_press(egui::Key::PageDown);
        h.run();
        assert_eq!(h.state().as_slice(), [Intent::SelectIncident(5)]);
    }

    #[test]
    fn clicking_a_row_selects_that_incident() {
        let rows = queue_rows([&incident(7, IncidentState::Reported)].into_iter(), &QueueFilter::default(), 0, None);
        let mut filter = QueueFilter::default();
        let mut got = None;
        let mut h = egui_kittest::Harness::new_ui(|ui| {
            if let Some(i) = queue_panel(ui, &rows, &mut filter, &FilterChoices::default(), None) {
                got = Some(i);
            }
        });
        h.get_by_label_contains("#7").click();
        h.run();
        drop(h);
        assert_eq!(got, Some(Intent::SelectIncident(7)));
    }

    #[test]
    fn a_row_with_an_unacknowledged_alarm_rings_its_bell() {
        let incidents = [incident(7, IncidentState::Reported), incident(8, IncidentState::Reported)];
        let mut rows = queue_rows(incidents.iter(), &QueueFilter::default(), 0, None);
        rows.iter_mut().filter(|r| r.id == 8).for_each(|r| r.alarm = true);
        let mut filter = QueueFilter::default();
        let mut h = egui_kittest::Harness::new_ui(|ui| {
            queue_panel(ui, &rows, &mut filter, &FilterChoices::default(), None);
        });
        h.run();
        assert!(h.query_by_label_contains("🔔#8").is_some());
        assert!(h.query_by_label_contains("#7").is_some() && h.query_by_label_contains("🔔#7").is_none());
    }

    #[test]
    fn a_row_whose_unit_is_not_coming_nearer_says_so() {
        let incidents = [incident(7, IncidentState::Dispatched), incident(8, IncidentState::Dispatched)];
        let mut rows = queue_rows(incidents.iter(), &QueueFilter::default(), 0, None);
        rows.iter_mut().filter(|r| r.id == 8).for_each(|r| r.stalled = true);
        let mut filter = QueueFilter::default();
        let mut h = egui_kittest::Harness::new_ui(|ui| {
            queue_panel(ui, &rows, &mut filter, &FilterChoices::default(), None);
        });
        h.run();
        assert!(h.query_by_label_contains("#8     已派遣  0201  鹭江街道 某社区  1分 · 未接近").is_some());
        assert!(h.query_by_label_contains("#7     已派遣  0201  鹭江街道 某社区  1分").is_some());
        assert_eq!(h.query_all_by_label_contains("未接近").count(), 1, "only #8's");
    }
}
