//! The command line of `onegrid-server`: run the server (optionally with the simulator),
//! or build a city's maps.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::app::{Config, start};
use crate::clock::Clock;
use crate::{maps, sim};

/// OneGrid dispatch server.
#[derive(Debug, Parser)]
#[command(name = "onegrid-server", version, about, args_override_self = true)]
pub struct Cli {
    /// What to do; runs the server when absent.
    #[command(subcommand)]
    pub command: Option<Cmd>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub listen: SocketAddr,
    /// Directory of the journal.
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// Map directory (made by `maps build`).
    #[arg(long, default_value = "maps/xiamen")]
    pub map: PathBuf,
    /// Run the simulator: `default` or `stress`.
    #[arg(long, num_args = 0..=1, default_missing_value = "default")]
    pub simulate: Option<String>,
    /// Users file (JSON); the city's development users when absent.
    #[arg(long)]
    pub users: Option<PathBuf>,
    /// Run the clock this many times faster than real time (for demos).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Seconds between summary lines; 0 for none.
    #[arg(long, default_value_t = 1.0)]
    pub summary_every: f64,
    /// Days of field units' tracks the journal keeps (before its newest point); older
    /// points are dropped as the server runs.
    #[arg(long, default_value_t = 31)]
    pub keep_tracks_days: u32,
    /// Days after closing that an incident leaves the server's memory for the journal's
    /// archive (still given by number; no longer reopened).
    #[arg(long, default_value_t = crate::engine::ARCHIVE_AFTER_DAYS as u32)]
    pub archive_after_days: u32,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Map tools.
    Maps {
        /// The map tool.
        #[command(subcommand)]
        tool: MapsCmd,
    },
}

/// Map tools.
#[derive(Debug, Subcommand)]
pub enum MapsCmd {
    /// Derive a map directory from the sources.
    Build {
        /// Profile in `profiles.json`: `siming` (the default city), `island` (Siming and Huli),
        /// `bay` (the island and Haicang, 38,105 cells) or `city` (all six districts, 177,400).
        #[arg(long, default_value = "siming")]
        profile: String,
        /// Sources directory.
        #[arg(long, default_value = "maps/sources")]
        sources: PathBuf,
        /// Output directory.
        #[arg(long, default_value = "maps/xiamen")]
        out: PathBuf,
    },
    /// Load a map directory and report what it holds (checks every file).
    Check {
        /// Map directory.
        #[arg(default_value = "maps/xiamen")]
        dir: PathBuf,
    },
}

/// Prints an error as one clear line (its causes after colons, no backtrace) and turns
/// the outcome into the process's exit code.
pub fn exit(result: anyhow::Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let mut message = e.to_string();
            for cause in e.chain().skip(1).map(ToString::to_string) {
                if !message.contains(&cause) {
                    message = format!("{message}: {cause}");
                }
            }
            eprintln!("onegrid-server: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs the command line.
pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Some(Cmd::Maps { tool: MapsCmd::Build { profile, sources, out } }) => {
            let p = maps::Profile::load(&sources, &profile)?;
            let report = maps::build(&sources, &p, &out)?;
            println!("built {} into {}: {report:?}", profile, out.display());
            Ok(())
        }
        Some(Cmd::Maps { tool: MapsCmd::Check { dir } }) => {
            let city = crate::city::load(&dir)?;
            println!(
                "{} ({}): {} cells ({} path), {} admin units, {} overlay units, {} road nodes / {} edges, {} units, {} cameras, {} categories; the map a console fetches is {:.1} MB in {} parts ({:.1} MB with every cell's outline)",
                city.manifest.name,
                city.manifest.profile,
                city.cells.cells().len(),
                if city.cells.is_regular() { "lattice" } else { "r-tree" },
                city.admin.len(),
                city.overlays.len(),
                city.roads.node_count(),
                city.roads.edge_count(),
                city.roster.len(),
                city.cameras.len(),
                city.responsibility.categories.len(),
                city.map.len() as f64 / 1e6,
                city.map.parts(),
                city.map.frame("", false).map_or(f64::NAN, |f| f.len() as f64 / 1e6)
            );
            Ok(())
        }
        None => serve(cli),
    }
}

fn serve(cli: Cli) -> anyhow::Result<()> {
    let simulate = match cli.simulate.as_deref() {
        Some(name) => Some(
            sim::Profile::named(name).with_context(|| format!("no simulation profile `{name}` (default, stress)"))?,
        ),
        None => None,
    };
    anyhow::ensure!(cli.time_scale > 0.0 && cli.time_scale.is_finite(), "--time-scale must be positive");
    let mut config = Config::new(&cli.map, &cli.data);
    config.listen = cli.listen;
    config.simulate = simulate;
    config.users = cli.users;
    config.clock = Clock::scaled(cli.time_scale);
    anyhow::ensure!(cli.keep_tracks_days > 0, "--keep-tracks-days must be at least 1");
    config.limits.keep_tracks = Duration::from_secs(u64::from(cli.keep_tracks_days) * 86_400);
    anyhow::ensure!(cli.archive_after_days > 0, "--archive-after-days must be at least 1");
    config.limits.archive_after = Duration::from_secs(u64::from(cli.archive_after_days) * 86_400);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    runtime.block_on(async move {
        let running = start(config).await?;
        eprintln!(
            "OneGrid listening on ws://{} (journal {} in {}){}",
            running.addr,
            running.engine.journal_id(),
            cli.data.display(),
            if cli.simulate.is_some() { ", simulator on" } else { "" }
        );
        let summary = (cli.summary_every > 0.0).then(|| {
            tokio::spawn(crate::summary::run(running.engine.clone(), Duration::from_secs_f64(cli.summary_every)))
        });
        tokio::signal::ctrl_c().await.context("cannot wait for Ctrl-C")?;
        eprintln!("\nshutting down: writing the journal");
        if let Some(s) = summary {
            s.abort();
        }
        running.shutdown().await;
        Ok(())
    })
}
