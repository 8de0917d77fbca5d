//! The GPU marker path: the same sprites as [`super::markers`], packed into one atlas and
//! drawn as instances: one quad a unit, whose vertex shader reads the unit's pixel and
//! sprite from a storage buffer of 16 bytes a marker, rewritten when units move or the view
//! changes; the quads themselves are a mesh made once for as many markers as there have
//! been (the next power of two), so a frame uploads 16 bytes a marker, not a mesh.
//! On a real GPU a hundred thousand quads are one cheap draw, while stamping them on the
//! CPU costs tens of milliseconds; on software Vulkan every small triangle costs
//! microseconds and stamping wins. [`MarkerPath`] picks by the adapter (a CPU adapter
//! stamps) unless `--markers` says otherwise; the bench measures both.
//!
//! Markers are placed in marker-image pixels (x right, y down, origin at the viewport's
//! top-left), rounded as stamping rounds them and cut at the viewport's edges as stamping
//! clips (in the shader), so a quad's texels land one to one on screen pixels. A mesh
//! under them holds what lies under the markers: vector lines (tessellated by egui's own
//! tessellator) and tinted cells, coloured a vertex over the atlas's white cell, placed by
//! the entity's transform.

use bevy::asset::{RenderAssetUsages, embedded_asset};
use bevy::camera::visibility::NoFrustumCulling;
use bevy::mesh::{Indices, MeshVertexBufferLayoutRef, PrimitiveTopology};
use bevy::prelude::*;
use bevy::render::render_resource::{
    AsBindGroup, BlendState, RenderPipelineDescriptor, ShaderType, SpecializedMeshPipelineError,
};
use bevy::render::renderer::RenderAdapterInfo;
use bevy::render::storage::ShaderBuffer;
use bevy::shader::ShaderRef;
use bevy::sprite_render::{AlphaMode2d, Material2d, Material2dKey, Material2dPlugin};
use bevy_egui::egui;

use super::Under;
use super::markers::{HEADINGS, Marker, Sprites};
use crate::style::srgb_to_linear;
use bevy_egui::egui::epaint::{TessellationOptions, Tessellator};

/// How unit markers reach the screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Resource)]
pub enum MarkerPath {
    /// Decide from the adapter once it is known: CPU adapters stamp, GPUs draw quads.
    Auto,
    /// Stamped on the CPU into one image (the backdrop samples it).
    Cpu,
    /// One mesh of atlas quads.
    Gpu,
}

impl MarkerPath {
    /// Parses `auto`, `cpu` or `gpu`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(MarkerPath::Auto),
            "cpu" => Ok(MarkerPath::Cpu),
            "gpu" => Ok(MarkerPath::Gpu),
            _ => Err(format!("--markers must be auto, cpu or gpu, not `{s}`")),
        }
    }

    /// Its name, for logs and the bench.
    pub fn name(self) -> &'static str {
        match self {
            MarkerPath::Auto => "auto",
            MarkerPath::Cpu => "cpu",
            MarkerPath::Gpu => "gpu",
        }
    }
}

/// Atlas quads, premultiplied, blended as premultiplied.
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub struct MarkerMaterial {
    /// The sprite atlas.
    #[texture(0)]
    #[sampler(1)]
    pub atlas: Handle<Image>,
}

/// Both materials' sprites are premultiplied: blended as such, in the transparent phase.
macro_rules! premultiplied_blend {
    () => {
        fn alpha_mode(&self) -> AlphaMode2d {
            AlphaMode2d::Blend
        }

        fn specialize(
            descriptor: &mut RenderPipelineDescriptor,
            _layout: &MeshVertexBufferLayoutRef,
            _key: Material2dKey<Self>,
        ) -> Result<(), SpecializedMeshPipelineError> {
            premultiplied(descriptor);
            Ok(())
        }
    };
}

impl Material2d for MarkerMaterial {
    fn fragment_shader() -> ShaderRef {
        "embedded://onegrid_console/layers/marker_mesh.wgsl".into()
    }

    premultiplied_blend!();
}

/// What the instanced markers' shader needs besides the markers.
#[derive(Debug, Clone, Copy, Default, PartialEq, ShaderType)]
pub struct InstanceParams {
    /// The viewport's top-left in the window's pixels (xy), its size in pixels (zw).
    pub viewport: Vec4,
    /// A sprite cell's side in atlas pixels (x), the atlas's columns (y), its size (zw).
    pub atlas: Vec4,
    /// Markers in the buffer this frame.
    pub count: u32,
}

