//! The map's drawing systems, over the viewport the panels leave free. The static map
//! image and the unit markers (stamped on the CPU, see [`markers`]) are drawn under egui
//! in one pass by the [`backdrop`]; while the view stands still they are instead composed
//! on the CPU and copied into the frame ([`still`]); on a GPU the markers are instanced
//! quads ([`marker_mesh`]) over the backdrop. Vector lines (zoomed in past the images)
//! and tinted cells lie under the markers ([`Under`]): painted before stamping, or a mesh
//! of their own under the markers'. egui then draws labels, cameras, the selected unit's track, incidents (and
//! the lines and tints themselves where personnel are hidden; the lines also while a view
//! with stamped markers moves, where painting them every frame would cost too much). Each live layer computes a plain batch from the entities, then draws it.

pub mod backdrop;
pub mod marker_mesh;
pub mod markers;
pub mod paint;
pub mod still;
pub mod symbols;

use std::time::Instant;

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::egui::{self, LayerId, Painter};
use bevy_egui::{EguiContexts, EguiPrimaryContextPass};

use crate::desk::Desk;
use crate::desk::enroute::{Samples, live_rows};
use crate::live::{CameraC, CellTints, Fresh, IncidentC, LiveIndex, RoadsAhead, Selection, Team, UnitC, UnitPos};
use crate::map::draw::{TintShape, VectorLine};
use crate::map::{CityMapRes, LayerToggles, MapTextures, draw};
use crate::view::MapView;
use backdrop::BackdropPlan;
use marker_mesh::{MarkerMaterial, MarkerMesh, MarkerPath};
use markers::Sprites;

/// Type size: 1 at the desk, larger on the wall.
#[derive(Debug, Clone, Copy, Resource)]
pub struct TextScale(pub f32);

impl Default for TextScale {
    fn default() -> Self {
        TextScale(1.0)
    }
}

/// What the unit markers were last built for: any change rebuilds them.
#[derive(Debug, Clone, PartialEq)]
struct DrawnFor {
    view: MapView,
    size: (usize, usize),
    gpu: bool,
    /// The generation of what they were stamped on (a still view's underlay, with lines
    /// and tints over it), or none (a clear marker image for the backdrop).
    base: Option<u64>,
    personnel: bool,
    /// What lies under the markers.
    under: Under,
}

/// What lies between the map image and the markers: vector lines (zoomed in past the
/// images) and tinted cells, in that order. Drawn by egui they would lie over the markers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Under {
    /// Vector lines.
    pub lines: Vec<VectorLine>,
    /// Tinted cells.
    pub tints: Vec<TintShape>,
}

impl Under {
    /// Whether there is nothing.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.tints.is_empty()
    }
}

/// The unit marker image (or the still view's composed frame) and what it cost.
#[derive(Default, Resource)]
pub struct UnitLayer {
    image: Option<Handle<Image>>,
    frame: Option<still::Frame>,
    frames: u64,
    size: (usize, usize),
    sprites: Option<(f32, Sprites)>,
    drawn_for: Option<DrawnFor>,
    last_view: Option<MapView>,
    /// What lies under the markers this frame (egui draws it where personnel are hidden).
    under: Under,
    /// Where egui draws the vector lines of a moving view with stamped markers.
    lines_slot: Option<egui::layers::ShapeIdx>,
    /// Markers in the last image.
    pub drawn: usize,
    /// Time spent building the last image (or mesh, or frame), milliseconds.
    pub raster_ms: f64,
    /// Whether the last frame was copied rather than shaded.
    pub copied: bool,
}

/// Systems that draw after the panels have laid out the viewport.
#[derive(Debug, Clone, PartialEq, Eq, Hash, SystemSet)]
pub struct DrawMap;

/// Draws the map and live layers.
pub struct LayersPlugin;

impl Plugin for LayersPlugin {
    fn build(&self, app: &mut App) {
        app.add_plugins((backdrop::BackdropPlugin, marker_mesh::MarkerMeshPlugin, still::StillPlugin))
            .init_resource::<UnitLayer>()
            .init_resource::<TextScale>()
            .add_systems(EguiPrimaryContextPass, (draw_static, draw_units, draw_symbols).chain().in_set(DrawMap));
    }
}

