//! `--screenshot PATH --frames N`: render at least N frames, wait until the map and the
//! live layers are in (or until the timeout, so that an error frame is captured too),
//! write the window to a PNG and exit. This is how tests and CI see what a person sees.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, save_to_disk};

use crate::layers::UnitLayer;
use crate::live::Feed;
use crate::map::MapTextures;

/// What to capture and when.
#[derive(Debug, Clone, Resource)]
pub struct ShotPlan {
    /// Where the PNG goes.
    pub path: PathBuf,
    /// Frames to render first.
    pub frames: u32,
    /// Longest wait for the map and live data.
    pub timeout: Duration,
}

#[derive(Default, Resource)]
struct ShotState {
    frames: u32,
    started: Option<Instant>,
    taken_at_frame: Option<u32>,
}

/// Takes the screenshot and exits.
pub struct ShotPlugin(pub ShotPlan);

impl Plugin for ShotPlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(self.0.clone()).init_resource::<ShotState>().add_systems(Last, shoot);
    }
}

fn shoot(
    mut commands: Commands,
    plan: Res<ShotPlan>,
    mut state: ResMut<ShotState>,
    textures: Res<MapTextures>,
    feed: Res<Feed>,
    layer: Option<Res<UnitLayer>>,
    mut exit: MessageWriter<AppExit>,
) {
    state.frames += 1;
    let started = *state.started.get_or_insert_with(Instant::now);
    if let Some(at) = state.taken_at_frame {
        // The capture is read back a few frames later; exit once the file is there.
        if plan.path.exists() || state.frames > at + 600 {
            info!("screenshot written to {}", plan.path.display());
            if let Some(m) = crate::memory::resident_words() {
                info!("resident memory {m}");
            }
            exit.write(AppExit::Success);
        }
        return;
    }
    let ready = textures.complete() && feed.snapshots > 0 && feed.positions > 0;
    if state.frames >= plan.frames && (ready || started.elapsed() > plan.timeout) {
        if !ready {
            warn!("taking the screenshot before the map and live data are in ({:?} elapsed)", started.elapsed());
        }
        let how = if layer.is_some_and(|l| l.copied) { "copied (still view)" } else { "shaded" };
        info!("taking the screenshot; the map viewport is {how}");
        let _ = std::fs::remove_file(&plan.path);
        commands.spawn(Screenshot::primary_window()).observe(save_to_disk(plan.path.clone()));
        state.taken_at_frame = Some(state.frames);
    }
}
