//! The duty desk end to end without a window: a headless bevy app with the real network
//! client, live layers and desk against a real server (no simulator, so nothing else acts
//! on the incidents). What the panels would ask for goes in as intents: a report registered
//! at the desk is numbered by the server, shows up live and is selected; it is accepted and
//! dispatched to the nearest unit the server names (the cameras that see it are asked for too;
//! the units offered are asked for again while it stays selected);
//! another unit is set off duty and back; illegal steps and bad reports are
//! refused in words, and a refused report's outcome reaches the form that sent it. And the
//! link failing: an answer lost with it (the command is sent again, applied once), an
//! older server (not sent again), a report taken while it is down (sent when it is back).
//! And the console crashing with work unanswered: its next run takes it up from the
//! outbox (a held report is sent once; a sent one is sent again to its own server only).

use bevy::prelude::*;
use onegrid_console::desk::{Desk, DeskPlugin, Intent, NearestFresh};
use onegrid_console::live::{LiveIndex, LivePlugin, Selection, UnitPos};
use onegrid_console::map::{CityMapRes, MapModel};
use onegrid_console::net::outbox::Outbox;
use onegrid_console::net::{Link, LinkState, NetConfig, NetPlugin};
use onegrid_console::view::MapView;
use onegrid_protocol::{Action, IncidentState, Source, UnitStatus};

mod common;
use common::desk::{client, desk_app, desk_with_outbox, incident, report, settle};
use common::run_until;

