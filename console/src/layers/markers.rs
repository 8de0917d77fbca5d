//! Unit markers rasterised on the CPU into one screen-sized image: on software Vulkan each
//! small quad costs microseconds, so ten thousand markers as GPU primitives cannot hold a
//! frame, while stamping pre-drawn sprites into a buffer and uploading it once can. The
//! batch (where each marker goes, which sprite) is computed first and tested on its own;
//! a large batch is stamped in horizontal bands, one thread per core.
//! What lies under the markers (vector lines, tinted cells) is painted first, by
//! [`crate::layers::paint`].

use tiny_skia::{FillRule, Paint, PathBuilder, Pixmap, Stroke, Transform};

use crate::style;
use crate::view::{MapView, Projection};
use onegrid_protocol::UnitStatus;

/// Heading steps per sprite set.
pub const HEADINGS: usize = 16;
const STATUSES: [UnitStatus; 4] =
    [UnitStatus::Available, UnitStatus::EnRoute, UnitStatus::OnScene, UnitStatus::OffDuty];

/// One marker: its centre in image pixels and its sprite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Marker {
    /// Centre, x pixels.
    pub x: f32,
    /// Centre, y pixels.
    pub y: f32,
    /// Index into the sprite table.
    pub sprite: u16,
}

/// The sprite of a status, unit kind (team or not) and heading.
pub fn sprite_index(status: UnitStatus, team: bool, heading_deg: f32) -> u16 {
    let s = STATUSES.iter().position(|x| *x == status).unwrap_or(0);
    let h = ((heading_deg.rem_euclid(360.0) / 360.0 * HEADINGS as f32).round() as usize) % HEADINGS;
    ((s * 2 + usize::from(team)) * HEADINGS + h) as u16
}

/// How large unit markers are drawn at a zoom (metres a point), as a share of their full
/// size: full from street zoom to a whole district (Siming opens at about 20 m a point),
/// three quarters around a few districts (the island and Haicang, about 40), half at a whole
/// city (about 70). Thousands of field units then read as a texture under the incidents
/// instead of covering them, as the map itself shows less detail farther out. In steps, so
/// that the sprites are drawn anew only twice over a whole zoom.
pub fn zoom_share(m_per_pt: f64) -> f32 {
    if m_per_pt <= 30.0 {
        1.0
    } else if m_per_pt <= 55.0 {
        0.75
    } else {
        0.5
    }
}

/// Pre-drawn sprites: premultiplied RGBA squares of `size` pixels.
#[derive(Debug, Clone)]
pub struct Sprites {
    /// Side, pixels.
    pub size: usize,
    /// One buffer per sprite, `size * size * 4` bytes.
    pub rgba: Vec<Vec<u8>>,
    /// Per sprite, its visible pixels as runs along rows (see [`spans`]).
    pub spans: Vec<Vec<Span>>,
}

/// A run of visible pixels on one row of a sprite, all opaque or all translucent:
/// stamping copies an opaque run and blends a translucent one, and never visits the
/// transparent pixels around a marker's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Row.
    pub y: u16,
    /// First pixel.
    pub x0: u16,
    /// One past the last.
    pub x1: u16,
    /// Every pixel has alpha 255.
    pub opaque: bool,
}

/// The runs of a `size × size` RGBA sprite: maximal runs of non-zero alpha on each row,
/// split where opacity changes.
pub fn spans(rgba: &[u8], size: usize) -> Vec<Span> {
    let alpha = |x: usize, y: usize| rgba.get((y * size + x) * 4 + 3).copied().unwrap_or(0);
    let mut out = Vec::new();
    for y in 0..size {
        let mut x = 0;
        while x < size {
            let a = alpha(x, y);
            if a == 0 {
                x += 1;
                continue;
            }
            let opaque = a == 255;
            let start = x;
            while x < size && alpha(x, y) != 0 && (alpha(x, y) == 255) == opaque {
                x += 1;
            }
            out.push(Span { y: y as u16, x0: start as u16, x1: x as u16, opaque });
        }
    }
    out
}

