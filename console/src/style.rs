//! Colours and sizes in one place: the dark command-centre palette, status colours of
//! incidents and units, what the legend says about them, and the Chinese names of states,
//! channels and scales.

use bevy_egui::egui::{self, Color32};
use onegrid_protocol::{IncidentState, Scale, Source, UnitKind, UnitStatus};

/// Behind the panels: the clear colour, with egui's panel fill made transparent, so that
/// the panels cost no full-area pass of their own (egui's dark panel grey).
pub const PANEL: Color32 = Color32::from_gray(27);
/// The panels' look: egui's dark theme over the [`PANEL`] clear colour.
pub fn visuals() -> egui::Visuals {
    let mut v = egui::Visuals::dark();
    v.panel_fill = Color32::TRANSPARENT;
    v
}

/// An sRGB byte in linear light, as the GPU decodes sRGB textures.
pub fn srgb_to_linear(v: u8) -> f32 {
    let c = f32::from(v) / 255.0;
    if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
}

/// The sea and everything outside the city.
pub const SEA: Color32 = Color32::from_rgb(10, 20, 32);
/// Land inside a district.
pub const LAND: Color32 = Color32::from_rgb(24, 34, 46);
/// District boundaries.
pub const DISTRICT_LINE: Color32 = Color32::from_rgb(120, 200, 255);
/// Street boundaries.
pub const STREET_LINE: Color32 = Color32::from_rgb(90, 150, 200);
/// Community boundaries.
pub const COMMUNITY_LINE: Color32 = Color32::from_rgb(60, 90, 120);
/// Technical cell lines.
pub const CELL_LINE: Color32 = Color32::from_rgba_premultiplied(60, 70, 80, 110);
/// Responsibility units.
pub const RESPONSIBILITY_LINE: Color32 = Color32::from_rgb(230, 170, 60);
/// Supervision units.
pub const SUPERVISION_LINE: Color32 = Color32::from_rgb(190, 110, 230);
/// Roads by class: trunk, secondary, local.
pub const ROADS: [Color32; 3] =
    [Color32::from_rgb(170, 150, 100), Color32::from_rgb(120, 120, 110), Color32::from_rgb(70, 80, 90)];
/// Labels.
pub const LABEL: Color32 = Color32::from_rgb(225, 235, 245);
/// Cell tint for open incidents.
pub const CELL_OPEN: Color32 = Color32::from_rgba_premultiplied(110, 90, 0, 110);
/// Cell tint for overdue incidents.
pub const CELL_OVERDUE: Color32 = Color32::from_rgba_premultiplied(140, 20, 20, 140);
/// Selection highlight.
pub const SELECTED: Color32 = Color32::from_rgb(255, 255, 255);
/// Cameras.
pub const CAMERA: Color32 = Color32::from_rgb(80, 200, 220);
/// Cameras linked to the selected incident.
pub const CAMERA_LINKED: Color32 = Color32::from_rgb(255, 240, 90);

/// Subtle community fills, picked by code so neighbours usually differ.
pub const COMMUNITY_FILLS: [Color32; 6] = [
    Color32::from_rgb(27, 40, 54),
    Color32::from_rgb(31, 44, 52),
    Color32::from_rgb(25, 37, 58),
    Color32::from_rgb(33, 41, 57),
    Color32::from_rgb(29, 46, 50),
    Color32::from_rgb(35, 38, 52),
];

/// A community's fill.
pub fn community_fill(code: &str) -> Color32 {
    let h = code.bytes().fold(2166136261u32, |h, b| (h ^ u32::from(b)).wrapping_mul(16777619));
    COMMUNITY_FILLS[(h % COMMUNITY_FILLS.len() as u32) as usize]
}

/// A road class's colour and width in pixels at base resolution.
pub fn road_style(class: &str) -> (Color32, f32) {
    match class {
        "motorway" | "trunk" | "primary" => (ROADS[0], 2.5),
        "secondary" | "tertiary" => (ROADS[1], 1.8),
        _ => (ROADS[2], 1.0),
    }
}

/// An incident's colour by state (and overdue, which wins).
pub fn incident_color(state: IncidentState, overdue: bool) -> Color32 {
    if overdue {
        return Color32::from_rgb(255, 60, 60);
    }
    match state {
        IncidentState::Reported | IncidentState::Reopened => Color32::from_rgb(255, 150, 40),
        IncidentState::Escalated => Color32::from_rgb(255, 80, 200),
        IncidentState::Accepted | IncidentState::Returned => Color32::from_rgb(250, 220, 60),
        IncidentState::Dispatched | IncidentState::InProgress => Color32::from_rgb(80, 170, 255),
        IncidentState::Feedback | IncidentState::Verified => Color32::from_rgb(120, 220, 120),
        IncidentState::Closed => Color32::from_rgb(130, 130, 130),
    }
}

/// A unit's colour by status.
pub fn unit_color(status: UnitStatus) -> Color32 {
    match status {
        UnitStatus::Available => Color32::from_rgb(70, 220, 120),
        UnitStatus::EnRoute => Color32::from_rgb(80, 170, 255),
        UnitStatus::OnScene => Color32::from_rgb(250, 200, 50),
        UnitStatus::OffDuty => Color32::from_rgb(120, 120, 120),
    }
}

/// The state's name in Chinese, as the desk reads it.
pub fn state_name(state: IncidentState) -> &'static str {
    match state {
        IncidentState::Reported => "待受理",
        IncidentState::Accepted => "已受理",
        IncidentState::Dispatched => "已派遣",
        IncidentState::InProgress => "处置中",
        IncidentState::Feedback => "已反馈",
        IncidentState::Verified => "已核查",
        IncidentState::Closed => "已结案",
        IncidentState::Returned => "已退回",
        IncidentState::Reopened => "已重启",
        IncidentState::Escalated => "已吹哨",
    }
}

/// The kind of unit in Chinese.
pub fn kind_name(kind: UnitKind) -> &'static str {
    match kind {
        UnitKind::GridWorker => "网格员",
        UnitKind::Team => "处置队伍",
    }
}

/// The status's name in Chinese.
pub fn status_name(status: UnitStatus) -> &'static str {
    match status {
        UnitStatus::Available => "空闲",
        UnitStatus::EnRoute => "在途",
        UnitStatus::OnScene => "处置中",
        UnitStatus::OffDuty => "离岗",
    }
}

/// The intake channel's name in Chinese.
pub fn source_name(source: Source) -> &'static str {
    match source {
        Source::Hotline => "12345 热线",
        Source::Operator => "坐席发现",
        Source::GridWorker => "网格员上报",
        Source::Citizen => "群众上报",
        Source::IotSensor => "物联感知",
        Source::VideoAlarm => "视频告警",
    }
}

/// How many people a matter involves, in Chinese (GB/T 31000 incident scale).
pub fn scale_name(scale: Scale) -> &'static str {
    match scale {
        Scale::Individual => "个人/家庭",
        Scale::Group => "群体",
        Scale::MajorGroup => "重大群体",
    }
}

/// A unit's skill in Chinese, as the responsibility list and the roster name it; an
/// unknown one as it came.
pub fn skill_name(skill: &str) -> &str {
    match skill {
        "patrol" => "巡查",
        "report" => "上报",
        "mediation" => "调解",
        "dispute" => "纠纷调处",
        "fire" => "消防",
        "safety" => "安全",
        "housing" => "房屋",
        "construction" => "建设",
        "road" => "道路",
        "lighting" => "照明",
        "water" => "水务",
        "sanitation" => "环卫",
        "noise" => "噪声",
        "urban" => "城管",
        "vendor" => "摊贩",
        other => other,
    }
}