#[test]
fn the_desk_registers_accepts_and_dispatches_and_hears_refusals_in_words() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = common::server(&rt, dir.path(), |_| {});
    // The city's map as the console holds it once the server has sent it: its categories
    // say which skill a matter calls for.
    let city = onegrid_server::city::load(&common::maps()).expect("the default city");
    let model = Some(std::sync::Arc::new(MapModel::new(&city.map.decode().expect("the map decodes"))));
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(LivePlugin)
        .add_plugins(DeskPlugin)
        .insert_resource(CityMapRes { model, ..Default::default() })
        .init_resource::<MapView>()
        .add_plugins(NetPlugin {
            config: NetConfig {
                url: format!("ws://{}", server.addr),
                token: "dev-commander".into(),
                outbox: None,
                maps: None,
            },
        });
    run_until(&mut app, "connected with the units", |app| {
        app.world().resource::<Link>().state == LinkState::Connected
            && !app.world().resource::<LiveIndex>().units.is_empty()
    });

    // Registered: numbered by the server, live, selected, and the form's ticket answered.
    let (text, error) = settle(&mut app, Intent::Report { report: report(118.13044, 24.46149, "0201"), ticket: 7 });
    assert!(!error, "{text}");
    let Some((7, Ok(id))) = app.world().resource::<Desk>().reported.clone() else {
        panic!("no outcome for ticket 7: {:?}", app.world().resource::<Desk>().reported)
    };
    assert!(text.contains(&format!("已确认，事件 #{id}")), "{text}");
    run_until(&mut app, "the new incident, live and selected", |app| {
        incident(app, id).is_some() && app.world().resource::<Selection>().incident == Some(id)
    });
    let i = incident(&mut app, id).expect("live");
    assert_eq!(
        (i.category.as_str(), i.source, i.state, i.severity),
        ("0201", Source::Hotline, IncidentState::Reported, 3)
    );
    assert_eq!(i.placement.street_name, "筼筜街道");

    // Selecting it asked for the nearest available units, the nearest fire teams (a fire
    // hazard's skill) and the cameras that see it.
    run_until(&mut app, "the nearest units and the linked cameras", |app| {
        let desk = app.world().resource::<Desk>();
        desk.nearest.as_ref().is_some_and(|(n, u)| *n == id && !u.is_empty())
            && desk.linked_cameras.as_ref().is_some_and(|(n, _)| *n == id)
            && desk.matched.as_ref().is_some_and(|(n, skill, u)| *n == id && skill == "fire" && !u.is_empty())
    });
    let near = app.world().resource::<Desk>().nearest.as_ref().expect("nearest").1[0].clone();
    let unit = near.unit;

    // Dispatching before accepting is refused, in words; accept, then dispatch.
    let (text, error) = settle(&mut app, Intent::Dispatch { incident: id, units: vec![unit] });
    assert!(error && text.contains("被拒绝 — 事件当前状态不允许此操作"), "{text}");
    let (text, error) = settle(&mut app, Intent::Act { incident: id, action: Action::Accept, note: String::new() });
    assert!(!error && text.contains("已确认"), "{text}");
    let (text, error) = settle(&mut app, Intent::Dispatch { incident: id, units: vec![unit] });
    assert!(!error && text.contains(&format!("派遣 #{id} → {}", near.name)), "the unit by name: {text}");
    run_until(&mut app, "the dispatch, live", |app| {
        incident(app, id).is_some_and(|i| i.state == IncidentState::Dispatched && i.units == vec![unit])
    });

    // A free unit set off duty and back, live; the unit on its way is refused in words.
    let other = app.world().resource::<Desk>().nearest.as_ref().expect("nearest").1[1].clone();
    let status_of = |app: &mut App, u: u32| {
        let e = *app.world().resource::<LiveIndex>().units.get(&u).expect("indexed");
        app.world().get::<UnitPos>(e).expect("unit").status
    };
    for status in [UnitStatus::OffDuty, UnitStatus::Available] {
        let (text, error) = settle(&mut app, Intent::SetUnitStatus { unit: other.unit, status });
        assert!(!error && text.contains(&other.name), "{text}");
        run_until(&mut app, "the unit's status, live", |app| status_of(app, other.unit) == status);
    }
    let (text, error) = settle(&mut app, Intent::SetUnitStatus { unit, status: UnitStatus::OffDuty });
    assert!(error && text.contains("被拒绝 — 不符合办理规则"), "{text}");

    // Reports the server refuses come back to their ticket in words.
    for (ticket, r, words) in [
        (8, report(118.0, 24.3, "0201"), "位置不在本市网格内"),
        (9, report(118.13044, 24.46149, "9999"), "事件、单位或类别不存在"),
    ] {
        let (text, error) = settle(&mut app, Intent::Report { report: r, ticket });
        assert!(error && text.contains(words), "{text}");
        let outcome = app.world().resource::<Desk>().reported.clone();
        assert!(matches!(&outcome, Some((t, Err(w))) if *t == ticket && w.contains(words)), "{outcome:?}");
    }

    // A step with the server gone is said to be unsent, not left pending (a report would
    // wait for the link: see below).
    rt.block_on(server.shutdown());
    run_until(&mut app, "the link to go down", |app| {
        matches!(app.world().resource::<Link>().state, LinkState::Down { .. })
    });
    let before = app.world().resource::<Desk>().notices.len();
    app.world_mut().write_message(Intent::Act { incident: id, action: Action::Start, note: String::new() });
    run_until(&mut app, "the step to fail", |app| app.world().resource::<Desk>().notices.len() > before);
    let n = app.world().resource::<Desk>().notices.front().expect("a notice").clone();
    assert!(n.error && n.text.contains("未发送"), "{}", n.text);
    assert!(app.world().resource::<Desk>().pending.is_empty());
}

