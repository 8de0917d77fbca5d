//! The wall's other monitors run consoles of their own, started by the first with
//! `--exit-with-parent`: such a console must quit, cleanly, when its parent goes (its
//! standard input closes), and not before. A real console under Xvfb.

use std::io::Write;
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
