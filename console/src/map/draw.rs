//! Putting the map on screen: the static images placed by the view, vector lines for what
//! is visible once zoomed in past the images' resolution, tinted cells, and labels whose
//! level follows the zoom (districts and streets far out, communities and cells close in).

use bevy_egui::egui::{self, Align2, Color32, FontId, Painter, Pos2, Rect, Shape, Stroke};
use onegrid_protocol::{CellStatus, Level, Net};

use super::model::{MapModel, Ring};
use super::{LayerTexture, LayerToggles, MapTextures};
use crate::style;
use crate::view::{Bounds, MapView};

/// Screen points per texel above which vector lines replace an image's lines.
const VECTOR_BELOW_TEXEL_PTS: f64 = 1.6;

/// The screen rectangle of a box in local metres.
pub fn screen_rect(view: &MapView, b: &Bounds) -> Rect {
    Rect::from_two_pos(view.to_screen([b.min[0], b.max[1]]), view.to_screen([b.max[0], b.min[1]]))
}

/// Whether a layer image is magnified so much that its lines should be drawn as vectors.
pub fn vector_mode(view: &MapView, t: &LayerTexture) -> bool {
    t.m_per_px / view.m_per_pt > VECTOR_BELOW_TEXEL_PTS
}

fn screen_line(view: &MapView, r: &Ring) -> Vec<Pos2> {
    r.iter().map(|p| view.to_screen(*p)).collect()
}

/// The static image the backdrop shows at this zoom, and whether the lines are drawn as
/// vectors: the composed level that fits the zoom or, zoomed in past the finest level, the
/// fills alone under vector lines ([`vector_lines`]).
pub fn backdrop_image<'a>(view: &MapView, textures: &'a MapTextures, ppp: f32) -> Option<(&'a LayerTexture, bool)> {
    let level = textures.level_for(view.m_per_pt, ppp)?;
    if !vector_mode(view, level) {
        return Some((level, false));
    }
    Some((textures.fills.as_ref().unwrap_or(level), true))
}

/// One vector line on screen: a polyline in screen points, its width (points) and colour.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorLine {
    /// Points, screen.
    pub points: Vec<Pos2>,
    /// Whether the last point joins the first.
    pub closed: bool,
    /// Width, points.
    pub width: f32,
    /// Premultiplied colour.
    pub color: Color32,
}

impl VectorLine {
    /// As an egui shape.
    pub fn shape(&self) -> Shape {
        let stroke = Stroke::new(self.width, self.color);
        if self.closed {
            Shape::closed_line(self.points.clone(), stroke)
        } else {
            Shape::line(self.points.clone(), stroke)
        }
    }
}

/// The parts of a polyline (closed: its last point joins the first) that can show in
/// `rect`: runs of consecutive segments whose bounding boxes meet it. A long boundary or
/// road mostly off screen becomes the few short runs on it; a ring wholly in view stays
/// one closed ring.
pub fn visible_runs(points: &[Pos2], closed: bool, rect: Rect) -> Vec<(Vec<Pos2>, bool)> {
    let n = points.len();
    if n < 2 {
        return Vec::new();
    }
    let segments = if closed { n } else { n - 1 };
    let shows = |i: usize| rect.intersects(Rect::from_two_pos(points[i], points[(i + 1) % n]));
    if (0..segments).all(shows) {
        return vec![(points.to_vec(), closed)];
    }
    let mut runs = Vec::new();
    let mut run: Vec<Pos2> = Vec::new();
    for i in 0..segments {
        if shows(i) {
            if run.is_empty() {
                run.push(points[i]);
            }
            run.push(points[(i + 1) % n]);
        } else if !run.is_empty() {
            runs.push((std::mem::take(&mut run), false));
        }
    }
    if !run.is_empty() {
        runs.push((run, false));
    }
    runs
}

/// The visible roads, cells, overlays and boundaries as vector lines, in drawing order,
/// cut to what can show in the viewport.
pub fn vector_lines(view: &MapView, model: &MapModel, toggles: &LayerToggles) -> Vec<VectorLine> {
    let visible = view.visible();
    // A margin past the viewport: no line's width reaches further.
    let rect = view.viewport.expand(8.0);
    let mut out = Vec::new();
    let mut line = |points: Vec<Pos2>, closed, width, color| {
        out.extend(visible_runs(&points, closed, rect).into_iter().map(|(points, closed)| VectorLine {
            points,
            closed,
            width,
            color,
        }));
    };
    for r in model.index.roads.meeting(&visible).into_iter().map(|i| &model.roads[i]) {
        let (c, w) = style::road_style(&r.class);
        line(screen_line(view, &r.points), false, w * 1.4, c);
    }
    if toggles.cells {
        for c in model.index.cells.meeting(&visible).into_iter().map(|i| &model.cells[i]) {
            line(screen_line(view, &c.ring), true, 1.0, style::CELL_LINE);
        }
    }
    let overlays = model.index.overlays.meeting(&visible);
    for (on, net, color) in [
        (toggles.responsibility, Net::Responsibility, style::RESPONSIBILITY_LINE),
        (toggles.supervision, Net::Supervision, style::SUPERVISION_LINE),
    ] {
        for o in overlays.iter().map(|&i| &model.overlays[i]).filter(|o| on && o.net == net) {
            o.rings.iter().for_each(|r| line(screen_line(view, r), false, 2.0, color));
        }
    }
    let areas = model.index.areas.meeting(&visible);
    for (level, color, w) in [
        (Level::Community, style::COMMUNITY_LINE, 1.2),
        (Level::Street, style::STREET_LINE, 2.2),
        (Level::District, style::DISTRICT_LINE, 3.0),
    ] {
        for a in areas.iter().map(|&i| &model.areas[i]).filter(|a| a.level == level) {
            a.rings.iter().for_each(|r| line(screen_line(view, r), false, w, color));
        }
    }
    out
}

