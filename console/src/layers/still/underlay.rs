//! The map under a still view's markers: the map image resampled on the CPU (bilinear,
//! like the backdrop's sampler) into the viewport's pixels over the sea, once per view, on
//! a worker thread; kept while the view stays. Vector lines and tinted cells are blended
//! over it in linear light, as the backdrop's shader blends them while the view moves, on
//! a worker thread too (at street zoom painting them takes about 10 ms), once per view and
//! again when the tints change.

use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use bevy::prelude::*;
use bevy_egui::egui;

use crate::layers::Under;
use crate::layers::backdrop::map_uv;
use crate::map::{LayerTexture, Raster};
use crate::view::MapView;

/// What the underlay was resampled for.
#[derive(Debug, Clone, PartialEq)]
struct UnderlayKey {
    view: MapView,
    map: Option<AssetId<Image>>,
    size: (usize, usize),
}

/// A resampling under way on a worker thread: what it is for, and where its pixels (and
/// the milliseconds they took) arrive.
type Pending = (UnderlayKey, Mutex<mpsc::Receiver<(Vec<u8>, f64)>>);

/// The underlay with what lies over it (lines, tints), painted for one underlay.
struct Layer {
    /// The underlay's generation it was painted on.
    base: u64,
    under: Under,
    pixels: Arc<Vec<u8>>,
    generation: u64,
}

/// Lines and tints being painted over the underlay on a worker thread.
struct LayerJob {
    base: u64,
    under: Under,
    rx: Mutex<mpsc::Receiver<Vec<u8>>>,
}

/// The map under the markers for the current still view, kept while the view stays.
#[derive(Default, Resource)]
pub struct Underlay {
    key: Option<UnderlayKey>,
    pending: Option<Pending>,
    /// Opaque sRGB RGBA of the viewport's pixels.
    pub pixels: Arc<Vec<u8>>,
    /// Changes each time the pixels are resampled.
    pub generation: u64,
    /// Time the last resampling took (on its worker thread), milliseconds.
    pub resample_ms: f64,
    layer: Option<Layer>,
    job: Option<LayerJob>,
    /// Generations handed out, to the underlay and its layers alike.
    counter: u64,
}

impl Underlay {
    /// The underlay's generation once it shows `view` at `w × h` pixels with `map` (its
    /// image and where it lies on screen). Otherwise none: the resampling starts (or goes
    /// on) on a worker thread, so that the frame the view stops in is not held up, and the
    /// backdrop shades the viewport until it is done.
    pub fn ready(
        &mut self,
        view: &MapView,
        map: Option<&(LayerTexture, egui::Rect)>,
        w: usize,
        h: usize,
    ) -> Option<u64> {
        let key = UnderlayKey { view: *view, map: map.map(|(t, _)| t.handle.id()), size: (w, h) };
        if self.key.as_ref() == Some(&key) {
            return Some(self.generation);
        }
        if let Some((k, rx)) = &self.pending
            && *k == key
        {
            let got = rx.lock().map_or(Err(mpsc::TryRecvError::Disconnected), |rx| rx.try_recv());
            match got {
                Ok((pixels, ms)) => {
                    self.pixels = Arc::new(pixels);
                    self.key = Some(key);
                    self.pending = None;
                    self.counter += 1;
                    self.generation = self.counter;
                    self.resample_ms = ms;
                    return Some(self.generation);
                }
                Err(mpsc::TryRecvError::Empty) => return None,
                Err(mpsc::TryRecvError::Disconnected) => {}
            }
        }
        let sea = crate::style::SEA;
        let sea = [sea.r(), sea.g(), sea.b()];
        let src = match map {
            Some((t, at)) => Some((t.raster.clone()?, map_uv(view.viewport, *at))),
            None => None,
        };
        let (tx, rx) = mpsc::channel();
        let job = move || {
            let started = Instant::now();
            let pixels = underlay(w, h, src.as_ref().map(|(r, uv)| (&**r, *uv)), sea);
            // The view may have moved on meanwhile: then nobody listens.
            let _ = tx.send((pixels, started.elapsed().as_secs_f64() * 1000.0));
        };
        if let Err(e) = std::thread::Builder::new().name("onegrid-underlay".into()).spawn(job) {
            warn_once!("cannot start the underlay thread ({e}); still views are shaded");
            self.pending = None;
            return None;
        }
        self.pending = Some((key, Mutex::new(rx)));
        None
    }

