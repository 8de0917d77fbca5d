//! End to end, as a person sees it: the real `onegrid-console` binary in a real window
//! under Xvfb with Mesa's software Vulkan, `--screenshot`, and the PNG read back. Against a
//! real server with the simulator the picture must show the map, live unit markers and a
//! connected link; against an unreachable server, a server of another protocol version
//! and a corrupt map it must still open and say so on screen (red in the status bar) and
//! in the log, without a panic. `scripts/test` installs Xvfb and Mesa.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// One console at a time: software rendering on two cores.
static SERIAL: Mutex<()> = Mutex::new(());

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_onegrid-console");

use common::{maps, runtime};

struct Run {
    ok: bool,
    log: String,
    png: Png,
}

struct Png {
    width: usize,
    height: usize,
    rgba: Vec<u8>,
}

impl Png {
    fn read(path: &Path) -> Png {
        let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", path.display()));
        let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
        let mut reader = decoder.read_info().expect("png header");
        let mut buf = vec![0; reader.output_buffer_size().expect("size")];
        let info = reader.next_frame(&mut buf).expect("png frame");
        assert_eq!(info.color_type, png::ColorType::Rgba, "expanded to RGBA");
        buf.truncate(info.buffer_size());
        Png { width: info.width as usize, height: info.height as usize, rgba: buf }
    }

    /// Pixels within `tol` of `rgb` in a region given as fractions `[x0, y0, x1, y1]`.
    fn count(&self, rgb: [u8; 3], tol: u8, region: [f32; 4]) -> usize {
        self.pixels(region).iter().filter(|p| (0..3).all(|k| p[k].abs_diff(rgb[k]) <= tol)).count()
    }

    fn pixels(&self, region: [f32; 4]) -> Vec<[u8; 3]> {
        let [fx0, fy0, fx1, fy1] = region;
        let (x0, x1) = ((fx0 * self.width as f32) as usize, (fx1 * self.width as f32) as usize);
        let (y0, y1) = ((fy0 * self.height as f32) as usize, (fy1 * self.height as f32) as usize);
        let mut out = Vec::new();
        for y in y0..y1 {
            for x in x0..x1 {
                let i = (y * self.width + x) * 4;
                out.push([self.rgba[i], self.rgba[i + 1], self.rgba[i + 2]]);
            }
        }
        out
    }

    /// The longest horizontal run of pixels within `tol` of `rgb` in a region.
    fn longest_run(&self, rgb: [u8; 3], tol: u8, region: [f32; 4]) -> usize {
        let [fx0, fy0, fx1, fy1] = region;
        let (x0, x1) = ((fx0 * self.width as f32) as usize, (fx1 * self.width as f32) as usize);
        let (y0, y1) = ((fy0 * self.height as f32) as usize, (fy1 * self.height as f32) as usize);
        let mut best = 0;
        for y in y0..y1 {
            let mut run = 0;
            for x in x0..x1 {
                let p = &self.rgba[(y * self.width + x) * 4..][..3];
                run = if (0..3).all(|k| p[k].abs_diff(rgb[k]) <= tol) { run + 1 } else { 0 };
                best = best.max(run);
            }
        }
        best
    }

    fn distinct_colours(&self) -> usize {
        let mut set = std::collections::HashSet::new();
        for p in self.rgba.chunks_exact(4).step_by(7) {
            set.insert([p[0], p[1], p[2]]);
        }
        set.len()
    }
}

const TOP_BAR: [f32; 4] = [0.0, 0.0, 1.0, 0.04];
const MAP: [f32; 4] = [0.2, 0.1, 0.7, 0.95];
const RED: [u8; 3] = [255, 90, 90];
const GREEN_LINK: [u8; 3] = [80, 220, 120];

fn console(args: &[&str], dir: &Path) -> Run {
    console_with(args, dir, &[])
}

/// `console` with these variables in its environment.
fn console_with(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Run {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    assert!(
        Command::new("xvfb-run").arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok(),
        "xvfb-run is missing: run scripts/test, which installs xvfb and mesa-vulkan-drivers"
    );
    let shot = dir.join("shot.png");
    let log_path = dir.join("console.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut child = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1280x800x24", BIN, "--size", "1280x800", "--screenshot"])
        .arg(&shot)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start xvfb-run");
    let status = common::wait_exit(&mut child, Duration::from_secs(300), "the console should finish");
    let mut text = String::new();
    std::fs::File::open(&log_path).and_then(|mut f| f.read_to_string(&mut text)).expect("read log");
    assert!(!text.contains("panicked"), "the console panicked:\n{text}");
    Run { ok: status.success(), png: Png::read(&shot), log: text }
}