/// A console holds incidents closed within a day, as a new subscription would; one closed
/// longer ago is let go of, and selecting it by number (the search offers it) asks the
/// server for it, which is held and selected again; a number the server never gave is
/// said to be unknown, in words. A week on, archived by the server, it is still given by
/// number, and known to the desk for archived.
/// The units offered to send are asked for again while the incident stays selected: one
/// another desk sends elsewhere meanwhile leaves the list without the officer asking.
#[test]
fn the_units_offered_are_asked_for_again_while_the_incident_stays_selected() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = common::server(&rt, dir.path(), |_| {});
    let mut desk = desk_app(server.addr);
    desk.insert_resource(NearestFresh(std::time::Duration::from_millis(500)));
    run_until(&mut desk, "the units", |app| !app.world().resource::<LiveIndex>().units.is_empty());
    let at = [118.13044, 24.46149];
    let reported = |app: &mut App, ticket| {
        let (text, error) = settle(app, Intent::Report { report: report(at[0], at[1], "0201"), ticket });
        assert!(!error, "{text}");
        let Some((t, Ok(id))) = app.world().resource::<Desk>().reported.clone() else { panic!("not numbered") };
        assert_eq!(t, ticket);
        let (text, error) = settle(app, Intent::Act { incident: id, action: Action::Accept, note: String::new() });
        assert!(!error, "{text}");
        id
    };
    let id = reported(&mut desk, 1);
    let offered = |app: &App| {
        let nearest = app.world().resource::<Desk>().nearest.clone();
        nearest.filter(|(n, _)| *n == id).map(|(_, units)| units.iter().map(|u| u.unit).collect::<Vec<_>>())
    };
    run_until(&mut desk, "the nearest units", |app| offered(app).is_some_and(|u| !u.is_empty()));
    let first = offered(&desk).expect("offered")[0];
    // The street's desk sends that unit to another matter next door.
    let mut other = client(server.addr, "dev-city", None);
    run_until(&mut other, "the units", |app| !app.world().resource::<LiveIndex>().units.is_empty());
    let next_door = reported(&mut other, 2);
    let (text, error) = settle(&mut other, Intent::Dispatch { incident: next_door, units: vec![first] });
    assert!(!error, "{text}");
    assert_eq!(desk.world().resource::<Selection>().incident, Some(id), "still selected");
    run_until(&mut desk, "the unit no longer offered", |app| offered(app).is_some_and(|u| !u.contains(&first)));
}

#[test]
fn an_incident_closed_a_day_ago_is_let_go_and_asked_for_again_by_number() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = onegrid_server::clock::Clock::manual(1_800_000_000_000);
    let server = common::server(&rt, dir.path(), |c| c.clock = clock.clone());
    let mut app = desk_app(server.addr);
    let (text, _) = settle(&mut app, Intent::Report { report: report(118.13044, 24.46149, "0201"), ticket: 1 });
    let Some((1, Ok(old))) = app.world().resource::<Desk>().reported.clone() else { panic!("{text}") };
    for (action, note) in [(Action::Return, "非本辖区事项"), (Action::Close, "不予受理")] {
        let (text, error) = settle(&mut app, Intent::Act { incident: old, action, note: note.into() });
        assert!(!error, "{text}");
    }
    run_until(&mut app, "the incident closed, live", |app| {
        incident(app, old).is_some_and(|i| i.state == IncidentState::Closed)
    });

    // A day on (the server's clock, which the next change brings): let go of.
    clock.advance(onegrid_protocol::LIVE_AFTER_CLOSE_MS + 60_000);
    let (text, error) = settle(&mut app, Intent::Report { report: report(118.13044, 24.46149, "0201"), ticket: 2 });
    assert!(!error, "{text}");
    run_until(&mut app, "the old one let go", |app| incident(app, old).is_none());

    // Asked for by number: held and selected again.
    app.world_mut().write_message(Intent::SelectIncident(old));
    run_until(&mut app, "the old one, from the server", |app| {
        incident(app, old).is_some_and(|i| i.state == IncidentState::Closed)
            && app.world().resource::<Selection>().incident == Some(old)
    });
    // A number the server never gave: said in words.
    app.world_mut().write_message(Intent::SelectIncident(99_999));
    let words = notice_with(&mut app, "调取事件 #99999 失败");
    assert!(words.contains("事件、单位或类别不存在"), "{words}");

    // A week on the server archives it: still given by number, from its archive, and the
    // desk knows it for one (the server's welcome says after how long), so it offers no
    // reopening; asked anyway, the server refuses it in words.
    clock.advance(7 * 86_400_000);
    assert_eq!(rt.block_on(server.engine.archive_closed()).map_err(|r| r.message), Ok(1));
    let (text, error) = settle(&mut app, Intent::Report { report: report(118.13044, 24.46149, "0201"), ticket: 3 });
    assert!(!error, "{text}");
    run_until(&mut app, "the old one let go again", |app| incident(app, old).is_none());
    app.world_mut().write_message(Intent::SelectIncident(old));
    run_until(&mut app, "the old one, from the archive", |app| incident(app, old).is_some());
    let feed = app.world().resource::<onegrid_console::live::Feed>();
    assert_eq!(feed.archive_after_ms, Some(7 * 86_400_000));
    let i = incident(&mut app, old).expect("held");
    let feed = app.world().resource::<onegrid_console::live::Feed>();
    assert!(onegrid_console::ui::detail::is_archived(&i, feed.server_now, feed.archive_after_ms));
    let (text, error) =
        settle(&mut app, Intent::Act { incident: old, action: Action::Reopen, note: "群众反映问题复发".into() });
    assert!(error && text.contains("事件当前状态不允许此操作") && text.contains("archived"), "{text}");
    rt.block_on(server.shutdown());
}