impl Sprites {
    /// Draws every sprite at `scale` (pixels per point).
    pub fn new(scale: f32) -> Self {
        let r = 4.5 * scale;
        let size = (2.0 * r + 6.0 * scale).ceil() as usize | 1;
        let c = size as f32 / 2.0;
        let mut rgba = Vec::new();
        for status in STATUSES {
            for team in [false, true] {
                for h in 0..HEADINGS {
                    let mut pm =
                        Pixmap::new(size as u32, size as u32).unwrap_or_else(|| Pixmap::new(1, 1).expect("pixmap"));
                    let col = style::unit_color(status);
                    let mut fill = Paint::default();
                    fill.set_color_rgba8(col.r(), col.g(), col.b(), 255);
                    fill.anti_alias = true;
                    let mut dark = Paint::default();
                    dark.set_color_rgba8(10, 15, 20, 230);
                    dark.anti_alias = true;
                    let angle = (h as f32 / HEADINGS as f32) * std::f32::consts::TAU;
                    let (sx, sy) = (angle.sin(), -angle.cos());
                    // The heading tick: a small triangle beyond the body.
                    let mut pb = PathBuilder::new();
                    let tip = (c + sx * (r + 2.8 * scale), c + sy * (r + 2.8 * scale));
                    let (px, py) = (-sy, sx);
                    pb.move_to(tip.0, tip.1);
                    pb.line_to(c + sx * r * 0.5 + px * r * 0.7, c + sy * r * 0.5 + py * r * 0.7);
                    pb.line_to(c + sx * r * 0.5 - px * r * 0.7, c + sy * r * 0.5 - py * r * 0.7);
                    pb.close();
                    if let Some(p) = pb.finish() {
                        pm.fill_path(&p, &dark, FillRule::Winding, Transform::identity(), None);
                    }
                    let body = if team {
                        tiny_skia::Rect::from_xywh(c - r * 0.85, c - r * 0.85, r * 1.7, r * 1.7)
                            .map(PathBuilder::from_rect)
                    } else {
                        PathBuilder::from_circle(c, c, r)
                    };
                    if let Some(p) = body {
                        pm.fill_path(&p, &fill, FillRule::Winding, Transform::identity(), None);
                        let s = Stroke { width: 1.2 * scale, ..Stroke::default() };
                        pm.stroke_path(&p, &dark, &s, Transform::identity(), None);
                    }
                    rgba.push(pm.take());
                }
            }
        }
        let spans = rgba.iter().map(|s| spans(s, size)).collect();
        Sprites { size, rgba, spans }
    }
}

/// Where each unit goes on an image of `width × height` pixels showing `view` at `ppp`
/// pixels per point; units outside are left out.
pub fn batch<'a>(
    view: &MapView,
    projection: &Projection,
    ppp: f32,
    width: usize,
    height: usize,
    margin: f32,
    units: impl Iterator<Item = ([f64; 2], UnitStatus, bool, f32)> + 'a,
) -> Vec<Marker> {
    // Longitude and latitude to image pixels is affine per axis: one multiply and add each
    // (the projection, then the view's `to_screen`, then the image's origin and scale).
    let (scale, offset) = projection.affine();
    let (c, origin, k) = (view.viewport.center(), view.viewport.min, f64::from(ppp) / view.m_per_pt);
    let kx = scale[0] * k;
    let ky = -scale[1] * k;
    let ax = f64::from(c.x - origin.x) * f64::from(ppp) + (offset[0] - view.center[0]) * k;
    let ay = f64::from(c.y - origin.y) * f64::from(ppp) - (offset[1] - view.center[1]) * k;
    let (right, bottom) = (width as f32 + margin, height as f32 + margin);
    let mut out = Vec::new();
    // `for_each`, not `collect`: an ECS query iterates its tables densely inside `fold`.
    units.for_each(|(lonlat, status, team, heading)| {
        let (x, y) = ((lonlat[0] * kx + ax) as f32, (lonlat[1] * ky + ay) as f32);
        if x > -margin && y > -margin && x < right && y < bottom {
            out.push(Marker { x, y, sprite: sprite_index(status, team, heading) });
        }
    });
    out
}

/// Stamps the markers, premultiplied, over an RGBA buffer of `width × height` (zeroed for
/// the marker image, the map for a still view's copy), run by run. Large batches are
/// stamped in horizontal bands on as many threads as the machine has cores: each band
/// stamps every marker that reaches into it, clipped to its rows, so the pixels are the
/// same as one thread's.
pub fn rasterise(buf: &mut [u8], width: usize, height: usize, sprites: &Sprites, markers: &[Marker]) {
    in_bands(buf, width, height, bands(height, markers.len()), |part, top, rows| {
        stamp_band(part, width, top, rows, sprites, markers);
    });
}

