//! The local server: without `--server`, the console starts a whole dispatch server with
//! the simulator in-process (its own thread and tokio runtime, the embedded SQLite journal
//! in `--data`), listening on an ephemeral loopback port, so one command shows a living
//! city. Dropping [`LocalServer`] shuts it down cleanly and writes the journal.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;

use anyhow::Context;
use onegrid_server::clock::Clock;
use onegrid_server::sim::Profile;
use tokio::sync::oneshot;

/// A server running inside the console.
pub struct LocalServer {
    /// `ws://127.0.0.1:port`.
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// What the local server runs on.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// Map directory.
    pub map_dir: PathBuf,
    /// Journal directory.
    pub data_dir: PathBuf,
    /// Simulator profile name (`default`, `stress`).
    pub simulate: String,
    /// Clock speed.
    pub time_scale: f64,
}

/// Starts the server and waits until it listens (or says why it cannot).
pub fn start(cfg: LocalConfig) -> anyhow::Result<LocalServer> {
    let profile = Profile::named(&cfg.simulate).with_context(|| format!("no simulator profile `{}`", cfg.simulate))?;
    anyhow::ensure!(cfg.time_scale > 0.0 && cfg.time_scale.is_finite(), "--time-scale must be positive");
    let (ready_tx, ready_rx) = mpsc::channel::<Result<String, String>>();
    let (stop, stop_rx) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new().name("onegrid-local-server".into()).spawn(move || {
        let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                let _ = ready_tx.send(Err(format!("cannot start a runtime: {e}")));
                return;
            }
        };
        rt.block_on(async move {
            let mut config = onegrid_server::Config::new(&cfg.map_dir, &cfg.data_dir);
            config.simulate = Some(profile);
            config.clock = Clock::scaled(cfg.time_scale);
            match onegrid_server::start(config).await {
                Ok(running) => {
                    let _ = ready_tx.send(Ok(format!("ws://{}", running.addr)));
                    let _ = stop_rx.await;
                    running.shutdown().await;
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                }
            }
        });
    })?;
    let url = match ready_rx.recv() {
        Ok(Ok(url)) => url,
        Ok(Err(why)) => {
            let _ = thread.join();
            anyhow::bail!("the local server did not start: {why}");
        }
        Err(_) => anyhow::bail!("the local server thread ended before it started"),
    };
    Ok(LocalServer { url, stop: Some(stop), thread: Some(thread) })
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
