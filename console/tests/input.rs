//! The desk driven as an operator drives it: a real console in a real window (Xvfb) on a
//! real server, with real pointer clicks and key strokes (xdotool). A caller gives
//! coordinates; the operator searches them, opens the report there, narrows the category
//! list by typing, describes the matter and sends it; the server numbers it. Then the
//! server goes away, a second report is held for the link, and the console is killed:
//! started again, it sends that report from its outbox, once.
//!
//! The clicks go to places in a 1600×900 window: the layout is the console's own and
//! fixed for that size (the server has no simulator, so nothing else moves). A change to
//! the desk's layout moves them; the failure says which step found nothing.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_onegrid-console");

/// A process killed when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn xdotool(display: &str, args: &[&str]) {
    let out = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .output()
        .expect("xdotool (scripts/test installs it)");
    assert!(out.status.success(), "xdotool {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn click(display: &str, x: u32, y: u32) {
    xdotool(display, &["mousemove", &x.to_string(), &y.to_string(), "click", "1"]);
    std::thread::sleep(Duration::from_millis(800));
}

fn type_text(display: &str, text: &str) {
    xdotool(display, &["type", "--delay", "40", text]);
    std::thread::sleep(Duration::from_millis(800));
}

fn wait_for_log(log: &Path, what: &str, limit: Duration) -> String {
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(what) {
            return text;
        }
        assert!(started.elapsed() < limit, "the console's log never said `{what}`:\n{text}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn an_operator_registers_reports_and_a_killed_console_loses_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = common::runtime();
    let server = common::server(&rt, &dir.path().join("data"), |_| {});
    let n = (300..400)
        .find(|n| {
            !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
        })
        .expect("a free display number");
    let display = format!(":{n}");
    let _xvfb = Killed(
        Command::new("Xvfb")
            .args([&display, "-screen", "0", "1600x900x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (scripts/test installs it)"),
    );
    let started = Instant::now();
    while !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
        assert!(started.elapsed() < Duration::from_secs(20), "Xvfb did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = dir.path().join("console.log");
    let console = start_console(&display, dir.path(), &log, server.addr);
    file_report(&display, "smoke on the 3rd floor, caller Wang 138", 0);
    let text = wait_for_log(&log, "：已确认，事件 #1", Duration::from_secs(30));
    assert!(text.contains("登记 消防隐患：已确认，事件 #1"), "the fire hazard, numbered 1:\n{text}");
    assert!(!text.contains("panicked"), "{text}");
    // What the server holds is what was typed, where it was said.
    let i = rt.block_on(incident_from(&format!("ws://{}", server.addr), 1));
    assert_eq!((i.category.as_str(), i.source), ("0201", onegrid_protocol::Source::Hotline));
    assert_eq!(i.description, "smoke on the 3rd floor, caller Wang 138");
    assert!((i.location.x() - 118.13044).abs() < 1e-6 && (i.location.y() - 24.46149).abs() < 1e-6, "{:?}", i.location);
    assert_eq!(i.placement.street_name, "筼筜街道");

    // The server goes away; the next caller's report is held for the link, and the console
    // is killed (SIGKILL) before the link is back.
    let addr = server.addr;
    rt.block_on(server.shutdown());
    wait_for_log(&log, "link down", Duration::from_secs(30));
    // The form now warns of #1 there, two lines higher up, so what is below sits lower.
    file_report(&display, "gas smell in the stairwell, caller Li 139", 39);
    wait_for_log(&log, "held until the link is back", Duration::from_secs(30));
    drop(console);
    // The server is back; the console, started again, sends the held report from its outbox.
    let server = common::server(&rt, &dir.path().join("data"), |config| config.listen = addr);
    let log = dir.path().join("console-again.log");
    let _console = start_console(&display, dir.path(), &log, addr);
    let text = wait_for_log(&log, "（上次运行时）：已确认，事件 #2", Duration::from_secs(60));
    assert!(text.contains("登记 消防隐患（上次运行时）：已确认，事件 #2"), "{text}");
    let i = rt.block_on(incident_from(&format!("ws://{addr}"), 2));
    assert_eq!(i.description, "gas smell in the stairwell, caller Li 139");
    assert!(!text.contains("panicked"), "{text}");
    rt.block_on(server.shutdown());
}

/// Starts the console in `dir` (its data folder is `dir/data`) on `display`, logging to
/// `log`, connected to `server`; returns once it shows the map and has the keyboard.
fn start_console(display: &str, dir: &Path, log: &Path, server: std::net::SocketAddr) -> Killed {
    let file = std::fs::File::create(log).expect("log");
    let console = Killed(
        Command::new(BIN)
            .args(["--server", &format!("ws://{server}"), "--size", "1600x900"])
            .env("DISPLAY", display)
            .current_dir(dir)
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("start the console"),
    );
    wait_for_log(log, "map of ", Duration::from_secs(120));
    std::thread::sleep(Duration::from_secs(3)); // the first frames with the map
    // Without a window manager the window takes the keyboard only when told.
    let out = Command::new("xdotool").args(["search", "--name", "OneGrid"]).env("DISPLAY", display).output();
    let window = String::from_utf8_lossy(&out.expect("xdotool").stdout).lines().next().unwrap_or_default().to_owned();
    assert!(!window.is_empty(), "no console window");
    xdotool(display, &["windowfocus", &window]);
    console
}

/// Registers a caller's fire-hazard report at the caller's coordinates, as an operator
/// does; the form's lower part sits `dy` pixels lower than on an empty map.
fn file_report(display: &str, description: &str, dy: u32) {
    // The search tab, its box (emptied), the caller's coordinates, the first (GPS) hit.
    click(display, 160, 34);
    click(display, 130, 62);
    xdotool(display, &["key", "End", "key", "--repeat", "40", "BackSpace"]);
    type_text(display, "118.13044, 24.46149");
    click(display, 60, 103);
    // The category list, narrowed by code to the fire hazard, and chosen.
    click(display, 1237, 527 + dy);
    type_text(display, "0201");
    click(display, 1245, 592 + dy);
    // What happened, and send.
    click(display, 1319, 650 + dy);
    type_text(display, description);
    click(display, 1157, 686 + dy);
}

/// Incident `id` as the server answers the `incident` query, asked over its WebSocket.
async fn incident_from(url: &str, id: u64) -> onegrid_protocol::Incident {
    use futures_util::{SinkExt, StreamExt};
    use onegrid_protocol::{ClientMsg, Query, QueryResult, ServerMsg};
    use tokio_tungstenite::tungstenite::Message;
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("connect");
    let hello = r#"{"type":"hello","version":1,"token":"dev-commander","client":"input test"}"#;
    ws.send(Message::text(hello)).await.expect("hello");
    let ask = ClientMsg::Query { req: "q".into(), q: Query::Incident { id } };
    ws.send(Message::text(serde_json::to_string(&ask).expect("json"))).await.expect("query");
    while let Some(frame) = ws.next().await {
        let Ok(Message::Text(t)) = frame else { continue };
        if let Ok(ServerMsg::Result { req, result: QueryResult::Incident { incident } }) = serde_json::from_str(&t)
            && req == "q"
        {
            return *incident;
        }
    }
    panic!("the server did not answer the incident query")
}
