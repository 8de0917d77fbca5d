//! The wall on every monitor. `--wall` without `--monitor` fills them all: this console
//! takes the first monitor and, once the window system has listed the monitors, starts one
//! more console per other monitor, each fullscreen on its own, on the same server (the
//! local one this console started, or `--server`). A wall console is a whole console: one
//! process each keeps a stalled window from holding up the others.
//!
//! The children live as long as this console: each reads its standard input, which this
//! console holds open, and quits when it closes — when this console exits or is killed.
//!
//! The wall keeps itself whole. When monitors are plugged in, unplugged or rearranged (the
//! layout holds still for [`SETTLE`]), every console fills its monitor (by wall order)
//! again by itself: this one starts consoles for monitors that are new and stops those of
//! monitors that are gone, and leaves the rest running, so that their monitors do not go
//! dark while the wall is laid out again. A console that dies is started
//! again after [`RESTART_AFTER`], at most [`RESTARTS_PER_HOUR`] times a monitor; then it is
//! left off, said in the log.
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

/// How long a new monitor layout must hold before the wall is laid out again (plugging a
/// monitor in makes several changes in a row).
pub const SETTLE: Duration = Duration::from_secs(1);
/// How long after a wall console died it is started again.
pub const RESTART_AFTER: Duration = Duration::from_secs(2);
/// Most restarts of one monitor's console in an hour.
pub const RESTARTS_PER_HOUR: usize = 5;

/// The monitors as laid out: each one's corner and size, in wall order.
pub type Layout = Vec<(IVec2, UVec2)>;

/// One other monitor's console.
pub struct WallChild {
    /// Its monitor, in wall order.
    pub monitor: usize,
    /// The process, while it runs.
    pub process: Option<Child>,
    /// When it ended, if it did.
    ended: Option<Instant>,
    /// When it was started again, in the last hour.
    restarts: Vec<Instant>,
}

/// The other monitors' consoles.
#[derive(Resource)]
pub struct Spread {
    plan: SpreadPlan,
    /// The layout the consoles were started for.
    layout: Option<Layout>,
    /// A new layout seen, and since when.
    changing: Option<(Layout, Instant)>,
    /// The consoles, by monitor.
    pub children: Vec<WallChild>,
}

impl Spread {
    /// The monitors whose consoles are running.
    pub fn running(&mut self) -> Vec<usize> {
        let mut out = Vec::new();
        for c in &mut self.children {
            if let Some(p) = &mut c.process
                && matches!(p.try_wait(), Ok(None))
            {
                out.push(c.monitor);
            }
        }
        out
    }

    fn start(&self, monitor: usize) -> Option<Child> {
        let args = self.plan.args_for(monitor);
        match Command::new(&self.plan.exe).args(&args).stdin(Stdio::piped()).spawn() {
            Ok(child) => {
                info!("wall: started the console for monitor {monitor} (pid {})", child.id());
                Some(child)
            }
            Err(e) => {
                error!("wall: cannot start the console for monitor {monitor}: {e}");
                None
            }
        }
    }

    /// Stops every console (when the wall quits; they are waited for, so that none
    /// outlives it).
    fn stop_all(&mut self) {
        stop(self.children.drain(..).collect(), true);
    }
}

/// Stops `children`: closing their standard input tells them to quit; they get a moment,
/// then are killed. The wait is on this thread when the wall quits (`wait`), and on a
/// thread of its own when the wall is laid out again, so that this console's frames go on
/// meanwhile.
fn stop(children: Vec<WallChild>, wait: bool) {
    let mut stopping: Vec<(usize, Child)> = Vec::new();
    for c in children {
        if let Some(mut p) = c.process {
            drop(p.stdin.take());
            stopping.push((c.monitor, p));
        }
    }
    if stopping.is_empty() {
        return;
    }
    let mut reap = move || {
        let until = Instant::now() + Duration::from_secs(3);
        for (monitor, p) in &mut stopping {
            while matches!(p.try_wait(), Ok(None)) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
            if matches!(p.try_wait(), Ok(None)) {
                warn!("the wall console on monitor {monitor} did not quit; stopping it");
                let _ = p.kill();
                let _ = p.wait();
            }
        }
    };
    if wait {
        reap();
    } else if let Err(e) = std::thread::Builder::new().name("onegrid-wall-stop".into()).spawn(reap) {
        warn!("cannot wait for the old wall consoles on a thread of their own: {e}");
    }
}

