//! `--bench`: a fixed scene driven for a fixed number of frames, timed. The Siming map
//! loaded from disk through the same install path as a server's map, N synthetic units
//! (fixed seed) applied as a snapshot, and every frame one tick of position updates (5 %
//! of the units move) through the same apply path as the network. Clear-only frames (the
//! same app drawing nothing but the clear colour) and frames of the full scene with the
//! desk panels alternate in blocks of 50; frame times are printed as p50/p95/p99 for both,
//! with the ratio, the cost of applying one tick, of building the markers (stamping them,
//! or their mesh with `--markers gpu`) and the main world's share of a frame, and how many
//! frames copied the still view's pixels rather than shading them (`--still-copy off`
//! shades them all).

use std::path::PathBuf;
use std::time::Instant;

use bevy::prelude::*;
use geo_types::Point;
use onegrid_protocol::{Placement, PositionRow, ServerMsg, Unit, UnitKind, UnitStatus};
use onegrid_server::rng::Rng;

use crate::layers::UnitLayer;
use crate::live::Feed;
use crate::map::{CityMapRes, LayerToggles, MapTextures, composed_layers};
use crate::net::ServerEvent;

/// The bench's parameters.
#[derive(Debug, Clone, Resource)]
pub struct BenchPlan {
    /// Units moving.
    pub units: usize,
    /// Frames per phase.
    pub frames: usize,
    /// Map directory.
    pub map_dir: PathBuf,
}

/// Which phase the bench is in; the drawing systems draw nothing while `Blank`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Resource)]
pub enum Phase {
    /// Waiting for the map images and shaders.
    #[default]
    Warmup,
    /// Clear-only frames.
    Blank,
    /// The full scene.
    Scene,
}

#[derive(Default, Resource)]
struct BenchState {
    last: Option<Instant>,
    warm_frames: usize,
    in_block: usize,
    blank_ms: Vec<f64>,
    scene_ms: Vec<f64>,
    raster_ms: Vec<f64>,
    apply_us: Vec<f64>,
    update_ms: Vec<f64>,
    copied: usize,
    resample_ms: f64,
    tick: u64,
    positions: Vec<[f64; 2]>,
    rng: Option<Rng>,
}

/// Runs the bench.
pub struct BenchPlugin(pub BenchPlan);

impl Plugin for BenchPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(self.0.clone())
            .init_resource::<Phase>()
            .init_resource::<BenchState>()
            .add_systems(Startup, load_scene)
            .add_systems(First, (time_frame, drive).chain())
            .add_systems(Last, time_update);
    }
}

#[allow(clippy::too_many_arguments)] // a bevy system: one parameter per resource it touches
fn load_scene(
    plan: Res<BenchPlan>,
    mut res: ResMut<CityMapRes>,
    mut view: ResMut<crate::view::MapView>,
    mut state: ResMut<BenchState>,
    mut out: MessageWriter<ServerEvent>,
    mut exit: MessageWriter<AppExit>,
    mut commands: Commands,
    start: Res<crate::map::StartView>,
    toggles: Res<LayerToggles>,
) {
    // The map as a console gets it: decoded from the server's encoded answer.
    let map = match onegrid_server::city::load(&plan.map_dir).map_err(|e| e.to_string()).and_then(|c| c.map.decode()) {
        Ok(m) => m,
        Err(e) => {
            error!("bench: cannot load the map: {e}");
            exit.write(AppExit::error());
            return;
        }
    };
    let mut rx = None;
    crate::map::install_map(&map, composed_layers(&toggles), &mut res, &mut rx, &mut view);
    commands.insert_resource(crate::map::RasterJobs(rx.map(std::sync::Mutex::new)));
    crate::map::apply_start_view(&start, &res, &mut view);
    let mut rng = Rng::new(20261123);
    let cells: Vec<[f64; 2]> =
        map.cells.iter().filter_map(|c| c.outline.exterior().0.first().map(|p| [p.x, p.y])).collect();
    let units: Vec<Unit> = (0..plan.units)
        .map(|i| {
            let c = cells[rng.below(cells.len())];
            let p = [c[0] + rng.f64() * 0.0009, c[1] + rng.f64() * 0.0009];
            state.positions.push(p);
            let status = [UnitStatus::Available, UnitStatus::EnRoute, UnitStatus::OnScene, UnitStatus::OffDuty][i % 4];
            Unit {
                id: i as u32,
                name: format!("单位{i}"),
                kind: if i % 7 == 0 { UnitKind::Team } else { UnitKind::GridWorker },
                skills: vec![],
                phone: String::new(),
                home: Placement::default(),
                cells: vec![],
                status,
                task: None,
                position: Some(Point::new(p[0], p[1])),
                heading_deg: (i * 37 % 360) as f32,
                synthetic: true,
            }
        })
        .collect();
    state.rng = Some(rng);
    out.write(ServerEvent(ServerMsg::Snapshot {
        seq: 1,
        journal: "bench".into(),
        at: 0,
        incidents: vec![],
        units,
        cameras: vec![],
        cells: vec![],
    }));
    info!("bench: {} cells, {} units, {} frames a phase", map.cells.len(), plan.units, plan.frames);
}

