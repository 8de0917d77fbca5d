//! Layers and legend: the switches for the static and live layers, and what each colour and
//! symbol means, with the synthetic layers named as such.

use bevy_egui::egui::{self, Color32, RichText, Sense, Ui, vec2};
use onegrid_protocol::{IncidentState, UnitStatus};

use crate::layers::symbols::{Glyph, draw_glyph};
use crate::map::LayerToggles;
use crate::style;

/// The layer switches.
pub fn layers_panel(ui: &mut Ui, t: &mut LayerToggles) {
    ui.label(RichText::new("图层").strong());
    ui.checkbox(&mut t.cells, "技术网格（万米单元格）");
    ui.checkbox(&mut t.responsibility, "责任网格");
    ui.checkbox(&mut t.supervision, "监督网格");
    ui.checkbox(&mut t.tint, "网格事件着色");
    ui.checkbox(&mut t.incidents, "事件");
    ui.checkbox(&mut t.personnel, "人员");
    ui.checkbox(&mut t.cameras, "摄像机");
    ui.checkbox(&mut t.labels, "地名");
}

fn swatch(ui: &mut Ui, color: Color32, text: &str) {
    ui.horizontal(|ui| {
        let (r, _) = ui.allocate_exact_size(vec2(14.0, 14.0), Sense::hover());
        ui.painter().rect_filled(r, 2.0, color);
        ui.label(text);
    });
}

/// A map layer's name in Chinese (the map names them in English); unknown ones as given.
pub fn layer_name(s: &str) -> &str {
    match s {
        "street outlines" => "街道边界",
        "community outlines" => "社区边界",
        "responsibility units" => "责任网格",
        "supervision units" => "监督网格",
        "roads" => "道路",
        "personnel" => "人员",
        "cameras" => "摄像机",
        other => other,
    }
}

/// The legend; `synthetic` names the generated layers.
pub fn legend(ui: &mut Ui, synthetic: &[String], attribution: &[String]) {
    ui.label(RichText::new("图例").strong());
    ui.label(RichText::new("事件状态").weak());
    for s in [
        IncidentState::Reported,
        IncidentState::Accepted,
        IncidentState::Dispatched,
        IncidentState::Feedback,
        IncidentState::Escalated,
    ] {
        swatch(ui, style::incident_color(s, false), style::state_name(s));
    }
    swatch(ui, style::incident_color(IncidentState::Reported, true), "超时（红色脉冲光环）");
    ui.label(RichText::new("事件类别").weak());
    for (g, name) in Glyph::LEGEND {
        ui.horizontal(|ui| {
            let (r, _) = ui.allocate_exact_size(vec2(14.0, 14.0), Sense::hover());
            draw_glyph(ui.painter(), g, r.center(), 5.0, Color32::LIGHT_GRAY);
            ui.label(name);
        });
    }
    ui.label(RichText::new("人员（圆：网格员，方：队伍）").weak());
    for s in [UnitStatus::Available, UnitStatus::EnRoute, UnitStatus::OnScene, UnitStatus::OffDuty] {
        swatch(ui, style::unit_color(s), style::status_name(s));
    }
    ui.label(RichText::new("网格与边界").weak());
    swatch(ui, style::CELL_OPEN, "有在办事件的网格");
    swatch(ui, style::CELL_OVERDUE, "有超时事件的网格");
    swatch(ui, style::DISTRICT_LINE, "区界");
    swatch(ui, style::STREET_LINE, "街道界");
    swatch(ui, style::RESPONSIBILITY_LINE, "责任网格");
    swatch(ui, style::SUPERVISION_LINE, "监督网格");
    swatch(ui, style::CAMERA, "摄像机及视场");
    swatch(ui, style::CAMERA_LINKED, "联动摄像机");
    if !synthetic.is_empty() {
        let names: Vec<&str> = synthetic.iter().map(|s| layer_name(s)).collect();
        ui.label(
            RichText::new(format!("模拟数据（非真实）：{}", names.join("、"))).color(Color32::from_rgb(250, 190, 90)),
        );
    }
    egui::CollapsingHeader::new(RichText::new("数据来源").weak()).show(ui, |ui| {
        for a in attribution {
            ui.label(RichText::new(a).small());
        }
    });
}
