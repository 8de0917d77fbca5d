//! The wall's other monitors run consoles of their own, started by the first with
//! `--exit-with-parent`: such a console must quit, cleanly, when its parent goes (its
//! standard input closes), and not before. A real console under Xvfb. And the wall on two
//! real monitors: an X server with two outputs, bare (as on a wall controller) and with a
//! window manager (as on a desktop), where each console's window must fill its own monitor
//! and show the wall, and where a monitor's console that dies is started again; and a
//! monitor plugged in and out while the wall runs.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_onegrid-console");

#[test]
fn a_wall_console_for_another_monitor_quits_with_its_parent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let url = format!("ws://127.0.0.1:{port}");
    let log = std::fs::File::create(dir.path().join("console.log")).expect("log");
    // Windowed (`--monitor` given, and Xvfb has one screen): the lifecycle is the point.
    let mut child = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1280x800x24", BIN, "--wall", "--monitor", "0", "--exit-with-parent"])
        .args(["--server", &url, "--size", "800x600"])
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start xvfb-run (scripts/test installs it)");
    let mut stdin = child.stdin.take().expect("stdin");
    // While the parent holds its input open, it keeps running (reconnecting to nobody).
    std::thread::sleep(Duration::from_secs(8));
    assert!(child.try_wait().expect("wait").is_none(), "quit while its parent was there");
    stdin.write_all(b"\n").expect("write");
    drop(stdin);
    let status = common::wait_exit(&mut child, Duration::from_secs(60), "the console should quit once its parent goes");
    let text = std::fs::read_to_string(dir.path().join("console.log")).expect("read log");
    assert!(status.success(), "quits cleanly: {status:?}\n{text}");
    assert!(text.contains("the parent wall console has quit"), "says why; log:\n{text}");
    assert!(!text.contains("panicked"), "{text}");
}

/// A bare X server (Xorg's dummy driver, no window manager) with two monitors side by side,
/// as a video-wall controller has them: 1920×1080 at the left, 1280×800 at its right.
struct TwoMonitors {
    xorg: std::process::Child,
    display: String,
    _dir: tempfile::TempDir,
}

impl Drop for TwoMonitors {
    fn drop(&mut self) {
        let _ = self.xorg.kill();
        let _ = self.xorg.wait();
    }
}

/// Modes of the two monitors (`gtf W H 60`).
const MODES: [(&str, &str, &str); 2] = [
    ("DUMMY0", "1920x1080_60.00", "172.80 1920 2040 2248 2576 1080 1081 1084 1118 -HSync +Vsync"),
    ("DUMMY1", "1280x800_60.00", "83.46 1280 1344 1480 1680 800 801 804 828 -HSync +Vsync"),
];

fn x_tool(display: &str, tool: &str, args: &[&str]) -> std::process::Output {
    Command::new(tool)
        .args(args)
        .env("DISPLAY", display)
        .output()
        .unwrap_or_else(|e| panic!("{tool}: {e} (scripts/test installs it)"))
}

