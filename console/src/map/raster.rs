//! The static map drawn once on the CPU (tiny-skia) into images that the GPU then only
//! samples: redrawing thousands of cells every frame is what software Vulkan cannot
//! afford. One image per switchable layer, so switching a layer redraws nothing.

use tiny_skia::{FillRule, Paint, PathBuilder, Pixmap, Stroke, Transform};

use super::model::{MapModel, Ring};
use crate::style;
use crate::view::Bounds;
use bevy_egui::egui::Color32;
use onegrid_protocol::{Level, Net};

/// The static layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaticLayer {
    /// Land and community fills.
    Base,
    /// Roads by class.
    Roads,
    /// District, street and community boundaries.
    Boundaries,
    /// Technical cell lines.
    Cells,
    /// Responsibility units.
    Responsibility,
    /// Supervision units.
    Supervision,
}

/// A drawn layer: premultiplied RGBA8 covering `extent`.
#[derive(Debug, Clone)]
pub struct Raster {
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
    /// Premultiplied RGBA, row by row from the north.
    pub rgba: Vec<u8>,
    /// What the image covers, local metres.
    pub extent: Bounds,
}

impl Raster {
    /// Metres per pixel.
    pub fn m_per_px(&self) -> f64 {
        self.extent.size()[0] / f64::from(self.width)
    }
}

struct Canvas {
    pixmap: Pixmap,
    extent: Bounds,
    scale: f64,
}

fn paint(c: Color32) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color_rgba8(c.r(), c.g(), c.b(), c.a());
    p.anti_alias = true;
    p
}

impl Canvas {
    fn px(&self, p: [f64; 2]) -> (f32, f32) {
        (((p[0] - self.extent.min[0]) * self.scale) as f32, ((self.extent.max[1] - p[1]) * self.scale) as f32)
    }

    fn path<'a>(&self, rings: impl IntoIterator<Item = &'a Ring>, close: bool) -> Option<tiny_skia::Path> {
        let mut pb = PathBuilder::new();
        for r in rings {
            let mut pts = r.iter().map(|p| self.px(*p));
            let Some((x, y)) = pts.next() else { continue };
            pb.move_to(x, y);
            pts.for_each(|(x, y)| pb.line_to(x, y));
            if close {
                pb.close();
            }
        }
        pb.finish()
    }

    fn fill<'a>(&mut self, rings: impl IntoIterator<Item = &'a Ring>, c: Color32) {
        if let Some(path) = self.path(rings, true) {
            self.pixmap.fill_path(&path, &paint(c), FillRule::EvenOdd, Transform::identity(), None);
        }
    }

    fn stroke<'a>(&mut self, rings: impl IntoIterator<Item = &'a Ring>, c: Color32, width_px: f32, dash: bool) {
        let Some(path) = self.path(rings, false) else { return };
        let mut stroke = Stroke { width: width_px, ..Stroke::default() };
        if dash {
            stroke.dash = tiny_skia::StrokeDash::new(vec![6.0, 4.0], 0.0);
        }
        self.pixmap.stroke_path(&path, &paint(c), &stroke, Transform::identity(), None);
    }
}

/// The extent every static layer covers: the map's bounds with a margin.
pub fn extent(model: &MapModel) -> Bounds {
    let mut b = model.bounds;
    let [w, h] = b.size();
    let m = 0.03 * w.max(h);
    b.min = [b.min[0] - m, b.min[1] - m];
    b.max = [b.max[0] + m, b.max[1] + m];
    b
}

/// Draws `layers`, in order, into one image with `long_side_px` pixels on the longer side
/// of the map.
pub fn render(model: &MapModel, layers: &[StaticLayer], long_side_px: u32) -> Raster {
    let extent = extent(model);
    let [w, h] = extent.size();
    let scale = f64::from(long_side_px) / w.max(h);
    let (width, height) = (((w * scale).ceil() as u32).max(1), ((h * scale).ceil() as u32).max(1));
    let mut canvas = Canvas {
        pixmap: Pixmap::new(width, height).unwrap_or_else(|| Pixmap::new(1, 1).expect("1×1 pixmap")),
        extent,
        scale,
    };
    // Line widths grow a little with resolution so that lines read the same at any size.
    let k = (long_side_px as f32 / 4096.0).max(0.5);
    for &layer in layers {
        draw_layer(model, &mut canvas, layer, k);
    }
    Raster { width, height, rgba: canvas.pixmap.take(), extent }
}

