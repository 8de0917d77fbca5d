//! What lies under the markers (vector lines, then tinted cells) painted on the CPU the
//! way the GPU blends the same shapes drawn by egui into the frame's sRGB texture: one
//! shape at a time, its colour scaled by its coverage in sRGB bytes (egui's convention),
//! then blended in linear light and stored as sRGB bytes again. A still view's pixels
//! and a moving view's (egui's lines, the backdrop's shader) then agree: the lines keep
//! their shade when the view comes to rest, also where a translucent line crosses or
//! runs along another (a cell's edge along a road), which blending the bytes directly
//! brightened by 20–30 levels.
//!
//! tiny-skia computes each shape's coverage (its antialiasing, as before) into a scratch
//! image; only the tiles the shape can reach are read back, so a long boundary across
//! the view costs its length, not its bounding box.

use std::sync::OnceLock;

use bevy_egui::egui::{Color32, Pos2};
use tiny_skia::{FillRule, Paint, Path, PathBuilder, PixmapMut, Stroke, Transform};

use crate::layers::Under;

/// sRGB bytes to linear light and back: what the GPU's sRGB textures do on a read and a
/// write.
pub struct Srgb {
    decode: [f32; 256],
    encode: Vec<u8>,
}

/// Steps of the linear-to-sRGB table: fine enough that the darkest levels (where sRGB
/// is steepest, 3,300 levels per unit of linear light) round as the GPU rounds.
const ENCODE_STEPS: usize = 1 << 14;

impl Srgb {
    /// The tables, built once.
    pub fn get() -> &'static Srgb {
        static TABLES: OnceLock<Srgb> = OnceLock::new();
        TABLES.get_or_init(|| {
            let decode = std::array::from_fn(|i| crate::style::srgb_to_linear(i as u8));
            let encode = (0..ENCODE_STEPS)
                .map(|i| {
                    let l = i as f64 / (ENCODE_STEPS - 1) as f64;
                    let c = if l <= 0.003_130_8 { l * 12.92 } else { 1.055 * l.powf(1.0 / 2.4) - 0.055 };
                    (c * 255.0).round().clamp(0.0, 255.0) as u8
                })
                .collect();
            Srgb { decode, encode }
        })
    }

    /// An sRGB byte in linear light.
    pub fn decode(&self, v: u8) -> f32 {
        self.decode[usize::from(v)]
    }

    /// Linear light (0–1) as an sRGB byte.
    pub fn encode(&self, l: f32) -> u8 {
        self.encode[(l.clamp(0.0, 1.0) * (ENCODE_STEPS - 1) as f32 + 0.5) as usize]
    }
}

/// One pixel blended on its own, as [`Ink::blend`] does (the tests' reference).
#[cfg(test)]
pub fn blend_pixel(px: &mut [u8], c: Color32, coverage: u8, srgb: &Srgb) {
    Ink::new(c).blend(px, coverage, srgb);
}

/// One shape's colour at each coverage it has been blended at so far: its linear light,
/// what it leaves of the pixel under it, its alpha byte. [`Ink::blend`] blends it, at a
/// coverage (0–255), over one RGBA pixel (premultiplied; opaque for a still view,
/// transparent where a layer starts empty) as the GPU blends egui's vertices into an sRGB
/// target: colour × coverage in sRGB bytes, decoded, `src + dst × (1 − src alpha)` in
/// linear light, encoded.
struct Ink {
    color: Color32,
    at: [Option<([f32; 3], f32, u8)>; 256],
}

impl Ink {
    fn new(color: Color32) -> Self {
        Ink { color, at: [None; 256] }
    }

