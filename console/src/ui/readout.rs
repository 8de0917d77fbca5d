//! The map's readouts, over the bottom-left corner of its viewport: a scale bar, on the
//! desk and on the wall, and at the desk what lies under the pointer — its coordinates and
//! its place in the grid (district, street, community, cell, the cell's grid worker and,
//! where those nets are shown, its responsibility and supervision units) — as a GIS status
//! line, and a tooltip naming the incident, camera or unit under it ([`hit_at`], which a
//! click picks too, cameras aside). Plain functions of the view and the map model, tested
//! without a window; [`draw`] paints them.

use bevy_egui::egui::{self, Color32, FontId, Painter, Pos2, Rect, Stroke, pos2, vec2};
use onegrid_protocol::{Camera, CameraId, Incident, IncidentId, Millis, Net, Unit, UnitId, UnitStatus};

use crate::map::MapModel;
use crate::map::model::{AreaShape, CellShape, ring_contains};
use crate::style;
use crate::ui::queue::format_left;
use crate::view::MapView;

/// A scale bar: a round distance and its length on screen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaleBar {
    /// The distance the bar stands for, metres: 1, 2 or 5 × 10ⁿ.
    pub metres: f64,
    /// Its length, points.
    pub length_pt: f32,
}

/// The longest round distance (1, 2 or 5 × 10ⁿ metres) whose bar fits in `max_pt` points at
/// `m_per_pt` metres a point; none for a zoom or room that is not a positive number.
pub fn scale_bar(m_per_pt: f64, max_pt: f32) -> Option<ScaleBar> {
    if !m_per_pt.is_finite() || m_per_pt <= 0.0 || !max_pt.is_finite() || max_pt <= 0.0 {
        return None;
    }
    let room = m_per_pt * f64::from(max_pt);
    let decade = 10f64.powf(room.log10().floor());
    let metres = [5.0, 2.0, 1.0].into_iter().map(|k| k * decade).find(|m| *m <= room * (1.0 + 1e-9))?;
    Some(ScaleBar { metres, length_pt: (metres / m_per_pt) as f32 })
}

/// "500 米", "2 公里".
pub fn distance_words(metres: f64) -> String {
    if metres >= 1000.0 { format!("{} 公里", metres / 1000.0) } else { format!("{} 米", metres) }
}

/// Where a point of the map lies in the grid.
#[derive(Debug, Clone)]
pub struct Place<'a> {
    /// Longitude and latitude, WGS-84.
    pub lonlat: [f64; 2],
    /// The areas it lies in, outermost first (district, street, community).
    pub areas: Vec<&'a AreaShape>,
    /// The technical cell it lies in.
    pub cell: Option<&'a CellShape>,
}

/// The place of the local point `p`: its cell and, up from the cell's community, the areas
/// holding it; outside every cell, the areas whose outlines hold it.
pub fn place_at(model: &MapModel, p: [f64; 2]) -> Place<'_> {
    let lonlat = model.projection.to_lonlat(p);
    let cell = model.cell_at(p).map(|i| &model.cells[i]);
    let mut areas = Vec::new();
    if let Some(c) = cell {
        let mut code = c.community.as_str();
        while let Some(a) = model.area(code) {
            areas.push(a);
            if a.parent == a.code || areas.len() > 8 {
                break;
            }
            code = &a.parent;
        }
        areas.reverse();
    } else {
        areas = model
            .areas
            .iter()
            .filter(|a| {
                let b = &a.bounds;
                b.min[0] <= p[0] && p[0] <= b.max[0] && b.min[1] <= p[1] && p[1] <= b.max[1]
            })
            .filter(|a| a.rings.iter().filter(|r| ring_contains(r, p)).count() % 2 == 1)
            .collect();
        areas.sort_by_key(|a| std::cmp::Reverse(a.level)); // Level orders from the community up
    }
    areas.retain(|a| a.level != onegrid_protocol::Level::City);
    Place { lonlat, areas, cell }
}