impl Drop for Spread {
    fn drop(&mut self) {
        self.stop_all();
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
#[derive(Debug, Clone, Resource)]
struct Fill {
    monitor: usize,
    done: bool,
    /// The layout it was filled for.
    layout: Option<Layout>,
}

/// The monitors in wall order (left to right, then top to bottom), from their entities and
/// top-left corners.
pub fn wall_order(mut monitors: Vec<(Entity, IVec2)>) -> Vec<Entity> {
    monitors.sort_by_key(|(_, p)| (p.x, p.y));
    monitors.into_iter().map(|(e, _)| e).collect()
}

/// The monitors' corners and sizes in wall order.
fn layout_of<'a>(monitors: impl Iterator<Item = &'a Monitor>) -> Layout {
    let mut l: Layout =
        monitors.map(|m| (m.physical_position, UVec2::new(m.physical_width, m.physical_height))).collect();
    l.sort_by_key(|(p, _)| (p.x, p.y));
    l
}

impl Plugin for SpreadPlugin {
    fn build(&self, app: &mut App) {
        if let Some(plan) = &self.plan {
            app.insert_resource(Spread { plan: plan.clone(), layout: None, changing: None, children: Vec::new() })
                .add_systems(Update, (spread_wall, keep_children).chain());
        }
        if self.exit_with_parent {
            watch_parent();
            app.add_systems(First, exit_when_parent_gone);
        }
        if let Some(monitor) = self.fill {
            app.insert_resource(Fill { monitor, done: false, layout: None })
                .add_systems(Update, (refill_on_change, fill_monitor).chain());
        }
        if self.plan.is_some() || self.fill.is_some() {
            #[cfg(target_os = "linux")]
            app.add_systems(Update, x11::hear_monitor_changes);
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
    fill.layout = Some(layout_of(monitors.iter().map(|(_, m)| m)));
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

/// A monitor layout that changed and has held for [`SETTLE`] is taken up: the window fills
/// its monitor again.
fn refill_on_change(mut fill: ResMut<Fill>, monitors: Query<&Monitor>, mut since: Local<Option<Instant>>) {
    if !fill.done || monitors.is_empty() {
        return;
    }
    let now = layout_of(monitors.iter());
    if fill.layout.as_ref() == Some(&now) {
        *since = None;
        return;
    }
    match *since {
        None => *since = Some(Instant::now()),
        Some(s) if s.elapsed() >= SETTLE => {
            info!("wall: the monitors changed ({} now); filling again", now.len());
            fill.done = false;
            *since = None;
        }
        Some(_) => {}
    }
}

/// Starts a console for every monitor but the first once the monitors are listed; when
/// they change, starts those of new monitors and stops those of monitors gone (the others
/// fill their monitors again by themselves).
fn spread_wall(mut spread: ResMut<Spread>, monitors: Query<&Monitor>) {
    // The window system lists the monitors in the first frames.
    if monitors.is_empty() {
        return;
    }
    let now = layout_of(monitors.iter());
    if spread.layout.as_ref() == Some(&now) {
        spread.changing = None;
        return;
    }
    if spread.layout.is_some() {
        match &spread.changing {
            Some((l, since)) if *l == now && since.elapsed() >= SETTLE => {}
            Some((l, _)) if *l == now => return,
            _ => {
                spread.changing = Some((now, Instant::now()));
                return;
            }
        }
        info!("wall: the monitors changed; laying the wall out again");
    }
    let n = now.len();
    info!("wall: {n} monitor(s)");
    spread.layout = Some(now);
    spread.changing = None;
    let wanted = others(n);
    let (kept, gone): (Vec<_>, Vec<_>) =
        std::mem::take(&mut spread.children).into_iter().partition(|c| wanted.contains(&c.monitor));
    for c in &gone {
        info!("wall: monitor {} is gone; stopping its console", c.monitor);
    }
    stop(gone, false);
    spread.children = kept;
    for m in wanted {
        if spread.children.iter().all(|c| c.monitor != m) {
            let process = spread.start(m);
            spread.children.push(WallChild { monitor: m, process, ended: None, restarts: Vec::new() });
        }
    }
    spread.children.sort_by_key(|c| c.monitor);
}

/// Whether a console restarted at `restarts` may be started again at `now`: fewer than
/// [`RESTARTS_PER_HOUR`] in the hour before (older ones are forgotten).
fn may_restart(restarts: &mut Vec<Instant>, now: Instant) -> bool {
    restarts.retain(|t| now.duration_since(*t) < Duration::from_secs(3600));
    restarts.len() < RESTARTS_PER_HOUR
}

/// Starts again, after [`RESTART_AFTER`], a monitor's console that died.
fn keep_children(mut spread: ResMut<Spread>, mut last: Local<Option<Instant>>) {
    if last.is_some_and(|t| t.elapsed() < Duration::from_millis(500)) {
        return;
    }
    *last = Some(Instant::now());
    let mut to_start = Vec::new();
    for (i, c) in spread.children.iter_mut().enumerate() {
        if let Some(p) = &mut c.process
            && let Ok(Some(status)) = p.try_wait()
        {
            warn!("wall: the console on monitor {} ended ({status})", c.monitor);
            c.process = None;
            c.ended = Some(Instant::now());
        }
        if c.process.is_none()
            && let Some(ended) = c.ended
            && ended.elapsed() >= RESTART_AFTER
        {
            if !may_restart(&mut c.restarts, Instant::now()) {
                error!("wall: the console on monitor {} keeps ending; left off", c.monitor);
                c.ended = None;
            } else {
                to_start.push(i);
            }
        }
    }
    for i in to_start {
        let monitor = spread.children[i].monitor;
        let process = spread.start(monitor);
        let c = &mut spread.children[i];
        c.restarts.push(Instant::now());
        c.ended = if process.is_some() { None } else { Some(Instant::now()) };
        c.process = process;
    }
}

/// Monitor changes under X11. winit 0.30 learns of them from the RandR extension's events,
/// which it reads through Xlib; but Xlib drops an extension's events unless the extension
/// was initialised on that display, which nothing does, so winit's monitor list (and bevy's
/// monitor entities) stay as they were at start. Initialising RandR once on winit's own
/// display makes the events arrive.
#[cfg(target_os = "linux")]
mod x11 {
    use bevy::ecs::system::NonSendMarker;
    use bevy::prelude::*;
    use bevy::window::{PrimaryWindow, RawHandleWrapper};
    use raw_window_handle::RawDisplayHandle;

    /// Once the window exists: initialises RandR on its Xlib display (on the main thread,
    /// where winit uses the display).
    pub fn hear_monitor_changes(
        windows: Query<&RawHandleWrapper, With<PrimaryWindow>>,
        mut done: Local<bool>,
        _main_thread: NonSendMarker,
    ) {
        if *done {
            return;
        }
        let Ok(handle) = windows.single() else { return };
        *done = true;
        // Wayland and XCB displays need nothing.
        let RawDisplayHandle::Xlib(xlib) = handle.get_display_handle() else { return };
        let Some(display) = xlib.display else { return };
        let xrandr = match x11_dl::xrandr::Xrandr::open() {
            Ok(x) => x,
            Err(e) => {
                warn!("wall: libXrandr is not available ({e}); monitor changes go unnoticed until a restart");
                return;
            }
        };
        let (mut events, mut errors) = (0, 0);
        // SAFETY: `display` is winit's open Xlib display, alive as long as the window this
        // system found; the call only registers RandR's event handlers on it, on the main
        // thread, where winit itself uses the display (and winit called XInitThreads).
        #[allow(unsafe_code)]
        let ok = unsafe { (xrandr.XRRQueryExtension)(display.as_ptr().cast(), &mut events, &mut errors) };
        if ok != 0 {
            info!("wall: listening for monitor changes (RandR events from {events})");
        } else {
            warn!("wall: the X server has no RandR; monitor changes go unnoticed until a restart");
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
        let started: Vec<usize> = app.world().resource::<Spread>().children.iter().map(|c| c.monitor).collect();
        assert_eq!(started, vec![1, 2], "one console for each monitor but the first, once");
    }

    /// A stand-in for a wall console: it takes any arguments and runs until its standard
    /// input closes (as `--exit-with-parent` does), or ends after 0.3 s with `code`.
    fn stand_in(dir: &std::path::Path, code: Option<u8>) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(if code.is_some() { "ends" } else { "waits" });
        let body = match code {
            // It lives a moment first, so that the wall sees it running before it ends.
            Some(c) => format!("#!/bin/sh\nsleep 0.3\nexit {c}\n"),
            None => "#!/bin/sh\nexec cat >/dev/null\n".to_owned(),
        };
        std::fs::write(&path, body).expect("script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    fn pids(app: &mut App) -> Vec<(usize, u32)> {
        let spread = app.world().resource::<Spread>();
        spread.children.iter().filter_map(|c| c.process.as_ref().map(|p| (c.monitor, p.id()))).collect()
    }

    #[test]
    fn a_monitor_plugged_in_or_out_starts_or_stops_its_console_and_leaves_the_others_running() {
        let dir = tempfile::tempdir().expect("dir");
        let plan = SpreadPlan { exe: stand_in(dir.path(), None), args: vec!["--wall".into()] };
        let mut app = App::new();
        app.add_plugins(SpreadPlugin { plan: Some(plan), exit_with_parent: false, fill: None });
        app.world_mut().spawn(monitor(0));
        let right = app.world_mut().spawn(monitor(1920)).id();
        app.update();
        let first = pids(&mut app);
        assert_eq!(first.iter().map(|p| p.0).collect::<Vec<_>>(), [1]);

        // A third monitor: nothing moves until the layout has held for a while.
        app.world_mut().spawn(monitor(3840));
        app.update();
        assert_eq!(pids(&mut app), first, "settling");
        std::thread::sleep(SETTLE + Duration::from_millis(100));
        app.update();
        let second = pids(&mut app);
        assert_eq!(second.iter().map(|p| p.0).collect::<Vec<_>>(), [1, 2], "one console per other monitor");
        assert_eq!(second[0], first[0], "monitor 1's console runs on, undisturbed");
        assert_eq!(app.world_mut().resource_mut::<Spread>().running(), [1, 2]);

        // The middle one unplugged: two monitors again. Monitor 2's console stops (it is
        // reaped on a thread of its own, without holding up a frame); monitor 1's runs on
        // and fills what is monitor 1 now, by itself.
        app.world_mut().despawn(right);
        app.update();
        std::thread::sleep(SETTLE + Duration::from_millis(100));
        app.update();
        assert_eq!(pids(&mut app), [first[0]]);
        let gone = |pid: u32| !std::path::Path::new(&format!("/proc/{pid}")).exists();
        let t = Instant::now();
        while !gone(second[1].1) && t.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(gone(second[1].1), "monitor 2's console stopped");
        assert_eq!(app.world_mut().resource_mut::<Spread>().running(), [1]);
    }

    #[test]
    fn a_console_that_dies_is_started_again() {
        let dir = tempfile::tempdir().expect("dir");
        let plan = SpreadPlan { exe: stand_in(dir.path(), Some(3)), args: vec![] };
        let mut app = App::new();
        app.add_plugins(SpreadPlugin { plan: Some(plan), exit_with_parent: false, fill: None });
        app.world_mut().spawn(monitor(0));
        app.world_mut().spawn(monitor(1920));
        app.update();
        let first = pids(&mut app);
        std::thread::sleep(Duration::from_millis(600));
        app.update();
        assert!(pids(&mut app).is_empty(), "it ended and is not running");
        std::thread::sleep(RESTART_AFTER);
        app.update();
        let again = pids(&mut app);
        assert_eq!(again.len(), 1);
        assert_ne!(again[0].1, first[0].1, "a new process");
        assert_eq!(app.world().resource::<Spread>().children[0].restarts.len(), 1);
    }

    #[test]
    fn restarts_are_limited_to_a_few_an_hour() {
        let now = Instant::now() + Duration::from_secs(7200);
        let mut restarts: Vec<Instant> =
            (1..=RESTARTS_PER_HOUR as u64).map(|m| now - Duration::from_secs(m * 60)).collect();
        assert!(!may_restart(&mut restarts, now), "{RESTARTS_PER_HOUR} in the last hour: left off");
        restarts[0] = now - Duration::from_secs(3601);
        assert!(may_restart(&mut restarts, now), "one of them is older than an hour");
        assert_eq!(restarts.len(), RESTARTS_PER_HOUR - 1, "and forgotten");
    }

    #[test]
    fn a_wall_window_fills_its_monitor_again_when_the_monitors_change() {
        let mut app = App::new();
        app.add_plugins(SpreadPlugin { plan: None, exit_with_parent: false, fill: Some(0) });
        let window = app.world_mut().spawn((Window::default(), PrimaryWindow)).id();
        let left = app.world_mut().spawn(monitor(0)).id();
        app.update();
        app.update();
        let w = app.world().get::<Window>(window).expect("window");
        assert_eq!(w.position, WindowPosition::At(IVec2::new(0, 0)));
        // The left monitor is unplugged: the window moves to the one left, once it holds.
        app.world_mut().despawn(left);
        let mut m = monitor(1920);
        m.physical_width = 1280;
        m.physical_height = 800;
        app.world_mut().spawn(m);
        app.update();
        std::thread::sleep(SETTLE + Duration::from_millis(100));
        app.update();
        app.update();
        let w = app.world().get::<Window>(window).expect("window");
        assert_eq!(w.position, WindowPosition::At(IVec2::new(1920, 0)));
        assert_eq!((w.resolution.physical_width(), w.resolution.physical_height()), (1280, 800));
    }
}