/// Runs the console against a real simulated server and checks the picture: map, unit
/// markers, a green link.
/// The live city through the console with `extra` arguments; its log must say how the map
/// viewport reached the screen (`viewport`: "copied" or "shaded").
fn live_city(extra: &[&str], viewport: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    let server = common::server(&rt, &dir.path().join("data"), common::simulated);
    let url = format!("ws://{}", server.addr);
    let mut args = vec!["--server", &url, "--frames", "30"];
    args.extend_from_slice(extra);
    let run = console(&args, dir.path());
    rt.block_on(server.shutdown());
    assert!(run.ok, "exit status; log:\n{}", run.log);
    let png = &run.png;
    assert!(png.distinct_colours() > 40, "not a blank frame");
    let sea = onegrid_console::style::SEA;
    let region = png.pixels(MAP);
    let land = region.iter().filter(|p| (0..3).any(|k| p[k].abs_diff([sea.r(), sea.g(), sea.b()][k]) > 4)).count();
    assert!(land * 100 > region.len() * 15, "the city covers the map area: {land} of {} px", region.len());
    // The whole city framed leaves sea around it: the map viewport is drawn, not left
    // at the panels' clear colour.
    let open_sea = png.count([sea.r(), sea.g(), sea.b()], 3, MAP);
    assert!(open_sea * 100 > region.len() * 10, "sea around the city: {open_sea} of {} px", region.len());
    assert!(run.log.contains(&format!("the map viewport is {viewport}")), "viewport {viewport}; log:\n{}", run.log);
    let green = onegrid_console::style::unit_color(onegrid_protocol::UnitStatus::Available);
    let markers = png.count([green.r(), green.g(), green.b()], 3, MAP);
    assert!(markers > 200, "live unit markers are drawn: {markers} px");
    assert!(png.count(GREEN_LINK, 3, TOP_BAR) > 10, "the status bar shows a connected link");
    assert!(png.count(RED, 3, TOP_BAR) == 0, "no error in the status bar");
    // The scale bar in the map's bottom-left corner: a straight line of the readout's ink,
    // longer than any stroke of the labels' type.
    let bar = png.longest_run([225, 235, 245], 40, [0.2, 0.8, 0.5, 1.0]);
    assert!(bar >= 40, "a scale bar under the map: longest run {bar} px");
}

#[test]
fn the_live_city_shows_map_markers_and_a_connected_link() {
    // Under lavapipe `auto` stamps the markers on the CPU, and the still view is copied.
    live_city(&[], "copied");
}

#[test]
fn the_shaded_viewport_draws_the_same_city() {
    // What a moving view uses: the backdrop quad samples the map and marker images.
    live_city(&["--still-copy", "off"], "shaded");
}

#[test]
fn the_gpu_marker_path_draws_the_same_markers() {
    // Mesh markers over the shaded backdrop (the copy needs stamped markers).
    live_city(&["--markers", "gpu"], "shaded");
}

#[test]
fn gpu_markers_land_where_stamping_puts_them() {
    // The bench's scene is the same every run (a fixed seed, ticks by the frame): stamped
    // and instanced markers must cover the same pixels with the same sprites, cut at the
    // viewport's edges alike, the whole city and closer in. Antialiased edges may differ
    // (stamping blends them in sRGB bytes, the GPU in linear light: up to 65 levels where a
    // marker's edge lies over another); a marker a pixel off, a wrong sprite or an unclipped
    // quad differs by far more (a marker's colour against the map's).
    let maps = maps();
    let map = maps.to_str().expect("utf-8");
    for view in [None, Some("--view=118.11,24.465,4")] {
        let shot = |markers: &str| {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut args = vec!["--bench", "--map", map, "--markers", markers, "--still-copy", "off", "--frames", "20"];
            args.extend(view);
            let run = console(&args, dir.path());
            assert!(run.ok, "{markers} markers; log:\n{}", run.log);
            run.png
        };
        let (cpu, gpu) = (shot("cpu"), shot("gpu"));
        let (a, b) = (cpu.pixels(MAP), gpu.pixels(MAP));
        let far: Vec<usize> = (0..a.len()).filter(|&i| (0..3).any(|k| a[i][k].abs_diff(b[i][k]) > 96)).collect();
        assert!(
            far.is_empty(),
            "{view:?}: {} pixels differ by more than an edge's blend, first at {}",
            far.len(),
            far[0]
        );
        let green = onegrid_console::style::unit_color(onegrid_protocol::UnitStatus::Available);
        let count = |p: &Png| p.count([green.r(), green.g(), green.b()], 3, MAP);
        assert!(count(&cpu) > 500, "{view:?}: the scene has markers: {}", count(&cpu));
        let (c, g) = (count(&cpu) as f64, count(&gpu) as f64);
        assert!((c - g).abs() <= c * 0.02, "{view:?}: markers' cores {c} stamped, {g} instanced");
    }
}