/// A painter over the map viewport, below every panel and window.
pub fn map_painter(ctx: &egui::Context, view: &MapView) -> Painter {
    ctx.layer_painter(LayerId::background()).with_clip_rect(view.viewport)
}

#[allow(clippy::too_many_arguments)] // a bevy system: one parameter per resource it touches
fn draw_static(
    mut contexts: EguiContexts,
    view: Res<MapView>,
    map: Res<CityMapRes>,
    textures: Res<MapTextures>,
    toggles: Res<LayerToggles>,
    tints: Res<CellTints>,
    scale: Res<TextScale>,
    mut plan: ResMut<BackdropPlan>,
    mut layer: ResMut<UnitLayer>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    plan.viewport = Some((view.viewport, ctx.pixels_per_point()));
    let Some(model) = &map.model else { return Ok(()) };
    let painter = map_painter(ctx, &view);
    let mut lines = Vec::new();
    if let Some((image, vectors)) = draw::backdrop_image(&view, &textures, ctx.pixels_per_point()) {
        plan.map = Some((image.clone(), draw::screen_rect(&view, &image.extent)));
        if vectors {
            lines = draw::vector_lines(&view, model, &toggles);
        }
    }
    let tints = if toggles.tint { draw::tint_shapes(&view, model, tints.0.values()) } else { Vec::new() };
    // Lines and area fills lie under point symbols: where there are markers, they go under
    // them (painted before stamping, or a mesh under the marker mesh); egui would draw over.
    if toggles.personnel {
        // Where the markers are stamped for a moving view, re-painting the lines every
        // frame would cost milliseconds: there egui draws them, in this slot, under the labels.
        layer.lines_slot = (!lines.is_empty()).then(|| painter.add(egui::Shape::Noop));
        layer.under = Under { lines, tints };
    } else {
        layer.under = Under::default();
        draw::draw_vectors(&painter, &lines);
        draw::draw_tints(&painter, &tints);
    }
    if toggles.labels {
        draw::draw_labels(&painter, &draw::labels(&view, model, scale.0));
    }
    Ok(())
}

/// What the GPU marker path writes: the mesh, its material, its entity, the window.
#[derive(SystemParam)]
pub struct MeshOut<'w, 's> {
    path: Res<'w, MarkerPath>,
    state: ResMut<'w, MarkerMesh>,
    meshes: ResMut<'w, Assets<Mesh>>,
    materials: ResMut<'w, Assets<MarkerMaterial>>,
    instanced: ResMut<'w, Assets<marker_mesh::InstancedMarkers>>,
    buffers: ResMut<'w, Assets<bevy::render::storage::ShaderBuffer>>,
    quads: Query<'w, 's, (&'static mut Transform, &'static mut Visibility), With<Mesh2d>>,
    window: Query<'w, 's, &'static Window, With<PrimaryWindow>>,
}

/// What the still view's copy needs: whether it is on, and the resampled map.
#[derive(SystemParam)]
pub struct StillIn<'w> {
    on: Res<'w, still::StillCopy>,
    underlay: ResMut<'w, still::Underlay>,
}