    fn blend(&mut self, px: &mut [u8], coverage: u8, srgb: &Srgb) {
        let c = self.color;
        if coverage == 255 && c.a() == 255 {
            px.copy_from_slice(&c.to_array());
            return;
        }
        let (src, inv, alpha) = *self.at[usize::from(coverage)].get_or_insert_with(|| {
            let k = u32::from(coverage);
            let scaled = |v: u8| ((u32::from(v) * k + 127) / 255) as u8;
            let alpha = scaled(c.a());
            let src = [c.r(), c.g(), c.b()].map(|v| srgb.decode(scaled(v)));
            (src, 1.0 - f32::from(alpha) / 255.0, alpha)
        });
        for (d, s) in px.iter_mut().zip(src) {
            *d = srgb.encode(s + srgb.decode(*d) * inv);
        }
        px[3] = alpha + ((u32::from(px[3]) * u32::from(255 - alpha) + 127) / 255) as u8;
    }
}

/// Side of the tiles the coverage is read back by.
const TILE: usize = 32;

/// Paints `under` (in screen points, placed by the viewport's top-left `origin` at `ppp`
/// pixels per point) over an RGBA buffer of `width × height`: the lines in order, then
/// the tints, each blended as [`Ink::blend`] says.
pub fn paint_under(buf: &mut [u8], width: usize, height: usize, origin: Pos2, ppp: f32, under: &Under) {
    if under.is_empty() || width == 0 || height == 0 || buf.len() != width * height * 4 {
        return;
    }
    let mut canvas = Canvas { buf, width, height, scratch: Vec::new(), tiles: Vec::new(), srgb: Srgb::get() };
    let to_px = |p: &Pos2| ((p.x - origin.x) * ppp, (p.y - origin.y) * ppp);
    for l in &under.lines {
        let points: Vec<(f32, f32)> = l.points.iter().map(to_px).collect();
        let Some(path) = path(&points, l.closed) else { continue };
        let stroke = Stroke { width: l.width * ppp, ..Stroke::default() };
        // Past a segment, a stroke reaches at most its miter (4 half-widths, tiny-skia's
        // default limit) and a pixel of antialiasing; a hairline, a pixel either side.
        let reach = stroke.width.max(1.0) * stroke.miter_limit * 0.5 + 2.0;
        let segments = Segments { points: &points, closed: l.closed };
        canvas.shape(&path, reach, Some(segments), l.color, |pm, paint, at| {
            pm.stroke_path(&path, paint, &stroke, at, None);
        });
    }
    for t in &under.tints {
        let points: Vec<(f32, f32)> = t.outline.iter().map(to_px).collect();
        let Some(path) = path(&points, true) else { continue };
        canvas.shape(&path, 1.0, None, t.color, |pm, paint, at| {
            pm.fill_path(&path, paint, FillRule::Winding, at, None);
        });
    }
}

/// A polyline in pixels, and whether its last point joins the first.
#[derive(Clone, Copy)]
struct Segments<'a> {
    points: &'a [(f32, f32)],
    closed: bool,
}

impl Segments<'_> {
    fn each(&self) -> impl Iterator<Item = ((f32, f32), (f32, f32))> + '_ {
        let n = self.points.len();
        let count = if self.closed { n } else { n.saturating_sub(1) };
        (0..count).map(move |i| (self.points[i], self.points[(i + 1) % n]))
    }
}

fn path(points: &[(f32, f32)], close: bool) -> Option<Path> {
    let mut pb = PathBuilder::new();
    for (i, &(x, y)) in points.iter().enumerate() {
        if i == 0 { pb.move_to(x, y) } else { pb.line_to(x, y) }
    }
    if close {
        pb.close();
    }
    pb.finish()
}

/// The buffer painted on, and the scratch image each shape's coverage goes into (kept
/// all zero between shapes: what a shape leaves is cleared as it is read).
struct Canvas<'a> {
    buf: &'a mut [u8],
    width: usize,
    height: usize,
    scratch: Vec<u8>,
    tiles: Vec<bool>,
    srgb: &'static Srgb,
}