/// "118.08912°E 24.47921°N · 思明区 鹭江街道 和凤社区 · 网格 350203… · 网格员 张三", and the
/// cell's unit in each overlay net of `nets` (those the map shows: " · 责任网格 …").
pub fn place_words(model: &MapModel, place: &Place<'_>, worker: Option<&str>, nets: &[Net]) -> String {
    let [lon, lat] = place.lonlat;
    let mut s = format!(
        "{:.5}°{} {:.5}°{}",
        lon.abs(),
        if lon < 0.0 { 'W' } else { 'E' },
        lat.abs(),
        if lat < 0.0 { 'S' } else { 'N' }
    );
    if !place.areas.is_empty() {
        s.push_str(" · ");
        s.push_str(&place.areas.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(" "));
    }
    if let Some(c) = place.cell {
        s.push_str(&format!(" · 网格 {}", c.code));
        if let Some(w) = worker {
            s.push_str(&format!(" · 网格员 {w}"));
        }
        for &net in nets {
            let (what, code) = match net {
                Net::Responsibility => ("责任网格", &c.responsibility_unit),
                Net::Supervision => ("监督网格", &c.supervision_unit),
            };
            if !code.is_empty() {
                let name = model.overlay(net, code).map_or(code.as_str(), |o| o.name.as_str());
                s.push_str(&format!(" · {what} {name}"));
            }
        }
    }
    s
}

/// Points within which the pointer is over an incident or a unit (and a click picks it).
pub const PICK_PX: f32 = 14.0;

/// What lies under the pointer on the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    /// An open incident.
    Incident(IncidentId),
    /// A camera.
    Camera(CameraId),
    /// A unit.
    Unit(UnitId),
}

/// What is under `p`, in the order the layers are drawn from the top: the nearest open
/// incident within [`PICK_PX`], else the nearest camera, else the nearest unit with a
/// position. The caller leaves out what is hidden (a layer switched off is not there).
pub fn hit_at<'a>(
    p: Pos2,
    view: &MapView,
    m: &MapModel,
    incidents: impl Iterator<Item = &'a Incident>,
    cameras: impl Iterator<Item = (CameraId, [f64; 2])>,
    units: impl Iterator<Item = (UnitId, Option<[f64; 2]>)>,
) -> Option<Hit> {
    let dist = |ll: [f64; 2]| view.to_screen(m.projection.to_local(ll[0], ll[1])).distance(p);
    let nearest = |it: &mut dyn Iterator<Item = (f32, Hit)>| {
        it.filter(|(d, _)| *d < PICK_PX).min_by(|a, b| a.0.total_cmp(&b.0)).map(|(_, h)| h)
    };
    let mut open =
        incidents.filter(|i| i.state.is_open()).map(|i| (dist([i.location.x(), i.location.y()]), Hit::Incident(i.id)));
    nearest(&mut open)
        .or_else(|| nearest(&mut cameras.map(|(id, ll)| (dist(ll), Hit::Camera(id)))))
        .or_else(|| nearest(&mut units.filter_map(|(id, ll)| ll.map(|ll| (dist(ll), Hit::Unit(id))))))
}

/// "南华路口 · 视场 60° · 150 米": a camera, how wide and how far it sees.
pub fn camera_words(c: &Camera) -> String {
    format!("{} · 视场 {:.0}° · {}", c.name, c.fov_deg, distance_words(c.range_m.round()))
}

/// "#26 治安隐患 · 待受理 · 5分": an incident, its state and its time left at `now`.
pub fn incident_words(i: &Incident, now: Millis, m: &MapModel) -> String {
    let left = format_left(i.deadline.map(|d| d - now));
    format!("#{} {} · {} · {left}", i.id, m.category_name(&i.category), style::state_name(i.state))
}

/// "张三 · 网格员 · 空闲".
pub fn unit_words(u: &Unit, status: UnitStatus) -> String {
    format!("{} · {} · {}", u.name, style::kind_name(u.kind), style::status_name(status))
}

/// The longest a scale bar may be, points at type scale 1.
pub const BAR_MAX_PT: f32 = 140.0;