/// The markers as instances: the mesh's quads, each placed by its marker in the buffer.
#[derive(Asset, TypePath, AsBindGroup, Debug, Clone)]
pub struct InstancedMarkers {
    /// Placement and atlas layout.
    #[uniform(0)]
    pub params: InstanceParams,
    /// One `vec4<f32>` a marker: x and y pixels (rounded), sprite index, unused.
    #[storage(1, read_only)]
    pub markers: Handle<ShaderBuffer>,
    /// The sprite atlas.
    #[texture(2)]
    #[sampler(3)]
    pub atlas: Handle<Image>,
}

impl Material2d for InstancedMarkers {
    fn vertex_shader() -> ShaderRef {
        "embedded://onegrid_console/layers/marker_instances.wgsl".into()
    }

    fn fragment_shader() -> ShaderRef {
        "embedded://onegrid_console/layers/marker_instances.wgsl".into()
    }

    premultiplied_blend!();
}

fn premultiplied(descriptor: &mut RenderPipelineDescriptor) {
    if let Some(fragment) = descriptor.fragment.as_mut() {
        for target in fragment.targets.iter_mut().flatten() {
            target.blend = Some(BlendState::PREMULTIPLIED_ALPHA_BLENDING);
        }
    }
}

/// The marker entity and the one under it (lines and tints), their meshes, materials and
/// buffer, the markers the quad mesh has room for, and the scale the atlas was drawn at.
#[derive(Resource)]
pub struct MarkerMesh {
    entity: Entity,
    mesh: Handle<Mesh>,
    instanced: Handle<InstancedMarkers>,
    buffer: Handle<ShaderBuffer>,
    capacity: usize,
    under_entity: Entity,
    under_mesh: Handle<Mesh>,
    material: Handle<MarkerMaterial>,
    atlas_scale: Option<f32>,
}

/// Registers the GPU marker path.
pub struct MarkerMeshPlugin;

impl Plugin for MarkerMeshPlugin {
    fn build(&self, app: &mut App) {
        embedded_asset!(app, "marker_mesh.wgsl");
        embedded_asset!(app, "marker_instances.wgsl");
        app.add_plugins((
            Material2dPlugin::<MarkerMaterial>::default(),
            Material2dPlugin::<InstancedMarkers>::default(),
        ))
        .add_systems(Startup, spawn_marker_mesh)
        .add_systems(Update, resolve_path)
        .add_systems(PostUpdate, hide_unless_drawing.run_if(not(crate::drawing_on)));
    }
}

/// Turns `Auto` into a choice once the adapter is known.
fn resolve_path(path: Option<ResMut<MarkerPath>>, adapter: Option<Res<RenderAdapterInfo>>) {
    let (Some(mut path), Some(adapter)) = (path, adapter) else { return };
    if *path == MarkerPath::Auto {
        *path = if adapter.device_type == wgpu_types::DeviceType::Cpu { MarkerPath::Cpu } else { MarkerPath::Gpu };
        info!("unit markers: {} path on {} ({:?})", path.name(), adapter.name, adapter.device_type);
    }
}

/// The bench's clear-only frames draw nothing: the mesh would stay as last drawn.
fn hide_unless_drawing(
    state: Option<Res<MarkerMesh>>,
    mut quads: Query<(&mut Transform, &mut Visibility), With<Mesh2d>>,
) {
    if let Some(state) = state {
        hide(&state, &mut quads);
    }
}

