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

use std::sync::Arc;

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

pub mod underlay;

pub use underlay::Underlay;

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

/// Drops the map images' CPU pixels where no still view will be copied: GPU markers (the
/// copy needs stamped ones) or `--still-copy off`.
fn release_rasters(
    on: Res<StillCopy>,
    path: Option<Res<crate::layers::marker_mesh::MarkerPath>>,
    textures: Option<ResMut<crate::map::MapTextures>>,
) {
    let gpu = path.is_some_and(|p| *p == crate::layers::marker_mesh::MarkerPath::Gpu);
    let Some(textures) = textures.filter(|_| !on.0 || gpu) else { return };
    let held = textures.levels.iter().chain(&textures.fills).any(|t| t.raster.is_some());
    if held {
        let t = textures.into_inner();
        t.levels.iter_mut().chain(t.fills.as_mut()).for_each(|l| l.raster = None);
    }
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

    #[test]
    fn map_pixels_are_kept_on_the_cpu_only_where_a_still_view_is_copied() {
        use crate::layers::marker_mesh::MarkerPath;
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
}