/// Paints the readouts over the bottom-left of `viewport`: the scale bar for `m_per_pt`,
/// then the pointer's place when there is one, on a dark plate that keeps them legible
/// over any part of the map.
pub fn draw(painter: &Painter, viewport: Rect, m_per_pt: f64, place: Option<&str>, scale: f32) {
    let Some(bar) = scale_bar(m_per_pt, (BAR_MAX_PT * scale).min(viewport.width() * 0.4)) else { return };
    let pad = 8.0 * scale;
    let tick = 5.0 * scale;
    let font = FontId::proportional(13.0 * scale);
    let ink = Color32::from_rgb(225, 235, 245);
    let label = painter.layout_no_wrap(distance_words(bar.metres), font.clone(), ink);
    let line = place.map(|p| painter.layout(p.to_owned(), font, ink, viewport.width() - 3.0 * pad));
    let bar_h = label.size().y + tick + 2.0 * scale;
    let line_h = line.as_ref().map_or(0.0, |g| g.size().y + 4.0 * scale);
    let w = line.as_ref().map_or(0.0, |g| g.size().x).max(bar.length_pt).max(label.size().x);
    let h = bar_h + line_h;
    let plate =
        Rect::from_min_size(pos2(viewport.left() + pad, viewport.bottom() - pad - h - pad), vec2(w + pad, h + pad));
    painter.rect_filled(plate, 4.0 * scale, Color32::from_black_alpha(210));
    let (x0, top) = (plate.left() + pad / 2.0, plate.top() + pad / 2.0);
    let y = top + bar_h;
    painter.galley(pos2(x0, top), label, ink);
    let stroke = Stroke::new(2.0 * scale, ink);
    let x1 = x0 + bar.length_pt;
    painter.line_segment([pos2(x0, y), pos2(x1, y)], stroke);
    painter.line_segment([pos2(x0, y), pos2(x0, y - tick)], stroke);
    painter.line_segment([pos2(x1, y), pos2(x1, y - tick)], stroke);
    if let Some(g) = line {
        painter.galley(pos2(x0, y + 4.0 * scale), g, ink);
    }
}

