//! The map feature: the city map arrives from the server once (`map` query), is projected
//! into a [`MapModel`] on a worker thread (a whole city takes a few hundred milliseconds the
//! window must not freeze for), and its static layers are rasterised off the frame loop into images
//! the GPU only samples ([`raster`]). [`draw`] puts them on screen with labels, and switches
//! to crisp vector lines for what is visible once zoomed in past the images' resolution.
//! The view opens on what the user looks after: the whole city, or their district, street
//! or community ([`MapModel::home`]).

pub mod draw;
pub mod model;
pub mod raster;

use std::sync::{Arc, Mutex, mpsc};

use bevy::asset::RenderAssetUsages;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};
use onegrid_protocol::{CityMap, QueryResult, ServerMsg};

use crate::net::ServerEvent;
use crate::net::client::MAP_REQ;
use crate::view::MapView;
pub use model::MapModel;
pub use raster::{Raster, StaticLayer};

/// Pixels on the long side of each level of the composed static map, coarsest first: the
/// level whose texels are closest to screen pixels is drawn (a small mip pyramid, so that
/// sampling stays near 1:1 at every zoom).
pub const LEVELS_PX: [u32; 3] = [1024, 2048, 4096];

/// The projected map, once it has arrived.
#[derive(Default, Resource)]
pub struct CityMapRes {
    /// The model.
    pub model: Option<Arc<MapModel>>,
    /// Why there is none, in words.
    pub error: Option<String>,
}

/// A static image on the GPU, with its pixels kept on the CPU for the still view's
/// copy ([`crate::layers::still`]) while that can be used.
#[derive(Debug, Clone)]
pub struct LayerTexture {
    /// The image.
    pub handle: Handle<Image>,
    /// Its pixels; dropped where no still view is ever copied (GPU markers, `--still-copy
    /// off`), which saves about 150 MB for the whole pyramid.
    pub raster: Option<Arc<Raster>>,
    /// What it covers.
    pub extent: crate::view::Bounds,
    /// Its resolution.
    pub m_per_px: f64,
}

/// The static map on the GPU: the composed levels of the layers switched on, and the fills
/// alone (under vector lines when zoomed in past the finest level).
#[derive(Default, Resource)]
pub struct MapTextures {
    /// Composed levels, coarsest first (fewer until all are drawn).
    pub levels: Vec<LayerTexture>,
    /// Land and community fills alone, at the finest level.
    pub fills: Option<LayerTexture>,
    /// The layers the levels show.
    pub composed: Vec<StaticLayer>,
}

impl MapTextures {
    /// Whether every image is drawn and uploaded.
    pub fn complete(&self) -> bool {
        self.fills.is_some() && self.levels.len() == LEVELS_PX.len()
    }

    /// The level to draw at `m_per_pt` metres per point and `ppp` pixels per point: the
    /// coarsest whose texels are no larger than a screen pixel, else the finest.
    pub fn level_for(&self, m_per_pt: f64, ppp: f32) -> Option<&LayerTexture> {
        let m_per_screen_px = m_per_pt / f64::from(ppp.max(0.1));
        self.levels.iter().find(|t| t.m_per_px <= m_per_screen_px * 1.05).or(self.levels.last())
    }
}

/// Which switchable layers are on (kept between runs at the desk, `prefs`).
#[derive(Debug, Clone, PartialEq, Resource, serde::Serialize, serde::Deserialize)]
#[serde(default)]
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

/// What a raster job hands back.
pub enum Drawn {
    /// One level of the composed map.
    Level(Vec<StaticLayer>, Raster),
    /// The fills alone.
    Fills(Raster),
}

/// Rasters under way on a worker thread.
#[derive(Default, Resource)]
pub struct RasterJobs(pub Option<Mutex<mpsc::Receiver<Drawn>>>);

/// The static layers drawn for `toggles`, in drawing order.
pub fn composed_layers(toggles: &LayerToggles) -> Vec<StaticLayer> {
    let mut v = vec![StaticLayer::Base, StaticLayer::Roads];
    if toggles.cells {
        v.push(StaticLayer::Cells);
    }
    if toggles.responsibility {
        v.push(StaticLayer::Responsibility);
    }
    if toggles.supervision {
        v.push(StaticLayer::Supervision);
    }
    v.push(StaticLayer::Boundaries);
    v
}