/// Runs until nothing is pending and returns the newest notice, and whether the link went
/// down meanwhile. (A repeated ack, which the notice names, comes only from a resend.)
fn settle_through_loss(app: &mut App, intent: Intent) -> (String, bool) {
    app.world_mut().write_message(intent);
    let mut went_down = false;
    app.update();
    run_until(app, "the answer after the lost ack", |app| {
        went_down |= app.world().resource::<Link>().state != LinkState::Connected;
        app.world().resource::<Desk>().pending.is_empty()
    });
    (app.world().resource::<Desk>().notices.front().expect("a notice").text.clone(), went_down)
}

#[test]
fn a_command_whose_ack_is_lost_with_the_link_is_sent_again_and_applied_once() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = common::server(&rt, dir.path(), |_| {});
    let relay = common::LossyRelay::start(&rt, server.addr);
    let mut app = desk_app(relay.addr);

    // The server registers the report, and the link fails with its ack on the way back.
    relay.cuts.store(1, std::sync::atomic::Ordering::SeqCst);
    let mut r = report(118.13044, 24.46149, "0201");
    r.description = "来电：断线时登记的事件".into();
    let (text, went_down) = settle_through_loss(&mut app, Intent::Report { report: r.clone(), ticket: 21 });
    assert_eq!(relay.lost.load(std::sync::atomic::Ordering::SeqCst), 1, "the relay lost the ack");
    assert!(went_down, "the link dropped");
    let Some((21, Ok(id))) = app.world().resource::<Desk>().reported.clone() else {
        panic!("the form's ticket is answered: {:?}", app.world().resource::<Desk>().reported)
    };
    assert!(text.contains(&format!("已确认（断线前已办理），事件 #{id}")), "{text}");
    let made = server.engine.with_published(|p| {
        p.world.incidents.values().filter(|i| i.description == r.description).map(|i| i.id).collect::<Vec<_>>()
    });
    assert_eq!(made, vec![id], "one incident, the one the desk was told of");

    // A step likewise: sent again it is not refused as illegal (it was applied), nor done twice.
    run_until(&mut app, "connected again", |app| app.world().resource::<Link>().state == LinkState::Connected);
    relay.cuts.store(1, std::sync::atomic::Ordering::SeqCst);
    let accept = Intent::Act { incident: id, action: Action::Accept, note: String::new() };
    let (text, went_down) = settle_through_loss(&mut app, accept);
    assert_eq!(relay.lost.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert!(went_down);
    assert!(text.contains("已确认（断线前已办理）"), "{text}");
    let steps = server.engine.with_published(|p| p.world.incidents[&id].history.len());
    assert_eq!(steps, 2, "reported and accepted, once each");
    rt.block_on(server.shutdown());
}

