//! Incidents and cameras as vector symbols: a batch per frame from the live entities
//! (tested on its own), then a drawing step. Incidents: a shape per module of the
//! responsibility list, coloured by state, a pulsing halo when overdue, a flash when new.
//! Cameras: an icon and their field-of-view cone; those linked to the selected incident
//! stand out. The units on the way to the selected incident: a dashed line each to it,
//! along the rest of its way by road where the server gave it.

use std::f32::consts::TAU;

use bevy_egui::egui::{Color32, FontId, Painter, Pos2, Shape, Stroke, Vec2, pos2, vec2};
use onegrid_protocol::{Camera, CameraId, Incident, IncidentId, UnitStatus};

use crate::desk::enroute::{Leg, Road, distance_words};
use crate::style;
use crate::view::{MapView, Projection};

/// The shape of an incident symbol, by module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Glyph {
    /// 01 disputes.
    Circle,
    /// 02 public safety.
    Triangle,
    /// 03 urban management.
    Square,
    /// 04 environment.
    Diamond,
    /// 05 population and housing, and anything else.
    Pentagon,
}

impl Glyph {
    /// The glyph of a category code (its first two digits are the module).
    pub fn of_category(code: &str) -> Self {
        match code.get(..2) {
            Some("01") => Glyph::Circle,
            Some("02") => Glyph::Triangle,
            Some("03") => Glyph::Square,
            Some("04") => Glyph::Diamond,
            _ => Glyph::Pentagon,
        }
    }

    /// The legend's rows.
    pub const LEGEND: [(Glyph, &'static str); 5] = [
        (Glyph::Circle, "矛盾纠纷"),
        (Glyph::Triangle, "公共安全"),
        (Glyph::Square, "城市管理"),
        (Glyph::Diamond, "生态环境"),
        (Glyph::Pentagon, "人口房屋及其他"),
    ];

    fn points(self, c: Pos2, r: f32) -> Vec<Pos2> {
        let poly = |n: usize, rot: f32, k: f32| {
            (0..n)
                .map(|i| {
                    let a = rot + i as f32 / n as f32 * TAU;
                    c + vec2(a.sin(), -a.cos()) * r * k
                })
                .collect()
        };
        match self {
            Glyph::Circle => poly(16, 0.0, 1.0),
            Glyph::Triangle => poly(3, 0.0, 1.3),
            Glyph::Square => poly(4, TAU / 8.0, 1.2),
            Glyph::Diamond => poly(4, 0.0, 1.3),
            Glyph::Pentagon => poly(5, 0.0, 1.15),
        }
    }
}

/// One incident symbol.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentGlyph {
    /// Which.
    pub id: IncidentId,
    /// Where on screen.
    pub at: Pos2,
    /// Colour by state.
    pub color: Color32,
    /// Shape by module.
    pub glyph: Glyph,
    /// Overdue: a pulsing halo.
    pub overdue: bool,
    /// New: a flash.
    pub fresh: bool,
    /// Selected.
    pub selected: bool,
    /// 1–4: size.
    pub severity: u8,
}

/// The symbols of the open incidents inside the viewport (and the selected one, open or
/// not), overdue and severe ones last so that they are drawn on top.
pub fn incident_batch<'a>(
    view: &MapView,
    projection: &Projection,
    incidents: impl Iterator<Item = (&'a Incident, bool)>,
    selected: Option<IncidentId>,
) -> Vec<IncidentGlyph> {
    let area = view.viewport.expand(20.0);
    let mut out: Vec<IncidentGlyph> = incidents
        .filter(|(i, _)| i.state.is_open() || Some(i.id) == selected)
        .filter_map(|(i, fresh)| {
            let at = view.to_screen(projection.to_local(i.location.x(), i.location.y()));
            area.contains(at).then(|| IncidentGlyph {
                id: i.id,
                at,
                color: style::incident_color(i.state, i.overdue),
                glyph: Glyph::of_category(&i.category),
                overdue: i.overdue,
                fresh,
                selected: Some(i.id) == selected,
                severity: i.severity,
            })
        })
        .collect();
    out.sort_by_key(|g| (g.selected, g.overdue, g.severity, g.id));
    out
}

/// Draws a symbol at `c` with radius `r`.
pub fn draw_glyph(painter: &Painter, glyph: Glyph, c: Pos2, r: f32, fill: Color32) {
    painter.add(Shape::convex_polygon(glyph.points(c, r), fill, Stroke::new(1.5, Color32::from_black_alpha(220))));
}

