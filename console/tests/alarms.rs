//! Alarms acknowledged for every desk, end to end without a window: two headless desks
//! with their alarms, connected to a real server, and a third console that reports. A
//! serious report raises an alarm at both desks; the officer at one selects it, which
//! acknowledges it there and on the server, and the other desk lets go of it, saying who
//! did. Later the clock marks it overdue and whistles it up: both alarms stand again, the
//! old acknowledgement notwithstanding; the second desk acknowledges with the detail
//! panel's button, and the first lets go. A desk connected through a relay that hides the
//! feature (an older server) keeps its acknowledgements to itself. And one made while the
//! link is down is recorded when it is back; one nobody acknowledged waits, raised from
//! the snapshot, for a desk started later, and comes back when the queue's filter shows
//! its row again.

use bevy::prelude::*;
use onegrid_console::desk::{Desk, Intent};
use onegrid_console::live::Selection;
use onegrid_console::sound::{Output, Sound, SoundPlugin};
use onegrid_console::ui::Mode;
use onegrid_protocol::IncidentId;
use onegrid_server::clock::Clock;

mod common;
use common::desk::{client, incident, report, settle};

/// A headless desk with its alarms (chimes written to `dir`), as `token`'s user.
fn desk(addr: std::net::SocketAddr, token: &str, dir: &std::path::Path) -> App {
    let mut app = client(addr, token, None);
    app.add_plugins(SoundPlugin)
        .insert_resource(Mode::Desk)
        .insert_resource(Sound::new(Output::Record(dir.to_path_buf()), false));
    app
}

fn alarms(app: &App) -> Vec<IncidentId> {
    app.world().resource::<Sound>().alarms.ordered().iter().map(|a| a.line.incident).collect()
}

fn notices(app: &App) -> Vec<String> {
    app.world().resource::<Desk>().notices.iter().map(|n| n.text.clone()).collect()
}