    /// What markers are stamped on once [`Underlay::ready`] said the underlay is: the
    /// underlay with `under` painted over it (placed by the viewport's top-left `origin`,
    /// at `ppp` pixels per point), and its generation. Painting runs on a worker thread,
    /// one painting at a time; meanwhile the last painting over the same underlay is handed
    /// out (the tints catch up a few frames late), or, where there is none (a view just
    /// come to rest), none: the backdrop shades the viewport until it is done.
    pub fn with_under(&mut self, under: &Under, origin: egui::Pos2, ppp: f32) -> Option<(u64, Arc<Vec<u8>>)> {
        if under.is_empty() {
            return Some((self.generation, self.pixels.clone()));
        }
        let base = self.generation;
        if let Some(job) = self.job.take() {
            let got = job.rx.lock().map_or(Err(mpsc::TryRecvError::Disconnected), |rx| rx.try_recv());
            match got {
                Ok(pixels) if job.base == base => {
                    self.counter += 1;
                    self.layer =
                        Some(Layer { base, under: job.under, pixels: Arc::new(pixels), generation: self.counter });
                }
                // Painted over an underlay since replaced.
                Ok(_) => {}
                Err(mpsc::TryRecvError::Empty) => {
                    self.job = Some(job);
                    return self.stale();
                }
                Err(mpsc::TryRecvError::Disconnected) => {
                    warn_once!("painting lines and tints over a still view failed; painting again");
                }
            }
        }
        if let Some(l) = self.layer.as_ref().filter(|l| l.base == base && l.under == *under) {
            return Some((l.generation, l.pixels.clone()));
        }
        let (w, h) = self.key.as_ref().map(|k| k.size)?;
        let (tx, rx) = mpsc::channel();
        let (pixels, job_under) = (self.pixels.clone(), under.clone());
        let job = move || {
            // The view or the tints may have moved on meanwhile: then nobody listens.
            let _ = tx.send(tinted(&pixels, w, h, origin, ppp, &job_under));
        };
        if let Err(e) = std::thread::Builder::new().name("onegrid-tints".into()).spawn(job) {
            warn_once!("cannot start a painting thread ({e}); still views with lines or tints are shaded");
            return None;
        }
        self.job = Some(LayerJob { base, under: under.clone(), rx: Mutex::new(rx) });
        self.stale()
    }

    /// The last painting over the current underlay, whatever lay under the markers then.
    fn stale(&self) -> Option<(u64, Arc<Vec<u8>>)> {
        self.layer.as_ref().filter(|l| l.base == self.generation).map(|l| (l.generation, l.pixels.clone()))
    }
}

/// Where one output pixel samples an image axis: the two texels either side and the
/// second's weight out of 256; none outside the image (sea).
fn axis_taps(n: usize, len: u32, uv0: f32, uv1: f32) -> Vec<Option<(usize, usize, u32)>> {
    let last = len.max(1) as i64 - 1;
    (0..n)
        .map(|i| {
            let u = uv0 + (i as f32 + 0.5) / n as f32 * (uv1 - uv0);
            if !(0.0..=1.0).contains(&u) {
                return None;
            }
            // Texel centres lie at half-integers; clamp to the edge, as the GPU's sampler.
            let t = u * len as f32 - 0.5;
            let f = t.floor();
            let w = ((t - f) * 256.0).round() as u32;
            let a = (f as i64).clamp(0, last) as usize;
            let b = (f as i64 + 1).clamp(0, last) as usize;
            Some((a, b, w.min(256)))
        })
        .collect()
}