/// Draws the incident symbols; `t` (seconds) drives the pulse and the flash.
pub fn draw_incidents(painter: &Painter, batch: &[IncidentGlyph], t: f64, scale: f32) {
    let pulse = (t * 3.0).sin().mul_add(0.5, 0.5) as f32;
    for g in batch {
        let r = (4.5 + f32::from(g.severity)) * scale;
        if g.overdue {
            let halo = r * (1.8 + 0.9 * pulse);
            painter.circle_filled(
                g.at,
                halo,
                Color32::from_rgba_unmultiplied(255, 40, 40, (70.0 * (1.0 - pulse) + 30.0) as u8),
            );
            painter.circle_stroke(g.at, halo, Stroke::new(1.5, Color32::from_rgba_unmultiplied(255, 80, 80, 160)));
        }
        if g.fresh {
            let flash = (t * 8.0).sin() > 0.0;
            if flash {
                painter.circle_stroke(g.at, r * 2.6, Stroke::new(3.0, Color32::WHITE));
            }
        }
        draw_glyph(painter, g.glyph, g.at, r, g.color);
        if g.selected {
            painter.circle_stroke(g.at, r * 2.0, Stroke::new(2.5, style::SELECTED));
        }
    }
}

/// One camera.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraGlyph {
    /// Which.
    pub id: CameraId,
    /// Where.
    pub at: Pos2,
    /// The field-of-view cone (apex first), when close enough to show.
    pub cone: Option<Vec<Pos2>>,
    /// Linked to the selected incident.
    pub linked: bool,
}

/// Zoom (metres per point) beyond which cones are left out.
pub const CONES_BELOW_M_PER_PT: f64 = 12.0;
/// Zoom beyond which only linked cameras are drawn.
pub const CAMERAS_BELOW_M_PER_PT: f64 = 30.0;

/// The cameras to draw: icons when close enough, cones closer in, linked ones always.
pub fn camera_batch<'a>(
    view: &MapView,
    projection: &Projection,
    cameras: impl Iterator<Item = &'a Camera>,
    linked: &[CameraId],
) -> Vec<CameraGlyph> {
    let area = view.viewport.expand(60.0);
    let mut out: Vec<CameraGlyph> = cameras
        .filter_map(|c| {
            let is_linked = linked.contains(&c.id);
            if !is_linked && view.m_per_pt > CAMERAS_BELOW_M_PER_PT {
                return None;
            }
            let here = projection.to_local(c.position.x(), c.position.y());
            let at = view.to_screen(here);
            if !area.contains(at) {
                return None;
            }
            let cone = (is_linked || view.m_per_pt < CONES_BELOW_M_PER_PT).then(|| {
                let half = (c.fov_deg / 2.0).to_radians();
                let h = c.heading_deg.to_radians();
                let mut pts = vec![at];
                for i in 0..=8 {
                    let a = h - half + (2.0 * half) * f64::from(i) / 8.0;
                    pts.push(view.to_screen([here[0] + c.range_m * a.sin(), here[1] + c.range_m * a.cos()]));
                }
                pts
            });
            Some(CameraGlyph { id: c.id, at, cone, linked: is_linked })
        })
        .collect();
    out.sort_by_key(|c| (c.linked, c.id));
    out
}

/// Draws cameras.
pub fn draw_cameras(painter: &Painter, batch: &[CameraGlyph], scale: f32) {
    for c in batch {
        let color = if c.linked { style::CAMERA_LINKED } else { style::CAMERA };
        if let Some(cone) = &c.cone {
            let fill = color.gamma_multiply(if c.linked { 0.35 } else { 0.12 });
            painter.add(Shape::convex_polygon(cone.clone(), fill, Stroke::new(1.0, color.gamma_multiply(0.6))));
        }
        let s = if c.linked { 6.0 } else { 4.0 } * scale;
        painter.rect_filled(bevy_egui::egui::Rect::from_center_size(c.at, Vec2::splat(s * 1.6)), 2.0, color);
        painter.circle_filled(c.at, s * 0.45, Color32::from_rgb(20, 30, 40));
    }
}

/// A unit's recent track as a fading line.
pub fn draw_track(painter: &Painter, points: &[Pos2]) {
    let n = points.len().max(1) as f32;
    for (i, w) in points.windows(2).enumerate() {
        let a = (40.0 + 200.0 * (i as f32 / n)) as u8;
        painter.line_segment([w[0], w[1]], Stroke::new(3.0, Color32::from_rgba_unmultiplied(255, 255, 255, a)));
    }
}

/// The dispatcher's view of the units on the way to the selected incident: a dashed line
/// from each to the incident along the way it still has to go by road where the server
/// gave it, else straight (orange for one that has stopped coming nearer), and a tag by the
/// unit with its name and how far it still has to go (by road where measured). `legs` are
/// the screen points of each unit's line (the unit first, the incident last), the unit's
/// name, and its row's leg.
pub fn draw_en_route(painter: &Painter, legs: &[(Vec<Pos2>, &str, Leg)], scale: f32) {
    for (line, name, leg) in legs {
        let (Some(&unit), Leg::EnRoute { .. }) = (line.first(), leg) else { continue };
        let color =
            if leg.stalled() { Color32::from_rgb(255, 170, 80) } else { style::unit_color(UnitStatus::EnRoute) };
        painter.extend(Shape::dashed_line(line, Stroke::new(2.0 * scale, color), 8.0 * scale, 5.0 * scale));
        tag(painter, unit + vec2(10.0, 6.0) * scale, &en_route_tag(name, *leg), 12.0 * scale, color);
    }
}