/// Updates both apps until `done` holds of them.
fn run_both(a: &mut App, b: &mut App, what: &str, mut done: impl FnMut(&mut App, &mut App) -> bool) {
    let started = std::time::Instant::now();
    while !done(a, b) {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "timed out waiting for {what}");
        a.update();
        b.update();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn an_alarm_acknowledged_at_one_desk_ends_at_every_desk() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let t0 = 1_795_305_600_000;
    let clock = Clock::manual(t0);
    let server = common::server(&rt, dir.path(), |c| c.clock = clock.clone());
    let (sa, sb) = (tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp"));
    let mut a = desk(server.addr, "dev-commander", sa.path());
    let mut b = desk(server.addr, "dev-city", sb.path());
    let mut reporter = client(server.addr, "dev-wall", None);
    run_both(&mut a, &mut b, "both desks' snapshots", |a, b| {
        [a, b].iter().all(|x| x.world().resource::<onegrid_console::live::Feed>().snapshots > 0)
    });

    // A serious matter (severity 3) reported at the wall: an alarm at both desks.
    let (text, error) =
        settle(&mut reporter, Intent::Report { report: report(118.13044, 24.46149, "0201"), ticket: 1 });
    assert!(!error, "{text}");
    let Some((1, Ok(id))) = reporter.world().resource::<Desk>().reported.clone() else { panic!("no incident") };
    run_both(&mut a, &mut b, "the alarm at both desks", |a, b| alarms(a) == [id] && alarms(b) == [id]);

    // The commander selects it: acknowledged there, recorded, and let go at the other desk.
    a.world_mut().resource_mut::<Selection>().incident = Some(id);
    run_both(&mut a, &mut b, "the acknowledgement at the other desk", |a, b| {
        alarms(a).is_empty()
            && alarms(b).is_empty()
            && incident(b, id).is_some_and(|i| i.acknowledgement().is_some_and(|s| s.by == "commander"))
            // The first desk sees it recorded too, and asks no more.
            && !a.world().resource::<Desk>().is_acknowledging(id)
    });
    let said = notices(&b);
    assert!(said.iter().any(|n| n.starts_with(&format!("#{id} 告警已由 市指挥长 确认（08:00）"))), "{said:?}");
    assert!(!notices(&a).iter().any(|n| n.contains("告警已由")), "not told of its own: {:?}", notices(&a));

    // Ten minutes on, not accepted: overdue, then whistled up by rule. Both alarms stand
    // again: the acknowledgement was of the serious report.
    clock.advance(10 * 60_000 + 1);
    run_both(&mut a, &mut b, "the new alarms", |a, b| {
        alarms(b) == [id] && incident(a, id).is_some_and(|i| i.alarm_unacknowledged() && i.history.len() >= 4)
    });
    // The commander's desk still has the matter selected: its alarm was raised all the
    // same, and stands until acknowledged.
    run_both(&mut a, &mut b, "the alarm at the desk that has it selected", |a, _| alarms(a) == [id]);
    // The city's officer acknowledges with the detail panel's button.
    b.world_mut().write_message(Intent::AcknowledgeAlarm(id));
    run_both(&mut a, &mut b, "the second acknowledgement at the first desk", |a, b| {
        alarms(a).is_empty()
            && alarms(b).is_empty()
            && incident(a, id).is_some_and(|i| i.acknowledgement().is_some_and(|s| s.by == "city-dispatcher"))
    });
    assert!(notices(&a).iter().any(|n| n.starts_with(&format!("#{id} 告警已由 市值班员 确认（08:10）"))));
    let steps: Vec<String> = incident(&mut a, id).expect("held").history.into_iter().map(|s| s.action).collect();
    assert_eq!(steps, ["report", "acknowledge", "overdue", "escalate", "acknowledge"]);

    // Through a relay that hides the feature, as an older server: the desk keeps its
    // acknowledgement to itself and sends nothing.
    let relay = common::LossyRelay::start(&rt, server.addr);
    relay.older.store(true, std::sync::atomic::Ordering::SeqCst);
    let so = tempfile::tempdir().expect("tmp");
    let mut old = desk(relay.addr, "dev-city", so.path());
    run_both(&mut old, &mut a, "the older desk's snapshot", |old, _| {
        old.world().resource::<onegrid_console::live::Feed>().snapshots > 0
    });
    // Late again, at the district now: overdue, no further whistle.
    clock.advance(15 * 60_000);
    run_both(&mut old, &mut a, "the overdue alarm at both", |old, a| alarms(old) == [id] && alarms(a) == [id]);
    old.world_mut().resource_mut::<Selection>().incident = Some(id);
    for _ in 0..50 {
        old.update();
        a.update();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(alarms(&old).is_empty(), "acknowledged at its desk");
    assert!(!old.world().resource::<Desk>().is_acknowledging(id));
    assert_eq!(alarms(&a), [id], "and nowhere else");
    assert!(incident(&mut a, id).is_some_and(|i| i.alarm_unacknowledged()));
    rt.block_on(server.shutdown());
}

#[test]
fn an_acknowledgement_made_while_the_link_is_down_is_recorded_when_it_is_back() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = common::server(&rt, dir.path(), |_| {});
    let relay = common::LossyRelay::start(&rt, server.addr);
    let sd = tempfile::tempdir().expect("tmp");
    let mut d = desk(relay.addr, "dev-commander", sd.path());
    let mut reporter = client(server.addr, "dev-wall", None);
    run_until_snapshot(&mut d);
    let (text, error) =
        settle(&mut reporter, Intent::Report { report: report(118.13044, 24.46149, "0201"), ticket: 1 });
    assert!(!error, "{text}");
    let Some((1, Ok(id))) = reporter.world().resource::<Desk>().reported.clone() else { panic!("no incident") };
    common::run_until(&mut d, "the alarm", |d| alarms(d) == [id]);

    // The link drops and stays down: acknowledged at the desk, nothing reaches the server.
    relay.closed.store(true, std::sync::atomic::Ordering::SeqCst);
    relay.cut_after.store(1, std::sync::atomic::Ordering::SeqCst);
    common::run_until(&mut d, "the link down", |d| {
        d.world().resource::<onegrid_console::net::Link>().state != onegrid_console::net::LinkState::Connected
    });
    d.world_mut().resource_mut::<Selection>().incident = Some(id);
    for _ in 0..20 {
        d.update();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(alarms(&d).is_empty(), "acknowledged here");
    let recorded = |server: &onegrid_server::Running| {
        server.engine.with_published(|p| p.world.incidents[&id].acknowledgement().map(|s| s.by.clone()))
    };
    assert_eq!(recorded(&server), None, "not yet on the server");

    // Back: recorded, the alarm still standing there.
    relay.cut_after.store(0, std::sync::atomic::Ordering::SeqCst);
    relay.closed.store(false, std::sync::atomic::Ordering::SeqCst);
    common::run_until(&mut d, "the acknowledgement recorded", |_| recorded(&server).is_some());
    assert_eq!(recorded(&server).as_deref(), Some("commander"));
    common::run_until(&mut d, "the desk seeing it recorded", |d| !d.world().resource::<Desk>().is_acknowledging(id));
    rt.block_on(server.shutdown());
}

fn run_until_snapshot(app: &mut App) {
    common::run_until(app, "the snapshot", |a| a.world().resource::<onegrid_console::live::Feed>().snapshots > 0);
}

#[test]
fn an_alarm_nobody_acknowledged_waits_for_the_desk_that_comes_later() {
    let rt = common::runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = common::server(&rt, dir.path(), |_| {});
    let mut reporter = client(server.addr, "dev-wall", None);
    let (text, error) =
        settle(&mut reporter, Intent::Report { report: report(118.13044, 24.46149, "0201"), ticket: 1 });
    assert!(!error, "{text}");
    let Some((1, Ok(id))) = reporter.world().resource::<Desk>().reported.clone() else { panic!("no incident") };
    // A minor one: no alarm.
    let mut minor = report(118.13044, 24.46149, "0201");
    minor.severity = 1;
    settle(&mut reporter, Intent::Report { report: minor, ticket: 2 });

    // Started after the report: the alarm is raised from the snapshot, without a chime.
    // (A district's desk: a subscription like the reporter's would be given its snapshot,
    // up to 2 s old, and the report after it as news.)
    let sd = tempfile::tempdir().expect("tmp");
    let mut d = desk(server.addr, "dev-350203000000", sd.path());
    d.insert_resource(onegrid_console::ui::UiState::default());
    run_until_snapshot(&mut d);
    common::run_until(&mut d, "the alarm from the snapshot", |d| alarms(d) == [id]);
    let wavs: Vec<_> = std::fs::read_dir(sd.path()).expect("dir").map(|e| e.expect("e").file_name()).collect();
    assert_eq!(d.world().resource::<Sound>().player().map(|p| p.played()), Some(0), "silent: {wavs:?}");
    // Out of the queue with another street's filter, and back with the filter.
    let filter = |d: &mut App, street: Option<&str>| {
        d.world_mut().resource_mut::<onegrid_console::ui::UiState>().filter.street = street.map(str::to_owned);
    };
    filter(&mut d, Some("350203001"));
    common::run_until(&mut d, "the alarm let go with its row", |d| alarms(d).is_empty());
    filter(&mut d, None);
    common::run_until(&mut d, "the alarm back with its row", |d| alarms(d) == [id]);
    d.world_mut().resource_mut::<Selection>().incident = Some(id);
    common::run_until(&mut d, "the acknowledgement recorded", |d| {
        incident(d, id).is_some_and(|i| i.acknowledgement().is_some())
    });
    drop(d);

    // A desk started after that has nothing to acknowledge.
    let so = tempfile::tempdir().expect("tmp");
    let mut later = desk(server.addr, "dev-city", so.path());
    run_until_snapshot(&mut later);
    for _ in 0..20 {
        later.update();
    }
    assert!(alarms(&later).is_empty(), "acknowledged before it came");
    rt.block_on(server.shutdown());
}