/// The map image resampled (bilinear, clamped at its edges, like the backdrop's sampler)
/// onto `w × h` viewport pixels over the sea: opaque sRGB RGBA. `map` is the image and
/// its uv at the viewport's top-left (xy) and bottom-right (zw); outside it, sea.
pub fn underlay(w: usize, h: usize, map: Option<(&Raster, Vec4)>, sea: [u8; 3]) -> Vec<u8> {
    let sea_px = [sea[0], sea[1], sea[2], 255];
    let mut out = vec![0u8; w * h * 4];
    let Some((r, uv)) =
        map.filter(|(r, _)| r.width > 0 && r.height > 0 && r.rgba.len() >= (r.width * r.height * 4) as usize)
    else {
        out.chunks_exact_mut(4).for_each(|p| p.copy_from_slice(&sea_px));
        return out;
    };
    let cols = axis_taps(w, r.width, uv.x, uv.z);
    let rows = axis_taps(h, r.height, uv.y, uv.w);
    let stride = r.width as usize * 4;
    for (y, row) in rows.iter().enumerate() {
        let line = &mut out[y * w * 4..(y + 1) * w * 4];
        let Some((y0, y1, fy)) = *row else {
            line.chunks_exact_mut(4).for_each(|p| p.copy_from_slice(&sea_px));
            continue;
        };
        let (r0, r1) = (&r.rgba[y0 * stride..(y0 + 1) * stride], &r.rgba[y1 * stride..(y1 + 1) * stride]);
        for (p, col) in line.chunks_exact_mut(4).zip(&cols) {
            let Some((x0, x1, fx)) = *col else {
                p.copy_from_slice(&sea_px);
                continue;
            };
            let (w00, w01) = ((256 - fx) * (256 - fy), fx * (256 - fy));
            let (w10, w11) = ((256 - fx) * fy, fx * fy);
            let (a, b, c, d) = (x0 * 4, x1 * 4, x0 * 4, x1 * 4);
            let mut m = [0u8; 4];
            for (i, v) in m.iter_mut().enumerate() {
                let s = u32::from(r0[a + i]) * w00
                    + u32::from(r0[b + i]) * w01
                    + u32::from(r1[c + i]) * w10
                    + u32::from(r1[d + i]) * w11;
                *v = ((s + 32_768) >> 16) as u8;
            }
            // Premultiplied map over opaque sea.
            let inv = 255 - u32::from(m[3]);
            for i in 0..3 {
                p[i] = (u32::from(m[i]) + (u32::from(sea[i]) * inv + 127) / 255).min(255) as u8;
            }
            p[3] = 255;
        }
    }
    out
}