/// Draws vector lines with egui (over the markers; used where personnel are hidden).
pub fn draw_vectors(painter: &Painter, lines: &[VectorLine]) {
    for l in lines {
        painter.add(l.shape());
    }
}

/// One tinted cell on screen: its outline (convex) in screen points and its colour.
#[derive(Debug, Clone, PartialEq)]
pub struct TintShape {
    /// Outline, screen points.
    pub outline: Vec<Pos2>,
    /// Premultiplied colour.
    pub color: Color32,
}

/// The tints of the cells with open (or overdue) incidents in view. Far out, a cell
/// smaller than a few points becomes a small square so that it still shows.
pub fn tint_shapes<'a>(
    view: &MapView,
    model: &MapModel,
    tints: impl Iterator<Item = &'a CellStatus>,
) -> Vec<TintShape> {
    let visible = view.visible();
    let mut out = Vec::new();
    for s in tints {
        let Some(cell) = model.cell(&s.cell) else { continue };
        if !cell.bounds.intersects(&visible) {
            continue;
        }
        let color = if s.overdue > 0 { style::CELL_OVERDUE } else { style::CELL_OPEN };
        let r = screen_rect(view, &cell.bounds);
        let outline = if r.width() < 4.0 {
            let sq = Rect::from_center_size(r.center(), egui::vec2(4.0, 4.0));
            vec![sq.left_top(), sq.right_top(), sq.right_bottom(), sq.left_bottom()]
        } else {
            screen_line(view, &cell.ring)
        };
        out.push(TintShape { outline, color });
    }
    out
}

/// Draws the tints with egui (over the map, and over the markers where those are a GPU
/// mesh; the CPU marker path paints them under its markers instead).
pub fn draw_tints(painter: &Painter, shapes: &[TintShape]) {
    for t in shapes {
        painter.add(Shape::convex_polygon(t.outline.clone(), t.color, Stroke::NONE));
    }
}

/// One label to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// Text.
    pub text: String,
    /// Where (screen).
    pub at: Pos2,
    /// Font size, points.
    pub size: f32,
    /// Level, for its colour.
    pub level: Option<Level>,
}

/// Which levels are labelled at a zoom (metres per point): districts and streets far out,
/// communities closer in, cell codes closest.
pub fn label_levels(m_per_pt: f64) -> (bool, bool, bool, bool) {
    (m_per_pt > 6.0, m_per_pt > 1.5 && m_per_pt < 40.0, m_per_pt < 8.0, m_per_pt < 0.9)
}

/// The labels for this view, larger levels first; `scale` enlarges type (the wall).
pub fn labels(view: &MapView, model: &MapModel, scale: f32) -> Vec<Label> {
    let (districts, streets, communities, cells) = label_levels(view.m_per_pt);
    let visible = view.visible();
    let mut out = Vec::new();
    let areas = model.index.areas.meeting(&visible);
    for (on, level, size) in
        [(districts, Level::District, 22.0), (streets, Level::Street, 17.0), (communities, Level::Community, 13.0)]
    {
        if !on {
            continue;
        }
        for a in areas.iter().map(|&i| &model.areas[i]).filter(|a| a.level == level) {
            out.push(Label {
                text: a.name.clone(),
                at: view.to_screen(a.label_at),
                size: size * scale,
                level: Some(level),
            });
        }
    }
    if cells {
        for c in model.index.cells.meeting(&visible).into_iter().map(|i| &model.cells[i]) {
            let code = c.code.get(c.code.len().saturating_sub(8)..).unwrap_or(&c.code);
            out.push(Label {
                text: code.to_owned(),
                at: view.to_screen(c.bounds.center()),
                size: 10.0 * scale,
                level: None,
            });
        }
    }
    out
}