/// A copy of `base` (`width × height` RGBA) with the markers stamped over it, as
/// [`rasterise`] would; the copying is shared out among the bands too.
pub fn compose(base: &[u8], width: usize, height: usize, sprites: &Sprites, markers: &[Marker]) -> Vec<u8> {
    let mut out = vec![0u8; base.len()];
    in_bands(&mut out, width, height, bands(height, markers.len()), |part, top, rows| {
        let at = top * width * 4;
        if let Some(src) = base.get(at..at + part.len()) {
            part.copy_from_slice(src);
        }
        stamp_band(part, width, top, rows, sprites, markers);
    });
    out
}

/// Runs `f(part, top, rows)` over `bands` horizontal bands of an RGBA image, the first on
/// the calling thread and each other on a thread of its own; a band whose thread cannot
/// be started is done on the calling thread afterwards.
fn in_bands(buf: &mut [u8], width: usize, height: usize, bands: usize, f: impl Fn(&mut [u8], usize, usize) + Sync) {
    if bands <= 1 || width == 0 {
        f(buf, 0, height);
        return;
    }
    let rows = height.div_ceil(bands);
    let band_bytes = rows * width * 4;
    let f = &f;
    let mut refused = Vec::new();
    std::thread::scope(|scope| {
        let mut parts = buf.chunks_mut(band_bytes).enumerate();
        let first = parts.next();
        for (i, part) in parts {
            let spawned = std::thread::Builder::new()
                .name("onegrid-stamp".into())
                .spawn_scoped(scope, move || f(part, i * rows, rows));
            if let Err(e) = spawned {
                bevy::log::warn_once!("cannot start a stamping thread ({e}); stamping on one");
                refused.push(i);
            }
        }
        if let Some((_, part)) = first {
            f(part, 0, rows);
        }
    });
    for i in refused {
        if let Some(part) = buf.chunks_mut(band_bytes).nth(i) {
            f(part, i * rows, rows);
        }
    }
}

/// Bands to stamp `markers` markers into an image `height` rows high: one per core, one
/// for a small batch (a thread costs more than it saves there).
fn bands(height: usize, markers: usize) -> usize {
    if markers < 2_000 || height < 64 {
        return 1;
    }
    // Asked once: on Linux the answer reads the cgroup's files.
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let cores = *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from));
    cores.min(height / 32)
}