#[test]
fn an_older_server_without_keys_is_not_sent_a_command_again() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = common::server(&rt, dir.path(), |_| {});
    let relay = common::LossyRelay::start(&rt, server.addr);
    relay.older.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut app = desk_app(relay.addr);
    relay.cuts.store(1, std::sync::atomic::Ordering::SeqCst);
    let mut r = report(118.13044, 24.46149, "0201");
    r.description = "来电：旧服务器".into();
    let (text, went_down) = settle_through_loss(&mut app, Intent::Report { report: r.clone(), ticket: 31 });
    assert!(went_down);
    assert!(text.contains("未获确认，也未重发"), "the operator is asked to check: {text}");
    let made =
        server.engine.with_published(|p| p.world.incidents.values().filter(|i| i.description == r.description).count());
    assert_eq!(made, 1, "applied once, by the first sending, and not sent again");
    rt.block_on(server.shutdown());
}

#[test]
fn a_report_taken_while_the_link_is_down_is_sent_when_it_is_back() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = common::server(&rt, dir.path(), |_| {});
    let addr = server.addr;
    let mut app = desk_app(addr);
    rt.block_on(server.shutdown());
    run_until(&mut app, "the link to go down", |app| {
        matches!(app.world().resource::<Link>().state, LinkState::Down { .. })
    });

    // A caller's report, taken while the server is away: held, not refused.
    let mut r = report(118.13044, 24.46149, "0201");
    r.description = "来电：断网时登记".into();
    app.world_mut().write_message(Intent::Report { report: r.clone(), ticket: 41 });
    run_until(&mut app, "the report held for the link", |app| {
        app.world().resource::<Desk>().report_pending(41).is_some_and(|p| p.held)
    });
    // A step asked for meanwhile is refused at once: it was decided on a stale picture.
    app.world_mut().write_message(Intent::Act { incident: 1, action: Action::Accept, note: String::new() });
    run_until(&mut app, "the step refused", |app| {
        app.world().resource::<Desk>().notices.front().is_some_and(|n| n.error && n.text.contains("未发送"))
    });

    // The server is back on its port and journal: the report goes, once.
    let server = common::server(&rt, dir.path(), |config| config.listen = addr);
    let back = server.engine.clock.now();
    run_until(&mut app, "the held report's answer", |app| {
        app.world().resource::<Desk>().reported.as_ref().is_some_and(|(t, _)| *t == 41)
    });
    let Some((41, Ok(id))) = app.world().resource::<Desk>().reported.clone() else {
        panic!("the report was registered: {:?}", app.world().resource::<Desk>().reported)
    };
    let made = server.engine.with_published(|p| {
        p.world
            .incidents
            .values()
            .filter(|i| i.description == r.description)
            .map(|i| (i.id, i.reported_at))
            .collect::<Vec<_>>()
    });
    assert_eq!(made.iter().map(|m| m.0).collect::<Vec<_>>(), vec![id]);
    // Dated when it was taken, before the server came back, not when it arrived.
    assert!(made[0].1 < back, "reported at {} (taken before the server came back at {back})", made[0].1);
    rt.block_on(server.shutdown());
}