/// Draws labels, skipping any that would overlap one already drawn.
pub fn draw_labels(painter: &Painter, labels: &[Label]) {
    let mut placed: Vec<Rect> = Vec::new();
    for l in labels {
        let color = match l.level {
            Some(Level::District) => style::DISTRICT_LINE,
            Some(Level::Street) => style::LABEL,
            Some(_) => style::LABEL.gamma_multiply(0.8),
            None => style::LABEL.gamma_multiply(0.45),
        };
        let galley = painter.layout_no_wrap(l.text.clone(), FontId::proportional(l.size), color);
        let rect = Align2::CENTER_CENTER.anchor_size(l.at, galley.size()).expand(2.0);
        if !painter.clip_rect().intersects(rect) || placed.iter().any(|p| p.intersects(rect)) {
            continue;
        }
        painter.rect_filled(rect, 3.0, Color32::from_black_alpha(110));
        painter.galley(rect.min + egui::vec2(2.0, 2.0), galley, color);
        placed.push(rect);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::model::tests::tiny_map;

    #[test]
    fn far_out_labels_districts_and_close_in_labels_communities_and_cells() {
        let m = MapModel::new(&tiny_map());
        let mut v = MapView::default();
        v.frame(&m.bounds);
        v.m_per_pt = 10.0;
        let far: Vec<_> = labels(&v, &m, 1.0).into_iter().map(|l| l.text).collect();
        assert!(far.contains(&"甲区".to_owned()) && far.contains(&"乙街道".to_owned()));
        assert!(!far.contains(&"丙社区".to_owned()));
        v.m_per_pt = 0.5;
        let near: Vec<_> = labels(&v, &m, 1.0).into_iter().map(|l| l.text).collect();
        assert!(near.contains(&"丙社区".to_owned()) || near.contains(&"丁社区".to_owned()));
        assert!(!near.contains(&"甲区".to_owned()));
        assert!(near.iter().any(|t| t.starts_with('C')), "cell codes close in: {near:?}");
    }

    #[test]
    fn tinted_cells_are_outlined_and_far_out_become_squares() {
        let m = MapModel::new(&tiny_map());
        let mut v = MapView::default();
        v.frame(&m.bounds);
        let cell = m.cells.first().expect("a cell").code.clone();
        let tints = [
            CellStatus { cell: cell.clone(), open: 2, overdue: 1 },
            CellStatus { cell: "nowhere".into(), open: 1, overdue: 0 },
        ];
        let near = tint_shapes(&v, &m, tints.iter());
        assert_eq!(near.len(), 1, "an unknown cell is left out");
        assert_eq!(near[0].color, style::CELL_OVERDUE);
        assert!(near[0].outline.len() >= 4, "the cell's ring: {:?}", near[0].outline);
        v.m_per_pt = 1.0e5;
        let far = tint_shapes(&v, &m, [CellStatus { cell, open: 1, overdue: 0 }].iter());
        assert_eq!(far[0].color, style::CELL_OPEN);
        let xs: Vec<f32> = far[0].outline.iter().map(|p| p.x).collect();
        let width = xs.iter().copied().fold(f32::MIN, f32::max) - xs.iter().copied().fold(f32::MAX, f32::min);
        assert!((width - 4.0).abs() < 1e-3, "a 4-point square far out: {:?}", far[0].outline);
    }

    #[test]
    fn lines_are_cut_to_the_runs_that_can_show() {
        let rect = Rect::from_min_max(Pos2::new(0.0, 0.0), Pos2::new(100.0, 100.0));
        let p = |x: f32, y: f32| Pos2::new(x, y);
        // A ring wholly in view stays one closed ring.
        let ring = vec![p(10.0, 10.0), p(90.0, 10.0), p(90.0, 90.0), p(10.0, 90.0)];
        assert_eq!(visible_runs(&ring, true, rect), vec![(ring.clone(), true)]);
        // A polyline leaving and coming back: two open runs, the far segments dropped.
        let line = vec![p(50.0, 50.0), p(150.0, 50.0), p(500.0, 50.0), p(500.0, 60.0), p(150.0, 60.0), p(50.0, 60.0)];
        let runs = visible_runs(&line, false, rect);
        assert_eq!(
            runs,
            vec![(vec![p(50.0, 50.0), p(150.0, 50.0)], false), (vec![p(150.0, 60.0), p(50.0, 60.0)], false)]
        );
        // A ring partly in view: its closing segment counts too, and nothing is closed.
        let big = vec![p(50.0, 50.0), p(500.0, 50.0), p(500.0, 500.0), p(50.0, 500.0)];
        let runs = visible_runs(&big, true, rect);
        assert_eq!(
            runs,
            vec![(vec![p(50.0, 50.0), p(500.0, 50.0)], false), (vec![p(50.0, 500.0), p(50.0, 50.0)], false)]
        );
        assert!(visible_runs(&[p(200.0, 200.0), p(300.0, 300.0)], false, rect).is_empty());
    }

    #[test]
    fn vector_lines_take_over_when_an_image_is_magnified() {
        let t = crate::map::tests::tex(4.0);
        let mut v = MapView { m_per_pt: 8.0, ..MapView::default() };
        assert!(!vector_mode(&v, &t));
        v.m_per_pt = 1.0;
        assert!(vector_mode(&v, &t));
    }
}