#[test]
fn an_unreachable_server_is_said_on_screen_and_in_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    let url = format!("ws://127.0.0.1:{port}");
    let run = console(&["--server", &url, "--frames", "20", "--timeout-secs", "6"], dir.path());
    assert!(run.ok, "exits cleanly; log:\n{}", run.log);
    assert!(run.log.contains("cannot connect"), "log:\n{}", run.log);
    assert!(run.png.count(RED, 3, TOP_BAR) > 10, "red link state in the status bar");
}

#[test]
fn a_server_of_another_protocol_version_is_refused_in_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
    let addr = listener.local_addr().expect("addr");
    rt.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else { return };
                let _hello = ws.next().await;
                let refusal =
                    r#"{"type":"error","code":"unsupported_version","message":"this server speaks protocol 2"}"#;
                let _ = ws.send(Message::text(refusal)).await;
                let _ = ws.close(None).await;
            });
        }
    });
    let run = console(&["--server", &format!("ws://{addr}"), "--frames", "20", "--timeout-secs", "6"], dir.path());
    assert!(run.ok, "log:\n{}", run.log);
    assert!(run.log.contains("another protocol version: this server speaks protocol 2"), "log:\n{}", run.log);
    assert!(run.png.count(RED, 3, TOP_BAR) > 10, "red in the status bar");
}

#[test]
fn a_corrupt_map_stops_the_local_server_not_the_console() {
    let dir = tempfile::tempdir().expect("tempdir");
    let map = dir.path().join("badmap");
    std::fs::create_dir(&map).expect("dir");
    std::fs::write(map.join("city.json"), "{ not json").expect("write");
    let run = console(
        &["--map", map.to_str().expect("utf-8"), "--data", "data", "--frames", "20", "--timeout-secs", "6"],
        dir.path(),
    );
    assert!(run.ok, "log:\n{}", run.log);
    assert!(run.log.contains("the local server did not start") && run.log.contains("city.json"), "log:\n{}", run.log);
    assert!(run.png.count(RED, 3, TOP_BAR) > 10, "the problem is on screen");
}