fn spawn_marker_mesh(
    mut commands: Commands,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<MarkerMaterial>>,
    mut instanced: ResMut<Assets<InstancedMarkers>>,
    mut buffers: ResMut<Assets<ShaderBuffer>>,
) {
    // Never an empty mesh or buffer: the render world refuses them. Room for one marker,
    // and one degenerate quad under them, until there are markers (both are hidden anyway).
    let capacity = 1;
    let mesh = meshes.add(quads_mesh(capacity));
    let placeholder = Geometry {
        positions: vec![[0.0; 3]; 4],
        uvs: vec![[0.0; 2]; 4],
        colors: vec![[0.0; 4]; 4],
        indices: vec![0, 1, 2, 0, 2, 3],
    };
    let under_mesh = meshes.add(mesh_of(placeholder));
    let material = materials.add(MarkerMaterial { atlas: Handle::default() });
    let buffer = buffers.add(ShaderBuffer::new(&[0; 16], RenderAssetUsages::RENDER_WORLD));
    let instanced = instanced.add(InstancedMarkers {
        params: InstanceParams::default(),
        markers: buffer.clone(),
        atlas: Handle::default(),
    });
    let entity = commands
        .spawn((
            Mesh2d(mesh.clone()),
            MeshMaterial2d(instanced.clone()),
            Transform::from_xyz(0.0, 0.0, MARKERS_Z),
            Visibility::Hidden,
            NoFrustumCulling,
        ))
        .id();
    let under_entity = commands
        .spawn((
            Mesh2d(under_mesh.clone()),
            MeshMaterial2d(material.clone()),
            Transform::from_xyz(0.0, 0.0, UNDER_Z),
            Visibility::Hidden,
            NoFrustumCulling,
        ))
        .id();
    commands.insert_resource(MarkerMesh {
        entity,
        mesh,
        instanced,
        buffer,
        capacity,
        under_entity,
        under_mesh,
        material,
        atlas_scale: None,
    });
}

/// The quads of `capacity` markers: four corners each (their positions unused: the shader
/// places them by the vertex's index) and two triangles.
fn quads_mesh(capacity: usize) -> Mesh {
    let indices = (0..capacity as u32).flat_map(|q| {
        let b = q * 4;
        [b, b + 1, b + 2, b, b + 2, b + 3]
    });
    Mesh::new(PrimitiveTopology::TriangleList, RenderAssetUsages::RENDER_WORLD)
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, vec![[0.0f32; 3]; capacity * 4])
        .with_inserted_indices(Indices::U32(indices.collect()))
}

/// The markers' buffer for the shader: per marker its pixel, rounded as stamping rounds it,
/// and its sprite, as four `f32`s; a sprite past the atlas's `sprite_count` is left out.
/// Returns the bytes and how many markers they hold.
pub fn instances(markers: &[Marker], sprite_count: usize) -> (Vec<u8>, usize) {
    let mut bytes = Vec::with_capacity(markers.len() * 16);
    let mut count = 0;
    for m in markers.iter().filter(|m| usize::from(m.sprite) < sprite_count) {
        for v in [m.x.round(), m.y.round(), f32::from(m.sprite), 0.0] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        count += 1;
    }
    (bytes, count)
}

/// The room to make for `count` markers: the next power of two, at least 1,024, so that
/// the quad mesh and the buffer are made anew only as the count grows past them.
fn capacity_for(count: usize) -> usize {
    count.next_power_of_two().max(1024)
}

/// Rows of the atlas: one per status and kind, and a last one whose first cell is opaque
/// white, which the tints sample (their colour is the vertices').
fn atlas_rows(sprite_count: usize) -> usize {
    sprite_count.div_ceil(HEADINGS) + 1
}

/// Every sprite in one image: `HEADINGS` columns, one row per status and kind, then the
/// white cell.
pub fn atlas(sprites: &Sprites) -> (usize, usize, Vec<u8>) {
    let n = sprites.size;
    let rows = atlas_rows(sprites.rgba.len());
    let (w, h) = (HEADINGS * n, rows * n);
    let mut rgba = vec![0u8; w * h * 4];
    for (i, s) in sprites.rgba.iter().enumerate() {
        let (cx, cy) = ((i % HEADINGS) * n, (i / HEADINGS) * n);
        for y in 0..n {
            let dst = ((cy + y) * w + cx) * 4;
            rgba[dst..dst + n * 4].copy_from_slice(&s[y * n * 4..(y + 1) * n * 4]);
        }
    }
    for y in (rows - 1) * n..rows * n {
        rgba[y * w * 4..(y * w + n) * 4].fill(255);
    }
    (w, h, rgba)
}

/// The atlas uv of the white cell's centre (whatever the sprites' size).
fn white_uv(sprite_count: usize) -> [f32; 2] {
    let rows = atlas_rows(sprite_count) as f32;
    [0.5 / HEADINGS as f32, (rows - 0.5) / rows]
}

