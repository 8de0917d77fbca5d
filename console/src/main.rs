//! `onegrid-console`: parses the command line, starts a local server when no `--server` is
//! given, and runs the console. A local server that cannot start (a corrupt map, a busy
//! journal) does not stop the console: it opens and says why on screen and in the log.

use clap::Parser;
use onegrid_console::cli::Cli;
use onegrid_console::layers::marker_mesh::MarkerPath;
use onegrid_console::layers::still::StillCopy;
use onegrid_console::spread::{SpreadPlan, SpreadPlugin};
use onegrid_console::{AppOptions, Source, bench, local, net, shot, ui};

fn main() -> std::process::ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("onegrid-console: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<std::process::ExitCode> {
    let cli = Cli::parse();
    let size = cli.window_size()?;
    let start_view = cli.start_view()?;
    let markers = MarkerPath::parse(&cli.markers).map_err(|e| anyhow::anyhow!(e))?;
    let still_copy = StillCopy::parse(&cli.still_copy).map_err(|e| anyhow::anyhow!(e))?;
    let wall_roles = ui::wall::WallRole::parse_list(&cli.wall_roles).map_err(|e| anyhow::anyhow!(e))?;
    let sound = cli.sound()?;
    let mode = if cli.wall { ui::Mode::Wall } else { ui::Mode::Desk };
    let mut problem = None;
    let mut _local = None;
    let mut prefs = None;
    let source = if cli.bench {
        Source::Bench(bench::BenchPlan { units: cli.units, frames: cli.frames as usize, map_dir: cli.map.clone() })
    } else {
        let token = cli.token.clone().unwrap_or_else(|| if cli.wall { "dev-wall" } else { "dev-commander" }.into());
        // The desk keeps its unanswered commands in a file, to send them after a crash;
        // the wall sends none.
        let outbox = (!cli.wall).then(|| cli.data.join("outbox"));
        // The desk's settings, kept between runs for the same user.
        prefs = (!cli.wall).then(|| onegrid_console::prefs::path_for(&cli.data.join("prefs"), &token));
        // The server's map, kept for the next run (desk and wall alike).
        let maps = Some(cli.data.join("maps"));
        match &cli.server {
            Some(url) => Source::Server(net::NetConfig { url: url.clone(), token, outbox, maps }),
            None => {
                let cfg = local::LocalConfig {
                    map_dir: cli.map.clone(),
                    data_dir: cli.data.clone(),
                    simulate: cli.simulate.clone(),
                    time_scale: cli.time_scale,
                };
                match local::start(cfg) {
                    Ok(server) => {
                        let url = server.url.clone();
                        _local = Some(server);
                        Source::Server(net::NetConfig { url, token, outbox, maps })
                    }
                    Err(e) => {
                        let why = format!("{e:#}");
                        eprintln!("onegrid-console: {why}");
                        problem = Some(why);
                        Source::Unavailable
                    }
                }
            }
        }
    };
    let shot = cli.screenshot.clone().map(|path| shot::ShotPlan { path, frames: cli.frames, timeout: cli.timeout() });
    let fullscreen = (cli.wall && shot.is_none()).then_some(cli.monitor.unwrap_or(0));
    // The wall without `--monitor` fills every monitor, with one console each.
    let plan = match (&source, cli.wall && cli.monitor.is_none() && shot.is_none()) {
        (Source::Server(cfg), true) => std::env::current_exe().ok().map(|exe| SpreadPlan {
            exe,
            args: [
                "--wall",
                "--server",
                &cfg.url,
                "--token",
                &cfg.token,
                "--size",
                &cli.size,
                "--markers",
                &cli.markers,
                "--still-copy",
                &cli.still_copy,
                "--wall-roles",
                &cli.wall_roles,
            ]
            .map(String::from)
            .to_vec(),
        }),
        _ => None,
    };
    let spread = SpreadPlugin { plan, exit_with_parent: cli.exit_with_parent, fill: fullscreen };
    let mut app = onegrid_console::build_app(AppOptions {
        source,
        mode,
        size,
        fullscreen,
        shot,
        problem,
        start_view,
        markers,
        still_copy,
        spread,
        wall_role: ui::wall::WallRole::for_monitor(cli.monitor, &wall_roles),
        // A wall's other monitors (the consoles it starts) stay silent: one of a wall chimes.
        sound: (!(cli.wall && cli.exit_with_parent)).then_some(sound),
        prefs,
    });
    let exit = app.run();
    // The wall's other consoles quit before the local server they use stops.
    drop(app);
    drop(_local);
    Ok(if exit.is_success() { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE })
}
