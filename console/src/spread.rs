//! The wall on every monitor. `--wall` without `--monitor` fills them all: this console
//! takes the first monitor and, once the window system has listed the monitors, starts one
//! more console per other monitor, each fullscreen on its own, on the same server (the
//! local one this console started, or `--server`). A wall console is a whole console: one
//! process each keeps a stalled window from holding up the others.
//!
//! The children live as long as this console: each reads its standard input, which this
//! console holds open, and quits when it closes — when this console exits or is killed.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::window::Monitor;

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
    }
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
    fn once_the_monitors_are_listed_a_console_starts_for_each_other_one() {
        // A real process per monitor; `true` stands for the console's executable here
        // (it takes any arguments and quits).
        let exe = ["/bin/true", "/usr/bin/true"].iter().map(PathBuf::from).find(|p| p.exists()).expect("true(1)");
        let plan = SpreadPlan { exe, args: vec!["--wall".into()] };
        let mut app = App::new();
        app.add_plugins(SpreadPlugin { plan: Some(plan), exit_with_parent: false });
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