impl Canvas<'_> {
    /// Draws one shape's coverage with `draw` (white, antialiased, offset to the scratch
    /// image's origin) and blends `color` through it. The shape's pixels lie within
    /// `reach` pixels of its path's bounds, and of its `segments` where given (a stroke);
    /// a fill may cover all its bounds.
    fn shape(
        &mut self,
        path: &Path,
        reach: f32,
        segments: Option<Segments>,
        color: Color32,
        draw: impl FnOnce(&mut PixmapMut, &Paint, Transform),
    ) {
        let b = path.bounds();
        let x0 = (b.left() - reach).floor().max(0.0) as usize;
        let y0 = (b.top() - reach).floor().max(0.0) as usize;
        let x1 = ((b.right() + reach).ceil().max(0.0) as usize).min(self.width);
        let y1 = ((b.bottom() + reach).ceil().max(0.0) as usize).min(self.height);
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        let (bw, bh) = (x1 - x0, y1 - y0);
        if self.scratch.len() < bw * bh * 4 {
            self.scratch.resize(bw * bh * 4, 0);
        }
        let Some(mut pm) = PixmapMut::from_bytes(&mut self.scratch[..bw * bh * 4], bw as u32, bh as u32) else {
            return;
        };
        let mut white = Paint::default();
        white.set_color_rgba8(255, 255, 255, 255);
        white.anti_alias = true;
        draw(&mut pm, &white, Transform::from_translate(-(x0 as f32), -(y0 as f32)));
        // The tiles the shape can reach.
        let (tw, th) = (bw.div_ceil(TILE), bh.div_ceil(TILE));
        self.tiles.clear();
        self.tiles.resize(tw * th, segments.is_none());
        if let Some(s) = segments {
            let tile = |v: f32, origin: usize, count: usize| {
                ((v - origin as f32).max(0.0) as usize / TILE).min(count.saturating_sub(1))
            };
            for (a, c) in s.each() {
                let (tx0, tx1) = (tile(a.0.min(c.0) - reach, x0, tw), tile(a.0.max(c.0) + reach, x0, tw));
                let (ty0, ty1) = (tile(a.1.min(c.1) - reach, y0, th), tile(a.1.max(c.1) + reach, y0, th));
                for ty in ty0..=ty1 {
                    self.tiles[ty * tw + tx0..=ty * tw + tx1].fill(true);
                }
            }
        }
        let mut ink = Ink::new(color);
        for ty in 0..th {
            for tx in (0..tw).filter(|&tx| self.tiles[ty * tw + tx]) {
                for y in ty * TILE..((ty + 1) * TILE).min(bh) {
                    let row = &mut self.scratch[(y * bw + tx * TILE) * 4..(y * bw + ((tx + 1) * TILE).min(bw)) * 4];
                    let out = &mut self.buf[((y0 + y) * self.width + x0 + tx * TILE) * 4..];
                    for (i, px) in row.chunks_exact_mut(4).enumerate() {
                        // White, premultiplied: every channel is the coverage.
                        let coverage = px[3];
                        if coverage != 0 {
                            px.fill(0);
                            ink.blend(&mut out[i * 4..i * 4 + 4], coverage, self.srgb);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::draw::{TintShape, VectorLine};
    use crate::style;
    use bevy_egui::egui::pos2;

    fn px(buf: &[u8], w: usize, x: usize, y: usize) -> [u8; 4] {
        buf[(y * w + x) * 4..][..4].try_into().unwrap_or_default()
    }

    /// What the GPU does with the same colour over the same pixel, in f64.
    fn gpu(c: Color32, coverage: u8, dst: [u8; 4]) -> [u8; 4] {
        let lin = |v: f64| if v <= 0.04045 { v / 12.92 } else { ((v + 0.055) / 1.055).powf(2.4) };
        let srgb = |l: f64| {
            let l = l.clamp(0.0, 1.0);
            let v = if l <= 0.003_130_8 { l * 12.92 } else { 1.055 * l.powf(1.0 / 2.4) - 0.055 };
            (v * 255.0).round() as u8
        };
        let k = f64::from(coverage) / 255.0;
        let a = f64::from(c.a()) / 255.0 * k;
        let mut out = [0u8; 4];
        for (i, s) in [c.r(), c.g(), c.b()].into_iter().enumerate() {
            out[i] = srgb(lin(f64::from(s) / 255.0 * k) + lin(f64::from(dst[i]) / 255.0) * (1.0 - a));
        }
        out[3] = ((a + f64::from(dst[3]) / 255.0 * (1.0 - a)) * 255.0).round() as u8;
        out
    }

    #[test]
    fn the_tables_round_trip_and_blend_as_the_gpu_does() {
        let s = Srgb::get();
        for v in 0..=255u8 {
            assert_eq!(s.encode(s.decode(v)), v, "level {v}");
        }
        let mut worst = 0;
        for c in [style::CELL_LINE, style::CELL_OPEN, style::CELL_OVERDUE, style::ROADS[1], style::DISTRICT_LINE] {
            for coverage in [255u8, 200, 128, 40, 1] {
                for dst in [[0, 0, 0, 0], [24, 34, 46, 255], [120, 120, 110, 255], [3, 2, 1, 255], [250, 240, 230, 255]]
                {
                    let mut got = dst;
                    blend_pixel(&mut got, c, coverage, s);
                    let want = gpu(c, coverage, dst);
                    worst = got.iter().zip(want).map(|(g, w)| g.abs_diff(w)).max().unwrap_or(0).max(worst);
                }
            }
        }
        // One level at most: the colour × coverage is rounded to a byte first, as egui's
        // vertex colours are.
        assert!(worst <= 1, "off the GPU's blend by {worst} levels");
    }

    #[test]
    fn a_translucent_line_along_a_road_blends_in_linear_light_not_in_bytes() {
        let (w, h) = (40, 20);
        let land = [24u8, 34, 46, 255];
        let mut buf: Vec<u8> = land.repeat(w * h);
        let road = style::ROADS[1];
        let cell = style::CELL_LINE;
        let line =
            |c, width| VectorLine { points: vec![pos2(0.0, 10.5), pos2(40.0, 10.5)], closed: false, width, color: c };
        let under = Under { lines: vec![line(road, 3.0), line(cell, 1.0)], tints: vec![] };
        paint_under(&mut buf, w, h, pos2(0.0, 0.0), 1.0, &under);
        let got = px(&buf, w, 20, 10);
        // The road, opaque, then the cell's edge over it at full coverage.
        let want = gpu(cell, 255, [road.r(), road.g(), road.b(), 255]);
        for (g, x) in got.iter().zip(want) {
            assert!(g.abs_diff(x) <= 1, "{got:?} against the GPU's {want:?}");
        }
        // Blending the bytes would have made it 20 levels brighter than that.
        let inv = 255 - u32::from(cell.a());
        let bytes = (u32::from(cell.r()) + (u32::from(road.r()) * inv + 127) / 255) as u8;
        assert!(bytes > got[0] + 15, "bytes {bytes} against linear {}", got[0]);
        assert_eq!(px(&buf, w, 20, 2), land, "off the lines the land is untouched");
    }

    #[test]
    fn tints_and_lines_over_an_empty_layer_then_over_the_map_equal_painting_on_the_map() {
        let (w, h) = (64, 48);
        let tint = TintShape {
            outline: vec![pos2(8.0, 8.0), pos2(40.0, 6.0), pos2(44.0, 40.0), pos2(10.0, 36.0)],
            color: style::CELL_OVERDUE,
        };
        let line = VectorLine {
            points: vec![pos2(0.0, 20.0), pos2(30.0, 22.0), pos2(63.0, 5.0)],
            closed: false,
            width: 2.2,
            color: style::STREET_LINE,
        };
        let under = Under { lines: vec![line], tints: vec![tint] };
        let map: Vec<u8> = (0..w * h).flat_map(|i| [(i % 200) as u8, 40, (i / 64 % 255) as u8, 255]).collect();
        let mut direct = map.clone();
        paint_under(&mut direct, w, h, pos2(0.0, 0.0), 1.0, &under);
        let mut layer = vec![0u8; w * h * 4];
        paint_under(&mut layer, w, h, pos2(0.0, 0.0), 1.0, &under);
        // The layer over the map, in linear light (as the backdrop's shader blends it).
        let s = Srgb::get();
        let mut over = map.clone();
        for (d, l) in over.chunks_exact_mut(4).zip(layer.chunks_exact(4)) {
            let inv = 1.0 - f32::from(l[3]) / 255.0;
            for i in 0..3 {
                d[i] = s.encode(s.decode(l[i]) + s.decode(d[i]) * inv);
            }
        }
        let worst = direct.iter().zip(&over).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0);
        assert!(worst <= 2, "a layer blended over the map differs from painting on it by {worst}");
        assert_ne!(direct, map, "something was painted");
    }

    #[test]
    fn only_the_reached_tiles_are_read_and_the_scratch_is_left_clean() {
        // A long wave of short segments across a large view, as a boundary is: its bounds
        // are the whole view, the tiles it passes through few.
        let (w, h) = (900, 600);
        let points: Vec<Pos2> =
            (0..=90).map(|i| pos2(i as f32 * 10.0, 300.0 + 250.0 * (i as f32 / 15.0).sin())).collect();
        let line = VectorLine { points, closed: false, width: 3.0, color: style::DISTRICT_LINE };
        let mut buf = vec![0u8; w * h * 4];
        let under = Under { lines: vec![line.clone(), line], tints: vec![] };
        let mut canvas =
            Canvas { buf: &mut buf, width: w, height: h, scratch: Vec::new(), tiles: Vec::new(), srgb: Srgb::get() };
        for l in &under.lines {
            let points: Vec<(f32, f32)> = l.points.iter().map(|p| (p.x, p.y)).collect();
            let Some(p) = path(&points, false) else { panic!("a path") };
            let stroke = Stroke { width: l.width, ..Stroke::default() };
            let reach = stroke.width * stroke.miter_limit * 0.5 + 2.0;
            let segments = Segments { points: &points, closed: false };
            canvas.shape(&p, reach, Some(segments), l.color, |pm, paint, at| {
                pm.stroke_path(&p, paint, &stroke, at, None)
            });
            assert!(canvas.scratch.iter().all(|&b| b == 0), "every painted pixel was read back and cleared");
        }
        let marked = canvas.tiles.iter().filter(|&&t| t).count();
        assert!(marked * 2 < canvas.tiles.len(), "{marked} of {} tiles read", canvas.tiles.len());
        // The reference: the same line stroked straight into a pixmap covers the same pixels.
        let mut reference = vec![0u8; w * h * 4];
        let mut pm = PixmapMut::from_bytes(&mut reference, w as u32, h as u32).expect("pixmap");
        let points: Vec<(f32, f32)> = under.lines[0].points.iter().map(|p| (p.x, p.y)).collect();
        let white = Paint { anti_alias: true, ..Paint::default() };
        let stroke = Stroke { width: 3.0, ..Stroke::default() };
        pm.stroke_path(&path(&points, false).expect("path"), &white, &stroke, Transform::identity(), None);
        for (got, want) in buf.chunks_exact(4).zip(reference.chunks_exact(4)) {
            assert_eq!(got[3] == 0, want[3] == 0, "painted where the stroke covers, nowhere else");
        }
    }

    /// The painting this module replaced, kept as the speed baseline: every shape
    /// painted by tiny-skia, blending its bytes, into an empty layer then blended over the
    /// map in linear light (a still view), or straight into the marker image (`into_layer`:
    /// a moving view's tints).
    fn bytes_then_layer(out: &mut [u8], w: usize, h: usize, under: &Under, into_layer: bool) {
        let mut own = Vec::new();
        let layer: &mut [u8] = if into_layer {
            out
        } else {
            own.resize(w * h * 4, 0);
            &mut own
        };
        let Some(mut pm) = PixmapMut::from_bytes(layer, w as u32, h as u32) else { return };
        let paint = |c: Color32| {
            let [r, g, b, a] = c.to_srgba_unmultiplied();
            let mut p = Paint::default();
            p.set_color_rgba8(r, g, b, a);
            p.anti_alias = true;
            p
        };
        for l in &under.lines {
            let points: Vec<(f32, f32)> = l.points.iter().map(|p| (p.x, p.y)).collect();
            let Some(p) = path(&points, l.closed) else { continue };
            pm.stroke_path(
                &p,
                &paint(l.color),
                &Stroke { width: l.width, ..Stroke::default() },
                Transform::identity(),
                None,
            );
        }
        for t in &under.tints {
            let points: Vec<(f32, f32)> = t.outline.iter().map(|p| (p.x, p.y)).collect();
            let Some(p) = path(&points, true) else { continue };
            pm.fill_path(&p, &paint(t.color), FillRule::Winding, Transform::identity(), None);
        }
        if into_layer {
            return;
        }
        let s = Srgb::get();
        for (d, l) in out.chunks_exact_mut(4).zip(own.chunks_exact(4)) {
            if l[3] != 0 {
                let inv = 1.0 - f32::from(l[3]) / 255.0;
                for i in 0..3 {
                    d[i] = s.encode(s.decode(l[i]) + s.decode(d[i]) * inv);
                }
            }
        }
    }

    /// Times painting views of the real map at 1280×720 against [`bytes_then_layer`], in
    /// the same run: a still view at street zoom and closer in (the lines the console
    /// draws there as vectors, up to 200 tinted cells, over the map) and a moving view of
    /// the whole city (200 tinted cells, into the empty marker image, every frame).
    /// `cargo test -p onegrid-console --lib painting_speed -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn painting_speed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../maps/xiamen");
        let city = onegrid_server::city::load(&dir).expect("the map");
        let model = crate::map::model::MapModel::new(&city.map.decode().expect("the map decodes"));
        let toggles = crate::map::LayerToggles::default();
        let (w, h) = (1280usize, 720usize);
        for (name, lonlat, m_per_pt, moving) in [
            ("street, still", (118.105, 24.462), 1.5, false),
            ("closer, still", (118.105, 24.462), 0.5, false),
            ("whole city, moving", (118.09, 24.46), 20.0, true),
        ] {
            let view = crate::view::MapView {
                center: model.projection.to_local(lonlat.0, lonlat.1),
                m_per_pt,
                viewport: bevy_egui::egui::Rect::from_min_size(
                    pos2(0.0, 0.0),
                    bevy_egui::egui::vec2(w as f32, h as f32),
                ),
                target: None,
            };
            let lines = if moving { Vec::new() } else { crate::map::draw::vector_lines(&view, &model, &toggles) };
            let visible = view.visible();
            let tints: Vec<TintShape> = model
                .cells
                .iter()
                .filter(|c| c.bounds.intersects(&visible))
                .step_by(3)
                .take(200)
                .map(|c| TintShape {
                    outline: c.ring.iter().map(|p| view.to_screen(*p)).collect(),
                    color: style::CELL_OPEN,
                })
                .collect();
            let under = Under { lines, tints };
            let base: Vec<u8> = if moving { vec![0; w * h * 4] } else { [24u8, 34, 46, 255].repeat(w * h) };
            let (mut old, mut new) = (Vec::new(), Vec::new());
            for _ in 0..15 {
                let mut b = base.clone();
                let t = std::time::Instant::now();
                bytes_then_layer(&mut b, w, h, &under, moving);
                old.push(t.elapsed().as_secs_f64() * 1000.0);
                let mut b = base.clone();
                let t = std::time::Instant::now();
                paint_under(&mut b, w, h, pos2(0.0, 0.0), 1.0, &under);
                new.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            let p50 = |v: &mut Vec<f64>| {
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            let (o, n) = (p50(&mut old), p50(&mut new));
            println!(
                "{name}: {} lines, {} tints; bytes blended p50 {o:.2} ms, linear shape by shape {n:.2} ms ({:.2}x)",
                under.lines.len(),
                under.tints.len(),
                n / o
            );
        }
    }
}
