//! The map viewport's pixels in one opaque draw: a quad under egui whose shader puts the
//! unit marker image over the static map image over the sea. On software Vulkan the cost
//! of a frame is the pixels each pass shades; egui's shader converts every texel to gamma
//! and back (six `pow` a pixel) and blends, so the two full-viewport images it used to draw
//! cost more than the rest of the frame. Here they cost one pass that samples two textures
//! and writes without blending.
//!
//! The drawing systems fill a [`BackdropPlan`] during the egui pass (they know the
//! viewport and which image the zoom wants); [`place_backdrop`] then sizes the quad to the
//! viewport and points its material at the images, before transforms propagate. While the
//! view stands still and the markers are stamped, the quad is hidden and the viewport's
//! pixels are copied instead ([`super::still`]).

use bevy::asset::embedded_asset;
use bevy::prelude::*;
use bevy::render::render_resource::{AsBindGroup, ShaderType};
use bevy::shader::ShaderRef;
use bevy::sprite_render::{AlphaMode2d, Material2d, Material2dPlugin};
use bevy::window::PrimaryWindow;
use bevy_egui::egui;

use super::still::{CopyFrame, Frame};
use crate::map::{LayerTexture, srgb_image};

/// What the backdrop shows this frame, in egui points.
#[derive(Debug, Clone, Default, Resource)]
pub struct BackdropPlan {
    /// The map viewport and egui's pixels per point; none: the backdrop is hidden.
    pub viewport: Option<(egui::Rect, f32)>,
    /// The static map image and where it lies on screen.
    pub map: Option<(LayerTexture, egui::Rect)>,
    /// The marker image, exactly covering the viewport.
    pub markers: Option<Handle<Image>>,
    /// The viewport's pixels, composed on the CPU for a still view: copied into the frame
    /// ([`super::still`]) while the quad stays hidden.
    pub copy: Option<Frame>,
}

/// The material's uniform.
#[derive(Debug, Clone, Copy, PartialEq, ShaderType)]
pub struct BackdropParams {
    /// The map image's uv at the viewport's top-left (xy) and bottom-right (zw).
    pub map_uv: Vec4,
    /// Sea colour, linear.
    pub sea: Vec4,
}

/// Markers over map over sea, opaque.
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub struct BackdropMaterial {
    /// Where the map image is.
    #[uniform(0)]
    pub params: BackdropParams,
    /// The static map image (premultiplied).
    #[texture(1)]
    #[sampler(2)]
    pub map: Handle<Image>,
    /// The marker image (premultiplied).
    #[texture(3)]
    #[sampler(4)]
    pub markers: Handle<Image>,
}

impl Material2d for BackdropMaterial {
    fn fragment_shader() -> ShaderRef {
        "embedded://onegrid_console/layers/backdrop.wgsl".into()
    }

    fn alpha_mode(&self) -> AlphaMode2d {
        AlphaMode2d::Opaque
    }
}

/// The quad and its material.
#[derive(Resource)]
struct Backdrop {
    entity: Entity,
    material: Handle<BackdropMaterial>,
    clear: Handle<Image>,
}

/// Draws the backdrop.
pub struct BackdropPlugin;

impl Plugin for BackdropPlugin {
    fn build(&self, app: &mut App) {
        embedded_asset!(app, "backdrop.wgsl");
        app.add_plugins(Material2dPlugin::<BackdropMaterial>::default())
            .init_resource::<BackdropPlan>()
            .add_systems(Startup, spawn_backdrop)
            .add_systems(
                PostUpdate,
                place_backdrop
                    .after(bevy_egui::EguiPostUpdateSet::EndPass)
                    .before(bevy::transform::TransformSystems::Propagate),
            );
    }
}

/// A screen-sized image of premultiplied RGBA for the marker layer: sampled texel for
/// pixel, so nearest.
pub fn marker_image(w: usize, h: usize, data: Vec<u8>) -> Image {
    srgb_image(w as u32, h as u32, data, true)
}

fn sea() -> Vec4 {
    let c = Color::srgb_u8(crate::style::SEA.r(), crate::style::SEA.g(), crate::style::SEA.b()).to_linear();
    Vec4::new(c.red, c.green, c.blue, 1.0)
}

fn spawn_backdrop(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<BackdropMaterial>>,
    mut images: ResMut<Assets<Image>>,
) {
    // 1×1 transparent: what the shader samples where there is nothing to show.
    let clear = images.add(srgb_image(1, 1, vec![0; 4], false));
    let material = materials.add(BackdropMaterial {
        params: BackdropParams { map_uv: Vec4::new(0.0, 0.0, 1.0, 1.0), sea: sea() },
        map: clear.clone(),
        markers: clear.clone(),
    });
    let entity = commands
        .spawn((
            Mesh2d(meshes.add(Rectangle::new(1.0, 1.0))),
            MeshMaterial2d(material.clone()),
            Transform::default(),
            Visibility::Hidden,
        ))
        .id();
    commands.insert_resource(Backdrop { entity, material, clear });
}