#[test]
fn commands_the_server_refuses_as_overloaded_are_sent_again() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    // A journal with room for one job waiting: a burst is partly refused as overloaded.
    let server = common::server(&rt, dir.path(), |config| config.limits.journal_queue = 1);
    let mut app = desk_app(server.addr);
    let burst = 30;
    for ticket in 0..burst {
        let mut r = report(118.13044, 24.46149, "0201");
        r.description = format!("来电：第 {ticket} 通");
        app.world_mut().write_message(Intent::Report { report: r, ticket });
    }
    app.update();
    run_until(&mut app, "every report answered", |app| app.world().resource::<Desk>().pending.is_empty());
    let refused = server.engine.overloaded.load(std::sync::atomic::Ordering::Relaxed);
    let desk = app.world().resource::<Desk>();
    let errors: Vec<&str> = desk.notices.iter().filter(|n| n.error).map(|n| n.text.as_str()).collect();
    assert!(errors.is_empty(), "no refusal reached the desk: {errors:?}");
    let made = server
        .engine
        .with_published(|p| p.world.incidents.values().filter(|i| i.description.starts_with("来电：第 ")).count());
    assert_eq!(made, burst as usize, "every report made, once");
    assert!(refused > 0, "the burst met a full journal queue ({refused} refusals), so the retries were exercised");
    let line = onegrid_server::summary::line(&server.engine, 0.0);
    assert!(line.contains(&format!("refused {refused} (journal saturated)")), "the server's summary says so: {line}");
    eprintln!("{refused} overloaded refusals, all sent again");
    rt.block_on(server.shutdown());
}