/// Starts drawing the levels of `layers` (and the fills, when `with_fills`) off the frame
/// loop, coarsest first so that something shows at once.
pub fn spawn_raster(
    model: Arc<MapModel>,
    layers: Vec<StaticLayer>,
    with_fills: bool,
) -> std::io::Result<mpsc::Receiver<Drawn>> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new().name("onegrid-raster".into()).spawn(move || {
        let started = std::time::Instant::now();
        for px in LEVELS_PX {
            if tx.send(Drawn::Level(layers.clone(), raster::render(&model, &layers, px))).is_err() {
                return;
            }
        }
        info!("map images composed in {:.0} ms ({} cells)", started.elapsed().as_secs_f64() * 1e3, model.cells.len());
        if with_fills {
            let last = LEVELS_PX[LEVELS_PX.len() - 1];
            let _ = tx.send(Drawn::Fills(raster::render(&model, &[StaticLayer::Base], last)));
        }
        // The decoded map, the projection's scratch and the images these replace are freed
        // by now or within the next frames: what the allocator kept of them goes back.
        crate::memory::give_back_soon(std::time::Duration::from_secs(2), "map images composed");
    })?;
    Ok(rx)
}

/// Receives the map, rasterises it, uploads the layers.
pub struct MapPlugin;

impl Plugin for MapPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<CityMapRes>()
            .init_resource::<MapTextures>()
            .init_resource::<LayerToggles>()
            .init_resource::<RasterJobs>()
            .init_resource::<Projecting>()
            .init_resource::<MapView>()
            .init_resource::<StartView>()
            .add_systems(Update, (receive_map, frame_home.after(receive_map), upload_rasters));
    }
}