/// A painter over the map viewport, above the map's own layers and below tooltips.
pub fn painter(ctx: &egui::Context, viewport: Rect) -> Painter {
    ctx.layer_painter(egui::LayerId::new(egui::Order::Foreground, egui::Id::new("map-readout")))
        .with_clip_rect(viewport)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_bar_is_the_longest_round_distance_that_fits() {
        for (m_per_pt, max_pt, metres) in [
            (1.0, 140.0, 100.0),
            (1.0, 99.0, 50.0),
            (20.0, 140.0, 2000.0),
            (20.0, 90.0, 1000.0),
            (7.0, 140.0, 500.0),
            (0.25, 140.0, 20.0),
            (200.0, 140.0, 20_000.0),
            (3.0, 100.0, 200.0),
        ] {
            let b = scale_bar(m_per_pt, max_pt).expect("a bar");
            assert_eq!(b.metres, metres, "{m_per_pt} m/pt in {max_pt} pt");
            // The bar measures what it says, and is never shorter than 2/5 of its room
            // (the next round distance down is at most 2.5 times shorter).
            assert!((f64::from(b.length_pt) * m_per_pt - metres).abs() < 1e-3 * metres);
            assert!(b.length_pt <= max_pt + 1e-3 && b.length_pt >= max_pt * 0.4 - 1e-3, "{b:?} in {max_pt}");
        }
        assert_eq!(scale_bar(0.0, 140.0), None);
        assert_eq!(scale_bar(f64::NAN, 140.0), None);
        assert_eq!(scale_bar(5.0, 0.0), None);
    }

    #[test]
    fn a_point_reads_as_its_coordinates_and_its_place_in_the_grid() {
        let m = MapModel::new(&crate::map::model::tests::tiny_map());
        // The middle of the third cell: 丁社区, in 乙街道 of 甲区.
        let c = &m.cells[2];
        let place = place_at(&m, c.bounds.center());
        assert_eq!(place.cell.map(|c| c.code.as_str()), Some("C2"));
        let names: Vec<&str> = place.areas.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["甲区", "乙街道", "丁社区"]);
        let words = place_words(&m, &place, Some("张三"), &[]);
        assert_eq!(words, "118.00250°E 24.00050°N · 甲区 乙街道 丁社区 · 网格 C2 · 网格员 张三");
        // With the overlay nets shown: their units, by name where the map has them.
        let mut map = crate::map::model::tests::tiny_map();
        map.overlays.push(onegrid_protocol::MapOverlay {
            net: Net::Responsibility,
            code: "R1".into(),
            name: "鹭江责任区一".into(),
            outline: geo_types::MultiPolygon(vec![]),
        });
        let m2 = MapModel::new(&map);
        let place2 = place_at(&m2, c.bounds.center());
        let both = place_words(&m2, &place2, None, &[Net::Responsibility, Net::Supervision]);
        assert!(both.ends_with("· 网格 C2 · 责任网格 鹭江责任区一 · 监督网格 S0"), "{both}");
        // North of the cells but inside the district and the street: the outlines say where.
        let d = m.area("999901000000").expect("district").bounds;
        let north = [c.bounds.center()[0], c.bounds.max[1] + (d.max[1] - c.bounds.max[1]) / 2.0];
        let place = place_at(&m, north);
        assert!(place.cell.is_none());
        let names: Vec<&str> = place.areas.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["甲区", "乙街道"]);
        assert!(!place_words(&m, &place, Some("张三"), &[Net::Supervision]).contains("网格员"), "no cell, no worker");
        // Out at sea: coordinates only.
        let sea = place_at(&m, [d.max[0] + 500.0, d.max[1] + 500.0]);
        assert!(sea.areas.is_empty() && sea.cell.is_none());
        assert!(place_words(&m, &sea, None, &[Net::Responsibility]).ends_with("°N"));
    }

    #[test]
    fn the_pointer_is_over_the_nearest_incident_else_camera_else_unit_as_they_are_drawn() {
        use crate::live::tests::{camera, incident, unit};
        use onegrid_protocol::IncidentState;
        let m = MapModel::new(&crate::map::model::tests::tiny_map());
        let view = MapView {
            center: m.bounds.center(),
            m_per_pt: 1.0,
            viewport: Rect::from_min_size(Pos2::ZERO, vec2(800.0, 600.0)),
            target: None,
        };
        // Everything on one east-west line through the map's centre, 1 m a point.
        let ll = |dx: f64| m.projection.to_lonlat([m.bounds.center()[0] + dx, m.bounds.center()[1]]);
        let at = |dx: f32| view.viewport.center() + vec2(dx, 0.0);
        let mut open = incident(7, IncidentState::Accepted);
        open.location = geo_types::Point::new(ll(0.0)[0], ll(0.0)[1]);
        let mut closed = incident(8, IncidentState::Closed);
        closed.location = geo_types::Point::new(ll(30.0)[0], ll(30.0)[1]);
        let units = [(1, Some(ll(6.0))), (2, Some(ll(33.0))), (3, None), (4, Some(ll(49.0)))];
        let cameras = [(9, ll(-40.0)), (10, ll(50.0))];
        let hit = |p: Pos2| hit_at(p, &view, &m, [&open, &closed].into_iter(), cameras.into_iter(), units.into_iter());
        assert_eq!(hit(at(0.0)), Some(Hit::Incident(7)));
        assert_eq!(hit(at(5.0)), Some(Hit::Incident(7)), "the incident lies over the unit 1 pt away");
        assert_eq!(hit(at(16.0)), Some(Hit::Unit(1)), "past the incident's reach, the unit's");
        assert_eq!(hit(at(30.0)), Some(Hit::Unit(2)), "a closed incident is not on the map");
        assert_eq!(hit(at(48.0)), Some(Hit::Camera(10)), "the camera lies over the unit 1 pt nearer");
        assert_eq!(hit(at(-44.0)), Some(Hit::Camera(9)));
        assert_eq!(hit(at(80.0)), None);
        assert_eq!(hit(at(-20.0)), None, "a unit with no position is nowhere");
        // Layers switched off are left out by the caller: nothing of theirs is under the pointer.
        let none = hit_at(at(0.0), &view, &m, std::iter::empty(), std::iter::empty(), std::iter::empty());
        assert_eq!(none, None);
        let mut u = unit(1, UnitStatus::EnRoute);
        u.name = "张三".into();
        assert_eq!(unit_words(&u, UnitStatus::EnRoute), "张三 · 网格员 · 在途");
        assert_eq!(incident_words(&open, 60_000 - 5 * 60_000, &m), "#7 火灾隐患 · 已受理 · 5分");
        assert_eq!(camera_words(&camera(3)), "摄像机3 · 视场 60° · 80 米");
    }

    #[test]
    fn distances_read_in_metres_then_kilometres() {
        assert_eq!(distance_words(50.0), "50 米");
        assert_eq!(distance_words(500.0), "500 米");
        assert_eq!(distance_words(1000.0), "1 公里");
        assert_eq!(distance_words(20_000.0), "20 公里");
    }
}