/// The tag beside a unit on its way: its name and how far it still has to go (by road
/// where measured), and that no road leads from it where the server said so.
pub fn en_route_tag(name: &str, leg: Leg) -> String {
    match (leg.to_go(), leg) {
        (Some(m), Leg::EnRoute { road: Road::Unreachable, .. }) => {
            format!("{name} · {} · 无道路可达", distance_words(m))
        }
        (Some(m), _) => format!("{name} · {}", distance_words(m)),
        (None, _) => name.to_owned(),
    }
}

/// Writes `text` with a dark box behind it.
pub fn tag(painter: &Painter, at: Pos2, text: &str, size: f32, color: Color32) {
    let galley = painter.layout_no_wrap(text.to_owned(), FontId::proportional(size), color);
    let rect = bevy_egui::egui::Rect::from_min_size(at, galley.size()).expand(3.0);
    painter.rect_filled(rect, 3.0, Color32::from_black_alpha(190));
    painter.galley(pos2(rect.min.x + 3.0, rect.min.y + 3.0), galley, color);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::tests::incident;
    use bevy_egui::egui::Rect;
    use onegrid_protocol::IncidentState;

    fn view_at(p: &Projection, lonlat: [f64; 2]) -> MapView {
        MapView {
            center: p.to_local(lonlat[0], lonlat[1]),
            m_per_pt: 2.0,
            viewport: Rect::from_min_max(pos2(0.0, 0.0), pos2(400.0, 300.0)),
            target: None,
        }
    }

    #[test]
    fn the_batch_shows_open_incidents_with_their_state_and_hides_closed_ones() {
        let p = Projection::new(118.0, 24.0);
        let mut a = incident(1, IncidentState::Reported);
        a.overdue = true;
        let b = incident(2, IncidentState::Closed);
        let mut c = incident(3, IncidentState::Dispatched);
        c.category = "0301".into();
        let v = view_at(&p, [a.location.x(), a.location.y()]);
        let batch = incident_batch(&v, &p, [(&a, false), (&b, false), (&c, true)].into_iter(), None);
        let ids: Vec<_> = batch.iter().map(|g| g.id).collect();
        assert_eq!(ids, vec![3, 1], "closed hidden, overdue drawn last");
        assert!(batch[1].overdue && batch[1].color == style::incident_color(IncidentState::Reported, true));
        assert_eq!(batch[0].glyph, Glyph::Square);
        assert!(batch[0].fresh);
        assert_eq!(batch[1].at, v.viewport.center());
        let with_closed_selected = incident_batch(&v, &p, [(&b, false)].into_iter(), Some(2));
        assert_eq!(with_closed_selected.len(), 1, "a selected closed incident still shows");
    }

    #[test]
    fn cameras_show_cones_close_in_and_only_linked_ones_far_out() {
        let p = Projection::new(118.0, 24.0);
        let cam = |id| Camera {
            id,
            name: String::new(),
            position: geo_types::Point::new(118.0, 24.0),
            heading_deg: 90.0,
            fov_deg: 60.0,
            range_m: 100.0,
            stream_url: String::new(),
            placement: Default::default(),
            synthetic: true,
        };
        let cams = [cam(1), cam(2)];
        let mut v = view_at(&p, [118.0, 24.0]);
        let near = camera_batch(&v, &p, cams.iter(), &[2]);
        assert_eq!(near.len(), 2);
        let cone = near[0].cone.as_ref().expect("cone close in");
        assert!(cone.iter().skip(1).all(|q| q.x > near[0].at.x), "heading east: the cone opens east");
        assert!(near[1].linked && near[1].id == 2, "linked last, on top");
        v.m_per_pt = 50.0;
        let far = camera_batch(&v, &p, cams.iter(), &[2]);
        assert_eq!(far.iter().map(|c| c.id).collect::<Vec<_>>(), vec![2]);
    }

    #[test]
    fn a_unit_on_its_way_is_tagged_with_how_far_it_still_has_to_go() {
        use crate::desk::enroute::Trend;
        let on_way = |metres, road| Leg::EnRoute { metres, road, trend: Trend::Measuring };
        assert_eq!(en_route_tag("张三", on_way(Some(850.0), Road::Ahead(1_320.0))), "张三 · 1.3 公里");
        assert_eq!(en_route_tag("张三", on_way(Some(850.0), Road::Unmeasured)), "张三 · 850 米");
        assert_eq!(en_route_tag("张三", on_way(Some(3_200.0), Road::Unreachable)), "张三 · 3.2 公里 · 无道路可达");
        assert_eq!(en_route_tag("张三", on_way(None, Road::Unmeasured)), "张三");
    }
}