fn draw_layer(model: &MapModel, canvas: &mut Canvas, layer: StaticLayer, k: f32) {
    match layer {
        StaticLayer::Base => draw_base(model, canvas),
        StaticLayer::Roads => {
            for r in &model.roads {
                let (color, width) = style::road_style(&r.class);
                canvas.stroke([&r.points], color, width * k, false);
            }
        }
        StaticLayer::Boundaries => draw_boundaries(model, canvas, k),
        StaticLayer::Cells => {
            // Where a cell is only a few pixels wide its lines would hide the fills: fade
            // them out with the cell's size on this level.
            let cell_px = model.cells.first().map_or(0.0, |c| c.bounds.size()[0] * canvas.scale) as f32;
            let fade = ((cell_px - 4.0) / 8.0).clamp(0.0, 1.0);
            if fade > 0.0 {
                let line = (0.8 * k).max(0.6);
                canvas.stroke(model.cells.iter().map(|c| &c.ring), style::CELL_LINE.gamma_multiply(fade), line, false);
            }
        }
        StaticLayer::Responsibility | StaticLayer::Supervision => {
            let (net, color, dash) = if layer == StaticLayer::Responsibility {
                (Net::Responsibility, style::RESPONSIBILITY_LINE, false)
            } else {
                (Net::Supervision, style::SUPERVISION_LINE, true)
            };
            let rings = model.overlays.iter().filter(|o| o.net == net).flat_map(|o| &o.rings);
            canvas.stroke(rings, color.gamma_multiply(0.85), 1.4 * k, dash);
        }
    }
}

fn draw_base(model: &MapModel, canvas: &mut Canvas) {
    let at = |level| model.areas.iter().filter(move |a| a.level == level);
    canvas.fill(at(Level::District).flat_map(|a| &a.rings), style::LAND);
    for c in at(Level::Community) {
        canvas.fill(&c.rings, style::community_fill(&c.code));
    }
}

fn draw_boundaries(model: &MapModel, canvas: &mut Canvas, k: f32) {
    let at = |level| model.areas.iter().filter(move |a| a.level == level);
    canvas.stroke(at(Level::Community).flat_map(|a| &a.rings), style::COMMUNITY_LINE, 0.9 * k, false);
    canvas.stroke(at(Level::Street).flat_map(|a| &a.rings), style::STREET_LINE, 1.8 * k, false);
    canvas.stroke(at(Level::District).flat_map(|a| &a.rings), style::DISTRICT_LINE, 3.0 * k, false);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::model::tests::tiny_map;

    fn pixel(r: &Raster, p: [f64; 2]) -> [u8; 4] {
        let x = ((p[0] - r.extent.min[0]) / r.m_per_px()) as u32;
        let y = ((r.extent.max[1] - p[1]) / r.m_per_px()) as u32;
        let i = ((y * r.width + x) * 4) as usize;
        [r.rgba[i], r.rgba[i + 1], r.rgba[i + 2], r.rgba[i + 3]]
    }

    #[test]
    fn base_layer_fills_land_and_leaves_the_sea_clear() {
        let m = MapModel::new(&tiny_map());
        let r = render(&m, &[StaticLayer::Base], 512);
        assert_eq!(r.rgba.len(), (r.width * r.height * 4) as usize);
        assert_eq!(r.width.max(r.height), 512);
        let inside = m.area("999901001001").expect("community").label_at;
        let px = pixel(&r, inside);
        assert_eq!(px[3], 255, "land is opaque: {px:?}");
        let fill = style::community_fill("999901001001");
        assert_eq!([px[0], px[1], px[2]], [fill.r(), fill.g(), fill.b()]);
        assert_eq!(pixel(&r, [r.extent.min[0] + 1.0, r.extent.min[1] + 1.0])[3], 0, "outside is clear");
    }

    #[test]
    fn layers_compose_in_order_into_one_image() {
        let m = MapModel::new(&tiny_map());
        let both = render(&m, &[StaticLayer::Base, StaticLayer::Cells], 512);
        let base = render(&m, &[StaticLayer::Base], 512);
        let edge = [m.cells[0].bounds.max[0], m.cells[0].bounds.center()[1]];
        assert_ne!(pixel(&both, edge), pixel(&base, edge), "the cell line is drawn over the fill");
        let centre = m.cells[0].bounds.center();
        assert_eq!(pixel(&both, centre), pixel(&base, centre), "inside the cell the fill shows");
    }

    #[test]
    fn cell_layer_draws_lines_not_fills() {
        let m = MapModel::new(&tiny_map());
        let r = render(&m, &[StaticLayer::Cells], 512);
        let centre = m.cells[0].bounds.center();
        assert_eq!(pixel(&r, centre)[3], 0, "inside a cell stays clear");
        let edge = [m.cells[0].bounds.max[0], centre[1]];
        assert!(pixel(&r, edge)[3] > 0, "the shared edge is drawn");
    }
}