/// Triangles in marker-image pixels with their atlas uvs and a colour a vertex: what lies
/// under the markers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Geometry {
    /// Vertices.
    pub positions: Vec<[f32; 3]>,
    /// Atlas uv of each vertex (the white cell).
    pub uvs: Vec<[f32; 2]>,
    /// What the atlas texel is multiplied by (premultiplied, linear): the lines' and tints'
    /// colours.
    pub colors: Vec<[f32; 4]>,
    /// Triangles.
    pub indices: Vec<u32>,
}

/// A vertex while it is clipped: image pixels (x, y) and its colour (linear, premultiplied).
type Clipped = [f32; 6];

/// The part of polygon `p` inside the rectangle `[0, w] × [0, h]` (Sutherland–Hodgman),
/// colours interpolated along the cut edges.
fn clip_to(p: Vec<Clipped>, w: f32, h: f32) -> Vec<Clipped> {
    let edges: [(usize, f32, bool); 4] = [(0, 0.0, true), (0, w, false), (1, 0.0, true), (1, h, false)];
    edges.iter().fold(p, |poly, &(axis, at, keep_above)| {
        let inside = |q: &Clipped| if keep_above { q[axis] >= at } else { q[axis] <= at };
        let mut out = Vec::with_capacity(poly.len() + 2);
        for (i, a) in poly.iter().enumerate() {
            let b = &poly[(i + 1) % poly.len()];
            if inside(a) {
                out.push(*a);
            }
            if inside(a) != inside(b) {
                let t = (at - a[axis]) / (b[axis] - a[axis]);
                out.push(std::array::from_fn(|k| a[k] + (b[k] - a[k]) * t));
            }
        }
        out
    })
}

/// Adds a clipped polygon as a triangle fan sampling the atlas at `uv`.
fn push_fan(g: &mut Geometry, poly: Vec<Clipped>, uv: [f32; 2]) {
    if poly.len() < 3 {
        return;
    }
    let base = g.positions.len() as u32;
    for v in &poly {
        g.positions.push([v[0], v[1], 0.0]);
        g.uvs.push(uv);
        g.colors.push([v[2], v[3], v[4], v[5]]);
    }
    for i in 1..poly.len() as u32 - 1 {
        g.indices.extend([base, base + i, base + i + 1]);
    }
}

/// What lies under the markers (vector lines, then cell tints) as triangles in
/// marker-image pixels, clipped to the `width × height` image at the `viewport` (`ppp`
/// pixels per point): the panels have no fill of their own, so nothing may reach past the
/// viewport. Lines are tessellated by egui's own tessellator, so they look as egui draws
/// them; colours are the premultiplied sRGB bytes decoded to linear light, which is how
/// the copy path blends them too.
pub fn under_geometry(
    under: &Under,
    viewport: egui::Rect,
    ppp: f32,
    width: usize,
    height: usize,
    sprite_count: usize,
) -> Geometry {
    let uv = white_uv(sprite_count);
    let (w, h) = (width as f32, height as f32);
    let vertex = |p: egui::Pos2, c: egui::Color32| -> Clipped {
        let (x, y) = ((p.x - viewport.min.x) * ppp, (p.y - viewport.min.y) * ppp);
        [x, y, srgb_to_linear(c.r()), srgb_to_linear(c.g()), srgb_to_linear(c.b()), f32::from(c.a()) / 255.0]
    };
    let mut g = Geometry::default();
    if !under.lines.is_empty() {
        let mut tessellator = Tessellator::new(ppp, TessellationOptions::default(), [1, 1], vec![]);
        tessellator.set_clip_rect(viewport);
        let mut mesh = egui::Mesh::default();
        for l in &under.lines {
            tessellator.tessellate_shape(l.shape(), &mut mesh);
        }
        for tri in mesh.indices.chunks_exact(3) {
            let poly: Vec<Clipped> =
                tri.iter().filter_map(|&i| mesh.vertices.get(i as usize)).map(|v| vertex(v.pos, v.color)).collect();
            push_fan(&mut g, clip_to(poly, w, h), uv);
        }
    }
    for t in &under.tints {
        push_fan(&mut g, clip_to(t.outline.iter().map(|p| vertex(*p, t.color)).collect(), w, h), uv);
    }
    g
}

