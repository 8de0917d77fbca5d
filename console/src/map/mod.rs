//! The map feature: the city map arrives from the server once (`map` query), is projected
//! into a [`MapModel`], and its static layers are rasterised off the frame loop into images
//! the GPU only samples ([`raster`]). [`draw`] puts them on screen with labels, and switches
//! to crisp vector lines for what is visible once zoomed in past the images' resolution.

pub mod draw;
pub mod model;
pub mod raster;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, mpsc};

use bevy::asset::RenderAssetUsages;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};
use bevy_egui::{EguiTextureHandle, EguiUserTextures, egui};
use onegrid_protocol::{CityMap, QueryResult, ServerMsg};

use crate::net::ServerEvent;
use crate::net::client::MAP_REQ;
use crate::view::MapView;
pub use model::MapModel;
pub use raster::{Raster, StaticLayer};

/// Pixels on the long side of the base image.
pub const BASE_PX: u32 = 4096;
/// Pixels on the long side of the overlay images.
pub const OVERLAY_PX: u32 = 3072;

/// The projected map, once it has arrived.
#[derive(Default, Resource)]
pub struct CityMapRes {
    /// The model.
    pub model: Option<Arc<MapModel>>,
    /// Why there is none, in words.
    pub error: Option<String>,
}

/// A static layer on the GPU.
#[derive(Debug, Clone, Copy)]
pub struct LayerTexture {
    /// egui's id for it.
    pub id: egui::TextureId,
    /// What it covers.
    pub extent: crate::view::Bounds,
    /// Its resolution.
    pub m_per_px: f64,
}

/// The static layers drawn so far.
#[derive(Default, Resource)]
pub struct MapTextures(pub HashMap<StaticLayer, LayerTexture>);

/// Which switchable layers are on.
#[derive(Debug, Clone, Resource)]
pub struct LayerToggles {
    /// Technical cells.
    pub cells: bool,
    /// Responsibility units.
    pub responsibility: bool,
    /// Supervision units.
    pub supervision: bool,
    /// Cells tinted by live status.
    pub tint: bool,
    /// Incidents.
    pub incidents: bool,
    /// Personnel.
    pub personnel: bool,
    /// Cameras.
    pub cameras: bool,
    /// Labels.
    pub labels: bool,
}

impl Default for LayerToggles {
    fn default() -> Self {
        LayerToggles {
            cells: true,
            responsibility: false,
            supervision: false,
            tint: true,
            incidents: true,
            personnel: true,
            cameras: true,
            labels: true,
        }
    }
}

/// A view to start from instead of the whole city: longitude, latitude, metres per point.
#[derive(Debug, Clone, Copy, Default, Resource)]
pub struct StartView(pub Option<[f64; 3]>);

/// Rasters under way on a worker thread.
#[derive(Default, Resource)]
pub struct RasterJobs(pub Option<Mutex<mpsc::Receiver<(StaticLayer, Raster)>>>);

/// Receives the map, rasterises it, uploads the layers.
pub struct MapPlugin;

impl Plugin for MapPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<CityMapRes>()
            .init_resource::<MapTextures>()
            .init_resource::<LayerToggles>()
            .init_resource::<RasterJobs>()
            .init_resource::<MapView>()
            .init_resource::<StartView>()
            .add_systems(Update, (receive_map, upload_rasters));
    }
}

/// Installs `map`: projects it, frames the view on it and starts rasterising.
pub fn install_map(map: &CityMap, res: &mut CityMapRes, jobs_out: &mut Option<mpsc::Receiver<(StaticLayer, Raster)>>, view: &mut MapView) {
    if map.cells.is_empty() {
        let why = format!("the server's map of {} has no cells", map.name);
        error!("{why}");
        res.error = Some(why);
        return;
    }
    let model = Arc::new(MapModel::new(map));
    view.frame(&model.bounds);
    let (tx, rx) = mpsc::channel();
    let m = model.clone();
    let spawned = std::thread::Builder::new().name("onegrid-raster".into()).spawn(move || {
        for layer in StaticLayer::ALL {
            let px = if layer == StaticLayer::Base { BASE_PX } else { OVERLAY_PX };
            if tx.send((layer, raster::render(&m, layer, px))).is_err() {
                return;
            }
        }
    });
    if let Err(e) = spawned {
        res.error = Some(format!("cannot start the map rasteriser: {e}"));
    }
    *jobs_out = Some(rx);
    res.model = Some(model);
    res.error = None;
}

fn receive_map(
    mut events: MessageReader<ServerEvent>,
    mut res: ResMut<CityMapRes>,
    mut jobs: ResMut<RasterJobs>,
    mut view: ResMut<MapView>,
    start: Res<StartView>,
) {
    for ServerEvent(msg) in events.read() {
        match msg {
            ServerMsg::Result { req, result: QueryResult::Map { map } } if req == MAP_REQ => {
                let mut rx = None;
                install_map(map, &mut res, &mut rx, &mut view);
                jobs.0 = rx.map(Mutex::new);
                apply_start_view(&start, &res, &mut view);
            }
            ServerMsg::Error { req: Some(req), message, .. } if req == MAP_REQ => {
                res.error = Some(format!("the server did not give its map: {message}"));
            }
            _ => {}
        }
    }
}

/// Moves the view to the start view, when one was asked for.
pub fn apply_start_view(start: &StartView, res: &CityMapRes, view: &mut MapView) {
    if let (Some([lon, lat, z]), Some(m)) = (start.0, &res.model) {
        view.center = m.projection.to_local(lon, lat);
        view.m_per_pt = z.clamp(crate::view::MIN_M_PER_PT, crate::view::MAX_M_PER_PT);
    }
}

/// Turns a raster into a GPU image egui can draw.
pub fn raster_image(r: Raster) -> Image {
    Image::new(
        Extent3d { width: r.width, height: r.height, depth_or_array_layers: 1 },
        TextureDimension::D2,
        r.rgba,
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::RENDER_WORLD,
    )
}

fn upload_rasters(
    jobs: Res<RasterJobs>,
    mut images: ResMut<Assets<Image>>,
    mut egui_textures: ResMut<EguiUserTextures>,
    mut textures: ResMut<MapTextures>,
) {
    let Some(rx) = &jobs.0 else { return };
    let Ok(rx) = rx.lock() else { return };
    while let Ok((layer, r)) = rx.try_recv() {
        let (extent, m_per_px) = (r.extent, r.m_per_px());
        let handle = images.add(raster_image(r));
        let id = egui_textures.add_image(EguiTextureHandle::Strong(handle));
        textures.0.insert(layer, LayerTexture { id, extent, m_per_px });
    }
}