#[test]
fn the_walls_board_monitor_shows_the_board_beside_the_city() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    let server = common::server(&rt, &dir.path().join("data"), |config| {
        common::simulated(config);
        // Minutes of the city a second: incidents are open by the time of the picture.
        config.clock = onegrid_server::clock::Clock::scaled(600.0);
    });
    let url = format!("ws://{}", server.addr);
    // The second monitor's console as the wall starts it by default (windowed for the
    // screenshot); the first monitor's, laid out as a board by `--wall-roles`; and the
    // second's again, laid out otherwise: no board there.
    let runs = [
        (vec!["--monitor", "1"], true),
        (vec!["--monitor", "0", "--wall-roles", "board"], true),
        (vec!["--monitor", "1", "--wall-roles", "follow,overview"], false),
    ];
    for (extra, board_shown) in runs {
        let mut args = vec!["--server", &url, "--wall", "--frames", "200"];
        args.extend(&extra);
        let run = console(&args, dir.path());
        assert!(run.ok, "{extra:?}: exit status; log:\n{}", run.log);
        let png = &run.png;
        // The board takes the right of the window: a colour bar by each open incident's
        // row, in its state's colour, down the board's left edge.
        let states = [
            onegrid_protocol::IncidentState::Reported,
            onegrid_protocol::IncidentState::Accepted,
            onegrid_protocol::IncidentState::Dispatched,
            onegrid_protocol::IncidentState::Escalated,
            onegrid_protocol::IncidentState::Feedback,
        ];
        let bars: usize = states
            .iter()
            .flat_map(|s| [false, true].map(|overdue| onegrid_console::style::incident_color(*s, overdue)))
            .map(|c| png.count([c.r(), c.g(), c.b()], 2, [0.54, 0.2, 0.6, 0.8]))
            .sum();
        // The board is a panel, not the map: the panels' grey behind its text, no sea.
        let board = [0.6, 0.2, 1.0, 0.8];
        let (grey, sea) = (onegrid_console::style::PANEL, onegrid_console::style::SEA);
        let behind = png.count([grey.r(), grey.g(), grey.b()], 2, board);
        let sea_there = png.count([sea.r(), sea.g(), sea.b()], 2, board);
        if board_shown {
            assert!(bars > 600, "{extra:?}: the board lists open incidents: {bars} px of state colours at its edge");
            assert!(behind * 2 > png.pixels(board).len(), "{extra:?}: the panels' grey behind the board: {behind} px");
            assert_eq!(sea_there, 0, "{extra:?}: no map under the board");
            // Left of it the whole city, with live markers.
            let green = onegrid_console::style::unit_color(onegrid_protocol::UnitStatus::Available);
            let markers = png.count([green.r(), green.g(), green.b()], 3, [0.0, 0.15, 0.54, 0.85]);
            assert!(markers > 100, "{extra:?}: the city's live markers beside the board: {markers} px");
        } else {
            assert!(sea_there > 0 && behind * 2 < png.pixels(board).len(), "{extra:?}: the map fills the right");
        }
        assert!(png.count(GREEN_LINK, 3, TOP_BAR) > 10, "{extra:?}: the status bar shows a connected link");
    }
    rt.block_on(server.shutdown());
}

/// A serious incident reported while the desk watches the simulated city is heard: the
/// console writes its alert sounds through GStreamer (`--sound-record`), the urgent chime
/// among them, and each file is its chime, sample for sample.
#[test]
fn a_serious_incident_reported_while_the_desk_watches_sounds_the_urgent_chime() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    let server = common::server(&rt, &dir.path().join("data"), common::simulated);
    let url = format!("ws://{}", server.addr);
    let caller = serious_calls(&rt, &server);
    let chimes = dir.path().join("chimes");
    let run = console(&["--server", &url, "--frames", "30", "--sound-record", &chimes.to_string_lossy()], dir.path());
    caller.abort();
    rt.block_on(server.shutdown());
    assert!(run.ok, "exit status; log:\n{}", run.log);
    let mut names: Vec<String> = std::fs::read_dir(&chimes)
        .expect("the chimes' folder")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.iter().any(|n| n.ends_with("-urgent.wav")),
        "the urgent chime was written: {names:?}; log:\n{}",
        run.log
    );
    for n in &names {
        use onegrid_console::sound::Chime;
        let chime =
            Chime::ALL.into_iter().find(|c| n.ends_with(&format!("-{}.wav", c.name()))).expect("a chime's name");
        let want: Vec<u8> = chime.samples().iter().flat_map(|s| s.to_le_bytes()).collect();
        let wav = std::fs::read(chimes.join(n)).expect("a chime");
        let data = wav.windows(4).position(|w| w == b"data").expect("a data chunk") + 8;
        assert_eq!(&wav[data..], &want[..], "{n} is the {chime:?} chime");
    }
}

/// Besides the simulator's, a caller's serious report (severity 3) every half second, in
/// Siming, until aborted.
fn serious_calls(rt: &tokio::runtime::Runtime, server: &onegrid_server::Running) -> tokio::task::JoinHandle<()> {
    use onegrid_protocol::{Command as Cmd, Report, Role, Scale, Scope, Source, UserInfo};
    let engine = server.engine.clone();
    rt.spawn(async move {
        let user = UserInfo {
            id: "hotline".into(),
            name: "热线".into(),
            role: Role::Dispatcher,
            scope: Scope::city(),
            unit: None,
        };
        let actor = onegrid_server::world::Actor { user: &user, origin: "test" };
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let report = Report {
                category: "0102".into(),
                location: geo_types::Point::new(118.0894, 24.4798),
                datum: Default::default(),
                source: Source::Hotline,
                description: "来电：楼道起火".into(),
                attachments: vec![],
                severity: 3,
                scale: Scale::Individual,
                held_ms: 0,
            };
            let pending = engine.execute(actor, &Cmd::Report(report), None).expect("reported");
            pending.durable().await.expect("durable");
        }
    })
}