fn mesh_of(g: Geometry) -> Mesh {
    let mesh = Mesh::new(PrimitiveTopology::TriangleList, RenderAssetUsages::RENDER_WORLD)
        .with_inserted_attribute(Mesh::ATTRIBUTE_POSITION, g.positions)
        .with_inserted_attribute(Mesh::ATTRIBUTE_UV_0, g.uvs)
        .with_inserted_indices(Indices::U32(g.indices));
    if g.colors.is_empty() { mesh } else { mesh.with_inserted_attribute(Mesh::ATTRIBUTE_COLOR, g.colors) }
}

/// Where the mesh goes: image pixels (y down, from the viewport's top-left) to world units
/// (the window's logical pixels, origin at its centre, y up).
pub fn mesh_transform(viewport: egui::Rect, ppp: f32, scale_factor: f32, window: Vec2) -> Transform {
    let sf = scale_factor.max(f32::EPSILON);
    let (x, y) = (viewport.min.x * ppp / sf, viewport.min.y * ppp / sf);
    Transform::from_xyz(x - window.x / 2.0, window.y / 2.0 - y, MARKERS_Z).with_scale(Vec3::new(
        1.0 / sf,
        -1.0 / sf,
        1.0,
    ))
}

/// Depth of the marker mesh; what lies under it is drawn first, below it (the backdrop is
/// at 0).
const MARKERS_Z: f32 = 1.0;
const UNDER_Z: f32 = 0.5;
const _: () = assert!(0.0 < UNDER_Z && UNDER_Z < MARKERS_Z, "backdrop, then lines and tints, then markers");

/// Hides both meshes (the CPU path draws, or personnel are switched off).
pub fn hide(state: &MarkerMesh, quads: &mut Query<(&mut Transform, &mut Visibility), With<Mesh2d>>) {
    for e in [state.entity, state.under_entity] {
        if let Ok((_, mut visibility)) = quads.get_mut(e) {
            visibility.set_if_neq(Visibility::Hidden);
        }
    }
}

/// Where and what the meshes show.
pub struct Drawn<'a> {
    /// The markers, from [`instances`]: bytes and count.
    pub instances: (Vec<u8>, usize),
    /// The viewport's top-left in the window's pixels and its size in pixels.
    pub viewport_px: Vec4,
    /// What lies under them.
    pub under: Geometry,
    /// Image pixels to world (what lies under).
    pub at: Transform,
    /// The sprites the atlas is made of, and the scale they were drawn at.
    pub sprites: &'a Sprites,
    /// Pixels per point the sprites were drawn at.
    pub scale: f32,
}

/// The GPU marker path's assets.
pub struct GpuAssets<'a> {
    /// Meshes.
    pub meshes: &'a mut Assets<Mesh>,
    /// What lies under the markers is drawn with this material.
    pub materials: &'a mut Assets<MarkerMaterial>,
    /// The markers are drawn with this one.
    pub instanced: &'a mut Assets<InstancedMarkers>,
    /// The markers' buffer.
    pub buffers: &'a mut Assets<ShaderBuffer>,
    /// The atlas.
    pub images: &'a mut Assets<Image>,
}