/// The uv of the map image at the viewport's corners, given where the image lies.
pub fn map_uv(viewport: egui::Rect, image: egui::Rect) -> Vec4 {
    let w = image.width().max(f32::EPSILON);
    let h = image.height().max(f32::EPSILON);
    Vec4::new(
        (viewport.min.x - image.min.x) / w,
        (viewport.min.y - image.min.y) / h,
        (viewport.max.x - image.min.x) / w,
        (viewport.max.y - image.min.y) / h,
    )
}

/// The quad's transform for a viewport in egui points: world units are the window's
/// logical pixels, origin at the window's centre, y up.
pub fn quad_transform(viewport: egui::Rect, ppp: f32, scale_factor: f32, window: Vec2) -> Transform {
    let z = ppp / scale_factor.max(f32::EPSILON);
    let c = viewport.center();
    Transform::from_xyz(c.x * z - window.x / 2.0, window.y / 2.0 - c.y * z, 0.0).with_scale(Vec3::new(
        viewport.width() * z,
        viewport.height() * z,
        1.0,
    ))
}

fn place_backdrop(
    mut plan: ResMut<BackdropPlan>,
    mut copy: ResMut<CopyFrame>,
    backdrop: Option<Res<Backdrop>>,
    mut quads: Query<(&mut Transform, &mut Visibility)>,
    mut materials: ResMut<Assets<BackdropMaterial>>,
    window: Query<&Window, With<PrimaryWindow>>,
) {
    let mut plan = std::mem::take(&mut *plan);
    // A copy replaces the quad; either is there only for a frame that asked for it.
    let copied = plan.copy.take();
    let still = copied.is_some();
    if still || copy.0.is_some() {
        copy.0 = copied;
    }
    let Some(backdrop) = backdrop else { return };
    let Ok((mut transform, mut visibility)) = quads.get_mut(backdrop.entity) else { return };
    let (Some((viewport, ppp)), Ok(window), false) = (plan.viewport, window.single(), still) else {
        visibility.set_if_neq(Visibility::Hidden);
        return;
    };
    let t = quad_transform(viewport, ppp, window.scale_factor(), Vec2::new(window.width(), window.height()));
    transform.set_if_neq(t);
    visibility.set_if_neq(Visibility::Visible);
    let (map, map_uv) = match plan.map {
        Some((t, at)) => (t.handle, map_uv(viewport, at)),
        None => (backdrop.clear.clone(), Vec4::new(0.0, 0.0, 1.0, 1.0)),
    };
    let markers = plan.markers.unwrap_or_else(|| backdrop.clear.clone());
    let Some(m) = materials.get(&backdrop.material) else { return };
    // Touch the material only when it changes: a change re-prepares its bind group.
    if (m.map != map || m.markers != markers || m.params.map_uv != map_uv)
        && let Some(mut m) = materials.get_mut(&backdrop.material)
    {
        m.map = map;
        m.markers = markers;
        m.params.map_uv = map_uv;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui::pos2;

    #[test]
    fn map_uv_maps_the_viewport_into_the_image() {
        let vp = egui::Rect::from_min_max(pos2(100.0, 50.0), pos2(300.0, 150.0));
        assert_eq!(map_uv(vp, vp), Vec4::new(0.0, 0.0, 1.0, 1.0));
        // An image twice the viewport's size, centred on it.
        let img = egui::Rect::from_center_size(vp.center(), vp.size() * 2.0);
        assert_eq!(map_uv(vp, img), Vec4::new(0.25, 0.25, 0.75, 0.75));
        // An image in the viewport's left half: the right half samples past 1 (sea).
        let left = egui::Rect::from_min_max(vp.min, pos2(200.0, 150.0));
        assert_eq!(map_uv(vp, left), Vec4::new(0.0, 0.0, 2.0, 1.0));
    }

    #[test]
    fn the_quad_covers_the_viewport_in_window_pixels() {
        let window = Vec2::new(1000.0, 600.0);
        let vp = egui::Rect::from_min_max(pos2(200.0, 100.0), pos2(800.0, 500.0));
        let t = quad_transform(vp, 1.0, 1.0, window);
        assert_eq!(t.translation, Vec3::new(0.0, 0.0, 0.0), "centred");
        assert_eq!(t.scale, Vec3::new(600.0, 400.0, 1.0));
        let left = egui::Rect::from_min_max(pos2(0.0, 0.0), pos2(100.0, 600.0));
        let t = quad_transform(left, 1.0, 1.0, window);
        assert_eq!(t.translation.truncate(), Vec2::new(-450.0, 0.0));
        // egui zoomed ×1.5 on a scale-1 window (the wall): points are 1.5 pixels.
        let small = egui::Rect::from_min_max(pos2(0.0, 0.0), pos2(100.0, 100.0));
        let t = quad_transform(small, 1.5, 1.0, window);
        assert_eq!(t.scale.truncate(), Vec2::new(150.0, 150.0));
        assert_eq!(t.translation.truncate(), Vec2::new(-425.0, 225.0));
    }
}
