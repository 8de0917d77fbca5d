//! The duty desk as the end-to-end tests drive it: a headless console connected to a real
//! server, the incidents it holds, a report to send, and waiting for the server's answer.

use bevy::prelude::*;
use onegrid_console::desk::{Desk, DeskPlugin, Intent};
use onegrid_console::live::{IncidentC, LiveIndex, LivePlugin};
use onegrid_console::map::CityMapRes;
use onegrid_console::net::{Link, LinkState, NetConfig, NetPlugin};
use onegrid_console::view::MapView;
use onegrid_protocol::{Incident, Report, Scale, Source};

use super::run_until;

/// The incident `id` as the app holds it.
pub fn incident(app: &mut App, id: u64) -> Option<Incident> {
    let e = *app.world().resource::<LiveIndex>().incidents.get(&id)?;
    app.world().get::<IncidentC>(e).map(|i| i.0.clone())
}

/// A hotline report of `category` at a point.
pub fn report(lon: f64, lat: f64, category: &str) -> Report {
    Report {
        category: category.into(),
        location: geo_types::Point::new(lon, lat),
        datum: Default::default(),
        source: Source::Hotline,
        description: "来电：三楼厨房冒烟".into(),
        attachments: vec![],
        severity: 3,
        scale: Scale::Individual,
        held_ms: 0,
    }
}

/// Sends `intent` and waits until nothing the desk sent is pending; returns the newest notice.
pub fn settle(app: &mut App, intent: Intent) -> (String, bool) {
    let before = app.world().resource::<Desk>().notices.len();
    app.world_mut().write_message(intent);
    let mut saw_pending = false;
    run_until(app, "the server's answer", |app| {
        let desk = app.world().resource::<Desk>();
        saw_pending |= !desk.pending.is_empty();
        desk.pending.is_empty() && (desk.notices.len() > before || desk.notices.len() == 12)
    });
    assert!(saw_pending, "a command is pending until the server answers");
    let n = app.world().resource::<Desk>().notices.front().expect("a notice").clone();
    (n.text, n.error)
}

/// A headless desk (without the city's map) connected to `addr` as the city's commander.
pub fn desk_app(addr: std::net::SocketAddr) -> App {
    desk_with_outbox(addr, None)
}

/// The same, keeping its unanswered commands in the outbox in `outbox`.
pub fn desk_with_outbox(addr: std::net::SocketAddr, outbox: Option<&std::path::Path>) -> App {
    client(addr, "dev-commander", outbox)
}

/// A headless console connected to `addr` as `token`'s user.
pub fn client(addr: std::net::SocketAddr, token: &str, outbox: Option<&std::path::Path>) -> App {
    let mut app = App::new();
    let config = NetConfig {
        url: format!("ws://{addr}"),
        token: token.into(),
        outbox: outbox.map(|p| p.to_owned()),
        maps: None,
    };
    app.add_plugins(MinimalPlugins)
        .add_plugins(LivePlugin)
        .add_plugins(DeskPlugin)
        .init_resource::<CityMapRes>()
        .init_resource::<MapView>()
        .add_plugins(NetPlugin { config });
    run_until(&mut app, "connected", |app| app.world().resource::<Link>().state == LinkState::Connected);
    app
}