/// Puts the markers in their buffer (and what lies under them on its mesh), redrawing the
/// atlas when the sprites' scale changed and making the quads anew when the markers
/// outgrow them.
pub fn show(
    state: &mut MarkerMesh,
    drawn: Drawn,
    assets: GpuAssets,
    quads: &mut Query<(&mut Transform, &mut Visibility), With<Mesh2d>>,
) {
    let GpuAssets { meshes, materials, instanced, buffers, images } = assets;
    let sprite = drawn.sprites.size;
    let (aw, ah) = ((HEADINGS * sprite) as f32, (atlas_rows(drawn.sprites.rgba.len()) * sprite) as f32);
    if state.atlas_scale != Some(drawn.scale) {
        let (w, h, rgba) = atlas(drawn.sprites);
        let image = images.add(crate::map::srgb_image(w as u32, h as u32, rgba, true));
        if let Some(mut m) = materials.get_mut(&state.material) {
            m.atlas = image.clone();
        }
        if let Some(mut m) = instanced.get_mut(&state.instanced) {
            m.atlas = image;
        }
        state.atlas_scale = Some(drawn.scale);
    }
    // The markers: their buffer, as long as the quads' room, so that it is rewritten in
    // place (a new length makes a new buffer, and the material's bind group anew).
    let (mut bytes, count) = drawn.instances;
    if let Ok((mut transform, mut visibility)) = quads.get_mut(state.entity) {
        if count == 0 {
            visibility.set_if_neq(Visibility::Hidden);
        } else {
            if count > state.capacity {
                state.capacity = capacity_for(count);
                let _ = meshes.insert(&state.mesh, quads_mesh(state.capacity));
            }
            bytes.resize(state.capacity * 16, 0);
            if let Some(mut b) = buffers.get_mut(&state.buffer) {
                b.data = Some(bytes);
            }
            if let Some(mut m) = instanced.get_mut(&state.instanced) {
                m.params = InstanceParams {
                    viewport: drawn.viewport_px,
                    atlas: Vec4::new(sprite as f32, HEADINGS as f32, aw, ah),
                    count: count as u32,
                };
            }
            transform.set_if_neq(Transform::from_xyz(0.0, 0.0, MARKERS_Z));
            visibility.set_if_neq(Visibility::Visible);
        }
    }
    let under_at = drawn.at.with_translation(drawn.at.translation.with_z(UNDER_Z));
    if let Ok((mut transform, mut visibility)) = quads.get_mut(state.under_entity) {
        if drawn.under.indices.is_empty() {
            // Nothing in view; an empty mesh is not uploaded.
            visibility.set_if_neq(Visibility::Hidden);
        } else {
            let _ = meshes.insert(&state.under_mesh, mesh_of(drawn.under));
            transform.set_if_neq(under_at);
            visibility.set_if_neq(Visibility::Visible);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::markers::sprite_index;
    use onegrid_protocol::UnitStatus;

    #[test]
    fn the_atlas_holds_every_sprite_where_its_index_says() {
        let s = Sprites::new(1.0);
        let (w, h, rgba) = atlas(&s);
        assert_eq!((w, h), (HEADINGS * s.size, (s.rgba.len().div_ceil(HEADINGS) + 1) * s.size));
        let [u, v] = white_uv(s.rgba.len());
        let (x, y) = ((u * w as f32) as usize, (v * h as f32) as usize);
        assert_eq!(&rgba[(y * w + x) * 4..][..4], &[255; 4], "the tints' white cell");
        let i = usize::from(sprite_index(UnitStatus::OnScene, true, 90.0));
        let (cx, cy) = ((i % HEADINGS) * s.size, (i / HEADINGS) * s.size);
        let c = s.size / 2;
        let at = ((cy + c) * w + cx + c) * 4;
        assert_eq!(&rgba[at..at + 4], &s.rgba[i][(c * s.size + c) * 4..(c * s.size + c) * 4 + 4]);
    }

    #[test]
    fn the_markers_buffer_holds_each_markers_pixel_as_stamping_rounds_it_and_its_sprite() {
        let s = Sprites::new(1.0);
        let sprite = sprite_index(UnitStatus::EnRoute, true, 45.0);
        let markers = [
            Marker { x: 20.4, y: 16.6, sprite },
            Marker { x: -2.5, y: 31.5, sprite: 0 },
            Marker { x: 5.0, y: 5.0, sprite: s.rgba.len() as u16 },
        ];
        let (bytes, count) = instances(&markers, s.rgba.len());
        assert_eq!(count, 2, "a sprite past the atlas is left out");
        assert_eq!(bytes.len(), 2 * 16);
        let f = |i: usize| f32::from_le_bytes(bytes[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
        assert_eq!([f(0), f(1), f(2), f(3)], [20.0, 17.0, f32::from(sprite), 0.0]);
        // Half a pixel rounds away from zero, as `f32::round` does where stamping places.
        assert_eq!([f(4), f(5), f(6)], [-3.0, 32.0, 0.0]);
        assert_eq!(instances(&[], s.rgba.len()), (vec![], 0));
        // Room grows by powers of two, so a growing count makes the quads anew rarely.
        assert_eq!(capacity_for(1), 1024);
        assert_eq!(capacity_for(10_000), 16_384);
        assert_eq!(capacity_for(16_384), 16_384);
        assert_eq!(capacity_for(16_385), 32_768);
        let mesh = quads_mesh(3);
        assert_eq!(mesh.count_vertices(), 12);
        let Some(Indices::U32(ix)) = mesh.indices() else { panic!("u32 indices") };
        assert_eq!(ix[6..12], [4, 5, 6, 4, 6, 7], "the second quad's corners, as the shader numbers them");
    }

    #[test]
    fn what_lies_under_the_markers_is_clipped_to_the_viewport() {
        use crate::map::draw::{TintShape, VectorLine};
        let s = Sprites::new(1.0);
        let (w, h) = (100usize, 50usize);
        let vp = egui::Rect::from_min_size(egui::pos2(0.0, 0.0), egui::vec2(100.0, 50.0));
        // A square from (-10, 10) to (30, 70) points, 1 px a point: it reaches past the
        // left and bottom edges.
        let outline = [(-10.0, 10.0), (30.0, 10.0), (30.0, 70.0), (-10.0, 70.0)].map(|(x, y)| egui::pos2(x, y));
        let c = crate::style::CELL_OVERDUE;
        let tint = TintShape { outline: outline.to_vec(), color: c };
        let under = Under { lines: vec![], tints: vec![tint] };
        let g = under_geometry(&under, vp, 1.0, w, h, s.rgba.len());
        let inside = |g: &Geometry| {
            g.positions.iter().all(|p| (0.0..=w as f32).contains(&p[0]) && (0.0..=h as f32).contains(&p[1]))
        };
        assert!(inside(&g));
        let xs: Vec<f32> = g.positions.iter().map(|p| p[0]).collect();
        let ys: Vec<f32> = g.positions.iter().map(|p| p[1]).collect();
        let span = |v: &[f32]| (v.iter().copied().fold(f32::MAX, f32::min), v.iter().copied().fold(f32::MIN, f32::max));
        assert_eq!((span(&xs), span(&ys)), ((0.0, 30.0), (10.0, 50.0)), "the square cut at the image's edges");
        assert_eq!(g.indices.len(), 6, "a quadrilateral is two triangles");
        assert!(g.uvs.iter().all(|uv| *uv == white_uv(s.rgba.len())));
        assert!((g.colors[0][3] - f32::from(c.a()) / 255.0).abs() < 1e-6);
        assert!((g.colors[0][0] - srgb_to_linear(c.r())).abs() < 1e-6 && g.colors[0][0] < f32::from(c.r()) / 255.0);
        // Outside the image entirely: nothing.
        let away = TintShape { outline: outline.iter().map(|p| *p + egui::vec2(500.0, 0.0)).collect(), color: c };
        let nothing = Under { lines: vec![], tints: vec![away] };
        assert!(under_geometry(&nothing, vp, 1.0, w, h, s.rgba.len()).indices.is_empty());
        // A line across the whole viewport and beyond: tessellated, cut at the edges.
        let line = VectorLine {
            points: vec![egui::pos2(-50.0, 25.0), egui::pos2(150.0, 25.0)],
            closed: false,
            width: 3.0,
            color: crate::style::DISTRICT_LINE,
        };
        let lined = under_geometry(&Under { lines: vec![line], tints: vec![] }, vp, 1.0, w, h, s.rgba.len());
        assert!(!lined.indices.is_empty() && inside(&lined), "the line is cut at the viewport");
        let xs: Vec<f32> = lined.positions.iter().map(|p| p[0]).collect();
        assert_eq!(span(&xs), (0.0, 100.0), "and spans it");
        let opaque = lined.colors.iter().filter(|c| (c[3] - 1.0).abs() < 1e-6).count();
        assert!(opaque > 0 && opaque < lined.colors.len(), "an opaque core with feathered edges");
        assert_eq!(g.colors.len(), g.positions.len());
    }

    #[test]
    fn the_mesh_lands_on_the_viewport() {
        let vp = egui::Rect::from_min_max(egui::pos2(200.0, 100.0), egui::pos2(800.0, 500.0));
        let t = mesh_transform(vp, 1.0, 1.0, Vec2::new(1000.0, 600.0));
        // Image pixel (0, 0) is the viewport's top-left: (-300, 200) in world units.
        assert_eq!(t.transform_point(Vec3::ZERO).truncate(), Vec2::new(-300.0, 200.0));
        assert_eq!(t.transform_point(Vec3::new(600.0, 400.0, 0.0)).truncate(), Vec2::new(300.0, -200.0));
        // A HiDPI window: two pixels a logical pixel.
        let t = mesh_transform(vp, 2.0, 2.0, Vec2::new(1000.0, 600.0));
        assert_eq!(t.transform_point(Vec3::new(1200.0, 800.0, 0.0)).truncate(), Vec2::new(300.0, -200.0));
    }
}