/// The pitches heard in 16-bit mono `samples` at `rate`: one per 20 ms window loud enough
/// to be a tone, from its upward zero crossings.
fn pitches(samples: &[i16], rate: f32) -> Vec<f32> {
    let n = (rate * 0.02) as usize;
    samples
        .chunks_exact(n)
        .filter(|w| w.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0) > 3_000)
        .map(|w| w.windows(2).filter(|p| p[0] < 0 && p[1] >= 0).count() as f32 / 0.02)
        .collect()
}

/// The default sink is a real sound server's: a PulseAudio server (a null sink standing in
/// for the hall's speakers, recorded from its monitor) that the console finds by itself
/// through `autoaudiosink`. The desk says it sounds, and the urgent chime's three tones
/// reach the speakers.
#[test]
fn the_desk_is_heard_through_the_systems_sound_server() {
    assert!(
        Command::new("pulseaudio").arg("--version").stdout(Stdio::null()).status().is_ok(),
        "pulseaudio is missing: run scripts/test, which installs pulseaudio and pulseaudio-utils"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let run_dir = dir.path().join("pulse");
    std::fs::create_dir_all(&run_dir).expect("pulse dir");
    let socket = run_dir.join("native");
    let server_address = format!("unix:{}", socket.display());
    let mut pulse = Command::new("pulseaudio")
        .args(["-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit", "--use-pid-file=no"])
        .arg("--load=module-null-sink sink_name=hall rate=48000 channels=1")
        .arg(format!("--load=module-native-protocol-unix auth-anonymous=1 socket={}", socket.display()))
        .env("XDG_RUNTIME_DIR", &run_dir)
        .env("HOME", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pulseaudio");
    let started = std::time::Instant::now();
    while !socket.exists() {
        assert!(started.elapsed() < Duration::from_secs(10), "pulseaudio did not open {}", socket.display());
        std::thread::sleep(Duration::from_millis(50));
    }
    let recording = dir.path().join("hall.raw");
    let mut parec = Command::new("parec")
        .args([
            "--server",
            &server_address,
            "-d",
            "hall.monitor",
            "--format=s16le",
            "--rate=48000",
            "--channels=1",
            "--raw",
        ])
        .stdout(std::fs::File::create(&recording).expect("recording"))
        .stderr(Stdio::null())
        .spawn()
        .expect("start parec");

    let rt = runtime();
    let server = common::server(&rt, &dir.path().join("data"), common::simulated);
    let url = format!("ws://{}", server.addr);
    let caller = serious_calls(&rt, &server);
    let env = [("PULSE_SERVER", server_address.as_str()), ("HOME", &*dir.path().to_string_lossy())];
    // Frames for a few seconds: a chime sounding when the console exits is cut off.
    let run = console_with(&["--server", &url, "--frames", "200"], dir.path(), &env);
    caller.abort();
    rt.block_on(server.shutdown());
    // The last chime's tail: the console exits without waiting for a speaker's chime.
    std::thread::sleep(Duration::from_millis(300));
    let _ = parec.kill();
    let _ = parec.wait();
    let _ = pulse.kill();
    let _ = pulse.wait();
    assert!(run.ok, "exit status; log:\n{}", run.log);
    assert!(run.log.contains("alert sounds through `autoaudiosink`"), "a sound device found; log:\n{}", run.log);
    assert!(!run.log.contains("no audio device"), "log:\n{}", run.log);
    let raw = std::fs::read(&recording).expect("the recording");
    let samples: Vec<i16> = raw.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
    let heard = pitches(&samples, 48_000.0);
    for tone in [784.0, 987.8, 1318.5] {
        let near = heard.iter().filter(|&&f| (f - tone).abs() <= tone * 0.06).count();
        assert!(near >= 3, "the urgent chime's {tone} Hz tone reached the speakers: {near} windows of {heard:?}");
    }
}
