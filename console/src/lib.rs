#![doc = include_str!("../README.md")]

pub mod bench;
pub mod cli;
pub mod desk;
pub mod fonts;
pub mod layers;
pub mod live;
pub mod local;
pub mod map;
pub mod memory;
pub mod net;
pub mod prefs;
pub mod shot;
pub mod sound;
pub mod spread;
pub mod style;
pub mod ui;
pub mod view;

#[cfg(test)]
mod testing {
    //! What the unit tests of several modules share.

    /// A caller's fire-hazard report in Siming, as the desk sends one.
    pub fn hotline_report() -> onegrid_protocol::Report {
        onegrid_protocol::Report {
            category: "0201".into(),
            location: geo_types::Point::new(118.13, 24.46),
            datum: Default::default(),
            source: onegrid_protocol::Source::Hotline,
            description: String::new(),
            attachments: vec![],
            severity: 3,
            scale: onegrid_protocol::Scale::Individual,
            held_ms: 0,
        }
    }

    /// The map a measuring test loads: `ONEGRID_BENCH_MAP`, else the default city.
    pub fn bench_map_dir() -> std::path::PathBuf {
        std::env::var("ONEGRID_BENCH_MAP")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../maps/xiamen"))
    }
}

use bevy::prelude::*;
use bevy::window::{MonitorSelection, PresentMode, WindowMode, WindowPosition, WindowResolution};
use bevy_egui::EguiPlugin;

/// Whether the map and panels are drawn this frame (not during the bench's clear-only phase).
pub fn drawing_on(phase: Option<Res<bench::Phase>>) -> bool {
    phase.is_none_or(|p| *p != bench::Phase::Blank)
}

/// What the app is built for.
#[derive(Debug, Clone)]
pub enum Source {
    /// A server to connect to.
    Server(net::NetConfig),
    /// The bench's fixed scene.
    Bench(bench::BenchPlan),
    /// Nothing to connect to (the local server did not start): the console opens and
    /// says why.
    Unavailable,
}

/// How the app looks and ends.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// Where the data comes from.
    pub source: Source,
    /// Desk or wall.
    pub mode: ui::Mode,
    /// Window size in logical pixels (ignored fullscreen).
    pub size: (u32, u32),
    /// Fullscreen on this monitor.
    pub fullscreen: Option<usize>,
    /// Take a screenshot and exit.
    pub shot: Option<shot::ShotPlan>,
    /// A problem to show from the start (the local server did not start).
    pub problem: Option<String>,
    /// Where the map starts.
    pub start_view: Option<[f64; 3]>,
    /// How unit markers are drawn.
    pub markers: layers::marker_mesh::MarkerPath,
    /// Whether a still view's pixels are copied rather than shaded.
    pub still_copy: layers::still::StillCopy,
    /// The wall's other monitors, and whether to quit with a parent wall console.
    pub spread: spread::SpreadPlugin,
    /// What the wall's map shows on this monitor.
    pub wall_role: ui::wall::WallRole,
    /// Where the alert sounds go, whether they start muted and which kinds are heard (none
    /// in the bench, nor on a wall's other monitors: one console of a wall chimes).
    pub sound: Option<sound::SoundOptions>,
    /// Where the desk keeps its settings between runs (`prefs`; none on the wall, in the
    /// bench).
    pub prefs: Option<std::path::PathBuf>,
}

/// The console as a bevy app.
pub fn build_app(opts: AppOptions) -> App {
    let mut app = App::new();
    let mut window = Window {
        title: "一张网 OneGrid 指挥调度".into(),
        resolution: WindowResolution::new(opts.size.0, opts.size.1),
        present_mode: if matches!(opts.source, Source::Bench(_)) {
            PresentMode::AutoNoVsync
        } else {
            PresentMode::AutoVsync
        },
        ..default()
    };
    if let Some(m) = opts.fullscreen {
        window.mode = WindowMode::BorderlessFullscreen(MonitorSelection::Index(m));
        window.position = WindowPosition::Centered(MonitorSelection::Index(m));
    }
    // Closing is the desk's to decide (`desk::CloseGuard`): it asks first when commands
    // await the server.
    let windows = WindowPlugin { primary_window: Some(window), close_when_requested: false, ..default() };
    app.add_plugins(DefaultPlugins.set(windows))
        .add_plugins(EguiPlugin::default())
        .insert_resource(ClearColor(Color::srgb_u8(style::PANEL.r(), style::PANEL.g(), style::PANEL.b())))
        .insert_resource(opts.mode)
        .insert_resource(opts.wall_role)
        .insert_resource(layers::TextScale(if opts.mode == ui::Mode::Wall { 1.5 } else { 1.0 }))
        .add_plugins((live::LivePlugin, map::MapPlugin, desk::DeskPlugin, layers::LayersPlugin, ui::UiPlugin))
        .add_plugins((sound::SoundPlugin, prefs::PrefsPlugin))
        .add_systems(Startup, |mut commands: Commands| {
            // One camera: its clear is the panels' background, the backdrop quad (or, for a
            // still view, a copy: hence COPY_DST) draws the map viewport, egui draws on top.
            // No multisampling (egui anti-aliases its own shapes) and no tonemapping, each
            // of which would cost a full-screen pass on software Vulkan. The final blit to
            // the window writes every pixel opaque, so the window is not cleared first: on
            // software Vulkan that clear is a full-window memset a frame.
            let usages = bevy::camera::CameraMainTextureUsages::default()
                .with(bevy::render::render_resource::TextureUsages::COPY_DST);
            let camera = Camera {
                output_mode: bevy::camera::CameraOutputMode::Write {
                    blend_state: None,
                    clear_color: ClearColorConfig::None,
                },
                ..default()
            };
            commands.spawn((Camera2d, camera, Msaa::Off, bevy::core_pipeline::tonemapping::Tonemapping::None, usages));
        });
    app.configure_sets(bevy_egui::EguiPrimaryContextPass, layers::DrawMap.run_if(drawing_on));
    let bench = matches!(opts.source, Source::Bench(_));
    match opts.source {
        Source::Server(cfg) => {
            app.add_plugins(net::NetPlugin { config: cfg });
        }
        Source::Bench(plan) => {
            app.add_plugins(bench::BenchPlugin(plan));
        }
        Source::Unavailable => {}
    }
    app.insert_resource(map::StartView(opts.start_view)).insert_resource(opts.markers).insert_resource(opts.still_copy);
    if opts.mode == ui::Mode::Wall {
        app.insert_resource(desk::FocusSpan(2_500.0));
    }
    if let Some(p) = opts.problem {
        app.world_mut().resource_mut::<ui::UiState>().problem = Some(p);
    }
    if let Some(plan) = opts.shot {
        app.add_plugins(shot::ShotPlugin(plan));
    }
    let sound_given = opts.sound.as_ref().is_some_and(|o| o.given);
    if let Some(o) = opts.sound
        && !bench
    {
        app.insert_resource(sound::Sound::from_options(o));
    }
    if let Some(path) = opts.prefs
        && opts.mode == ui::Mode::Desk
        && !bench
    {
        let (kept, why) = prefs::load(&path);
        if let Some(why) = why {
            warn!("{why}");
        }
        prefs::apply(app.world_mut(), &kept, sound_given);
        app.insert_resource(prefs::PrefsFile::new(path, kept));
    }
    app.add_plugins(opts.spread);
    app
}