fn two_monitors() -> TwoMonitors {
    let dir = tempfile::tempdir().expect("tempdir");
    // Xorg reads every *.conf of its config directory; no -config, which only root may point anywhere.
    let conf = "Section \"Device\"\n Identifier \"dummy\"\n Driver \"dummy\"\n VideoRam 256000\nEndSection\n\
                Section \"Screen\"\n Identifier \"screen\"\n Device \"dummy\"\n DefaultDepth 24\n\
                SubSection \"Display\"\n  Depth 24\n  Virtual 3200 1080\n EndSubSection\nEndSection\n";
    std::fs::write(dir.path().join("dummy.conf"), conf).expect("conf");
    // Xorg picks a free display itself and writes its number to standard output.
    let mut xorg = Command::new("Xorg")
        .args(["-displayfd", "1", "-noreset", "-nolisten", "tcp", "-configdir"])
        .arg(dir.path())
        .arg("-logfile")
        .arg(dir.path().join("xorg.log"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Xorg (scripts/test installs xserver-xorg-core and its dummy driver)");
    let mut line = String::new();
    let stdout = xorg.stdout.take().expect("Xorg's output");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).expect("Xorg's display");
    assert!(line.trim().parse::<u32>().is_ok(), "Xorg did not start: {line:?}");
    let display = format!(":{}", line.trim());
    let x = TwoMonitors { xorg, display, _dir: dir };
    let started = std::time::Instant::now();
    while !x_tool(&x.display, "xrandr", &["--current"]).status.success() {
        assert!(started.elapsed() < Duration::from_secs(20), "Xorg did not start");
        std::thread::sleep(Duration::from_millis(200));
    }
    for (output, name, line) in MODES {
        let mut args = vec!["--newmode", name];
        args.extend(line.split(' '));
        assert!(x_tool(&x.display, "xrandr", &args).status.success(), "xrandr --newmode {name}");
        assert!(x_tool(&x.display, "xrandr", &["--addmode", output, name]).status.success(), "xrandr --addmode");
    }
    x.plug(true);
    x
}

impl TwoMonitors {
    /// Switches the right-hand monitor on (beside the left one) or off, as plugging its
    /// cable in or out does.
    fn plug(&self, on: bool) {
        let (a, b) = (MODES[0], MODES[1]);
        let mut args = vec!["--output", a.0, "--mode", a.1, "--output", b.0];
        args.extend(if on { vec!["--mode", b.1, "--right-of", a.0] } else { vec!["--off"] });
        let out = x_tool(&self.display, "xrandr", &args);
        assert!(out.status.success(), "xrandr: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// The consoles' windows: each one's size and place on the screen (a managed window
    /// sits at 0,0 of its frame: `WxH+0+0  +X+Y`, the last pair absolute), sorted.
    fn windows(&self) -> Vec<String> {
        let out = x_tool(&self.display, "xwininfo", &["-root", "-tree"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut placed: Vec<String> = text
            .lines()
            .filter(|l| l.contains("OneGrid"))
            .filter_map(|l| {
                let mut t = l.split_whitespace().rev();
                let (abs, geometry) = (t.next()?, t.next()?);
                Some(format!("{}{abs}", geometry.split('+').next()?))
            })
            .collect();
        placed.sort();
        placed
    }

    /// Waits until the windows are `want`; fails after `limit`, with the console's log.
    fn wait_windows(&self, want: &[&str], limit: Duration, wall: &mut std::process::Child, log: &Path) {
        let started = std::time::Instant::now();
        let mut placed = self.windows();
        while placed != want {
            if started.elapsed() > limit || wall.try_wait().expect("wait").is_some() {
                let _ = wall.kill();
                let text = std::fs::read_to_string(log).unwrap_or_default();
                panic!("the wall's windows are {placed:?}, not {want:?}\n{text}");
            }
            std::thread::sleep(Duration::from_millis(500));
            placed = self.windows();
        }
    }
}

/// openbox on a display, stopped on drop.
struct WindowManager(std::process::Child);

impl WindowManager {
    fn start(display: &str) -> WindowManager {
        let child = Command::new("openbox")
            .env("DISPLAY", display)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start openbox (scripts/test installs it)");
        // Running once it has taken the root window's supporting-WM property.
        let started = std::time::Instant::now();
        while !String::from_utf8_lossy(&x_tool(display, "xprop", &["-root", "_NET_SUPPORTING_WM_CHECK"]).stdout)
            .contains("window id")
        {
            assert!(started.elapsed() < Duration::from_secs(20), "openbox did not start");
            std::thread::sleep(Duration::from_millis(200));
        }
        WindowManager(child)
    }
}

impl Drop for WindowManager {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The root window's pixels, read with `xwd` (its 32-bit ZPixmap format).
struct Screen {
    width: usize,
    height: usize,
    rgb: Vec<[u8; 3]>,
}

impl Screen {
    fn grab(display: &str) -> Screen {
        let out = x_tool(display, "xwd", &["-root", "-silent"]);
        assert!(out.status.success(), "xwd");
        let b = out.stdout;
        let word = |i: usize| u32::from_be_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]) as usize;
        let (header, width, height, byte_order, bpp, stride, ncolors) =
            (word(0), word(4), word(5), word(7), word(11), word(12), word(19));
        assert_eq!(bpp, 32, "a 24-bit screen is stored in 32 bits a pixel");
        let (rmask, gmask, bmask) = (word(13), word(14), word(15));
        let data = &b[header + 12 * ncolors..];
        let shift = |mask: usize| mask.trailing_zeros();
        let mut rgb = Vec::with_capacity(width * height);
        for y in 0..height {
            for x in 0..width {
                let p = &data[y * stride + 4 * x..][..4];
                let v = if byte_order == 0 {
                    u32::from_le_bytes([p[0], p[1], p[2], p[3]])
                } else {
                    u32::from_be_bytes([p[0], p[1], p[2], p[3]])
                } as usize;
                let c = |m: usize| ((v & m) >> shift(m)) as u8;
                rgb.push([c(rmask), c(gmask), c(bmask)]);
            }
        }
        Screen { width, height, rgb }
    }

    /// Distinct colours and black pixels in a rectangle.
    fn look(&self, x0: usize, y0: usize, w: usize, h: usize) -> (usize, usize) {
        let mut seen = std::collections::HashSet::new();
        let mut black = 0;
        for y in y0..y0 + h {
            for x in x0..x0 + w {
                let p = self.rgb[y * self.width + x];
                black += usize::from(p == [0, 0, 0]);
                seen.insert(p);
            }
        }
        (seen.len(), black)
    }
}

#[test]
fn the_wall_fills_each_monitor_of_a_bare_x_server() {
    wall_on_two_monitors(false);
}

#[test]
fn the_wall_fills_each_monitor_under_a_window_manager() {
    wall_on_two_monitors(true);
}

#[test]
fn the_wall_follows_a_monitor_plugged_in_and_out() {
    let _one = ONE_WALL.lock().unwrap_or_else(|e| e.into_inner());
    let x = two_monitors();
    x.plug(false);
    let rt = common::runtime();
    let data = tempfile::tempdir().expect("tempdir");
    let server = common::server(&rt, data.path(), common::simulated);
    let log = data.path().join("console.log");
    let mut wall = start_wall(&x, server.addr, &log);
    let limit = Duration::from_secs(90);
    x.wait_windows(&["1920x1080+0+0"], limit, &mut wall, &log);
    // The second monitor's cable goes in: a console comes up on it, filling it.
    x.plug(true);
    x.wait_windows(&["1280x800+1920+0", "1920x1080+0+0"], limit, &mut wall, &log);
    // And out again: that console goes, the first stays.
    x.plug(false);
    x.wait_windows(&["1920x1080+0+0"], limit, &mut wall, &log);
    let _ = wall.kill();
    let _ = wall.wait();
    rt.block_on(server.shutdown());
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(text.contains("wall: the monitors changed; laying the wall out again"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}

/// The wall on every monitor of `x`, against the server at `addr`, its output in `log`.
fn start_wall(x: &TwoMonitors, addr: std::net::SocketAddr, log: &Path) -> std::process::Child {
    let out = std::fs::File::create(log).expect("log");
    Command::new(BIN)
        .args(["--wall", "--server", &format!("ws://{addr}")])
        .env("DISPLAY", &x.display)
        .current_dir(log.parent().expect("the log's directory"))
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log"))
        .stderr(out)
        .spawn()
        .expect("start the console")
}

/// One wall at a time: two of them side by side would share two cores.
static ONE_WALL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs the wall on [`two_monitors`], with openbox managing the windows if `wm`.
fn wall_on_two_monitors(wm: bool) {
    let _one = ONE_WALL.lock().unwrap_or_else(|e| e.into_inner());
    let x = two_monitors();
    let _wm = wm.then(|| WindowManager::start(&x.display));
    let rt = common::runtime();
    let data = tempfile::tempdir().expect("tempdir");
    let server = common::server(&rt, data.path(), common::simulated);
    // The wall on every monitor: this console takes the first and starts one for the second.
    let mut wall = start_wall(&x, server.addr, &data.path().join("console.log"));
    let started = std::time::Instant::now();
    x.wait_windows(
        &["1280x800+1920+0", "1920x1080+0+0"],
        Duration::from_secs(90),
        &mut wall,
        &data.path().join("console.log"),
    );
    // Both show the wall (a map, figures, text: many colours, no black), and nothing is
    // drawn where no monitor is (below the smaller one).
    let mut looks = Vec::new();
    while started.elapsed() < Duration::from_secs(120) {
        let s = Screen::grab(&x.display);
        assert_eq!((s.width, s.height), (3200, 1080));
        looks = vec![s.look(0, 0, 1920, 1080), s.look(1920, 0, 1280, 800), s.look(1920, 800, 1280, 280)];
        if looks[0].0 > 400 && looks[1].0 > 400 && looks[0].1 < 1000 && looks[1].1 < 1000 {
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    // A window manager was asked for fullscreen, and says so.
    let fullscreen: Vec<bool> = x_tool(&x.display, "xwininfo", &["-root", "-tree"])
        .stdout
        .split(|b| *b == b'\n')
        .map(String::from_utf8_lossy)
        .filter(|l| l.contains("OneGrid"))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .map(|id| {
            let out = x_tool(&x.display, "xprop", &["-id", &id, "_NET_WM_STATE"]);
            String::from_utf8_lossy(&out.stdout).contains("_NET_WM_STATE_FULLSCREEN")
        })
        .collect();
    // The second monitor's console dies: the wall starts it again, in a new window.
    let restarted = (!wm).then(|| {
        let right = |x: &TwoMonitors| -> Option<(String, u32)> {
            let tree = x_tool(&x.display, "xwininfo", &["-root", "-tree"]).stdout;
            let tree = String::from_utf8_lossy(&tree).into_owned();
            let id =
                tree.lines().find(|l| l.contains("OneGrid") && l.ends_with("+1920+0"))?.split_whitespace().next()?;
            let pid = x_tool(&x.display, "xprop", &["-id", id, "_NET_WM_PID"]).stdout;
            let pid = String::from_utf8_lossy(&pid).rsplit(' ').next()?.trim().parse().ok()?;
            Some((id.to_owned(), pid))
        };
        // (A new client may well get the dead one's window id: the process tells them apart.)
        let (_, pid) = right(&x).expect("the second monitor's window and its process");
        assert!(Command::new("kill").args(["-9", &pid.to_string()]).status().expect("kill").success());
        let started = std::time::Instant::now();
        loop {
            match right(&x) {
                Some((_, new)) if new != pid => break started.elapsed(),
                _ if started.elapsed() > Duration::from_secs(60) => panic!("the dead console was not started again"),
                _ => std::thread::sleep(Duration::from_millis(250)),
            }
        }
    });
    let _ = wall.kill();
    let _ = wall.wait();
    rt.block_on(server.shutdown());
    let text = std::fs::read_to_string(data.path().join("console.log")).unwrap_or_default();
    if let Some(after) = restarted {
        assert!(text.contains("wall: the console on monitor 1 ended"), "{text}");
        eprintln!("the second monitor's console was back {:.1} s after it was killed", after.as_secs_f64());
    }
    if wm {
        assert_eq!(fullscreen, [true, true], "the window manager holds both windows fullscreen");
    }
    for (i, (colours, black)) in looks[..2].iter().enumerate() {
        assert!(*colours > 400 && *black < 1000, "monitor {i}: {colours} colours, {black} black pixels\n{text}");
    }
    assert_eq!(looks[2], (1, 1280 * 280), "nothing drawn off the monitors");
    assert!(text.contains("wall: filling monitor 1 (1280×800 at 1920,0)"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}