/// Projects `map` into the model the console draws from; an error, in words, for a map it
/// cannot draw.
pub fn project(map: &CityMap) -> Result<MapModel, String> {
    if map.cells.is_empty() {
        return Err(format!("the server's map of {} has no cells", map.name));
    }
    let started = std::time::Instant::now();
    let model = MapModel::new(map);
    info!(
        "map of {}: {} cells, {} areas, {} categories, projected in {:.0} ms",
        map.name,
        map.cells.len(),
        map.areas.len(),
        map.categories.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(model)
}

/// Installs `map`: projects it, frames the view on it and starts rasterising `layers`.
pub fn install_map(
    map: &CityMap,
    layers: Vec<StaticLayer>,
    res: &mut CityMapRes,
    jobs_out: &mut Option<mpsc::Receiver<Drawn>>,
    view: &mut MapView,
) {
    match project(map) {
        Ok(model) => install_model(Arc::new(model), layers, res, jobs_out, view),
        Err(why) => {
            error!("{why}");
            res.error = Some(why);
        }
    }
}

/// Installs a projected map: frames the view on it and starts rasterising `layers`.
pub fn install_model(
    model: Arc<MapModel>,
    layers: Vec<StaticLayer>,
    res: &mut CityMapRes,
    jobs_out: &mut Option<mpsc::Receiver<Drawn>>,
    view: &mut MapView,
) {
    view.frame(&model.bounds);
    match spawn_raster(model.clone(), layers, true) {
        Ok(rx) => {
            *jobs_out = Some(rx);
            res.error = None;
        }
        Err(e) => res.error = Some(format!("cannot start the map rasteriser: {e}")),
    }
    res.model = Some(model);
}

/// A map being projected on a worker thread: a whole city's 177,400 cells take a few hundred
/// milliseconds, for which the window must not stand still.
#[derive(Default, Resource)]
pub struct Projecting(Option<Mutex<mpsc::Receiver<Projected>>>);

/// What the projection worker hands back: the model, or why there is none.
type Projected = Result<Arc<MapModel>, String>;

/// Starts projecting `map` on a worker thread, which then frees it too; on this thread
/// when no thread can be started.
fn spawn_projection(map: Box<CityMap>) -> mpsc::Receiver<Projected> {
    let (tx, rx) = mpsc::channel();
    // Shared, so that it is still here when the thread cannot be started.
    let map = Arc::new(Mutex::new(Some(map)));
    let (for_worker, worker_tx) = (map.clone(), tx.clone());
    let spawned = std::thread::Builder::new().name("onegrid-project".into()).spawn(move || {
        if let Some(map) = for_worker.lock().ok().and_then(|mut m| m.take()) {
            let _ = worker_tx.send(project(&map).map(Arc::new));
        }
    });
    if let Err(e) = spawned {
        warn!("cannot project the map off the frame loop ({e}); projecting it here");
        if let Some(map) = map.lock().ok().and_then(|mut m| m.take()) {
            let _ = tx.send(project(&map).map(Arc::new));
        }
    }
    rx
}

#[allow(clippy::too_many_arguments)] // a bevy system: one parameter per resource it touches
fn receive_map(
    mut events: MessageMutator<ServerEvent>,
    mut res: ResMut<CityMapRes>,
    mut jobs: ResMut<RasterJobs>,
    mut projecting: ResMut<Projecting>,
    mut view: ResMut<MapView>,
    start: Res<StartView>,
    toggles: Res<LayerToggles>,
) {
    for ServerEvent(msg) in events.read() {
        match msg {
            ServerMsg::Result { req, result: QueryResult::Map { .. } } if req == MAP_REQ => {
                // Taken out of the message (nothing else reads the map from it) to be
                // projected off the frame loop.
                let owned = std::mem::replace(msg, ServerMsg::Pong { t: 0 });
                let ServerMsg::Result { result: QueryResult::Map { map }, .. } = owned else { continue };
                projecting.0 = Some(Mutex::new(spawn_projection(map)));
            }
            ServerMsg::Error { req: Some(req), message, .. } if req == MAP_REQ => {
                res.error = Some(format!("the server did not give its map: {message}"));
            }
            _ => {}
        }
    }
    let Some(rx) = &projecting.0 else { return };
    let projected = match rx.lock().map(|rx| rx.try_recv()) {
        Ok(Err(mpsc::TryRecvError::Empty)) => return,
        Ok(Ok(projected)) => projected,
        Ok(Err(mpsc::TryRecvError::Disconnected)) | Err(_) => Err("the map's projection failed".to_owned()),
    };
    projecting.0 = None;
    match projected {
        Ok(model) => {
            let mut rx = None;
            install_model(model, composed_layers(&toggles), &mut res, &mut rx, &mut view);
            jobs.0 = rx.map(Mutex::new);
            apply_start_view(&start, &res, &mut view);
        }
        Err(why) => {
            error!("{why}");
            res.error = Some(why);
        }
    }
}

/// Frames what the user looks after (their street, say) once the map and who they are are
/// both known, for each map installed, unless a start view was asked for.
fn frame_home(
    res: Res<CityMapRes>,
    feed: Option<Res<crate::live::Feed>>,
    start: Res<StartView>,
    mut view: ResMut<MapView>,
    mut framed: Local<Option<(usize, String)>>,
) {
    let (Some(m), Some(user)) = (&res.model, feed.as_ref().and_then(|f| f.user.as_ref())) else { return };
    let key = (Arc::as_ptr(m) as usize, user.scope.code.clone());
    if framed.as_ref() == Some(&key) {
        return;
    }
    *framed = Some(key);
    if start.0.is_none() {
        view.frame(&m.home(Some(&user.scope)));
    }
}

/// Moves the view to the start view, when one was asked for and lies on the map (a view
/// kept from another city's map is passed over: the whole map shows instead).
pub fn apply_start_view(start: &StartView, res: &CityMapRes, view: &mut MapView) {
    if let (Some([lon, lat, z]), Some(m)) = (start.0, &res.model) {
        let c = m.projection.to_local(lon, lat);
        let b = &m.bounds;
        if !(b.min[0]..=b.max[0]).contains(&c[0]) || !(b.min[1]..=b.max[1]).contains(&c[1]) {
            warn!("the start view {lon:.5},{lat:.5} is not on the map of {}: showing the whole map", m.name);
            return;
        }
        view.center = c;
        view.m_per_pt = z.clamp(crate::view::MIN_M_PER_PT, crate::view::MAX_M_PER_PT);
    }
}

/// A GPU image of premultiplied sRGB pixels, `width × height`, sampled linearly or (for
/// images drawn texel for pixel) nearest.
pub fn srgb_image(width: u32, height: u32, rgba: Vec<u8>, nearest: bool) -> Image {
    let mut img = Image::new(
        Extent3d { width, height, depth_or_array_layers: 1 },
        TextureDimension::D2,
        rgba,
        TextureFormat::Rgba8UnormSrgb,
        RenderAssetUsages::RENDER_WORLD,
    );
    if nearest {
        img.sampler = bevy::image::ImageSampler::nearest();
    }
    img
}

/// Turns a raster into a GPU image.
pub fn raster_image(r: &Raster) -> Image {
    srgb_image(r.width, r.height, r.rgba.clone(), false)
}

fn upload_rasters(
    mut jobs: ResMut<RasterJobs>,
    mut images: ResMut<Assets<Image>>,
    mut textures: ResMut<MapTextures>,
    toggles: Res<LayerToggles>,
    res: Res<CityMapRes>,
) {
    let wanted = composed_layers(&toggles);
    if let Some(model) = &res.model
        && textures.complete()
        && textures.composed != wanted
    {
        // A switch changed: draw the levels again; the old ones show until the new arrive.
        if let Ok(rx) = spawn_raster(model.clone(), wanted.clone(), false) {
            jobs.0 = Some(Mutex::new(rx));
            textures.composed = wanted.clone();
        }
    }
    let Some(rx) = &jobs.0 else { return };
    let Ok(rx) = rx.lock() else { return };
    let upload = |r: Raster, images: &mut Assets<Image>| {
        let (extent, m_per_px) = (r.extent, r.m_per_px());
        LayerTexture { handle: images.add(raster_image(&r)), raster: Some(Arc::new(r)), extent, m_per_px }
    };
    while let Ok(drawn) = rx.try_recv() {
        match drawn {
            Drawn::Fills(r) => textures.fills = Some(upload(r, &mut images)),
            Drawn::Level(layers, r) => {
                let t = upload(r, &mut images);
                textures.composed = layers;
                // A level replaced drops its old image's last handle, which frees it.
                match textures.levels.iter().position(|l| (l.m_per_px - t.m_per_px).abs() < 1e-9) {
                    Some(i) => textures.levels[i] = t,
                    None => textures.levels.push(t),
                }
                textures.levels.sort_by(|a, b| b.m_per_px.total_cmp(&a.m_per_px));
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn tex(m_per_px: f64) -> LayerTexture {
        let raster = Raster { width: 1, height: 1, rgba: vec![0; 4], extent: crate::view::Bounds::empty() };
        LayerTexture {
            handle: Handle::default(),
            raster: Some(Arc::new(raster)),
            extent: crate::view::Bounds::empty(),
            m_per_px,
        }
    }

    #[test]
    fn the_level_drawn_is_the_coarsest_not_coarser_than_a_pixel() {
        let t = MapTextures { levels: vec![tex(12.0), tex(6.0), tex(3.0)], fills: None, composed: vec![] };
        assert_eq!(t.level_for(20.0, 1.0).map(|l| l.m_per_px), Some(12.0));
        assert_eq!(t.level_for(7.0, 1.0).map(|l| l.m_per_px), Some(6.0));
        assert_eq!(t.level_for(7.0, 2.0).map(|l| l.m_per_px), Some(3.0), "HiDPI wants finer texels");
        assert_eq!(t.level_for(0.5, 1.0).map(|l| l.m_per_px), Some(3.0), "closer in: the finest");
    }

    #[test]
    fn the_view_opens_on_the_users_area_unless_a_start_view_was_asked() {
        use onegrid_protocol::{Level, Role, Scope, UserInfo};
        for (start, expect_home) in [(None, true), (Some([118.0, 24.0, 3.0]), false)] {
            let mut app = App::new();
            app.init_resource::<MapView>()
                .init_resource::<crate::live::Feed>()
                .insert_resource(StartView(start))
                .insert_resource(CityMapRes {
                    model: Some(Arc::new(MapModel::new(&model::tests::tiny_map()))),
                    ..default()
                })
                .add_systems(Update, frame_home);
            app.update();
            let before = *app.world().resource::<MapView>();
            app.world_mut().resource_mut::<crate::live::Feed>().user = Some(UserInfo {
                id: "c".into(),
                name: "丁社区值班员".into(),
                role: Role::Dispatcher,
                scope: Scope { level: Level::Community, code: "999901001002".into() },
                unit: None,
            });
            app.update();
            let v = *app.world().resource::<MapView>();
            let m = app.world().resource::<CityMapRes>().model.clone().expect("model");
            let home = m.area("999901001002").expect("community").bounds;
            let centred = (v.center[0] - home.center()[0]).abs() < 1.0 && (v.center[1] - home.center()[1]).abs() < 1.0;
            assert_eq!(centred, expect_home, "start {start:?}: {v:?}");
            if !expect_home {
                assert_eq!(v.center, before.center, "a start view is left alone");
            }
        }
    }

    #[test]
    fn a_start_view_on_the_map_is_taken_and_one_off_it_passed_over() {
        let model = Arc::new(MapModel::new(&model::tests::tiny_map()));
        let res = CityMapRes { model: Some(model.clone()), error: None };
        let middle = model.bounds.center();
        let [lon, lat] = model.projection.to_lonlat(middle);
        let mut view = MapView::default();
        apply_start_view(&StartView(Some([lon, lat, 2.5])), &res, &mut view);
        assert!((view.center[0] - middle[0]).abs() < 0.01 && (view.center[1] - middle[1]).abs() < 0.01);
        assert_eq!(view.m_per_pt, 2.5);
        let mut other = MapView::default();
        apply_start_view(&StartView(Some([lon + 1.0, lat, 2.5])), &res, &mut other);
        assert_eq!(other, MapView::default(), "another city's view is passed over");
    }

    #[test]
    fn switches_choose_the_composed_layers() {
        let toggles = LayerToggles { cells: false, supervision: true, ..LayerToggles::default() };
        let l = composed_layers(&toggles);
        assert_eq!(l, vec![StaticLayer::Base, StaticLayer::Roads, StaticLayer::Supervision, StaticLayer::Boundaries]);
    }

    /// A headless app that takes the map from server messages as the console does.
    fn receiving_app() -> App {
        let mut app = App::new();
        app.add_message::<ServerEvent>()
            .init_resource::<CityMapRes>()
            .init_resource::<RasterJobs>()
            .init_resource::<Projecting>()
            .init_resource::<MapView>()
            .init_resource::<StartView>()
            .init_resource::<LayerToggles>()
            .add_systems(Update, receive_map);
        app
    }

    fn map_message(map: CityMap) -> ServerEvent {
        ServerEvent(ServerMsg::Result { req: MAP_REQ.into(), result: QueryResult::Map { map: Box::new(map) } })
    }

    /// Updates `app` until the map is in or refused: how many frames that took and the
    /// longest of them.
    fn until_installed(app: &mut App) -> (usize, std::time::Duration) {
        let (mut frames, mut longest) = (0, std::time::Duration::ZERO);
        let started = std::time::Instant::now();
        loop {
            let t = std::time::Instant::now();
            app.update();
            longest = longest.max(t.elapsed());
            frames += 1;
            let res = app.world().resource::<CityMapRes>();
            if res.model.is_some() || res.error.is_some() {
                return (frames, longest);
            }
            assert!(started.elapsed() < std::time::Duration::from_secs(60), "the map was never installed");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    #[test]
    fn the_map_is_projected_off_the_frame_loop_and_then_installed() {
        let mut app = receiving_app();
        app.world_mut().write_message(map_message(model::tests::tiny_map()));
        until_installed(&mut app);
        let res = app.world().resource::<CityMapRes>();
        let model = res.model.as_ref().expect("installed");
        assert!(res.error.is_none());
        assert!(model.area("999901001002").is_some());
        assert!(app.world().resource::<RasterJobs>().0.is_some(), "the images are being composed");
        assert!(app.world().resource::<Projecting>().0.is_none(), "nothing left under way");
        // The view was framed on the map.
        let v = *app.world().resource::<MapView>();
        let c = model.bounds.center();
        assert!((v.center[0] - c[0]).abs() < 1.0 && (v.center[1] - c[1]).abs() < 1.0, "{v:?}");
        // The message no longer holds the map: the worker took it (and freed it).
        let mut left = app.world_mut().resource_mut::<Messages<ServerEvent>>();
        assert!(left.drain().all(|ServerEvent(m)| !matches!(m, ServerMsg::Result { .. })));

        // A map with no cells is refused in words.
        let mut refused = receiving_app();
        refused.world_mut().write_message(map_message({
            let mut m = model::tests::tiny_map();
            m.cells.clear();
            m
        }));
        until_installed(&mut refused);
        let res = refused.world().resource::<CityMapRes>();
        assert!(res.model.is_none());
        assert_eq!(res.error.as_deref(), Some("the server's map of 测试市 has no cells"));
    }

    /// A benchmark, not a test (BENCHMARKS.md): the longest frame while the map arrives,
    /// projected on a worker thread, against the frame that projected it (the install
    /// before the worker) and dropped the message's map (as the message queue did two frames
    /// later), in the same run, three rounds each, interleaved.
    /// `ONEGRID_BENCH_MAP=/tmp/city cargo test -p onegrid-console --lib map_arrival_frame -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn map_arrival_frame() {
        let dir = crate::testing::bench_map_dir();
        let map = onegrid_server::city::load(&dir).expect("a map").map.decode().expect("decodes");
        println!("map {}: {} cells", dir.display(), map.cells.len());
        let (mut on, mut off) = (vec![], vec![]);
        for _ in 0..3 {
            let copy = map.clone();
            let t = std::time::Instant::now();
            let (mut res, mut jobs, mut view) = (CityMapRes::default(), None, MapView::default());
            install_map(&copy, composed_layers(&LayerToggles::default()), &mut res, &mut jobs, &mut view);
            drop(copy);
            on.push(t.elapsed().as_secs_f64() * 1e3);
            assert!(res.model.is_some());

            let mut app = receiving_app();
            app.world_mut().write_message(map_message(map.clone()));
            let (frames, longest) = until_installed(&mut app);
            off.push(longest.as_secs_f64() * 1e3);
            println!(
                "on the frame loop {:.1} ms; off it, the longest of {frames} frames {:.2} ms",
                on[on.len() - 1],
                off[off.len() - 1]
            );
        }
        on.sort_by(f64::total_cmp);
        off.sort_by(f64::total_cmp);
        println!("median: {:.1} ms ÷ {:.2} ms; off ÷ on = {:.4}x", on[1], off[1], off[1] / on[1]);
    }

    /// Resident memory of this process, bytes (Linux).
    fn rss() -> u64 {
        crate::memory::resident().map_or(0, |r| r.0)
    }

    /// Where the console's memory goes on a map: resident memory after each step of taking
    /// it in (decoding its parts and joining them, projecting, freeing the decoded map,
    /// composing the images), from the parts a console kept (`<data>/maps/<digest>.parts`),
    /// so that nothing else was loaded in the process before.
    /// `ONEGRID_MAP_PARTS=data/maps/<digest>.parts cargo test -p onegrid-console --lib map_memory -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn map_memory() {
        let Ok(dir) = std::env::var("ONEGRID_MAP_PARTS") else {
            println!("set ONEGRID_MAP_PARTS to a folder of kept map parts");
            return;
        };
        let mut texts = vec![];
        for k in 0.. {
            match std::fs::read_to_string(std::path::Path::new(&dir).join(format!("{k}.json"))) {
                Ok(t) => texts.push(t),
                Err(_) => break,
            }
        }
        let mb = |b: u64| b as f64 / 1e6;
        let mut last = rss();
        let mut step = |what: &str| {
            let now = rss();
            println!("{what:<40} RSS {:>7.1} MB ({:+.1})", mb(now), mb(now) - mb(last));
            last = now;
        };
        step(&format!("the {} parts' text", texts.len()));
        let parts = texts.iter().map(|t| match serde_json::from_str::<ServerMsg>(t) {
            Ok(ServerMsg::Result { result: QueryResult::MapPart { map, .. }, .. }) => *map,
            _ => panic!("not a part"),
        });
        let map = CityMap::join(parts.collect::<Vec<_>>()).expect("joins");
        step(&format!("decoded and joined ({} cells)", map.cells.len()));
        drop(texts);
        step("the text freed");
        let model = Arc::new(MapModel::new(&map));
        step("projected");
        drop(map);
        step("the decoded map freed");
        let layers = composed_layers(&LayerToggles::default());
        let levels: Vec<Raster> = LEVELS_PX.iter().map(|&px| raster::render(&model, &layers, px)).collect();
        let sizes: Vec<String> = levels.iter().map(|r| format!("{}x{}", r.width, r.height)).collect();
        step(&format!("levels composed {}", sizes.join(" ")));
        let fills = raster::render(&model, &[StaticLayer::Base], LEVELS_PX[2]);
        step("fills composed");
        drop((levels, fills));
        step("images freed");
        drop(model);
        step("model freed");
    }
}
