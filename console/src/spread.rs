//! The wall on every monitor. `--wall` without `--monitor` fills them all: this console
//! takes the first monitor and, once the window system has listed the monitors, starts one
//! more console per other monitor, each fullscreen on its own, on the same server (the
//! local one this console started, or `--server`). A wall console is a whole console: one
//! process each keeps a stalled window from holding up the others.
//!
//! The children live as long as this console: each reads its standard input, which this
//! console holds open, and quits when it closes — when this console exits or is killed.
//!
//! Monitors are numbered as a wall is seen: left to right, then top to bottom. Each wall
//! console fills its monitor itself once the window system has listed them: borderless
//! fullscreen on that monitor, and its window placed and sized to the monitor's rectangle,
//! so that the wall fills its screens under a bare X server (a video-wall controller often
//! runs no window manager, and the fullscreen request alone is then ignored) as under a
//! desktop.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::window::{Monitor, MonitorSelection, PrimaryWindow, WindowMode, WindowPosition};

/// How to start the other monitors' consoles.
#[derive(Debug, Clone)]
pub struct SpreadPlan {
    /// The console's executable.
    pub exe: PathBuf,
    /// Their arguments, less `--monitor N`.
    pub args: Vec<String>,
}

impl SpreadPlan {
    /// The arguments of the console for `monitor`.
    pub fn args_for(&self, monitor: usize) -> Vec<String> {
        let mut a = self.args.clone();
        a.extend(["--monitor".to_string(), monitor.to_string(), "--exit-with-parent".to_string()]);
        a
    }
}

/// The monitors other consoles fill, given how many there are: all but the first.
pub fn others(count: usize) -> std::ops::Range<usize> {
    1..count.max(1)
}

/// The other monitors' consoles.
#[derive(Resource)]
pub struct Spread {
    plan: SpreadPlan,
    listed: bool,
    /// The consoles started, by monitor.
    pub children: Vec<(usize, Child)>,
}