#[allow(clippy::too_many_arguments)]
fn draw_units(
    mut contexts: EguiContexts,
    view: Res<MapView>,
    map: Res<CityMapRes>,
    toggles: Res<LayerToggles>,
    units: Query<(&UnitPos, Has<Team>)>,
    moved: Query<(), Changed<UnitPos>>,
    mut layer: ResMut<UnitLayer>,
    mut images: ResMut<Assets<Image>>,
    mut plan: ResMut<BackdropPlan>,
    mut out: MeshOut,
    mut still_in: StillIn,
) -> Result {
    let ppp = contexts.ctx_mut()?.pixels_per_point();
    let (w, h) = ((view.viewport.width() * ppp).round() as usize, (view.viewport.height() * ppp).round() as usize);
    let gpu = *out.path == MarkerPath::Gpu;
    let window = out.window.single().ok().map(|w| (w.scale_factor(), Vec2::new(w.width(), w.height())));
    // Still: the same view as last frame, the markers stamped, the copy switched on.
    let still = still_in.on.0 && !gpu && layer.last_view == Some(*view);
    layer.last_view = Some(*view);
    layer.copied = false;
    let (Some(model), Some((scale_factor, window_size))) = (&map.model, window) else { return Ok(()) };
    if w == 0 || h == 0 || (!toggles.personnel && !still) {
        marker_mesh::hide(&out.state, &mut out.quads);
        // Shown again, the markers are rebuilt even if nothing moved meanwhile.
        layer.drawn_for = None;
        return Ok(());
    }
    // `draw_static` sets it afresh every frame: taken, not cloned (lines can be long).
    let mut under = std::mem::take(&mut layer.under);
    // A still view's markers are stamped on the underlay with the lines and tints painted
    // over it, once both are ready (worker threads); until then the backdrop shades.
    let underlay = &mut still_in.underlay;
    let stamp_on = if still && underlay.ready(&view, plan.map.as_ref(), w, h).is_some() {
        underlay.with_under(&under, view.viewport.min, ppp)
    } else {
        None
    };
    let base = stamp_on.as_ref().map(|(generation, _)| *generation);
    if !gpu && base.is_none() && !under.lines.is_empty() {
        // Stamped markers over a moving view: the lines go to egui (see `draw_static`).
        if let Some(slot) = layer.lines_slot {
            let shapes = under.lines.iter().map(VectorLine::shape).collect();
            map_painter(contexts.ctx_mut()?, &view).set(slot, egui::Shape::Vec(shapes));
        }
        under.lines.clear();
    }
    let drawn_for = DrawnFor { view: *view, size: (w, h), gpu, base, personnel: toggles.personnel, under };
    if layer.drawn_for.as_ref() != Some(&drawn_for) || (toggles.personnel && !moved.is_empty()) {
        let started = Instant::now();
        // Smaller as the view takes in more of the city (`zoom_share`).
        let sprite_scale = ppp * markers::zoom_share(view.m_per_pt);
        if layer.sprites.as_ref().is_none_or(|(s, _)| *s != sprite_scale) {
            layer.sprites = Some((sprite_scale, Sprites::new(sprite_scale)));
        }
        let layer = &mut *layer;
        let Some((_, sprites)) = &layer.sprites else { return Ok(()) };
        let margin = sprites.size as f32;
        let it = units
            .iter()
            .filter(|_| toggles.personnel)
            .filter_map(|(p, team)| p.lonlat.map(|ll| (ll, p.status, team, p.heading_deg)));
        let batch = markers::batch(&view, &model.projection, ppp, w, h, margin, it);
        if gpu {
            let count = sprites.rgba.len();
            let under = marker_mesh::under_geometry(&drawn_for.under, view.viewport, ppp, w, h, count);
            let instances = marker_mesh::instances(&batch, count);
            let min = view.viewport.min * ppp;
            let viewport_px = Vec4::new(min.x, min.y, w as f32, h as f32);
            let at = marker_mesh::mesh_transform(view.viewport, ppp, scale_factor, window_size);
            let drawn = marker_mesh::Drawn { instances, viewport_px, under, at, sprites, scale: sprite_scale };
            let MeshOut { state, meshes, materials, instanced, buffers, quads, .. } = &mut out;
            let assets = marker_mesh::GpuAssets { meshes, materials, instanced, buffers, images: &mut images };
            marker_mesh::show(state, drawn, assets, quads);
            layer.image = None;
        } else if let Some((_, pixels)) = &stamp_on {
            let buf = markers::compose(pixels, w, h, sprites, &batch);
            let origin = UVec2::new(
                (view.viewport.min.x * ppp).round().max(0.0) as u32,
                (view.viewport.min.y * ppp).round().max(0.0) as u32,
            );
            layer.frames += 1;
            layer.frame = Some(still::Frame {
                pixels: std::sync::Arc::new(buf),
                origin,
                size: UVec2::new(w as u32, h as u32),
                generation: layer.frames,
            });
            marker_mesh::hide(&out.state, &mut out.quads);
        } else {
            let mut buf = vec![0u8; w * h * 4];
            paint::paint_under(&mut buf, w, h, view.viewport.min, ppp, &drawn_for.under);
            markers::rasterise(&mut buf, w, h, sprites, &batch);
            if layer.size == (w, h)
                && let Some(img) = layer.image.as_ref().and_then(|hd| images.get_mut(hd))
            {
                img.into_inner().data = Some(buf);
            } else {
                layer.image = Some(images.add(backdrop::marker_image(w, h, buf)));
            }
            layer.size = (w, h);
            marker_mesh::hide(&out.state, &mut out.quads);
        }
        layer.drawn = batch.len();
        layer.drawn_for = Some(drawn_for);
        layer.raster_ms = started.elapsed().as_secs_f64() * 1000.0;
    }
    if base.is_some() {
        plan.copy = layer.frame.clone();
        layer.copied = plan.copy.is_some();
    } else {
        plan.markers = layer.image.clone();
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn draw_symbols(
    mut contexts: EguiContexts,
    view: Res<MapView>,
    map: Res<CityMapRes>,
    toggles: Res<LayerToggles>,
    incidents: Query<(&IncidentC, Has<Fresh>)>,
    cameras: Query<&CameraC>,
    units: Query<(&UnitC, &UnitPos)>,
    index: Res<LiveIndex>,
    selection: Res<Selection>,
    desk: Res<Desk>,
    samples: Res<Samples>,
    ahead: Res<RoadsAhead>,
    scale: Res<TextScale>,
    time: Res<Time>,
) -> Result {
    let Some(model) = &map.model else { return Ok(()) };
    let painter = map_painter(contexts.ctx_mut()?, &view);
    let proj = &model.projection;
    if toggles.cameras {
        let linked =
            desk.linked_cameras.as_ref().filter(|(i, _)| Some(*i) == selection.incident).map_or(&[][..], |(_, c)| c);
        let batch = symbols::camera_batch(&view, proj, cameras.iter().map(|c| &c.0), linked);
        symbols::draw_cameras(&painter, &batch, scale.0);
    }
    if let Some((unit, points)) = &desk.track
        && Some(*unit) == selection.unit
    {
        let pts: Vec<_> = points.iter().map(|(_, lon, lat)| view.to_screen(proj.to_local(*lon, *lat))).collect();
        symbols::draw_track(&painter, &pts);
    }
    // The units on the way to the selected incident, under the markers' names and the
    // incidents: only where personnel are shown.
    if toggles.personnel
        && let Some(i) = selection.incident.and_then(|id| index.incidents.get(&id)).and_then(|e| incidents.get(*e).ok())
    {
        let i = &i.0.0;
        let rows = live_rows(i, &index, &units, &ahead, &samples);
        let legs: Vec<_> = rows
            .iter()
            .filter_map(|r| {
                let at = r.lonlat?;
                let way = desk.way_of(i.id, r.unit).and_then(|w| crate::desk::enroute::way_ahead(w, at));
                let line = way.unwrap_or_else(|| vec![at, [i.location.x(), i.location.y()]]);
                let line = line.iter().map(|p| view.to_screen(proj.to_local(p[0], p[1]))).collect();
                Some((line, r.name.as_str(), r.leg))
            })
            .collect();
        symbols::draw_en_route(&painter, &legs, scale.0);
    }
    if let Some(sel) = selection.unit
        && let Some((u, p)) = index.units.get(&sel).and_then(|e| units.get(*e).ok())
        && let Some(ll) = p.lonlat
    {
        let at = view.to_screen(proj.to_local(ll[0], ll[1]));
        painter.circle_stroke(at, 11.0 * scale.0, egui::Stroke::new(2.5, crate::style::SELECTED));
        symbols::tag(&painter, at + egui::vec2(12.0, -8.0), &u.0.name, 13.0 * scale.0, crate::style::LABEL);
    }
    if toggles.incidents {
        let batch = symbols::incident_batch(&view, proj, incidents.iter().map(|(i, f)| (&i.0, f)), selection.incident);
        symbols::draw_incidents(&painter, &batch, time.elapsed_secs_f64(), scale.0);
    }
    Ok(())
}