fn percentile(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(((s.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN)
}

#[allow(clippy::too_many_arguments)]
fn time_frame(
    mut state: ResMut<BenchState>,
    mut phase: ResMut<Phase>,
    plan: Res<BenchPlan>,
    textures: Res<MapTextures>,
    layer: Res<UnitLayer>,
    feed: Res<Feed>,
    res: Res<CityMapRes>,
    path: Res<crate::layers::marker_mesh::MarkerPath>,
    underlay: Res<crate::layers::still::Underlay>,
    view: Res<crate::view::MapView>,
    mut exit: MessageWriter<AppExit>,
) {
    let now = Instant::now();
    let dt = state.last.map(|t| (now - t).as_secs_f64() * 1000.0);
    state.last = Some(now);
    match *phase {
        Phase::Warmup => {
            state.warm_frames += 1;
            if textures.complete() && state.warm_frames > 30 {
                *phase = Phase::Blank;
                state.last = None;
            }
        }
        Phase::Blank | Phase::Scene => {
            state.in_block += 1;
            // The first frames of a block are left out: the render thread may still be
            // drawing the other phase's last frame.
            let dt = dt.filter(|_| state.in_block > SETTLE);
            if *phase == Phase::Blank {
                state.blank_ms.extend(dt);
            } else if dt.is_some() {
                state.scene_ms.extend(dt);
                state.raster_ms.push(layer.raster_ms);
                state.copied += usize::from(layer.copied);
                state.resample_ms = underlay.resample_ms;
                // One tick is applied each scene frame; its cost is read the frame after.
                if feed.last_apply_us > 0.0 {
                    state.apply_us.push(feed.last_apply_us);
                }
            }
            let (blank_done, scene_done) = (state.blank_ms.len() >= plan.frames, state.scene_ms.len() >= plan.frames);
            if blank_done && scene_done {
                report(&state, &plan, res.model.as_ref().map_or(0, |m| m.cells.len()), path.name(), view.m_per_pt);
                exit.write(AppExit::Success);
                return;
            }
            let done = if *phase == Phase::Blank { blank_done } else { scene_done };
            if done || state.in_block >= BLOCK + SETTLE {
                let other = if *phase == Phase::Blank { Phase::Scene } else { Phase::Blank };
                let other_done = if other == Phase::Blank { blank_done } else { scene_done };
                if !other_done {
                    *phase = other;
                }
                state.in_block = 0;
                state.last = None;
            }
        }
    }
}

/// Frames measured in a row before the bench switches between the clear-only frame and
/// the scene: the two alternate, so that a machine slowing down or speeding up during a
/// run (these are noisy) weighs on both alike.
const BLOCK: usize = 50;
/// Frames left out after each switch.
const SETTLE: usize = 2;

/// The main world's share of a scene frame: from the frame's first system to its last
/// (rendering runs beside it, on the render thread and Mesa's threads).
fn time_update(mut state: ResMut<BenchState>, phase: Res<Phase>) {
    if *phase == Phase::Scene
        && let Some(t) = state.last
    {
        state.update_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
}

fn report(state: &BenchState, plan: &BenchPlan, cells: usize, path: &str, m_per_pt: f64) {
    let line = |name: &str, v: &[f64]| {
        println!(
            "{name:<12} p50 {:7.2} ms  p95 {:7.2} ms  p99 {:7.2} ms",
            percentile(v, 0.5),
            percentile(v, 0.95),
            percentile(v, 0.99)
        );
    };
    println!(
        "bench: {cells} cells, {} units, {} frames a phase (alternating in blocks of {BLOCK}), {} moving a tick, {path} markers",
        plan.units,
        plan.frames,
        tick_size(plan.units)
    );
    line("clear-only", &state.blank_ms);
    line("scene", &state.scene_ms);
    println!(
        "ratio       p50 {:.2}x  p95 {:.2}x  (scene / clear-only)",
        percentile(&state.scene_ms, 0.5) / percentile(&state.blank_ms, 0.5),
        percentile(&state.scene_ms, 0.95) / percentile(&state.blank_ms, 0.95)
    );
    let ticks = &state.apply_us;
    println!(
        "tick apply  p50 {:7.1} us  p99 {:7.1} us  ({} ticks)",
        percentile(ticks, 0.5),
        percentile(ticks, 0.99),
        ticks.len()
    );
    line("markers", &state.raster_ms);
    println!(
        "view        {m_per_pt:.1} m a point: markers at {:.2} of their full size",
        crate::layers::markers::zoom_share(m_per_pt)
    );
    line("main update", &state.update_ms);
    println!(
        "viewport    {} of {} frames copied (still view), the rest shaded; map resampled in {:.2} ms",
        state.copied,
        state.scene_ms.len(),
        state.resample_ms
    );
}

/// Units moving each tick: 5 %.
pub fn tick_size(units: usize) -> usize {
    (units / 20).max(1)
}

fn drive(phase: Res<Phase>, mut state: ResMut<BenchState>, mut out: MessageWriter<ServerEvent>) {
    if *phase != Phase::Scene {
        return;
    }
    let n = state.positions.len();
    if n == 0 {
        return;
    }
    state.tick += 1;
    let k = tick_size(n);
    let start = (state.tick as usize * k) % n;
    let BenchState { positions, rng, .. } = &mut *state;
    let Some(rng) = rng.as_mut() else { return };
    let rows: Vec<PositionRow> = (0..k)
        .map(|j| {
            let i = (start + j) % n;
            let heading = (rng.f64() * 360.0) as f32;
            let p = &mut positions[i];
            p[0] += f64::from(heading.to_radians().sin()) * 0.00005;
            p[1] += f64::from(heading.to_radians().cos()) * 0.00005;
            let status = [UnitStatus::Available, UnitStatus::EnRoute, UnitStatus::OnScene, UnitStatus::OffDuty][i % 4];
            (i as u32, p[0], p[1], heading, status)
        })
        .collect();
    out.write(ServerEvent(ServerMsg::Positions {
        at: state.tick as i64,
        units: rows,
        ahead: vec![],
        ahead_s: vec![],
        no_road: vec![],
    }));
}
