//! What the console's end-to-end tests share: waiting for a console process to end, a real
//! server in the test's process, and running a headless app until something holds. Each
//! test file uses some of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// Waits for `child` to exit; kills it and fails the test after `limit`, saying `what`
/// it was waiting for.
pub fn wait_exit(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("{what}: not within {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The default city's map directory.
pub fn maps() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../maps/xiamen")
}

/// A runtime for servers started in the test's process.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

/// A real server on the default city with its journal in `data`, on a free port of
/// 127.0.0.1 unless `adjust` says otherwise (it also sets the simulator and the clock).
pub fn server(
    rt: &tokio::runtime::Runtime,
    data: &Path,
    adjust: impl FnOnce(&mut onegrid_server::Config),
) -> onegrid_server::Running {
    let mut config = onegrid_server::Config::new(maps(), data);
    adjust(&mut config);
    rt.block_on(onegrid_server::start(config)).expect("server")
}

/// The default simulator, for `server`'s `adjust`.
pub fn simulated(config: &mut onegrid_server::Config) {
    config.simulate = onegrid_server::sim::Profile::named("default");
}

/// Updates a headless `app` until `done`; fails after a minute, saying `what` it waited for.
pub fn run_until(app: &mut bevy::prelude::App, what: &str, mut done: impl FnMut(&mut bevy::prelude::App) -> bool) {
    let started = Instant::now();
    while !done(app) {
        assert!(started.elapsed() < Duration::from_secs(60), "timed out waiting for {what}");
        app.update();
        std::thread::sleep(Duration::from_millis(5));
    }
}