/// Stamps the markers into the rows `top .. top + rows` of the image (clipped to those in
/// `band`, which holds them).
fn stamp_band(band: &mut [u8], width: usize, top: usize, rows: usize, sprites: &Sprites, markers: &[Marker]) {
    let n = sprites.size as i64;
    let half = n / 2;
    let w = width as i64;
    let (top, bottom) = (top as i64, (top + rows.min(band.len() / (width * 4).max(1))) as i64);
    for m in markers {
        let i = usize::from(m.sprite);
        let (Some(sprite), Some(runs)) = (sprites.rgba.get(i), sprites.spans.get(i)) else { continue };
        let (x0, y0) = (m.x.round() as i64 - half, m.y.round() as i64 - half);
        if x0 >= w || y0 >= bottom || x0 + n <= 0 || y0 + n <= top {
            continue;
        }
        for s in runs {
            let y = y0 + i64::from(s.y);
            let (a, b) = ((x0 + i64::from(s.x0)).max(0), (x0 + i64::from(s.x1)).min(w));
            if y < top || y >= bottom || a >= b {
                continue;
            }
            let dst_at = ((y - top) * w + a) as usize * 4;
            let src_at = (i64::from(s.y) * n + (a - x0)) as usize * 4;
            let len = (b - a) as usize * 4;
            let dst = &mut band[dst_at..dst_at + len];
            let src = &sprite[src_at..src_at + len];
            if s.opaque {
                dst.copy_from_slice(src);
                continue;
            }
            for (d, s) in dst.chunks_exact_mut(4).zip(src.chunks_exact(4)) {
                let inv = 255 - u32::from(s[3]);
                for i in 0..4 {
                    d[i] = (u32::from(s[i]) + (u32::from(d[i]) * inv + 127) / 255) as u8;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Under;
    use crate::layers::paint::paint_under;
    use crate::map::draw::{TintShape, VectorLine};
    use bevy_egui::egui::{Rect, pos2};

    fn px(buf: &[u8], w: usize, x: usize, y: usize) -> [u8; 4] {
        buf[(y * w + x) * 4..][..4].try_into().unwrap_or_default()
    }

    #[test]
    fn tints_lie_under_the_markers_stamped_after_them() {
        let (w, h) = (64, 48);
        let mut buf = vec![0u8; w * h * 4];
        // A tint over the left half, outlined in points at 2 pixels a point from (10, 5).
        let outline = vec![pos2(10.0, 5.0), pos2(26.0, 5.0), pos2(26.0, 29.0), pos2(10.0, 29.0)];
        let tint = TintShape { outline, color: style::CELL_OVERDUE };
        paint_under(&mut buf, w, h, pos2(10.0, 5.0), 2.0, &Under { lines: vec![], tints: vec![tint] });
        let c = style::CELL_OVERDUE;
        let painted = px(&buf, w, 5, 40);
        for (got, want) in painted.iter().zip([c.r(), c.g(), c.b(), c.a()]) {
            assert!(got.abs_diff(want) <= 1, "tint pixel {painted:?} is {c:?}");
        }
        assert_eq!(px(&buf, w, 40, 20), [0; 4], "right of the tint nothing is painted");
        // A marker whose centre lies in the tint covers it there.
        let s = Sprites::new(1.0);
        let m = Marker { x: 16.0, y: 20.0, sprite: 0 };
        rasterise(&mut buf, w, h, &s, &[m]);
        let half = s.size / 2;
        let centre = px(&s.rgba[0], s.size, half, half);
        assert_eq!(centre[3], 255, "the sprite's centre is opaque");
        assert_eq!(px(&buf, w, 16, 20), centre, "the marker lies over the tint");
    }

    #[test]
    fn lines_lie_under_the_tints_and_both_under_the_markers() {
        let (w, h) = (64, 32);
        let mut buf = vec![0u8; w * h * 4];
        let c = style::DISTRICT_LINE;
        // A 3-point line along y = 16 across the image, a tint over its right half.
        let line = VectorLine { points: vec![pos2(0.0, 16.0), pos2(64.0, 16.0)], closed: false, width: 3.0, color: c };
        let outline = vec![pos2(40.0, 0.0), pos2(64.0, 0.0), pos2(64.0, 32.0), pos2(40.0, 32.0)];
        let tint = TintShape { outline, color: style::CELL_OPEN };
        paint_under(&mut buf, w, h, pos2(0.0, 0.0), 1.0, &Under { lines: vec![line], tints: vec![tint] });
        assert_eq!(px(&buf, w, 10, 16), [c.r(), c.g(), c.b(), 255], "the line, opaque");
        assert_eq!(px(&buf, w, 10, 4), [0; 4], "off the line nothing");
        let t = style::CELL_OPEN;
        let over = px(&buf, w, 50, 16);
        assert_ne!(over, [c.r(), c.g(), c.b(), 255], "the tint lies over the line");
        let mut want = [c.r(), c.g(), c.b(), 255];
        crate::layers::paint::blend_pixel(&mut want, t, 255, crate::layers::paint::Srgb::get());
        assert_eq!(over, want, "tint over line, blended in linear light");
        let s = Sprites::new(1.0);
        rasterise(&mut buf, w, h, &s, &[Marker { x: 10.0, y: 16.0, sprite: 0 }]);
        let half = s.size / 2;
        assert_eq!(px(&buf, w, 10, 16), px(&s.rgba[0], s.size, half, half), "the marker over the line");
    }

    #[test]
    fn sprites_differ_by_status_kind_and_heading() {
        let a = sprite_index(UnitStatus::Available, false, 0.0);
        assert_ne!(a, sprite_index(UnitStatus::EnRoute, false, 0.0));
        assert_ne!(a, sprite_index(UnitStatus::Available, true, 0.0));
        assert_ne!(a, sprite_index(UnitStatus::Available, false, 90.0));
        assert_eq!(a, sprite_index(UnitStatus::Available, false, 360.0));
        let s = Sprites::new(1.0);
        assert_eq!(s.rgba.len(), 4 * 2 * HEADINGS);
        assert!(s.rgba.iter().all(|b| b.len() == s.size * s.size * 4));
    }

    #[test]
    fn markers_shrink_as_the_view_takes_in_more_of_the_city() {
        let shares: Vec<f32> = [2.0, 20.0, 30.0, 40.0, 70.0, 500.0].into_iter().map(zoom_share).collect();
        assert_eq!(shares, [1.0, 1.0, 1.0, 0.75, 0.5, 0.5]);
        // Smaller sprites, and still every one drawn: a body and its heading tick.
        let (full, half) = (Sprites::new(1.0), Sprites::new(zoom_share(70.0)));
        let covered = |s: &Sprites| -> usize { s.spans[0].iter().map(|r| usize::from(r.x1 - r.x0)).sum() };
        let (a, b) = (covered(&half) as f64, covered(&full) as f64);
        assert!((0.2..0.45).contains(&(a / b)), "half the size, about a third of the pixels: {a} of {b}");
        assert!(half.spans.iter().all(|s| !s.is_empty()));
    }

    #[test]
    fn batch_places_units_on_the_image_and_drops_those_outside() {
        let p = Projection::new(118.0, 24.0);
        let view = MapView {
            center: [0.0, 0.0],
            m_per_pt: 1.0,
            viewport: Rect::from_min_max(pos2(100.0, 50.0), pos2(300.0, 150.0)),
            target: None,
        };
        let here = p.to_lonlat([10.0, 20.0]);
        let far = p.to_lonlat([5_000.0, 0.0]);
        let units = vec![(here, UnitStatus::Available, false, 0.0), (far, UnitStatus::Available, false, 0.0)];
        let b = batch(&view, &p, 2.0, 400, 200, 8.0, units.into_iter());
        assert_eq!(b.len(), 1);
        // Centre of a 200×100 pt viewport at 2 px/pt is (200, 100) px; 10 m east, 20 m north.
        assert!((b[0].x - 220.0).abs() < 0.01 && (b[0].y - 60.0).abs() < 0.01, "{:?}", b[0]);
    }

    #[test]
    fn the_batch_places_units_where_the_view_draws_everything_else() {
        // The batch folds the projection and the view into one affine map per axis; it
        // must agree with `to_screen` (which the map, symbols and picking use) at every
        // zoom, away from the centre and the projection's reference alike.
        let p = Projection::new(118.14, 24.48);
        for (m_per_pt, center, ppp) in
            [(0.25, [1_500.0, -800.0], 1.0), (3.0, [-4_000.0, 2_500.0], 1.5), (200.0, [0.0, 0.0], 2.0)]
        {
            let view = MapView {
                center,
                m_per_pt,
                viewport: Rect::from_min_max(pos2(240.0, 30.0), pos2(1_040.0, 630.0)),
                target: None,
            };
            let (w, h) = ((800.0 * ppp) as usize, (600.0 * ppp) as usize);
            for i in 0..200 {
                let (dx, dy) = (f64::from(i % 20) / 19.0 - 0.5, f64::from(i / 20) / 9.0 - 0.5);
                let local = [center[0] + dx * 800.0 * m_per_pt, center[1] + dy * 600.0 * m_per_pt];
                let ll = p.to_lonlat(local);
                let b = batch(&view, &p, ppp, w, h, 1e6, [(ll, UnitStatus::Available, false, 0.0)].into_iter());
                let s = view.to_screen(p.to_local(ll[0], ll[1]));
                let (x, y) = ((s.x - 240.0) * ppp, (s.y - 30.0) * ppp);
                assert!((b[0].x - x).abs() < 0.01 && (b[0].y - y).abs() < 0.01, "{:?} against ({x}, {y})", b[0]);
            }
        }
    }

    #[test]
    fn runs_cover_every_visible_sprite_pixel_once() {
        for scale in [1.0, 1.5, 2.0] {
            let s = Sprites::new(scale);
            for (rgba, runs) in s.rgba.iter().zip(&s.spans) {
                let visible = rgba.chunks_exact(4).filter(|p| p[3] > 0).count();
                let covered: usize = runs.iter().map(|r| usize::from(r.x1 - r.x0)).sum();
                assert_eq!(covered, visible);
                for r in runs {
                    let row = &rgba[usize::from(r.y) * s.size * 4..][..s.size * 4];
                    let all = (r.x0..r.x1).all(|x| {
                        let a = row[usize::from(x) * 4 + 3];
                        a > 0 && (a == 255) == r.opaque
                    });
                    assert!(all, "{r:?}");
                }
            }
        }
    }

    #[test]
    fn stamping_many_overlapping_markers_matches_pixel_by_pixel() {
        let sprites = Sprites::new(1.5);
        let (w, h) = (97, 61);
        let mut rng = onegrid_server::rng::Rng::new(7);
        let markers: Vec<Marker> = (0..400)
            .map(|_| Marker {
                x: rng.f64() as f32 * 130.0 - 15.0,
                y: rng.f64() as f32 * 90.0 - 15.0,
                sprite: rng.below(sprites.rgba.len()) as u16,
            })
            .collect();
        // Over an opaque base, as the still view's copy stamps them.
        let base: Vec<u8> = (0..w * h * 4).map(|i| if i % 4 == 3 { 255 } else { (i * 7 % 251) as u8 }).collect();
        let (mut fast, mut naive) = (base.clone(), base);
        rasterise(&mut fast, w, h, &sprites, &markers);
        stamp_per_pixel_with_shortcuts(&mut naive, w, h, &sprites, &markers);
        assert!(fast == naive);
    }

    #[test]
    fn stamping_in_bands_matches_one_thread_to_the_byte() {
        // Enough markers to be banded, many straddling the bands' edges, some half off the
        // image; an image whose height the bands do not divide evenly.
        let sprites = Sprites::new(1.0);
        let (w, h) = (203, 157);
        let mut rng = onegrid_server::rng::Rng::new(11);
        let markers: Vec<Marker> = (0..3_000)
            .map(|_| Marker {
                x: rng.f64() as f32 * 230.0 - 15.0,
                y: rng.f64() as f32 * 185.0 - 15.0,
                sprite: rng.below(sprites.rgba.len()) as u16,
            })
            .collect();
        let base: Vec<u8> = (0..w * h * 4).map(|i| if i % 4 == 3 { 255 } else { (i * 13 % 241) as u8 }).collect();
        let base_copy = base.clone();
        let (mut banded, mut one, mut naive) = (base.clone(), base.clone(), base);
        rasterise(&mut banded, w, h, &sprites, &markers);
        stamp_band(&mut one, w, 0, h, &sprites, &markers);
        stamp_per_pixel_with_shortcuts(&mut naive, w, h, &sprites, &markers);
        assert!(one == naive, "one band is the whole image");
        assert!(banded == one, "bands stamp exactly what one thread does");
        // Forced into more bands than the machine has cores, uneven ones included.
        for n in [2, 3, 5] {
            let rows = h.div_ceil(n);
            let mut fresh = base_copy.clone();
            for (i, part) in fresh.chunks_mut(rows * w * 4).enumerate() {
                stamp_band(part, w, i * rows, rows, &sprites, &markers);
            }
            assert!(fresh == one, "{n} bands");
        }
        assert_eq!(bands(h, 100), 1, "a small batch is stamped on the calling thread");
        // Composed over a base that is left as it was, copied band by band: the same.
        assert!(compose(&base_copy, w, h, &sprites, &markers) == one, "composed in bands");
        let (few, mut alone) = (&markers[..50], base_copy.clone());
        stamp_band(&mut alone, w, 0, h, &sprites, few);
        assert!(compose(&base_copy, w, h, &sprites, few) == alone, "composed on one thread");
        assert_ne!(alone, base_copy);
    }

    /// The stamping runs replaced: pixel by pixel over each sprite's square, skipping clear
    /// pixels and copying opaque ones. What runs must reproduce exactly, and the baseline of
    /// [`stamping_speed`].
    fn stamp_per_pixel_with_shortcuts(
        buf: &mut [u8],
        width: usize,
        height: usize,
        sprites: &Sprites,
        markers: &[Marker],
    ) {
        let n = sprites.size as i64;
        let half = n / 2;
        for m in markers {
            let Some(sprite) = sprites.rgba.get(usize::from(m.sprite)) else { continue };
            let (x0, y0) = (m.x.round() as i64 - half, m.y.round() as i64 - half);
            let (sx0, sy0) = ((-x0).max(0), (-y0).max(0));
            let (sx1, sy1) = (n.min(width as i64 - x0), n.min(height as i64 - y0));
            if sx0 >= sx1 || sy0 >= sy1 {
                continue;
            }
            for sy in sy0..sy1 {
                let dst_row = ((y0 + sy) as usize * width + (x0 + sx0) as usize) * 4;
                let src_row = (sy * n + sx0) as usize * 4;
                let len = (sx1 - sx0).max(0) as usize * 4;
                let dst = &mut buf[dst_row..dst_row + len];
                let src = &sprite[src_row..src_row + len];
                for (d, s) in dst.chunks_exact_mut(4).zip(src.chunks_exact(4)) {
                    let a = u32::from(s[3]);
                    if a == 0 {
                        continue;
                    }
                    if a == 255 {
                        d.copy_from_slice(s);
                        continue;
                    }
                    let inv = 255 - a;
                    for i in 0..4 {
                        d[i] = (u32::from(s[i]) + (u32::from(d[i]) * inv + 127) / 255) as u8;
                    }
                }
            }
        }
    }

    /// A benchmark, not a test (BENCHMARKS.md): 10,000 and 100,000 markers on a 1000×700
    /// image, stamped by runs on one thread and in bands (one per core) against the
    /// pixel-by-pixel stamping runs replaced, in the same run.
    /// `cargo test -p onegrid-console --lib stamping_speed -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn stamping_speed() {
        let sprites = Sprites::new(1.0);
        let (w, h) = (1000, 700);
        let base = vec![128u8; w * h * 4];
        for count in [10_000, 100_000] {
            let mut rng = onegrid_server::rng::Rng::new(7);
            let markers: Vec<Marker> = (0..count)
                .map(|_| Marker {
                    x: rng.range(150.0, 850.0) as f32,
                    y: rng.range(150.0, 550.0) as f32,
                    sprite: rng.below(sprites.rgba.len()) as u16,
                })
                .collect();
            let (mut pixels, mut runs, mut banded) = (Vec::new(), Vec::new(), Vec::new());
            let time = |out: &mut Vec<f64>, f: &dyn Fn(&mut [u8])| {
                let mut b = base.clone();
                let t = std::time::Instant::now();
                f(&mut b);
                out.push(t.elapsed().as_secs_f64() * 1000.0);
            };
            for _ in 0..21 {
                time(&mut pixels, &|b| stamp_per_pixel_with_shortcuts(b, w, h, &sprites, &markers));
                time(&mut runs, &|b| stamp_band(b, w, 0, h, &sprites, &markers));
                time(&mut banded, &|b| rasterise(b, w, h, &sprites, &markers));
            }
            let p50 = |v: &mut Vec<f64>| {
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            let (p, r, b) = (p50(&mut pixels), p50(&mut runs), p50(&mut banded));
            println!(
                "stamping {count} markers, p50: pixel by pixel {p:.2} ms; by runs {r:.2} ms ({:.2}x); by runs in {} bands {b:.2} ms ({:.2}x)",
                r / p,
                bands(h, count),
                b / p
            );
        }
    }

    #[test]
    fn rasterise_stamps_sprites_and_clips_at_the_edges() {
        let sprites = Sprites::new(1.0);
        let (w, h) = (64, 32);
        let mut buf = vec![0u8; w * h * 4];
        let sprite = sprite_index(UnitStatus::Available, false, 0.0);
        let markers = [
            Marker { x: 20.0, y: 16.0, sprite },
            Marker { x: -2.0, y: 31.0, sprite },
            Marker { x: 70.0, y: 16.0, sprite },
            Marker { x: 20.0, y: 40.0, sprite },
            Marker { x: -20.0, y: -20.0, sprite },
        ];
        rasterise(&mut buf, w, h, &sprites, &markers);
        let mut naive = vec![0u8; w * h * 4];
        stamp_per_pixel_with_shortcuts(&mut naive, w, h, &sprites, &markers);
        assert!(buf == naive, "runs stamp exactly what pixel-by-pixel stamping did");
        let at = |x: usize, y: usize| buf[(y * w + x) * 4 + 3];
        assert_eq!(at(20, 16), 255, "the centre of a marker is opaque");
        assert_eq!(at(50, 5), 0, "elsewhere stays clear");
        assert!(at(0, 31) > 0, "a marker half off the edge is drawn where it is on");
        // The three wholly outside (right, below, above-left) are skipped without a panic.
        let c = style::unit_color(UnitStatus::Available);
        let i = (16 * w + 20) * 4;
        assert_eq!(&buf[i..i + 3], &[c.r(), c.g(), c.b()]);
    }
}
