//! A still view's pixels copied into the frame, not shaded. While the view stands still —
//! most of the time on a wall or a duty desk; only panning and zooming move it — the map
//! under the markers does not change: it is resampled once on the CPU into the viewport's
//! pixels (the [`underlay`]), the markers are stamped onto a copy of it, and the render
//! world copies the result into the camera's main texture after the main pass and before
//! egui. On software Vulkan a copy is a memcpy, while shading the viewport — even with a
//! shader that returns a constant — costs milliseconds a frame (see BENCHMARKS.md).
//!
//! While the view moves, and on the GPU marker path, the [`super::backdrop`] shades the
//! viewport as before: the copy needs the stamped markers, and on a GPU shading is cheap.

use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use bevy::core_pipeline::core_2d::main_transparent_pass_2d;
use bevy::core_pipeline::{Core2d, Core2dSystems};
use bevy::prelude::*;
use bevy::render::extract_resource::{ExtractResource, ExtractResourcePlugin};
use bevy::render::render_resource::{
    Extent3d, Origin3d, TexelCopyBufferLayout, TexelCopyTextureInfo, Texture, TextureAspect, TextureDescriptor,
    TextureDimension, TextureFormat, TextureUsages,
};
use bevy::render::renderer::{RenderContext, RenderDevice, RenderQueue, ViewQuery};
use bevy::render::view::ViewTarget;
use bevy::render::{Render, RenderApp, RenderSystems};
use bevy_egui::egui;

use super::backdrop::map_uv;
use crate::map::{LayerTexture, Raster};
use crate::view::MapView;

/// The format of the camera's main texture (no HDR): what the copy writes.
pub const FORMAT: TextureFormat = TextureFormat::Rgba8UnormSrgb;

/// Whether a still view is copied (`--still-copy on`, the default) or always shaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Resource)]
pub struct StillCopy(pub bool);

impl Default for StillCopy {
    fn default() -> Self {
        StillCopy(true)
    }
}

impl StillCopy {
    /// Parses `on` or `off`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "on" => Ok(StillCopy(true)),
            "off" => Ok(StillCopy(false)),
            _ => Err(format!("--still-copy must be on or off, not `{s}`")),
        }
    }
}

/// One composed picture of the viewport: opaque sRGB RGBA rows, placed at `origin` in the
/// window's physical pixels.
#[derive(Debug, Clone)]
pub struct Frame {
    /// `size.x × size.y × 4` bytes.
    pub pixels: Arc<Vec<u8>>,
    /// Top-left corner, physical pixels.
    pub origin: UVec2,
    /// Width and height, pixels.
    pub size: UVec2,
    /// Changes whenever the pixels do: the render world uploads only a new generation.
    pub generation: u64,
}

/// What the render world copies into the view this frame; none: the backdrop shades it.
#[derive(Debug, Clone, Default, Resource, ExtractResource)]
pub struct CopyFrame(pub Option<Frame>);

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

/// The map under the markers for the current still view, kept while the view stays.
#[derive(Default, Resource)]
pub struct Underlay {
    key: Option<UnderlayKey>,
    pending: Option<Pending>,
    /// Opaque sRGB RGBA of the viewport's pixels.
    pub pixels: Vec<u8>,
    /// Bumped each time the pixels are resampled.
    pub generation: u64,
    /// Time the last resampling took (on its worker thread), milliseconds.
    pub resample_ms: f64,
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
                    self.pixels = pixels;
                    self.key = Some(key);
                    self.pending = None;
                    self.generation += 1;
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
}

/// Drops the map images' CPU pixels where no still view will be copied: GPU markers (the
/// copy needs stamped ones) or `--still-copy off`.
fn release_rasters(
    on: Res<StillCopy>,
    path: Option<Res<super::marker_mesh::MarkerPath>>,
    textures: Option<ResMut<crate::map::MapTextures>>,
) {
    let gpu = path.is_some_and(|p| *p == super::marker_mesh::MarkerPath::Gpu);
    let Some(textures) = textures.filter(|_| !on.0 || gpu) else { return };
    let held = textures.levels.iter().chain(&textures.fills).any(|t| t.raster.is_some());
    if held {
        let t = textures.into_inner();
        t.levels.iter_mut().chain(t.fills.as_mut()).for_each(|l| l.raster = None);
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

/// Copies still views into the frame.
pub struct StillPlugin;

impl Plugin for StillPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<StillCopy>()
            .init_resource::<Underlay>()
            .init_resource::<CopyFrame>()
            .add_plugins(ExtractResourcePlugin::<CopyFrame>::default())
            .add_systems(Update, release_rasters);
        let Some(render_app) = app.get_sub_app_mut(RenderApp) else { return };
        render_app
            .init_resource::<Uploaded>()
            .add_systems(Render, upload.in_set(RenderSystems::PrepareResources))
            .add_systems(Core2d, copy_into_view.after(main_transparent_pass_2d).in_set(Core2dSystems::MainPass));
    }
}

/// The frame's pixels on the GPU.
#[derive(Default, Resource)]
struct Uploaded {
    texture: Option<Texture>,
    size: UVec2,
    generation: Option<u64>,
}