/// Ends a desk as a crash would: nothing is said to the server or done to the outbox; the
/// network thread ends with the app, and its lock on the outbox with it (a dead process
/// loses its locks at once; here the thread takes a moment).
fn crash(app: App, outbox: &std::path::Path) {
    drop(app);
    let started = std::time::Instant::now();
    while let Err(e) = Outbox::open(outbox, "dev-commander") {
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "the outbox stays locked: {e}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The newest notice that contains `words`, once there is one.
fn notice_with(app: &mut App, words: &str) -> String {
    let mut found = None;
    run_until(app, words, |app| {
        found = app.world().resource::<Desk>().notices.iter().find(|n| n.text.contains(words)).map(|n| n.text.clone());
        found.is_some()
    });
    found.unwrap_or_default()
}

fn outbox_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("outbox dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect()
}

#[test]
fn a_report_held_when_the_console_crashed_is_sent_by_its_next_run_once() {
    let rt = common::runtime();
    let (dir, outbox) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let server = common::server(&rt, dir.path(), |_| {});
    let addr = server.addr;
    let mut app = desk_with_outbox(addr, Some(outbox.path()));
    assert!(app.world().resource::<Link>().outbox.is_some(), "this desk keeps an outbox");
    // A second desk of the same user on the same folder keeps its work in memory, and says so.
    let mut second = desk_with_outbox(addr, Some(outbox.path()));
    notice_with(&mut second, "另一控制台在运行");
    assert!(second.world().resource::<Link>().outbox.is_none());
    drop(second);
    rt.block_on(server.shutdown());
    run_until(&mut app, "the link to go down", |app| {
        matches!(app.world().resource::<Link>().state, LinkState::Down { .. })
    });
    let mut r = report(118.13044, 24.46149, "0201");
    r.description = "来电：控制台崩溃前登记".into();
    app.world_mut().write_message(Intent::Report { report: r.clone(), ticket: 51 });
    run_until(&mut app, "the report held for the link", |app| {
        app.world().resource::<Desk>().report_pending(51).is_some_and(|p| p.held)
    });
    // In the file by the time the desk shows it held (the thread writes it first).
    let files = outbox_files(outbox.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let kept = std::fs::read_to_string(outbox.path().join(&files[0])).expect("outbox");
    assert!(kept.contains(&r.description), "{kept}");
    crash(app, outbox.path());

    // The next run, with the server back: the report is pending again, then sent, once.
    let server = common::server(&rt, dir.path(), |config| config.listen = addr);
    let mut app = desk_with_outbox(addr, Some(outbox.path()));
    let text = notice_with(&mut app, "登记 0201（上次运行时）：已确认，事件 #");
    let made = server.engine.with_published(|p| {
        p.world.incidents.values().filter(|i| i.description == r.description).map(|i| i.id).collect::<Vec<_>>()
    });
    assert_eq!(made.len(), 1, "one incident: {made:?}");
    assert!(text.ends_with(&format!("#{}", made[0])), "{text}");
    run_until(&mut app, "the outbox emptied", |_| outbox_files(outbox.path()).is_empty());
    drop(app);
    rt.block_on(server.shutdown());
}

#[test]
fn a_command_sent_before_the_console_crashed_is_resent_by_its_next_run_to_its_server_only() {
    let rt = common::runtime();
    let (dir, outbox) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let server = common::server(&rt, dir.path(), |_| {});
    let relay = common::LossyRelay::start(&rt, server.addr);
    let count = |server: &onegrid_server::Running, words: &str| {
        server.engine.with_published(|p| p.world.incidents.values().filter(|i| i.description == words).count())
    };
    // The server registers a report; its ack is lost with the link, which stays down; the
    // console crashes before it could send it again.
    let lose_and_crash = |words: &str| {
        let mut app = desk_with_outbox(relay.addr, Some(outbox.path()));
        relay.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        relay.cuts.store(1, std::sync::atomic::Ordering::SeqCst);
        let mut r = report(118.13044, 24.46149, "0201");
        r.description = words.into();
        app.world_mut().write_message(Intent::Report { report: r, ticket: 61 });
        run_until(&mut app, "the ack lost", |_| relay.cuts.load(std::sync::atomic::Ordering::SeqCst) == 0);
        crash(app, outbox.path());
        relay.closed.store(false, std::sync::atomic::Ordering::SeqCst);
    };

    // Started again on the same server: sent again under its key, answered as a repeat.
    lose_and_crash("来电：崩溃前已发出");
    assert_eq!(count(&server, "来电：崩溃前已发出"), 1, "the server had applied it");
    let mut app = desk_with_outbox(relay.addr, Some(outbox.path()));
    notice_with(&mut app, "登记 0201（上次运行时）：已确认（断线前已办理），事件 #");
    assert_eq!(count(&server, "来电：崩溃前已发出"), 1, "and did not apply it again");
    run_until(&mut app, "the outbox emptied", |_| outbox_files(outbox.path()).is_empty());
    crash(app, outbox.path());

    // Started again on another server (another journal, which does not know the key): not
    // sent, and the operator is asked to check.
    lose_and_crash("来电：崩溃前发往旧服务器");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let other = common::server(&rt, elsewhere.path(), |_| {});
    let mut app = desk_with_outbox(other.addr, Some(outbox.path()));
    notice_with(&mut app, "登记 0201（上次运行时）：连接中断，未获确认，也未重发");
    assert_eq!(count(&other, "来电：崩溃前发往旧服务器"), 0, "the other server never heard of it");
    assert!(outbox_files(outbox.path()).is_empty(), "given up, and said");
    drop(app);
    rt.block_on(other.shutdown());
    rt.block_on(server.shutdown());
}

/// What the outbox costs a command: the time from the desk asking to the desk hearing the
/// server's ack, for reports sent one after another, by a desk with an outbox and one
/// without, in alternating blocks on one server (so that both meet the same machine).
#[test]
#[ignore = "a measurement: cargo test -p onegrid-console --test desk outbox_cost -- --ignored --nocapture"]
fn outbox_cost() {
    let rt = common::runtime();
    let (dir, outbox) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let server = common::server(&rt, dir.path(), |_| {});
    let mut apps = [desk_with_outbox(server.addr, Some(outbox.path())), desk_app(server.addr)];
    let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut ticket = 0;
    for round in 0..8 {
        for (which, app) in apps.iter_mut().enumerate() {
            for _ in 0..25 {
                ticket += 1;
                let mut r = report(118.13044, 24.46149, "0201");
                r.description = format!("来电：第 {ticket} 通");
                let started = std::time::Instant::now();
                app.world_mut().write_message(Intent::Report { report: r, ticket });
                app.update();
                while !app.world().resource::<Desk>().pending.is_empty() {
                    assert!(started.elapsed() < std::time::Duration::from_secs(10), "no answer");
                    std::thread::sleep(std::time::Duration::from_micros(50));
                    app.update();
                }
                if round > 0 {
                    times[which].push(started.elapsed().as_secs_f64() * 1000.0);
                }
            }
        }
    }
    let pct = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(f64::total_cmp);
        v[((v.len() - 1) as f64 * p).round() as usize]
    };
    let [mut with, mut without] = times;
    let (w50, w95, o50, o95) =
        (pct(&mut with, 0.5), pct(&mut with, 0.95), pct(&mut without, 0.5), pct(&mut without, 0.95));
    println!(
        "report round trip, {} each: with the outbox p50 {w50:.2} ms p95 {w95:.2} ms; without p50 {o50:.2} ms p95 {o95:.2} ms; with ÷ without p50 {:.2}×, p95 {:.2}×",
        with.len(),
        w50 / o50,
        w95 / o95
    );
    rt.block_on(server.shutdown());
}

#[test]
fn held_reports_a_former_run_left_are_sent_within_a_day_and_given_back_after() {
    let rt = common::runtime();
    let (dir, outbox) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    // The server's clock stands still, so that the dates it gives can be checked exactly.
    const T: i64 = 1_795_305_600_000;
    let server = common::server(&rt, dir.path(), |c| c.clock = onegrid_server::clock::Clock::manual(T));
    // What a console left behind that took two calls while its link was down and then
    // stayed down: one forty minutes ago, one a day and an hour ago.
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
    let held = |n: u32, text: &str, ago_ms: i64| {
        let mut r = report(118.13044, 24.46149, "0201");
        r.description = text.into();
        let entry = onegrid_console::net::outbox::Entry {
            msg: onegrid_protocol::ClientMsg::Command {
                req: format!("c{n}"),
                cmd: onegrid_protocol::Command::Report(r.clone()),
                key: Some(format!("former-run-{n}")),
            },
            what: format!("登记 0201 ({n})"),
            asked_at_ms: now_ms - ago_ms,
            written: false,
            written_at_ms: None,
            journal: None,
        };
        (r, entry)
    };
    let (recent, e1) = held(1, "来电：四十分钟前登记", 40 * 60_000);
    let (stale, e2) = held(2, "来电：一天多前登记", 25 * 3_600_000);
    Outbox::open(outbox.path(), "dev-commander").expect("outbox").outbox.save(&[e1, e2]).expect("save");

    let mut app = desk_with_outbox(server.addr, Some(outbox.path()));
    let text = notice_with(&mut app, "登记 0201 (2)（上次运行时）：暂存超过 1 天仍未能发送");
    assert!(text.contains("内容已恢复到登记表"), "{text}");
    assert_eq!(app.world().resource::<Desk>().retake, vec![stale.clone()], "given back to be written again");
    notice_with(&mut app, "登记 0201 (1)（上次运行时）：已确认，事件 #");
    let made = server.engine.with_published(|p| p.world.incidents.values().cloned().collect::<Vec<_>>());
    assert_eq!(made.len(), 1, "the recent one only: {made:?}");
    let i = &made[0];
    assert_eq!(i.description, recent.description);
    let back = i64::from(onegrid_protocol::validate::MAX_BACKDATE_MS);
    assert_eq!(i.reported_at, T - back, "its time limits run from two minutes back at most");
    let taken = i.taken_at.expect("the desk's word on when it was taken is kept");
    assert!((T - taken - 40 * 60_000).abs() < 10_000, "taken forty minutes before it arrived: {}", T - taken);
    assert!(app.world().resource::<Desk>().pending.is_empty());
    run_until(&mut app, "the outbox emptied", |_| outbox_files(outbox.path()).is_empty());
    drop(app);
    rt.block_on(server.shutdown());
}