/// The underlay (`w × h`, opaque) with the vector lines and cell tints painted over it,
/// blended in linear light as the GPU blends them ([`crate::layers::paint`]): a view
/// coming to rest keeps their shade.
pub fn tinted(base: &[u8], w: usize, h: usize, origin: egui::Pos2, ppp: f32, under: &Under) -> Vec<u8> {
    let mut out = base.to_vec();
    crate::layers::paint::paint_under(&mut out, w, h, origin, ppp, under);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::Bounds;

    fn raster(w: u32, h: u32, px: impl Fn(u32, u32) -> [u8; 4]) -> Raster {
        let mut rgba = Vec::new();
        for y in 0..h {
            for x in 0..w {
                rgba.extend_from_slice(&px(x, y));
            }
        }
        Raster { width: w, height: h, rgba, extent: Bounds::empty() }
    }

    fn at(buf: &[u8], w: usize, x: usize, y: usize) -> [u8; 4] {
        let i = (y * w + x) * 4;
        [buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]
    }

    const SEA: [u8; 3] = [10, 20, 30];
    const SEA_STYLE: egui::Color32 = crate::style::SEA;

    #[test]
    fn tints_over_the_underlay_blend_in_linear_light_like_the_shader() {
        fn lin(c: u8) -> f64 {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        }
        fn srgb(l: f64) -> f64 {
            255.0 * if l <= 0.0031308 { l * 12.92 } else { 1.055 * l.powf(1.0 / 2.4) - 0.055 }
        }
        let (w, h) = (40, 20);
        let land = [24u8, 34, 46, 255];
        let base: Vec<u8> = land.iter().copied().cycle().take(w * h * 4).collect();
        let outline = vec![egui::pos2(0.0, 0.0), egui::pos2(20.0, 0.0), egui::pos2(20.0, 20.0), egui::pos2(0.0, 20.0)];
        let c = crate::style::CELL_OPEN;
        let under = Under { lines: vec![], tints: vec![crate::map::draw::TintShape { outline, color: c }] };
        let out = tinted(&base, w, h, egui::pos2(0.0, 0.0), 1.0, &under);
        // The shader: the marker image's premultiplied sRGB decoded, the base under it.
        let inv = 1.0 - f64::from(c.a()) / 255.0;
        let want: Vec<f64> =
            [c.r(), c.g(), c.b()].iter().zip(land).map(|(t, d)| srgb(lin(*t) + lin(d) * inv)).collect();
        let got = at(&out, w, 10, 10);
        for i in 0..3 {
            assert!((f64::from(got[i]) - want[i]).abs() <= 1.0, "channel {i}: {got:?} vs {want:?}");
        }
        assert_eq!(got[3], 255, "still opaque");
        // Blending in sRGB bytes instead would be visibly brighter: this is not that.
        let bytes = f64::from(c.r()) + f64::from(land[0]) * inv;
        assert!(bytes - f64::from(got[0]) > 5.0, "{bytes} vs {got:?}");
        assert_eq!(at(&out, w, 30, 10), land, "outside the tint the underlay is unchanged");
        assert_eq!(tinted(&base, w, h, egui::pos2(0.0, 0.0), 1.0, &Under::default()), base);
        // A line along a wide view, and a tint, blended all along.
        let (w, h) = (200, 80);
        let base: Vec<u8> = land.iter().copied().cycle().take(w * h * 4).collect();
        let line = crate::map::draw::VectorLine {
            points: vec![egui::pos2(5.0, 40.0), egui::pos2(195.0, 40.0)],
            closed: false,
            width: 3.0,
            color: crate::style::DISTRICT_LINE,
        };
        let square = [(20.0, 60.0), (45.0, 60.0), (45.0, 75.0), (20.0, 75.0)];
        let tint = crate::map::draw::TintShape { outline: square.map(|(x, y)| egui::pos2(x, y)).to_vec(), color: c };
        let out = tinted(&base, w, h, egui::pos2(0.0, 0.0), 1.0, &Under { lines: vec![line], tints: vec![tint] });
        let d = crate::style::DISTRICT_LINE;
        for x in [10, 70, 130, 190] {
            assert_eq!(at(&out, w, x, 40), [d.r(), d.g(), d.b(), 255], "the line at x = {x}");
        }
        assert_eq!(at(&out, w, 25, 68), at(&out, w, 40, 68), "the tint alike all across");
        assert_ne!(at(&out, w, 40, 68), land);
        assert_eq!(at(&out, w, 100, 10), land);
    }

    #[test]
    fn an_image_texel_for_pixel_comes_out_unchanged() {
        let r = raster(8, 4, |x, y| [x as u8 * 30, y as u8 * 60, 7, 255]);
        let out = underlay(8, 4, Some((&r, Vec4::new(0.0, 0.0, 1.0, 1.0))), SEA);
        for y in 0..4 {
            for x in 0..8 {
                assert_eq!(at(&out, 8, x, y), [x as u8 * 30, y as u8 * 60, 7, 255], "({x},{y})");
            }
        }
    }

    #[test]
    fn transparent_map_shows_the_sea_and_translucent_map_blends_over_it() {
        // Left half transparent, right half premultiplied 50 % white.
        let r = raster(4, 2, |x, _| if x < 2 { [0, 0, 0, 0] } else { [128, 128, 128, 128] });
        let out = underlay(4, 2, Some((&r, Vec4::new(0.0, 0.0, 1.0, 1.0))), SEA);
        assert_eq!(at(&out, 4, 0, 0), [10, 20, 30, 255]);
        let p = at(&out, 4, 3, 1);
        assert_eq!(p[3], 255, "opaque");
        for (i, s) in SEA.iter().enumerate() {
            let want = 128 + (u32::from(*s) * 127 + 127) / 255;
            assert_eq!(u32::from(p[i]), want, "channel {i}");
        }
    }

    #[test]
    fn outside_the_image_is_sea_and_no_image_is_all_sea() {
        let r = raster(2, 2, |_, _| [200, 0, 0, 255]);
        // The image covers the viewport's left half: uv runs 0..2 across.
        let out = underlay(8, 2, Some((&r, Vec4::new(0.0, 0.0, 2.0, 1.0))), SEA);
        assert_eq!(at(&out, 8, 1, 0), [200, 0, 0, 255]);
        assert_eq!(at(&out, 8, 6, 1), [10, 20, 30, 255]);
        let none = underlay(3, 3, None, SEA);
        assert!(none.chunks_exact(4).all(|p| p == [10, 20, 30, 255]));
    }

    #[test]
    fn a_magnified_image_is_interpolated_between_texels() {
        // Two texels, black and white, drawn 4 pixels wide: a ramp, ends clamped.
        let r = raster(2, 1, |x, _| if x == 0 { [0, 0, 0, 255] } else { [255, 255, 255, 255] });
        let out = underlay(4, 1, Some((&r, Vec4::new(0.0, 0.0, 1.0, 1.0))), SEA);
        let reds: Vec<u8> = (0..4).map(|x| at(&out, 4, x, 0)[0]).collect();
        assert_eq!(reds[0], 0, "clamped to the first texel");
        assert_eq!(reds[3], 255, "clamped to the last");
        assert!(reds[1] > 0 && reds[1] < reds[2] && reds[2] < 255, "a ramp: {reds:?}");
        assert_eq!(u32::from(reds[1]) + u32::from(reds[2]), 255, "symmetric: {reds:?}");
    }

    /// Asks until the worker thread has delivered.
    fn wait(u: &mut Underlay, view: &MapView, w: usize, h: usize) -> u64 {
        let until = Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(g) = u.ready(view, None, w, h) {
                return g;
            }
            assert!(Instant::now() < until, "the underlay never arrived");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    #[test]
    fn the_underlay_is_resampled_off_the_frame_and_kept_until_the_view_or_size_changes() {
        let mut u = Underlay::default();
        let view = MapView::default();
        assert_eq!(u.ready(&view, None, 4, 4), None, "not there yet: the backdrop shades meanwhile");
        let g = wait(&mut u, &view, 4, 4);
        assert_eq!(u.pixels.len(), 4 * 4 * 4);
        assert_eq!(u.ready(&view, None, 4, 4), Some(g), "same view: kept");
        let g2 = wait(&mut u, &view, 5, 4);
        assert_ne!(g2, g, "resized: resampled");
        let mut moved = view;
        moved.center[0] += 10.0;
        assert_eq!(u.ready(&moved, None, 5, 4), None, "moved: resampled again");
        assert_ne!(wait(&mut u, &moved, 5, 4), g2);
        assert_eq!(u.pixels.len(), 5 * 4 * 4);
        assert!(u.pixels.chunks_exact(4).all(|p| p == [SEA_STYLE.r(), SEA_STYLE.g(), SEA_STYLE.b(), 255]));
    }

    /// Asks until the painting thread has delivered a layer other than `not`.
    fn wait_layer(u: &mut Underlay, under: &Under, not: Option<u64>) -> (u64, Arc<Vec<u8>>) {
        let until = Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(got) = u.with_under(under, egui::pos2(0.0, 0.0), 1.0).filter(|(g, _)| Some(*g) != not) {
                return got;
            }
            assert!(Instant::now() < until, "the painting never arrived");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    #[test]
    fn lines_and_tints_are_painted_off_the_frame_and_a_tint_change_keeps_the_last_painting_meanwhile() {
        let (w, h) = (48, 32);
        let mut u = Underlay::default();
        let view = MapView::default();
        let g = wait(&mut u, &view, w, h);
        let square = |x: f32, color| crate::map::draw::TintShape {
            outline: vec![
                egui::pos2(x, 4.0),
                egui::pos2(x + 10.0, 4.0),
                egui::pos2(x + 10.0, 14.0),
                egui::pos2(x, 14.0),
            ],
            color,
        };
        let empty = Under::default();
        let (g0, px) = u.with_under(&empty, egui::pos2(0.0, 0.0), 1.0).expect("nothing to paint: the underlay itself");
        assert_eq!((g0, &px), (g, &u.pixels));
        let one = Under { lines: vec![], tints: vec![square(4.0, crate::style::CELL_OPEN)] };
        assert!(
            u.with_under(&one, egui::pos2(0.0, 0.0), 1.0).is_none(),
            "a view just come to rest has no painting yet: the backdrop shades it"
        );
        let (g1, first) = wait_layer(&mut u, &one, None);
        assert_ne!(g1, g, "a generation of its own");
        assert_eq!(*first, tinted(&u.pixels, w, h, egui::pos2(0.0, 0.0), 1.0, &one), "what the frame would paint");
        assert_ne!(*first, *u.pixels);
        assert_eq!(u.with_under(&one, egui::pos2(0.0, 0.0), 1.0).map(|(g, _)| g), Some(g1), "kept");
        // The tints change: the last painting is handed out until the new one is there.
        let two = Under {
            lines: vec![],
            tints: vec![square(4.0, crate::style::CELL_OPEN), square(30.0, crate::style::CELL_OVERDUE)],
        };
        let meanwhile = u.with_under(&two, egui::pos2(0.0, 0.0), 1.0).map(|(g, _)| g);
        assert_eq!(meanwhile, Some(g1), "meanwhile the last painting, not a shaded frame");
        let (g2, second) = wait_layer(&mut u, &two, Some(g1));
        assert_ne!(g2, g1);
        assert_eq!(*second, tinted(&u.pixels, w, h, egui::pos2(0.0, 0.0), 1.0, &two));
        // The view moves: nothing old is handed out over the new underlay.
        let mut moved = view;
        moved.center[0] += 10.0;
        let g3 = wait(&mut u, &moved, w, h);
        assert_ne!(g3, g);
        let fresh = u.with_under(&two, egui::pos2(0.0, 0.0), 1.0);
        assert!(fresh.is_none(), "the old view's painting is not stamped on the new one: shaded until painted");
        let (_, third) = wait_layer(&mut u, &two, Some(g2));
        assert_eq!(*third, tinted(&u.pixels, w, h, egui::pos2(0.0, 0.0), 1.0, &two));
    }

    #[test]
    fn stamped_markers_land_on_the_underlay() {
        // The copy's picture is the underlay with markers stamped over it, as the backdrop
        // would show them: an opaque marker pixel replaces the map, a clear one keeps it.
        let sprites = crate::layers::markers::Sprites::new(1.0);
        let (w, h) = (64, 64);
        let mut buf = underlay(w, h, None, SEA);
        let m = crate::layers::markers::Marker { x: 32.0, y: 32.0, sprite: 0 };
        crate::layers::markers::rasterise(&mut buf, w, h, &sprites, &[m]);
        assert_eq!(at(&buf, w, 0, 0), [10, 20, 30, 255], "far from the marker: sea");
        let changed = buf.chunks_exact(4).filter(|p| *p != [10, 20, 30, 255]).count();
        assert!(changed > 20, "the marker is drawn: {changed} pixels");
        assert!(buf.chunks_exact(4).all(|p| p[3] == 255), "still opaque");
    }
}
