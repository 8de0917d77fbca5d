//! `--bench` run as BENCHMARKS.md runs it (the real binary under Xvfb with Mesa's software
//! Vulkan), shortened: it must finish on its own and print every figure, as numbers, for
//! the frames it was asked for, with the still view copied. The figures themselves are
//! not judged here; a benchmark is not a timed test.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_onegrid-console");

/// The numbers on the line of `out` that starts with `name`.
fn numbers(out: &str, name: &str) -> Vec<f64> {
    let line = out.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no `{name}` line in:\n{out}"));
    line.split_whitespace()
        .filter_map(|w| w.trim_start_matches('(').trim_end_matches('x').parse::<f64>().ok())
        .collect()
}

#[test]
fn the_bench_prints_every_figure_for_the_frames_asked() {
    assert!(
        Command::new("xvfb-run").arg("--help").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok(),
        "xvfb-run is missing: run scripts/test, which installs xvfb and mesa-vulkan-drivers"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let out_path = dir.path().join("bench.out");
    let out = std::fs::File::create(&out_path).expect("output file");
    let map = Path::new(env!("CARGO_MANIFEST_DIR")).join("../maps/xiamen");
    let mut child = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1280x800x24", BIN, "--bench", "--size", "640x360"])
        .args(["--frames", "60", "--units", "2000", "--map"])
        .arg(&map)
        .current_dir(dir.path())
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .expect("start xvfb-run");
    let status = common::wait_exit(&mut child, Duration::from_secs(300), "the bench should finish by itself");
    let mut text = String::new();
    std::fs::File::open(&out_path).and_then(|mut f| f.read_to_string(&mut text)).expect("read output");
    assert!(status.success(), "exit status {status}; output:\n{text}");
    assert!(text.contains("2000 units, 60 frames a phase"), "{text}");
    assert!(text.contains("100 moving a tick"), "5 % of the units move each tick: {text}");
    for name in ["clear-only", "scene", "markers", "main update"] {
        let v = numbers(&text, name);
        assert_eq!(v.len(), 3, "p50, p95, p99 on `{name}`: {v:?}");
        assert!(v.iter().all(|x| x.is_finite() && *x > 0.0), "`{name}`: {v:?}");
        assert!(v[0] <= v[1] && v[1] <= v[2], "percentiles in order on `{name}`: {v:?}");
    }
    let ratio = numbers(&text, "ratio");
    assert!(ratio.len() == 2 && ratio.iter().all(|x| *x > 0.0), "ratio: {ratio:?}");
    let ticks = numbers(&text, "tick apply");
    assert_eq!(ticks.last().copied(), Some(60.0), "one tick a scene frame: {ticks:?}");
    // Under lavapipe the markers are stamped and the standing view is copied.
    let copied = numbers(&text, "viewport");
    assert!(copied[0] > 0.0 && copied[1] == 60.0, "frames copied, of 60: {copied:?}");
}
