//! Finding places: the hierarchy tree (city → district → street → community → cell) and
//! search by name, code, incident number or worker name. Both fly the map to what is chosen.

use bevy_egui::egui::{self, RichText, Ui};
use onegrid_protocol::{Incident, Level, Unit};

use crate::desk::Intent;
use crate::map::MapModel;
use crate::ui::queue::level_name;
use crate::view::Bounds;

/// Closest zoom a fly-to an area goes, metres per point.
const AREA_MIN_ZOOM: f64 = 0.6;

fn fly(b: &Bounds) -> Intent {
    Intent::FlyTo(*b, AREA_MIN_ZOOM)
}

/// The hierarchy tree.
pub fn tree_panel(ui: &mut Ui, model: &MapModel) -> Option<Intent> {
    let mut out = None;
    egui::ScrollArea::vertical().id_salt("tree").auto_shrink([false, false]).show(ui, |ui| {
        ui.label(RichText::new(&model.name).strong());
        for i in model.roots() {
            tree_node(ui, model, i, &mut out);
        }
    });
    out
}

fn tree_node(ui: &mut Ui, model: &MapModel, i: usize, out: &mut Option<Intent>) {
    let a = &model.areas[i];
    let id = ui.make_persistent_id(("tree", &a.code));
    let open_default = matches!(a.level, Level::City | Level::District);
    egui::collapsing_header::CollapsingState::load_with_default_open(ui.ctx(), id, open_default)
        .show_header(ui, |ui| {
            if ui.link(format!("{} {}", a.name, level_name(a.level))).clicked() {
                *out = Some(fly(&a.bounds));
            }
        })
        .body(|ui| {
            let mut kids: Vec<usize> = model.children_of(&a.code).to_vec();
            kids.sort_by(|x, y| model.areas[*x].code.cmp(&model.areas[*y].code));
            for k in kids {
                tree_node(ui, model, k, out);
            }
            if a.level == Level::Community {
                for &c in model.community_cells(&a.code) {
                    let cell = &model.cells[c];
                    if ui.link(RichText::new(format!("网格 {}", cell.code)).small()).clicked() {
                        *out = Some(fly(&cell.bounds));
                    }
                }
            }
        });
}

/// One search hit.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// What it is, in words.
    pub label: String,
    /// What choosing it does.
    pub intent: Intent,
}

/// Most hits listed.
pub const MAX_HITS: usize = 30;

/// Searches areas (name or code), cells (code), incidents (`#id` or number) and units
/// (name), in that order.
pub fn search<'a>(
    q: &str,
    model: &MapModel,
    incidents: impl Iterator<Item = &'a Incident>,
    units: impl Iterator<Item = &'a Unit>,
) -> Vec<Hit> {
    let q = q.trim();
    if q.is_empty() {
        return Vec::new();
    }
    let mut hits = Vec::new();
    for a in &model.areas {
        if a.name.contains(q) || a.code.starts_with(q) {
            hits.push(Hit { label: format!("{} {} {}", level_name(a.level), a.name, a.code), intent: fly(&a.bounds) });
        }
    }
    if q.len() >= 4 && q.chars().all(|c| c.is_ascii_digit()) {
        for c in model.cells.iter().filter(|c| c.code.contains(q)).take(10) {
            hits.push(Hit { label: format!("网格 {}", c.code), intent: fly(&c.bounds) });
        }
    }
    let number = q.trim_start_matches('#').parse::<u64>().ok();
    for i in incidents {
        if Some(i.id) == number {
            hits.push(Hit {
                label: format!("事件 #{} {}", i.id, model.category_name(&i.category)),
                intent: Intent::SelectIncident(i.id),
            });
        }
    }
    for u in units {
        if u.name.contains(q) {
            hits.push(Hit {
                label: format!("人员 {} ({})", u.name, u.home.community_name),
                intent: Intent::SelectUnit(u.id),
            });
        }
    }
    hits.truncate(MAX_HITS);
    hits
}

/// The search box and its hits.
pub fn search_panel(ui: &mut Ui, query: &mut String, hits: &[Hit]) -> Option<Intent> {
    let mut out = None;
    ui.add(egui::TextEdit::singleline(query).hint_text("名称、编码、事件号、人员").desired_width(f32::INFINITY));
    for h in hits {
        if ui.link(&h.label).clicked() {
            out = Some(h.intent.clone());
        }
    }
    if !query.trim().is_empty() && hits.is_empty() {
        ui.label(RichText::new("没有找到").weak());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::tests::{incident, unit};
    use crate::map::model::tests::tiny_map;
    use egui_kittest::kittest::Queryable;
    use onegrid_protocol::{IncidentState, UnitStatus};

    #[test]
    fn search_finds_areas_cells_incidents_and_workers() {
        let m = MapModel::new(&tiny_map());
        let inc = [incident(42, IncidentState::Reported)];
        let us = [unit(5, UnitStatus::Available)];
        let labels = |q: &str| search(q, &m, inc.iter(), us.iter()).into_iter().map(|h| h.label).collect::<Vec<_>>();
        assert!(labels("丙社区")[0].contains("丙社区"));
        assert!(labels("999901001002").iter().any(|l| l.contains("丁社区")));
        assert_eq!(labels("#42"), vec!["事件 #42 火灾隐患"]);
        assert!(labels("网格员5")[0].starts_with("人员"));
        assert!(labels("不存在").is_empty());
        let hit = &search("#42", &m, inc.iter(), us.iter())[0];
        assert_eq!(hit.intent, Intent::SelectIncident(42));
    }

    #[test]
    fn choosing_a_tree_node_flies_to_it() {
        let m = MapModel::new(&tiny_map());
        let mut got = None;
        let mut h = egui_kittest::Harness::new_ui(|ui| {
            if let Some(i) = tree_panel(ui, &m) {
                got = Some(i);
            }
        });
        h.get_by_label("乙街道 街道").click();
        h.run();
        drop(h);
        let street = m.area("999901001000").expect("street");
        assert_eq!(got, Some(Intent::FlyTo(street.bounds, AREA_MIN_ZOOM)));
    }
}
