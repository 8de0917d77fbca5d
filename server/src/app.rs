//! Starting and stopping a whole server: city, journal, engine, listener, clock rules,
//! position pump and (optionally) the simulator. Tests start it on `127.0.0.1:0`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::Users;
use crate::clock::Clock;
use crate::engine::{Engine, run_overdue, run_position_pump};
use crate::{city, sim};

/// Everything a server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Where the journal lives.
    pub data_dir: PathBuf,
    /// The map directory.
    pub map_dir: PathBuf,
    /// Run the simulator with this profile.
    pub simulate: Option<sim::Profile>,
    /// Top the roster and cameras up to this profile's numbers without simulating
    /// (benchmarks, load tests); `simulate` does this by itself.
    pub population: Option<sim::Profile>,
    /// Users file; the city's development users when absent.
    pub users: Option<PathBuf>,
    /// The clock.
    pub clock: Clock,
    /// The shortest batching window of the position pump.
    pub position_window: Duration,
    /// Buffer sizes.
    pub limits: crate::engine::Limits,
}

impl Config {
    /// Defaults around a map and data directory: loopback, an ephemeral port, system clock.
    pub fn new(map_dir: impl Into<PathBuf>, data_dir: impl Into<PathBuf>) -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.into(),
            map_dir: map_dir.into(),
            simulate: None,
            population: None,
            users: None,
            clock: Clock::system(),
            position_window: Duration::from_millis(2),
            limits: crate::engine::Limits::default(),
        }
    }
}

/// Why a server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The map directory is unusable.
    #[error("map: {0}")]
    Map(#[from] city::MapError),
    /// The journal is unusable.
    #[error("{0}")]
    Journal(#[from] crate::journal::JournalError),
    /// The users file is unusable.
    #[error("users: {0}")]
    Users(#[from] crate::auth::UsersError),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A running server.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The engine.
    pub engine: Arc<Engine>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts a server.
pub async fn start(config: Config) -> Result<Running, StartError> {
    let mut city = city::load(&config.map_dir)?;
    if let Some(profile) = config.simulate.as_ref().or(config.population.as_ref()) {
        sim::augment(&mut city, profile);
    }
    let city = Arc::new(city);
    let users = match &config.users {
        Some(file) => Users::load(file)?,
        None => Users::development(&city),
    };
    let engine = Engine::open(city, &config.data_dir, config.clock.clone(), users, config.limits)?;
    let listener =
        TcpListener::bind(config.listen).await.map_err(|source| StartError::Listen { addr: config.listen, source })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen { addr: config.listen, source })?;
    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let mut accept_stop = stop_rx.clone();
    tasks.push(tokio::spawn(crate::net::run(listener, engine.clone(), async move {
        let _ = accept_stop.changed().await;
    })));
    tasks.push(tokio::spawn(run_overdue(engine.clone(), stop_rx.clone())));
    tasks.push(tokio::spawn(run_position_pump(engine.clone(), config.position_window, stop_rx.clone())));
    tasks.push(tokio::spawn(crate::engine::run_snapshot_expiry(engine.clone(), stop_rx.clone())));
    tasks.push(tokio::spawn(crate::engine::run_housekeeping(engine.clone(), stop_rx.clone())));
    if let Some(profile) = config.simulate.clone() {
        tasks.push(tokio::spawn(sim::run(engine.clone(), profile, stop_rx.clone())));
    }
    tracing::info!(%addr, journal = engine.journal_id(), "OneGrid server listening");
    Ok(Running { addr, engine, stop, tasks })
}

impl Running {
    /// Stops accepting, closes sessions, writes what the journal has queued.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        // Sessions hold the engine until their sockets close; give them a moment.
        for _ in 0..50 {
            if Arc::strong_count(&self.engine) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The next start then replays nothing.
        if let Err(r) = self.engine.checkpoint(true).await {
            tracing::warn!("no checkpoint at shutdown: {}", r.message);
        }
        self.engine.shutdown_journal();
    }
}