fn upload(frame: Res<CopyFrame>, mut up: ResMut<Uploaded>, device: Res<RenderDevice>, queue: Res<RenderQueue>) {
    let Some(f) = &frame.0 else { return };
    if up.generation == Some(f.generation) || f.size.x == 0 || f.size.y == 0 {
        return;
    }
    if f.pixels.len() != (f.size.x * f.size.y * 4) as usize {
        error!("still copy: {} bytes for a {}×{} frame; not drawn", f.pixels.len(), f.size.x, f.size.y);
        return;
    }
    let extent = Extent3d { width: f.size.x, height: f.size.y, depth_or_array_layers: 1 };
    if up.size != f.size || up.texture.is_none() {
        up.texture = Some(device.create_texture(&TextureDescriptor {
            label: Some("onegrid_still_copy"),
            size: extent,
            mip_level_count: 1,
            sample_count: 1,
            dimension: TextureDimension::D2,
            format: FORMAT,
            usage: TextureUsages::COPY_DST | TextureUsages::COPY_SRC,
            view_formats: &[],
        }));
        up.size = f.size;
    }
    let Some(texture) = &up.texture else { return };
    queue.write_texture(
        texture.as_image_copy(),
        &f.pixels,
        TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(f.size.x * 4), rows_per_image: Some(f.size.y) },
        extent,
    );
    up.generation = Some(f.generation);
}

/// The part of a `size.x × size.y` frame at `origin` that fits a `target` texture.
pub fn clipped(origin: UVec2, size: UVec2, target: UVec2) -> Option<UVec2> {
    let w = size.x.min(target.x.saturating_sub(origin.x));
    let h = size.y.min(target.y.saturating_sub(origin.y));
    (w > 0 && h > 0).then_some(UVec2::new(w, h))
}

fn copy_into_view(view: ViewQuery<&ViewTarget>, frame: Res<CopyFrame>, up: Res<Uploaded>, mut ctx: RenderContext) {
    let Some(f) = &frame.0 else { return };
    let (Some(src), Some(generation)) = (&up.texture, up.generation) else { return };
    if generation != f.generation {
        return;
    }
    let dst = view.into_inner().main_texture();
    if dst.format() != FORMAT || !dst.usage().contains(TextureUsages::COPY_DST) {
        error_once!("still copy: the view's texture is {:?} ({:?}); not copied", dst.format(), dst.usage());
        return;
    }
    let Some(size) = clipped(f.origin, f.size, UVec2::new(dst.width(), dst.height())) else { return };
    ctx.command_encoder().copy_texture_to_texture(
        src.as_image_copy(),
        TexelCopyTextureInfo {
            texture: dst,
            mip_level: 0,
            origin: Origin3d { x: f.origin.x, y: f.origin.y, z: 0 },
            aspect: TextureAspect::All,
        },
        Extent3d { width: size.x, height: size.y, depth_or_array_layers: 1 },
    );
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

    #[test]
    fn map_pixels_are_kept_on_the_cpu_only_where_a_still_view_is_copied() {
        use super::super::marker_mesh::MarkerPath;
        for (on, path, kept) in [
            (true, MarkerPath::Cpu, true),
            (true, MarkerPath::Auto, true),
            (false, MarkerPath::Cpu, false),
            (true, MarkerPath::Gpu, false),
        ] {
            let mut app = App::new();
            let levels = vec![crate::map::tests::tex(4.0), crate::map::tests::tex(2.0)];
            app.insert_resource(StillCopy(on))
                .insert_resource(path)
                .insert_resource(crate::map::MapTextures {
                    levels,
                    fills: Some(crate::map::tests::tex(2.0)),
                    composed: vec![],
                })
                .add_systems(Update, release_rasters);
            app.update();
            let t = app.world().resource::<crate::map::MapTextures>();
            let held: Vec<bool> = t.levels.iter().chain(&t.fills).map(|l| l.raster.is_some()).collect();
            assert_eq!(held, vec![kept; 3], "still copy {on}, {path:?} markers");
        }
    }

    #[test]
    fn the_copy_is_clipped_to_the_view_texture() {
        let t = UVec2::new(100, 50);
        assert_eq!(clipped(UVec2::new(10, 10), UVec2::new(50, 20), t), Some(UVec2::new(50, 20)));
        assert_eq!(clipped(UVec2::new(80, 40), UVec2::new(50, 20), t), Some(UVec2::new(20, 10)));
        assert_eq!(clipped(UVec2::new(100, 0), UVec2::new(5, 5), t), None);
    }

    #[test]
    fn stamped_markers_land_on_the_underlay() {
        // The copy's picture is the underlay with markers stamped over it, as the backdrop
        // would show them: an opaque marker pixel replaces the map, a clear one keeps it.
        let sprites = super::super::markers::Sprites::new(1.0);
        let (w, h) = (64, 64);
        let mut buf = underlay(w, h, None, SEA);
        let m = super::super::markers::Marker { x: 32.0, y: 32.0, sprite: 0 };
        super::super::markers::rasterise(&mut buf, w, h, &sprites, &[m]);
        assert_eq!(at(&buf, w, 0, 0), [10, 20, 30, 255], "far from the marker: sea");
        let changed = buf.chunks_exact(4).filter(|p| *p != [10, 20, 30, 255]).count();
        assert!(changed > 20, "the marker is drawn: {changed} pixels");
        assert!(buf.chunks_exact(4).all(|p| p[3] == 255), "still opaque");
    }
}