impl Drop for Spread {
    fn drop(&mut self) {
        // Closing their standard input tells them to quit; give them a moment, then insist.
        for (_, c) in &mut self.children {
            drop(c.stdin.take());
        }
        let until = Instant::now() + Duration::from_secs(3);
        for (m, c) in &mut self.children {
            while matches!(c.try_wait(), Ok(None)) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
            if matches!(c.try_wait(), Ok(None)) {
                warn!("the wall console on monitor {m} did not quit; stopping it");
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// Starts the other monitors' consoles (with a plan), or quits with the parent console
/// (`--exit-with-parent`).
#[derive(Debug, Clone, Default)]
pub struct SpreadPlugin {
    /// Fill the other monitors this way.
    pub plan: Option<SpreadPlan>,
    /// Quit when standard input closes.
    pub exit_with_parent: bool,
    /// Fill this monitor (wall order) with the window.
    pub fill: Option<usize>,
}

/// The monitor this console's window fills, in wall order.
#[derive(Debug, Clone, Copy, Resource)]
struct Fill {
    monitor: usize,
    done: bool,
}

/// The monitors in wall order (left to right, then top to bottom), from their entities and
/// top-left corners.
pub fn wall_order(mut monitors: Vec<(Entity, IVec2)>) -> Vec<Entity> {
    monitors.sort_by_key(|(_, p)| (p.x, p.y));
    monitors.into_iter().map(|(e, _)| e).collect()
}

impl Plugin for SpreadPlugin {
    fn build(&self, app: &mut App) {
        if let Some(plan) = &self.plan {
            app.insert_resource(Spread { plan: plan.clone(), listed: false, children: Vec::new() })
                .add_systems(Update, spread_wall);
        }
        if self.exit_with_parent {
            watch_parent();
            app.add_systems(First, exit_when_parent_gone);
        }
        if let Some(monitor) = self.fill {
            app.insert_resource(Fill { monitor, done: false }).add_systems(Update, fill_monitor);
        }
    }
}

/// Once the monitors are listed, puts the window on its monitor: fullscreen there, and at
/// its corner and its size.
fn fill_monitor(
    mut fill: ResMut<Fill>,
    monitors: Query<(Entity, &Monitor)>,
    mut windows: Query<&mut Window, With<PrimaryWindow>>,
) {
    if fill.done || monitors.is_empty() {
        return;
    }
    let Ok(mut window) = windows.single_mut() else { return };
    fill.done = true;
    let order = wall_order(monitors.iter().map(|(e, m)| (e, m.physical_position)).collect());
    let Some(&entity) = order.get(fill.monitor).or_else(|| order.first()) else { return };
    if order.len() <= fill.monitor {
        warn!("wall: there is no monitor {} ({} listed); filling the first", fill.monitor, order.len());
    }
    let Ok((_, m)) = monitors.get(entity) else { return };
    info!(
        "wall: filling monitor {} ({}×{} at {},{})",
        fill.monitor, m.physical_width, m.physical_height, m.physical_position.x, m.physical_position.y
    );
    window.mode = WindowMode::BorderlessFullscreen(MonitorSelection::Entity(entity));
    window.position = WindowPosition::At(m.physical_position);
    window.resolution.set_physical_resolution(m.physical_width, m.physical_height);
    window.decorations = false;
}

fn spread_wall(mut spread: ResMut<Spread>, monitors: Query<&Monitor>) {
    let n = monitors.iter().count();
    // The window system lists the monitors in the first frames.
    if spread.listed || n == 0 {
        return;
    }
    spread.listed = true;
    info!("wall: {n} monitor(s)");
    for m in others(n) {
        let args = spread.plan.args_for(m);
        match Command::new(&spread.plan.exe).args(&args).stdin(Stdio::piped()).spawn() {
            Ok(child) => {
                info!("wall: started the console for monitor {m} (pid {})", child.id());
                spread.children.push((m, child));
            }
            Err(e) => error!("wall: cannot start the console for monitor {m}: {e}"),
        }
    }
}

static PARENT_GONE: AtomicBool = AtomicBool::new(false);

fn watch_parent() {
    let spawned = std::thread::Builder::new().name("onegrid-parent".into()).spawn(|| {
        let mut sink = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        PARENT_GONE.store(true, Ordering::SeqCst);
    });
    if let Err(e) = spawned {
        warn!("cannot watch the parent console ({e}); this console stays when it quits");
    }
}

fn exit_when_parent_gone(mut exit: MessageWriter<AppExit>) {
    if PARENT_GONE.load(Ordering::SeqCst) {
        info!("the parent wall console has quit; quitting");
        exit.write(AppExit::Success);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_monitor_but_the_first_gets_a_console_of_its_own() {
        assert_eq!(others(0), 1..1);
        assert_eq!(others(1), 1..1);
        assert_eq!(others(3).collect::<Vec<_>>(), vec![1, 2]);
        let plan = SpreadPlan { exe: "onegrid-console".into(), args: vec!["--wall".into()] };
        assert_eq!(plan.args_for(2), vec!["--wall", "--monitor", "2", "--exit-with-parent"]);
    }

    fn monitor(x: i32) -> Monitor {
        Monitor {
            name: None,
            physical_height: 1080,
            physical_width: 1920,
            physical_position: IVec2::new(x, 0),
            refresh_rate_millihertz: None,
            scale_factor: 1.0,
            video_modes: vec![],
        }
    }

    #[test]
    fn monitors_are_numbered_left_to_right_then_top_to_bottom() {
        let e = |i: u32| Entity::from_raw_u32(i).expect("entity");
        let listed = vec![(e(1), IVec2::new(1920, 0)), (e(2), IVec2::new(0, 1080)), (e(3), IVec2::new(0, 0))];
        assert_eq!(wall_order(listed), vec![e(3), e(2), e(1)]);
    }

    #[test]
    fn a_wall_window_takes_its_monitors_place_and_size() {
        let mut app = App::new();
        app.add_plugins(SpreadPlugin { plan: None, exit_with_parent: false, fill: Some(1) });
        let window = app.world_mut().spawn((Window::default(), PrimaryWindow)).id();
        app.update();
        assert_eq!(app.world().get::<Window>(window).expect("window").position, WindowPosition::Automatic);
        for x in [1920, 0] {
            let mut m = monitor(x);
            m.physical_width = if x == 0 { 1920 } else { 1280 };
            m.physical_height = if x == 0 { 1080 } else { 800 };
            app.world_mut().spawn(m);
        }
        app.update();
        let w = app.world().get::<Window>(window).expect("window");
        assert_eq!(w.position, WindowPosition::At(IVec2::new(1920, 0)), "monitor 1 is the right-hand one");
        assert_eq!((w.resolution.physical_width(), w.resolution.physical_height()), (1280, 800));
        assert!(matches!(w.mode, WindowMode::BorderlessFullscreen(MonitorSelection::Entity(_))));
        assert!(!w.decorations);
    }

    #[test]
    fn once_the_monitors_are_listed_a_console_starts_for_each_other_one() {
        // A real process per monitor; `true` stands for the console's executable here
        // (it takes any arguments and quits).
        let exe = ["/bin/true", "/usr/bin/true"].iter().map(PathBuf::from).find(|p| p.exists()).expect("true(1)");
        let plan = SpreadPlan { exe, args: vec!["--wall".into()] };
        let mut app = App::new();
        app.add_plugins(SpreadPlugin { plan: Some(plan), exit_with_parent: false, fill: None });
        app.update();
        assert!(app.world().resource::<Spread>().children.is_empty(), "no monitors listed yet: nothing started");
        for x in [0, 1920, 3840] {
            app.world_mut().spawn(monitor(x));
        }
        app.update();
        app.update();
        let started: Vec<usize> = app.world().resource::<Spread>().children.iter().map(|(m, _)| *m).collect();
        assert_eq!(started, vec![1, 2], "one console for each monitor but the first, once");
    }
}
